// Op fdmeta: its record against the object's BTF, and its answers against
// /proc on live processes: the fd list of /proc/PID/fd, each path as
// readlink() of /proc/PID/fd/N gives it, each file's stat() and statfs()
// through that link (the superblock's magic: 9p's own, not the server's); a chrooted task, a zombie, no task; a caller with
// another root is refused.  File keys: one per open file of a read, shared
// by dups and across fork, as kcmp() would say; the path of a file named
// earlier in the read comes from that record.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError, UnsupportedError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { countStreams, folderOpEnv, FolderOpEnv, superMagic, zombie } from '../../test/bpf/folder';
import { FDMETA, op as fdmeta } from './fdmeta';

interface Fd {
  fd: number;
  mode: number;
  ino: number;
  devMajor: number;
  devMinor: number;
  magic: number;
  path?: Buffer;
  pathErr?: number;
}

function decode(bytes: Uint8Array): Fd[] {
  const type = loadProto().root.lookupType('crib.FdMeta');
  const m = type.toObject(type.decode(bytes.slice()), { longs: Number }) as { fd?: Fd[] };
  return m.fd ?? [];
}

/** What /proc says of each fd of @pid (the fds that are still open when each is looked at). */
function fromProc(pid: number): Fd[] {
  const dir = `/proc/${pid}/fd`;
  const out: Fd[] = [];
  for (const n of fs.readdirSync(dir).map(Number).sort((a, b) => a - b)) {
    const link = `${dir}/${n}`;
    let st: fs.BigIntStats, sfs: fs.BigIntStatsFs;
    try {
      st = fs.statSync(link, { bigint: true });
      sfs = fs.statfsSync(link, { bigint: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // closed since readdir (readdir's own fd)
      throw e;
    }
    const dev = Number(st.dev);
    out.push({
      fd: n,
      mode: Number(st.mode),
      ino: Number(st.ino),
      // glibc's gnu_dev_major/minor
      devMajor: ((dev >>> 8) & 0xfff) | Math.floor(dev / 2 ** 32) & ~0xfff,
      devMinor: (dev & 0xff) | ((dev >>> 12) & ~0xff),
      magic: superMagic(Number(/^mnt_id:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${n}`, 'utf8'))![1]), Number(sfs.type)),
      path: fs.readlinkSync(link, { encoding: 'buffer' }),
    });
  }
  return out;
}

function same(got: Fd[], want: Fd[], who: string): void {
  assert.deepStrictEqual(
    got.map((f) => f.fd),
    want.map((f) => f.fd),
    `${who}: the fds`,
  );
  got.forEach((g, i) => {
    const w = want[i];
    assert.ok(!g.pathErr, `${who}: fd ${g.fd}: path_err ${g.pathErr}`);
    assert.strictEqual(Buffer.from(g.path!).toString('latin1'), w.path!.toString('latin1'), `${who}: fd ${g.fd}: path`);
    for (const k of ['mode', 'ino', 'devMajor', 'devMinor', 'magic'] as const) assert.strictEqual(g[k], w[k], `${who}: fd ${g.fd} (${w.path}): ${k}`);
  });
}

/**
 * A python process holding files of many kinds: a regular file, one whose
 * name has a space, a newline and a byte that is not UTF-8, a deleted one,
 * a directory, /dev/null, a pipe, a socket pair, an eventfd, an epoll, a
 * memfd, an O_PATH fd, a pidfd (a file without a type in fstat()'s mode);
 * @chroot: in a chroot of its own, the paths then
 * as we see them.
 */
async function holder(kids: ChildProcess[], dir: string, chroot = false): Promise<number> {
  const script = `
import os, socket, select, sys, time
d = sys.argv[1]
keep = []
keep.append(os.open(os.path.join(d, 'plain'), os.O_RDWR | os.O_CREAT, 0o600))
keep.append(os.open(os.path.join(d.encode(), b'odd name\\n\\xff'), os.O_RDONLY | os.O_CREAT, 0o600))
gone = os.path.join(d, 'gone')
keep.append(os.open(gone, os.O_WRONLY | os.O_CREAT, 0o600)); os.unlink(gone)
keep.append(os.open(d, os.O_RDONLY | os.O_DIRECTORY))
keep.append(os.open('/dev/null', os.O_RDWR))
keep += list(os.pipe())
a, b = socket.socketpair(); keep += [a.detach(), b.detach()]
keep.append(os.eventfd(0))
ep = select.epoll(); keep.append(ep.fileno())
keep.append(os.memfd_create('crib-fdmeta'))
keep.append(os.open('/', os.O_PATH))
keep.append(os.pidfd_open(os.getpid()))
if len(sys.argv) > 2:
    os.chroot(d)
print('ready', flush=True)
time.sleep(60)
`;
  const k = spawn('python3', ['-c', script, dir, ...(chroot ? ['chroot'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  kids.push(k);
  await new Promise<void>((resolve, reject) => {
    k.stdout!.once('data', () => resolve());
    k.once('exit', (c) => reject(new Error(`the holder exited (${c})`)));
  });
  return k.pid!;
}

describe('op fdmeta (ops/fdmeta)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  let dir: string;
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('fdmeta');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crib-fdmeta-'));
    if (!ops().support(caller()).find((o) => o.id === env.id)?.available) this.skip(); // no BTF iterators
  });
  after(function () {
    env?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('struct crib_fdmeta matches the BTF of fdmeta.bpf.o', function () {
    checkLayout(loadBtf('fdmeta.bpf.o'), 'fdmeta.bpf.o', FDMETA);
  });

  it('agrees with /proc/PID/fd (readlink, stat, statfs) on files of every kind', async function () {
    const pid = await holder(env.kids, dir);
    const want = fromProc(pid);
    assert.ok(want.length >= 16, `the holder has ${want.length} fds`);
    assert.ok(want.some((f) => f.path!.toString('latin1').endsWith(' (deleted)')), 'a deleted file is among them');
    same(decode(ops().read(env.id, pid, caller())), want, `pid ${pid}`);
  });

  it('names the files of a chrooted task from the engine\'s root, as readlink() does for us', async function () {
    const pid = await holder(env.kids, dir, true);
    assert.strictEqual(fs.readlinkSync(`/proc/${pid}/root`), dir);
    same(decode(ops().read(env.id, pid, caller())), fromProc(pid), `chrooted pid ${pid}`);
  });

  it('agrees with /proc on this process (node: ~30 fds of its own)', function () {
    // the engine's own reads open no fd between the two looks: compare the stable ones
    const got = decode(ops().read(env.id, process.pid, caller()));
    const want = fromProc(process.pid);
    const fds = new Set(want.map((f) => f.fd));
    same(got.filter((f) => fds.has(f.fd)), want.filter((f) => got.some((g) => g.fd === f.fd)), 'this process');
  });

  it('a zombie has no fds; a pid that is no task is NoSuchTaskError', async function () {
    const z = await zombie(env.kids);
    assert.deepStrictEqual(fs.readdirSync(`/proc/${z}/fd`), []);
    assert.deepStrictEqual(decode(ops().read(env.id, z, caller())), []);
    assert.throws(() => ops().read(env.id, 0x3ffffff0, caller()), NoSuchTaskError);
  });

  it('reads a tree in one pass (prepare): each task as /proc says, a zombie empty, -ESRCH for a pid that is no task', async function () {
    const a = await holder(env.kids, dir);
    const b = await holder(env.kids, dir, true);
    const z = await zombie(env.kids);
    const nobody = 0x3ffff0;
    const got = new Map<number, Fd[] | number>();
    // one read of every task; only the two without records (the zombie, nobody) are read by themselves
    const calls = countStreams(env.collector, () => ops().readTree(env.id, [a, b, z, nobody], caller(), (pid, rec, err) => got.set(pid, rec ? decode(rec) : err)));
    assert.deepStrictEqual(calls, { all: 1, one: [z, nobody] });
    assert.deepStrictEqual([...got.keys()].sort(), [a, b, z, nobody].sort());
    same(got.get(a) as Fd[], fromProc(a), `pid ${a}`);
    same(got.get(b) as Fd[], fromProc(b), `chrooted pid ${b}`);
    assert.deepStrictEqual(got.get(z), []);
    assert.strictEqual(got.get(nobody), -3);
  });

  it('file keys: one per open file of a read, the same for dups and across fork, another for each open', async function () {
    // a: /dev/null three times, a dup of the first, a pipe; the child inherits them all and opens one more
    const script = `
import os, sys, time
n = [os.open('/dev/null', os.O_RDONLY) for i in range(3)]
d = os.dup(n[0])
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    own = os.open('/dev/null', os.O_RDONLY)
    os.write(1, b'own %d\\n' % own)
    time.sleep(60)
    os._exit(0)
os.write(1, ('ready %d %d %d %d %d %d %d\\n' % (pid, n[0], n[1], n[2], d, r, w)).encode())
time.sleep(60)
`;
    const k = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    env.kids.push(k);
    // both say when they are ready: the child's own open is not there when the parent's fork returns.
    // One write(2) a line: print() may write a line in pieces, which the other's line then splits.
    const lines: string[] = await new Promise((resolve, reject) => {
      let out = '';
      k.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const ls = out.split('\n').filter((l) => l);
        if (ls.some((l) => l.startsWith('ready')) && ls.some((l) => l.startsWith('own'))) resolve(ls);
      });
      k.once('exit', (c) => reject(new Error(`the holder exited (${c})`)));
    });
    const [, child, n0, n1, n2, d, r, w] = lines.find((l) => l.startsWith('ready'))!.split(' ').map(Number);
    const ownFd = Number(lines.find((l) => l.startsWith('own'))!.split(' ')[1]);
    const parent = k.pid!;
    const type = loadProto().root.lookupType('crib.FdMeta');
    const keysOf = (rec: Uint8Array) =>
      new Map(((type.toObject(type.decode(rec.slice()), { longs: String }) as { fd?: { fd: number; fileKey?: string }[] }).fd ?? []).map((f) => [f.fd, f.fileKey ?? '']));
    const got = new Map<number, Map<number, string>>();
    const recs = new Map<number, Uint8Array>();
    ops().readTree(env.id, [parent, child], caller(), (pid, rec) => {
      got.set(pid, keysOf(rec!));
      recs.set(pid, rec!.slice());
    });
    const p = got.get(parent)!;
    const c = got.get(child)!;
    for (const [pid, m] of got) for (const [fd, key] of m) assert.ok(/^[1-9][0-9]*$/.test(key), `pid ${pid} fd ${fd}: no key (${key})`);
    const reads = new Set([...p.values(), ...c.values()].map((key) => BigInt(key) >> 32n));
    assert.strictEqual(reads.size, 1, 'the keys of one read have one read number');
    assert.strictEqual(p.get(d), p.get(n0), 'a dup has the key of its file');
    assert.notStrictEqual(p.get(n0), p.get(n1), 'two opens of /dev/null are two files');
    assert.notStrictEqual(p.get(n1), p.get(n2), 'two opens of /dev/null are two files');
    assert.notStrictEqual(p.get(r), p.get(w), "a pipe's two ends are two files");
    for (const fd of [n0, n1, n2, d, r, w]) assert.strictEqual(c.get(fd), p.get(fd), `fd ${fd}: the child's inherited file has the parent's key`);
    const own = [...c.keys()].filter((fd) => !p.has(fd) || c.get(fd) !== p.get(fd));
    assert.ok(own.includes(ownFd) && own.every((fd) => ![...p.values()].includes(c.get(fd)!)), "the child's own open has a key of its own");
    // the child's inherited files were named in the parent's records: their paths come from there
    same(decode(recs.get(child)!), fromProc(child), `child ${child}`);
    same(decode(recs.get(parent)!), fromProc(parent), `parent ${parent}`);
    // a read of one task: keys of another read
    const again = keysOf(ops().read(env.id, parent, caller()));
    assert.notStrictEqual(BigInt(again.get(n0)!) >> 32n, [...reads][0], 'a second read has another read number');
    assert.strictEqual(again.get(d), again.get(n0));
  });

  it('refuses a caller whose root is not the engine\'s', function () {
    const other = { ...caller(), root: `pid 1's root is ${dir} from the engine's` };
    const s = ops().support(other).find((o) => o.id === env.id)!;
    assert.strictEqual(s.available, false);
    assert.match(s.reason!, /named from the engine's root/);
    assert.throws(() => ops().read(env.id, process.pid, other), UnsupportedError);
    assert.throws(() => ops().read(env.id, process.pid, { ...caller(), root: undefined }), UnsupportedError);
  });

  it('is only a seq iterator (bpf_d_path is not for SYSCALL programs)', function () {
    assert.deepStrictEqual(fdmeta.mechanisms.map((m) => m.reader), ['iter']);
  });
});
