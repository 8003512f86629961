// Op auxv in the engine: the record of auxv.h (from the programs of
// crib_task_op.h) written as crib.Auxv (auxv.proto): the words up to and
// including the AT_NULL pair, as /proc/PID/auxv prints them, as the packed
// fixed64 field they already are.
import { layout } from '../../engine-ts/src/bpf/records';
import { BadRecordError } from '../../engine-ts/src/errors';
import { taskOp, taskOpLayouts } from '../../engine-ts/src/engine/ops';

/** CRIB_AUXV_MAX */
export const AUXV_MAX = 64;

/** struct crib_auxv (auxv.h); auxv.test.ts checks it against the object's BTF */
export const AUXV = layout('crib_auxv', 8 + 8 * AUXV_MAX, [
  ['nr', 0, 4],
  ['_pad0', 4, 4],
  ['word', 8, 8 * AUXV_MAX],
]);

/** struct crib_auxv_ctx and struct crib_auxv_tree (crib_task_op.h) */
export const { ctx: AUXV_CTX, tree: AUXV_TREE } = taskOpLayouts('auxv', AUXV);

const buf = new Uint8Array(3 + 8 * AUXV_MAX);

/** crib.Auxv of the record at @off in @src, checked; a view of a buffer the next call overwrites */
export function encodeAuxv(src: ArrayBuffer, off: number): Uint8Array {
  const dv = new DataView(src, off, AUXV.size);
  const nr = dv.getUint32(AUXV.members.nr.offset, true);
  if (nr > AUXV_MAX || nr % 2) throw new BadRecordError('auxv', `nr ${nr} (at most ${AUXV_MAX}, even)`);
  if (nr === 0) return buf.subarray(0, 0); // no mm: /proc/PID/auxv is empty
  let n = -1;
  for (let i = 0; i < nr; i += 2) {
    const w = AUXV.members.word.offset + 8 * i;
    if (dv.getUint32(w, true) === 0 && dv.getUint32(w + 4, true) === 0) {
      n = i + 2; // AT_NULL, the last pair printed
      break;
    }
  }
  if (n < 0) throw new BadRecordError('auxv', `no AT_NULL in ${nr} words`);
  let at = 0;
  buf[at++] = (1 << 3) | 2; // field 1, packed
  let len = 8 * n;
  while (len > 0x7f) {
    buf[at++] = (len & 0x7f) | 0x80;
    len >>>= 7;
  }
  buf[at++] = len;
  buf.set(new Uint8Array(src, off + AUXV.members.word.offset, 8 * n), at);
  return buf.subarray(0, at + 8 * n);
}

export const op = taskOp({ name: 'auxv', message: 'crib.Auxv', size: AUXV.size, encode: encodeAuxv });
