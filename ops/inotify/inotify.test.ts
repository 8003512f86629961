// Op inotify: its records against the object's BTF, and its answers
// against /proc/PID/fdinfo on live processes: every inotify fd of a task
// and its watches in the kernel's order, each with its file handle (ext4,
// tmpfs, devtmpfs, procfs, sysfs: every encoding the engine knows), with
// IN_ONESHOT and IN_EXCL_UNLINK; a tmpfs inode whose handle only the
// fdinfo read can make usable; an inotify fd without watches; one with
// more watches than a record holds; no other fd; a task without inotify
// fds, a zombie, no task; a child that shares its parent's.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { tmpdir } from '../../test/helpers';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { countStreams, fdsOf, folderOpEnv, FolderOpEnv, pyHolder, zombie } from '../../test/bpf/folder';
import { INOTIFY, INOTIFY_WD, MAX_WDS } from './inotify';

interface Watch {
  wd: number;
  mask: number;
  ino: string;
  sdev: number;
  ignoredMask: number;
  fhType: number;
  fh: string;
}
interface InotifyFd {
  fd: number;
  all: boolean;
  wd: Watch[];
}

function decode(bytes: Uint8Array): InotifyFd[] {
  const type = loadProto().root.lookupType('crib.Inotify');
  const m = type.toObject(type.decode(bytes.slice()), { longs: String, bytes: String, defaults: true }) as { fd: (Omit<InotifyFd, 'wd'> & { wd: (Omit<Watch, 'fh'> & { fh: string })[] })[] };
  // bytes come as base64; /proc prints hex
  return m.fd.map((f) => ({ ...f, wd: f.wd.map((w) => ({ ...w, fh: Buffer.from(w.fh, 'base64').toString('hex') })) }));
}

/** What /proc/PID/fdinfo says of each inotify fd of @pid: its "inotify wd:" lines */
function fromProc(pid: number): InotifyFd[] {
  const out: InotifyFd[] = [];
  for (const { fd: n, info } of fdsOf(pid, (l) => l === 'anon_inode:inotify')) {
    const wd: Watch[] = [];
    const re = /^inotify wd:([0-9a-f]+) ino:([0-9a-f]+) sdev:([0-9a-f]+) mask:([0-9a-f]+) ignored_mask:([0-9a-f]+) fhandle-bytes:([0-9a-f]+) fhandle-type:([0-9a-f]+) f_handle:([0-9a-f]*)$/gm;
    for (const m of info.matchAll(re)) {
      const hex = (i: number) => parseInt(m[i], 16);
      assert.strictEqual(m[8].length, 2 * hex(6), `pid ${pid} fd ${n}: fhandle-bytes against f_handle`);
      wd.push({ wd: hex(1), mask: hex(4), ino: BigInt(`0x${m[2]}`).toString(), sdev: hex(3), ignoredMask: hex(5), fhType: hex(7), fh: m[8] });
    }
    assert.strictEqual(wd.length, (info.match(/^inotify wd:/gm) ?? []).length, `pid ${pid} fd ${n}: a watch line the test does not parse`);
    out.push({ fd: n, all: true, wd });
  }
  return out;
}

/** The file system type of the mount whose device is @sdev (the kernel's encoding, major << 20 | minor), as mountinfo names it */
function fsTypeOfDev(sdev: number): string | undefined {
  const dev = `${sdev >>> 20}:${sdev & 0xfffff}`;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f[2] === dev) return f[f.indexOf('-') + 1];
  }
  return undefined;
}

/**
 * Whether the engine encodes the handle of @w, whose inode /proc has just
 * encoded (which hashes a tmpfs inode): ext2/3/4, tmpfs and devtmpfs, and
 * a file system without export operations where the kernel has 64-bit
 * inode fids (type 0x81).  Elsewhere (9p, the root of a qemu guest) the
 * engine leaves the fd to the fdinfo.
 */
function encodable(w: Watch): boolean {
  return w.fhType === 0x81 || ['ext2', 'ext3', 'ext4', 'tmpfs', 'devtmpfs'].includes(fsTypeOfDev(w.sdev) ?? '');
}

/**
 * @got (the engine's) against @want (/proc's, read first): the same fds
 * and watches; an fd with more than a record holds, or with a watch the
 * engine cannot encode, says so and lists none.
 */
function agree(got: InotifyFd[], want: InotifyFd[], who: string): void {
  assert.deepStrictEqual(got.map((f) => f.fd), want.map((f) => f.fd), `${who}: the inotify fds`);
  got.forEach((g, i) => {
    if (want[i].wd.length > MAX_WDS || !want[i].wd.every(encodable)) {
      return assert.deepStrictEqual(g, { fd: g.fd, all: false, wd: [] }, `${who}: fd ${g.fd}: ${want[i].wd.length} watches, on ${[...new Set(want[i].wd.map((w) => fsTypeOfDev(w.sdev)))].join(', ')}`);
    }
    assert.deepStrictEqual(g, want[i], `${who}: fd ${g.fd}`);
  });
}

/**
 * A python process with inotify fds: one watching a directory and a file
 * of @dir (ext4 here; IN_EXCL_UNLINK, IN_ONESHOT), /dev/shm (tmpfs), /dev
 * (devtmpfs), /proc/self and /sys/kernel; an empty one; and one with
 * @many watches of files in @dir; @fork: and a child that shares them.
 * Its pid (and the child's).
 */
async function holder(kids: ChildProcess[], dir: string, many = 0, fork = false): Promise<number[]> {
  const script = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1]
IN_MODIFY, IN_ATTRIB, IN_CREATE, IN_DELETE, IN_EXCL_UNLINK, IN_ONESHOT = 0x2, 0x4, 0x100, 0x200, 0x04000000, 0x80000000
def watch(fd, path, mask):
    assert libc.inotify_add_watch(fd, path.encode(), mask) > 0, (path, ctypes.get_errno())
open(os.path.join(d, 'f'), 'w').close()
a = libc.inotify_init1(0)
watch(a, d, IN_CREATE | IN_DELETE | IN_EXCL_UNLINK)
watch(a, os.path.join(d, 'f'), IN_MODIFY | IN_ONESHOT)
watch(a, '/dev/shm', 0xfff)
watch(a, '/dev', IN_ATTRIB)
watch(a, '/proc/self', IN_ATTRIB)
watch(a, '/sys/kernel', IN_ATTRIB)
empty = libc.inotify_init1(os.O_NONBLOCK)
if ${many}:
    big = libc.inotify_init1(0)
    for i in range(${many}):
        p = os.path.join(d, 'm%d' % i)
        open(p, 'w').close()
        watch(big, p, IN_MODIFY)
report(len(sys.argv) > 2)
`;
  return pyHolder(kids, script, [dir, ...(fork ? ['fork'] : [])]);
}

describe('op inotify (ops/inotify)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('inotify');
    if (!ops().support(caller()).find((o) => o.id === env.id)?.available) this.skip(); // no BTF iterators
  });
  after(() => env?.close());

  it('struct crib_inotify and crib_inotify_wd match the BTF of inotify.bpf.o', function () {
    const btf = loadBtf('inotify.bpf.o');
    checkLayout(btf, 'inotify.bpf.o', INOTIFY);
    checkLayout(btf, 'inotify.bpf.o', INOTIFY_WD);
  });

  it('agrees with /proc/PID/fdinfo: each inotify fd and its watches, in order, with their handles; no other fd', async function () {
    const [pid] = await holder(env.kids, tmpdir('inotify'));
    const want = fromProc(pid);
    assert.deepStrictEqual(want.map((f) => f.wd.length), [6, 0], 'the holder as /proc shows it: 6 watches, an empty inotify fd');
    // every encoding the engine knows, where this machine has it: tmpfs always; ext4 where the test
    // directory is on it (a qemu guest's is a tmpfs); 64-bit inode fids from 6.7
    const encodings = new Set(want[0].wd.map((w) => `${w.fhType}/${w.fh.length / 2}`));
    assert.ok(encodings.has('1/12'), 'the holder watches tmpfs files');
    if (want[0].wd.some((w) => fsTypeOfDev(w.sdev) === 'ext4')) assert.ok(encodings.has('1/8'), 'an ext4 file has an 8-byte handle');
    const got = decode(ops().read(env.id, pid, caller()));
    agree(got, want, `pid ${pid}`);
    if (want[0].wd.every(encodable)) assert.deepStrictEqual(got.map((f) => f.all), [true, true]);
  });

  it(`an inotify fd with more than ${MAX_WDS} watches: not all, and none listed`, async function () {
    const [pid] = await holder(env.kids, tmpdir('inotify-many'), MAX_WDS + 10);
    const want = fromProc(pid);
    assert.strictEqual(want[2].wd.length, MAX_WDS + 10);
    agree(decode(ops().read(env.id, pid, caller())), want, `pid ${pid}`);
  });

  it('a tmpfs inode not yet in the inode hash: not all (CRIU reads the fdinfo, which hashes it); then its handle', async function () {
    // shmem_encode_fh() hashes the inode it encodes, so that open_by_handle_at() finds it: a fresh
    // tmpfs file is unhashed until something encodes its handle, and the engine cannot
    const file = `/dev/shm/crib-inotify-${process.pid}`;
    fs.writeFileSync(file, '');
    try {
      const k = spawn('python3', ['-c', `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a = libc.inotify_init1(0)
assert libc.inotify_add_watch(a, sys.argv[1].encode(), 2) > 0
print(os.getpid(), flush=True)
time.sleep(60)
`, file], { stdio: ['ignore', 'pipe', 'inherit'] });
      env.kids.push(k);
      const pid = await new Promise<number>((resolve, reject) => {
        k.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        k.once('exit', (c) => reject(new Error(`the holder exited (${c})`)));
      });
      const before = decode(ops().read(env.id, pid, caller()));
      assert.deepStrictEqual(before.map((f) => ({ all: f.all, n: f.wd.length })), [{ all: false, n: 0 }], 'an unhashed tmpfs inode: left to the fdinfo');
      const want = fromProc(pid);
      assert.strictEqual(want[0].wd[0].fh.length, 24, 'the fdinfo gave its 12-byte handle');
      agree(decode(ops().read(env.id, pid, caller())), want, `pid ${pid}, its inode hashed by the fdinfo read`);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('a task without inotify fds and a zombie have none; a pid that is no task is NoSuchTaskError', async function () {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    env.kids.push(sleeper);
    const z = await zombie(env.kids);
    assert.deepStrictEqual(decode(ops().read(env.id, sleeper.pid!, caller())), []);
    assert.deepStrictEqual(decode(ops().read(env.id, z, caller())), []);
    assert.throws(() => ops().read(env.id, 0x3ffffff0, caller()), NoSuchTaskError);
  });

  it('a child shares its parent\'s; each task is read by itself, not in prepare()', async function () {
    assert.strictEqual(ops().treeOps(caller()).includes(env.id), false, 'inotify is not read for the whole tree');
    const [a, child] = await holder(env.kids, tmpdir('inotify-fork'), 0, true);
    const calls = countStreams(env.collector, () => {
      // /proc first: its read hashes a tmpfs inode (a qemu guest's test directory), which the engine needs
      for (const p of [a, child]) {
        const want = fromProc(p);
        agree(decode(ops().read(env.id, p, caller())), want, `pid ${p}`);
      }
    });
    assert.deepStrictEqual(calls, { all: 0, one: [a, child] });
    assert.strictEqual(fromProc(child).length, 2, 'the child shares its parent\'s');
  });
});
