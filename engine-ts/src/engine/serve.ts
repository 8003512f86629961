// crib serve: the engine as a long-lived service (service.ts), its
// command line, its start-up and its log.
//
//   crib serve [--socket PATH] [--detach] [--log FILE] [--obj-dir DIR] [--addon PATH]
//
// Runs in the foreground until SIGTERM/SIGINT; --detach starts it in the
// background and returns once it is ready.  Under systemd socket
// activation (LISTEN_FDS) it serves the socket it is given.
import { spawn } from 'child_process';
import * as fs from 'fs';
import { loadAddon } from '../bpf/native';
import { Collector } from '../bpf/types';
import { ownPidNs } from '../bpf/pidns';
import { UsageError } from '../errors';
import { findPaths } from '../paths';
import { collectGarbage, loadCollector } from './main';
import { loadProto } from './proto';
import { EngineServer } from './server';
import { activatedSocket, DEFAULT_SOCKET, EngineService, listenUnix } from './service';
import { warmRounds } from './warm';

export const SERVE_HELP = `usage: crib serve [OPTIONS]

Loads the BPF programs once and serves the dumps of every CRIU whose
crib.so connects (one session per connection), until SIGTERM or SIGINT.

  --socket PATH   where to listen (default $CRIB_SOCKET, else ${DEFAULT_SOCKET});
                  its directory is made 0700 and the socket 0600, root's
  --detach        start in the background, print its pid once it is ready
  --log FILE      append the log to FILE (default: stderr, with <N> priority
                  prefixes when journald reads it)
  --obj-dir DIR   the BPF objects (default: the build tree's or the install's)
  --addon PATH    the native addon

Under systemd socket activation (LISTEN_FDS) it serves the socket it is
handed.  CRIB_DEBUG=1 logs every request.`;

interface ServeArgs {
  socket: string;
  detach: boolean;
  logFile?: string;
  objDir: string;
  addonPath: string;
}

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeArgs {
  const p = findPaths(env);
  const a: ServeArgs = { socket: env.CRIB_SOCKET || DEFAULT_SOCKET, detach: false, objDir: p.objDir, addonPath: p.addon };
  for (let i = 0; i < argv.length; i++) {
    const need = (): string => {
      const v = argv[++i];
      if (v === undefined || v === '') throw new UsageError(`crib serve: ${argv[i - 1]} needs a value`);
      return v;
    };
    switch (argv[i]) {
      case '--socket':
        a.socket = need();
        break;
      case '--detach':
        a.detach = true;
        break;
      case '--log':
        a.logFile = need();
        break;
      case '--obj-dir':
        a.objDir = need();
        break;
      case '--addon':
        a.addonPath = need();
        break;
      default:
        throw new UsageError(`crib serve: unknown option '${argv[i]}' (see crib serve --help)`);
    }
  }
  if (!a.socket.startsWith('/')) throw new UsageError(`crib serve: --socket needs an absolute path, got '${a.socket}'`);
  return a;
}

type Level = 'info' | 'err';

function makeLog(file: string | undefined, env: NodeJS.ProcessEnv): (msg: string, level?: Level) => void {
  if (file) {
    const fd = fs.openSync(file, 'a', 0o600);
    return (msg) => fs.writeSync(fd, `${new Date().toISOString()} crib-serve[${process.pid}]: ${msg}\n`);
  }
  // journald reads "<N>" at the start of a line as its priority
  if (env.JOURNAL_STREAM) return (msg, level = 'info') => process.stderr.write(`<${level === 'err' ? 3 : 6}>${msg}\n`);
  return (msg) => process.stderr.write(`crib-serve[${process.pid}]: ${msg}\n`);
}

/** --detach: the same command without it, in its own session; back once it says ready on fd 3. */
function detach(argv: string[]): Promise<number> {
  const args = [...process.argv.slice(1, 2), 'serve', ...argv.filter((a) => a !== '--detach')];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    env: { ...process.env, CRIB_SERVE_READY_FD: '3' },
  });
  return new Promise((resolve) => {
    let said = '';
    const ready = child.stdio[3] as NodeJS.ReadableStream;
    ready.on('data', (b: Buffer) => {
      said += b.toString();
    });
    ready.on('end', () => {
      if (said.startsWith('ready')) {
        process.stdout.write(`${child.pid}\n`);
        child.unref();
        resolve(0);
      } else {
        process.stderr.write(`crib serve: the service did not start${said ? `: ${said.trim()}` : ''}\n`);
        resolve(1);
      }
    });
  });
}

/**
 * The JIT warm-up, after ready: one round per turn of the event loop, so
 * a dump that connects meanwhile waits ~1 ms at most; then a full
 * garbage collection, when no session is open.
 */
function warmInBackground(
  service: EngineService,
  server: EngineServer,
  proto: ReturnType<typeof loadProto>,
  collector: Collector,
  log: (m: string) => void,
  stopping: () => boolean,
): void {
  const w = warmRounds(server, proto);
  if (!w) return;
  const t0 = performance.now();
  let left = 40;
  const step = () => {
    service.yieldTo(() => {
      // a SIGTERM during the warm-up closes the collector under it
      if (stopping()) return;
      w.round();
      collector.takeTimes();
      if (--left > 0) return setImmediate(step);
      w.end();
      // and the walk that maps the pids of a caller in another pid namespace (loaded on first use otherwise)
      collector.canServeNs?.(0);
      // and the copies of the iterators a session may read itself (Direct.iters), one per slot it may be lent
      service.prepareSlots();
      if (service.active.length === 0) collectGarbage();
      log(`warm-up done in ${(performance.now() - t0).toFixed(1)} ms`);
    });
  };
  setImmediate(step);
}

export async function runServe(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const tExec = performance.now(); // ms since the process started: node and the modules so far
  const a = parseServeArgs(argv, env);
  if (a.detach) return detach(argv);
  const log = makeLog(a.logFile, env);
  const readyFd = env.CRIB_SERVE_READY_FD ? Number(env.CRIB_SERVE_READY_FD) : undefined;
  const debug = env.CRIB_DEBUG ? (m: string) => log(m) : undefined;

  let server;
  try {
    server = (await activatedSocket(env)) ?? (await listenUnix(a.socket));
  } catch (e) {
    const msg = `cannot listen on ${a.socket}: ${(e as Error).message}`;
    log(msg, 'err');
    if (readyFd !== undefined) fs.writeSync(readyFd, msg);
    return 1;
  }
  const tListen = performance.now();
  const proto = loadProto();
  const addon = loadAddon(a.addonPath);
  const { collector, error } = loadCollector({ objDir: a.objDir, addonPath: a.addonPath }, debug ?? (() => undefined));
  if (error) log(`${error}: every op will be left to procfs`, 'err');
  const tReady = performance.now();
  const service = new EngineService({ proto, collector, startError: error, addon, log, debug, ownNs: ownPidNs(), collectGarbage });
  service.attach(server);
  const where = env.LISTEN_FDS ? 'the socket systemd passed' : a.socket;
  log(
    `ready on ${where} in ${tReady.toFixed(1)} ms: node and modules ${tExec.toFixed(1)}, socket ${(tListen - tExec).toFixed(1)}, ` +
      `proto and BPF objects ${(tReady - tListen).toFixed(1)}`,
  );
  let stopping = false;
  if (collector && !env.CRIB_NO_WARMUP) warmInBackground(service, new EngineServer(proto, collector), proto, collector, log, () => stopping);
  if (readyFd !== undefined) {
    fs.writeSync(readyFd, 'ready\n');
    fs.closeSync(readyFd);
  }
  return new Promise((resolve) => {
    const stop = (sig: string) => {
      stopping = true;
      log(`${sig}: stopping after ${service.counts.sessions} sessions, ${service.counts.requests} requests, ${service.counts.refused} refused`);
      void service.close().then(() => {
        collector?.close();
        if (!env.LISTEN_FDS) fs.rmSync(a.socket, { force: true });
        resolve(0);
      });
    };
    // the figures `crib bench` and the tests follow
    process.on('SIGUSR1', () => {
      const m = process.memoryUsage();
      log(
        `status: ${service.active.length} sessions open, ${service.counts.sessions} served, ${service.counts.requests} requests, ` +
          `${service.counts.refused} refused; rss ${(m.rss >> 10)} kB, heap ${(m.heapUsed >> 10)}/${(m.heapTotal >> 10)} kB, external ${(m.external >> 10)} kB`,
      );
    });
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
