// Op nsids in the engine: the record of nsids.h (from the programs of
// crib_task_op.h) written as crib.NsIds (nsids.proto): the kid column is
// the packed fixed32 field as it is.
import { layout } from '../../engine-ts/src/bpf/records';
import { taskOp, taskOpLayouts } from '../../engine-ts/src/engine/ops';

/** CRIB_NS_NR, and the names of /proc/PID/ns/ in kid[] order (enum cr_eng_ns) */
export const NS_FILES = ['pid', 'net', 'ipc', 'uts', 'mnt', 'user', 'cgroup', 'time', 'time_for_children'] as const;
export const NS_NR = NS_FILES.length;

/** struct crib_nsids (nsids.h); nsids.test.ts checks it against the object's BTF */
export const NSIDS = layout('crib_nsids', 40, [
  ['kid', 0, 4 * NS_NR],
  ['_pad0', 4 * NS_NR, 4],
]);

/** struct crib_nsids_ctx and struct crib_nsids_tree (crib_task_op.h) */
export const { ctx: NSIDS_CTX, tree: NSIDS_TREE } = taskOpLayouts('nsids', NSIDS);

const buf = new Uint8Array(2 + 4 * NS_NR);
buf[0] = (1 << 3) | 2; // field 1, packed
buf[1] = 4 * NS_NR;

/** crib.NsIds of the record at @off in @src; a view of a buffer the next call overwrites */
export function encodeNsIds(src: ArrayBuffer, off: number): Uint8Array {
  buf.set(new Uint8Array(src, off + NSIDS.members.kid.offset, 4 * NS_NR), 2);
  return buf;
}

export const op = taskOp({ name: 'nsids', message: 'crib.NsIds', size: NSIDS.size, encode: encodeNsIds });
