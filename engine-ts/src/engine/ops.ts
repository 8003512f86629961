// The op registry (ops/registry) and the ops of a folder (ops/NAME).
//
// The registry names every op once, with its number (enum cr_engine_op of
// criu-engine.h) and where it lives.  The core ops (stat ... fdinfo)
// predate the folders and are served by the collector's own methods; an
// op of a folder brings its own module, ops/NAME/NAME.ts, loaded here by
// name: no list in the engine names it.  A module says which BPF
// programs serve it and turns a task's record into its message
// (ops/NAME/NAME.proto); the server carries that message, encoded, in
// Response.record or PrepareResp.records, without knowing the op.
import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { Caller, Collector, InternalFs, ProgramRef, StreamRun } from '../bpf/types';
import { CribError, EIO, ENOENT, EOPNOTSUPP, UnsupportedError, UsageError } from '../errors';
import { layout, REQ, StructLayout, TREE_MAX } from '../bpf/records';


export interface RegistryEntry {
  id: number;
  name: string;
  /** 'core', or the op's folder: 'ops/NAME' */
  folder: string;
  /** what CRIU reads without an engine */
  reads: string;
}

/** ops/registry in the nearest ancestor that has one (build tree or install); $CRIB_OPS_REGISTRY first. */
export function findRegistry(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CRIB_OPS_REGISTRY) return env.CRIB_OPS_REGISTRY;
  for (let dir = __dirname, i = 0; i < 8; i++, dir = path.dirname(dir)) {
    const p = path.join(dir, 'ops', 'registry');
    if (fs.existsSync(p)) return p;
  }
  throw new CribError('ENOENT', `ops/registry not found above ${__dirname}; set CRIB_OPS_REGISTRY`, ENOENT);
}

/** The registry's entries, in id order; a malformed registry is an error naming its line. */
export function parseRegistry(text: string, file = 'ops/registry'): RegistryEntry[] {
  const out: RegistryEntry[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(\d+)\s+([a-z][a-z0-9_]*)\s+(\S+)\s*(.*)$/.exec(line);
    const where = `${file}:${i + 1}`;
    if (!m) throw new CribError('EINVAL', `${where}: expected "id name folder reads", got "${line}"`);
    const [, id, name, folder, reads] = m;
    if (Number(id) !== out.length) throw new CribError('EINVAL', `${where}: id ${id} where ${out.length} was expected`);
    if (seen.has(name)) throw new CribError('EINVAL', `${where}: op ${name} named twice`);
    if (folder !== 'core' && folder !== `ops/${name}`) throw new CribError('EINVAL', `${where}: op ${name}: folder ${folder} is neither core nor ops/${name}`);
    seen.add(name);
    out.push({ id: Number(id), name, folder, reads });
  });
  return out;
}

let registry: RegistryEntry[] | undefined;

export function readRegistry(file: string = findRegistry()): RegistryEntry[] {
  if (!registry) registry = parseRegistry(fs.readFileSync(file, 'utf8'), file);
  return registry;
}

/** What runs an op's program for one pid of the session's caller (Collector.runProgram, bound). */
export interface ProgramRunner {
  /** the mechanism serving the op */
  readonly prog: ProgramRef;
  /** fills @ctx's struct crib_req for @pid, runs the program, checks the reply */
  run(pid: number, ctx: Uint8Array): void;
  /** a list op's seq iterator (reader 'iter') for @pid: its items (Collector.runStream) */
  stream(pid: number): StreamRun;
  /** the same for every pid of @pids in one read (Collector.runStreamAll; map "want" of @wantBytes) */
  streamAll(pids: number[], wantBytes: number): StreamRun;
  /** what the op's program sent through its ring buffer @map since the last call (Collector.readRing) */
  ring(map: string): ArrayBuffer;
  /** statmount() of one mount (Collector.statmount): struct statmount and its strings, or -errno */
  statmount(mntId: bigint, nsId: bigint, mask: number): ArrayBuffer | number;
  /** the caller being served */
  readonly caller: Caller;
}

/** The engine side of an op of a folder: ops/NAME/NAME.ts exports one as `op`. */
export interface OpModule {
  /** its message in ops/NAME/NAME.proto, e.g. 'crib.TaskMisc' */
  message: string;
  /** programs that serve it for one task, best first (the first that loads serves) */
  mechanisms: ProgramRef[];
  /** read for every task of the tree in prepare(), while it is frozen */
  tree: boolean;
  /**
   * Optional, for an op about some fds of a task (tree: false): the
   * kernel's internal mounts its files are on.  prepare() reads it for
   * each task whose fd table (the fds walk) has a file on one of them, so
   * that CRIU's ask is answered from the snapshot; tasks without such
   * files are not read (CRIU asks only at a task's first such fd).
   */
  files?: InternalFs[];
  /**
   * Optional: a program that reads many tasks in one run (bpf/crib_tree.h),
   * tried first in prepare(), its records of treeRecordSize bytes turned
   * into the message by encode(); treeRingbuf: the same pass through a
   * ring buffer (compared in bpf/README.md, not used by prepare()).
   */
  treeProgram?: ProgramRef;
  treeRingbuf?: ProgramRef;
  treeRecordSize?: number;
  /**
   * Optional: the same records from the one pass of every per-task op
   * (bpf/pertask.bpf.c, its map out_NAME), which a caller that runs the
   * passes itself runs once for all of them (directTrees())
   */
  treePertask?: ProgramRef;
  /** the message of the record at byte @off of @buf; valid until the next call */
  encode?(buf: ArrayBuffer, off: number): Uint8Array;
  /**
   * Optional: the bytes of the record at @off that its message depends on
   * (default: all treeRecordSize): a record with the bytes of the one
   * before it in a tree pass gets that one's message, not encoded again.
   */
  recordBytes?(buf: ArrayBuffer, off: number): Uint8Array;
  /** why this caller cannot be served exactly (procfs then serves the op), or undefined */
  refuse?(caller: Caller): string | undefined;
  /**
   * Optional: called before each read (a pass over a tree, or one task's
   * read), to read again what its answers take from outside the tasks
   * (op cgroup: the hierarchies the engine's /proc/self/cgroup names)
   */
  begin?(): void;
  /** one task's answer: its message (`message`), encoded; valid until the next call */
  read(r: ProgramRunner, pid: number): Uint8Array;
  /**
   * Optional, for a tree op without a tree program: the answers for many
   * tasks from one read (each message valid during its callback); returns
   * the pids it has no answer for, which are then read one by one.
   * @same: @rec is the message it gave the call before (see RecordMemo).
   */
  readAll?(r: ProgramRunner, pids: number[], each: (pid: number, rec: Uint8Array, same: boolean) => void): number[];
  /**
   * Optional, with readAll: its iterator's records (each starting with the
   * task's pid) are what ops/NAME/NAME.c converts too, so a plugin may
   * read the iterator itself (Direct.iters in crib.proto)
   */
  directStream?: boolean;
}

/**
 * The record before in a pass and its message.  The tasks of a tree
 * mostly have the same rlimits, namespaces, cgroups, exe, cwd and root:
 * a record with the bytes of the one before gets its message again,
 * compared instead of checked and encoded, and prepare() sends it as
 * OpRecord.same instead of the bytes again.
 */
export class RecordMemo {
  // copies in buffers of our own, reused: a new buffer per record costs more than the encoding
  private rec = Buffer.alloc(4096);
  private msg = Buffer.alloc(4096);
  private recLen = -1;
  private msgLen = 0;

  /** The message kept for a record of @rec's bytes (valid until set()), or undefined. */
  get(rec: Uint8Array): Uint8Array | undefined {
    if (rec.length !== this.recLen || Buffer.compare(this.rec.subarray(0, this.recLen), rec) !== 0) return undefined;
    return this.msg.subarray(0, this.msgLen);
  }

  /** Keeps a copy of @rec and of its message @msg; returns the copy of @msg (valid until the next set()). */
  set(rec: Uint8Array, msg: Uint8Array): Uint8Array {
    if (rec.length > this.rec.length) this.rec = Buffer.alloc(rec.length * 2);
    if (msg.length > this.msg.length) this.msg = Buffer.alloc(msg.length * 2);
    this.rec.set(rec);
    this.msg.set(msg);
    this.recLen = rec.length;
    this.msgLen = msg.length;
    return this.msg.subarray(0, this.msgLen);
  }

  clear(): void {
    this.recLen = -1;
  }
}

/** sizeof(struct crib_want) (bpf/crib_want.h): a bit per pid below CRIB_WANT_PID_LIMIT */
export const WANT_BYTES = (4 << 20) / 8;

/**
 * The layouts crib_task_op.h makes of a per-task op's record @rec:
 * struct crib_NAME_ctx (the request, then the record) and struct
 * crib_NAME_tree (err[TREE_MAX], then TREE_MAX records).
 */
export function taskOpLayouts(name: string, rec: StructLayout): { ctx: StructLayout<'req' | 'rec'>; tree: StructLayout<'err' | 'rec'> } {
  return {
    ctx: layout(`crib_${name}_ctx`, REQ.size + rec.size, [
      ['req', 0, REQ.size],
      ['rec', REQ.size, rec.size],
    ]),
    tree: layout(`crib_${name}_tree`, 4 * TREE_MAX + rec.size * TREE_MAX, [
      ['err', 0, 4 * TREE_MAX],
      ['rec', 4 * TREE_MAX, rec.size * TREE_MAX],
    ]),
  };
}

/** bpf/pertask.bpf.c: one tree pass for every op made by taskOp() */
export const PERTASK_OBJECT = 'pertask.bpf.o';

/**
 * The OpModule of a per-task op whose programs come from
 * bpf/crib_task_op.h: crib_NAME in NAME.bpf.o (one task, struct
 * crib_NAME_ctx), crib_NAME_iter in NAME_iter.bpf.o (its seq-iterator
 * fallback) and the tree pass crib_NAME_tree.  @encode writes the message
 * of the record of @size bytes at @off in @src (and checks it).
 */
export function taskOp(o: {
  name: string;
  message: string;
  size: number;
  encode(src: ArrayBuffer, off: number): Uint8Array;
  recordBytes?(src: ArrayBuffer, off: number): Uint8Array;
  refuse?(caller: Caller): string | undefined;
  begin?(): void;
}): OpModule {
  const ctx = new Uint8Array(REQ.size + o.size);
  return {
    message: o.message,
    mechanisms: [
      { mechanism: 'bpf:task', object: `${o.name}.bpf.o`, program: `crib_${o.name}` },
      // kernels without bpf_task_from_pid (< 6.2)
      { mechanism: 'bpf:iter/task', object: `${o.name}_iter.bpf.o`, program: `crib_${o.name}_iter`, reader: 'iter' },
    ],
    tree: true,
    treeProgram: { mechanism: 'bpf:task, tree pass', object: `${o.name}.bpf.o`, program: `crib_${o.name}_tree` },
    treeRingbuf: { mechanism: 'bpf:task, tree pass, ring buffer', object: `${o.name}.bpf.o`, program: `crib_${o.name}_tree_rb`, reader: 'ringbuf' },
    treeRecordSize: o.size,
    treePertask: { mechanism: 'bpf:task, tree pass of every per-task op', object: PERTASK_OBJECT, program: 'crib_pertask', outMap: `out_${o.name}` },
    encode: o.encode,
    recordBytes: o.recordBytes,
    refuse: o.refuse,
    begin: o.begin,
    read(r, pid) {
      r.run(pid, ctx);
      return o.encode(ctx.buffer, ctx.byteOffset + REQ.size);
    },
  };
}

/** Where the compiled op modules are: build/ts/ops (next to build/ts/engine-ts). */
export const OPS_JS_DIR = path.resolve(__dirname, '..', '..', '..', 'ops');

/** A tree pass lent to a caller (Direct.trees, DirectTree in crib.proto) */
export interface DirectTree {
  op: number;
  prog: number;
  inMap: number;
  outMap: number;
  recordSize: number;
  /** the pass of every per-task op (bpf/pertask.bpf.c): program crib_pertask, map out_NAME */
  pertask?: boolean;
}

/** One op of a folder, ready to serve. */
export interface FolderOp {
  entry: RegistryEntry;
  module: OpModule;
  type: protobuf.Type;
}

/** Loads ops/NAME/NAME.js of every folder op of the registry; a module that does not load is an error naming it. */
export function loadFolderOps(root: protobuf.Root, entries: RegistryEntry[] = readRegistry(), dir = OPS_JS_DIR): FolderOp[] {
  return entries
    .filter((e) => e.folder !== 'core')
    .map((entry) => {
      const file = path.join(dir, entry.name, `${entry.name}.js`);
      let module: OpModule | undefined;
      try {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        module = (require(file) as { op?: OpModule }).op;
      } catch (e) {
        throw new CribError('ENOENT', `op ${entry.name}: cannot load ${file}: ${(e as Error).message}`, ENOENT);
      }
      if (!module || typeof module.read !== 'function' || !Array.isArray(module.mechanisms)) {
        throw new CribError('EINVAL', `op ${entry.name}: ${file} does not export an OpModule as "op"`);
      }
      let type: protobuf.Type;
      try {
        type = root.lookupType(module.message);
      } catch {
        throw new CribError('EINVAL', `op ${entry.name}: message ${module.message} is not in the loaded protos (ops/${entry.name}/${entry.name}.proto)`);
      }
      return { entry, module, type };
    });
}

/**
 * The folder ops of one session: which mechanism serves each (the first
 * whose program loads), and reading and encoding a task's answer.
 */
export class FolderOps {
  /**
   * per op: why the mechanisms tried so far cannot serve (objects load on
   * first need, through the collector, which keeps them: an op whose first
   * mechanism loads never loads the others')
   */
  private readonly chosen = new Map<number, { op: FolderOp; why: Map<ProgramRef, string> }>();
  /** per op: mechanisms that could not serve the current caller exactly, and why (skipped until the caller changes) */
  private readonly demoted = new Map<number, Map<ProgramRef, string>>();
  private demotedFor?: number;

  /** ops read task by task even where their module reads whole trees ($CRIB_PER_TASK, for tests) */
  private readonly perTask: Set<number>;

  constructor(
    readonly ops: FolderOp[],
    private readonly collector: Collector | undefined,
    perTask = process.env.CRIB_PER_TASK,
  ) {
    for (const op of ops) this.chosen.set(op.entry.id, { op, why: new Map() });
    this.perTask = new Set();
    for (const name of (perTask ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      const op = ops.find((o) => o.entry.name === name);
      if (!op) throw new UsageError(`CRIB_PER_TASK: "${name}" is not one of ${ops.filter((o) => o.module.tree || o.module.files).map((o) => o.entry.name).join(', ')}`);
      this.perTask.add(op.entry.id);
    }
  }

  /** The mechanism that serves op @id for @caller: the first that loads and was not demoted for it. */
  private serving(id: number, caller: Caller | undefined): ProgramRef | undefined {
    if (caller?.pidNs !== this.demotedFor) {
      this.demoted.clear();
      this.demotedFor = caller?.pidNs;
    }
    const c = this.chosen.get(id);
    const d = this.demoted.get(id);
    for (const m of c?.op.module.mechanisms ?? []) {
      if (d?.has(m) || c!.why.has(m)) continue;
      const s = this.collector?.programStatus?.(m) ?? 'the collector cannot run folder ops';
      if (s === true) return m;
      c!.why.set(m, s);
    }
    return undefined;
  }

  /** Why op @id has no mechanism here: for each, why it does not load or why it could not serve this caller. */
  private whyNot(id: number): string {
    const c = this.chosen.get(id);
    const why = [...(c?.why ?? []), ...(this.demoted.get(id) ?? [])].map(([m, w]) => `${m.mechanism}: ${w}`);
    return why.join('; ') || 'no mechanism can find this caller\'s tasks exactly';
  }

  /** Support of each folder op for @caller: mechanism, or why not. */
  support(caller: Caller | undefined, notServed?: string): { id: number; available: boolean; mechanism?: string; reason?: string }[] {
    return [...this.chosen.values()].map(({ op }) => {
      if (notServed) return { id: op.entry.id, available: false, reason: notServed };
      const prog = this.serving(op.entry.id, caller);
      const refused = prog && caller ? op.module.refuse?.(caller) : undefined;
      if (refused || !prog || !caller) return { id: op.entry.id, available: false, reason: refused ?? (prog ? 'no caller' : this.whyNot(op.entry.id)) };
      return { id: op.entry.id, available: true, mechanism: prog.mechanism };
    });
  }

  /**
   * The tree passes a caller may run itself (Direct.trees in crib.proto):
   * of each op read for the whole tree that serves @caller, its tree
   * program with its maps by kernel id, when that program loads here;
   * the pass of every per-task op (treePertask) before the op's own, so
   * that the caller finds each task once for all of them.
   */
  directTrees(caller: Caller | undefined): DirectTree[] {
    const out: DirectTree[] = [];
    for (const id of this.treeOps(caller)) {
      const m = this.chosen.get(id)!.op.module;
      if (!m.treeRecordSize) continue;
      for (const prog of [m.treePertask, m.treeProgram]) {
        const ids = prog && this.collector?.programStatus?.(prog) === true ? this.collector.treeIds?.(prog) : undefined;
        if (!ids) continue;
        out.push({ op: id, ...ids, recordSize: m.treeRecordSize, ...(prog === m.treePertask ? { pertask: true } : {}) });
        break;
      }
    }
    return out;
  }

  /**
   * The seq iterators a caller may read itself (Direct.iters): of each op
   * read for the whole tree that serves @caller by an iterator its module
   * marks directStream, the copy of its object for @slot (0: the engine's own).
   */
  directIters(caller: Caller | undefined, slot: number): { op: number; prog: number; wantMap: number; argsMap: number }[] {
    const out: { op: number; prog: number; wantMap: number; argsMap: number }[] = [];
    // an op lent a tree pass is not lent its iterator too
    const lent = new Set(this.directTrees(caller).map((t) => t.op));
    for (const id of this.treeOps(caller)) {
      if (lent.has(id)) continue;
      const m = this.chosen.get(id)!.op.module;
      const prog = this.serving(id, caller);
      if (!m.directStream || !m.readAll || prog?.reader !== 'iter') continue;
      const ids = this.collector?.iterIds?.(prog, slot);
      if (ids) out.push({ op: id, ...ids });
    }
    return out;
  }

  /** The folder ops read for the whole tree in prepare() that serve @caller. */
  treeOps(caller: Caller | undefined): number[] {
    return this.support(caller)
      .filter((s) => s.available && this.chosen.get(s.id)!.op.module.tree && !this.perTask.has(s.id))
      .map((s) => s.id);
  }

  /**
   * The folder ops about some fds of a task (OpModule.files) that serve
   * @caller, each with the mount ids of its files (Collector.internalMount;
   * an op none of whose mounts is known is left out: CRIU asks for it).
   */
  fileOps(caller: Caller | undefined): { id: number; mounts: number[] }[] {
    const out: { id: number; mounts: number[] }[] = [];
    for (const s of this.support(caller)) {
      const files = this.chosen.get(s.id)!.op.module.files;
      if (!s.available || !files || this.perTask.has(s.id)) continue;
      const mounts = files.map((f) => this.collector?.internalMount?.(f)).filter((m): m is number => m !== undefined);
      if (mounts.length) out.push({ id: s.id, mounts: [...new Set(mounts)] });
    }
    return out;
  }

  has(id: number): boolean {
    return this.chosen.has(id);
  }

  /**
   * The encoded message of op @id for @pid; throws a CribError
   * (UnsupportedError: procfs serves it).  A mechanism that cannot find
   * the caller's pids exactly (an UnsupportedError from the collector,
   * e.g. no bpf_task_from_vpid for a caller in a child pid namespace) is
   * skipped for this caller and the next one tried.
   */
  read(id: number, pid: number, caller: Caller | undefined): Uint8Array {
    this.chosen.get(id)?.op.module.begin?.();
    return this.readOne(id, pid, caller);
  }

  /** read() within a pass readTree() has begun */
  private readOne(id: number, pid: number, caller: Caller | undefined): Uint8Array {
    const c = this.chosen.get(id);
    if (!c) throw new UnsupportedError(`op #${id}`, 'not an op of a folder this engine has');
    const name = c.op.entry.name;
    if (!this.collector?.runProgram) throw new UnsupportedError(name, 'the collector cannot run folder ops');
    if (!caller) throw new UnsupportedError(name, 'the caller did not name its pid namespace in hello');
    const refused = c.op.module.refuse?.(caller);
    if (refused) throw new UnsupportedError(name, refused);
    const collector = this.collector;
    for (;;) {
      const prog = this.serving(id, caller);
      if (!prog) throw new UnsupportedError(name, this.whyNot(id));
      const runner = this.runner(name, prog, caller);
      try {
        return c.op.module.read(runner, pid);
      } catch (e) {
        if (!(e instanceof UnsupportedError)) throw e;
        let d = this.demoted.get(id);
        if (!d) this.demoted.set(id, (d = new Map()));
        d.set(prog, e.message);
      }
    }
  }

  /** What runs op @name's program @prog for @caller */
  private runner(name: string, prog: ProgramRef, caller: Caller): ProgramRunner {
    const collector = this.collector!;
    return {
      prog,
      caller,
      run: (p, ctx) => collector.runProgram!(name, prog, p, ctx),
      ring: (map) => {
        if (!collector.readRing) throw new UnsupportedError(name, 'the collector cannot read ring buffers');
        return collector.readRing(name, prog, map);
      },
      statmount: (mnt, ns, mask) => {
        if (!collector.statmount) throw new UnsupportedError(name, 'the collector cannot call statmount()');
        return collector.statmount(mnt, ns, mask);
      },
      stream: (p) => {
        if (!collector.runStream) throw new UnsupportedError(name, 'the collector cannot read list ops');
        return collector.runStream(name, prog, p);
      },
      streamAll: (pids, wantBytes) => {
        if (!collector.runStreamAll) throw new UnsupportedError(name, 'the collector cannot read list ops');
        // a pid the bitmap cannot hold has no record: readAll() leaves it to a read of its own
        return collector.runStreamAll(name, prog, pids.filter((p) => Number.isInteger(p) && p > 0 && p < wantBytes * 8), wantBytes);
      },
    };
  }

  /**
   * Op @id for every pid of @pids, as prepare() sends it: each pid's
   * message (valid until the next call) or its errno (negative); @same
   * when the message is the one of the call before that had one.  The
   * op's tree program when it has one that loads (CRIB_TREE_MAX tasks a
   * run), else one read per task; a pid the tree program cannot find
   * exactly (-EOPNOTSUPP) is read by itself, through the mechanisms.
   */
  readTree(
    id: number,
    pids: number[],
    caller: Caller | undefined,
    each: (pid: number, rec: Uint8Array | undefined, err: number, same: boolean) => void,
    /** 'ringbuf': the op's tree pass through its ring buffer; 'pertask': the pass of every per-task op (for the comparisons) */
    via: 'map' | 'ringbuf' | 'pertask' = 'map',
  ): void {
    const c = this.chosen.get(id);
    const m = c?.op.module;
    const prog = via === 'ringbuf' ? m?.treeRingbuf : via === 'pertask' ? m?.treePertask : m?.treeProgram;
    const tree = m && prog && m.encode && m.treeRecordSize && this.collector?.runTree && caller && !m.refuse?.(caller) && this.collector.programStatus?.(prog) === true;
    m?.begin?.();
    // what the call before that had a message gave
    const memo = new RecordMemo();
    const one = (pid: number) => {
      memo.clear();
      try {
        each(pid, this.readOne(id, pid, caller), 0, false);
      } catch (e) {
        each(pid, undefined, e instanceof CribError && e.errno ? -e.errno : -EIO, false);
      }
    };
    if (m?.readAll && via === 'map' && caller && !m.refuse?.(caller)) {
      // one read for the whole tree; what it has no answer for, one by one
      const prog = this.serving(id, caller);
      if (prog) {
        let left: number[] | undefined;
        try {
          left = m.readAll(this.runner(c!.op.entry.name, prog, caller), pids, (pid, rec, same) => each(pid, rec, 0, same));
        } catch (e) {
          if (!(e instanceof UnsupportedError)) throw e;
        }
        if (left) {
          for (const pid of left) one(pid);
          return;
        }
      }
    }
    if (!tree) {
      for (const pid of pids) one(pid);
      return;
    }
    const name = c!.op.entry.name;
    const mod = m!;
    for (let at = 0; at < pids.length; at += TREE_MAX) {
      const chunk = pids.slice(at, at + TREE_MAX);
      const { err, buf, off } = this.collector!.runTree!(name, prog!, chunk, mod.treeRecordSize!);
      for (let i = 0; i < chunk.length; i++) {
        if (err[i] === -EOPNOTSUPP) {
          one(chunk[i]);
          continue;
        }
        let rec: Uint8Array | undefined;
        let e = err[i];
        if (e === 0) {
          const bytes = mod.recordBytes ? mod.recordBytes(buf, off[i]) : new Uint8Array(buf, off[i], mod.treeRecordSize!);
          const kept = memo.get(bytes);
          if (kept) {
            each(chunk[i], kept, 0, true);
            continue;
          }
          try {
            rec = memo.set(bytes, mod.encode!(buf, off[i]));
          } catch (x) {
            // a record that does not check out fails that task's op, not the others'
            e = x instanceof CribError && x.errno ? -x.errno : -EIO;
          }
        }
        each(chunk[i], rec, e, false);
      }
    }
  }
}
