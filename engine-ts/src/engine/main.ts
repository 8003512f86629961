// crib-engine: the co-process crib.so starts for a dump.
//
//   node .../engine/main.js --fd 3 [--obj-dir DIR] [--addon PATH]
//
// Reads crib.Request frames from the socket on --fd, answers each with a
// crib.Response (proto/crib.proto), exits when the socket closes or on
// Shutdown.  Quiet unless CRIB_DEBUG is set (then it logs to stderr).
import * as net from 'net';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { Collector } from '../bpf/types';
import { findPaths } from '../paths';
import { FrameReader, frameHeader } from './frames';
import { loadProto } from './proto';
import { Debug, EngineServer } from './server';
import { warmUp } from './warm';

export interface EngineArgs {
  fd: number;
  objDir: string;
  addonPath: string;
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
      default:
        throw new Error(`unknown argument ${argv[i]}; usage: main.js --fd N [--obj-dir DIR] [--addon PATH]`);
    }
  }
  if (!Number.isInteger(a.fd) || a.fd < 0) throw new Error('--fd N is required: the socket crib.so passes');
  return a;
}

type CreateCollector = (o: { objDir: string; addonPath: string }) => Collector;

/** The BPF collector; CRIB_COLLECTOR names another module (tests). */
function loadCollector(args: EngineArgs, debug: Debug): { collector?: Collector; error?: string } {
  const mod = process.env.CRIB_COLLECTOR ? path.resolve(process.env.CRIB_COLLECTOR) : '../bpf/collector';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createCollector } = require(mod) as { createCollector: CreateCollector };
    return { collector: createCollector({ objDir: args.objDir, addonPath: args.addonPath }) };
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
function collectGarbage(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc === 'function') gc();
}

export function serve(args: EngineArgs): void {
  const debug: Debug = process.env.CRIB_DEBUG
    ? (m) => process.stderr.write(`crib-engine[${process.pid}]: ${m}\n`)
    : () => undefined;
  const proto = loadProto();
  const { collector, error } = loadCollector(args, debug);
  const server = new EngineServer(proto, collector, error, debug);
  if (collector && !process.env.CRIB_NO_WARMUP) {
    const t0 = process.hrtime.bigint();
    warmUp(server, proto);
    collector.takeTimes();
    collectGarbage();
    debug(`warm-up took ${Number(process.hrtime.bigint() - t0) / 1e6} ms`);
  }
  const reader = new FrameReader();
  const sock = new net.Socket({ fd: args.fd, readable: true, writable: true });
  let closing = false;

  const finish = (code: number) => {
    if (closing) return;
    closing = true;
    try {
      collector?.close();
    } catch (e) {
      debug(`collector close: ${String(e)}`);
    }
    sock.end(() => process.exit(code));
    setTimeout(() => process.exit(code), 1000).unref();
  };

  sock.on('data', (chunk: Buffer) => {
    if (closing) return;
    let frames: Buffer[];
    try {
      frames = reader.push(chunk);
    } catch (e) {
      // Past a bad length nothing lines up any more: say so and hang up.
      debug(String(e));
      const bytes = server.protocolError(e instanceof Error ? e.message : String(e));
      sock.write(frameHeader(bytes.length));
      sock.write(bytes);
      finish(1);
      return;
    }
    for (const f of frames) {
      const a = server.handle(f);
      if (a.framed) {
        sock.write(a.bytes, () => server.release());
      } else {
        sock.cork();
        sock.write(frameHeader(a.bytes.length));
        sock.write(a.bytes);
        sock.uncork();
      }
      if (a.last) {
        debug('shutdown');
        finish(0);
        return;
      }
    }
  });
  sock.on('end', () => {
    debug('socket closed');
    finish(0);
  });
  sock.on('error', (e) => {
    debug(`socket: ${e.message}`);
    finish(1);
  });
}

if (require.main === module) {
  try {
    serve(parseArgs(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`crib-engine: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
}
