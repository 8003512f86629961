// Op taskmisc in the engine: crib_taskmisc (taskmisc.bpf.c) for one task,
// its record (taskmisc.h) decoded into crib.TaskMisc (taskmisc.proto).
import { layout, REQ } from '../../engine-ts/src/bpf/records';
import { INIT_USER_NS_INUM } from '../../engine-ts/src/bpf/pidns';
import { BadRecordError } from '../../engine-ts/src/errors';
import { OpModule } from '../../engine-ts/src/engine/ops';

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
  ['rlim', 24, 16 * RLIMITS],
]);

/** struct crib_taskmisc_ctx: the request, then the record */
export const TASKMISC_CTX = layout('crib_taskmisc_ctx', REQ.size + TASKMISC.size, [
  ['req', 0, REQ.size],
  ['misc', REQ.size, TASKMISC.size],
]);

export interface TaskMisc {
  have: number;
  personality: number;
  loginuid: number;
  oomScoreAdj: number;
  rlimCur: bigint[];
  rlimMax: bigint[];
}

/** The record in a context the program has run on. */
export function decodeTaskMisc(ctx: Uint8Array): TaskMisc {
  if (ctx.byteLength < TASKMISC_CTX.size) throw new BadRecordError('taskmisc', `context of ${ctx.byteLength} bytes < ${TASKMISC_CTX.size}`);
  const dv = new DataView(ctx.buffer, ctx.byteOffset + REQ.size, TASKMISC.size);
  const m = TASKMISC.members;
  const n = dv.getUint32(m.nr_rlimits.offset, true);
  if (n > RLIMITS) throw new BadRecordError('taskmisc', `nr_rlimits ${n} > ${RLIMITS}`);
  const have = dv.getUint32(m.have.offset, true);
  if (have & ~(HAVE_LOGINUID | HAVE_OOM)) throw new BadRecordError('taskmisc', `unknown bits in have: 0x${have.toString(16)}`);
  const rlimCur: bigint[] = [];
  const rlimMax: bigint[] = [];
  for (let i = 0; i < n; i++) {
    rlimCur.push(dv.getBigUint64(m.rlim.offset + 16 * i, true));
    rlimMax.push(dv.getBigUint64(m.rlim.offset + 16 * i + 8, true));
  }
  return {
    have,
    personality: dv.getUint32(m.personality.offset, true),
    loginuid: dv.getUint32(m.loginuid.offset, true),
    oomScoreAdj: dv.getInt32(m.oom_score_adj.offset, true),
    rlimCur,
    rlimMax,
  };
}

const u64 = (v: bigint) => ({ low: Number(v & 0xffffffffn) | 0, high: Number((v >> 32n) & 0xffffffffn) | 0, unsigned: true });

const ctx = new Uint8Array(TASKMISC_CTX.size);

export const op: OpModule = {
  message: 'crib.TaskMisc',
  mechanisms: [
    { mechanism: 'bpf:task', object: 'taskmisc.bpf.o', program: 'crib_taskmisc' },
    // kernels without bpf_task_from_pid (< 6.2)
    { mechanism: 'bpf:iter/task', object: 'taskmisc_iter.bpf.o', program: 'crib_taskmisc_iter', reader: 'iter' },
  ],
  tree: true,
  // /proc/PID/loginuid prints the kuid in the reader's user namespace; the program gives it raw
  refuse: (caller) =>
    caller.userNs !== undefined && caller.userNs !== INIT_USER_NS_INUM
      ? `the caller is in user:[${caller.userNs}], not the init user namespace: loginuid would need mapping`
      : undefined,
  read(r, pid) {
    r.run(pid, ctx);
    const t = decodeTaskMisc(ctx);
    return {
      have: t.have,
      personality: t.personality,
      loginuid: t.loginuid,
      oomScoreAdj: t.oomScoreAdj,
      rlimCur: t.rlimCur.map(u64),
      rlimMax: t.rlimMax.map(u64),
    };
  },
};
