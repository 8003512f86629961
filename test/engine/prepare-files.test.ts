// prepare() and the fd-kind ops (OpModule.files: fdtype, epoll, pidfd,
// inotify, fanotify), on the real collector and live processes: a task
// whose fd walk shows a file on the anon-inode or pidfs mount gets each
// such op's answer in the snapshot, the same bytes a read of its own
// gives; a task without such files gets none (CRIU never asks for it);
// an op named in CRIB_PER_TASK is left to CRIU's ask.  The mount ids the
// engine learns are the ones /proc shows for those files.
import * as assert from 'assert';
import { spawn } from 'child_process';
import { ABI_VERSION, loadProto } from '../../engine-ts/src/engine/proto';
import { EngineServer } from '../../engine-ts/src/engine/server';
import { readRegistry } from '../../engine-ts/src/engine/ops';
import { fdsOf, folderOpEnv, FolderOpEnv, pyHolder } from '../bpf/folder';

const proto = loadProto();
type Obj = { [k: string]: unknown };
interface Rec {
  op: number;
  pid: number;
  record?: Uint8Array;
  err?: number;
}

/** An eventfd, an epoll fd watching it and a pidfd of its own */
const HOLDER = `
import os, select
e = os.eventfd(3)
ep = select.epoll()
ep.register(e, select.EPOLLIN)
p = os.pidfd_open(os.getpid())
report(False)
`;

function prepare(env: FolderOpEnv, pids: number[]): Rec[] {
  const s = new EngineServer(proto, env.collector);
  const ask = (req: Obj): Obj => {
    const a = s.handle(proto.Request.encode(proto.Request.fromObject(req)).finish());
    const msg = a.framed ? Uint8Array.from(a.bytes.subarray(4)) : a.bytes;
    if (a.framed) s.release();
    return proto.Response.toObject(proto.Response.decode(msg), { longs: Number, arrays: true }) as Obj;
  };
  assert.strictEqual(ask({ id: 1, hello: { abiVersion: ABI_VERSION, pidNs: env.collector.callerPidNs } }).err, 0);
  const r = ask({ id: 2, prepare: { pids } });
  assert.strictEqual(r.err, 0, String(r.message));
  return (r.prepare as { records: Rec[] }).records;
}

/** The mnt_id line of @info (an fdinfo file's text) */
const mntId = (info: string) => Number(/^mnt_id:\s+(\d+)$/m.exec(info)![1]);

describe('prepare: the fd-kind ops of the tasks that have such files', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const fileOps = readRegistry().filter((e) => ['fdtype', 'epoll', 'pidfd', 'inotify', 'fanotify'].includes(e.name));
  const saved = process.env.CRIB_PER_TASK;
  before(() => {
    env = folderOpEnv('fdtype');
  });
  after(() => env.close());
  afterEach(() => {
    if (saved === undefined) delete process.env.CRIB_PER_TASK;
    else process.env.CRIB_PER_TASK = saved;
  });

  it('learns the mount ids /proc shows for anon-inode files and pidfds', async function () {
    const [holder] = await pyHolder(env.kids, HOLDER);
    const anon = fdsOf(holder, (l) => l === 'anon_inode:[eventfd]');
    const pidfd = fdsOf(holder, (l) => l === 'anon_inode:[pidfd]' || l.startsWith('pidfd:'));
    assert.strictEqual(anon.length, 1);
    assert.strictEqual(pidfd.length, 1);
    assert.strictEqual(env.collector.internalMount('anon_inode'), mntId(anon[0].info));
    assert.strictEqual(env.collector.internalMount('pidfs'), mntId(pidfd[0].info));
  });

  it('answers each such op for a task with such files, the bytes of its own read; none for a task without', async function () {
    const [holder] = await pyHolder(env.kids, HOLDER);
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    env.kids.push(sleeper);
    const recs = prepare(env, [holder, sleeper.pid!]).filter((r) => fileOps.some((e) => e.id === r.op));
    assert.deepStrictEqual(recs.map((r) => [r.op, r.pid]).sort(), fileOps.map((e) => [e.id, holder]).sort(), 'one record per op, all for the holder');
    for (const r of recs) {
      assert.strictEqual(r.err ?? 0, 0, `op #${r.op}`);
      const own = env.ops.read(r.op, holder, env.caller());
      assert.deepStrictEqual(Buffer.from(r.record!), Buffer.from(own), `op #${r.op}: the snapshot's record and a read of its own`);
    }
    // and they are not empty: the holder's eventfd, epoll and pidfd are in them
    for (const name of ['fdtype', 'epoll', 'pidfd']) {
      const id = readRegistry().find((e) => e.name === name)!.id;
      assert.ok(recs.find((r) => r.op === id)!.record!.length > 0, `${name}: an empty answer`);
    }
  });

  it('leaves an op of CRIB_PER_TASK to CRIU\'s ask', async function () {
    const [holder] = await pyHolder(env.kids, HOLDER);
    process.env.CRIB_PER_TASK = 'epoll';
    const ops = prepare(env, [holder]).map((r) => r.op);
    const epoll = readRegistry().find((e) => e.name === 'epoll')!.id;
    assert.ok(!ops.includes(epoll), 'epoll is in the snapshot');
    assert.ok(ops.includes(readRegistry().find((e) => e.name === 'fdtype')!.id), 'fdtype is not');
  });
});
