// Pid namespaces on the live kernel: every pid the collector takes is a
// number in the caller's pid namespace, and a task is read only when its
// number there is the one asked for.  Here the caller is named as a child
// namespace while the engine (this process) lives in the init one, where
// the same numbers belong to other tasks (1: init, 2: kthreadd): whatever
// mechanism serves an op, it must say "no such task" or "not here", and
// never answer with another task's data.  (CRIU inside such a namespace,
// where the answers must be exact, is test/e2e/pidns.test.ts.)
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { createCollector, SOURCES } from '../../engine-ts/src/bpf/collector';
import { ownPidNs } from '../../engine-ts/src/bpf/pidns';
import { INIT_PID_NS_INUM } from '../../engine-ts/src/bpf/records';
import { OP_NAMES, OpName } from '../../engine-ts/src/bpf/types';
import { NoSuchTaskError, UnsupportedError, UsageError } from '../../engine-ts/src/errors';
import { paths } from '../helpers';
import { callOp } from './agreement';

function childrenOf(pid: number): number[] {
  return fs
    .readdirSync(`/proc/${pid}/task`)
    .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/))
    .filter(Boolean)
    .map(Number);
}

describe('bpf collector: pids of the caller\'s pid namespace', function () {
  this.timeout(60000);
  let ns: ChildProcess;
  let nsInit = 0;
  let nsInum = 0;

  before(async () => {
    // a pid namespace with a shell as its pid 1 and two sleeps as 2 and 3
    ns = spawn('unshare', ['--pid', '--fork', 'sh', '-c', 'sleep 60 & sleep 60 & wait'], { stdio: 'ignore', detached: true });
    for (let i = 0; i < 100 && !nsInit; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const [sh] = childrenOf(ns.pid!);
      if (sh && childrenOf(sh).length === 2) nsInit = sh;
    }
    assert.ok(nsInit, 'the namespace did not come up');
    nsInum = fs.statSync(`/proc/${nsInit}/ns/pid`).ino;
    assert.notStrictEqual(nsInum, ownPidNs(), 'unshare made no new pid namespace');
  });
  after(() => {
    try {
      process.kill(-ns.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });

  it('SYSCALL programs: a caller in another namespace gets that namespace\'s tasks, by its numbers (crib_ns_tasks)', function () {
    const mechanisms: Partial<Record<OpName, string>> = {};
    for (const op of OP_NAMES) mechanisms[op] = SOURCES[op][0].mechanism;
    const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon, mechanisms, pidNs: nsInum });
    try {
      // 6.1 has neither the SYSCALL programs nor the task iterator the walk needs
      if (c.canServeNs(nsInum) !== true) this.skip();
      const [s1, s2] = childrenOf(nsInit).sort((a, b) => a - b);
      // 1 is the shell, 2 and 3 its sleeps, whatever those numbers name out here
      const st = c.stat(1);
      assert.deepStrictEqual([st.pid, st.ppid, st.comm], [1, 0, 'sh']);
      assert.strictEqual(c.stat(2).comm, 'sleep');
      assert.strictEqual(c.status(2).ppid, 1);
      assert.deepStrictEqual([...c.threads(1)], [1]);
      assert.deepStrictEqual([...c.children(1)].sort(), [2, 3]);
      assert.strictEqual(c.fds(1).count, fs.readdirSync(`/proc/${nsInit}/fd`).length);
      // the same task asked by its number out here, by a collector of this namespace
      const own = createCollector({ objDir: paths.objDir, addonPath: paths.addon, mechanisms });
      try {
        const inside = c.vmas(2);
        const n2 = inside.count;
        const start2 = inside.start[0];
        const sleep2 = [s1, s2].find((p) => own.vmas(p).start[0] === start2 && own.vmas(p).count === n2);
        assert.ok(sleep2, 'pid 2 of the namespace is neither of its sleeps');
      } finally {
        own.close();
      }
      // a number that names a task only out here (ours) is no task of the namespace
      for (const op of OP_NAMES) {
        if (!c.support().find((x) => x.op === op)?.available) continue;
        for (const pid of [process.pid, 999999]) {
          assert.throws(() => callOp[op](c, pid), (e) => e instanceof NoSuchTaskError, `${op} ${pid}`);
        }
      }
    } finally {
      c.close();
    }
  });

  it('seq-iterator fallbacks: a caller in another namespace than the engine\'s is left to procfs, never answered', () => {
    const mechanisms: Partial<Record<OpName, string>> = {};
    for (const op of OP_NAMES) mechanisms[op] = SOURCES[op].find((x) => x.reader === 'iter')!.mechanism;
    const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon, mechanisms, pidNs: nsInum });
    try {
      for (const op of OP_NAMES) {
        if (!c.support().find((x) => x.op === op)?.available) continue;
        // 1 and 2 are tasks in both namespaces; 999999 in neither
        for (const pid of [1, 2, 3, 999999]) {
          let answer: unknown;
          try {
            answer = callOp[op](c, pid);
          } catch (e) {
            assert.ok(e instanceof NoSuchTaskError || e instanceof UnsupportedError, `${op} ${pid}: ${(e as Error).message}`);
            continue;
          }
          assert.fail(`${op}: pid ${pid} of namespace ${nsInum} was answered from the engine's namespace: ${JSON.stringify(answer, (_, v) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 200)}`);
        }
      }
    } finally {
      c.close();
    }
  });

  it('the same collector serves the init namespace exactly once told so', () => {
    const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon, pidNs: nsInum });
    try {
      assert.throws(() => c.stat(nsInit), (e) => e instanceof NoSuchTaskError || e instanceof UnsupportedError);
      c.setCaller({ pidNs: ownPidNs() ?? INIT_PID_NS_INUM, bootOffsetNs: 0n });
      const st = c.stat(nsInit);
      assert.strictEqual(st.pid, nsInit);
      assert.strictEqual(st.ppid, ns.pid);
      assert.deepStrictEqual([...c.children(nsInit)].sort(), childrenOf(nsInit).sort());
      assert.throws(() => c.setCaller({ pidNs: 0, bootOffsetNs: 0n }), UsageError);
    } finally {
      c.close();
    }
  });
});
