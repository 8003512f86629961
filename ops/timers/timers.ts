// Op timers in the engine: the record of timers.h (from the programs of
// crib_task_op.h) written as crib.Timers (timers.proto).
import { layout } from '../../engine-ts/src/bpf/records';
import { BadRecordError } from '../../engine-ts/src/errors';
import { taskOp, taskOpLayouts } from '../../engine-ts/src/engine/ops';

/** struct crib_timers (timers.h); timers.test.ts checks it against the object's BTF */
export const TIMERS = layout('crib_timers', 8, [
  ['any', 0, 4],
  ['_pad0', 4, 4],
]);

/** struct crib_timers_ctx and struct crib_timers_tree (crib_task_op.h) */
export const { ctx: TIMERS_CTX, tree: TIMERS_TREE } = taskOpLayouts('timers', TIMERS);

const msg = [new Uint8Array([1 << 3, 0]), new Uint8Array([1 << 3, 1])];

/** crib.Timers of the record at @off in @src, checked */
export function encodeTimers(src: ArrayBuffer, off: number): Uint8Array {
  const any = new DataView(src, off, TIMERS.size).getUint32(TIMERS.members.any.offset, true);
  if (any > 1) throw new BadRecordError('timers', `any is ${any}`);
  return msg[any];
}

export const op = taskOp({ name: 'timers', message: 'crib.Timers', size: TIMERS.size, encode: encodeTimers });
