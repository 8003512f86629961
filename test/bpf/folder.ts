// What the tests of an op folder (ops/NAME/NAME.test.ts) share: a real
// collector, the folder ops over it (one mechanism only, if asked), the
// caller it serves (this process's namespaces) and children to reap.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { BpfCollector, createCollector } from '../../engine-ts/src/bpf/collector';
import { cgroupNsOf, rootOf } from '../../engine-ts/src/bpf/pidns';
import { Caller, ProgramRef } from '../../engine-ts/src/bpf/types';
import { FolderOps, loadFolderOps, readRegistry } from '../../engine-ts/src/engine/ops';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { paths } from '../helpers';

export interface FolderOpEnv {
  collector: BpfCollector;
  ops: FolderOps;
  /** the op's registry id */
  id: number;
  caller(): Caller;
  /** processes to kill at close() */
  kids: ChildProcess[];
  close(): void;
}

export function folderOpEnv(name: string, mechanism?: ProgramRef): FolderOpEnv {
  const entry = readRegistry().find((e) => e.name === name);
  if (!entry) throw new Error(`no op ${name} in ops/registry`);
  const collector = createCollector({ objDir: paths.objDir, addonPath: paths.addon });
  const folder = loadFolderOps(loadProto().root).map((o) => (mechanism && o.entry.id === entry.id ? { ...o, module: { ...o.module, mechanisms: [mechanism] } } : o));
  const kids: ChildProcess[] = [];
  return {
    collector,
    ops: new FolderOps(folder, collector),
    id: entry.id,
    caller: () => ({ pidNs: collector.callerPidNs, bootOffsetNs: 0n, root: rootOf(process.pid), cgroupNs: cgroupNsOf('self') }),
    kids,
    close() {
      for (const k of kids) k.kill('SIGKILL');
      collector.close();
    },
  };
}

/**
 * A zombie that stays one: the child of a python that never waits for it
 * (a shell may reap a background job before it execs).  Its pid.
 */
export async function zombie(kids: ChildProcess[]): Promise<number> {
  const k = spawn('python3', ['-c', 'import os, sys, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  kids.push(k);
  const pid = await new Promise<number>((resolve, reject) => {
    k.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    k.once('exit', () => reject(new Error('the zombie maker exited')));
  });
  for (let i = 0; i < 200; i++) {
    if (/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))) return pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} did not become a zombie`);
}

/** V9FS_MAGIC: what the superblock of a 9p mount says, where fstatfs() says the server's file system */
export const V9FS_MAGIC = 0x01021997;

/** The file system type of mount @mntId as /proc/self/mountinfo names it ('9p', 'ext4'...); undefined for a mount it does not list (pipefs, sockfs...) */
export function fsTypeOfMount(mntId: number): string | undefined {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (Number(f[0]) === mntId) return f[f.indexOf('-') + 1];
  }
  return undefined;
}

/**
 * The superblock magic an engine reports for a file on mount @mntId whose
 * fstatfs() says @statfsType: the same, but on 9p (a qemu guest's root),
 * whose fstatfs() says the server's file system.
 */
export function superMagic(mntId: number, statfsType: number): number {
  return fsTypeOfMount(mntId) === '9p' ? V9FS_MAGIC : statfsType;
}

/**
 * The iterator reads @fn makes through @c: how many of every task
 * (runStreamAll) and which pids one by one (runStream).
 */
export function countStreams(c: BpfCollector, fn: () => void): { all: number; one: number[] } {
  const calls = { all: 0, one: [] as number[] };
  const [all, one] = [c.runStreamAll.bind(c), c.runStream.bind(c)];
  c.runStreamAll = (...x) => (calls.all++, all(...x));
  c.runStream = (o, p, pid) => (calls.one.push(pid), one(o, p, pid));
  try {
    fn();
  } finally {
    [c.runStreamAll, c.runStream] = [all, one];
  }
  return calls;
}
