// Op taskmisc: its record against the object's BTF and taskmisc.h, and
// its answers against /proc on live processes, one of them another
// user's (whose rlimits prlimit64() gives only with CAP_SYS_RESOURCE).
import * as assert from 'assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readRegistry } from '../../engine-ts/src/engine/ops';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { folderOpEnv, FolderOpEnv } from '../../test/bpf/folder';
import { root } from '../../test/helpers';
import { HAVE_LOGINUID, HAVE_OOM, op as taskmisc, RLIMITS, TASKMISC, TASKMISC_CTX, TASKMISC_TREE } from './taskmisc';
import { TREE_IN, TREE_MAX, TREE_REQ, TREE_SLOTS } from '../../engine-ts/src/bpf/records';

/** #define CRIB_* of taskmisc.h */
function defines(): Map<string, string> {
  const text = fs.readFileSync(path.join(root, 'ops', 'taskmisc', 'taskmisc.h'), 'utf8');
  return new Map([...text.matchAll(/^#define\s+(CRIB_\w+)\s+(.+?)\s*(?:\/\*.*)?$/gm)].map((m) => [m[1], m[2]]));
}

/** /proc/PID/limits as prlimit64() gives it: [cur, max] per resource, unlimited as ~0 */
function procLimits(pid: number): [bigint, bigint][] {
  const lines = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').slice(1).filter((l) => l.trim());
  const v = (s: string) => (s === 'unlimited' ? 0xffffffffffffffffn : BigInt(s));
  return lines.map((l) => {
    // "Max open files            1024                 1048576              files"
    const f = l.slice(26).trim().split(/\s+/);
    return [v(f[0]), v(f[1])];
  });
}

interface Expected {
  personality: number;
  loginuid: number;
  oomScoreAdj: number;
  limits: [bigint, bigint][];
}

function fromProc(pid: number): Expected {
  return {
    personality: parseInt(fs.readFileSync(`/proc/${pid}/personality`, 'utf8'), 16),
    loginuid: Number(fs.readFileSync(`/proc/${pid}/loginuid`, 'utf8')),
    oomScoreAdj: Number(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8')),
    limits: procLimits(pid),
  };
}

for (const mech of taskmisc.mechanisms) describe(`op taskmisc (ops/taskmisc), mechanism ${mech.mechanism}`, function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();
  const id = readRegistry().find((e) => e.name === 'taskmisc')!.id;

  before(function () {
    env = folderOpEnv('taskmisc', mech); // this mechanism only
  });
  after(function () {
    env?.close();
  });

  function read(pid: number) {
    const type = loadProto().root.lookupType('crib.TaskMisc');
    const m = type.toObject(type.decode(ops().read(id, pid, caller()).slice()), { longs: String }) as {
      have: number;
      personality: number;
      loginuid: number;
      oomScoreAdj: number;
      rlimCur: string[];
      rlimMax: string[];
    };
    return m;
  }

  function agree(pid: number, what: string): void {
    const m = read(pid);
    const p = fromProc(pid);
    assert.strictEqual(m.have & HAVE_OOM, HAVE_OOM, `${what}: oom_score_adj set`);
    assert.strictEqual(m.personality >>> 0, p.personality, `${what}: personality`);
    if (m.have & HAVE_LOGINUID) assert.strictEqual(m.loginuid >>> 0, p.loginuid, `${what}: loginuid`);
    assert.strictEqual(m.oomScoreAdj, p.oomScoreAdj, `${what}: oom_score_adj`);
    assert.strictEqual(m.rlimCur.length, p.limits.length, `${what}: as many rlimits as /proc/PID/limits lists`);
    assert.deepStrictEqual(
      m.rlimCur.map((c, i) => [BigInt(c), BigInt(m.rlimMax[i])]),
      p.limits,
      `${what}: rlimits (cur, max) in /proc/PID/limits order`,
    );
  }

  /** A sleeper started with limits of its own, then @wrap (e.g. setpriv); its oom_score_adj set from here. */
  async function sleeper(wrap: string[], nofile: string, oom: number): Promise<number> {
    const k = spawn('prlimit', [`--nofile=${nofile}`, '--core=0:unlimited', ...wrap, 'sleep', '60'], { stdio: 'ignore' });
    env.kids.push(k);
    const pid = k.pid!;
    // prlimit and the wrapper exec in place: wait for sleep itself
    for (let i = 0; i < 100 && !/^sleep/.test(fs.readFileSync(`/proc/${pid}/comm`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 20));
    fs.writeFileSync(`/proc/${pid}/oom_score_adj`, String(oom));
    return pid;
  }

  /** CAP_SYS_RESOURCE (24) in our effective set */
  function haveSysResource(): boolean {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m !== null && ((BigInt(`0x${m[1]}`) >> 24n) & 1n) === 1n;
  }

  if (mech.reader !== 'iter') it('struct crib_taskmisc and crib_taskmisc_ctx match the BTF of taskmisc.bpf.o', function () {
    const btf = loadBtf('taskmisc.bpf.o');
    checkLayout(btf, 'taskmisc.bpf.o', TASKMISC);
    checkLayout(btf, 'taskmisc.bpf.o', TASKMISC_CTX);
    checkLayout(btf, 'taskmisc.bpf.o', TASKMISC_TREE);
    checkLayout(btf, 'taskmisc.bpf.o', TREE_IN);
    checkLayout(btf, 'taskmisc.bpf.o', TREE_REQ);
    const tree = fs.readFileSync(path.join(root, 'bpf', 'crib_tree.h'), 'utf8');
    assert.match(tree, new RegExp(`#define CRIB_TREE_MAX ${TREE_MAX}\\b`));
    assert.match(tree, new RegExp(`#define CRIB_TREE_SLOTS ${TREE_SLOTS}\\b`));
    const d = defines();
    assert.strictEqual(Number(d.get('CRIB_RLIMITS')), RLIMITS);
    assert.strictEqual(d.get('CRIB_TASKMISC_LOGINUID'), '(1u << 0)');
    assert.strictEqual(d.get('CRIB_TASKMISC_OOM'), '(1u << 1)');
    // the bits are criu-engine.h's
    const eng = fs.readFileSync(path.join(root, 'criu-patches', 'include', 'criu-engine.h'), 'utf8');
    assert.match(eng, /#define CR_ENG_TASKMISC_LOGINUID \(1u << 0\)/);
    assert.match(eng, /#define CR_ENG_TASKMISC_OOM\s+\(1u << 1\)/);
    assert.match(eng, new RegExp(`#define CR_ENG_RLIMITS_MAX ${RLIMITS}\\b`));
  });

  it('is served by its BPF program here, or the kernel lacks what it needs', function () {
    const s = ops().support(caller()).find((o) => o.id === id);
    const release = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
    const [maj, min] = release.split('.').map(Number);
    // bpf_task_from_pid() came in 6.2; the seq iterator (iter/task) runs on 6.1
    const needs = mech.reader === 'iter' ? true : maj > 6 || (maj === 6 && min >= 2);
    if (needs) assert.ok(s?.available, `taskmisc unavailable by ${mech.mechanism} on ${release}: ${s?.reason}`);
    else {
      assert.ok(!s?.available && s?.reason, `expected ${mech.mechanism} not to load on ${release}`);
      this.skip();
    }
  });

  beforeEach(function () {
    if (this.currentTest?.title.startsWith('is served')) return;
    if (!ops().support(caller()).find((o) => o.id === id)?.available) this.skip();
  });

  it('agrees with /proc for this process', function () {
    agree(process.pid, 'self');
  });

  it('agrees with /proc for a process with changed limits, oom_score_adj and personality', async function () {
    const pid = await sleeper(['setarch', '-R'], '100:200', 321);
    assert.strictEqual(fromProc(pid).personality, 0x0040000, 'setarch -R sets ADDR_NO_RANDOMIZE');
    agree(pid, 'setarch -R sleeper');
  });

  it("reads another user's rlimits, which prlimit64() refuses without CAP_SYS_RESOURCE", async function () {
    const pid = await sleeper(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], '50:60', 200);
    agree(pid, "uid 65534's sleeper");
    assert.deepStrictEqual(procLimits(pid)[7], [50n, 60n], 'the sleeper has its own RLIMIT_NOFILE');
    // what stock CRIU does (prlimit64() of the task): refused here without CAP_SYS_RESOURCE
    const r = spawnSync('prlimit', ['--pid', String(pid), '--nofile'], { encoding: 'utf8' });
    if (!haveSysResource()) assert.match(r.stderr, /Operation not permitted/, `prlimit64() of another user's task without CAP_SYS_RESOURCE: ${r.stderr}`);
  });

  it('a pid that is no task is NoSuchTaskError', function () {
    assert.throws(() => read(0x3ffffff0), NoSuchTaskError);
  });
});

describe('op taskmisc (ops/taskmisc), the tree pass (crib_taskmisc_tree)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();
  const id = readRegistry().find((e) => e.name === 'taskmisc')!.id;

  before(function () {
    env = folderOpEnv('taskmisc');
    if (env.collector.programStatus(taskmisc.treeProgram!) !== true) this.skip(); // < 6.2: no bpf_task_from_pid
  });
  after(function () {
    env?.close();
  });

  it('gives, for every task, the bytes the per-task program gives, and -ESRCH for a pid that is no task', function () {
    // more tasks than one run takes: this process's threads would be few, so repeat pids
    const sleepers = Array.from({ length: 20 }, () => spawn('sleep', ['60'], { stdio: 'ignore' }));
    env.kids.push(...sleepers);
    const live = [process.pid, ...sleepers.map((k) => k.pid!)];
    const pids = Array.from({ length: TREE_MAX + 50 }, (_, i) => live[i % live.length]);
    pids[7] = 0x3ffffff0;
    const got = new Map<number, { rec?: Buffer; err: number }[]>();
    ops().readTree(id, pids, caller(), (pid, rec, err) => {
      const l = got.get(pid) ?? [];
      l.push({ rec: rec ? Buffer.from(rec) : undefined, err });
      got.set(pid, l);
    });
    assert.equal([...got.values()].reduce((n, l) => n + l.length, 0), pids.length, 'an answer per pid');
    assert.deepEqual(got.get(0x3ffffff0), [{ rec: undefined, err: -3 }]);
    for (const pid of live) {
      const one = Buffer.from(ops().read(id, pid, caller()));
      for (const a of got.get(pid)!) assert.deepEqual(a, { rec: one, err: 0 }, `pid ${pid}`);
    }
  });
});
