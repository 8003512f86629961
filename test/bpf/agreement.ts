// What the collector tests share (test/bpf/collector.test.ts, pidns.test.ts):
// frozen workloads and the differences between a collector's tables and
// /proc, whatever mechanism serves each op.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { FD_LOCKS_HELD, FD_LOCKS_NONE, VmaTableWithRaw } from '../../engine-ts/src/bpf/records';
import { Collector, OpName } from '../../engine-ts/src/bpf/types';
import { waitFor } from '../../engine-ts/src/criu/run';
import { paths, tmpdir } from '../helpers';
import { criuVmFlags, readFds, readSmaps, readStat, readThreads, VM_MNEMONICS } from './proc';

/** One call of each op of a collector. */
export const callOp: Record<OpName, (c: Collector, pid: number) => unknown> = {
  stat: (c, p) => c.stat(p),
  status: (c, p) => c.status(p),
  threads: (c, p) => c.threads(p),
  children: (c, p) => c.children(p),
  vma: (c, p) => c.vmas(p),
  fds: (c, p) => c.fds(p),
  fdinfo: (c, p) => c.fds(p),
};

export const O_CLOEXEC = 0o2000000;

export function stateOf(pid: number): string {
  try {
    return readStat(pid).state;
  } catch {
    return '?';
  }
}

export interface Workload {
  proc: ChildProcess;
  dir: string;
  pid: number;
  children: number[];
  stop(): Promise<void>;
  kill(): void;
}

/** Starts a workload binary that writes "PID\n" to DIR/ready, and waits for it. */
export async function startWorkload(name: string, args: (dir: string) => string[]): Promise<Workload> {
  const bin = path.join(paths.workloads, name);
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run make workloads`);
  const dir = tmpdir(name);
  const proc = spawn(bin, args(dir), { stdio: ['ignore', 'ignore', 'inherit'] });
  const ready = path.join(dir, 'ready');
  await waitFor(() => fs.existsSync(ready) || proc.exitCode !== null, `${name} to be ready`, 60000);
  if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}`);
  const pid = Number(fs.readFileSync(ready, 'utf8').trim());
  const kidsFile = path.join(dir, 'children');
  const children = fs.existsSync(kidsFile)
    ? fs.readFileSync(kidsFile, 'utf8').split('\n').filter(Boolean).map(Number)
    : [];
  const all = [pid, ...children];
  return {
    proc,
    dir,
    pid,
    children,
    // frozen as in a CRIU dump: every thread stopped (zombies stay Z)
    async stop() {
      for (const p of all) if (stateOf(p) !== 'Z') process.kill(p, 'SIGSTOP');
      await waitFor(
        () =>
          all.every((p) => {
            const s = stateOf(p);
            return s === 'Z' || readThreads(p).every((t) => ['T', 't'].includes(stateOf(t)));
          }),
        'the workload to stop',
      );
    },
    kill() {
      for (const p of all) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone already */
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function permsProt(perms: string): number {
  return (perms[0] === 'r' ? 1 : 0) | (perms[1] === 'w' ? 2 : 0) | (perms[2] === 'x' ? 4 : 0);
}

/** Every difference between the collector's VMAs and smaps, as text. */
export function vmaDiffs(c: Collector, pid: number): string[] {
  const t = c.vmas(pid) as VmaTableWithRaw;
  const smaps = readSmaps(pid);
  const diffs: string[] = [];
  if (t.count !== smaps.length) diffs.push(`pid ${pid}: ${t.count} VMAs, smaps has ${smaps.length}`);
  const known = new Map(VM_MNEMONICS);
  for (let i = 0; i < Math.min(t.count, smaps.length); i++) {
    const e = smaps[i];
    const criu = criuVmFlags(e.vmFlags);
    const want: Record<string, unknown> = {
      start: e.start,
      end: e.end,
      pgoff: e.offset,
      devMaj: e.devMaj,
      devMin: e.devMin,
      ino: e.ino,
      prot: permsProt(e.perms),
      shared: e.perms[3] === 's' ? 1 : 0,
      name: e.name,
      mapFlags: criu.mapFlags,
      madv: criu.madv,
      vmflags: criu.vmflags,
    };
    const got: Record<string, unknown> = {
      start: t.start[i],
      end: t.end[i],
      pgoff: t.pgoff[i],
      devMaj: t.devMaj[i],
      devMin: t.devMin[i],
      ino: t.ino[i],
      prot: t.prot[i],
      shared: t.shared[i],
      name: t.names[t.nameIdx[i]],
      mapFlags: t.mapFlags[i],
      madv: t.madv[i],
      vmflags: t.vmflags[i],
    };
    for (const k of Object.keys(want)) {
      if (want[k] !== got[k]) diffs.push(`pid ${pid} VMA ${e.start.toString(16)} ${e.name}: ${k} ${String(got[k])}, /proc ${String(want[k])}`);
    }
    // the VM_* table itself: each mnemonic smaps prints <-> its bit in vm_flags
    if (e.name === '[vsyscall]') continue;
    const raw = t.rawFlags[i];
    for (const [mn, bit] of VM_MNEMONICS) {
      const set = ((raw >> BigInt(bit)) & 1n) === 1n;
      if (set !== e.vmFlags.includes(mn)) diffs.push(`pid ${pid} VMA ${e.start.toString(16)}: VmFlags ${mn} ${e.vmFlags.includes(mn) ? 'shown' : 'absent'} but bit ${bit} ${set ? 'set' : 'clear'}`);
    }
    for (const mn of e.vmFlags) if (!known.has(mn)) diffs.push(`pid ${pid} VMA ${e.start.toString(16)}: unknown VmFlags mnemonic ${mn}`);
  }
  return diffs;
}

export function fdDiffs(c: Collector, pid: number): string[] {
  const t = c.fds(pid);
  const want = readFds(pid);
  const diffs: string[] = [];
  const got = Array.from(t.fd);
  if (got.join(',') !== want.map((f) => f.fd).join(',')) diffs.push(`pid ${pid}: fds ${got.join(',')}, /proc ${want.map((f) => f.fd).join(',')}`);
  for (let i = 0; i < Math.min(t.count, want.length); i++) {
    const w = want[i];
    if (t.pos[i] !== w.pos) diffs.push(`pid ${pid} fd ${w.fd}: pos ${t.pos[i]}, /proc ${w.pos}`);
    if (t.flags[i] !== w.flags) diffs.push(`pid ${pid} fd ${w.fd}: flags 0${t.flags[i].toString(8)}, /proc 0${w.flags.toString(8)}`);
    if (t.mntId[i] !== w.mntId) diffs.push(`pid ${pid} fd ${w.fd}: mnt_id ${t.mntId[i]}, /proc ${w.mntId}`);
    // "none" where fdinfo shows locks would lose them; "held" without them is a lock of another owner
    if (t.locks[i] !== FD_LOCKS_NONE && t.locks[i] !== FD_LOCKS_HELD) diffs.push(`pid ${pid} fd ${w.fd}: lock state ${t.locks[i]}`);
    if (w.locked && t.locks[i] !== FD_LOCKS_HELD) diffs.push(`pid ${pid} fd ${w.fd}: locks ${t.locks[i]}, /proc fdinfo shows lock lines`);
  }
  return diffs;
}

