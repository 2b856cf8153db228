/** `flip config check FILE` and `flip config schema`. */
import { loadConfig } from '../../config/index.js';
import { configJsonSchema } from '../../config/json-schema.js';
import { renderSummary } from '../render.js';

export function configCheck(file: string, out: (text: string) => void): void {
  const config = loadConfig(file);
  out(`${file}: ok`);
  out(renderSummary(config));
}

export function configSchema(out: (text: string) => void): void {
  out(JSON.stringify(configJsonSchema(), null, 2));
}
