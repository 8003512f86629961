// Op fanotify: its records against the object's BTF, and its answers
// against /proc/PID/fdinfo on live processes: every fanotify fd of a task,
// its group's flags and its inode and mount marks in the kernel's order
// (an inode mark with its handle, one with an ignore mask that survives
// modify, a mount mark; a filesystem mark, which CRIU does not read and
// the engine does not list); an fd without marks; one whose mark the
// engine cannot give a handle (left to the fdinfo); no other fd; a task
// without fanotify fds, a zombie, no task; a child that shares its
// parent's.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { tmpdir } from '../../test/helpers';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { countStreams, fdsOf, folderOpEnv, FolderOpEnv, pyHolder, zombie } from '../../test/bpf/folder';
import { FANOTIFY, FANOTIFY_MARK, MARK_INODE, MARK_MOUNT } from './fanotify';

interface Mark {
  type: number;
  mflags: number;
  mask: number;
  ignoredMask: number;
  ino?: string;
  sdev?: number;
  fhType?: number;
  fh?: string;
  mntId?: number;
}
interface FanotifyFd {
  fd: number;
  faFlags: number;
  evFlags: number;
  all: boolean;
  mark: Mark[];
}

function decode(bytes: Uint8Array): FanotifyFd[] {
  const type = loadProto().root.lookupType('crib.Fanotify');
  const m = type.toObject(type.decode(bytes.slice()), { longs: String, bytes: String, defaults: false }) as { fd?: (Omit<FanotifyFd, 'mark'> & { mark?: Mark[] })[] };
  return (m.fd ?? []).map((f) => ({
    fd: f.fd,
    faFlags: f.faFlags ?? 0,
    evFlags: f.evFlags ?? 0,
    all: f.all ?? false,
    // proto2 leaves an absent 0 out; /proc prints it
    mark: (f.mark ?? []).map((k) => Object.assign({ mflags: 0, mask: 0, ignoredMask: 0 }, k, k.fh !== undefined ? { fh: Buffer.from(k.fh, 'base64').toString('hex') } : {})),
  }));
}

/** What /proc/PID/fdinfo says of each fanotify fd of @pid: its flags and its inode and mount marks (CRIU reads no others) */
function fromProc(pid: number): FanotifyFd[] {
  const out: FanotifyFd[] = [];
  for (const { fd: n, info } of fdsOf(pid, (l) => l === 'anon_inode:[fanotify]')) {
    const [, faFlags, evFlags] = /^fanotify flags:([0-9a-f]+) event-flags:([0-9a-f]+)$/m.exec(info)!;
    const mark: Mark[] = [];
    for (const line of info.split('\n').filter((l) => /^fanotify (ino|mnt_id):/.test(l))) {
      const f = Object.fromEntries([...line.matchAll(/(\S+?):(\S*)/g)].map((m) => [m[1], m[2]]));
      const hex = (k: string) => parseInt(f[k], 16);
      const common = { mflags: hex('mflags'), mask: hex('mask'), ignoredMask: hex('ignored_mask') };
      if (f.mnt_id !== undefined) mark.push({ type: MARK_MOUNT, ...common, mntId: hex('mnt_id') });
      else mark.push({ type: MARK_INODE, ...common, ino: BigInt(`0x${f.ino}`).toString(), sdev: hex('sdev'), fhType: hex('fhandle-type'), fh: f.f_handle });
    }
    out.push({ fd: n, faFlags: parseInt(faFlags, 16), evFlags: parseInt(evFlags, 16), all: true, mark });
  }
  return out;
}

/**
 * A python process with fanotify fds: one (FAN_CLASS_CONTENT, an unlimited
 * queue, O_LARGEFILE events) marking a directory of @dir (ext4 here) and a
 * file in it with an ignore mask that survives modify, /dev/shm's mount,
 * and /run's filesystem; one without marks; @unknown: one marking a fresh
 * tmpfs file, whose handle the engine cannot encode; @fork: and a child
 * that shares them.  Its pid (and the child's).
 */
async function holder(kids: ChildProcess[], dir: string, opts: { unknown?: string; fork?: boolean } = {}): Promise<number[]> {
  const script = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]
d, unknown, fork = sys.argv[1], sys.argv[2], sys.argv[3] == 'fork'
FAN_CLASS_CONTENT, FAN_UNLIMITED_QUEUE = 0x4, 0x10
ADD, MOUNT, FILESYSTEM, IGNORED_MASK, IGNORED_SURV_MODIFY = 0x1, 0x10, 0x100, 0x20, 0x40
FAN_MODIFY, FAN_CLOSE_WRITE, FAN_OPEN = 0x2, 0x8, 0x20
def mark(fd, flags, mask, path):
    assert libc.fanotify_mark(fd, flags, mask, -100, path.encode()) == 0, (path, ctypes.get_errno())
open(os.path.join(d, 'f'), 'w').close()
a = libc.fanotify_init(FAN_CLASS_CONTENT | FAN_UNLIMITED_QUEUE, os.O_RDONLY | os.O_LARGEFILE)
assert a >= 0, ctypes.get_errno()
mark(a, ADD, FAN_MODIFY, d)
mark(a, ADD | IGNORED_MASK | IGNORED_SURV_MODIFY, FAN_OPEN, os.path.join(d, 'f'))
mark(a, ADD | MOUNT, FAN_OPEN | FAN_CLOSE_WRITE, '/dev/shm')
mark(a, ADD | FILESYSTEM, FAN_MODIFY, '/run')
empty = libc.fanotify_init(0, os.O_RDWR)
assert empty >= 0
if unknown:
    u = libc.fanotify_init(0, os.O_RDONLY)
    mark(u, ADD, FAN_MODIFY, unknown)
report(fork)
`;
  return pyHolder(kids, script, [dir, opts.unknown ?? '', opts.fork ? 'fork' : '']);
}

describe('op fanotify (ops/fanotify)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('fanotify');
    if (!ops().support(caller()).find((o) => o.id === env.id)?.available) this.skip(); // no BTF iterators
  });
  after(() => env?.close());

  it('struct crib_fanotify and crib_fanotify_mark match the BTF of fanotify.bpf.o', function () {
    const btf = loadBtf('fanotify.bpf.o');
    checkLayout(btf, 'fanotify.bpf.o', FANOTIFY);
    checkLayout(btf, 'fanotify.bpf.o', FANOTIFY_MARK);
  });

  it('agrees with /proc/PID/fdinfo: each fanotify fd, its flags and its inode and mount marks in order; no other fd', async function () {
    const [pid] = await holder(env.kids, tmpdir('fanotify'));
    const want = fromProc(pid);
    assert.deepStrictEqual(want.map((f) => f.mark.map((k) => k.type)), [[MARK_MOUNT, MARK_INODE, MARK_INODE], []], 'the holder as /proc shows it');
    assert.ok(/^fanotify sdev:/m.test(fs.readFileSync(`/proc/${pid}/fdinfo/${want[0].fd}`, 'utf8')), 'the holder has a filesystem mark too');
    assert.ok(want[0].mark.some((k) => k.mflags && k.ignoredMask), 'the holder has an ignore mask that survives modify');
    assert.deepStrictEqual(decode(ops().read(env.id, pid, caller())), want);
  });

  it('an fd with a mark whose handle the engine cannot encode (a fresh tmpfs file): its flags, not all, no marks', async function () {
    const file = `/dev/shm/crib-fanotify-${process.pid}`;
    fs.writeFileSync(file, '');
    try {
      const [pid] = await holder(env.kids, tmpdir('fanotify-unknown'), { unknown: file });
      // the first two fds' fdinfo read first: where the test directory is a tmpfs (a qemu guest), that
      // puts their marked inodes in the inode hash; the third's stays out until the engine has read it
      let seen = 0;
      assert.strictEqual(fdsOf(pid, (l) => l === 'anon_inode:[fanotify]' && seen++ < 2).length, 2);
      const got = decode(ops().read(env.id, pid, caller()));
      const want = fromProc(pid);
      assert.strictEqual(got.length, 3);
      assert.deepStrictEqual(got.slice(0, 2), want.slice(0, 2));
      assert.deepStrictEqual(got[2], { ...want[2], all: false, mark: [] });
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('a task without fanotify fds and a zombie have none; a pid that is no task is NoSuchTaskError', async function () {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    env.kids.push(sleeper);
    const z = await zombie(env.kids);
    assert.deepStrictEqual(decode(ops().read(env.id, sleeper.pid!, caller())), []);
    assert.deepStrictEqual(decode(ops().read(env.id, z, caller())), []);
    assert.throws(() => ops().read(env.id, 0x3ffffff0, caller()), NoSuchTaskError);
  });

  it('a child shares its parent\'s; each task is read by itself, not in prepare()', async function () {
    assert.strictEqual(ops().treeOps(caller()).includes(env.id), false, 'fanotify is not read for the whole tree');
    const [a, child] = await holder(env.kids, tmpdir('fanotify-fork'), { fork: true });
    const calls = countStreams(env.collector, () => {
      // /proc first: its read hashes a tmpfs inode (a qemu guest's test directory), which the engine needs
      for (const p of [a, child]) {
        const want = fromProc(p);
        assert.deepStrictEqual(decode(ops().read(env.id, p, caller())), want, `pid ${p}`);
      }
    });
    assert.deepStrictEqual(calls, { all: 0, one: [a, child] });
    assert.strictEqual(fromProc(child).length, 2, 'the child shares its parent\'s');
  });
});
