/** `flip demo [--config FILE]`: a local cluster on 127.0.0.1 that fails over and back. */
import { runDemo } from '../../demo/demo.js';
import { EXIT_FAILURE } from '../exit-codes.js';

export async function demo(options: { config?: string }, out: (text: string) => void): Promise<number> {
  return (await runDemo({ config: options.config, out })) ? 0 : EXIT_FAILURE;
}
