// Op taskmisc in the engine: the record of taskmisc.h (from the programs
// of crib_task_op.h: crib_taskmisc, its iterator fallback, the tree pass)
// written as crib.TaskMisc (taskmisc.proto).  The message is written by hand from the
// record's bytes: the two rlimit columns are already the packed fixed64
// fields, so a task costs a few varints and two copies.
import { layout } from '../../engine-ts/src/bpf/records';
import { INIT_USER_NS_INUM } from '../../engine-ts/src/bpf/pidns';
import { BadRecordError } from '../../engine-ts/src/errors';
import { taskOp, taskOpLayouts } from '../../engine-ts/src/engine/ops';

/** CRIB_RLIMITS: RLIM_NLIMITS */
export const RLIMITS = 16;
/** CRIB_TASKMISC_* */
export const HAVE_LOGINUID = 1 << 0;
export const HAVE_OOM = 1 << 1;

/** struct crib_taskmisc (taskmisc.h); taskmisc.test.ts checks it against the object's BTF */
export const TASKMISC = layout('crib_taskmisc', 280, [
  ['have', 0, 4],
  ['personality', 4, 4],
  ['loginuid', 8, 4],
  ['oom_score_adj', 12, 4],
  ['nr_rlimits', 16, 4],
  ['_pad0', 20, 4],
  ['rlim_cur', 24, 8 * RLIMITS],
  ['rlim_max', 24 + 8 * RLIMITS, 8 * RLIMITS],
]);

/** struct crib_taskmisc_ctx and struct crib_taskmisc_tree (crib_task_op.h) */
export const { ctx: TASKMISC_CTX, tree: TASKMISC_TREE } = taskOpLayouts('taskmisc', TASKMISC);

const M = TASKMISC.members;
const buf = new Uint8Array(16 + 2 * (3 + 8 * RLIMITS) + 32);

function varint(at: number, v: number): number {
  v >>>= 0;
  while (v > 0x7f) {
    buf[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[at++] = v;
  return at;
}

/**
 * crib.TaskMisc of the record at @off in @src, checked; a view of a buffer
 * the next call overwrites.
 */
export function encodeTaskMisc(src: ArrayBuffer, off: number): Uint8Array {
  const dv = new DataView(src, off, TASKMISC.size);
  const have = dv.getUint32(M.have.offset, true);
  const n = dv.getUint32(M.nr_rlimits.offset, true);
  if (n > RLIMITS) throw new BadRecordError('taskmisc', `nr_rlimits ${n} > ${RLIMITS}`);
  if (have & ~(HAVE_LOGINUID | HAVE_OOM)) throw new BadRecordError('taskmisc', `unknown bits in have: 0x${have.toString(16)}`);
  const oom = dv.getInt32(M.oom_score_adj.offset, true);
  let at = 0;
  buf[at++] = (1 << 3) | 0;
  at = varint(at, have);
  buf[at++] = (2 << 3) | 0;
  at = varint(at, dv.getUint32(M.personality.offset, true));
  buf[at++] = (3 << 3) | 0;
  at = varint(at, dv.getUint32(M.loginuid.offset, true));
  buf[at++] = (4 << 3) | 0;
  at = varint(at, ((oom << 1) ^ (oom >> 31)) >>> 0); // sint32: zigzag
  if (n > 0) {
    for (const [field, col] of [
      [5, M.rlim_cur.offset],
      [6, M.rlim_max.offset],
    ]) {
      buf[at++] = (field << 3) | 2;
      at = varint(at, 8 * n);
      buf.set(new Uint8Array(src, off + col, 8 * n), at);
      at += 8 * n;
    }
  }
  return buf.subarray(0, at);
}

export const op = taskOp({
  name: 'taskmisc',
  message: 'crib.TaskMisc',
  size: TASKMISC.size,
  encode: encodeTaskMisc,
  // /proc/PID/loginuid prints the kuid in the reader's user namespace; the programs give it raw
  refuse: (caller) =>
    caller.userNs !== undefined && caller.userNs !== INIT_USER_NS_INUM
      ? `the caller is in user:[${caller.userNs}], not the init user namespace: loginuid would need mapping`
      : undefined,
});
