// Op fdtype in the engine: the records of fdtype.h, one per fd of a kind
// it knows (eventfd, signalfd, timerfd), from its seq iterator (fdtype.bpf.c),
// written as crib.FdType (fdtype.proto).
import { layout } from '../../engine-ts/src/bpf/records';
import { BadRecordError } from '../../engine-ts/src/errors';
import { OpModule } from '../../engine-ts/src/engine/ops';
import { PbWriter, u64 } from '../../engine-ts/src/engine/pbwriter';

/** struct crib_fdtype (fdtype.h); fdtype.test.ts checks it against the object's BTF */
export const FDTYPE = layout('crib_fdtype', 48, [
  ['pid', 0, 4],
  ['fd', 4, 4],
  ['kind', 8, 4],
  ['flags', 12, 4],
  ['value', 16, 8],
  ['clockid', 24, 4],
  ['have', 28, 4],
  ['it_value_ns', 32, 8],
  ['it_interval_ns', 40, 8],
]);

/** CRIB_FDTYPE_*: what readlink() of the fd says */
export const KINDS: Record<number, string> = { 1: 'anon_inode:[eventfd]', 2: 'anon_inode:[signalfd]', 3: 'anon_inode:[timerfd]' };
const EVENTFD = 1;
const TIMERFD = 3;
/** CRIB_FDTYPE_HAVE_IT_VALUE */
const HAVE_IT_VALUE = 1;
/** the clocks a timerfd may have: REALTIME, MONOTONIC, BOOTTIME, REALTIME_ALARM, BOOTTIME_ALARM */
const TIMERFD_CLOCKS = new Set([0, 1, 7, 8, 9]);
/** TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET */
const TFD_SETTIME_FLAGS = 0o1 | 0o2;
/** the flags an eventfd's context may have: EFD_SEMAPHORE, and O_CLOEXEC and O_NONBLOCK, which eventfd2() keeps there too */
const EFD_FLAGS = 0o1 | 0o2000000 | 0o4000;

const M = FDTYPE.members;
const w = new PbWriter();

type Item = { off: number; len: number };

/** crib.FdType of task @pid from its records, each checked; a view of a buffer the next call overwrites */
export function encodeFdType(src: ArrayBuffer, items: Item[], pid: number): Uint8Array {
  w.reset();
  let last = -1;
  for (const it of items) {
    if (it.len !== FDTYPE.size) throw new BadRecordError('fdtype', `record of ${it.len} bytes, ${FDTYPE.size} expected`);
    const dv = new DataView(src, it.off, FDTYPE.size);
    const fd = dv.getInt32(M.fd.offset, true);
    const kind = dv.getUint32(M.kind.offset, true);
    const flags = dv.getUint32(M.flags.offset, true);
    if (dv.getInt32(M.pid.offset, true) !== pid) throw new BadRecordError('fdtype', `a record of pid ${dv.getInt32(M.pid.offset, true)} among pid ${pid}'s`);
    if (fd <= last) throw new BadRecordError('fdtype', `fd ${fd} after fd ${last}`);
    const clockid = dv.getInt32(M.clockid.offset, true);
    const have = dv.getUint32(M.have.offset, true);
    const itValue = dv.getBigInt64(M.it_value_ns.offset, true);
    const itInterval = dv.getBigInt64(M.it_interval_ns.offset, true);
    if (!KINDS[kind]) throw new BadRecordError('fdtype', `fd ${fd}: kind ${kind}`);
    if (flags & ~(kind === EVENTFD ? EFD_FLAGS : kind === TIMERFD ? TFD_SETTIME_FLAGS : 0)) throw new BadRecordError('fdtype', `fd ${fd}: flags 0x${flags.toString(16)} for kind ${kind}`);
    if (kind === TIMERFD ? !TIMERFD_CLOCKS.has(clockid) || have & ~HAVE_IT_VALUE || itValue < 0n || itInterval < 0n : clockid || have || itValue || itInterval) {
      throw new BadRecordError('fdtype', `fd ${fd}: kind ${kind} with clock ${clockid}, have ${have}, times ${itValue} and ${itInterval} ns`);
    }
    last = fd;
    w.message(1, () => {
      w.int32(1, fd).uint(2, kind).uint(3, u64('fdtype', dv, M.value.offset, 'value'));
      if (flags) w.uint(4, flags);
      if (kind === TIMERFD) {
        // int64 of a value checked not negative: the varint of the uint64
        const time = (f: number, off: number) => w.uint64(f, dv.getUint32(off, true), dv.getUint32(off + 4, true));
        w.int32(5, clockid);
        if (have & HAVE_IT_VALUE) time(6, M.it_value_ns.offset);
        time(7, M.it_interval_ns.offset);
      }
    });
  }
  return w.finish();
}

export const op: OpModule = {
  message: 'crib.FdType',
  mechanisms: [{ mechanism: 'bpf:iter/task_file', object: 'fdtype.bpf.o', program: 'crib_fdtype', reader: 'iter' }],
  // not read for the whole tree: a read of every task's files visits all the machine's (fdtype.bpf.c);
  // prepare() reads each task whose fd walk shows anon-inode files, and CRIU asks for no other
  tree: false,
  files: ['anon_inode'],
  read(r, pid) {
    const s = r.stream(pid);
    return encodeFdType(s.buf, s.items, pid);
  },
};
