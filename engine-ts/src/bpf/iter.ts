// The seq-iterator fallbacks (bpf/*_iter.bpf.c): for kernels where the
// SYSCALL programs cannot load (no bpf_task_from_pid before 6.2, no
// open-coded VMA iterator before 6.7).  Each read attaches an iterator
// program to one task (link_info.iter.task.tid) through the native addon,
// reads the iterator fd until EOF and decodes the record stream of
// bpf/crib.h (struct crib_rec) into what the SYSCALL programs' maps and
// replies hold, so the collector decodes both the same way.
import { CribError } from '../errors';
import { isNativeError, NativeBpfObject } from './native';
import {
  decodeEndRec,
  decodeFds,
  decodeVmas,
  fdMapOfRecs,
  GateVma,
  Rec,
  REC,
  RecType,
  REQ,
  Reply,
  REQ_F_GATE_VMA,
  splitRecs,
  taskCtxOfRec,
  vmaMapsOfRecs,
  VmaTableWithRaw,
} from './records';
import { FdTable, OpName } from './types';

/** The addon's iterator call (engine-ts/native crib_obj_iter_read). */
export interface IterCapable {
  /** attaches prog to task tid (or, with tid 0, process pid), reads it until EOF */
  iterRead(prog: string, pid: number, tid: number): ArrayBuffer;
}

export function canIterate(obj: NativeBpfObject): obj is NativeBpfObject & IterCapable {
  return typeof (obj as Partial<IterCapable>).iterRead === 'function';
}

/** The whole output of `prog` attached to task `tid` (0: every task), split into records. */
function readTask(op: string, obj: NativeBpfObject, prog: string, tid: number): { buf: ArrayBuffer; recs: Rec[] } {
  if (!canIterate(obj)) throw new CribError('EIO', `${op}: the native addon has no iterRead; rebuild it (make addon)`);
  let buf: ArrayBuffer;
  try {
    buf = obj.iterRead(prog, 0, tid);
  } catch (e) {
    const why = isNativeError(e) ? `${e.message}${e.log ? `: ${e.log.trim()}` : ''}` : String(e);
    throw new CribError('EIO', `${op}: ${tid ? `pid ${tid}` : 'every task'}: reading iterator ${prog} failed: ${why}`);
  }
  return { buf, recs: splitRecs(op, buf) };
}

function endOf(op: string, buf: ArrayBuffer, recs: Rec[]): Reply | undefined {
  const end = recs.find((r) => r.type === RecType.End);
  return end ? decodeEndRec(op, buf, end) : undefined;
}

/** stat/status: a struct crib_task_ctx as the SYSCALL program leaves it; undefined: no such task. */
export function iterTask(op: OpName, obj: NativeBpfObject, prog: string, pid: number): Uint8Array | undefined {
  const { buf, recs } = readTask(op, obj, prog, pid);
  const r = recs.find((x) => x.type === RecType.Task);
  return r ? taskCtxOfRec(op, buf, r) : undefined;
}

/** threads/children: the reply of the END record (the pids are in map "tids"); undefined: no such task. */
export function iterReply(op: OpName, obj: NativeBpfObject, prog: string, pid: number): Reply | undefined {
  const { buf, recs } = readTask(op, obj, prog, pid);
  return endOf(op, buf, recs);
}

/** The task exists (the object's iter/task probe wrote its END record). */
function exists(op: OpName, obj: NativeBpfObject, probe: string, pid: number): boolean {
  const { buf, recs } = readTask(op, obj, probe, pid);
  return (endOf(op, buf, recs)?.count ?? 0) > 0;
}

/**
 * vma: the VMAs of one task; undefined: no such task.  A reply with err set
 * is handed back for the collector to report.
 */
export function iterVmas(obj: NativeBpfObject, prog: string, probe: string, pid: number, gate?: GateVma): { reply: Reply; table?: VmaTableWithRaw } | undefined {
  const { buf, recs } = readTask('vma', obj, prog, pid);
  const reply = endOf('vma', buf, recs) ?? { err: 0, count: 0, total: 0, namesLen: 0, flags: 0 };
  const m = vmaMapsOfRecs(buf, recs);
  if (reply.err) return { reply };
  if (m.count !== reply.count || m.namesLen !== reply.namesLen) {
    throw new CribError('EIO', `vma: pid ${pid}: ${m.count} VMA records and ${m.namesLen} name bytes, the END record says ${reply.count} and ${reply.namesLen}`);
  }
  // nothing: no mm (a zombie: no VMAs, as smaps shows) or no task
  if (m.count === 0 && !exists('vma', obj, probe, pid)) return undefined;
  const g = reply.flags & REQ_F_GATE_VMA ? gate : undefined;
  return { reply, table: decodeVmas(pid, m.vmas, m.names, m.count, m.namesLen, g) };
}

/** fds: the open fds of one task; undefined: no such task. */
export function iterFds(obj: NativeBpfObject, prog: string, probe: string, pid: number): { reply: Reply; table?: FdTable } | undefined {
  const { buf, recs } = readTask('fds', obj, prog, pid);
  const reply = endOf('fds', buf, recs) ?? { err: 0, count: 0, total: 0, namesLen: 0, flags: 0 };
  if (reply.err) return { reply };
  const m = fdMapOfRecs(buf, recs);
  if (m.count !== reply.count) throw new CribError('EIO', `fds: pid ${pid}: ${m.count} FD records, the END record says ${reply.count}`);
  // nothing: no files (a zombie) or no task
  if (m.count === 0 && !exists('fds', obj, probe, pid)) return undefined;
  return { reply, table: decodeFds(pid, m.fds, m.count) };
}

/**
 * A folder op (engine/ops.ts): the reply part of @ctx (after struct
 * crib_req) from the CRIB_REC_CTX record, as the op's SYSCALL program
 * would leave it, and the END record's reply; undefined: no such task.
 */
export function iterCtx(op: string, obj: NativeBpfObject, prog: string, pid: number, ctx: Uint8Array): Reply | undefined {
  const { buf, recs } = readTask(op, obj, prog, pid);
  const reply = endOf(op, buf, recs);
  if (!reply) return undefined;
  if (reply.err) return reply;
  const r = recs.find((x) => x.type === RecType.Ctx);
  if (!r) throw new CribError('EIO', `${op}: pid ${pid}: ${prog} wrote an END record but no CTX record`);
  const want = ctx.byteLength - REQ.size;
  if (r.len - REC.size < want) throw new CribError('EIO', `${op}: pid ${pid}: CTX record of ${r.len - REC.size} bytes, ${want} expected`);
  ctx.set(new Uint8Array(buf, r.off, want), REQ.size);
  return reply;
}

/**
 * A folder op whose answer is a list (engine/ops.ts, ProgramRunner.stream):
 * the CRIB_REC_CTX records of one read of @prog attached to @tid, one per
 * item, checked against the END record's count; undefined: no such task
 * (@probe, the object's CRIB_ITER_TASK_PROBE, tells a task without items
 * from none).  A reply with err set is handed back for the collector to report.
 */
export function iterStream(op: string, obj: NativeBpfObject, prog: string, probe: string, tid: number): { reply: Reply; buf: ArrayBuffer; items: Rec[] } | undefined {
  const { buf, recs } = readTask(op, obj, prog, tid);
  const reply = endOf(op, buf, recs) ?? { err: 0, count: 0, total: 0, namesLen: 0, flags: 0 };
  if (reply.err) return { reply, buf, items: [] };
  const items = recs.filter((r) => r.type === RecType.Ctx);
  if (items.length !== reply.count) throw new CribError('EIO', `${op}: pid ${tid}: ${items.length} records, the END record says ${reply.count}`);
  if (items.length === 0 && !exists(op as OpName, obj, probe, tid)) return undefined;
  return { reply, buf, items };
}

/**
 * A list op's iterator attached to no task: every task it reports (map
 * "want" says which), its CRIB_REC_CTX records in task order, checked
 * against the END record's count.  A reply with err set is handed back.
 */
export function iterStreamAll(op: string, obj: NativeBpfObject, prog: string): { reply: Reply; buf: ArrayBuffer; items: Rec[] } {
  const { buf, recs } = readTask(op, obj, prog, 0);
  const reply = endOf(op, buf, recs);
  if (!reply) throw new CribError('EIO', `${op}: ${prog} over every task wrote no END record`);
  if (reply.err) return { reply, buf, items: [] };
  const items = recs.filter((r) => r.type === RecType.Ctx);
  if (items.length !== reply.count) throw new CribError('EIO', `${op}: every task: ${items.length} records, the END record says ${reply.count}`);
  return { reply, buf, items };
}
