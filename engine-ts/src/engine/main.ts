// crib-engine: the co-process crib.so starts for a dump.
//
//   node .../engine/main.js --fd 3 [--shm-fd 4 --shm-size BYTES] [--obj-dir DIR] [--addon PATH]
//
// Reads crib.Request frames from the socket on --fd, answers each with a
// crib.Response (proto/crib.proto), exits when the socket closes or on
// Shutdown.  Quiet unless CRIB_DEBUG is set (then it logs to stderr).
import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { Collector } from '../bpf/types';
import { loadAddon } from '../bpf/native';
import { findPaths } from '../paths';
import { FrameReader, frameHeader } from './frames';
import { loadProto } from './proto';
import { loadFolderOps } from './ops';
import { Debug, EngineServer } from './server';
import { warmUp } from './warm';

export interface EngineArgs {
  fd: number;
  objDir: string;
  addonPath: string;
  /** the plugin's shared answer buffer (a memfd) and its size, when given */
  shmFd?: number;
  shmSize?: number;
}

/** --obj-dir / --addon, else $CRIB_OBJ_DIR / $CRIB_ADDON, else the build tree's (paths.ts). */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): EngineArgs {
  const p = findPaths(env);
  const a: EngineArgs = { fd: -1, objDir: p.objDir, addonPath: p.addon };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--fd':
        a.fd = Number(v);
        i++;
        break;
      case '--obj-dir':
        a.objDir = v ?? '';
        i++;
        break;
      case '--addon':
        a.addonPath = v ?? '';
        i++;
        break;
      case '--shm-fd':
        a.shmFd = Number(v);
        i++;
        break;
      case '--shm-size':
        a.shmSize = Number(v);
        i++;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}; usage: main.js --fd N [--shm-fd N --shm-size BYTES] [--obj-dir DIR] [--addon PATH]`);
    }
  }
  if (!Number.isInteger(a.fd) || a.fd < 0) throw new Error('--fd N is required: the socket crib.so passes');
  return a;
}

type CreateCollector = (o: { objDir: string; addonPath: string; preload?: string[] }) => Collector;

/**
 * Rounds of warm-up before the co-process's hello (warm.ts).  Seven
 * interleaved co-process dumps of the counter each (2026-12-06): frozen
 * 35.5 ms after 40 rounds, 35.6 after 3, 36.4 after 6, ~75 with none;
 * whole dump 1,600 / 1,212 / 1,169 ms.  The frozen time needs a few
 * rounds; the rest only lengthened the dump.
 */
const WARMUP_ROUNDS = 3;

/** The objects of the folder ops' first mechanisms (and tree programs): what the hello would load */
function folderObjects(): string[] {
  try {
    return loadFolderOps(loadProto().root).flatMap((o) => [o.module.mechanisms[0]?.object, o.module.treeProgram?.object, o.module.treePertask?.object].filter((f): f is string => !!f));
  } catch {
    return []; // the server says what is wrong with the ops, when it loads them
  }
}

/** The BPF collector; CRIB_COLLECTOR names another module (tests). */
export function loadCollector(args: Pick<EngineArgs, 'objDir' | 'addonPath'>, debug: Debug): { collector?: Collector; error?: string } {
  const mod = process.env.CRIB_COLLECTOR ? path.resolve(process.env.CRIB_COLLECTOR) : '../bpf/collector';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createCollector } = require(mod) as { createCollector: CreateCollector };
    return { collector: createCollector({ objDir: args.objDir, addonPath: args.addonPath, preload: folderObjects() }) };
  } catch (e) {
    const error = `the BPF collector did not start: ${e instanceof Error ? e.message : String(e)}`;
    debug(error);
    return { error };
  }
}

/**
 * A full collection once start-up is over, so the warm-up's garbage is not
 * collected in the middle of the dump's first snapshot.
 */
export function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc === 'function') gc();
}

/** Rounds of the co-process's warm-up: $CRIB_WARMUP_ROUNDS, else WARMUP_ROUNDS */
function warmRounds(): number {
  const n = Number(process.env.CRIB_WARMUP_ROUNDS);
  return Number.isInteger(n) && n >= 0 ? n : WARMUP_ROUNDS;
}

export function serve(args: EngineArgs): void {
  const debug: Debug = process.env.CRIB_DEBUG
    ? (m) => process.stderr.write(`crib-engine[${process.pid}]: ${m}\n`)
    : () => undefined;
  // performance.now(): ms since the process started
  const tNode = performance.now();
  const proto = loadProto();
  const { collector, error } = loadCollector(args, debug);
  const tCollector = performance.now();
  const server = new EngineServer(proto, collector, error, debug);
  if (collector && !process.env.CRIB_NO_WARMUP) {
    warmUp(server, proto, warmRounds());
    collector.takeTimes();
    collectGarbage();
  }
  const tReady = performance.now();
  debug(
    `start-up ${tReady.toFixed(1)} ms: node and modules ${tNode.toFixed(1)}, proto and BPF objects ${(tCollector - tNode).toFixed(1)}, ` +
      `warm-up ${(tReady - tCollector).toFixed(1)}`,
  );
  if (args.shmFd !== undefined) {
    // without it every answer goes over the socket: slower, not wrong
    try {
      const ab = loadAddon(args.addonPath).mapShared(args.shmFd, args.shmSize ?? 0);
      server.useShared(new Uint8Array(ab));
    } catch (e) {
      debug(`shared answer buffer: ${e instanceof Error ? e.message : String(e)}; answering over the socket`);
    }
  }
  const code = requestLoop(args.fd, server, debug);
  try {
    collector?.close();
  } catch (e) {
    debug(`collector close: ${String(e)}`);
  }
  process.exit(code);
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Blocks until the fd is ready again (it should be blocking; this covers one that is not). */
function wait(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

function writeAll(fd: number, b: Uint8Array): void {
  for (let off = 0; off < b.length; ) {
    try {
      off += fs.writeSync(fd, b, off, b.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EINTR') wait(1);
      else throw e;
    }
  }
}

/**
 * One request at a time, with blocking reads and writes: the engine has
 * nothing else to do, and skipping the event loop takes tens of
 * microseconds off each round trip.  Returns the exit code: 0 at EOF or
 * Shutdown, 1 when the stream broke.
 */
export function requestLoop(fd: number, server: EngineServer, debug: Debug): number {
  const reader = new FrameReader();
  const chunk = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EINTR') {
        wait(1);
        continue;
      }
      debug(`socket: ${(e as Error).message}`);
      return 1;
    }
    if (n === 0) {
      debug('socket closed');
      return 0;
    }
    let frames: Buffer[];
    try {
      frames = reader.push(Buffer.from(chunk.subarray(0, n)));
    } catch (e) {
      // Past a bad length nothing lines up any more: say so and hang up.
      debug(String(e));
      const bytes = server.protocolError(e instanceof Error ? e.message : String(e));
      try {
        writeAll(fd, Buffer.concat([frameHeader(bytes.length), bytes]));
      } catch {
        /* the peer is gone too */
      }
      return 1;
    }
    for (const f of frames) {
      const t0 = process.hrtime.bigint();
      const a = server.handle(f);
      const t1 = process.hrtime.bigint();
      try {
        writeAll(fd, a.framed ? a.bytes : Buffer.concat([frameHeader(a.bytes.length), a.bytes]));
      } catch (e) {
        debug(`socket: ${(e as Error).message}`);
        return 1;
      }
      debug(`request of ${f.length} B: answered in ${Number(t1 - t0) / 1e3} us, ${a.bytes.length} B sent in ${Number(process.hrtime.bigint() - t1) / 1e3} us`);
      server.release();
      if (a.last) {
        debug('shutdown');
        return 0;
      }
    }
  }
}

if (require.main === module) {
  try {
    serve(parseArgs(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`crib-engine: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
}
