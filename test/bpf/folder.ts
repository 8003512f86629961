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

/**
 * What the python holders of the fd ops' tests (fdtype, epoll, pidfd,
 * inotify, fanotify) end with: report(fork) writes the holder's pid (and,
 * with @fork, that of a child that shares its fds) on one line, then
 * sleeps until killed.
 */
const PY_REPORT = `
def report(fork):
    import os, time
    if fork:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(w, b'x')
            time.sleep(60)
            os._exit(0)
        os.read(r, 1)
        os.write(1, ('%d %d\\n' % (os.getpid(), pid)).encode())
    else:
        os.write(1, ('%d\\n' % os.getpid()).encode())
    time.sleep(60)
`;

/**
 * A python process running @script (which ends with report(fork), see
 * PY_REPORT) with @args in sys.argv[1:]: the pids it reports, each left
 * in @kids to kill.
 */
export async function pyHolder(kids: ChildProcess[], script: string, args: string[] = []): Promise<number[]> {
  const k = spawn('python3', ['-c', PY_REPORT + script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  kids.push(k);
  const line = await new Promise<string>((resolve, reject) => {
    let got = '';
    k.stdout!.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\n')) resolve(got);
    });
    k.once('exit', (c) => reject(new Error(`the holder exited (${c})`)));
  });
  const pids = line.trim().split(' ').map(Number);
  for (const p of pids.slice(1)) kids.push({ kill: () => process.kill(p, 'SIGKILL') } as unknown as ChildProcess);
  return pids;
}

/**
 * The fds of @pid whose link (readlink() of /proc/PID/fd/N) @match
 * accepts, ascending, each with its link and the text of its fdinfo; an
 * fd closed since the directory was read is left out.
 */
export function fdsOf(pid: number, match: (link: string) => boolean): { fd: number; link: string; info: string }[] {
  const out: { fd: number; link: string; info: string }[] = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`).map(Number).sort((a, b) => a - b)) {
    try {
      const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (match(link)) out.push({ fd, link, info: fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8') });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // closed since readdir (readdir's own fd)
    }
  }
  return out;
}
