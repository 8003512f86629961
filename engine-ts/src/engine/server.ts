// The engine's side of the plugin/engine protocol: one crib.Request in,
// one crib.Response out, served by a Collector.  Never throws: a bad
// request or a failing collector becomes an error answer.
import * as protobuf from 'protobufjs';
import { Caller, Collector, OP_NAMES, OpName, OpSupport, OpTimes, TaskStat, TaskStatus } from '../bpf/types';
import { CribError, EINVAL, EIO, ENOTSUP, EPROTO } from '../errors';
import { encodeResponse, LEN, VARINT, Payload, Reply, Sink, tag, writeFdTable, writePrepareTail, writeResponseHead, writeVmaList } from './encode';
import { FolderOp, FolderOps, loadFolderOps } from './ops';
import { ABI_VERSION, CribProto, opNumber, u64 } from './proto';
import { cgroupNsOf, ownUserNs, rootOf } from '../bpf/pidns';
import { WireWriter } from './wire';
import { CRIB_ABI_VERSION } from '../bpf/records';

export const ENGINE_VERSION = 'crib-engine 0.1.0';

/** What Request.toObject gives back, with only the fields we read. */
interface RequestObject {
  id?: number;
  req?: string;
  hello?: { abiVersion: number; pidNs?: number; boottimeOffsetNs?: number | { toString(): string }; shmFd?: number; shmSize?: number };
  prepare?: { pids?: number[]; sameOk?: boolean; doneOps?: number[] };
  stat?: { pid: number };
  status?: { pid: number };
  threads?: { pid: number };
  children?: { pid: number };
  vma?: { pid: number };
  fds?: { pid: number };
  shutdown?: { pid: number };
  op?: { op: number; pid: number };
}

export interface Answer {
  /** the encoded crib.Response; with `framed`, the whole frame (length first) */
  bytes: Uint8Array;
  /** the request was Shutdown: close the stream after sending */
  last: boolean;
  /** bytes is a frame in the server's own buffer: call release() once it is sent */
  framed?: boolean;
}

export type Debug = (msg: string) => void;

/**
 * What an engine service (service.ts) knows of a session from the
 * connection itself: the hello's own pid_ns and boottime offset are then
 * ignored, so a caller cannot name a namespace it is not in.
 */
export interface SessionBinding {
  /** the connection's peer: its pid namespace and boottime offset */
  caller: Caller;
  /** the service's own pid namespace, where its lookups resolve pids */
  ownNs: number | undefined;
  /** what HelloResp.service says, e.g. "crib serve pid 812, session 3" */
  service: string;
  /** maps the plugin's shared answer buffer (HelloReq.shm_fd, its fd number) */
  attachShared?(fd: number, size: number): Uint8Array | undefined;
  /** the folder ops, loaded once by the service for every session (else this session loads them) */
  folderOps?: FolderOp[];
  /** the entry of the tree maps lent to this session (bpf/crib_tree.h); none: its CRIU runs no tree pass itself */
  treeSlot?: number;
}

/** The tree-map entry a co-process lends its one CRIU (slot 0 is the engine's own) */
export const COPROCESS_TREE_SLOT = 1;

/** Request.id (field 1) of a frame that does not decode as a whole, else 0. */
function peekId(frame: Uint8Array): number {
  try {
    const r = protobuf.Reader.create(frame);
    while (r.pos < r.len) {
      const t = r.uint32();
      if (t === 8) return r.uint32();
      r.skipType(t & 7);
    }
  } catch {
    // nothing readable
  }
  return 0;
}

function errnoOf(e: unknown): { err: number; message: string } {
  if (e instanceof CribError) return { err: -e.errno, message: e.message };
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { err: -EIO, message: `internal error: ${message}` };
}

function statResp(s: TaskStat): { [k: string]: unknown } {
  return {
    pid: s.pid,
    ppid: s.ppid,
    pgid: s.pgid,
    sid: s.sid,
    numThreads: s.numThreads,
    exitCode: s.exitCode,
    flags: s.flags >>> 0,
    state: s.state.charCodeAt(0) || 0,
    comm: Buffer.from(s.comm, 'latin1'),
    startTime: u64(s.startTime),
    startCode: u64(s.startCode),
    endCode: u64(s.endCode),
    startData: u64(s.startData),
    endData: u64(s.endData),
    startBrk: u64(s.startBrk),
    startStack: u64(s.startStack),
    argStart: u64(s.argStart),
    argEnd: u64(s.argEnd),
    envStart: u64(s.envStart),
    envEnd: u64(s.envEnd),
  };
}

function statusResp(s: TaskStatus): { [k: string]: unknown } {
  return {
    state: s.state.charCodeAt(0) || 0,
    ppid: s.ppid,
    vpid: s.vpid,
    seccompMode: s.seccompMode,
    sigpnd: u64(s.sigpnd),
    shdpnd: u64(s.shdpnd),
    sigblk: u64(s.sigblk),
    uids: s.uids.map((x) => x >>> 0),
    gids: s.gids.map((x) => x >>> 0),
    capInh: u64(s.capInh),
    capPrm: u64(s.capPrm),
    capEff: u64(s.capEff),
    capBnd: u64(s.capBnd),
    capAmb: u64(s.capAmb),
  };
}

export class EngineServer {
  private readonly wire: WireWriter;
  /** this session's buffer shared with the plugin (useShared) */
  private shared?: Uint8Array;
  /** the caller's pid namespace (HelloReq.pid_ns): no op is served before it is known */
  private callerNs?: number;
  /** the caller as given to the collector, for resume() */
  private caller?: Caller;
  /** the ops of the folders (ops/registry): each read by its own module */
  private readonly folder: FolderOps;

  constructor(
    private readonly proto: CribProto,
    /** undefined when the collector could not start: every op is then unavailable */
    private readonly collector: Collector | undefined,
    private readonly startError: string = 'the BPF collector did not start',
    private readonly debug: Debug = () => undefined,
    /** set by a service: the session's caller comes from the connection */
    private readonly binding?: SessionBinding,
    /** a writer shared with other sessions (a service's: one request at a time), else one of our own */
    wire?: WireWriter,
  ) {
    this.wire = wire ?? new WireWriter();
    this.folder = new FolderOps(binding?.folderOps ?? loadFolderOps(proto.root), collector);
  }

  /**
   * The collector serves this session's caller again (a service calls it
   * when it switches between sessions that share one collector).
   */
  resume(): void {
    if (this.caller) this.collector?.setCaller?.(this.caller);
    this.wire.useShared(this.shared);
  }

  /** Answers one request frame. */
  handle(frame: Uint8Array): Answer {
    let req: RequestObject;
    try {
      req = this.proto.Request.toObject(this.proto.Request.decode(frame), { oneofs: true }) as RequestObject;
    } catch (e) {
      const id = peekId(frame);
      this.debug(`request ${id}: does not decode: ${e instanceof Error ? e.message : String(e)}`);
      return this.answer({ id, err: -EPROTO, message: `request does not decode: ${e instanceof Error ? e.message : String(e)}` });
    }
    const id = req.id ?? 0;
    try {
      return this.dispatch(id, req);
    } catch (e) {
      const { err, message } = errnoOf(e);
      this.debug(`request ${id} (${req.req}): err ${err}: ${message}`);
      return this.answer({ id, err, message });
    }
  }

  /** The answer to a stream that broke (e.g. an oversize frame): id 0, -EPROTO. */
  protocolError(message: string): Uint8Array {
    return encodeResponse(this.proto, { id: 0, err: -EPROTO, message });
  }

  private answer(r: Reply, last = false): Answer {
    return { bytes: encodeResponse(this.proto, r), last };
  }

  private ok(id: number, payload: Payload): Answer {
    return this.answer({ id, err: 0, payload });
  }

  private need(op: string): Collector {
    if (!this.collector) throw new CribError('ENOTSUP', `${op}: ${this.startError}`, ENOTSUP);
    if (this.callerNs === undefined) {
      throw new CribError('ENOTSUP', `${op}: the caller did not name its pid namespace in hello (a plugin older than this engine?); procfs serves it`, ENOTSUP);
    }
    return this.collector;
  }

  /** Whether the collector can serve a caller of another pid namespace than the service's. */
  private foreignNs(inum: number): true | string {
    if (!this.collector?.canServeNs) return 'this engine cannot map its pids';
    try {
      return this.collector.canServeNs(inum);
    } catch (e) {
      return (e as Error).message;
    }
  }

  /**
   * Warm-up (warm.ts): the folder ops' tree pass over @n copies of @pid
   * and one OpReq each, answered and dropped, so that a dump's first
   * prepare() does not pay the compiler for them.
   */
  warmFolderOps(pid: number, n: number): void {
    const pids = new Array<number>(n).fill(pid);
    for (const op of this.folder.treeOps(this.caller)) this.folder.readTree(op, pids, this.caller, () => undefined);
    for (const o of this.folder.ops) {
      this.handle(this.proto.Request.encode(this.proto.Request.fromObject({ id: 0, op: { op: o.entry.id, pid } })).finish());
      this.release();
    }
  }

  /** Forget the caller (after the warm-up, which is its own caller). */
  endSession(): void {
    this.callerNs = undefined;
    this.caller = undefined;
  }

  private dispatch(id: number, req: RequestObject): Answer {
    switch (req.req) {
      case 'hello':
        return this.ok(id, { kind: 'hello', value: this.hello(req.hello!) });
      case 'prepare':
        return this.prepare(id, req.prepare!.pids ?? [], req.prepare!.sameOk === true, new Set(req.prepare!.doneOps ?? []));
      case 'stat':
        return this.ok(id, { kind: 'stat', value: statResp(this.need('stat').stat(req.stat!.pid)) });
      case 'status':
        return this.ok(id, { kind: 'status', value: statusResp(this.need('status').status(req.status!.pid)) });
      case 'threads':
        return this.ok(id, { kind: 'threads', value: this.need('threads').threads(req.threads!.pid) });
      case 'children':
        return this.ok(id, { kind: 'children', value: this.need('children').children(req.children!.pid) });
      case 'vma': {
        const t = this.need('vma').vmas(req.vma!.pid);
        return this.table(id, 'vma', (w) => writeVmaList(w, t));
      }
      case 'fds': {
        const t = this.need('fds').fds(req.fds!.pid);
        return this.table(id, 'fds', (w) => writeFdTable(w, t));
      }
      case 'shutdown':
        return this.answer({ id, err: 0 }, true);
      case 'op': {
        const { op, pid } = req.op!;
        if (!this.folder.has(op)) throw new CribError('ENOTSUP', `op #${op}: not an op of a folder this engine has; procfs serves it`, ENOTSUP);
        this.need(`op #${op}`);
        return this.ok(id, { kind: 'record', value: this.folder.read(op, pid, this.caller) });
      }
      default:
        return this.answer({ id, err: -EINVAL, message: 'request carries no operation' });
    }
  }

  private hello(h: NonNullable<RequestObject['hello']>): { [k: string]: unknown } {
    const abiVersion = h.abiVersion;
    if (abiVersion !== ABI_VERSION) this.debug(`hello: plugin speaks ABI ${abiVersion}, engine serves ${ABI_VERSION}`);
    let pidNs = h.pidNs;
    let bootOffsetNs = BigInt(String(h.boottimeOffsetNs ?? 0));
    let why = this.startError;
    const b = this.binding;
    if (b) {
      if (pidNs && pidNs !== b.caller.pidNs) this.debug(`hello: names pid:[${pidNs}], the connection is from pid:[${b.caller.pidNs}]; using the connection's`);
      pidNs = b.caller.pidNs;
      bootOffsetNs = b.caller.bootOffsetNs;
    }
    this.callerNs = undefined;
    this.caller = undefined;
    if (!pidNs) {
      why = 'the caller did not name its pid namespace in hello';
    } else if (b && b.ownNs !== pidNs && this.foreignNs(pidNs) !== true) {
      why = `the service runs in pid:[${b.ownNs ?? '?'}] and this CRIU in pid:[${pidNs}]: ${this.foreignNs(pidNs)}`;
    } else if (this.collector) {
      this.caller = {
        pidNs,
        bootOffsetNs,
        userNs: b ? b.caller.userNs : ownUserNs(),
        root: b ? b.caller.root : rootOf(process.ppid),
        cgroupNs: b ? b.caller.cgroupNs : cgroupNsOf(process.ppid),
      };
      this.collector.setCaller?.(this.caller);
      this.callerNs = pidNs;
      this.debug(`hello: caller's pid namespace is pid:[${pidNs}], boottime offset ${bootOffsetNs} ns`);
    }
    if (b?.attachShared && h.shmFd !== undefined && h.shmSize) {
      const shared = b.attachShared(h.shmFd, h.shmSize);
      if (shared) this.useShared(shared);
    }
    const served = this.collector && this.callerNs !== undefined;
    const ops: OpSupport[] = served ? this.collector!.support() : OP_NAMES.map((op) => ({ op, available: false, reason: why }));
    const folderOps = this.folder.support(this.caller, served ? undefined : why);
    return {
      abiVersion: ABI_VERSION,
      engineVersion: ENGINE_VERSION,
      ops: [
        ...ops.map((o) => ({ op: opNumber(o.op), available: o.available, mechanism: o.mechanism, reason: o.reason })),
        ...folderOps.map((o) => ({ op: o.id, available: o.available, mechanism: o.mechanism, reason: o.reason })),
      ],
      ...(b ? { service: b.service } : {}),
      ...(served ? this.direct(b !== undefined) : {}),
    };
  }

  /**
   * The programs the caller may run itself (Direct in crib.proto), unless
   * $CRIB_NO_DIRECT is set (for A/B runs and tests): all three to a
   * co-process's CRIU; to a service's callers only crib_task, which writes
   * nothing but its context (the list programs' map tids is shared by
   * every session).  And the tree passes of the folder ops that serve this
   * caller by one, in the entry of their maps lent to this session
   * ($CRIB_NO_DIRECT_TREES: none).
   */
  private direct(service: boolean): { direct?: { [k: string]: unknown } } {
    if (process.env.CRIB_NO_DIRECT) return {};
    const d = this.collector?.direct?.();
    if (!d) return {};
    const offer: { [k: string]: unknown } = service ? { taskProg: d.taskProg } : { ...d };
    const slot = process.env.CRIB_NO_DIRECT_TREES ? undefined : service ? this.binding?.treeSlot : COPROCESS_TREE_SLOT;
    if (slot !== undefined) {
      const trees = this.folder.directTrees(this.caller);
      if (trees.length) {
        offer.trees = trees;
        offer.treeSlot = slot;
      }
      // a co-process's iterators are its one CRIU's (it reads none while that CRIU runs them)
      const iters = this.folder.directIters(this.caller, service ? slot : 0);
      if (iters.length) offer.iters = iters;
    }
    this.debug(`hello: the caller may run ${JSON.stringify(offer)}`);
    return { direct: { abiVersion: CRIB_ABI_VERSION, ...offer } };
  }

  /**
   * One snapshot of the frozen tree, written straight into the answer: the
   * collector's tables live in memory its next call overwrites.  A pid
   * whose VMAs or fds fail goes into failed_pid with that errno; what did
   * succeed for it is still sent.
   */
  private prepare(id: number, pids: number[], sameOk: boolean, done: Set<number>): Answer {
    const c = this.need('prepare');
    const avail = new Set<OpName>(c.support().filter((o) => o.available).map((o) => o.op));
    const failedPid: number[] = [];
    const failedErrno: number[] = [];
    let vmaNs = 0n;
    let fdsNs = 0n;
    let statNs = 0n;
    c.takeTimes(); // drop what earlier calls left
    const w = this.wire.beginFrame();
    writeResponseHead(w, id, 0);
    w.uint32(tag(this.proto.respField.prepare, LEN)).fork();
    const walks = (['vma', 'fds'] as const).filter((op) => avail.has(op) || (op === 'fds' && avail.has('fdinfo')));
    // the ops the plugin read itself (the tree passes it was offered in hello) are not read again
    const treeOps = this.folder.treeOps(this.caller).filter((op) => !done.has(op));
    const folderNs = new Map<number, bigint>(treeOps.map((op) => [op, 0n]));
    // the folder ops read for the whole tree, one OpRecord per pid (the message or the errno),
    // first: their tree passes are small, and slower after the walks have filled the caches
    for (const op of treeOps) {
      const t0 = process.hrtime.bigint();
      this.folder.readTree(op, [...new Set(pids)], this.caller, (pid, rec, err, same) => {
        w.uint32(tag(7, LEN)).fork();
        w.uint32(tag(1, VARINT)).uint32(op);
        w.uint32(tag(2, VARINT)).int32(pid);
        if (rec && same && sameOk) w.uint32(tag(5, VARINT)).uint32(1);
        else if (rec) w.uint32(tag(3, LEN)).bytes(rec);
        else w.uint32(tag(4, VARINT)).int32(-err);
        w.ldelim();
      });
      folderNs.set(op, process.hrtime.bigint() - t0);
    }
    // the ops about some fds of a task: read below for the tasks the fd walk shows have files on their mounts
    const fileOps = walks.includes('fds') ? this.folder.fileOps(this.caller) : [];
    const fileMounts = new Set(fileOps.flatMap((o) => o.mounts));
    const withFiles = new Map<number, Set<number>>(); // pid -> mount ids of fileMounts its fds are on
    for (const pid of new Set(pids)) {
      let errno = 0;
      c.prefetch?.(pid, walks);
      if (avail.has('vma')) {
        const t0 = process.hrtime.bigint();
        try {
          const t = c.vmas(pid);
          w.uint32(tag(1, LEN)).fork();
          writeVmaList(w, t);
          w.ldelim();
        } catch (e) {
          errno = -errnoOf(e).err;
        }
        vmaNs += process.hrtime.bigint() - t0;
      }
      if (avail.has('fds') || avail.has('fdinfo')) {
        const t0 = process.hrtime.bigint();
        try {
          const t = c.fds(pid);
          w.uint32(tag(2, LEN)).fork();
          writeFdTable(w, t);
          w.ldelim();
          if (fileMounts.size) {
            for (let i = 0; i < t.count; i++) {
              if (!fileMounts.has(t.mntId[i])) continue;
              let on = withFiles.get(pid);
              if (!on) withFiles.set(pid, (on = new Set()));
              on.add(t.mntId[i]);
            }
          }
        } catch (e) {
          errno ||= -errnoOf(e).err;
        }
        fdsNs += process.hrtime.bigint() - t0;
      }
      if (avail.has('stat')) {
        // a failure here is not the snapshot's: CRIU asks again and gets the error then
        const t0 = process.hrtime.bigint();
        try {
          const st = this.proto.StatResp.encode(statResp(c.stat(pid))).finish();
          w.uint32(tag(6, LEN)).bytes(st);
        } catch {
          /* see above */
        }
        statNs += process.hrtime.bigint() - t0;
      }
      if (errno) {
        failedPid.push(pid);
        failedErrno.push(errno);
      }
    }
    // a task's fd-kind ops, when its fds are on their mounts; one that fails is left to CRIU's ask, which fails the same way and says why
    for (const { id: op, mounts } of fileOps) {
      const t0 = process.hrtime.bigint();
      for (const [pid, on] of withFiles) {
        if (!mounts.some((m) => on.has(m))) continue;
        let rec: Uint8Array;
        try {
          rec = this.folder.read(op, pid, this.caller);
        } catch {
          continue;
        }
        w.uint32(tag(7, LEN)).fork();
        w.uint32(tag(1, VARINT)).uint32(op);
        w.uint32(tag(2, VARINT)).int32(pid);
        w.uint32(tag(3, LEN)).bytes(rec);
        w.ldelim();
      }
      folderNs.set(op, process.hrtime.bigint() - t0);
    }
    writePrepareTail(w, [...this.opTimes(c.takeTimes(), vmaNs, fdsNs, statNs), ...folderNs], failedPid, failedErrno);
    w.ldelim();
    return { bytes: w.finishFrame(), last: false, framed: true };
  }

  /** vma and fds answers: a bulk table, written straight into the answer. */
  private table(id: number, kind: 'vma' | 'fds', write: (w: Sink) => void): Answer {
    const w = this.wire.beginFrame();
    writeResponseHead(w, id, 0);
    w.uint32(tag(this.proto.respField[kind], LEN)).fork();
    write(w);
    w.ldelim();
    return { bytes: w.finishFrame(), last: false, framed: true };
  }

  /** The socket has sent the last framed answer: its buffer may be reused. */
  release(): void {
    this.wire.release();
  }

  /** Bulk answers go to this buffer shared with the plugin (see wire.ts). */
  useShared(shared: Uint8Array | undefined): void {
    this.shared = shared;
    this.wire.useShared(shared);
  }

  /**
   * The collector's own split when it reports one; else our wall time of
   * its calls: VMAs to vma, the fd walk (which also reads the fdinfo
   * fields) all to fds and nothing to fdinfo.
   */
  private opTimes(t: OpTimes, vmaNs: bigint, fdsNs: bigint, statNs: bigint): [number, bigint][] {
    const fdinfo = t.fdinfo ?? 0n;
    const vma = t.vma !== undefined && t.vma > 0n ? t.vma : vmaNs;
    const fds = t.fds !== undefined && t.fds > 0n ? t.fds : fdsNs > fdinfo ? fdsNs - fdinfo : 0n;
    const stat = t.stat !== undefined && t.stat > 0n ? t.stat : statNs;
    return [
      [opNumber('stat'), stat],
      [opNumber('vma'), vma],
      [opNumber('fds'), fds],
      [opNumber('fdinfo'), fdinfo],
    ];
  }
}
