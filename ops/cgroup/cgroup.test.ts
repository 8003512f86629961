// Op cgroup: its record against the object's BTF, and its text against
// /proc/PID/cgroup on live processes (this one; a child moved into nested
// cgroups of a v1 and of the v2 hierarchy; a zombie whose v2 cgroup was
// removed; a thread of its own), for each mechanism and the tree pass.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { TREE_MAX } from '../../engine-ts/src/bpf/records';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError, UnsupportedError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { folderOpEnv, FolderOpEnv } from '../../test/bpf/folder';
import { CGROUP, CGROUP_CTX, CGROUP_HIER, CGROUP_TREE, op as cgroup } from './cgroup';

function fromProc(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
}

function decode(bytes: Uint8Array): string {
  const type = loadProto().root.lookupType('crib.Cgroup');
  return (type.toObject(type.decode(bytes.slice())) as { text: string }).text;
}

/** Where each mounted hierarchy is, by its name in /proc/self/cgroup ("pids", "" for v2, "name=systemd") */
function mounts(): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!post) continue;
    const [type, , opts] = post.split(' ');
    const dir = pre.split(' ')[4];
    if (type === 'cgroup2') m.set('', dir);
    else if (type === 'cgroup') for (const o of opts.split(',')) if (o !== 'rw' && o !== 'ro') m.set(o, dir);
  }
  return m;
}

/** A new cgroup @rel under hierarchy @name (its directories added to @made), with @pid moved into it; undefined if that hierarchy is not mounted */
function moveTo(made: string[], name: string, rel: string, pid: number): string | undefined {
  const root = mounts().get(name);
  if (!root) return undefined;
  let dir = root;
  for (const part of rel.split('/')) {
    dir = path.join(dir, part);
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir);
      made.push(dir);
    }
  }
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), `${pid}\n`);
  return dir;
}

/** Removes the cgroups of @made, innermost first: their tasks are killed, the cgroups empty once they are reaped */
function removeMade(made: string[]): void {
  for (const d of made.reverse()) for (let i = 0; i < 50; i++) {
    try {
      fs.rmdirSync(d);
      break;
    } catch {
      spawnSyncSleep();
    }
  }
  made.length = 0;
}

/** A sleeping python whose threads' ids it prints: [pid, tid of a second thread] */
async function sleeper(kids: ChildProcess[]): Promise<[number, number]> {
  const k = spawn('python3', ['-c', 'import os, threading, time\nt = threading.Thread(target=time.sleep, args=(60,)); t.start()\nos.write(1, b"%d %d\\n" % (os.getpid(), t.native_id))\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  kids.push(k);
  return new Promise((resolve, reject) => {
    k.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim().split(' ').map(Number) as [number, number]));
    k.once('exit', () => reject(new Error('the sleeper exited')));
  });
}

for (const mech of cgroup.mechanisms) describe(`op cgroup (ops/cgroup), mechanism ${mech.mechanism}`, function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const made: string[] = [];
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('cgroup', mech); // this mechanism only
    if (!ops().support(caller()).find((o) => o.id === env.id)?.available) this.skip(); // this kernel lacks what the mechanism needs, or we are in a cgroup namespace
  });
  after(function () {
    env?.close();
    removeMade(made);
  });
  const move = (name: string, rel: string, pid: number) => moveTo(made, name, rel, pid);

  if (mech.reader !== 'iter') it('struct crib_cgroup, crib_cgroup_hier, crib_cgroup_ctx and crib_cgroup_tree match the BTF of cgroup.bpf.o', function () {
    const btf = loadBtf('cgroup.bpf.o');
    for (const l of [CGROUP, CGROUP_HIER, CGROUP_CTX, CGROUP_TREE]) checkLayout(btf, 'cgroup.bpf.o', l);
  });

  it('agrees with /proc/PID/cgroup for this process', function () {
    assert.strictEqual(decode(ops().read(env.id, process.pid, caller())), fromProc(process.pid));
  });

  it('agrees with /proc/PID/cgroup for a task moved into nested cgroups of a v1 hierarchy and of the v2 one, and for its thread', async function () {
    const [pid, tid] = await sleeper(env.kids);
    const tag = `crib-test-${process.pid}`;
    const v1 = move('pids', `${tag}/a/b`, pid);
    const v2 = move('', `${tag}/c`, pid);
    if (!v1 && !v2) this.skip();
    const want = fromProc(pid);
    if (v1) assert.match(want, new RegExp(`:pids:/${tag}/a/b$`, 'm'));
    if (v2) assert.match(want, new RegExp(`^0::/${tag}/c$`, 'm'));
    assert.strictEqual(decode(ops().read(env.id, pid, caller())), want);
    assert.strictEqual(decode(ops().read(env.id, tid, caller())), fs.readFileSync(`/proc/${pid}/task/${tid}/cgroup`, 'utf8'));
  });

  it('a zombie whose v2 cgroup is gone: " (deleted)" as /proc says; a pid that is no task is NoSuchTaskError', async function () {
    const [pid] = await sleeper(env.kids);
    const tag = `crib-test-${process.pid}-z`;
    const dir = move('', tag, pid);
    if (!dir) this.skip();
    // the sleeper's parent is node, which reaps it: stop reaping by holding it as a zombie through a python parent instead
    const k = spawn('python3', ['-c', `import os, time\npid = os.fork()\nif pid == 0:\n    time.sleep(60)\n    os._exit(0)\nopen('${dir}/cgroup.procs', 'w').write('%d\\n' % pid)\nos.write(1, b'%d\\n' % pid)\ntime.sleep(60)`], { stdio: ['ignore', 'pipe', 'ignore'] });
    env.kids.push(k);
    const z = await new Promise<number>((resolve) => k.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    process.kill(pid, 'SIGKILL');
    process.kill(z, 'SIGKILL');
    for (let i = 0; i < 200 && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${z}/status`, 'utf8')); i++) spawnSyncSleep();
    for (let i = 0; i < 200; i++) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch {
        spawnSyncSleep(); // the sleeper is still being reaped
      }
    }
    made.splice(made.indexOf(dir), 1);
    const want = fromProc(z);
    assert.match(want, new RegExp(`^0::/${tag} \\(deleted\\)$`, 'm'));
    assert.strictEqual(decode(ops().read(env.id, z, caller())), want);
    assert.throws(() => ops().read(env.id, 0x3ffffff0, caller()), NoSuchTaskError);
  });

  it('refuses a caller in another cgroup namespace (paths there are named from its own roots)', function () {
    const other = { ...caller(), cgroupNs: 4026532999 };
    const s = ops().support(other).find((o) => o.id === env.id)!;
    assert.strictEqual(s.available, false);
    assert.match(s.reason!, /initial cgroup namespace/);
    assert.throws(() => ops().read(env.id, process.pid, other), UnsupportedError);
  });
});

/** A 10 ms pause, synchronously (Atomics.wait on a private buffer) */
function spawnSyncSleep(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
}

describe('op cgroup (ops/cgroup), the tree pass (crib_cgroup_tree)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const made: string[] = [];

  before(function () {
    env = folderOpEnv('cgroup');
    if (env.collector.programStatus(cgroup.treeProgram!) !== true) this.skip(); // < 6.2
  });
  after(function () {
    env?.close();
    removeMade(made);
  });

  // the pass keeps the css_set it walked last: runs of tasks that share one, and tasks that do not, in turn
  it('agrees with /proc/PID/cgroup for every task of a run longer than one pass, tasks of the same and of other cgroups in turn', async function () {
    const [a] = await sleeper(env.kids);
    const [b] = await sleeper(env.kids);
    const tag = `crib-test-${process.pid}-tree`;
    const moved = [moveTo(made, '', `${tag}/b`, b), moveTo(made, 'pids', `${tag}/b`, b)];
    if (moved.every((d) => !d)) this.skip();
    assert.notStrictEqual(fromProc(b), fromProc(a));
    const turn = [process.pid, a, a, b, b, b, a, process.pid, b];
    const pids = Array.from({ length: TREE_MAX + 3 }, (_, i) => turn[i % turn.length]);
    pids[5] = 0x3ffffff0;
    let n = 0;
    env.ops.readTree(env.id, pids, env.caller(), (p, rec, err) => {
      n++;
      if (p === 0x3ffffff0) assert.strictEqual(err, -3);
      else assert.strictEqual(decode(rec!), fromProc(p), `pid ${p}`);
    });
    assert.strictEqual(n, pids.length);
  });
});
