// WireWriter: frames written in place, into the engine's own buffer or the
// one shared with the plugin, and read back with protobufjs.
import * as assert from 'assert';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { FRAME_IN_SHARED, WireWriter } from '../../engine-ts/src/engine/wire';

const proto = loadProto();

function header(b: Uint8Array): number {
  return Buffer.from(b.buffer, b.byteOffset, 4).readUInt32LE(0);
}

/** A Response { id, err, threads { pids } } written by hand, like the server's bulk answers. */
function write(w: WireWriter, id: number, pids: number[]): Uint8Array {
  w.beginFrame();
  w.uint32((1 << 3) | 0).uint32(id);
  w.uint32((2 << 3) | 0).int32(-3);
  w.uint32((8 << 3) | 2).fork();
  w.uint32((1 << 3) | 2).fork();
  for (const p of pids) w.int32(p);
  w.ldelim();
  w.ldelim();
  return w.finishFrame();
}

describe('engine wire writer', () => {
  it('writes a frame to its own buffer: length first, padded lengths inside', () => {
    const w = new WireWriter(64);
    const f = write(w, 7, [1, 2, 300]);
    assert.strictEqual(header(f), f.length - 4);
    const r = proto.Response.toObject(proto.Response.decode(f.subarray(4)), { oneofs: true }) as { id: number; err: number; threads: { pids: number[] } };
    assert.deepStrictEqual([r.id, r.err, r.threads.pids], [7, -3, [1, 2, 300]]);
  });

  it('grows past its first buffer without losing what it wrote', () => {
    const w = new WireWriter(16);
    const pids = Array.from({ length: 5000 }, (_, i) => i * 7);
    const f = write(w, 9, pids);
    const r = proto.Response.toObject(proto.Response.decode(f.subarray(4))) as { threads: { pids: number[] } };
    assert.deepStrictEqual(r.threads.pids, pids);
  });

  it('puts a frame in the shared buffer and sends only a flagged header', () => {
    const shared = new Uint8Array(1 << 16);
    const w = new WireWriter(64);
    w.useShared(shared);
    const f = write(w, 11, [4, 5, 6]);
    assert.strictEqual(f.length, 4, 'only the header goes to the socket');
    const word = header(f);
    assert.ok(word & FRAME_IN_SHARED);
    const len = word & ~FRAME_IN_SHARED;
    const r = proto.Response.toObject(proto.Response.decode(shared.subarray(4, 4 + len))) as { id: number; threads: { pids: number[] } };
    assert.deepStrictEqual([r.id, r.threads.pids], [11, [4, 5, 6]]);
  });

  it('sends a frame that outgrows the shared buffer over the socket instead', () => {
    const shared = new Uint8Array(64);
    const w = new WireWriter(32);
    w.useShared(shared);
    const pids = Array.from({ length: 1000 }, (_, i) => i);
    const f = write(w, 12, pids);
    assert.strictEqual(header(f) & FRAME_IN_SHARED, 0);
    assert.strictEqual(header(f), f.length - 4);
    const r = proto.Response.toObject(proto.Response.decode(f.subarray(4))) as { threads: { pids: number[] } };
    assert.deepStrictEqual(r.threads.pids, pids);
    // and the next small one goes back to the shared buffer
    assert.strictEqual(write(w, 13, [1]).length, 4);
  });
});
