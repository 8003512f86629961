import * as assert from 'assert';
import { FrameReader, FrameTooLargeError, frameHeader } from '../../engine-ts/src/engine/frames';

function frame(body: Buffer): Buffer {
  return Buffer.concat([frameHeader(body.length), body]);
}

describe('engine frames', () => {
  it('reassembles frames fed one byte at a time', () => {
    const bodies = [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(70000, 7)];
    const stream = Buffer.concat(bodies.map(frame));
    const r = new FrameReader();
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...r.push(stream.subarray(i, i + 1)));
    assert.deepStrictEqual(got, bodies);
    assert.strictEqual(r.pending, 0);
  });

  it('cuts several frames out of one chunk and keeps a partial tail', () => {
    const a = frame(Buffer.from('a')), b = frame(Buffer.from('bb')), c = frame(Buffer.from('ccc'));
    const r = new FrameReader();
    const first = r.push(Buffer.concat([a, b, c.subarray(0, 5)]));
    assert.deepStrictEqual(first.map(String), ['a', 'bb']);
    assert.strictEqual(r.pending, 1); // the header was consumed, one body byte waits
    assert.deepStrictEqual(r.push(c.subarray(5)).map(String), ['ccc']);
  });

  it('splits a header across chunks', () => {
    const f = frame(Buffer.from('xyz'));
    const r = new FrameReader();
    assert.deepStrictEqual(r.push(f.subarray(0, 2)), []);
    assert.deepStrictEqual(r.push(f.subarray(2, 3)), []);
    assert.deepStrictEqual(r.push(f.subarray(3)).map(String), ['xyz']);
  });

  it('rejects a frame longer than the limit before buffering it', () => {
    const r = new FrameReader(1024);
    const h = Buffer.alloc(4);
    h.writeUInt32LE(1025, 0);
    assert.throws(() => r.push(h), (e: unknown) => e instanceof FrameTooLargeError && e.errno === 71 && e.length === 1025);
  });

  it('rejects a 4 GiB - 1 length with the default 256 MiB limit', () => {
    assert.throws(() => new FrameReader().push(Buffer.from([0xff, 0xff, 0xff, 0xff])), FrameTooLargeError);
  });
});
