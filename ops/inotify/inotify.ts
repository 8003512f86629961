// Op inotify in the engine: the records of inotify.h, one per inotify fd
// with its watches after it, from its seq iterator (inotify.bpf.c), written
// as crib.Inotify (inotify.proto).
import { layout } from '../../engine-ts/src/bpf/records';
import { BadRecordError } from '../../engine-ts/src/errors';
import { OpModule } from '../../engine-ts/src/engine/ops';
import { PbWriter } from '../../engine-ts/src/engine/pbwriter';

/** struct crib_inotify (inotify.h); inotify.test.ts checks it against the object's BTF */
export const INOTIFY = layout('crib_inotify', 16, [
  ['pid', 0, 4],
  ['fd', 4, 4],
  ['nr', 8, 4],
  ['flags', 12, 4],
]);

/** struct crib_inotify_wd (inotify.h), nr of them after each struct crib_inotify */
export const INOTIFY_WD = layout('crib_inotify_wd', 48, [
  ['wd', 0, 4],
  ['mask', 4, 4],
  ['ino', 8, 8],
  ['sdev', 16, 4],
  ['ignored_mask', 20, 4],
  ['fh_bytes', 24, 4],
  ['fh_type', 28, 4],
  ['fh', 32, 16],
]);

/** CRIB_INOTIFY_MAX_WDS */
export const MAX_WDS = 256;
/** CRIB_INOTIFY_FH_MAX */
const FH_MAX = 16;
/** CRIB_INOTIFY_ALL */
const ALL = 1;

const M = INOTIFY.members;
const W = INOTIFY_WD.members;
const w = new PbWriter();

type Item = { off: number; len: number; extra: number };

/** crib.Inotify of task @pid from its records, each checked; a view of a buffer the next call overwrites */
export function encodeInotify(src: ArrayBuffer, items: Item[], pid: number): Uint8Array {
  w.reset();
  let last = -1;
  for (const it of items) {
    if (it.len < INOTIFY.size) throw new BadRecordError('inotify', `record of ${it.len} bytes, at least ${INOTIFY.size} expected`);
    const dv = new DataView(src, it.off, it.len);
    const fd = dv.getInt32(M.fd.offset, true);
    const nr = dv.getUint32(M.nr.offset, true);
    const flags = dv.getUint32(M.flags.offset, true);
    if (dv.getInt32(M.pid.offset, true) !== pid) throw new BadRecordError('inotify', `a record of pid ${dv.getInt32(M.pid.offset, true)} among pid ${pid}'s`);
    if (fd <= last) throw new BadRecordError('inotify', `fd ${fd} after fd ${last}`);
    if (flags & ~ALL) throw new BadRecordError('inotify', `fd ${fd}: flags 0x${flags.toString(16)}`);
    if (nr > MAX_WDS || (!(flags & ALL) && nr !== MAX_WDS) || it.extra !== nr * INOTIFY_WD.size || INOTIFY.size + it.extra > it.len) {
      throw new BadRecordError('inotify', `fd ${fd}: ${nr} watches (flags 0x${flags.toString(16)}) in ${it.extra} bytes of a record of ${it.len}`);
    }
    last = fd;
    // a watch whose handle the engine cannot encode leaves the whole fd to the fdinfo
    let all = (flags & ALL) !== 0;
    for (let i = 0; i < nr; i++) {
      const bytes = dv.getUint32(INOTIFY.size + i * INOTIFY_WD.size + W.fh_bytes.offset, true);
      if (bytes > FH_MAX) throw new BadRecordError('inotify', `fd ${fd}: watch ${i}: a handle of ${bytes} bytes`);
      if (!bytes) all = false;
    }
    w.message(1, () => {
      w.int32(1, fd).uint(2, all ? 1 : 0);
      if (!all) return;
      for (let i = 0; i < nr; i++) {
        const at = INOTIFY.size + i * INOTIFY_WD.size;
        const bytes = dv.getUint32(at + W.fh_bytes.offset, true);
        w.message(3, () => {
          w.int32(1, dv.getInt32(at + W.wd.offset, true)).uint(2, dv.getUint32(at + W.mask.offset, true));
          w.uint64(3, dv.getUint32(at + W.ino.offset, true), dv.getUint32(at + W.ino.offset + 4, true));
          w.uint(4, dv.getUint32(at + W.sdev.offset, true)).uint(5, dv.getUint32(at + W.ignored_mask.offset, true));
          w.int32(6, dv.getInt32(at + W.fh_type.offset, true));
          w.bytes(7, new Uint8Array(src, it.off + at + W.fh.offset, bytes));
        });
      }
    });
  }
  return w.finish();
}

export const op: OpModule = {
  message: 'crib.Inotify',
  mechanisms: [{ mechanism: 'bpf:iter/task_file', object: 'inotify.bpf.o', program: 'crib_inotify', reader: 'iter' }],
  // not read for the whole tree (fdtype's reason), but for each task whose fd walk shows files on these mounts
  tree: false,
  files: ['anon_inode'],
  read(r, pid) {
    const s = r.stream(pid);
    return encodeInotify(s.buf, s.items, pid);
  },
};
