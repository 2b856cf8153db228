#!/usr/bin/env node
// Runs every test file under test/ with node's test runner through tsx. Node 20's runner finds
// no .ts files by itself, so the files are listed here and passed explicitly. Extra arguments
// are test files or directories to run instead of all of them.
//
// Two bounds turn a hang into a named failure instead of a CI timeout: each test, and each test
// file as a whole, fails after TEST_TIMEOUT_MS (a suite's own `timeout` option may be shorter),
// and the whole run is stopped after FLIP_TEST_BUDGET_MIN minutes (default 70, inside CI's 90),
// with every process it started, after listing those processes (which test files still ran),
// and exits 1 saying so.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const TEST_TIMEOUT_MS = 20 * 60_000;
const BUDGET_MIN = Number(process.env.FLIP_TEST_BUDGET_MIN ?? 70);

function testFiles(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => {
      const child = join(path, name);
      if (statSync(child).isDirectory()) return testFiles(child);
      return name.endsWith('.test.ts') ? [child] : [];
    });
}

if (!Number.isFinite(BUDGET_MIN) || BUDGET_MIN <= 0) {
  console.error(`run-tests: FLIP_TEST_BUDGET_MIN must be a number of minutes above 0, not ${BUDGET_MIN}`);
  process.exit(2);
}
const roots = process.argv.slice(2);
const files = (roots.length > 0 ? roots : ['test']).flatMap(testFiles);
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
// Its own process group, so that the budget stops the test files and what they started too.
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=tap',
    '--test-concurrency=2',
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    ...files,
  ],
  { stdio: 'inherit', detached: true },
);
let overBudget = false;
const budget = setTimeout(() => {
  overBudget = true;
  console.error(`run-tests: the suite ran past its budget of ${BUDGET_MIN} min; stopping it and these:`);
  const running = spawnSync('ps', ['-o', 'pid,etimes,args', '-g', String(child.pid)], { encoding: 'utf8' });
  console.error(running.stdout ?? '');
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}, BUDGET_MIN * 60_000);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  });
}
child.on('exit', (code) => {
  clearTimeout(budget);
  process.exit(overBudget ? 1 : (code ?? 1));
});
