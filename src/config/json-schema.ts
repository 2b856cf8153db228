/** The config's JSON Schema, generated from the same zod schema that validates it. */
import { z } from 'zod';
import { configSchema } from './schema.js';

export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { target: 'draft-2020-12' }),
    title: 'flip config',
  };
}
