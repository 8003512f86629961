// Op fdmeta in the engine: the records of fdmeta.h, one per open fd of
// a task, from its seq iterator (fdmeta.bpf.c), written as crib.FdMeta
// (fdmeta.proto).  The message is written by hand (PbWriter): at 10,000
// fds it is ~370 kB, and protobufjs' object encoder costs several times
// the read.
import { layout } from '../../engine-ts/src/bpf/records';
import { BadRecordError } from '../../engine-ts/src/errors';
import { OpModule, WANT_BYTES } from '../../engine-ts/src/engine/ops';
import { PbWriter, u64 } from '../../engine-ts/src/engine/pbwriter';

/** CRIB_FDMETA_PATH_MAX (PATH_MAX, its NUL included) */
export const PATH_MAX = 4096;

/** struct crib_fdmeta (fdmeta.h); fdmeta.test.ts checks it against the object's BTF */
export const FDMETA = layout('crib_fdmeta', 56, [
  ['fd', 0, 4],
  ['mode', 4, 4],
  ['ino', 8, 8],
  ['dev_major', 16, 4],
  ['dev_minor', 20, 4],
  ['magic', 24, 8],
  ['path_err', 32, 4],
  ['path_len', 36, 4],
  ['pid', 40, 4],
  ['flags', 44, 4],
  ['file_key', 48, 8],
]);

/** CRIB_FDMETA_PATH_OF_KEY: the path is that of the read's earlier record with the same file_key */
export const PATH_OF_KEY = 1;

const M = FDMETA.members;
const w = new PbWriter();

type Item = { off: number; len: number; extra: number };
/** where the path of each file named in a read is: its number in the read -> [offset, length] */
type Named = Map<number, [number, number]>;

/**
 * The files a read named (their path in the buffer, by their number in the
 * read) and the read's number (the keys' high 32 bits), all records checked
 * to be of that read.
 */
export function namedPaths(src: ArrayBuffer, items: Item[]): Named {
  const named: Named = new Map();
  let read = -1;
  for (const it of items) {
    if (it.len < FDMETA.size) continue; // encodeFdMeta() says what is wrong with it
    const dv = new DataView(src, it.off, FDMETA.size);
    const hi = dv.getUint32(M.file_key.offset + 4, true);
    const nr = dv.getUint32(M.file_key.offset, true);
    if (!nr) continue;
    if (read >= 0 && hi !== read) throw new BadRecordError('fdmeta', `file keys of two reads (${read} and ${hi}) in one`);
    read = hi;
    if (dv.getUint32(M.flags.offset, true) & PATH_OF_KEY || dv.getInt32(M.path_err.offset, true)) continue;
    if (!named.has(nr)) named.set(nr, [it.off + FDMETA.size, dv.getUint32(M.path_len.offset, true)]);
  }
  return named;
}

/**
 * crib.FdMeta of task @pid from its records of a read (Collector.runStream
 * or runStreamAll): each checked (its pid, fds ascending, path within its
 * record, a path by key that the read named); a view of a buffer the next
 * call overwrites.  @named: namedPaths() of the whole read.
 */
export function encodeFdMeta(src: ArrayBuffer, items: Item[], pid: number, named: Named): Uint8Array {
  w.reset();
  let last = -1;
  for (const it of items) {
    if (it.len < FDMETA.size) throw new BadRecordError('fdmeta', `record of ${it.len} bytes, ${FDMETA.size} expected`);
    const dv = new DataView(src, it.off, FDMETA.size);
    const fd = dv.getInt32(M.fd.offset, true);
    if (dv.getInt32(M.pid.offset, true) !== pid) throw new BadRecordError('fdmeta', `a record of pid ${dv.getInt32(M.pid.offset, true)} among pid ${pid}'s`);
    const err = dv.getInt32(M.path_err.offset, true);
    const plen = dv.getUint32(M.path_len.offset, true);
    const flags = dv.getUint32(M.flags.offset, true);
    const keyNr = dv.getUint32(M.file_key.offset, true);
    if (fd <= last) throw new BadRecordError('fdmeta', `fd ${fd} after fd ${last}`);
    last = fd;
    if (plen !== it.extra || FDMETA.size + plen > it.len || plen >= PATH_MAX) throw new BadRecordError('fdmeta', `fd ${fd}: path of ${plen} bytes in a record of ${it.len} (extra ${it.extra})`);
    if (err > 0 || (err < 0 && plen)) throw new BadRecordError('fdmeta', `fd ${fd}: path_err ${err} with ${plen} bytes of path`);
    if (flags & ~PATH_OF_KEY) throw new BadRecordError('fdmeta', `fd ${fd}: flags ${flags}`);
    let path: [number, number] = [it.off + FDMETA.size, plen];
    if (flags & PATH_OF_KEY) {
      const p = named.get(keyNr);
      if (!keyNr || err || plen || !p) throw new BadRecordError('fdmeta', `fd ${fd}: the path of file ${keyNr}, which the read did not name`);
      path = p;
    }
    w.message(1, () => {
      w.int32(1, fd)
        .uint(2, dv.getUint32(M.mode.offset, true))
        .uint(3, u64('fdmeta', dv, M.ino.offset, 'ino'))
        .uint(4, dv.getUint32(M.dev_major.offset, true))
        .uint(5, dv.getUint32(M.dev_minor.offset, true))
        .uint(6, u64('fdmeta', dv, M.magic.offset, 'magic'));
      if (err) w.sint32(8, err);
      else w.bytes(7, new Uint8Array(src, path[0], path[1]));
      if (keyNr) w.uint64(9, keyNr, dv.getUint32(M.file_key.offset + 4, true));
    });
  }
  return w.finish();
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
    return encodeFdMeta(s.buf, s.items, pid, namedPaths(s.buf, s.items));
  },
  readAll(r, pids, each) {
    const s = r.streamAll(pids, WANT_BYTES);
    const asked = new Set(pids);
    const named = namedPaths(s.buf, s.items);
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
        msg = encodeFdMeta(s.buf, l, pid, named);
      } catch (e) {
        if (!(e instanceof BadRecordError)) throw e;
        left.push(pid); // read by itself: its own error if it is bad again
        continue;
      }
      each(pid, msg, false);
    }
    return left;
  },
};
