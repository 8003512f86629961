// Op epoll: its records against the object's BTF, and its answers against
// /proc/PID/fdinfo on live processes: every epoll fd of a task and its
// targets in the kernel's order (pipes, eventfds, a socket, a nested
// epoll, a file read part way, one file added under two fds, a target
// whose fd was closed, custom data and flags); an empty epoll; one with
// more targets than a record holds; no other fd; a task without epoll
// fds, a zombie, no task; a child that shares its parent's.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { countStreams, fdsOf, folderOpEnv, FolderOpEnv, pyHolder, zombie } from '../../test/bpf/folder';
import { EPOLL, EPOLL_TFD, MAX_TFDS } from './epoll';

interface Target {
  tfd: number;
  events: number;
  data: string;
  pos: string;
  ino: string;
  sdev: number;
}
interface EpollFd {
  fd: number;
  all: boolean;
  tfd: Target[];
}

function decode(bytes: Uint8Array): EpollFd[] {
  const type = loadProto().root.lookupType('crib.Epoll');
  const m = type.toObject(type.decode(bytes.slice()), { longs: String, defaults: true }) as { fd: EpollFd[] };
  return m.fd;
}

/** What /proc/PID/fdinfo says of each epoll fd of @pid: its "tfd:" lines */
function fromProc(pid: number): EpollFd[] {
  const out: EpollFd[] = [];
  for (const { fd: n, info } of fdsOf(pid, (l) => l === 'anon_inode:[eventpoll]')) {
    const tfd: Target[] = [];
    for (const m of info.matchAll(/^tfd:\s*(\d+) events:\s*([0-9a-f]+) data:\s*([0-9a-f]+)\s+pos:(-?\d+) ino:([0-9a-f]+) sdev:([0-9a-f]+)$/gm)) {
      tfd.push({ tfd: Number(m[1]), events: parseInt(m[2], 16), data: BigInt(`0x${m[3]}`).toString(), pos: m[4], ino: BigInt(`0x${m[5]}`).toString(), sdev: parseInt(m[6], 16) });
    }
    assert.strictEqual(tfd.length, (info.match(/^tfd:/gm) ?? []).length, `pid ${pid} fd ${n}: a tfd line the test does not parse`);
    out.push({ fd: n, all: true, tfd });
  }
  return out;
}

/** @got (the engine's) against @want (/proc's): the same fds and targets; an fd with more than a record holds lists its first MAX_TFDS, all false */
function agree(got: EpollFd[], want: EpollFd[], who: string): void {
  assert.deepStrictEqual(got.map((f) => f.fd), want.map((f) => f.fd), `${who}: the epoll fds`);
  got.forEach((g, i) => {
    const w = want[i];
    if (w.tfd.length > MAX_TFDS) {
      assert.strictEqual(g.all, false, `${who}: fd ${g.fd}: ${w.tfd.length} targets, all listed`);
      assert.deepStrictEqual(g.tfd, w.tfd.slice(0, MAX_TFDS), `${who}: fd ${g.fd}: the first ${MAX_TFDS}`);
      return;
    }
    assert.deepStrictEqual(g, w, `${who}: fd ${g.fd}`);
  });
}

/**
 * A python process with epoll fds: one with targets of every sort above,
 * an empty one, a nested one, and one with @many eventfds; @fork: and a
 * child that shares them.  Its pid (and the child's).
 */
async function holder(kids: ChildProcess[], many = 0, fork = false): Promise<number[]> {
  const script = `
import ctypes, os, socket, sys, time
libc = ctypes.CDLL(None, use_errno=True)
class ev(ctypes.Structure):
    _pack_ = 1
    _fields_ = [('events', ctypes.c_uint32), ('data', ctypes.c_uint64)]
def add(ep, fd, events, data):
    assert libc.epoll_ctl(ep, 1, fd, ctypes.byref(ev(events, data))) == 0, ctypes.get_errno()
EPOLLIN, EPOLLOUT, EPOLLET, EPOLLONESHOT, EPOLLRDHUP = 1, 4, 1 << 31, 1 << 30, 0x2000
keep = []
ep = libc.epoll_create1(0o2000000)
empty = libc.epoll_create1(0)
inner = libc.epoll_create1(0)
r, w = os.pipe()
efd = os.eventfd(0)
s1, s2 = socket.socketpair()
mounts = os.open('/proc/self/mounts', os.O_RDONLY)
os.read(mounts, 100)
dup = os.dup(efd)
gone = os.dup(r)
add(ep, r, EPOLLIN, 0xdeadbeefcafef00d)
add(ep, w, EPOLLOUT | EPOLLET, 7)
add(ep, efd, EPOLLIN | EPOLLONESHOT, 0)
add(ep, dup, EPOLLIN, 1)
add(ep, s1.fileno(), EPOLLIN | EPOLLRDHUP, 2)
add(ep, mounts, EPOLLIN, 3)
add(ep, inner, EPOLLIN, 4)
add(ep, gone, EPOLLIN, 5)
os.close(gone)
add(inner, s2.fileno(), EPOLLOUT, 6)
keep += [r, w, efd, s1, s2, mounts, dup, ep, empty, inner]
if ${many}:
    big = libc.epoll_create1(0)
    for i in range(${many}):
        e = os.eventfd(0)
        keep.append(e)
        add(big, e, EPOLLIN, i)
report(len(sys.argv) > 1)
`;
  return pyHolder(kids, script, fork ? ['fork'] : []);
}

describe('op epoll (ops/epoll)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('epoll');
    if (!ops().support(caller()).find((o) => o.id === env.id)?.available) this.skip(); // no BTF iterators
  });
  after(() => env?.close());

  it('struct crib_epoll and crib_epoll_tfd match the BTF of epoll.bpf.o', function () {
    const btf = loadBtf('epoll.bpf.o');
    checkLayout(btf, 'epoll.bpf.o', EPOLL);
    checkLayout(btf, 'epoll.bpf.o', EPOLL_TFD);
  });

  it('agrees with /proc/PID/fdinfo: each epoll fd and its targets, in order; no other fd', async function () {
    const [pid] = await holder(env.kids);
    const want = fromProc(pid);
    assert.deepStrictEqual(want.map((f) => f.tfd.length), [8, 0, 1], 'the holder as /proc shows it: 8 targets, an empty epoll, a nested one');
    assert.ok(new Set(want[0].tfd.map((t) => t.ino)).size < want[0].tfd.length, 'the holder has a file added under two fds');
    assert.ok(want[0].tfd.some((t) => t.pos !== '0'), 'the holder has a target read part way');
    agree(decode(ops().read(env.id, pid, caller())), want, `pid ${pid}`);
  });

  it(`an epoll fd with more than ${MAX_TFDS} targets: the first ${MAX_TFDS}, and not all`, async function () {
    const [pid] = await holder(env.kids, MAX_TFDS + 88);
    const want = fromProc(pid);
    assert.strictEqual(want[3].tfd.length, MAX_TFDS + 88);
    const got = decode(ops().read(env.id, pid, caller()));
    agree(got, want, `pid ${pid}`);
    assert.deepStrictEqual(got.map((f) => f.all), [true, true, true, false]);
  });

  it('a task without epoll fds and a zombie have none; a pid that is no task is NoSuchTaskError', async function () {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    env.kids.push(sleeper);
    const z = await zombie(env.kids);
    assert.deepStrictEqual(decode(ops().read(env.id, sleeper.pid!, caller())), []);
    assert.deepStrictEqual(decode(ops().read(env.id, z, caller())), []);
    assert.throws(() => ops().read(env.id, 0x3ffffff0, caller()), NoSuchTaskError);
  });

  it('agrees with /proc on this process (node\'s own epoll)', function () {
    const fds = new Set(fs.readdirSync(`/proc/${process.pid}/fd`).map(Number));
    const want = fromProc(process.pid).filter((f) => fds.has(f.fd));
    assert.ok(want.length > 0, 'node has an epoll fd');
    agree(decode(ops().read(env.id, process.pid, caller())), want, 'this process');
  });

  it('a child shares its parent\'s; each task is read by itself, not in prepare()', async function () {
    assert.strictEqual(ops().treeOps(caller()).includes(env.id), false, 'epoll is not read for the whole tree');
    const [a, child] = await holder(env.kids, 0, true);
    const calls = countStreams(env.collector, () => {
      for (const p of [a, child]) agree(decode(ops().read(env.id, p, caller())), fromProc(p), `pid ${p}`);
    });
    assert.deepStrictEqual(calls, { all: 0, one: [a, child] });
    assert.strictEqual(fromProc(child).length, 3, 'the child shares its parent\'s');
  });
});
