// Op fdmeta in the engine: the records of fdmeta.h, one per open fd of
// a task, from its seq iterator (fdmeta.bpf.c), written as crib.FdMeta
// (fdmeta.proto).  The message is written by hand: at 10,000 fds it is
// ~600 kB, and protobufjs' object encoder costs several times the read.
import { layout } from '../../engine-ts/src/bpf/records';
import { BadRecordError } from '../../engine-ts/src/errors';
import { OpModule, WANT_BYTES } from '../../engine-ts/src/engine/ops';

/** CRIB_FDMETA_PATH_MAX (PATH_MAX, its NUL included) */
export const PATH_MAX = 4096;

/** struct crib_fdmeta (fdmeta.h); fdmeta.test.ts checks it against the object's BTF */
export const FDMETA = layout('crib_fdmeta', 48, [
  ['fd', 0, 4],
  ['mode', 4, 4],
  ['ino', 8, 8],
  ['dev_major', 16, 4],
  ['dev_minor', 20, 4],
  ['magic', 24, 8],
  ['path_err', 32, 4],
  ['path_len', 36, 4],
  ['pid', 40, 4],
  ['_pad0', 44, 4],
]);

const M = FDMETA.members;
let buf = new Uint8Array(1 << 16);
let at = 0;

function room(n: number): void {
  if (at + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < at + n) size *= 2;
  const b = new Uint8Array(size);
  b.set(buf.subarray(0, at));
  buf = b;
}

function varint(v: number): void {
  // v: a non-negative integer below 2^53
  while (v > 0x7f) {
    buf[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[at++] = v;
}

function varintLen(v: number): number {
  let n = 1;
  while (v > 0x7f) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** an int32 as proto2 writes it: a negative one as ten bytes */
function int32(v: number): void {
  if (v >= 0) return varint(v);
  const lo = v >>> 0;
  for (let i = 0; i < 4; i++) buf[at++] = ((lo >>> (7 * i)) & 0x7f) | 0x80;
  buf[at++] = ((lo >>> 28) & 0x0f) | 0x70 | 0x80;
  for (let i = 0; i < 4; i++) buf[at++] = 0xff;
  buf[at++] = 0x01;
}

function int32Len(v: number): number {
  return v >= 0 ? varintLen(v) : 10;
}

/** a u64 read as two halves; ino and magic above 2^53 are not seen on Linux, refused as bad records */
function u64(dv: DataView, off: number, what: string): number {
  const v = dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 0x100000000;
  if (!Number.isSafeInteger(v)) throw new BadRecordError('fdmeta', `${what} above 2^53`);
  return v;
}

type Item = { off: number; len: number; extra: number };

/**
 * crib.FdMeta of task @pid from its records of a read (Collector.runStream
 * or runStreamAll): each checked (its pid, fds ascending, path within its
 * record); a view of a buffer the next call overwrites.
 */
export function encodeFdMeta(src: ArrayBuffer, items: Item[], pid: number): Uint8Array {
  at = 0;
  let last = -1;
  for (const it of items) {
    if (it.len < FDMETA.size) throw new BadRecordError('fdmeta', `record of ${it.len} bytes, ${FDMETA.size} expected`);
    const dv = new DataView(src, it.off, FDMETA.size);
    const fd = dv.getInt32(M.fd.offset, true);
    if (dv.getInt32(M.pid.offset, true) !== pid) throw new BadRecordError('fdmeta', `a record of pid ${dv.getInt32(M.pid.offset, true)} among pid ${pid}'s`);
    const mode = dv.getUint32(M.mode.offset, true);
    const ino = u64(dv, M.ino.offset, 'ino');
    const major = dv.getUint32(M.dev_major.offset, true);
    const minor = dv.getUint32(M.dev_minor.offset, true);
    const magic = u64(dv, M.magic.offset, 'magic');
    const err = dv.getInt32(M.path_err.offset, true);
    const plen = dv.getUint32(M.path_len.offset, true);
    if (fd <= last) throw new BadRecordError('fdmeta', `fd ${fd} after fd ${last}`);
    last = fd;
    if (plen !== it.extra || FDMETA.size + plen > it.len || plen >= PATH_MAX) throw new BadRecordError('fdmeta', `fd ${fd}: path of ${plen} bytes in a record of ${it.len} (extra ${it.extra})`);
    if (err > 0 || (err < 0 && plen)) throw new BadRecordError('fdmeta', `fd ${fd}: path_err ${err} with ${plen} bytes of path`);
    const zz = err < 0 ? ((err << 1) ^ (err >> 31)) >>> 0 : 0;
    const body =
      1 + int32Len(fd) + 1 + varintLen(mode) + 1 + varintLen(ino) + 1 + varintLen(major) + 1 + varintLen(minor) + 1 + varintLen(magic) +
      (err ? 1 + varintLen(zz) : 1 + varintLen(plen) + plen);
    room(1 + 5 + body);
    buf[at++] = (1 << 3) | 2;
    varint(body);
    buf[at++] = 1 << 3;
    int32(fd);
    buf[at++] = 2 << 3;
    varint(mode);
    buf[at++] = 3 << 3;
    varint(ino);
    buf[at++] = 4 << 3;
    varint(major);
    buf[at++] = 5 << 3;
    varint(minor);
    buf[at++] = 6 << 3;
    varint(magic);
    if (err) {
      buf[at++] = 8 << 3;
      varint(zz);
    } else {
      buf[at++] = (7 << 3) | 2;
      varint(plen);
      buf.set(new Uint8Array(src, it.off + FDMETA.size, plen), at);
      at += plen;
    }
  }
  return buf.subarray(0, at);
}

export const op: OpModule = {
  message: 'crib.FdMeta',
  // the path needs bpf_d_path(), which seq iterators may call and SYSCALL programs may not
  mechanisms: [{ mechanism: 'bpf:iter/task_file', object: 'fdmeta.bpf.o', program: 'crib_fdmeta', reader: 'iter' }],
  // read for the whole frozen tree in prepare(): one read of every task's files
  tree: true,
  // bpf_d_path() names paths from the root of the engine, which reads the iterator
  refuse: (caller) => (caller.root === 'same' ? undefined : `paths are named from the engine's root: ${caller.root ?? "the caller's root is not known"}`),
  read(r, pid) {
    const s = r.stream(pid);
    return encodeFdMeta(s.buf, s.items, pid);
  },
  readAll(r, pids, each) {
    const s = r.streamAll(pids, WANT_BYTES);
    const asked = new Set(pids);
    const byPid = new Map<number, Item[]>();
    let prev = 0;
    for (const it of s.items) {
      const pid = it.len >= FDMETA.size ? new DataView(s.buf, it.off + M.pid.offset, 4).getInt32(0, true) : 0;
      if (!asked.has(pid)) throw new BadRecordError('fdmeta', `a record of pid ${pid}, which was not asked for`);
      let l = byPid.get(pid);
      if (!l) byPid.set(pid, (l = []));
      else if (pid !== prev) throw new BadRecordError('fdmeta', `the records of pid ${pid} do not come together`);
      l.push(it);
      prev = pid;
    }
    // a task with no record (no files: a zombie; or gone) is read by itself, which tells them apart
    const left: number[] = [];
    for (const pid of asked) {
      const l = byPid.get(pid);
      if (!l) {
        left.push(pid);
        continue;
      }
      let msg: Uint8Array;
      try {
        msg = encodeFdMeta(s.buf, l, pid);
      } catch (e) {
        if (!(e instanceof BadRecordError)) throw e;
        left.push(pid); // read by itself: its own error if it is bad again
        continue;
      }
      each(pid, msg);
    }
    return left;
  },
};
