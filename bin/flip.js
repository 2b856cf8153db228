#!/usr/bin/env node
// The flip executable. Runs the compiled build (made by `npm ci` / `npm run build`); in a
// checkout without a build it falls back to running the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/bin.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/bin.ts', import.meta.url).href);
}
