// Op pidfd in the engine: the records of pidfd.h, one per pidfd, from its
// seq iterator (pidfd.bpf.c), written as crib.Pidfd (pidfd.proto).
import { layout } from '../../engine-ts/src/bpf/records';
import { BadRecordError } from '../../engine-ts/src/errors';
import { OpModule } from '../../engine-ts/src/engine/ops';
import { PbWriter } from '../../engine-ts/src/engine/pbwriter';

/** struct crib_pidfd (pidfd.h); pidfd.test.ts checks it against the object's BTF */
export const PIDFD = layout('crib_pidfd', 24, [
  ['pid', 0, 4],
  ['fd', 4, 4],
  ['nr', 8, 4],
  ['ns_nr', 12, 4],
  ['ino', 16, 8],
]);

const M = PIDFD.members;
const w = new PbWriter();

type Item = { off: number; len: number };

/** crib.Pidfd of task @pid from its records, each checked; a view of a buffer the next call overwrites */
export function encodePidfd(src: ArrayBuffer, items: Item[], pid: number): Uint8Array {
  w.reset();
  let last = -1;
  for (const it of items) {
    if (it.len !== PIDFD.size) throw new BadRecordError('pidfd', `record of ${it.len} bytes, ${PIDFD.size} expected`);
    const dv = new DataView(src, it.off, PIDFD.size);
    const fd = dv.getInt32(M.fd.offset, true);
    const nr = dv.getInt32(M.nr.offset, true);
    const nsNr = dv.getInt32(M.ns_nr.offset, true);
    if (dv.getInt32(M.pid.offset, true) !== pid) throw new BadRecordError('pidfd', `a record of pid ${dv.getInt32(M.pid.offset, true)} among pid ${pid}'s`);
    if (fd <= last) throw new BadRecordError('pidfd', `fd ${fd} after fd ${last}`);
    // a process the caller sees has a number in its own namespace too; else both say why not
    if (nr < -1 || (nr > 0 ? nsNr <= 0 : nsNr !== nr)) throw new BadRecordError('pidfd', `fd ${fd}: pid ${nr}, ${nsNr} in its namespace`);
    last = fd;
    w.message(1, () => {
      w.int32(1, fd).int32(2, nr).int32(3, nsNr);
      w.uint64(4, dv.getUint32(M.ino.offset, true), dv.getUint32(M.ino.offset + 4, true));
    });
  }
  return w.finish();
}

export const op: OpModule = {
  message: 'crib.Pidfd',
  mechanisms: [{ mechanism: 'bpf:iter/task_file', object: 'pidfd.bpf.o', program: 'crib_pidfd', reader: 'iter' }],
  // not read for the whole tree (fdtype's reason), but for each task whose fd walk shows files on these mounts
  tree: false,
  files: ['anon_inode', 'pidfs'],
  read(r, pid) {
    const s = r.stream(pid);
    return encodePidfd(s.buf, s.items, pid);
  },
};
