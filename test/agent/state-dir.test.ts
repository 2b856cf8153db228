import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { prepareStateDir, StateDirError, serverDirName, serverStateDir } from '../../src/agent/state-dir.js';

const dir = mkdtempSync(join(tmpdir(), 'flip-state-dir-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('agent: the state directory of a server', () => {
  it('names it after the id, escaping what is not a plain file-name character', () => {
    const table: [string, string][] = [
      ['flip1', 'flip1'],
      ['web-2_b', 'web-2_b'],
      ['db.example.com', 'db.example.com'],
      ['.', '%2E'],
      ['..', '%2E.'],
      ['.hidden', '%2Ehidden'],
      ['a/b', 'a%2Fb'],
      ['../../etc', '%2E.%2F..%2Fetc'],
      ['100%', '100%25'],
      ['a+b', 'a%2Bb'],
      ['a b', 'a%20b'],
      ['é', '%C3%A9'],
      ['\\', '%5C'],
    ];
    for (const [id, name] of table) assert.equal(serverDirName(id), name, id);
    assert.equal(serverStateDir('/var/lib/flip', 'a/b'), '/var/lib/flip/a%2Fb');
  });

  it('gives a long id a bounded name, a readable head and a hash, distinct from every other', () => {
    const long = (fill: string) => fill.repeat(255 / Buffer.byteLength(fill));
    const ids = [long('a'), `${long('a').slice(0, 254)}b`, long('/'), long('%'), long('é'), long('+')];
    const names = ids.map(serverDirName);
    for (const [i, name] of names.entries()) {
      assert.ok(Buffer.byteLength(name) <= 255, `${ids[i]}: ${name.length} bytes`);
      assert.match(name, /^[A-Za-z0-9_.%-]*\+[0-9a-f]{64}$/, name);
      assert.doesNotMatch(name, /%[0-9A-F]?\+/, 'no escape is cut in two');
    }
    assert.equal(new Set(names).size, names.length);
    assert.ok(names[0]!.startsWith('aaaa'), 'the head reads as the id');
    // A short name never holds `+`, so it never equals a long one.
    assert.ok(!serverDirName('x+y').includes('+'));
  });

  it('creates it (and state_dir above it) with mode 0700', () => {
    const path = join(dir, 'new', 'state', 'flip1');
    prepareStateDir(path);
    assert.equal(statSync(path).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'new', 'state')).mode & 0o777, 0o700);
    prepareStateDir(path);
  });

  it('makes an existing one private', () => {
    const path = join(dir, 'open');
    mkdirSync(path, { mode: 0o755 });
    chmodSync(path, 0o777);
    prepareStateDir(path);
    assert.equal(statSync(path).mode & 0o777, 0o700);
  });

  it('refuses a file, a symbolic link, a path through a file and a directory of another user, naming path and reason', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const link = join(dir, 'a-link');
    mkdirSync(join(dir, 'target'));
    symlinkSync(join(dir, 'target'), link);
    const cases: [string, RegExp][] = [
      [file, /it is not a directory/],
      [link, /symbolic link/],
      [join(file, 'flip1'), /a part of the path is not a directory \(ENOTDIR\)/],
    ];
    if (process.getuid?.() === 0) {
      const foreign = join(dir, 'foreign');
      mkdirSync(foreign, { mode: 0o700 });
      chownSync(foreign, 65534, 65534);
      cases.push([foreign, /belongs to user id 65534, not to this agent's \(0\)/]);
    }
    for (const [path, reason] of cases) {
      assert.throws(
        () => prepareStateDir(path),
        (error: unknown) => {
          assert.ok(error instanceof StateDirError, String(error));
          assert.ok(
            error.message.startsWith(`cannot use the state directory ${JSON.stringify(path)}: `),
            error.message,
          );
          assert.match(error.message, reason);
          return true;
        },
      );
    }
  });
});
