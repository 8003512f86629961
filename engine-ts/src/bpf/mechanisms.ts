// Choosing a mechanism per op by hand: CRIB_MECHANISM=op=mechanism[,...]
// (e.g. "vma=bpf:iter/task_vma,fds=bpf:iter/task_file") or the collector's
// `mechanisms` option.  Without it the collector takes the best mechanism
// that loads (SOURCES); with it the op is served by that one or reported
// unsupported, which is how the tests run every mechanism on one kernel.
import { UsageError } from '../errors';
import { OP_NAMES, OpName } from './types';

export type MechanismChoice = Partial<Record<OpName, string>>;

/** "op=mech,op=mech" -> choice; "" or undefined -> {} */
export function parseMechanisms(spec: string | undefined): MechanismChoice {
  const out: MechanismChoice = {};
  if (!spec) return out;
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    const op = part.slice(0, i) as OpName;
    if (i <= 0 || !OP_NAMES.includes(op) || !part.slice(i + 1)) {
      throw new UsageError(`CRIB_MECHANISM: "${part}" is not op=mechanism with op one of ${OP_NAMES.join(', ')}`);
    }
    out[op] = part.slice(i + 1);
  }
  return out;
}
