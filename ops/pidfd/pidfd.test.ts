// Op pidfd: its record against the object's BTF, and its answers against
// /proc/PID/fdinfo on live processes: every pidfd of a task (of itself,
// of a live child, of a zombie, of a reaped child, of a process in a
// child pid namespace, a dup of one) and no other fd; a task without
// pidfds, a zombie, no task; a child that shares its parent's.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { countStreams, fdsOf, folderOpEnv, FolderOpEnv, pyHolder, zombie } from '../../test/bpf/folder';
import { PIDFD } from './pidfd';

interface Fd {
  fd: number;
  nr: number;
  nsNr: number;
  ino: string;
}

function decode(bytes: Uint8Array): Fd[] {
  const type = loadProto().root.lookupType('crib.Pidfd');
  const m = type.toObject(type.decode(bytes.slice()), { longs: String, defaults: true }) as { fd: Fd[] };
  return m.fd;
}

/** What /proc/PID/fdinfo says of each pidfd of @pid */
function fromProc(pid: number): Fd[] {
  const out: Fd[] = [];
  for (const { fd: n, info } of fdsOf(pid, (l) => l === 'anon_inode:[pidfd]')) {
    const f = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(info)![1];
    const nspid = f('NSpid').split(/\s+/).map(Number);
    out.push({ fd: n, nr: Number(f('Pid')), nsNr: nspid[nspid.length - 1], ino: f('ino') });
  }
  return out;
}

/**
 * A python process with pidfds: of itself, of a live child, of a zombie
 * child, of a reaped child, of the first process of a child pid namespace
 * (its "sleep"), and a dup of the first; @fork: and a child that shares
 * them.  Its pid (and the child's).
 */
async function holder(kids: ChildProcess[], fork = false): Promise<number[]> {
  const script = `
import os, subprocess, sys, time
keep = [os.pidfd_open(os.getpid())]
def child(reap, exit):
    pid = os.fork()
    if pid == 0:
        if exit: os._exit(0)
        time.sleep(60)
        os._exit(0)
    keep.append(os.pidfd_open(pid))
    if exit:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        if reap: os.waitpid(pid, 0)
    return pid
live = child(False, False)
zombie = child(False, True)
reaped = child(True, True)
ns = subprocess.Popen(['unshare', '--pid', '--fork', 'sleep', '60'])
for i in range(200):
    kids = open('/proc/%d/task/%d/children' % (ns.pid, ns.pid)).read().split()
    if kids: break
    time.sleep(0.01)
keep.append(os.pidfd_open(int(kids[0])))
keep.append(os.dup(keep[0]))
report(len(sys.argv) > 1)
`;
  return pyHolder(kids, script, fork ? ['fork'] : []);
}

/** The holder's descendants, killed at the end (they outlive a SIGKILLed python) */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let kids: string[] = [];
    try {
      kids = fs.readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').split(/\s+/).filter(Boolean);
    } catch {
      return;
    }
    for (const k of kids.map(Number)) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}

describe('op pidfd (ops/pidfd)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();
  const leftovers: number[] = [];

  before(function () {
    env = folderOpEnv('pidfd');
    if (!ops().support(caller()).find((o) => o.id === env.id)?.available) this.skip(); // no BTF iterators
  });
  after(() => {
    for (const p of leftovers) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    env?.close();
  });

  it('struct crib_pidfd matches the BTF of pidfd.bpf.o', function () {
    checkLayout(loadBtf('pidfd.bpf.o'), 'pidfd.bpf.o', PIDFD);
  });

  it('agrees with /proc/PID/fdinfo: each pidfd (self, live, zombie, reaped, in a child pid namespace, a dup), no other fd', async function () {
    const [pid] = await holder(env.kids);
    leftovers.push(...descendants(pid));
    const want = fromProc(pid);
    assert.strictEqual(want.length, 6, 'the holder has six pidfds');
    assert.strictEqual(want[0].nr, pid, 'a pidfd of itself');
    assert.strictEqual(want[3].nr, -1, 'a pidfd of a reaped child');
    assert.ok(want[4].nr > 1 && want[4].nsNr === 1, 'a pidfd of the first process of a child pid namespace');
    assert.deepStrictEqual(decode(ops().read(env.id, pid, caller())), want);
  });

  it('a task without pidfds and a zombie have none; a pid that is no task is NoSuchTaskError', async function () {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    env.kids.push(sleeper);
    const z = await zombie(env.kids);
    assert.deepStrictEqual(decode(ops().read(env.id, sleeper.pid!, caller())), []);
    assert.deepStrictEqual(decode(ops().read(env.id, z, caller())), []);
    assert.throws(() => ops().read(env.id, 0x3ffffff0, caller()), NoSuchTaskError);
  });

  it('a child shares its parent\'s; each task is read by itself, not in prepare()', async function () {
    assert.strictEqual(ops().treeOps(caller()).includes(env.id), false, 'pidfd is not read for the whole tree');
    const [a, child] = await holder(env.kids, true);
    leftovers.push(...descendants(a));
    const calls = countStreams(env.collector, () => {
      for (const p of [a, child]) assert.deepStrictEqual(decode(ops().read(env.id, p, caller())), fromProc(p), `pid ${p}`);
    });
    assert.deepStrictEqual(calls, { all: 0, one: [a, child] });
    assert.strictEqual(fromProc(child).length, 6, 'the child shares its parent\'s');
  });
});
