// Running CRIU: dumps and restores with timing, and their logs at hand.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CribError } from '../errors';

export class CriuError extends CribError {
  constructor(
    what: string,
    readonly status: number,
    readonly logFile: string,
  ) {
    super('ECRIU', `${what} failed (exit ${status}); last lines of ${logFile}:\n${tail(logFile, 15)}`);
  }
}

export function tail(file: string, lines: number): string {
  try {
    const all = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface DumpOptions {
  criu: string;
  pid: number;
  dir: string;
  /** --engine NAME; undefined means don't pass it (stock CRIU knows no such option) */
  engine?: string;
  /** --engine-op op=NAME,... */
  engineOps?: string;
  verify?: boolean;
  leaveRunning?: boolean;
  libdir?: string;
  shellJob?: boolean;
  extra?: string[];
}

export interface RunResult {
  status: number;
  ms: number;
  log: string;
}

export function dumpArgs(o: DumpOptions): string[] {
  const args = ['dump', '-t', String(o.pid), '-D', o.dir, '-o', 'dump.log', '-v4'];
  if (o.libdir) args.push('-L', o.libdir);
  if (o.engine) args.push('--engine', o.engine);
  if (o.engineOps) args.push('--engine-op', o.engineOps);
  if (o.verify) args.push('--engine-verify');
  if (o.leaveRunning) args.push('--leave-running');
  if (o.shellJob) args.push('--shell-job');
  return args.concat(o.extra ?? []);
}

/** Runs one CRIU command synchronously, timing it from exec to exit; past @timeoutMs, if given, it is killed (ETIMEDOUT). */
export function runCriu(criu: string, args: string[], env?: NodeJS.ProcessEnv, timeoutMs?: number): { status: number; ms: number; stderr: string } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(criu, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') throw new CribError('ETIMEDOUT', `${criu} ${args[0] ?? ''} did not end in ${timeoutMs} ms: killed`);
  if (r.error) throw new CribError('ECRIU', `cannot run ${criu}: ${r.error.message}`);
  return { status: r.status ?? 128 + 9, ms, stderr: r.stderr ?? '' };
}

export function dump(o: DumpOptions): RunResult {
  fs.mkdirSync(o.dir, { recursive: true });
  const r = runCriu(o.criu, dumpArgs(o));
  const log = path.join(o.dir, 'dump.log');
  if (r.status !== 0) throw new CriuError(`criu dump of pid ${o.pid} (${path.basename(o.criu)})`, r.status, log);
  return { status: r.status, ms: r.ms, log };
}

export interface RestoreOptions {
  criu: string;
  dir: string;
  libdir?: string;
  shellJob?: boolean;
  extra?: string[];
}

/** criu restore -d: the restored tree is detached and CRIU exits. */
export function restore(o: RestoreOptions): RunResult {
  const args = ['restore', '-D', o.dir, '-o', 'restore.log', '-v4', '-d'];
  if (o.libdir) args.push('-L', o.libdir);
  if (o.shellJob) args.push('--shell-job');
  const r = runCriu(o.criu, args.concat(o.extra ?? []));
  const log = path.join(o.dir, 'restore.log');
  if (r.status !== 0) throw new CriuError(`criu restore from ${o.dir} (${path.basename(o.criu)})`, r.status, log);
  return { status: r.status, ms: r.ms, log };
}

export interface Workload {
  pid: number;
  exited: Promise<void>;
  kill(): Promise<void>;
}

/**
 * Starts a workload in a session of its own with stdio on /dev/null, so
 * CRIU can dump it without --shell-job.  We stay its parent so that it is
 * reaped as soon as a dump kills it (restore needs the pid free).
 */
export function startWorkload(cmd: string, args: string[], cwd?: string): Workload {
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore', cwd });
  if (child.pid === undefined) throw new CribError('ESPAWN', `cannot start ${cmd}`);
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  child.once('error', () => undefined);
  return {
    pid,
    exited,
    async kill(): Promise<void> {
      // the whole process group (spawned detached, it leads one): its children too
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      await exited;
    },
  };
}

/** Waits until no task has this pid (a restored or killed tree may linger as zombies). */
export async function waitPidGone(pid: number, timeoutMs = 15000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (fs.existsSync(`/proc/${pid}`)) {
    if (Date.now() > end) throw new CribError('ETIMEDOUT', `pid ${pid} still exists after ${timeoutMs} ms`);
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new CribError('ETIMEDOUT', `timed out waiting for ${what}`);
    await sleep(20);
  }
}

export interface Service {
  pid: number;
  socket: string;
  log: string;
  exited: Promise<number | null>;
  /** SIGTERM, then wait for it to exit */
  stop(): Promise<void>;
}

/**
 * Starts `crib serve` on @socket (logging to @log) and waits until it says
 * ready.  @crib is the crib launcher.
 */
export async function startService(crib: string, socket: string, log: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 20000): Promise<Service> {
  const before = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').length : 0;
  const child = spawn(crib, ['serve', '--socket', socket, '--log', log], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const ready = () => fs.existsSync(log) && /ready on/.test(fs.readFileSync(log, 'utf8').slice(before));
  const end = Date.now() + timeoutMs;
  while (!ready()) {
    if (gone || Date.now() > end) {
      child.kill('SIGKILL');
      throw new CribError('ESERVE', `crib serve did not get ready: ${stderr}${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').slice(before) : ''}`);
    }
    await sleep(20);
  }
  return {
    pid: child.pid!,
    socket,
    log,
    exited,
    async stop(): Promise<void> {
      if (!gone) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
