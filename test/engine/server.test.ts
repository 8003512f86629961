// The request dispatcher: answers, errors, and requests that make no sense.
import * as assert from 'assert';
import { CribError, EBUSY } from '../../engine-ts/src/errors';
import { ABI_VERSION, loadProto } from '../../engine-ts/src/engine/proto';
import { EngineServer } from '../../engine-ts/src/engine/server';
import { Collector } from '../../engine-ts/src/bpf/types';
import { fakeCollector } from './helpers';
import { readRegistry } from '../../engine-ts/src/engine/ops';

const proto = loadProto();
type Obj = { [k: string]: unknown };

function ask(server: EngineServer, req: Obj | Uint8Array): Obj & { last: boolean } {
  const bytes = req instanceof Uint8Array ? req : proto.Request.encode(proto.Request.fromObject(req)).finish();
  const a = server.handle(bytes);
  let msg = a.bytes;
  if (a.framed) {
    // a frame of the server's own: its length first, then the Response
    const len = Buffer.from(msg.buffer, msg.byteOffset, 4).readUInt32LE(0);
    assert.strictEqual(len, msg.length - 4, 'frame length');
    msg = Uint8Array.from(msg.subarray(4));
    server.release();
  }
  return { ...(proto.Response.toObject(proto.Response.decode(msg), { longs: String, oneofs: true, enums: Number, arrays: true }) as Obj), last: a.last };
}

/** A pid namespace inode for the tests' callers (the init namespace's). */
const PID_NS = 0xeffffffc;

/** A server whose caller has said hello, naming its pid namespace. */
function greeted(collector: Collector | undefined, startError?: string): EngineServer {
  const s = new EngineServer(proto, collector, startError);
  ask(s, { id: 100, hello: { abiVersion: ABI_VERSION, pidNs: PID_NS } });
  return s;
}

describe('engine server', () => {
  const server = greeted(fakeCollector());

  it('says hello with its ABI and its ops', () => {
    const r = ask(server, { id: 1, hello: { abiVersion: ABI_VERSION, pidNs: PID_NS } });
    assert.strictEqual(r.err, 0);
    const h = r.hello as Obj;
    assert.strictEqual(h.abiVersion, ABI_VERSION);
    // every op of the registry, by number; a folder op the fake collector cannot run is unavailable, with why
    assert.deepStrictEqual((h.ops as Obj[]).map((o) => o.op), readRegistry().map((e) => e.id));
    for (const o of (h.ops as Obj[]).filter((x) => readRegistry()[x.op as number].folder !== 'core')) {
      assert.strictEqual(o.available, false);
      assert.match(o.reason as string, /cannot run folder ops/);
    }
  });

  it('answers an OpReq of an op it does not have with ENOTSUP, and a core op number with ENOTSUP too', () => {
    for (const op of [999, 0]) {
      const r = ask(server, { id: 9, op: { op, pid: 99 } });
      assert.strictEqual(r.err, -95, `op #${op}`);
      assert.match(r.message as string, /procfs serves it/);
    }
  });

  it('answers stat and status with 64-bit and char fields intact', () => {
    const s = ask(server, { id: 2, stat: { pid: 99 } });
    assert.strictEqual(s.id, 2);
    const st = s.stat as Obj;
    assert.strictEqual(st.state, 'S'.charCodeAt(0));
    // a byte string goes out byte for byte: 'w', 0xf6, 'rker', 0x80 (not UTF-8)
    assert.strictEqual(Buffer.from(st.comm as Uint8Array).toString('hex'), '77f6726b657280');
    assert.strictEqual(st.envEnd, String(0xffff_ffff_ffff_fffen));
    const u = ask(server, { id: 3, status: { pid: 99 } }).status as Obj;
    assert.deepStrictEqual(u.gids, [4, 5, 6, 4294967295]);
    assert.strictEqual(u.shdpnd, String(1n << 63n));
  });

  it('passes a CribError through as -errno with its message', () => {
    const r = ask(server, { id: 4, stat: { pid: 404 } });
    assert.strictEqual(r.err, -3);
    assert.match(r.message as string, /pid 404/);
    const busy = greeted(fakeCollector({ vmas: (pid) => { throw new CribError('EBUSY', `vma: pid ${pid}: busy`, EBUSY); } }));
    assert.strictEqual(ask(busy, { id: 5, vma: { pid: 1 } }).err, -EBUSY);
  });

  it('turns an unexpected exception into -EIO', () => {
    const s = greeted(fakeCollector({ threads: () => { throw new TypeError('oops'); } }));
    const r = ask(s, { id: 6, threads: { pid: 1 } });
    assert.strictEqual(r.err, -5);
    assert.match(r.message as string, /TypeError: oops/);
  });

  it('answers a frame that does not decode with -EPROTO and goes on', () => {
    assert.strictEqual(ask(server, Uint8Array.of(0xff, 0xff, 0xff)).err, -71);
    // valid wire data, but the required id is missing
    const noId = Uint8Array.of(0x22, 0x02, 0x08, 0x01); // stat { pid: 1 }
    assert.strictEqual(ask(server, noId).err, -71);
    // id present, TaskReq's required pid missing: the id is still echoed
    const noPid = Uint8Array.of(0x08, 0x2a, 0x22, 0x00);
    const r = ask(server, noPid);
    assert.deepStrictEqual([r.id, r.err], [42, -71]);
    assert.strictEqual(ask(server, { id: 8, stat: { pid: 1 } }).err, 0);
  });

  it('answers a request with no operation with -EINVAL', () => {
    assert.strictEqual(ask(server, { id: 9 }).err, -22);
  });

  it('prepare: tables for good pids, failures for the others', () => {
    const r = ask(server, { id: 10, prepare: { pids: [1, 404, 2, 1] } });
    assert.strictEqual(r.err, 0);
    const p = r.prepare as Obj;
    assert.deepStrictEqual((p.vmas as Obj[]).map((v) => v.pid), [1, 2]);
    assert.deepStrictEqual((p.fds as Obj[]).map((v) => v.pid), [1, 2]);
    assert.deepStrictEqual(p.failedPid, [404]);
    assert.deepStrictEqual(p.failedErrno, [3]);
    assert.deepStrictEqual((p.opNs as Obj[]).map((o) => o.op), [0, 4, 5, 6]);
    assert.deepStrictEqual((p.stats as Obj[]).map((s) => s.pid), [1, 2], 'stat of each good pid rides along');
  });

  it('prepare: a pid whose fds fail keeps its VMAs', () => {
    const s = greeted(fakeCollector({ fds: () => { throw new CribError('EBUSY', 'busy', EBUSY); } }));
    const p = ask(s, { id: 11, prepare: { pids: [5] } }).prepare as Obj;
    assert.strictEqual((p.vmas as Obj[]).length, 1);
    assert.deepStrictEqual([p.fds, p.failedPid, p.failedErrno], [[], [5], [EBUSY]]);
  });

  it('without a collector: hello lists every op unavailable, ops answer -ENOTSUP', () => {
    const s = new EngineServer(proto, undefined, 'no BPF here');
    const h = ask(s, { id: 12, hello: { abiVersion: ABI_VERSION, pidNs: PID_NS } }).hello as Obj;
    assert.ok((h.ops as Obj[]).every((o) => o.available === false && o.reason === 'no BPF here'));
    assert.strictEqual(ask(s, { id: 13, stat: { pid: 1 } }).err, -95);
    assert.strictEqual(ask(s, { id: 14, prepare: { pids: [1] } }).err, -95);
  });

  it('serves no op before a hello names the caller\'s pid namespace, then tells the collector', () => {
    let told: number | undefined;
    const s = new EngineServer(proto, fakeCollector({ setCaller: (c) => (told = c.pidNs) }));
    assert.strictEqual(ask(s, { id: 16, stat: { pid: 1 } }).err, -95, 'before hello');
    const h = ask(s, { id: 17, hello: { abiVersion: ABI_VERSION } }).hello as Obj;
    assert.ok((h.ops as Obj[]).every((o) => o.available === false && /pid namespace/.test(o.reason as string)), 'hello without pid_ns');
    assert.strictEqual(ask(s, { id: 18, stat: { pid: 1 } }).err, -95, 'after a hello without pid_ns');
    assert.strictEqual(told, undefined);
    ask(s, { id: 19, hello: { abiVersion: ABI_VERSION, pidNs: 4026532999 } });
    assert.strictEqual(told, 4026532999);
    assert.strictEqual(ask(s, { id: 20, stat: { pid: 1 } }).err, 0);
    s.endSession();
    assert.strictEqual(ask(s, { id: 21, stat: { pid: 1 } }).err, -95, 'after the session ended');
  });

  it('shutdown is answered and marked last', () => {
    const r = ask(server, { id: 15, shutdown: { pid: 0 } });
    assert.deepStrictEqual([r.id, r.err, r.last], [15, 0, true]);
  });
});
