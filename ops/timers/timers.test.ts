// Op timers: its record against the object's BTF, and its answers against
// /proc/PID/timers on live processes (one with POSIX timers, one with
// none, a zombie), for each mechanism and the tree pass.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { TREE_MAX } from '../../engine-ts/src/bpf/records';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { folderOpEnv, FolderOpEnv, zombie } from '../../test/bpf/folder';
import { paths } from '../../test/helpers';
import { op as timers, TIMERS, TIMERS_CTX, TIMERS_TREE } from './timers';

/** What /proc says: whether /proc/PID/timers lists a timer (a zombie's has none) */
function fromProc(pid: number): boolean {
  return /^ID: /m.test(fs.readFileSync(`/proc/${pid}/timers`, 'utf8'));
}

function decode(bytes: Uint8Array): boolean {
  const type = loadProto().root.lookupType('crib.Timers');
  return (type.toObject(type.decode(bytes.slice())) as { any: boolean }).any;
}

/** build/test/timers with @n timers */
async function withTimers(env: FolderOpEnv, n: number): Promise<number> {
  const ready = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crib-timers-')), 'ready');
  const k = spawn(path.join(paths.workloads, 'timers'), [String(n), ready], { stdio: 'ignore' });
  env.kids.push(k);
  // the file exists before its pid is written: wait for the pid
  let pid = 0;
  for (let i = 0; i < 500 && !pid; i++) {
    if (fs.existsSync(ready)) pid = Number(fs.readFileSync(ready, 'utf8').trim());
    if (!pid) await new Promise((r) => setTimeout(r, 10));
  }
  if (!pid) throw new Error(`${ready}: no pid`);
  fs.rmSync(path.dirname(ready), { recursive: true, force: true });
  return pid;
}

for (const mech of timers.mechanisms) describe(`op timers (ops/timers), mechanism ${mech.mechanism}`, function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('timers', mech); // this mechanism only
    if (!ops().support(caller()).find((o) => o.id === env.id)?.available) this.skip(); // this kernel lacks what the mechanism needs
  });
  after(function () {
    env?.close();
  });

  if (mech.reader !== 'iter') it('struct crib_timers, crib_timers_ctx and crib_timers_tree match the BTF of timers.bpf.o', function () {
    const btf = loadBtf('timers.bpf.o');
    for (const l of [TIMERS, TIMERS_CTX, TIMERS_TREE]) checkLayout(btf, 'timers.bpf.o', l);
  });

  it('agrees with /proc/PID/timers: a task with 1 and with 3 timers, one with none', async function () {
    for (const n of [1, 3, 0]) {
      const pid = await withTimers(env, n);
      assert.strictEqual(fromProc(pid), n > 0, `/proc/${pid}/timers`);
      assert.strictEqual(decode(ops().read(env.id, pid, caller())), n > 0, `${n} timers`);
    }
  });

  it('a zombie has none; a pid that is no task is NoSuchTaskError', async function () {
    const z = await zombie(env.kids);
    assert.strictEqual(decode(ops().read(env.id, z, caller())), false);
    assert.throws(() => ops().read(env.id, 0x3ffffff0, caller()), NoSuchTaskError);
  });
});

describe('op timers (ops/timers), the tree pass (crib_timers_tree)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;

  before(function () {
    env = folderOpEnv('timers');
    if (env.collector.programStatus(timers.treeProgram!) !== true) this.skip(); // < 6.2
  });
  after(function () {
    env?.close();
  });

  it('agrees with /proc/PID/timers for every task of a run longer than one pass', async function () {
    const live = [await withTimers(env, 2), await withTimers(env, 0)];
    const pids = Array.from({ length: TREE_MAX + 3 }, (_, i) => live[i % 2]);
    pids[5] = 0x3ffffff0;
    let n = 0;
    env.ops.readTree(env.id, pids, env.caller(), (pid, rec, err) => {
      n++;
      if (pid === 0x3ffffff0) assert.strictEqual(err, -3);
      else assert.strictEqual(decode(rec!), fromProc(pid), `pid ${pid}`);
    });
    assert.strictEqual(n, pids.length);
  });
});
