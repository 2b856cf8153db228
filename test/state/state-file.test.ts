/**
 * The state file on a real disk, in a temporary directory: a save is whole or absent after a
 * crash at any point, damage on disk is reported with the file and the reason, saves from one
 * process never interleave, and the directory and file are private.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { zodCheck } from '../../src/state/document-check.js';
import { encodeState } from '../../src/state/envelope.js';
import { StateFile, StateFileError, type StateLoad } from '../../src/state/state-file.js';
import { Random } from '../../src/testing/seeded.js';

const root = mkdtempSync(join(tmpdir(), 'flip-state-file-'));
after(() => rmSync(root, { recursive: true, force: true }));

const docSchema = z.strictObject({ term: z.number().int().min(0), note: z.string() });
type Doc = z.infer<typeof docSchema>;
const KIND = 'test-doc';

let dirs = 0;
/** A StateFile in a fresh private directory (made by the first save unless `make`). */
function fresh(options: { make?: boolean; bytes_max?: number } = {}): StateFile<Doc> {
  dirs += 1;
  const dir = join(root, `d${dirs}`);
  if (options.make) mkdirSync(dir, { mode: 0o700 });
  return new StateFile({
    path: join(dir, 'state'),
    kind: KIND,
    check: zodCheck(docSchema),
    bytes_max: options.bytes_max,
  });
}

function expectCorrupt(load: StateLoad<Doc>, reason: RegExp, path: string): void {
  assert.equal(load.kind, 'corrupt', JSON.stringify(load));
  if (load.kind !== 'corrupt') return;
  assert.match(load.reason, reason);
  assert.equal(load.path, path);
}

describe('state: a state file on disk', () => {
  it('loads what it saved, and replaces it with the next save', async () => {
    const file = fresh();
    await file.save({ term: 1, note: 'first' });
    assert.deepEqual(await file.load(), {
      kind: 'ok',
      doc: { term: 1, note: 'first' },
      path: file.path,
      temp_removed: false,
    });
    await file.save({ term: 2, note: 'second, é 名' });
    const load = await file.load();
    assert.equal(load.kind, 'ok');
    assert.deepEqual(load.kind === 'ok' && load.doc, { term: 2, note: 'second, é 名' });
    assert.ok(!existsSync(`${file.path}.tmp`), 'no temporary file is left');
  });

  it('says missing for a file or directory that is not there, and makes nothing', async () => {
    const file = fresh();
    assert.deepEqual(await file.load(), { kind: 'missing', path: file.path, temp_removed: false });
    assert.ok(!existsSync(join(file.path, '..')), 'a load makes no directory');
  });

  it('makes the directory, and those above it, 0700 and the file 0600', async () => {
    const path = join(root, 'made', 'a', 'b', 'state');
    const file = new StateFile({ path, kind: KIND, check: zodCheck(docSchema) });
    const umask = process.umask(0o022);
    try {
      await file.save({ term: 0, note: '' });
    } finally {
      process.umask(umask);
    }
    for (const dir of ['made', 'made/a', 'made/a/b'])
      assert.equal(statSync(join(root, dir)).mode & 0o777, 0o700, dir);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('refuses a directory open to others, a symbolic link, or a file in the way, and says which', async () => {
    const open = join(root, 'open');
    mkdirSync(open, { mode: 0o700 });
    chmodSync(open, 0o755);
    const inOpen = new StateFile({ path: join(open, 'state'), kind: KIND, check: zodCheck(docSchema) });
    await assert.rejects(inOpen.save({ term: 1, note: '' }), (error: Error) => {
      assert.ok(error instanceof StateFileError);
      assert.match(
        error.message,
        /directory .*open.* for state: it is open to other users \(mode 0755\); make it private \(chmod 700\)/,
      );
      return true;
    });
    assert.equal(statSync(open).mode & 0o777, 0o755, 'the directory is left as it was');

    const real = join(root, 'real');
    mkdirSync(real, { mode: 0o700 });
    symlinkSync(real, join(root, 'link'));
    const viaLink = new StateFile({
      path: join(root, 'link', 'state'),
      kind: KIND,
      check: zodCheck(docSchema),
    });
    await assert.rejects(viaLink.save({ term: 1, note: '' }), /it is a symbolic link/);

    writeFileSync(join(root, 'plain'), 'x');
    const underFile = new StateFile({
      path: join(root, 'plain', 'state'),
      kind: KIND,
      check: zodCheck(docSchema),
    });
    await assert.rejects(underFile.save({ term: 1, note: '' }), StateFileError);
  });

  it('after a crash while the temporary file was written: the previous document, and the leftover removed', async () => {
    const file = fresh();
    await file.save({ term: 4, note: 'good' });
    const next = encodeState(KIND, { term: 5, note: 'never finished' });
    writeFileSync(`${file.path}.tmp`, next.subarray(0, Math.floor(next.length / 2)), { mode: 0o600 });
    assert.deepEqual(await file.load(), {
      kind: 'ok',
      doc: { term: 4, note: 'good' },
      path: file.path,
      temp_removed: true,
    });
    assert.ok(!existsSync(`${file.path}.tmp`));
    assert.deepEqual(await file.load(), {
      kind: 'ok',
      doc: { term: 4, note: 'good' },
      path: file.path,
      temp_removed: false,
    });
  });

  it('after a crash during the first save: missing, and the leftover removed', async () => {
    const file = fresh({ make: true });
    writeFileSync(`${file.path}.tmp`, 'flip-state v1 kind=te');
    assert.deepEqual(await file.load(), { kind: 'missing', path: file.path, temp_removed: true });
  });

  it('writes over a leftover temporary file of any mode, and the file is still 0600', async () => {
    const file = fresh({ make: true });
    writeFileSync(`${file.path}.tmp`, 'junk', { mode: 0o644 });
    chmodSync(`${file.path}.tmp`, 0o666);
    await file.save({ term: 1, note: 'x' });
    assert.equal(statSync(file.path).mode & 0o777, 0o600);
    assert.ok(!existsSync(`${file.path}.tmp`));
  });

  it('reports a truncated or garbled file as corrupt, with the file and the reason, at many cuts (seeded)', async () => {
    const file = fresh();
    await file.save({ term: 9, note: 'x'.repeat(500) });
    const good = readFileSync(file.path);
    const random = new Random(77);
    for (let trial = 0; trial < 40; trial++) {
      const length = 1 + random.int(good.length - 1);
      writeFileSync(file.path, good.subarray(0, length));
      expectCorrupt(await file.load(), /^(truncated|malformed header)/, file.path);
    }
    truncateSync(file.path, 0);
    expectCorrupt(await file.load(), /^it is empty \(0 bytes\)$/, file.path);
    writeFileSync(file.path, Buffer.from(Array.from({ length: 300 }, () => random.int(256))));
    expectCorrupt(await file.load(), /^bad magic: /, file.path);
  });

  it('reports every flipped byte of a file on disk as corrupt (seeded offsets)', async () => {
    const file = fresh();
    await file.save({ term: 3, note: 'the document' });
    const good = readFileSync(file.path);
    const seed = 4242;
    const random = new Random(seed);
    for (let trial = 0; trial < 60; trial++) {
      const damaged = Buffer.from(good);
      const offset = random.int(damaged.length);
      damaged[offset]! ^= 1 + random.int(255);
      writeFileSync(file.path, damaged);
      const load = await file.load();
      assert.equal(load.kind, 'corrupt', `seed ${seed}, trial ${trial}, offset ${offset}`);
    }
  });

  it('reports a well-formed file of the wrong shape as corrupt, naming the field', async () => {
    const file = fresh({ make: true });
    writeFileSync(file.path, encodeState(KIND, { term: -1, note: 'x' }), { mode: 0o600 });
    expectCorrupt(
      await file.load(),
      /^the payload is not a valid test-doc: term: must be at least 0/,
      file.path,
    );
    writeFileSync(file.path, encodeState(KIND, { term: 1, note: 'x', extra: true }), { mode: 0o600 });
    expectCorrupt(
      await file.load(),
      /^the payload is not a valid test-doc: extra: unknown key "extra"$/,
      file.path,
    );
  });

  it('reports a symbolic link, a directory or an oversized file instead of reading it', async () => {
    const file = fresh({ bytes_max: 1000 });
    await file.save({ term: 1, note: 'small' });
    rmSync(file.path);
    symlinkSync('/etc/hostname', file.path);
    expectCorrupt(await file.load(), /^it is a symbolic link$/, file.path);
    rmSync(file.path);
    mkdirSync(file.path);
    expectCorrupt(await file.load(), /^it is not a regular file$/, file.path);
    rmSync(file.path, { recursive: true });
    writeFileSync(file.path, 'x'.repeat(1001));
    expectCorrupt(await file.load(), /^it is 1001 bytes; a test-doc is at most 1000$/, file.path);
  });

  it('refuses to save a document over the bound, and keeps the previous one', async () => {
    const file = fresh({ bytes_max: 1000 });
    await file.save({ term: 1, note: 'small' });
    await assert.rejects(file.save({ term: 2, note: 'x'.repeat(2000) }), (error: Error) => {
      assert.ok(error instanceof StateFileError);
      assert.match(error.message, /the test-doc is \d+ bytes; at most 1000$/);
      return true;
    });
    const load = await file.load();
    assert.deepEqual(load.kind === 'ok' && load.doc, { term: 1, note: 'small' });
  });

  it('serialises concurrent saves: every one resolves, the last wins, a reader never sees a mix', async () => {
    const file = fresh();
    await file.save({ term: 0, note: 'start' });
    const saves: Promise<void>[] = [];
    const doc = { term: 0, note: '' };
    for (let i = 1; i <= 50; i++) {
      // The same object changed after each call: a save takes the document as it was then.
      doc.term = i;
      doc.note = `save ${i} `.repeat(i * 20);
      saves.push(file.save(doc));
    }
    doc.term = 999;
    let reads = 0;
    const reader = (async () => {
      // Bounded: at most 2000 reads while the saves run.
      for (let i = 0; i < 2000 && file.writing; i++) {
        const load = await file.load();
        assert.equal(load.kind, 'ok', `read ${i}: ${JSON.stringify(load)}`);
        if (load.kind === 'ok')
          assert.equal(
            load.doc.note,
            load.doc.term === 0 ? 'start' : `save ${load.doc.term} `.repeat(load.doc.term * 20),
          );
        reads += 1;
      }
    })();
    await Promise.all(saves);
    await reader;
    const load = await file.load();
    assert.deepEqual(load.kind === 'ok' && load.doc, { term: 50, note: 'save 50 '.repeat(1000) });
    assert.ok(reads > 0, 'the reader read while the saves ran');
    assert.ok(!existsSync(`${file.path}.tmp`));
  });

  it('a load that removes a leftover and a save started at once: neither loses the other', async () => {
    const file = fresh();
    await file.save({ term: 0, note: 'start' });
    for (let term = 1; term <= 20; term++) {
      writeFileSync(`${file.path}.tmp`, 'leftover');
      const [load] = await Promise.all([file.load(), file.save({ term, note: 'new' })]);
      assert.equal(load.kind, 'ok', `round ${term}`);
      const after = await file.load();
      assert.deepEqual(after.kind === 'ok' && after.doc, { term, note: 'new' }, `round ${term}`);
    }
  });

  it('coalesces: saves asked for during a write are written once, as the last of them', async () => {
    const file = fresh();
    const first = file.save({ term: 1, note: 'in flight' });
    const waiting = [2, 3, 4].map((term) => file.save({ term, note: 'waiting' }));
    assert.equal(file.writes, 0);
    await Promise.all([first, ...waiting]);
    assert.equal(file.writes, 2, 'the one in flight, then only the last of those that waited');
    const load = await file.load();
    assert.deepEqual(load.kind === 'ok' && load.doc, { term: 4, note: 'waiting' });
  });

  it('rejects every waiting save of a write that fails, and goes on with later ones', async () => {
    const file = fresh({ make: true });
    await file.save({ term: 1, note: 'kept' });
    // The directory made private to nobody but root still works for root; a file in the way of
    // the temporary one, which the save cannot remove, makes the write fail for anyone.
    mkdirSync(`${file.path}.tmp`);
    writeFileSync(join(`${file.path}.tmp`, 'x'), 'x');
    const failing = [file.save({ term: 2, note: 'a' }), file.save({ term: 3, note: 'b' })];
    for (const save of failing)
      await assert.rejects(
        save,
        (error: Error) => error instanceof StateFileError && error.message.includes(file.path),
      );
    const load = await file.load();
    assert.deepEqual(load.kind === 'ok' && load.doc, { term: 1, note: 'kept' });
    rmSync(`${file.path}.tmp`, { recursive: true });
    await file.save({ term: 4, note: 'after' });
    const after = await file.load();
    assert.deepEqual(after.kind === 'ok' && after.doc, { term: 4, note: 'after' });
  });
});
