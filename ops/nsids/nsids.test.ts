// Op nsids: its record against the object's BTF and nsids.h, and its
// answers against the inodes of /proc/PID/ns/* on live processes, one of
// them in namespaces of its own, for each mechanism and the tree pass.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { TREE_MAX } from '../../engine-ts/src/bpf/records';
import { readRegistry } from '../../engine-ts/src/engine/ops';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { folderOpEnv, FolderOpEnv } from '../../test/bpf/folder';
import { root } from '../../test/helpers';
import { NS_FILES, NS_NR, NSIDS, NSIDS_CTX, NSIDS_TREE, op as nsids } from './nsids';

/** What /proc says: the inode of each /proc/PID/ns/ file, 0 where there is none */
function fromProc(pid: number): number[] {
  return NS_FILES.map((n) => {
    try {
      return fs.statSync(`/proc/${pid}/ns/${n}`).ino;
    } catch {
      return 0;
    }
  });
}

const id = readRegistry().find((e) => e.name === 'nsids')!.id;

function decode(bytes: Uint8Array): number[] {
  const type = loadProto().root.lookupType('crib.NsIds');
  return (type.toObject(type.decode(bytes.slice())) as { kid: number[] }).kid.map((x) => x >>> 0);
}

/** A sleeper in new ipc, uts, net, mount, pid, cgroup and time namespaces (unshare execs it, forked into the pid namespace) */
async function nsSleeper(kids: ChildProcess[]): Promise<number> {
  const k = spawn('unshare', ['--ipc', '--uts', '--net', '--mount', '--cgroup', '--time', '--pid', '--fork', 'sleep', '60'], { stdio: 'ignore' });
  kids.push(k);
  // the sleeper is unshare's child
  for (let i = 0; i < 100; i++) {
    const c = fs.existsSync(`/proc/${k.pid}/task/${k.pid}/children`) ? fs.readFileSync(`/proc/${k.pid}/task/${k.pid}/children`, 'utf8').trim() : '';
    if (c && /^sleep/.test(fs.readFileSync(`/proc/${Number(c)}/comm`, 'utf8'))) return Number(c);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the sleeper in new namespaces did not start');
}

for (const mech of nsids.mechanisms) describe(`op nsids (ops/nsids), mechanism ${mech.mechanism}`, function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('nsids', mech); // this mechanism only
    if (!ops().support(caller()).find((o) => o.id === id)?.available) this.skip(); // checked in the taskmisc tests: the same kernel facilities
  });
  after(function () {
    env?.close();
  });

  if (mech.reader !== 'iter') it('struct crib_nsids, crib_nsids_ctx and crib_nsids_tree match the BTF of nsids.bpf.o, and CRIB_NS_* are enum cr_eng_ns', function () {
    const btf = loadBtf('nsids.bpf.o');
    for (const l of [NSIDS, NSIDS_CTX, NSIDS_TREE]) checkLayout(btf, 'nsids.bpf.o', l);
    const h = fs.readFileSync(path.join(root, 'ops', 'nsids', 'nsids.h'), 'utf8');
    const eng = fs.readFileSync(path.join(root, 'criu-patches', 'include', 'criu-engine.h'), 'utf8');
    const m = /enum cr_eng_ns \{([\s\S]*?)\};/.exec(eng);
    assert.ok(m, 'enum cr_eng_ns');
    const names = [...m[1].matchAll(/CR_ENG_NS_(\w+),/g)].map((x) => x[1]).filter((x) => !x.startsWith('_'));
    assert.deepStrictEqual(names, NS_FILES.map((n) => n.toUpperCase()), 'enum cr_eng_ns is NS_FILES');
    names.forEach((n, i) => assert.match(h, new RegExp(`#define CRIB_NS_${n}\\s+${i}\\b`), `CRIB_NS_${n}`));
    assert.match(h, new RegExp(`#define CRIB_NS_NR\\s+${NS_NR}\\b`));
  });

  it('agrees with /proc/PID/ns for this process', function () {
    assert.deepStrictEqual(decode(ops().read(id, process.pid, caller())), fromProc(process.pid));
  });

  it('agrees with /proc/PID/ns for a process in namespaces of its own', async function () {
    const pid = await nsSleeper(env.kids);
    const want = fromProc(pid);
    assert.notDeepStrictEqual(want.slice(0, 5), fromProc(process.pid).slice(0, 5), 'the sleeper has namespaces of its own');
    assert.deepStrictEqual(decode(ops().read(id, pid, caller())), want);
  });

  it('a pid that is no task is NoSuchTaskError', function () {
    assert.throws(() => ops().read(id, 0x3ffffff0, caller()), NoSuchTaskError);
  });
});

describe('op nsids (ops/nsids), the tree pass (crib_nsids_tree)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('nsids');
    if (env.collector.programStatus(nsids.treeProgram!) !== true) this.skip(); // < 6.2
  });
  after(function () {
    env?.close();
  });

  it('agrees with /proc/PID/ns for every task of a run longer than one pass, and says -ESRCH for a pid that is no task', async function () {
    const other = await nsSleeper(env.kids);
    const live = [process.pid, other];
    const pids = Array.from({ length: TREE_MAX + 3 }, (_, i) => live[i % 2]);
    pids[5] = 0x3ffffff0;
    let n = 0;
    ops().readTree(id, pids, caller(), (pid, rec, err) => {
      n++;
      if (pid === 0x3ffffff0) assert.strictEqual(err, -3);
      else assert.deepStrictEqual(decode(rec!), fromProc(pid), `pid ${pid}`);
    });
    assert.strictEqual(n, pids.length);
  });
});
