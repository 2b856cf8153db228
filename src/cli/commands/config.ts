/** `flip config check FILE [--id ID]` and `flip config schema`. */
import { dirname, resolve } from 'node:path';
import { ConfigError, formatIssues, loadConfig } from '../../config/index.js';
import { configJsonSchema } from '../../config/json-schema.js';
import { checkConfigScripts } from '../../executor/config-scripts.js';
import { renderSummary } from '../render.js';

export interface ConfigCheckOptions {
  /** Check as this server, on its host: its scripts must run here. */
  id?: string;
}

/**
 * Validates the file, then its scripts: those of the server checked (`--id`, else the file's
 * `id`) and, as warnings, those that may exist only on other hosts (see checkConfigScripts).
 */
export function configCheck(
  file: string,
  options: ConfigCheckOptions,
  out: (text: string) => void,
  err: (text: string) => void,
): void {
  const config = loadConfig(file, { id: options.id });
  const scripts = checkConfigScripts(config, {
    self: config.id,
    on_host: options.id !== undefined,
    config_dir: dirname(resolve(file)),
  });
  if (scripts.errors.length > 0) throw new ConfigError(scripts.errors, file);
  const warnings = scripts.warnings.length;
  if (warnings > 0) err(formatIssues(scripts.warnings, file).replace(/^/gm, 'warning: '));
  out(warnings === 0 ? `${file}: ok` : `${file}: ok, ${warnings} warning${warnings === 1 ? '' : 's'}`);
  out(renderSummary(config));
}

export function configSchema(out: (text: string) => void): void {
  out(JSON.stringify(configJsonSchema(), null, 2));
}
