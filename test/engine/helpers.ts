// Shared by the engine tests: a Collector made of plain functions.
import { Collector, OP_NAMES, OpSupport, OpTimes } from '../../engine-ts/src/bpf/types';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { syntheticFds, syntheticVmas } from './fixtures/proc-collector';

/** Synthetic answers; pid 404 is a task that does not exist. */
export function fakeCollector(over: Partial<Collector> = {}): Collector {
  const gone = (pid: number, op: string) => {
    if (pid === 404) throw new NoSuchTaskError(pid, op);
  };
  const base: Collector = {
    support: (): OpSupport[] => OP_NAMES.map((op) => ({ op, available: true, mechanism: `test:${op}` })),
    stat: (pid) => {
      gone(pid, 'stat');
      return {
        pid, ppid: 1, pgid: pid, sid: pid, numThreads: 2, exitCode: 0, flags: 0x400100, state: 'S', comm: 'w\xf6rker\x80',
        startTime: 123n, startCode: 0x400000n, endCode: 0x401000n, startData: 0x600000n, endData: 0x601000n,
        startBrk: 0x602000n, startStack: 0x7ffff000n, argStart: 1n, argEnd: 2n, envStart: 3n, envEnd: 0xffff_ffff_ffff_fffen,
      };
    },
    status: (pid) => {
      gone(pid, 'status');
      return {
        state: 'S', ppid: 1, vpid: pid, seccompMode: 0, sigpnd: 0n, shdpnd: 1n << 63n, sigblk: 2n,
        uids: [0, 1, 2, 3], gids: [4, 5, 6, 4294967295], capInh: 0n, capPrm: 0x1ffffffffffn, capEff: 0x1ffffffffffn, capBnd: 0x1ffffffffffn, capAmb: 0n,
      };
    },
    threads: (pid) => (gone(pid, 'threads'), Int32Array.of(pid, pid + 1)),
    children: (pid) => (gone(pid, 'children'), Int32Array.of()),
    vmas: (pid) => (gone(pid, 'vma'), syntheticVmas(pid, 5)),
    fds: (pid) => (gone(pid, 'fds'), syntheticFds(pid, 3)),
    takeTimes: (): OpTimes => ({}),
    close: () => undefined,
  };
  return { ...base, ...over };
}
