// The hand-written bulk encoders against protobufjs's own decoder of
// proto/crib.proto: every field, entry by entry.
import * as assert from 'assert';
import { FdTable, VmaTable } from '../../engine-ts/src/bpf/types';
import { BadRecordError } from '../../engine-ts/src/errors';
import { encodeFdTable, encodePrepareResp, encodeResponse, encodeVmaList } from '../../engine-ts/src/engine/encode';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { syntheticFds, syntheticVmas } from './fixtures/proc-collector';

const proto = loadProto();
type Obj = { [k: string]: unknown };
const opts = { longs: String, defaults: true, arrays: true };

function asBig(v: unknown): bigint[] {
  return (v as string[]).map((x) => BigInt(x));
}

function checkVmas(got: Obj, t: VmaTable): void {
  const n = t.count;
  assert.strictEqual(got.pid, t.pid);
  for (const k of ['start', 'end', 'pgoff', 'ino', 'madv'] as const)
    assert.deepStrictEqual(asBig(got[k]), Array.from(t[k].subarray(0, n)), k);
  for (const k of ['devMaj', 'devMin', 'prot', 'shared', 'mapFlags', 'vmflags', 'nameIdx', 'mntId', 'fmode'] as const)
    assert.deepStrictEqual(got[k], Array.from(t[k].subarray(0, n)), k);
  // names travel as bytes; the engine keeps them as byte strings
  assert.deepStrictEqual((got.names as Uint8Array[]).map((b) => Buffer.from(b).toString('latin1')), t.names);
}

function checkFds(got: Obj, t: FdTable): void {
  const n = t.count;
  assert.strictEqual(got.pid, t.pid);
  assert.deepStrictEqual(got.fd, Array.from(t.fd.subarray(0, n)));
  assert.deepStrictEqual(asBig(got.pos), Array.from(t.pos.subarray(0, n)));
  assert.deepStrictEqual(got.flags, Array.from(t.flags.subarray(0, n)));
  assert.deepStrictEqual(got.mntId, Array.from(t.mntId.subarray(0, n)));
  assert.deepStrictEqual(got.locks, Array.from(t.locks.subarray(0, n)));
}

function edgeVmas(): VmaTable {
  const t = syntheticVmas(77, 3);
  t.start[0] = 0n;
  t.end[2] = 0xffff_ffff_ffff_f000n;
  t.madv[1] = 1n << 63n;
  t.devMaj[2] = 0xffffffff;
  // byte strings: '\xfc' is one byte; '\xc3\xa9' is UTF-8 for U+00E9
  t.names = ['', '/n\xfcn-utf8 \xff\x80', '/a path with spaces (deleted)', '/caf\xc3\xa9', '[vdso]'];
  return t;
}

describe('engine bulk encoders', () => {
  it('VmaList round-trips through protobufjs, edge values included', () => {
    for (const t of [syntheticVmas(1234, 1000), edgeVmas(), syntheticVmas(5, 0)]) {
      checkVmas(proto.VmaList.toObject(proto.VmaList.decode(encodeVmaList(t)), opts), t);
    }
  });

  it('VmaList sends only count rows of longer columns (typed-array views of a bigger buffer)', () => {
    const big = syntheticVmas(9, 50);
    const t: VmaTable = { ...big, count: 20 };
    t.start = new BigUint64Array(big.start.buffer, 8, 40); // a view at an offset
    const got = proto.VmaList.toObject(proto.VmaList.decode(encodeVmaList(t)), opts);
    checkVmas(got, t);
    assert.strictEqual((got.start as unknown[]).length, 20);
  });

  it('VmaList refuses a column shorter than count', () => {
    const t = syntheticVmas(9, 10);
    t.prot = new Uint32Array(9);
    assert.throws(() => encodeVmaList(t), BadRecordError);
  });

  it('FdTable round-trips, negative mnt_id and 64-bit pos included', () => {
    const t = syntheticFds(42, 1000);
    t.mntId[3] = -1;
    t.pos[4] = 0xffff_ffff_ffff_ffffn;
    t.fd[999] = 0x7fffffff;
    checkFds(proto.FdTable.toObject(proto.FdTable.decode(encodeFdTable(t)), opts), t);
    checkFds(proto.FdTable.toObject(proto.FdTable.decode(encodeFdTable(syntheticFds(1, 0))), opts), syntheticFds(1, 0));
  });

  const statObj = {
    pid: 10, ppid: 1, pgid: 10, sid: 10, numThreads: 2, exitCode: 0, flags: 0x400100, state: 83, comm: Buffer.from([0x7a, 0xff, 0x80]),
    startTime: '123456', startCode: '4194304', endCode: '4200000', startData: '1', endData: '2', startBrk: '3',
    startStack: '140737488347136', argStart: '5', argEnd: '6', envStart: '7', envEnd: '8',
  };

  it('PrepareResp round-trips with tables, stats, times and failures', () => {
    const v = [syntheticVmas(10, 7), edgeVmas()];
    const f = [syntheticFds(10, 4)];
    const bytes = encodePrepareResp({
      vmas: v.map(encodeVmaList),
      fds: f.map(encodeFdTable),
      stats: [proto.StatResp.encode(proto.StatResp.fromObject(statObj)).finish()],
      opNs: [[4, 123456789012n], [5, 1n << 40n], [6, 0n]],
      failedPid: [77, 78],
      failedErrno: [3, 95],
    });
    const got = proto.PrepareResp.toObject(proto.PrepareResp.decode(bytes), { ...opts, enums: Number });
    (got.vmas as Obj[]).forEach((g, i) => checkVmas(g, v[i]));
    (got.fds as Obj[]).forEach((g, i) => checkFds(g, f[i]));
    assert.deepStrictEqual(got.opNs, [{ op: 4, ns: '123456789012' }, { op: 5, ns: String(1n << 40n) }, { op: 6, ns: '0' }]);
    assert.deepStrictEqual(got.failedPid, [77, 78]);
    assert.deepStrictEqual(got.failedErrno, [3, 95]);
    assert.deepStrictEqual(
      (got.stats as Obj[]).map((x) => [x.pid, Buffer.from(x.comm as Uint8Array).toString('hex'), x.startTime]),
      [[statObj.pid, '7aff80', statObj.startTime]],
    );
  });

  it('Response carries a bulk payload, an error or nothing', () => {
    const t = syntheticVmas(3, 4);
    const r = proto.Response.toObject(proto.Response.decode(encodeResponse(proto, { id: 7, err: 0, payload: { kind: 'vma', value: t } })), { ...opts, oneofs: true });
    assert.strictEqual(r.id, 7);
    assert.strictEqual(r.resp, 'vma');
    checkVmas(r.vma as Obj, t);
    const e = proto.Response.toObject(proto.Response.decode(encodeResponse(proto, { id: 0xffffffff, err: -95, message: 'no' })), { oneofs: true });
    assert.deepStrictEqual(e, { id: 0xffffffff, err: -95, message: 'no' });
    const threads = proto.Response.decode(encodeResponse(proto, { id: 1, err: 0, payload: { kind: 'threads', value: Int32Array.of(1, 2, 2147483647) } }));
    assert.deepStrictEqual((proto.Response.toObject(threads) as Obj).threads, { pids: [1, 2, 2147483647] });
  });

  it('10,000-entry tables: encode and decode times', function () {
    const v = syntheticVmas(1, 10000);
    const f = syntheticFds(1, 10000);
    for (let i = 0; i < 20; i++) encodeVmaList(v), encodeFdTable(f); // warm up
    const time = (fn: () => unknown) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 50; i++) fn();
      return Number(process.hrtime.bigint() - t0) / 50 / 1000;
    };
    const ev = time(() => encodeVmaList(v));
    const ef = time(() => encodeFdTable(f));
    const vb = encodeVmaList(v);
    const fb = encodeFdTable(f);
    this.test!.title += ` (VmaList ${vb.length} B: encode ${ev.toFixed(0)} us; FdTable ${fb.length} B: encode ${ef.toFixed(0)} us)`;
    checkVmas(proto.VmaList.toObject(proto.VmaList.decode(vb), opts), v);
  });
});
