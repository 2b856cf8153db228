/**
 * Where the package's files are, for tests, the netns lab and benchmarks. Computed from this
 * file's place, two levels below the package root both as source (src/testing/) and compiled
 * (dist/testing/), so the answers are the same under tsx and from dist.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (with a trailing separator). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The flip command's TypeScript entry point, run with `node --import tsx`. */
export const FLIP_SOURCE_BIN = join(PACKAGE_ROOT, 'src/cli/bin.ts');
/** The compiled flip command (`npm run build`), run with plain node: what an installed agent runs. */
export const FLIP_BUILT_BIN = join(PACKAGE_ROOT, 'dist/cli/bin.js');
