// Op fanotify in the engine: the records of fanotify.h, one per fanotify fd
// with its marks after it, from its seq iterator (fanotify.bpf.c), written
// as crib.Fanotify (fanotify.proto).
import { layout } from '../../engine-ts/src/bpf/records';
import { BadRecordError } from '../../engine-ts/src/errors';
import { OpModule } from '../../engine-ts/src/engine/ops';
import { PbWriter } from '../../engine-ts/src/engine/pbwriter';

/** struct crib_fanotify (fanotify.h); fanotify.test.ts checks it against the object's BTF */
export const FANOTIFY = layout('crib_fanotify', 24, [
  ['pid', 0, 4],
  ['fd', 4, 4],
  ['nr', 8, 4],
  ['flags', 12, 4],
  ['fa_flags', 16, 4],
  ['ev_flags', 20, 4],
]);

/** struct crib_fanotify_mark (fanotify.h), nr of them after each struct crib_fanotify */
export const FANOTIFY_MARK = layout('crib_fanotify_mark', 56, [
  ['type', 0, 4],
  ['mflags', 4, 4],
  ['mask', 8, 4],
  ['ignored_mask', 12, 4],
  ['ino', 16, 8],
  ['sdev', 24, 4],
  ['mnt_id', 28, 4],
  ['fh_bytes', 32, 4],
  ['fh_type', 36, 4],
  ['fh', 40, 16],
]);

/** CRIB_FANOTIFY_MAX_MARKS */
export const MAX_MARKS = 256;
/** CRIB_FANOTIFY_FH_MAX */
const FH_MAX = 16;
/** CRIB_FANOTIFY_ALL */
const ALL = 1;
/** CRIB_FANOTIFY_MARK_INODE, CRIB_FANOTIFY_MARK_MOUNT */
export const MARK_INODE = 1;
export const MARK_MOUNT = 2;

const M = FANOTIFY.members;
const K = FANOTIFY_MARK.members;
const w = new PbWriter();

type Item = { off: number; len: number; extra: number };

/** crib.Fanotify of task @pid from its records, each checked; a view of a buffer the next call overwrites */
export function encodeFanotify(src: ArrayBuffer, items: Item[], pid: number): Uint8Array {
  w.reset();
  let last = -1;
  for (const it of items) {
    if (it.len < FANOTIFY.size) throw new BadRecordError('fanotify', `record of ${it.len} bytes, at least ${FANOTIFY.size} expected`);
    const dv = new DataView(src, it.off, it.len);
    const fd = dv.getInt32(M.fd.offset, true);
    const nr = dv.getUint32(M.nr.offset, true);
    const flags = dv.getUint32(M.flags.offset, true);
    if (dv.getInt32(M.pid.offset, true) !== pid) throw new BadRecordError('fanotify', `a record of pid ${dv.getInt32(M.pid.offset, true)} among pid ${pid}'s`);
    if (fd <= last) throw new BadRecordError('fanotify', `fd ${fd} after fd ${last}`);
    if (flags & ~ALL) throw new BadRecordError('fanotify', `fd ${fd}: flags 0x${flags.toString(16)}`);
    if (nr > MAX_MARKS || it.extra !== nr * FANOTIFY_MARK.size || FANOTIFY.size + it.extra > it.len) {
      throw new BadRecordError('fanotify', `fd ${fd}: ${nr} marks in ${it.extra} bytes of a record of ${it.len}`);
    }
    const at = (i: number, f: { offset: number }) => FANOTIFY.size + i * FANOTIFY_MARK.size + f.offset;
    for (let i = 0; i < nr; i++) {
      const type = dv.getUint32(at(i, K.type), true);
      const bytes = dv.getUint32(at(i, K.fh_bytes), true);
      if ((type !== MARK_INODE && type !== MARK_MOUNT) || bytes > FH_MAX || (type === MARK_INODE ? flags & ALL && !bytes : bytes)) {
        throw new BadRecordError('fanotify', `fd ${fd}: mark ${i} of type ${type} with a handle of ${bytes} bytes`);
      }
    }
    last = fd;
    const all = (flags & ALL) !== 0;
    w.message(1, () => {
      w.int32(1, fd).uint(2, dv.getUint32(M.fa_flags.offset, true)).uint(3, dv.getUint32(M.ev_flags.offset, true));
      w.uint(4, all ? 1 : 0);
      if (!all) return;
      for (let i = 0; i < nr; i++) {
        const type = dv.getUint32(at(i, K.type), true);
        w.message(5, () => {
          w.uint(1, type).uint(2, dv.getUint32(at(i, K.mflags), true)).uint(3, dv.getUint32(at(i, K.mask), true));
          w.uint(4, dv.getUint32(at(i, K.ignored_mask), true));
          if (type === MARK_MOUNT) return void w.uint(9, dv.getUint32(at(i, K.mnt_id), true));
          w.uint64(5, dv.getUint32(at(i, K.ino), true), dv.getUint32(at(i, K.ino) + 4, true));
          w.uint(6, dv.getUint32(at(i, K.sdev), true)).int32(7, dv.getInt32(at(i, K.fh_type), true));
          w.bytes(8, new Uint8Array(src, it.off + at(i, K.fh), dv.getUint32(at(i, K.fh_bytes), true)));
        });
      }
    });
  }
  return w.finish();
}

export const op: OpModule = {
  message: 'crib.Fanotify',
  mechanisms: [{ mechanism: 'bpf:iter/task_file', object: 'fanotify.bpf.o', program: 'crib_fanotify', reader: 'iter' }],
  // not read for the whole tree (fdtype's reason), but for each task whose fd walk shows files on these mounts
  tree: false,
  files: ['anon_inode'],
  read(r, pid) {
    const s = r.stream(pid);
    return encodeFanotify(s.buf, s.items, pid);
  },
};
