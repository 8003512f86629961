// crib serve: one engine that loads and verifies the BPF programs once and
// serves many dumps, one session per connection on a unix socket.
//
// Each connection is a session with its own EngineServer (its caller, its
// answer buffers); they share the collector, which runs one request at a
// time (requests are handled whole, in the order they arrive, across
// sessions).  Who the caller is comes from the kernel, never from the
// request: the peer's credentials (root only, checked on every
// connection), its pidfd, the pid namespace of that pidfd.  The plugin's
// shared answer buffer is taken from its fd table with pidfd_getfd().
import { TREE_SLOTS } from '../bpf/records';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Caller, Collector } from '../bpf/types';
import { NativeAddon, SocketPeer } from '../bpf/native';
import { cgroupNsOf, rootOf } from '../bpf/pidns';
import { FrameReader, frameHeader } from './frames';
import { CribProto } from './proto';
import { FolderOp, FolderOps, loadFolderOps } from './ops';
import { Debug, EngineServer } from './server';
import { WireWriter } from './wire';

export const DEFAULT_SOCKET = '/run/crib/crib.sock';

/** The shared buffer a plugin may name: the co-process's size, with room. */
const MAX_SHARED = 256 << 20;

/** Idle this long after the last session, the service collects its garbage. */
const IDLE_GC_MS = 500;

export interface ServiceOptions {
  proto: CribProto;
  collector: Collector | undefined;
  startError?: string;
  addon: NativeAddon;
  /** one line per event, the pid and session named */
  log: (msg: string) => void;
  /** per-request lines (CRIB_DEBUG) */
  debug?: Debug;
  /** the service's own pid namespace */
  ownNs: number | undefined;
  /** a full garbage collection, run when the service falls idle (main.ts collectGarbage) */
  collectGarbage?: () => void;
}

export interface SessionInfo {
  id: number;
  peer: Omit<SocketPeer, 'pidfd'>;
  requests: number;
}

interface Session extends SessionInfo {
  sock: net.Socket;
  server: EngineServer;
  reader: FrameReader;
  pidfd: number;
  /** the plugin's shared buffer, mapped: unmapped when the session ends */
  shared?: ArrayBuffer;
  /** the entry of the tree maps lent to this session (bpf/crib_tree.h), back to the pool when it ends */
  treeSlot?: number;
  closed: boolean;
}

/** The boottime offset of a process's time namespace, as /proc adds it to start times. */
function bootOffsetOf(pid: number): bigint {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/timens_offsets`, 'utf8');
  } catch {
    return 0n; // no time namespaces in this kernel: no offset
  }
  for (const line of text.split('\n')) {
    const [clock, sec, nsec] = line.trim().split(/\s+/);
    if (clock === 'boottime' || clock === '7') return BigInt(sec) * 1_000_000_000n + BigInt(nsec ?? 0);
  }
  return 0n;
}

export class EngineService {
  private readonly sessions = new Map<number, Session>();
  /** the tree-map entries not lent to a session (Session.treeSlot) */
  private readonly treeSlots = Array.from({ length: TREE_SLOTS - 1 }, (_, i) => i + 1);

  /** Loads ahead what a session lent each slot may be offered (the objects' copies of FolderOps.directIters). */
  prepareSlots(): void {
    if (!this.o.collector) return;
    const folder = new FolderOps(this.folderOps, this.o.collector);
    const caller: Caller = { pidNs: this.o.ownNs ?? 0, bootOffsetNs: 0n, root: 'same', cgroupNs: cgroupNsOf('self') };
    for (let slot = 1; slot < TREE_SLOTS; slot++) folder.directIters(caller, slot);
  }
  private nextId = 1;
  /** the session the collector serves now (see EngineServer.resume) */
  private current?: Session;
  private server?: net.Server;
  /**
   * One answer writer for every session: requests are handled one at a
   * time and each answer is copied out before the next, and a fresh
   * writer's buffer costs a megabyte of page faults per session.
   */
  private readonly wire = new WireWriter();
  private idleTimer?: NodeJS.Timeout;
  /** see stayHot(); CRIB_SPIN_US, as for the plugin */
  private readonly spinUs = Number(process.env.CRIB_SPIN_US ?? 150);
  private readonly spinBuf = Buffer.alloc(64 * 1024);
  /** totals, for the log and for tests */
  readonly counts = { sessions: 0, refused: 0, requests: 0 };
  /** loaded once: a session's own load (the registry, the modules) cost ~0.2 ms of every connect */
  private readonly folderOps: FolderOp[];

  constructor(private readonly o: ServiceOptions) {
    this.folderOps = loadFolderOps(o.proto.root);
  }

  /** Serve connections on this listening server (made by listen() or socket activation). */
  attach(server: net.Server): void {
    this.server = server;
    server.on('connection', (sock) => this.accept(sock));
  }

  get active(): SessionInfo[] {
    return [...this.sessions.values()].map(({ id, peer, requests }) => ({ id, peer, requests }));
  }

  private accept(sock: net.Socket): void {
    const id = this.nextId++;
    const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let peer: SocketPeer;
    try {
      if (fd === undefined || fd < 0) throw new Error('no fd for the connection');
      peer = this.o.addon.peer(fd);
    } catch (e) {
      this.o.log(`session ${id}: refused: cannot tell who connected: ${(e as Error).message}`);
      this.counts.refused++;
      sock.destroy();
      return;
    }
    if (peer.uid !== 0) {
      // the socket's modes keep others out; this holds even if they were changed
      this.o.log(`session ${id}: refused: pid ${peer.pid} runs as uid ${peer.uid}; only root may use the service`);
      this.counts.refused++;
      fs.closeSync(peer.pidfd);
      sock.destroy();
      return;
    }
    const { pidfd, ...rest } = peer;
    const caller: Caller = { pidNs: peer.pidNs, bootOffsetNs: bootOffsetOf(peer.pid), root: rootOf(peer.pid), cgroupNs: cgroupNsOf(peer.pid) };
    const s: Session = {
      id,
      peer: rest,
      requests: 0,
      sock,
      pidfd,
      reader: new FrameReader(),
      closed: false,
      // slot 0 is the engine's own; a session past the others' runs no tree pass itself
      treeSlot: this.treeSlots.shift(),
      server: undefined as unknown as EngineServer,
    };
    s.server = new EngineServer(this.o.proto, this.o.collector, this.o.startError, this.o.debug, {
      caller,
      ownNs: this.o.ownNs,
      service: `crib serve pid ${process.pid}, session ${id}`,
      attachShared: (n, size) => this.attachShared(s, n, size),
      folderOps: this.folderOps,
      treeSlot: s.treeSlot,
    }, this.wire);
    this.sessions.set(id, s);
    this.counts.sessions++;
    sock.on('data', (chunk: Buffer) => this.receive(s, chunk));
    sock.on('error', (e) => this.o.debug?.(`session ${id}: ${e.message}`));
    sock.on('close', () => this.end(s, 'connection closed'));
    // the plugin says hello as soon as it is connected: answer it now, not a turn of the event loop later
    // (and write the log line after: a write to the log is ~50 us the plugin would wait for)
    this.stayHot(s);
    this.o.log(`session ${id}: pid ${peer.pid} (pid:[${peer.pidNs}]) connected`);
  }

  /** The plugin's buffer, by its fd number in the peer's table. */
  private attachShared(s: Session, n: number, size: number): Uint8Array | undefined {
    if (s.shared) return undefined; // one per session
    if (!Number.isInteger(size) || size <= 4 || size > MAX_SHARED) {
      this.o.log(`session ${s.id}: shared buffer of ${size} bytes refused; answering over the socket`);
      return undefined;
    }
    let fd = -1;
    try {
      fd = this.o.addon.pidfdGetfd(s.pidfd, n);
      // not populated: only what is answered gets touched (the plugin did not populate it either)
      s.shared = this.o.addon.mapShared(fd, size, false);
      return new Uint8Array(s.shared);
    } catch (e) {
      this.o.log(`session ${s.id}: shared buffer (fd ${n} of pid ${s.peer.pid}): ${(e as Error).message}; answering over the socket`);
      return undefined;
    } finally {
      if (fd >= 0) fs.closeSync(fd); // the mapping keeps the memory
    }
  }

  private receive(s: Session, chunk: Buffer): void {
    this.take(s, chunk);
    this.stayHot(s);
  }

  /**
   * After an answer, the next request of the same CRIU often comes within
   * tens of microseconds (seizing a tree asks status, threads and children
   * of each task in turn): look for it on the socket itself for a moment
   * instead of going back to the event loop, whose wake-up costs about as
   * much again on a VM.  Only while no other session waits.
   */
  private stayHot(s: Session): void {
    if (this.spinUs <= 0 || this.sessions.size !== 1) return;
    const fd = (s.sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (fd === undefined || fd < 0) return;
    let end = process.hrtime.bigint() + BigInt(this.spinUs * 1000);
    while (!s.closed && process.hrtime.bigint() < end) {
      let n: number;
      try {
        n = fs.readSync(fd, this.spinBuf, 0, this.spinBuf.length, null);
      } catch {
        continue; // EAGAIN: nothing yet
      }
      if (n <= 0) return; // EOF: the event loop sees it too and ends the session
      this.take(s, Buffer.from(this.spinBuf.subarray(0, n)));
      end = process.hrtime.bigint() + BigInt(this.spinUs * 1000);
    }
  }

  private take(s: Session, chunk: Buffer): void {
    if (s.closed) return;
    let frames: Buffer[];
    try {
      frames = s.reader.push(chunk);
    } catch (e) {
      // past a bad length nothing lines up any more: say so and hang up
      const bytes = s.server.protocolError((e as Error).message);
      s.sock.end(Buffer.concat([frameHeader(bytes.length), bytes]));
      this.end(s, `protocol error: ${(e as Error).message}`);
      return;
    }
    for (const f of frames) {
      if (s.closed) return;
      if (this.current !== s) {
        // the collector's caller and the writer's shared buffer are this session's
        s.server.resume();
        this.current = s;
      }
      s.requests++;
      this.counts.requests++;
      const t0 = process.hrtime.bigint();
      const a = s.server.handle(f);
      this.o.debug?.(`session ${s.id}: request of ${f.length} B answered in ${Number(process.hrtime.bigint() - t0) / 1e3} us, ${a.bytes.length} B`);
      // the socket may keep the bytes past this call: framed answers live in a buffer we reuse
      const out = a.framed ? Buffer.from(a.bytes) : Buffer.concat([frameHeader(a.bytes.length), a.bytes]);
      s.server.release();
      if (a.last) {
        s.sock.end(out);
        this.end(s, 'shutdown');
        return;
      }
      s.sock.write(out);
    }
  }

  /**
   * Runs @work on the shared collector on behalf of no session (the
   * warm-up): the next request of any session makes the collector its
   * own again.
   */
  yieldTo(work: () => void): void {
    this.current = undefined;
    work();
  }

  /** Everything a session holds goes: its pidfd, its mapping, its buffers. */
  private end(s: Session, why: string): void {
    if (s.closed) return;
    s.closed = true;
    this.sessions.delete(s.id);
    if (this.current === s) this.current = undefined;
    if (s.treeSlot !== undefined) this.treeSlots.push(s.treeSlot);
    s.treeSlot = undefined;
    if (s.shared) {
      this.wire.useShared(undefined); // whichever session's it held, resume() sets it again
      s.server.useShared(undefined);
      try {
        this.o.addon.unmapShared(s.shared);
      } catch (e) {
        this.o.log(`session ${s.id}: unmap: ${(e as Error).message}`);
      }
      s.shared = undefined;
    }
    try {
      fs.closeSync(s.pidfd);
    } catch {
      /* closed already */
    }
    if (!s.sock.destroyed && why !== 'shutdown') s.sock.destroy();
    this.o.log(`session ${s.id}: pid ${s.peer.pid}: ended (${why}) after ${s.requests} requests`);
    this.whenIdle();
  }

  /**
   * V8 grows its heap rather than collect while allocation goes on; once
   * no session is open for a moment, a full collection keeps the
   * service's memory flat from dump to dump, and no dump waits for it.
   */
  private whenIdle(): void {
    if (!this.o.collectGarbage || this.sessions.size > 0 || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      // busy: the next session to end tries again
      if (this.sessions.size === 0) this.o.collectGarbage?.();
    }, IDLE_GC_MS);
    this.idleTimer.unref();
  }

  /** Stop listening and end every session. */
  close(): Promise<void> {
    clearTimeout(this.idleTimer);
    for (const s of [...this.sessions.values()]) this.end(s, 'service stopping');
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * The directory of the socket: created 0700 root-owned, or checked to be
 * (a directory another user could write would let them swap the socket).
 */
export function prepareSocketDir(socketPath: string): void {
  const dir = path.dirname(socketPath);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== process.getuid!()) throw new Error(`${dir} belongs to uid ${st.uid}, not to us (uid ${process.getuid!()})`);
  if (st.mode & 0o022) throw new Error(`${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)}); make it 0700`);
}

/**
 * Listen on socketPath (0600).  A socket file nobody answers on is stale
 * and replaced; one that answers means a service runs already: an error.
 */
export async function listenUnix(socketPath: string): Promise<net.Server> {
  prepareSocketDir(socketPath);
  if (fs.existsSync(socketPath)) {
    const live = await new Promise<boolean>((resolve) => {
      const c = net.connect(socketPath);
      c.on('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (live) throw new Error(`a service already answers on ${socketPath}`);
    fs.unlinkSync(socketPath);
  }
  const server = net.createServer({ allowHalfOpen: false });
  const old = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(old);
  }
  fs.chmodSync(socketPath, 0o600);
  return server;
}

/** systemd socket activation: the listening socket passed as fd 3, or undefined. */
export async function activatedSocket(env: NodeJS.ProcessEnv = process.env): Promise<net.Server | undefined> {
  if (env.LISTEN_PID !== String(process.pid) || Number(env.LISTEN_FDS) < 1) return undefined;
  const server = net.createServer({ allowHalfOpen: false });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd: 3 }, () => resolve());
  });
  return server;
}
