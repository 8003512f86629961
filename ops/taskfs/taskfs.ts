// Op taskfs in the engine: the record of taskfs.h (its iterator,
// taskfs.bpf.c, or the tree pass of every per-task op, which crib.so runs),
// one per task, written as crib.TaskFs (taskfs.proto): the paths put
// together from their components (crib_path.h), as readlink() of
// /proc/PID/{exe,cwd,root} prints them.
import { layout } from '../../engine-ts/src/bpf/records';
import { BadRecordError, ENAMETOOLONG, ENOENT } from '../../engine-ts/src/errors';
import { OpModule, PERTASK_OBJECT, RecordMemo, WANT_BYTES } from '../../engine-ts/src/engine/ops';
import { PbWriter, u64 } from '../../engine-ts/src/engine/pbwriter';

export const FILES = ['exe', 'cwd', 'root'] as const;
/** CRIB_TASKFS_DELETED */
export const DELETED = 1;
const PATH_MAX = 4096;

/** struct crib_taskfs_file and struct crib_taskfs (taskfs.h); taskfs.test.ts checks them against the object's BTF */
export const TASKFS_FILE = layout('crib_taskfs_file', 48, [
  ['mode', 0, 4],
  ['dev_major', 4, 4],
  ['dev_minor', 8, 4],
  ['mnt_id', 12, 4],
  ['ino', 16, 8],
  ['magic', 24, 8],
  ['err', 32, 4],
  ['path_len', 36, 4],
  ['flags', 40, 4],
  ['_pad0', 44, 4],
]);
export const TASKFS = layout('crib_taskfs', 8 + 3 * TASKFS_FILE.size, [
  ['pid', 0, 4],
  ['_pad0', 4, 4],
  ['f', 8, 3 * TASKFS_FILE.size],
]);

/** CRIB_TASKFS_ROOM, and struct crib_taskfs_tree_rec: the record of the tree pass of every per-task op (bpf/pertask.bpf.c) */
export const ROOM = 256;
export const TASKFS_TREE_REC = layout('crib_taskfs_tree_rec', TASKFS.size + 3 * ROOM, [
  ['t', 0, TASKFS.size],
  ['names', TASKFS.size, 3 * ROOM],
]);

const F = TASKFS_FILE.members;
const w = new PbWriter(4 * PATH_MAX);

/** The path of components @c (leaf first, a length byte each), as d_path() puts it together */
function pathOf(c: Uint8Array, deleted: boolean): Uint8Array | number {
  const parts: Uint8Array[] = [];
  for (let p = 0; p < c.length; ) {
    const n = c[p];
    if (n === 0 || p + 1 + n > c.length) throw new BadRecordError('taskfs', `a path component of ${n} bytes at ${p} of ${c.length}`);
    parts.push(c.subarray(p + 1, p + 1 + n));
    p += 1 + n;
  }
  const suffix = deleted ? Buffer.from(' (deleted)') : Buffer.alloc(0);
  const len = Math.max(1, parts.reduce((s, x) => s + 1 + x.length, 0)) + suffix.length;
  if (len >= PATH_MAX) return -ENAMETOOLONG;
  const out = new Uint8Array(len);
  let o = 0;
  for (let i = parts.length - 1; i >= 0; i--) {
    out[o++] = 0x2f;
    out.set(parts[i], o);
    o += parts[i].length;
  }
  if (!parts.length) out[o++] = 0x2f;
  out.set(suffix, o);
  return out;
}

/** crib.TaskFs of task @pid from its record (payload at @off, @len bytes); a view of a buffer the next call overwrites */
export function encodeTaskFs(src: ArrayBuffer, off: number, len: number, pid: number): Uint8Array {
  if (len < TASKFS.size) throw new BadRecordError('taskfs', `record of ${len} bytes, ${TASKFS.size} expected`);
  const dv = new DataView(src, off, TASKFS.size);
  if (dv.getInt32(TASKFS.members.pid.offset, true) !== pid) throw new BadRecordError('taskfs', `the record of pid ${dv.getInt32(0, true)} for pid ${pid}`);
  w.reset();
  let names = off + TASKFS.size;
  const end = off + len;
  for (let i = 0; i < FILES.length; i++) {
    const fo = TASKFS.members.f.offset + i * TASKFS_FILE.size;
    let err = dv.getInt32(fo + F.err.offset, true);
    const plen = dv.getUint32(fo + F.path_len.offset, true);
    const flags = dv.getUint32(fo + F.flags.offset, true);
    const mnt = dv.getInt32(fo + F.mnt_id.offset, true);
    if (err > 0 || (err < 0 && plen) || flags & ~DELETED || names + plen > end) throw new BadRecordError('taskfs', `pid ${pid} ${FILES[i]}: err ${err}, ${plen} bytes of path, flags ${flags}`);
    if (err === -ENOENT && mnt) throw new BadRecordError('taskfs', `pid ${pid} ${FILES[i]}: no file, mount ${mnt}`);
    let path: Uint8Array | undefined;
    if (!err) {
      const p = pathOf(new Uint8Array(src, names, plen), (flags & DELETED) !== 0);
      if (typeof p === 'number') err = p;
      else path = p;
    }
    names += plen;
    w.message(i + 1, () => {
      w.uint(1, dv.getUint32(fo + F.mode.offset, true))
        .uint(2, u64('taskfs', dv, fo + F.ino.offset, 'ino'))
        .uint(3, dv.getUint32(fo + F.dev_major.offset, true))
        .uint(4, dv.getUint32(fo + F.dev_minor.offset, true))
        .int32(5, mnt)
        .uint(6, u64('taskfs', dv, fo + F.magic.offset, 'magic'));
      if (path) w.bytes(7, path);
      else w.sint32(8, err);
    });
  }
  return w.finish();
}

const flat = new Uint8Array(TASKFS_TREE_REC.size);

/** crib.TaskFs of the tree record at @off (TASKFS_TREE_REC): its components put one after the other, as the iterator writes them */
export function encodeTreeRec(src: ArrayBuffer, off: number): Uint8Array {
  const dv = new DataView(src, off, TASKFS_TREE_REC.size);
  flat.set(new Uint8Array(src, off, TASKFS.size));
  let at = TASKFS.size;
  for (let i = 0; i < FILES.length; i++) {
    const plen = dv.getUint32(TASKFS.members.f.offset + i * TASKFS_FILE.size + F.path_len.offset, true);
    if (plen > ROOM) throw new BadRecordError('taskfs', `${FILES[i]}: ${plen} bytes of components in a room of ${ROOM}`);
    flat.set(new Uint8Array(src, off + TASKFS_TREE_REC.members.names.offset + i * ROOM, plen), at);
    at += plen;
  }
  return encodeTaskFs(flat.buffer, 0, at, dv.getInt32(TASKFS.members.pid.offset, true));
}

const prog = { mechanism: 'bpf:iter/task', object: 'taskfs.bpf.o', program: 'crib_taskfs', reader: 'iter' as const };

export const op: OpModule = {
  message: 'crib.TaskFs',
  mechanisms: [prog],
  // read for the whole frozen tree in prepare(): one read of every task
  tree: true,
  // paths are named from the root of the engine, which reads the iterator
  refuse: (caller) => (caller.root === 'same' ? undefined : `paths are named from the engine's root: ${caller.root ?? "the caller's root is not known"}`),
  // crib.so reads the iterator itself (taskfs.c): then the paths are named from CRIU's root
  directStream: true,
  // or, where SYSCALL programs load, runs it in the pass of every per-task op: named from CRIU's root too
  treePertask: { mechanism: 'bpf:task, tree pass of every per-task op', object: PERTASK_OBJECT, program: 'crib_pertask', outMap: 'out_taskfs' },
  treeRecordSize: TASKFS_TREE_REC.size,
  encode: encodeTreeRec,
  read(r, pid) {
    const s = r.stream(pid);
    if (s.items.length !== 1) throw new BadRecordError('taskfs', `${s.items.length} records for pid ${pid}`);
    return encodeTaskFs(s.buf, s.items[0].off, s.items[0].len, pid);
  },
  readAll(r, pids, each) {
    const s = r.streamAll(pids, WANT_BYTES);
    const asked = new Set(pids);
    const done = new Set<number>();
    // the bytes after the pid: a task with the files of the one before gets its message
    const memo = new RecordMemo();
    for (const it of s.items) {
      const pid = it.len >= 4 ? new DataView(s.buf, it.off, 4).getInt32(0, true) : 0;
      if (!asked.has(pid) || done.has(pid)) throw new BadRecordError('taskfs', `a record of pid ${pid}, not asked for or twice`);
      done.add(pid);
      const rest = new Uint8Array(s.buf, it.off + 4, it.len - 4);
      const kept = memo.get(rest);
      if (kept) each(pid, kept, true);
      else each(pid, memo.set(rest, encodeTaskFs(s.buf, it.off, it.len, pid)), false);
    }
    // every live task has a record: the rest are read by themselves (gone: no such task)
    return [...asked].filter((p) => !done.has(p));
  },
};
