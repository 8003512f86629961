// Warm-up before the first request: the engine's own process goes through
// every request kind a few times, so that V8 has compiled the decoders and
// encoders before a dump's first call, and the first call of each op is
// not charged the compiler's time.  It runs during start-up, which CRIU
// times apart from the ops.
import { ownPidNs } from '../bpf/pidns';
import { ABI_VERSION, CribProto } from './proto';
import { EngineServer } from './server';

const KINDS = ['stat', 'status', 'threads', 'children', 'vma', 'fds', 'prepare'] as const;

export function warmUp(server: EngineServer, proto: CribProto, rounds: number): void {
  const w = warmRounds(server, proto);
  if (!w) return;
  for (let i = 0; i < rounds; i++) w.round();
  w.end();
}

/**
 * The warm-up a round at a time (~1 ms each), for a service that serves
 * while it warms up: between rounds it answers whatever came in.  Each
 * round is a session of its own, so the collector serves the service's
 * own pid namespace only while a round runs (resume() before each).
 */
export function warmRounds(server: EngineServer, proto: CribProto): { round(): void; end(): void } | undefined {
  const pid = process.pid;
  // the engine is its own caller here: its pid is a number in its own pid namespace
  const pidNs = ownPidNs();
  if (!pidNs) return undefined;
  const frame = (body: object) => proto.Request.encode(proto.Request.fromObject({ id: 0, ...body })).finish();
  server.handle(frame({ hello: { abiVersion: ABI_VERSION, pidNs } }));
  return {
    round(): void {
      server.resume();
      for (const kind of KINDS) {
        server.handle(frame({ [kind]: kind === 'prepare' ? { pids: [pid] } : { pid } }));
        server.release();
      }
      // the ops of the folders: a tree pass of many tasks, as a large tree's prepare() makes
      server.warmFolderOps(pid, 64);
    },
    end(): void {
      server.endSession();
    },
  };
}
