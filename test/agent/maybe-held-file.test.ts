import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAYBE_HELD_FILE, MaybeHeldFile } from '../../src/agent/maybe-held-file.js';

const dir = () => join(mkdtempSync(join(tmpdir(), 'flip-maybe-held-')), 'state');

describe('agent: what may be configured here, kept across restarts (MaybeHeldFile)', () => {
  it('is missing at first, then loads what was saved last', async () => {
    const state = dir();
    const file = new MaybeHeldFile(state);
    assert.deepEqual(await file.load(), { kind: 'missing' });
    await file.save(new Map([['ip', ['10.0.0.1', '10.0.0.2']]]));
    await file.save(
      new Map([
        ['ip', ['10.0.0.2']],
        ['db', ['x']],
      ]),
    );
    const load = await new MaybeHeldFile(state).load();
    assert.equal(load.kind, 'ok');
    if (load.kind === 'ok') assert.deepEqual(Object.fromEntries(load.items), { ip: ['10.0.0.2'], db: ['x'] });
  });

  it('writes nothing when the items are what it saved last', async () => {
    const state = dir();
    const file = new MaybeHeldFile(state);
    await file.save(new Map([['ip', ['a']]]));
    const first = statSync(join(state, MAYBE_HELD_FILE)).mtimeMs;
    const before = readFileSync(join(state, MAYBE_HELD_FILE));
    await new Promise((resolve) => setTimeout(resolve, 20));
    await file.save(new Map([['ip', ['a']]]));
    assert.equal(statSync(join(state, MAYBE_HELD_FILE)).mtimeMs, first);
    assert.deepEqual(readFileSync(join(state, MAYBE_HELD_FILE)), before);
  });

  it('a damaged file is reported as corrupt, never half-read', async () => {
    const state = dir();
    const file = new MaybeHeldFile(state);
    await file.save(new Map([['ip', ['a', 'b']]]));
    const path = join(state, MAYBE_HELD_FILE);
    writeFileSync(path, readFileSync(path, 'utf8').replace('"a"', '"c"'));
    const load = await new MaybeHeldFile(state).load();
    assert.equal(load.kind, 'corrupt');
  });
});
