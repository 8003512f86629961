// The image reader refuses truncated or malformed images instead of guessing.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { loadCriuProtos, readImage } from '../../engine-ts/src/images/reader';
import { diffValues, Difference } from '../../engine-ts/src/criu/images';
import { paths, tmpdir } from '../helpers';

describe('images: reader', () => {
  const root = loadCriuProtos(paths.criuImages);
  const dir = tmpdir('images');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function image(entries: Buffer[], magic = [0x54564319, 0x50273030]): string {
    const head = Buffer.alloc(4 * magic.length);
    magic.forEach((m, i) => head.writeUInt32LE(m, 4 * i));
    const parts = entries.flatMap((e) => {
      const n = Buffer.alloc(4);
      n.writeUInt32LE(e.length);
      return [n, e];
    });
    const f = path.join(dir, `img-${Math.random().toString(16).slice(2)}`);
    fs.writeFileSync(f, Buffer.concat([head, ...parts]));
    return f;
  }

  it('decodes entries after the common and image magics', () => {
    const t = root.lookupType('pstree_entry');
    const e = Buffer.from(t.encode(t.fromObject({ pid: 42, ppid: 1, pgid: 42, sid: 42, threads: [42, 43] })).finish());
    const got = readImage(root, image([e, e]), 'pstree_entry');
    assert.equal(got.length, 2);
    assert.deepEqual(got[0].threads, [42, 43]);
  });

  it('reads CRIU\'s string fields byte for byte: UTF-8 as text, other bytes as \\xNN', () => {
    const t = root.lookupType('reg_file_entry');
    const entry = (name: Buffer): Buffer =>
      Buffer.from(t.encode(t.fromObject({ id: 1, flags: 2, pos: 0, fown: { uid: 0, euid: 0, signum: 0, pid_type: 0, pid: 0 }, name })).finish());
    const names = [Buffer.from('/caf\u00e9'), Buffer.from([0x2f, 0x61, 0xff]), Buffer.from([0x2f, 0x61, 0xfe]), Buffer.from('/a\\b')];
    const got = readImage(root, image(names.map(entry), [0x54564319, 0x56213975]), 'reg_file_entry').map((e) => e.name);
    assert.deepEqual(got, ['/caf\u00e9', '/a\\xff', '/a\\xfe', '/a\\x5cb']);
    // as UTF-8 both bad names would have read '/a\ufffd' and compared equal
    const out: Difference[] = [];
    diffValues('reg-files', { name: got[1] }, { name: got[2] }, '', out);
    assert.equal(out.length, 1);
  });

  it('rejects an entry that runs past the end of the file', () => {
    const f = image([Buffer.from([8, 42])]);
    const buf = fs.readFileSync(f);
    fs.writeFileSync(f, buf.subarray(0, buf.length - 1));
    assert.throws(() => readImage(root, f, 'pstree_entry'), /runs past the end/);
  });

  it('rejects a file too short for a magic', () => {
    const f = path.join(dir, 'short');
    fs.writeFileSync(f, Buffer.from([1, 2]));
    assert.throws(() => readImage(root, f, 'pstree_entry'), /too short/);
  });

  it('diffValues reports every differing field by path', () => {
    const out: Difference[] = [];
    diffValues('mm', { vmas: [{ start: '1', end: '2' }, { start: '3' }] }, { vmas: [{ start: '1', end: '5' }] }, '', out);
    assert.deepEqual(
      out.map((d) => d.path),
      ['vmas.length', 'vmas[0].end'],
    );
  });
});
