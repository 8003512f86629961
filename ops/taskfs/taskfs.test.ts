// Op taskfs: its record against the object's BTF, and its answers against
// /proc/PID/{exe,cwd,root} (readlink, stat, statfs, the mount of fdinfo)
// on live processes: this one, one in a deleted directory, a chrooted one
// (its root is above the engine's root: no path); a zombie (no files); a
// tree in one read, and in the pass of every per-task op (bpf/pertask.bpf.c);
// a caller with another root is refused.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { root } from '../../test/helpers';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { WANT_BYTES } from '../../engine-ts/src/engine/ops';
import { NoSuchTaskError, UnsupportedError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { countStreams, folderOpEnv, FolderOpEnv, superMagic, zombie } from '../../test/bpf/folder';
import { FILES, op, ROOM, TASKFS, TASKFS_FILE, TASKFS_TREE_REC } from './taskfs';

interface File {
  mode: number;
  ino: number;
  devMajor: number;
  devMinor: number;
  mntId: number;
  magic: number;
  path?: string;
  err?: number;
}
type TaskFs = Record<(typeof FILES)[number], File>;

function decode(bytes: Uint8Array): TaskFs {
  const type = loadProto().root.lookupType('crib.TaskFs');
  const m = type.toObject(type.decode(bytes.slice()), { longs: Number, bytes: String }) as Record<string, File & { path?: string }>;
  const out = {} as TaskFs;
  for (const f of FILES) out[f] = { ...m[f], path: m[f].path === undefined ? undefined : Buffer.from(m[f].path!, 'base64').toString('latin1') };
  return out;
}

/** What /proc says of @pid's exe, cwd and root (opened as CRIU opens them: O_PATH) */
function fromProc(pid: number): Partial<TaskFs> {
  const out: Partial<TaskFs> = {};
  for (const f of FILES) {
    const link = `/proc/${pid}/${f}`;
    let fd: number;
    try {
      fd = fs.openSync(link, 0o10000000 /* O_PATH */);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    try {
      const st = fs.fstatSync(fd, { bigint: true });
      const dev = Number(st.dev);
      const mnt = Number(/^mnt_id:\s+(\d+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]);
      out[f] = {
        mode: Number(st.mode),
        ino: Number(st.ino),
        devMajor: ((dev >>> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff),
        devMinor: (dev & 0xff) | ((dev >>> 12) & ~0xff),
        mntId: mnt,
        magic: superMagic(mnt, Number(fs.statfsSync(`/proc/self/fd/${fd}`, { bigint: true }).type)),
        path: fs.readlinkSync(link, { encoding: 'buffer' }).toString('latin1'),
      };
    } finally {
      fs.closeSync(fd);
    }
  }
  return out;
}

function same(got: TaskFs, want: Partial<TaskFs>, who: string, noPath: string[] = []): void {
  for (const f of FILES) {
    const w = want[f];
    if (!w) {
      assert.strictEqual(got[f].err, -2, `${who} ${f}: no such file`);
      continue;
    }
    for (const k of ['mode', 'ino', 'devMajor', 'devMinor', 'mntId', 'magic'] as const) assert.strictEqual(got[f][k], w[k], `${who} ${f} (${w.path}): ${k}`);
    if (noPath.includes(f)) assert.ok(got[f].err && got[f].err! < 0 && got[f].path === undefined, `${who} ${f}: no path (${w.path} is not below the engine's root)`);
    else assert.strictEqual(got[f].path, w.path, `${who} ${f}: path`);
  }
}

describe('op taskfs (ops/taskfs)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  let dir: string;
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('taskfs');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crib-taskfs-'));
    if (!ops().support(caller()).find((o) => o.id === env.id)?.available) this.skip(); // no iterators here
  });
  after(function () {
    env?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('struct crib_taskfs and crib_taskfs_file match the BTF of taskfs.bpf.o; map want is WANT_BYTES, as crib.so writes it', function () {
    const btf = loadBtf('taskfs.bpf.o');
    for (const l of [TASKFS, TASKFS_FILE]) checkLayout(btf, 'taskfs.bpf.o', l);
    const w = [...btf.values()].find((t) => t.kind === 'STRUCT' && t.name === 'crib_want');
    assert.strictEqual(w?.size, WANT_BYTES);
    // plugin/direct.c's copy of CRIB_WANT_PID_LIMIT (crib_want.h is BPF-only): it refuses a map of another size
    const m = /#define WANT_PID_LIMIT \((\d+)u << (\d+)\)/.exec(fs.readFileSync(path.join(root, 'plugin', 'direct.c'), 'utf8'));
    assert.ok(m, 'plugin/direct.c: no WANT_PID_LIMIT');
    assert.strictEqual((Number(m[1]) << Number(m[2])) / 8, WANT_BYTES);
  });

  it('agrees with /proc/PID/{exe,cwd,root} for this process and a sleeper in a deleted directory', async function () {
    same(decode(ops().read(env.id, process.pid, caller())), fromProc(process.pid), 'this process');
    const gone = fs.mkdtempSync(path.join(dir, 'gone '));
    const k = spawn('sleep', ['60'], { cwd: gone, stdio: 'ignore' });
    env.kids.push(k);
    await new Promise((r) => k.once('spawn', r));
    for (let i = 0; i < 100 && !/^sleep/.test(fs.readFileSync(`/proc/${k.pid}/comm`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 10));
    fs.rmdirSync(gone);
    const want = fromProc(k.pid!);
    assert.match(want.cwd!.path!, / \(deleted\)$/);
    same(decode(ops().read(env.id, k.pid!, caller())), want, `sleeper ${k.pid}`);
  });

  it('a chrooted task: its root and cwd are named as readlink() names them, or not at all', async function () {
    const p = spawn('python3', ['-c', `import os,sys,time; os.chdir(${JSON.stringify(dir)}); os.chroot('.'); print('ok', flush=True); time.sleep(60)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    env.kids.push(p);
    await new Promise((r) => p.stdout!.once('data', r));
    const want = fromProc(p.pid!);
    assert.strictEqual(want.root!.path, dir);
    same(decode(ops().read(env.id, p.pid!, caller())), want, `chrooted ${p.pid}`);
  });

  it('a zombie has none of the three; a pid that is no task is NoSuchTaskError', async function () {
    const z = await zombie(env.kids);
    same(decode(ops().read(env.id, z, caller())), {}, `zombie ${z}`);
    assert.throws(() => ops().read(env.id, 0x3ffff0, caller()), NoSuchTaskError);
  });

  it('reads a tree in one read of every task (prepare), and -ESRCH for a pid that is no task', async function () {
    // working directories that repeat and change from task to task (the program reuses a path walked for the task before)
    const sub = fs.mkdtempSync(path.join(dir, 'sub '));
    const gone = fs.mkdtempSync(path.join(dir, 'gone '));
    const kids: number[] = [];
    for (const cwd of [dir, dir, sub, gone, gone, dir, sub, sub]) {
      const k = spawn('sleep', ['60'], { cwd, stdio: 'ignore' });
      env.kids.push(k);
      await new Promise((r) => k.once('spawn', r));
      kids.push(k.pid!);
    }
    fs.rmdirSync(gone);
    await new Promise((r) => setTimeout(r, 100));
    const pids = [process.pid, ...kids, 0x3ffff0];
    const got = new Map<number, TaskFs | number>();
    const calls = countStreams(env.collector, () => ops().readTree(env.id, pids, caller(), (pid, rec, err) => got.set(pid, rec ? decode(rec) : err)));
    assert.deepStrictEqual(calls, { all: 1, one: [0x3ffff0] });
    for (const pid of pids.slice(0, -1)) same(got.get(pid) as TaskFs, fromProc(pid), `pid ${pid}`);
    assert.strictEqual(got.get(0x3ffff0), -3);
  });

  it('the pass of every per-task op (crib_pertask): what /proc says, a path without room is not named, the record matches the BTF', async function () {
    if (env.collector.programStatus(op.treePertask!) !== true) this.skip(); // < 6.2
    checkLayout(loadBtf('pertask.bpf.o'), 'pertask.bpf.o', TASKFS_TREE_REC);
    // the same working directories as the iterator's tree test, a zombie, and one whose path has more components than a room holds
    const sub = fs.mkdtempSync(path.join(dir, 'sub '));
    const gone = fs.mkdtempSync(path.join(dir, 'gone '));
    let deep = dir;
    while (deep.length - dir.length < ROOM + 40) deep = path.join(deep, 'a-directory-name');
    fs.mkdirSync(deep, { recursive: true });
    const kids: number[] = [];
    for (const cwd of [dir, dir, sub, gone, gone, deep, dir, sub, sub]) {
      const k = spawn('sleep', ['60'], { cwd, stdio: 'ignore' });
      env.kids.push(k);
      await new Promise((r) => k.once('spawn', r));
      kids.push(k.pid!);
    }
    fs.rmdirSync(gone);
    const z = await zombie(env.kids);
    await new Promise((r) => setTimeout(r, 100));
    const pids = [process.pid, ...kids, z, 0x3ffff0];
    const got = new Map<number, TaskFs | number>();
    ops().readTree(env.id, pids, caller(), (pid, rec, err) => got.set(pid, rec ? decode(rec) : err), 'pertask');
    for (const pid of [process.pid, ...kids]) {
      const want = fromProc(pid);
      same(got.get(pid) as TaskFs, want, `pid ${pid}`, want.cwd!.path === deep ? ['cwd'] : []);
    }
    assert.strictEqual((got.get(kids[5]) as TaskFs).cwd.err, -36, 'the deep cwd: ENAMETOOLONG, CRIU reads the link');
    same(got.get(z) as TaskFs, {}, `zombie ${z}`);
    assert.strictEqual(got.get(0x3ffff0), -3);
  });

  it("refuses a caller whose root is not the engine's", function () {
    const other = { ...caller(), root: `pid 1's root is ${dir} from the engine's` };
    assert.strictEqual(ops().support(other).find((o) => o.id === env.id)!.available, false);
    assert.throws(() => ops().read(env.id, process.pid, other), UnsupportedError);
  });
});
