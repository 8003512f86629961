// Op epoll in the engine: the records of epoll.h, one per epoll fd with its
// targets after it, from its seq iterator (epoll.bpf.c), written as
// crib.Epoll (epoll.proto).
import { layout } from '../../engine-ts/src/bpf/records';
import { BadRecordError } from '../../engine-ts/src/errors';
import { OpModule } from '../../engine-ts/src/engine/ops';
import { PbWriter } from '../../engine-ts/src/engine/pbwriter';

/** struct crib_epoll (epoll.h); epoll.test.ts checks it against the object's BTF */
export const EPOLL = layout('crib_epoll', 16, [
  ['pid', 0, 4],
  ['fd', 4, 4],
  ['nr', 8, 4],
  ['flags', 12, 4],
]);

/** struct crib_epoll_tfd (epoll.h), nr of them after each struct crib_epoll */
export const EPOLL_TFD = layout('crib_epoll_tfd', 40, [
  ['tfd', 0, 4],
  ['events', 4, 4],
  ['data', 8, 8],
  ['pos', 16, 8],
  ['ino', 24, 8],
  ['sdev', 32, 4],
  ['pad', 36, 4],
]);

/** CRIB_EPOLL_MAX_TFDS */
export const MAX_TFDS = 512;
/** CRIB_EPOLL_ALL */
const ALL = 1;

const M = EPOLL.members;
const T = EPOLL_TFD.members;
const w = new PbWriter();

type Item = { off: number; len: number; extra: number };

/** crib.Epoll of task @pid from its records, each checked; a view of a buffer the next call overwrites */
export function encodeEpoll(src: ArrayBuffer, items: Item[], pid: number): Uint8Array {
  w.reset();
  let last = -1;
  for (const it of items) {
    if (it.len < EPOLL.size) throw new BadRecordError('epoll', `record of ${it.len} bytes, at least ${EPOLL.size} expected`);
    const dv = new DataView(src, it.off, it.len);
    const fd = dv.getInt32(M.fd.offset, true);
    const nr = dv.getUint32(M.nr.offset, true);
    const flags = dv.getUint32(M.flags.offset, true);
    if (dv.getInt32(M.pid.offset, true) !== pid) throw new BadRecordError('epoll', `a record of pid ${dv.getInt32(M.pid.offset, true)} among pid ${pid}'s`);
    if (fd <= last) throw new BadRecordError('epoll', `fd ${fd} after fd ${last}`);
    if (flags & ~ALL) throw new BadRecordError('epoll', `fd ${fd}: flags 0x${flags.toString(16)}`);
    if (nr > MAX_TFDS || (!(flags & ALL) && nr !== MAX_TFDS) || it.extra !== nr * EPOLL_TFD.size || EPOLL.size + it.extra > it.len) {
      throw new BadRecordError('epoll', `fd ${fd}: ${nr} targets (flags 0x${flags.toString(16)}) in ${it.extra} bytes of a record of ${it.len}`);
    }
    last = fd;
    w.message(1, () => {
      w.int32(1, fd).uint(2, flags & ALL ? 1 : 0);
      for (let i = 0; i < nr; i++) {
        const t = EPOLL.size + i * EPOLL_TFD.size;
        const at = (f: { offset: number }) => t + f.offset;
        if (dv.getUint32(at(T.pad), true)) throw new BadRecordError('epoll', `fd ${fd}: target ${i}: padding not zero`);
        // 64-bit fields as their two 32-bit halves: an int64's varint is that of its two's complement
        const u64 = (f: number, off: number) => w.uint64(f, dv.getUint32(off, true), dv.getUint32(off + 4, true));
        w.message(3, () => {
          w.int32(1, dv.getInt32(at(T.tfd), true)).uint(2, dv.getUint32(at(T.events), true));
          u64(3, at(T.data));
          u64(4, at(T.pos));
          u64(5, at(T.ino));
          w.uint(6, dv.getUint32(at(T.sdev), true));
        });
      }
    });
  }
  return w.finish();
}

export const op: OpModule = {
  message: 'crib.Epoll',
  mechanisms: [{ mechanism: 'bpf:iter/task_file', object: 'epoll.bpf.o', program: 'crib_epoll', reader: 'iter' }],
  // not read for the whole tree (fdtype's reason), but for each task whose fd walk shows files on these mounts
  tree: false,
  files: ['anon_inode'],
  read(r, pid) {
    const s = r.stream(pid);
    return encodeEpoll(s.buf, s.items, pid);
  },
};
