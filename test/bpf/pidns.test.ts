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

  for (const label of ['SYSCALL programs', 'seq-iterator fallbacks']) {
    it(`${label}: a pid of another namespace is no such task, never another task's data`, () => {
      const mechanisms: Partial<Record<OpName, string>> = {};
      for (const op of OP_NAMES) {
        const src = label.startsWith('SYSCALL') ? SOURCES[op][0] : SOURCES[op].find((s) => s.reader === 'iter')!;
        mechanisms[op] = src.mechanism;
      }
      const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon, mechanisms, pidNs: nsInum });
      try {
        for (const op of OP_NAMES) {
          if (!c.support().find((s) => s.op === op)?.available) continue;
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
  }

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
