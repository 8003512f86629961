// Op fdtype: its record against the object's BTF, and its answers against
// /proc/PID/fdinfo on live processes: every eventfd (its counter and
// semaphore flag), signalfd (its mask) and timerfd (clock, ticks, flags,
// times: periodic, one-shot, realtime, disarmed, expired) of a task, and no other fd; a
// task without such fds, a zombie, no task; a child that shares its
// parent's, each read by itself.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { countStreams, fdsOf, folderOpEnv, FolderOpEnv, pyHolder, zombie } from '../../test/bpf/folder';
import { FDTYPE, KINDS } from './fdtype';

interface Fd {
  fd: number;
  kind: number;
  value: string;
  flags?: number;
  clockid?: number;
  itValueNs?: string;
  itIntervalNs?: string;
  /** /proc's only: its fdinfo does not say whether the eventfd is a semaphore */
  semUnknown?: boolean;
}

function decode(bytes: Uint8Array): Fd[] {
  const type = loadProto().root.lookupType('crib.FdType');
  const m = type.toObject(type.decode(bytes.slice()), { longs: String }) as { fd?: Fd[] };
  return (m.fd ?? []).map((f) => ({ ...f, flags: f.flags ?? 0 }));
}

const EVENTFD = 1;
const TIMERFD = 3;
const CLOCK_REALTIME = 0;

/**
 * @got (the engine's, read first) against @want (/proc's, read after):
 * the same fds and fields, but a timerfd's time left, which only shrinks
 * (by less than a second here), and which the engine does not know for
 * CLOCK_REALTIME.
 */
function agree(got: Fd[], want: Fd[], who: string): void {
  assert.deepStrictEqual(got.map((f) => f.fd), want.map((f) => f.fd), `${who}: the fds`);
  got.forEach((g, i) => {
    const w = want[i];
    const { itValueNs: gv, ...gRest } = g;
    const { itValueNs: wv, semUnknown, ...wRest } = w;
    // a kernel whose fdinfo has no eventfd-semaphore line (before 6.6) does not say EFD_SEMAPHORE
    if (semUnknown) gRest.flags = (gRest.flags ?? 0) & ~0o1;
    assert.deepStrictEqual(gRest, wRest, `${who}: fd ${g.fd}`);
    if (g.kind !== TIMERFD) return assert.strictEqual(gv, undefined, `${who}: fd ${g.fd}: a time on kind ${g.kind}`);
    if (g.clockid === CLOCK_REALTIME) return assert.strictEqual(gv, undefined, `${who}: fd ${g.fd}: a realtime it_value`);
    const d = BigInt(gv!) - BigInt(wv!);
    assert.ok(d >= 0n && d < 1000000000n, `${who}: fd ${g.fd}: it_value ${gv} ns, /proc's later ${wv}`);
  });
}

/** What /proc/PID/fdinfo says of each eventfd and signalfd of @pid */
function fromProc(pid: number): Fd[] {
  const out: Fd[] = [];
  for (const { fd: n, link, info } of fdsOf(pid, (l) => Object.values(KINDS).includes(l))) {
    const kind = Number(Object.keys(KINDS).find((k) => KINDS[Number(k)] === link) ?? 0);
    if (kind === TIMERFD) {
      const f = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(info)![1];
      const ns = (v: string) => {
        const [sec, nsec] = /\((\d+), (\d+)\)/.exec(v)!.slice(1).map(BigInt);
        return (sec * 1000000000n + nsec).toString();
      };
      out.push({ fd: n, kind, value: f('ticks'), flags: parseInt(f('settime flags'), 8), clockid: Number(f('clockid')), itValueNs: ns(f('it_value')), itIntervalNs: ns(f('it_interval')) });
      continue;
    }
    const count = /^eventfd-count:\s*([0-9a-f]+)$/m.exec(info);
    const mask = /^sigmask:\s*([0-9a-f]+)$/m.exec(info);
    const sem = /^eventfd-semaphore:\s*(\d)$/m.exec(info);
    out.push({ fd: n, kind, value: BigInt(`0x${(count ?? mask)![1]}`).toString(), flags: kind === 1 ? eventfdFlags(info, sem) : 0, ...(kind === 1 && !sem ? { semUnknown: true } : {}) });
  }
  return out;
}

/** An eventfd's context flags as fdinfo shows them: EFD_SEMAPHORE, and the file's O_NONBLOCK and O_CLOEXEC (eventfd2() keeps them there too) */
function eventfdFlags(info: string, sem: RegExpExecArray | null): number {
  const fileFlags = parseInt(/^flags:\s*([0-7]+)$/m.exec(info)![1], 8);
  return (sem && sem[1] === '1' ? 0o1 : 0) | (fileFlags & (0o4000 | 0o2000000));
}

/**
 * A python process with an eventfd (semaphore, counter 7), a plain
 * eventfd, a signalfd of SIGHUP and SIGUSR1, a pipe (no fields of a
 * kind) and five timerfds; @fork: and a child that shares them.  Its pid
 * (and the child's).
 */
async function holder(kids: ChildProcess[], fork = false): Promise<number[]> {
  const script = `
import ctypes, os, signal, sys, time
keep = [os.eventfd(5, os.EFD_SEMAPHORE), os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)]
os.eventfd_write(keep[0], 2)
keep += list(os.pipe())
libc = ctypes.CDLL(None, use_errno=True)
mask = (ctypes.c_ulong * 16)()
mask[0] = (1 << (signal.SIGUSR1 - 1)) | (1 << (signal.SIGHUP - 1))
signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1, signal.SIGHUP])
keep.append(libc.signalfd(-1, mask, 0))
assert keep[-1] >= 0
class ts(ctypes.Structure): _fields_ = [('s', ctypes.c_long), ('ns', ctypes.c_long)]
class its(ctypes.Structure): _fields_ = [('i', ts), ('v', ts)]
# timerfds: periodic monotonic, one-shot boottime, realtime, disarmed, expired (1 ms, ticks 1)
for clock, value, interval in [(1, (100, 5), (2, 0)), (7, (50, 0), (0, 0)), (0, (1000, 0), (0, 0)), (1, (0, 0), (0, 0)), (1, (0, 1000000), (0, 0))]:
    keep.append(libc.timerfd_create(clock, 0))
    assert keep[-1] >= 0 and libc.timerfd_settime(keep[-1], 0, ctypes.byref(its(ts(*interval), ts(*value))), None) == 0
time.sleep(0.05)
report(len(sys.argv) > 1)
`;
  return pyHolder(kids, script, fork ? ['fork'] : []);
}

describe('op fdtype (ops/fdtype)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('fdtype');
    if (!ops().support(caller()).find((o) => o.id === env.id)?.available) this.skip(); // no BTF iterators
  });
  after(() => env?.close());

  it('struct crib_fdtype matches the BTF of fdtype.bpf.o', function () {
    checkLayout(loadBtf('fdtype.bpf.o'), 'fdtype.bpf.o', FDTYPE);
  });

  it('agrees with /proc/PID/fdinfo: each eventfd, signalfd and timerfd, no other fd', async function () {
    const [pid] = await holder(env.kids);
    const got = decode(ops().read(env.id, pid, caller()));
    const want = fromProc(pid);
    assert.deepStrictEqual(
      want.map((f) => [f.kind, f.value, f.clockid ?? '-']),
      [[1, '7', '-'], [1, '0', '-'], [2, String(0x201), '-'], [3, '0', 1], [3, '0', 7], [3, '0', 0], [3, '0', 1], [3, '1', 1]],
      'the holder as /proc shows it',
    );
    agree(got, want, `pid ${pid}`);
  });

  it('agrees with /proc on this process (node\'s own eventfds)', function () {
    // the fds open before and after both reads; an eventfd's counter is left out: node's threads
    // write and read their wake-up eventfds at any time, so it may move between the two reads
    const open = () => new Set(fs.readdirSync(`/proc/${process.pid}/fd`).map(Number));
    const before = open();
    const got = decode(ops().read(env.id, process.pid, caller()));
    const want = fromProc(process.pid);
    const after = open();
    const steady = (f: Fd) => before.has(f.fd) && after.has(f.fd);
    const counterless = (f: Fd): Fd => (f.kind === EVENTFD ? { ...f, value: '' } : f);
    const mine = got.filter(steady);
    assert.ok(mine.some((f) => f.kind === EVENTFD), `node has an eventfd of its own: ${JSON.stringify(got)}`);
    agree(mine.map(counterless), want.filter(steady).map(counterless), 'this process');
  });

  it('a task without such fds and a zombie have none; a pid that is no task is NoSuchTaskError', async function () {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    env.kids.push(sleeper);
    const z = await zombie(env.kids);
    assert.deepStrictEqual(decode(ops().read(env.id, sleeper.pid!, caller())), []);
    assert.deepStrictEqual(decode(ops().read(env.id, z, caller())), []);
    assert.throws(() => ops().read(env.id, 0x3ffffff0, caller()), NoSuchTaskError);
  });

  it('a child shares its parent\'s; each task is read by itself, not in prepare()', async function () {
    assert.strictEqual(ops().treeOps(caller()).includes(env.id), false, 'fdtype is not read for the whole tree');
    const [a, child] = await holder(env.kids, true);
    const calls = countStreams(env.collector, () => {
      for (const p of [a, child]) agree(decode(ops().read(env.id, p, caller())), fromProc(p), `pid ${p}`);
    });
    assert.deepStrictEqual(calls, { all: 0, one: [a, child] });
    assert.strictEqual(fromProc(child).length, 8, 'the child shares its parent\'s');
  });
});
