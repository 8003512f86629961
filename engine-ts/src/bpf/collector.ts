// The BPF collector: loads the CRIB objects (build/bpf/*.bpf.o) through the
// native addon and serves the ops of Collector from them.
//
// Each op has a list of mechanisms in order of preference (SOURCES).  At
// construction every object is loaded; a program the kernel refuses is
// switched off (autoload false) and the object loaded again without it,
// so one missing kernel feature costs only the ops that need it.  Those
// ops throw UnsupportedError with the reason, and support() says which
// mechanism serves each op.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BadRecordError, BpfLoadError, BusyError, CribError, E2BIG, EAGAIN, EBUSY, ENAMETOOLONG, ENOENT, EOPNOTSUPP, EPROTO, ESRCH, NoSuchTaskError, UnsupportedError, UsageError } from '../errors';
import { isNativeError, loadAddon, NativeAddon, NativeBpfObject } from './native';
import { iterCtx, iterFds, iterReply, iterStream, iterStreamAll, iterTask, iterVmas } from './iter';
import { CribKfunc, KfuncSupport, kfuncNamesAbsent, kfuncsFromBtf, kfuncsOfBits } from './kfuncs';
import { MechanismChoice, parseMechanisms } from './mechanisms';
import { ownPidNs } from './pidns';
import {
  decodeFdCols,
  fdStoreSize,
  MAX_FDS,
  MAX_NS_TASKS,
  NS_TASK_COLS,
  MAX_VMAS,
  vmaStoreSize,
  decodePids,
  decodeReply,
  decodeTaskStat,
  decodeTaskStatus,
  decodeVmaCols,
  encodeIterArgs,
  encodeReq,
  GateVma,
  Reply,
  REC,
  REQ,
  REQ_F_GATE_VMA,
  TREE_IN,
  TREE_MAX,
  TREE_REQ,
  INIT_PID_NS_INUM,
  TASK_CTX,
  VmaTableWithRaw,
} from './records';
import { Caller, Collector, FdTable, InternalFs, OP_NAMES, OpName, OpSupport, OpTimes, ProgramRef, StreamRun, TaskStat, TaskStatus, TreeRun } from './types';

export interface CollectorOptions {
  /** folder with task.bpf.o, vma.bpf.o, fds.bpf.o */
  objDir: string;
  /** crib_native.node */
  addonPath: string;
  /** serve these ops by this mechanism only (default: $CRIB_MECHANISM, see mechanisms.ts) */
  mechanisms?: MechanismChoice;
  /**
   * The caller's pid namespace, as the inode of its nsfs file: every pid
   * in and out is a number there (default: the engine's own; the server
   * sets the caller's from the plugin's hello, see setCallerPidNs).
   */
  pidNs?: number;
  /**
   * More objects to load at start, side by side with the core ops' own
   * (loadObjects()): the folder ops' first mechanisms, which the hello
   * would otherwise load one after the other.
   */
  preload?: string[];
}

/** The program cannot resolve the caller's pids exactly on this kernel: the next mechanism may. */
class NotExactHereError extends UnsupportedError {}

interface Source {
  /** reported by support() */
  mechanism: string;
  object: string;
  program: string;
  /** 'iter': a seq-iterator program read through iter.ts; 'ringbuf': a tree pass into map tree_rb (default: a SYSCALL program) */
  reader?: 'iter' | 'ringbuf';
  /** iter: the object's iter/task program that tells "no task" from "nothing to show" */
  probe?: string;
  /** kfuncs of kernel-patches/ the program calls (declared __weak: it loads without them) */
  kfuncs?: CribKfunc[];
}

/** One mechanism of an op and whether it could serve here (mechanismsFor). */
export interface MechanismStatus {
  mechanism: string;
  /** its program loaded (and the kfuncs it needs are there) */
  available: boolean;
  /** the one serving the op */
  serving: boolean;
  /** why not, when unavailable */
  reason?: string;
}

/*
 * Mechanisms for each op, best first.  The first whose program loaded
 * serves the op.  After the SYSCALL programs come the seq-iterator
 * fallbacks (*_iter.bpf.o, read through iter.ts) for kernels without
 * bpf_task_from_pid (< 6.2) or the open-coded VMA iterator (< 6.7).
 */
// ---- fallbacks: seq iterators (iter.ts) ----
const TASK_ITER: Source = { mechanism: 'bpf:iter/task', object: 'task_iter.bpf.o', program: 'crib_task_iter', reader: 'iter' };
const FDS_ITER: Source = { mechanism: 'bpf:iter/task_file', object: 'fds_iter.bpf.o', program: 'crib_fds_iter', reader: 'iter', probe: 'crib_fds_probe' };
// ---- end fallbacks ----
// ---- CRIB kfuncs (kernel-patches/): a referenced file per fd, no frozen task needed ----
const FDS_FGET: Source = { mechanism: 'bpf:task_fget', object: 'fds_fget.bpf.o', program: 'crib_fds_fget', kfuncs: ['bpf_task_fget', 'bpf_put_file'] };
/** the weak-ksym probe: which CRIB kfuncs the kernel has (kfuncs.ts) */
const KFUNC_PROBE = { object: 'fds_fget.bpf.o', program: 'crib_kfunc_probe' };
// ---- end CRIB kfuncs ----
export const SOURCES: Record<OpName, Source[]> = {
  stat: [{ mechanism: 'bpf:task', object: 'task.bpf.o', program: 'crib_task' }, TASK_ITER],
  status: [{ mechanism: 'bpf:task', object: 'task.bpf.o', program: 'crib_task' }, TASK_ITER],
  threads: [
    { mechanism: 'bpf:thread_list', object: 'task.bpf.o', program: 'crib_threads' },
    { mechanism: 'bpf:iter/task+thread_list', object: 'task_iter.bpf.o', program: 'crib_threads_iter', reader: 'iter' },
  ],
  children: [
    { mechanism: 'bpf:children_list', object: 'task.bpf.o', program: 'crib_children' },
    { mechanism: 'bpf:iter/task+children_list', object: 'task_iter.bpf.o', program: 'crib_children_iter', reader: 'iter' },
  ],
  vma: [
    { mechanism: 'bpf:task_vma_iter', object: 'vma.bpf.o', program: 'crib_vma' },
    { mechanism: 'bpf:iter/task_vma', object: 'vma_iter.bpf.o', program: 'crib_vma_iter', reader: 'iter', probe: 'crib_vma_probe' },
  ],
  // the fd-table walk first (faster; the task is frozen in a dump), then the kfuncs
  fds: [{ mechanism: 'bpf:fdtable_walk', object: 'fds.bpf.o', program: 'crib_fds' }, FDS_FGET, FDS_ITER],
  fdinfo: [{ mechanism: 'bpf:fdtable_walk', object: 'fds.bpf.o', program: 'crib_fds' }, FDS_FGET, FDS_ITER],
};

/** An object file after load: the fds of the programs that loaded, reasons for the others. */
export interface LoadedObject {
  file: string;
  obj?: NativeBpfObject;
  progFds: Map<string, number>;
  failed: Map<string, string>;
  /** mmapped maps, by name */
  buffers: Map<string, ArrayBuffer>;
}

/** The line of libbpf's output that names the program it could not load. */
const FAILED_PROG = /prog '([^']+)': failed to load/;

/** The verifier's complaint: the last line of the log before its end marker. */
function verifierReason(log: string): string {
  const lines = log.split('\n');
  const end = lines.findIndex((l) => l.includes('-- END PROG LOAD LOG --'));
  for (let i = (end < 0 ? lines.length : end) - 1; i >= 0; i--) {
    const l = lines[i].trim();
    if (l && !l.startsWith('processed ') && !l.startsWith('verification time')) return l;
  }
  return '';
}

function errnoName(n: number): string {
  return Object.entries(os.constants.errno).find(([, v]) => v === n)?.[0] ?? `errno ${n}`;
}

/** A task's VMA count and fd table size (prefetch's hint). */
const SIZES = { object: 'task.bpf.o', program: 'crib_sizes' };
/** ns_tasks.bpf.o: a pid namespace's tasks with their init-namespace numbers (a caller in another namespace than the engine's) */
const NS_TASKS = { object: 'ns_tasks.bpf.o', program: 'crib_ns_tasks' };
/** Walks this long take ~0.25 ms or more each: worth a second thread. */
const OVERLAP_MIN_VMAS = 2000;
const OVERLAP_MIN_FDS = 4096;

/** SYSCALL programs that set an object up: run once right after it loads (vma_ksyms.h). */
const INIT_PROG = /_init$/;

/**
 * Runs the object's *_init programs; why the object cannot be used, or ''.
 * An init that did not load or did not return 0 leaves the object unset up.
 */
function runInits(obj: NativeBpfObject, lo: LoadedObject, progs: string[]): string {
  for (const p of progs.filter((n) => INIT_PROG.test(n))) {
    const fd = lo.progFds.get(p);
    if (fd === undefined) return lo.failed.get(p) ?? `${p} did not load`;
    let ret: number;
    try {
      ret = obj.run(fd, new Uint8Array(8));
    } catch (e) {
      return `${p}: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (ret !== 0) return `${p} returned ${ret}${ret < 0 ? ` (${errnoName(-ret)})` : ''}`;
  }
  return '';
}

/**
 * Loads an object, switching off each program the kernel refuses (its
 * reason kept in `failed`; '*' when the object as a whole failed), and
 * runs its *_init programs.
 */
export function loadObject(addon: NativeAddon, file: string): LoadedObject {
  const lo: LoadedObject = { file, progFds: new Map(), failed: new Map(), buffers: new Map() };
  let obj: NativeBpfObject;
  try {
    obj = new addon.BpfObject(file);
  } catch (e) {
    const why = isNativeError(e) ? `${e.message}${e.log ? `: ${e.log.trim()}` : ''}` : String(e);
    lo.failed.set('*', `cannot open ${path.basename(file)}: ${why}`);
    return lo;
  }
  const progs = obj.progNames();
  let interrupted = 0;
  // each failed load switches one program off and tries again
  for (let attempt = 0; attempt <= progs.length + interrupted; attempt++) {
    try {
      obj.load();
      return loaded(obj, lo, progs);
    } catch (e) {
      obj.close();
      // the verifier gives up with EAGAIN when a signal arrives (a profiler's, say): not the program's fault
      if (isNativeError(e) && e.errno === EAGAIN && interrupted < 5) {
        interrupted++;
        obj = new addon.BpfObject(file);
        for (const p of lo.failed.keys()) obj.setAutoload(p, false);
        continue;
      }
      const log = isNativeError(e) ? e.log : '';
      const msg = e instanceof Error ? e.message : String(e);
      const m = FAILED_PROG.exec(log);
      if (!m || lo.failed.has(m[1]) || !progs.includes(m[1])) {
        // not one program's fault (maps, BTF, object): nothing from this object
        lo.failed.set('*', `${path.basename(file)}: ${msg}${log ? `: ${verifierReason(log) || log.trim().split('\n').pop()}` : ''}`);
        return lo;
      }
      lo.failed.set(m[1], `${m[1]}: ${msg}: ${verifierReason(log) || 'see the verifier log'}`);
      obj = new addon.BpfObject(file);
      for (const p of lo.failed.keys()) obj.setAutoload(p, false);
    }
  }
  obj.close();
  lo.failed.set('*', `${path.basename(file)}: giving up after ${progs.length} attempts`);
  return lo;
}

/** @lo once @obj has loaded: its programs' fds, after its *_init programs ran */
function loaded(obj: NativeBpfObject, lo: LoadedObject, progs: string[]): LoadedObject {
  for (const p of progs) if (!lo.failed.has(p)) lo.progFds.set(p, obj.progFd(p));
  const why = runInits(obj, lo, progs);
  if (why) {
    obj.close();
    lo.progFds.clear();
    lo.failed.set('*', `${path.basename(lo.file)}: set-up: ${why}`);
    return lo;
  }
  lo.obj = obj;
  return lo;
}

/**
 * loadObject() of each of @files, the kernel's verifications side by side
 * (NativeAddon.loadAll: one thread per CPU).  An object that does not load
 * whole is closed and left out, for loadObject() to load alone when it is
 * needed (it learns from the verifier's log which program to switch off).
 */
export function loadObjects(addon: NativeAddon, files: string[]): Map<string, LoadedObject> {
  const out = new Map<string, LoadedObject>();
  const opened: { file: string; obj: NativeBpfObject }[] = [];
  for (const file of files) {
    try {
      opened.push({ file, obj: new addon.BpfObject(file) });
    } catch {
      /* loadObject() says why, when it is needed */
    }
  }
  if (!opened.length) return out;
  const errs = addon.loadAll(opened.map((o) => o.obj));
  opened.forEach(({ file, obj }, i) => {
    if (errs[i] !== 0) {
      obj.close();
      return;
    }
    out.set(file, loaded(obj, { file, progFds: new Map(), failed: new Map(), buffers: new Map() }, obj.progNames()));
  });
  return out;
}

/**
 * The x86 vsyscall gate area, a property of the kernel (vsyscall=emulate,
 * xonly or none), learnt once from our own maps: the engine is a 64-bit
 * task, so it has the area exactly when any 64-bit task has it.
 */
export function readGateVma(maps = '/proc/self/maps'): GateVma | undefined {
  let text: string;
  try {
    text = fs.readFileSync(maps, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^([0-9a-f]+)-([0-9a-f]+) ([r-])([w-])([x-])p [0-9a-f]+ 00:00 0\s+\[vsyscall\]$/m.exec(text);
  if (!m) return undefined;
  const prot = (m[3] === 'r' ? 1 : 0) | (m[4] === 'w' ? 2 : 0) | (m[5] === 'x' ? 4 : 0);
  return { start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), prot, name: '[vsyscall]' };
}

/** A buffer whose pages are already mapped (written once). */
function prefaulted(size: number): ArrayBuffer {
  const b = new ArrayBuffer(size);
  new Uint8Array(b).fill(0xff).fill(0);
  return b;
}

interface Served {
  source: Source;
  obj: LoadedObject;
  progFd: number;
}

export class BpfCollector implements Collector {
  private readonly objects = new Map<string, LoadedObject>();
  /** per foreign pid namespace: its numbers -> init-namespace numbers (lookupOf) */
  private readonly nsTables = new Map<number, Map<number, number>>();
  private readonly nsCtx = new Uint8Array(REQ.size);
  private readonly served = new Map<OpName, Served>();
  private readonly reasons = new Map<OpName, string>();
  /** served and reasons as the constructor chose them: demote() is undone for a new caller */
  private readonly chosen = { served: new Map<OpName, Served>(), reasons: new Map<OpName, string>() };
  private times: OpTimes = {};
  private readonly sizesCtx = new Uint8Array(REQ.size);
  /** the context of each bulk op's program: prefetch() runs them side by side */
  private readonly bulkCtx = { vma: new Uint8Array(REQ.size), fds: new Uint8Array(REQ.size) };
  /** replies prefetch() read ahead, each for the next runBulk() of its op and pid */
  private readonly ahead = new Map<'vma' | 'fds', { pid: number; ret: number }>();
  private readonly taskCtx = new Uint8Array(TASK_CTX.size);
  private closed = false;
  private readonly gate = readGateVma();
  private readonly addon: NativeAddon;
  private readonly objDir: string;
  /** ops forced to one mechanism (CollectorOptions.mechanisms, $CRIB_MECHANISM) */
  private readonly forced: MechanismChoice;
  private kfuncSupport?: KfuncSupport;
  /** the engine's pid namespace: where the kernel resolves the tids the seq iterators attach to */
  private readonly ownNs = ownPidNs();
  /** the caller's pid namespace (CollectorOptions.pidNs, setCaller) */
  private callerNs: number;
  /** the caller's boottime offset (setCaller) */
  private bootOffsetNs = 0n;
  /*
   * Where decoded tables live, reused from call to call: fresh memory costs
   * a page fault per 4 KiB on first touch, several times the copy itself.
   * Made and touched on first use: in the engine that is the warm-up, and a
   * collector that reads no table never pays for them.
   */
  private vmaStoreBuf?: ArrayBuffer;
  private fdStoreBuf?: ArrayBuffer;

  private get vmaStore(): ArrayBuffer {
    return (this.vmaStoreBuf ??= prefaulted(vmaStoreSize(MAX_VMAS + 1)));
  }

  private get fdStore(): ArrayBuffer {
    return (this.fdStoreBuf ??= prefaulted(fdStoreSize(MAX_FDS)));
  }

  constructor(opts: CollectorOptions) {
    this.addon = loadAddon(opts.addonPath);
    this.objDir = opts.objDir;
    this.callerNs = opts.pidNs ?? this.ownNs ?? INIT_PID_NS_INUM;
    this.forced = opts.mechanisms ?? parseMechanisms(process.env.CRIB_MECHANISM);
    // the objects the start and the hello need, loaded side by side ($CRIB_SERIAL_LOAD: one after the other, for A/B runs)
    if (!process.env.CRIB_SERIAL_LOAD) {
      const first = OP_NAMES.map((op) => SOURCES[op].find((s) => !this.forced[op] || s.mechanism === this.forced[op])?.object);
      const files = [...new Set([...first, ...(opts.preload ?? [])])].filter((f): f is string => !!f && !this.objects.has(f));
      for (const [f, lo] of loadObjects(this.addon, files.map((f) => path.join(this.objDir, f)))) this.objects.set(path.basename(f), lo);
    }
    for (const op of OP_NAMES) {
      const want = this.forced[op];
      const why: string[] = [];
      if (want && !SOURCES[op].some((s) => s.mechanism === want)) {
        why.push(`mechanism ${want} was asked for (CRIB_MECHANISM) but ${op} has only ${SOURCES[op].map((s) => s.mechanism).join(', ')}`);
      }
      this.serveFirst(op, SOURCES[op], why);
    }
    this.chosen.served = new Map(this.served);
    this.chosen.reasons = new Map(this.reasons);
  }

  /** The object of a source, loaded once (programs the kernel refuses switched off). */
  private object(file: string): LoadedObject {
    let lo = this.objects.get(file);
    if (!lo) {
      lo = loadObject(this.addon, path.join(this.objDir, file));
      this.objects.set(file, lo);
    }
    return lo;
  }


  /** How src would serve its op here, or why it cannot. */
  private tryServe(src: Source): Served | string {
    // weak kfuncs: the program loads without them (and would return -ENOSYS); the first reason to give
    const missing = (src.kfuncs ?? []).filter((k) => !this.kfuncs().has[k]);
    if (missing.length > 0) {
      const k = this.kfuncs();
      const how = k.method === 'none' ? `not found (${k.reason})` : `not in this kernel (${k.method === 'weak ksym' ? 'weak ksym unresolved' : 'no BTF FUNC'})`;
      return `kfunc ${missing.join(', ')} ${how}: a kernel with the CRIB kfunc series (kernel-patches/) is needed`;
    }
    const lo = this.object(src.object);
    if (src.probe && !lo.progFds.has(src.probe)) return lo.failed.get(src.probe) ?? lo.failed.get('*') ?? `no program ${src.probe}`;
    const fd = lo.progFds.get(src.program);
    if (fd === undefined || !lo.obj) return lo.failed.get(src.program) ?? lo.failed.get('*') ?? `no program ${src.program}`;
    return { source: src, obj: lo, progFd: fd };
  }

  // ---- CRIB kfuncs and alternatives (crib check) ---------------------------

  /**
   * Which CRIB kfuncs (kernel-patches/) this kernel has: crib_kfunc_probe's
   * weak ksyms, else the kernel BTF's FUNC entries.  Loads fds_fget.bpf.o
   * if nothing did yet; the answer is kept.
   */
  kfuncs(): KfuncSupport {
    if (this.kfuncSupport) return this.kfuncSupport;
    // A kernel whose BTF has none of the names has none of the kfuncs: ~7 ms
    // to search the string section against ~20 ms to load the probe object.
    if (kfuncNamesAbsent()) {
      this.kfuncSupport = { method: 'btf', has: kfuncsOfBits(0), reason: 'no CRIB kfunc is named in the kernel BTF; the probe object was not loaded' };
      return this.kfuncSupport;
    }
    const lo = this.object(KFUNC_PROBE.object);
    const fd = lo.progFds.get(KFUNC_PROBE.program);
    let why = lo.failed.get(KFUNC_PROBE.program) ?? lo.failed.get('*') ?? `no program ${KFUNC_PROBE.program}`;
    if (fd !== undefined && lo.obj) {
      const ctx = new Uint8Array(REQ.size);
      encodeReq(ctx, process.pid, this.callerNs);
      try {
        this.kfuncSupport = { method: 'weak ksym', has: kfuncsOfBits(lo.obj.run(fd, ctx)) };
        return this.kfuncSupport;
      } catch (e) {
        why = `running ${KFUNC_PROBE.program}: ${(e as Error).message}`;
      }
    }
    const btf = kfuncsFromBtf();
    this.kfuncSupport = btf ? { method: 'btf', has: btf, reason: why } : { method: 'none', has: kfuncsOfBits(0), reason: `${why}; no readable kernel BTF` };
    return this.kfuncSupport;
  }

  /**
   * Every mechanism of op, best first: which could serve it here (the one
   * serving it marked) and why the others cannot.  Loads the objects not
   * loaded yet (the constructor stops at the first that serves), so it is
   * for crib check, not for the dump path.  Ignores CRIB_MECHANISM.
   */
  mechanismsFor(op: OpName): MechanismStatus[] {
    if (this.closed) throw new CribError('ECLOSED', `${op}: the collector is closed`);
    const serving = this.served.get(op)?.source;
    return SOURCES[op].map((src) => {
      const r = this.tryServe(src);
      return typeof r === 'string'
        ? { mechanism: src.mechanism, available: false, serving: false, reason: r }
        : { mechanism: src.mechanism, available: true, serving: src === serving };
    });
  }

  // ---- end CRIB kfuncs and alternatives --------------------------------------

  /**
   * Serve @caller from now on: every pid in and out is a number in its pid
   * namespace.  Programs check each task they find against it, so a pid
   * that does not exist there is "no such task", never another task's data.
   */
  setCaller(caller: Caller): void {
    const inum = caller.pidNs;
    if (!Number.isInteger(inum) || inum <= 0 || inum > 0xffffffff) throw new UsageError(`pid namespace inode must be a positive 32-bit integer, got ${inum}`);
    this.callerNs = inum;
    this.bootOffsetNs = caller.bootOffsetNs;
    // which mechanism can find this caller's pids is learnt anew (demote)
    this.served.clear();
    this.reasons.clear();
    for (const [op, s] of this.chosen.served) this.served.set(op, s);
    for (const [op, r] of this.chosen.reasons) this.reasons.set(op, r);
  }

  get callerPidNs(): number {
    return this.callerNs;
  }

  support(): OpSupport[] {
    return OP_NAMES.map((op) => {
      const s = this.served.get(op);
      return s ? { op, available: true, mechanism: s.source.mechanism } : { op, available: false, reason: this.reasons.get(op) };
    });
  }

  stat(pid: number): TaskStat {
    return this.timed('stat', () => decodeTaskStat(this.runTask('stat', pid), this.bootOffsetNs));
  }

  status(pid: number): TaskStatus {
    return this.timed('status', () => decodeTaskStatus(this.runTask('status', pid)));
  }

  threads(pid: number): Int32Array {
    return this.timed('threads', () => {
      const { s, reply } = this.runBulk('threads', pid);
      return decodePids('threads', this.buffer(s.obj, 'tids'), reply.count);
    });
  }

  children(pid: number): Int32Array {
    return this.timed('children', () => {
      const { s, reply } = this.runBulk('children', pid);
      return decodePids('children', this.buffer(s.obj, 'tids'), reply.count);
    });
  }

  vmas(pid: number): VmaTableWithRaw {
    return this.timed('vma', () => {
      const it = this.served.get('vma');
      if (it?.source.reader === 'iter') {
        // seq iterator (iter.ts)
        const s = this.serving('vma', pid);
        this.iterArgs('vma', s, pid);
        const r = iterVmas(s.obj.obj!, s.source.program, s.source.probe!, pid, this.gate);
        if (!r) throw new NoSuchTaskError(pid, 'vma');
        if (!r.table) this.fail('vma', s, pid, r.reply);
        return r.table;
      }
      const { s, reply } = this.runBulk('vma', pid, [-ENOENT]);
      // -ENOENT: the task has no mm (a zombie, a kernel thread): no VMAs, as smaps shows
      const count = reply.err === -ENOENT ? 0 : reply.count;
      const gate = reply.flags & REQ_F_GATE_VMA ? this.gate : undefined;
      return decodeVmaCols(pid, this.buffer(s.obj, 'vma_cols'), this.buffer(s.obj, 'names'), count, reply.namesLen, gate, this.vmaStore);
    });
  }

  fds(pid: number): FdTable {
    return this.timed('fds', () => {
      const it = this.served.get('fds');
      if (it?.source.reader === 'iter') {
        // seq iterator (iter.ts)
        const s = this.serving('fds', pid);
        this.iterArgs('fds', s, pid);
        const r = iterFds(s.obj.obj!, s.source.program, s.source.probe!, pid);
        if (!r) throw new NoSuchTaskError(pid, 'fds');
        if (!r.table) this.fail('fds', s, pid, r.reply);
        return r.table;
      }
      const { s, reply } = this.runBulk('fds', pid);
      return decodeFdCols(pid, this.buffer(s.obj, 'fd_cols'), reply.count, this.fdStore, this.addon.firstUnordered);
    });
  }

  /**
   * Runs the SYSCALL programs of @ops for @pid at once, one thread each
   * (the addon's runAll), so that a snapshot waits for its longest walk
   * rather than for their sum; each op is charged its own run.  The next
   * vmas()/fds() of @pid decode those replies.  Anything that cannot run
   * this way (seq iterators, ops not served, a failed start) is left to
   * those calls, which run it again and report.
   */
  prefetch(pid: number, ops: ReadonlyArray<'vma' | 'fds'>, opts: { always?: boolean } = {}): boolean {
    this.ahead.clear();
    if (this.closed || !Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) return false;
    const todo = [...new Set(ops)].filter((op) => {
      const s = this.served.get(op);
      return s && s.source.reader !== 'iter';
    });
    if (todo.length < 2) return false; // nothing to overlap
    if (!opts.always && !this.longWalks(pid)) return false;
    let lookup: number;
    try {
      lookup = this.lookupOf(todo[0], pid);
    } catch {
      return false; // the calls themselves say why
    }
    const ctxs = todo.map((op) => {
      encodeReq(this.bulkCtx[op], pid, this.callerNs, lookup);
      return this.bulkCtx[op];
    });
    let out: Float64Array;
    try {
      out = this.addon.runAll(
        todo.map((op) => this.served.get(op)!.progFd),
        ctxs,
      );
    } catch {
      return false;
    }
    todo.forEach((op, i) => {
      // a failed run, a task not found by an older walk's number, or one the program could not find
      // without its init-namespace number (lookupInstead()): the op's own call runs again
      if (out[3 * i + 1] !== 0 || (lookup && out[3 * i] === -ESRCH) || out[3 * i] === -EOPNOTSUPP) return;
      this.times[op] = (this.times[op] ?? 0n) + BigInt(Math.round(out[3 * i + 2]));
      this.ahead.set(op, { pid, ret: out[3 * i] });
    });
    return true;
  }

  /**
   * Whether both walks of @pid are long enough to gain from a second
   * thread: starting one and waking across CPUs costs ~0.15-0.25 ms here,
   * more than the whole of a small task's walks (task.bpf.o's crib_sizes;
   * no answer: no).  Its run is charged to vma.
   */
  private longWalks(pid: number): boolean {
    const t0 = process.hrtime.bigint();
    try {
      const lo = this.object(SIZES.object);
      const fd = lo.progFds.get(SIZES.program);
      if (fd === undefined || !lo.obj) return false;
      encodeReq(this.sizesCtx, pid, this.callerNs, this.lookupOf('vma', pid));
      if (lo.obj.run(fd, this.sizesCtx) !== 0) return false;
      const r = decodeReply(this.sizesCtx);
      return r.count >= OVERLAP_MIN_VMAS && r.total >= OVERLAP_MIN_FDS;
    } catch {
      return false;
    } finally {
      this.times.vma = (this.times.vma ?? 0n) + (process.hrtime.bigint() - t0);
    }
  }

  takeTimes(): OpTimes {
    const t = this.times;
    this.times = {};
    return t;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const lo of [...this.objects.values(), ...this.copies.values()]) {
      lo.buffers.clear();
      lo.obj?.close();
    }
    this.served.clear();
  }

  // ---- internals -----------------------------------------------------------

  /**
   * Runs @fn for @op; where the serving mechanism cannot resolve the
   * caller's pids exactly here (NotExactHereError), the op moves on to its
   * next mechanism that can, for good, and @fn runs again.
   */
  private timed<T>(op: OpName, fn: () => T): T {
    const t0 = process.hrtime.bigint();
    try {
      for (;;) {
        try {
          return fn();
        } catch (e) {
          if (!(e instanceof NotExactHereError) || !this.demote(op, e.message)) throw e;
        }
      }
    } finally {
      this.times[op] = (this.times[op] ?? 0n) + (process.hrtime.bigint() - t0);
    }
  }

  /**
   * Serves @op by the first of @sources (those the forced mechanism allows)
   * that can here; else leaves it unserved, with @why and each source's
   * reason.  True when one serves.
   */
  private serveFirst(op: OpName, sources: Source[], why: string[]): boolean {
    const want = this.forced[op];
    for (const src of sources.filter((s) => !want || s.mechanism === want)) {
      const r = this.tryServe(src);
      if (typeof r === 'string') {
        why.push(`${src.mechanism}: ${r}`);
        continue;
      }
      this.served.set(op, r);
      return true;
    }
    this.served.delete(op);
    this.reasons.set(op, why.join('; '));
    return false;
  }

  /** @op's next mechanism after the serving one that loads here; false when there is none. */
  private demote(op: OpName, why: string): boolean {
    const cur = this.served.get(op);
    if (!cur) return false;
    const rest = SOURCES[op].slice(SOURCES[op].indexOf(cur.source) + 1);
    return this.serveFirst(op, rest, [`${cur.source.mechanism}: ${why}`]);
  }

  /**
   * A seq iterator resolves the tid it is attached to in the pid namespace
   * of the reader, this process: exact only for a caller in the same one.
   * Writes the request where the object's task programs check it.
   */
  private iterArgs(op: string, s: Served, pid: number): void {
    if (this.ownNs === undefined || this.ownNs !== this.callerNs) {
      throw new NotExactHereError(
        op,
        `${s.source.mechanism} finds tasks in the engine's pid namespace (${this.ownNs ?? 'unknown: /proc/self/ns/pid unreadable'}), the caller's is ${this.callerNs}`,
      );
    }
    try {
      s.obj.obj!.writeMap('iter_args', 0, encodeIterArgs(pid, this.callerNs));
    } catch (e) {
      throw new CribError('EIO', `${op}: pid ${pid}: writing the request of ${s.source.program}: ${(e as Error).message}`);
    }
  }

  private serving(op: OpName, pid: number): Served {
    if (this.closed) throw new CribError('ECLOSED', `${op}: the collector is closed`);
    if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) throw new UsageError(`${op}: pid must be a positive integer, got ${pid}`);
    const s = this.served.get(op);
    if (!s) throw new UnsupportedError(op, this.reasons.get(op) ?? 'not loaded');
    return s;
  }

  private run(op: string, s: Served, pid: number, ctx: Uint8Array, allowed: number[] = []): Reply {
    for (let fresh = false; ; fresh = true) {
      const lookup = this.lookupOf(op, pid, fresh);
      encodeReq(ctx, pid, this.callerNs, lookup);
      let ret: number;
      try {
        ret = s.obj.obj!.run(s.progFd, ctx);
      } catch (e) {
        throw new CribError('EIO', `${op}: pid ${pid}: running ${s.source.program} failed: ${(e as Error).message}`);
      }
      // a number from an older walk may name a task gone since: walk again, once
      if (ret === -ESRCH && lookup && !fresh) continue;
      if (ret === -EOPNOTSUPP && !lookup && this.lookupInstead()) continue;
      return this.reply(op, s, pid, ctx, ret, allowed);
    }
  }

  // ---- the programs of folder ops (engine/ops.ts) -----------------------------

  private internalMounts?: { anonInode: number; pidfs: number };

  internalMount(fs: InternalFs): number | undefined {
    // the same for every caller: mount ids are the kernel's, not a namespace's
    this.internalMounts ??= this.addon.internalMounts();
    const id = fs === 'anon_inode' ? this.internalMounts.anonInode : this.internalMounts.pidfs;
    return id >= 0 ? id : undefined;
  }

  programStatus(prog: ProgramRef): true | string {
    const r = this.tryServe(prog);
    return typeof r === 'string' ? r : true;
  }

  runProgram(op: string, prog: ProgramRef, pid: number, ctx: Uint8Array): void {
    if (this.closed) throw new CribError('ECLOSED', `${op}: the collector is closed`);
    if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) throw new UsageError(`${op}: pid must be a positive integer, got ${pid}`);
    const s = this.tryServe(prog);
    if (typeof s === 'string') throw new UnsupportedError(op, s);
    if (s.source.reader !== 'iter') {
      this.run(op, s, pid, ctx);
      return;
    }
    // seq iterator (iter.ts): resolved in the engine's pid namespace
    if (this.foreignCaller) throw new UnsupportedError(op, `${prog.program} finds tasks in the engine's pid namespace, pid:[${this.ownNs}], and the caller is in pid:[${this.callerNs}]`);
    this.iterArgs(op, s, pid);
    const reply = iterCtx(op, s.obj.obj!, s.source.program, pid, ctx);
    if (!reply) throw new NoSuchTaskError(pid, op);
    if (reply.err) this.fail(op, s, pid, reply);
  }

  statmount(mntId: bigint, nsId: bigint, mask: number): ArrayBuffer | number {
    return this.addon.statmount(mntId, nsId, mask);
  }

  /**
   * The kernel ids of the SYSCALL programs serving status, threads and
   * children and of their output map, for a caller that runs them itself
   * (proto/crib.proto, Direct): status alone where the list ops are served
   * otherwise (a seq iterator is attached per read: it has no id to run),
   * nothing where status is.
   */
  direct(): { taskProg: number; threadsProg?: number; childrenProg?: number; tidsMap?: number } | undefined {
    if (this.closed) return undefined;
    const st = this.served.get('status');
    const th = this.served.get('threads');
    const ch = this.served.get('children');
    if (!st || st.source.reader) return undefined;
    const taskProg = this.addon.objId(st.progFd);
    if (taskProg <= 0) return undefined;
    if (!th || !ch || th.source.reader || ch.source.reader || th.obj !== ch.obj) return { taskProg };
    const ids = [th.progFd, ch.progFd, th.obj.obj!.mapInfo('tids').fd].map((fd) => this.addon.objId(fd));
    if (ids.some((id) => id <= 0)) return { taskProg };
    return { taskProg, threadsProg: ids[0], childrenProg: ids[1], tidsMap: ids[2] };
  }

  treeIds(prog: ProgramRef): { prog: number; inMap: number; outMap: number } | undefined {
    if (this.closed) return undefined;
    const s = this.tryServe(prog);
    if (typeof s === 'string' || s.source.reader) return undefined;
    const obj = s.obj.obj!;
    const ids = [s.progFd, obj.mapInfo('tree_in').fd, obj.mapInfo(prog.outMap ?? 'tree_out').fd].map((fd) => this.addon.objId(fd));
    return ids.some((id) => id <= 0) ? undefined : { prog: ids[0], inMap: ids[1], outMap: ids[2] };
  }

  /** copies of objects lent to a service's sessions (iterIds), by "object#slot" */
  private readonly copies = new Map<string, LoadedObject>();

  iterIds(prog: ProgramRef, slot: number): { prog: number; wantMap: number; argsMap: number } | undefined {
    if (this.closed || prog.reader !== 'iter') return undefined;
    const s = this.tryServe(prog);
    if (typeof s === 'string') return undefined;
    let lo = s.obj;
    if (slot > 0) {
      const key = `${prog.object}#${slot}`;
      let copy = this.copies.get(key);
      if (!copy) this.copies.set(key, (copy = loadObject(this.addon, path.join(this.objDir, prog.object))));
      lo = copy;
    }
    const fd = lo.progFds.get(prog.program);
    if (fd === undefined || !lo.obj) return undefined;
    const ids = [fd, lo.obj.mapInfo('want').fd, lo.obj.mapInfo('iter_args').fd].map((x) => this.addon.objId(x));
    return ids.some((id) => id <= 0) ? undefined : { prog: ids[0], wantMap: ids[1], argsMap: ids[2] };
  }

  readRing(op: string, prog: ProgramRef, map: string): ArrayBuffer {
    if (this.closed) throw new CribError('ECLOSED', `${op}: the collector is closed`);
    const s = this.tryServe(prog);
    if (typeof s === 'string') throw new UnsupportedError(op, s);
    try {
      return s.obj.obj!.ringbufRead(map);
    } catch (e) {
      throw new CribError('EIO', `${op}: draining ${map} of ${s.source.object}: ${(e as Error).message}`);
    }
  }

  /**
   * A list op's seq iterator (reader 'iter', its probe PROGRAM_probe in the
   * same object) read for @pid of the caller's namespace.  The kernel finds
   * the task the iterator is attached to in the engine's pid namespace: for
   * a caller in another one (a service) the engine attaches to the task's
   * init-namespace number (ns_tasks.bpf.o), which is its own only when it
   * runs in the init namespace.  Either way the program checks the task is
   * the caller's pid before it writes anything (crib_iter_task_level).
   */
  runStream(op: string, prog: ProgramRef, pid: number): StreamRun {
    if (this.closed) throw new CribError('ECLOSED', `${op}: the collector is closed`);
    if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) throw new UsageError(`${op}: pid must be a positive integer, got ${pid}`);
    if (prog.reader !== 'iter') throw new UsageError(`${op}: ${prog.program} is not a seq iterator`);
    const s = this.tryServe(prog);
    if (typeof s === 'string') throw new UnsupportedError(op, s);
    let tid = pid;
    if (this.foreignCaller) {
      if (this.ownNs !== INIT_PID_NS_INUM) throw new UnsupportedError(op, `${prog.program} finds tasks in the engine's pid namespace, pid:[${this.ownNs}], which is not the init one, and the caller is in pid:[${this.callerNs}]`);
      tid = this.lookupOf(op, pid);
    }
    try {
      s.obj.obj!.writeMap('iter_args', 0, encodeIterArgs(pid, this.callerNs));
    } catch (e) {
      throw new CribError('EIO', `${op}: pid ${pid}: writing the request of ${prog.program}: ${(e as Error).message}`);
    }
    const r = iterStream(op, s.obj.obj!, prog.program, `${prog.program}_probe`, tid);
    if (!r) throw new NoSuchTaskError(pid, op);
    if (r.reply.err) this.fail(op, s, pid, r.reply);
    return { buf: r.buf, items: r.items.map((x) => ({ off: x.off, len: x.len - REC.size, extra: x.extra })) };
  }

  /** map "want" of each list op's object (a bit per pid), reused */
  private want?: Uint8Array;

  /**
   * A list op's seq iterator attached to no task, for @pids of the
   * caller's namespace at once: the program reports the tasks whose bit is
   * set in map "want" (struct crib_NAME_want, @wantBytes), finding each
   * task's pid in the caller's namespace itself, so no lookup is needed
   * for a caller of another namespace.  The kernel walks the tasks of the
   * engine's pid namespace, where the caller's tree is.
   */
  runStreamAll(op: string, prog: ProgramRef, pids: number[], wantBytes: number): StreamRun {
    if (this.closed) throw new CribError('ECLOSED', `${op}: the collector is closed`);
    if (prog.reader !== 'iter') throw new UsageError(`${op}: ${prog.program} is not a seq iterator`);
    const s = this.tryServe(prog);
    if (typeof s === 'string') throw new UnsupportedError(op, s);
    if (!this.want || this.want.length !== wantBytes) this.want = new Uint8Array(wantBytes);
    const w = this.want;
    w.fill(0);
    for (const pid of pids) {
      if (!Number.isInteger(pid) || pid <= 0 || pid >= wantBytes * 8) throw new UsageError(`${op}: pid must be a positive integer below ${wantBytes * 8}, got ${pid}`);
      w[pid >> 3] |= 1 << (pid & 7);
    }
    const obj = s.obj.obj!;
    try {
      obj.writeMap('want', 0, w);
      obj.writeMap('iter_args', 0, encodeIterArgs(0, this.callerNs));
    } catch (e) {
      throw new CribError('EIO', `${op}: writing the request of ${prog.program}: ${(e as Error).message}`);
    }
    const r = iterStreamAll(op, obj, prog.program);
    if (r.reply.err) throw new CribError('EIO', `${op}: ${prog.program} over every task failed with errno ${-r.reply.err}`);
    return { buf: r.buf, items: r.items.map((x) => ({ off: x.off, len: x.len - REC.size, extra: x.extra })) };
  }

  /** tree_in of each object, reused */
  private treeIn?: Int32Array;
  private readonly treeCtx = new Uint8Array(TREE_REQ.size);

  runTree(op: string, prog: ProgramRef, pids: number[], recSize: number): TreeRun {
    if (this.closed) throw new CribError('ECLOSED', `${op}: the collector is closed`);
    if (pids.length > TREE_MAX) throw new UsageError(`${op}: ${pids.length} tasks in one tree run, at most ${TREE_MAX}`);
    const s = this.tryServe(prog);
    if (typeof s === 'string') throw new UnsupportedError(op, s);
    const tin = (this.treeIn ??= new Int32Array(TREE_IN.size / 4));
    tin.fill(0);
    const err = new Int32Array(pids.length);
    for (let i = 0; i < pids.length; i++) {
      const pid = pids[i];
      if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) throw new UsageError(`${op}: pid must be a positive integer, got ${pid}`);
      tin[i] = pid;
      try {
        tin[TREE_MAX + i] = this.lookupOf(op, pid);
      } catch (e) {
        if (!(e instanceof NoSuchTaskError)) throw e;
        tin[i] = 0x7fffffff; // nobody: the program answers -ESRCH for it
      }
    }
    const obj = s.obj.obj!;
    try {
      obj.writeMap('tree_in', 0, new Uint8Array(tin.buffer));
    } catch (e) {
      throw new CribError('EIO', `${op}: writing tree_in of ${s.source.object}: ${(e as Error).message}`);
    }
    encodeReq(this.treeCtx, 1, this.callerNs, 0);
    const dv = new DataView(this.treeCtx.buffer);
    dv.setUint32(REQ.members.size.offset, TREE_REQ.size, true);
    dv.setInt32(REQ.members.pid.offset, 0, true);
    dv.setUint32(TREE_REQ.members.nr.offset, pids.length, true);
    let ret: number;
    try {
      ret = obj.run(s.progFd, this.treeCtx);
    } catch (e) {
      throw new CribError('EIO', `${op}: running ${s.source.program} failed: ${(e as Error).message}`);
    }
    const reply = decodeReply(this.treeCtx);
    if (ret !== reply.err) throw new BadRecordError(op, `${s.source.program} returned ${ret} but reported ${reply.err}`);
    if (reply.err) throw new CribError('EIO', `${op}: ${s.source.program} failed with errno ${-reply.err}`);
    if (reply.count !== pids.length) throw new BadRecordError(op, `${s.source.program} did ${reply.count} of ${pids.length} tasks`);
    const off = new Int32Array(pids.length);
    let buf: ArrayBuffer;
    if (prog.reader === 'ringbuf') {
      buf = this.drainTree(op, s, err, off, recSize);
    } else {
      buf = this.buffer(s.obj, prog.outMap ?? 'tree_out');
      err.set(new Int32Array(buf, 0, pids.length));
      for (let i = 0; i < pids.length; i++) off[i] = 4 * TREE_MAX + recSize * i;
    }
    if (err.includes(-EOPNOTSUPP) && this.lookupInstead()) return this.runTree(op, prog, pids, recSize);
    for (let i = 0; i < pids.length; i++) if (tin[i] === 0x7fffffff) err[i] = -ESRCH;
    return { err, buf, off };
  }

  /** The records of a tree pass through ring buffer tree_rb: struct crib_tree_rec, then the op's record. */
  private drainTree(op: string, s: Served, err: Int32Array, off: Int32Array, recSize: number): ArrayBuffer {
    let buf: ArrayBuffer;
    try {
      buf = s.obj.obj!.ringbufRead('tree_rb');
    } catch (e) {
      throw new CribError('EIO', `${op}: draining tree_rb of ${s.source.object}: ${(e as Error).message}`);
    }
    const dv = new DataView(buf);
    const seen = new Uint8Array(err.length);
    let n = 0;
    for (let p = 0; p < buf.byteLength; ) {
      const len = dv.getUint32(p, true);
      if (len !== 8 + recSize || p + 8 + len > buf.byteLength) throw new BadRecordError(op, `tree_rb record of ${len} bytes at ${p}, ${8 + recSize} expected`);
      const idx = dv.getUint32(p + 8, true);
      if (idx >= err.length || seen[idx]) throw new BadRecordError(op, `tree_rb record for entry ${idx} (of ${err.length}) out of range or repeated`);
      seen[idx] = 1;
      err[idx] = dv.getInt32(p + 12, true);
      off[idx] = p + 16;
      n++;
      p += 8 + ((len + 7) & ~7);
    }
    if (n !== err.length) throw new BadRecordError(op, `tree_rb held ${n} records for ${err.length} tasks (the ring is ${'full?'})`);
    return buf;
  }

  // ---- a caller in another pid namespace than the engine's (a service) -------

  /** Whether the programs must be told each task's init-namespace number (crib_req.lookup). */
  private get foreignCaller(): boolean {
    return this.ownNs !== undefined && this.callerNs !== this.ownNs;
  }

  /**
   * Set once a SYSCALL program said it cannot find a pid of the caller's
   * namespace by itself (-EOPNOTSUPP: no bpf_task_from_vpid(), 6.7-6.12,
   * and the caller, with the engine, in a child pid namespace, as a
   * co-process of a CRIU there is): from then on the programs are told
   * the init-namespace numbers too, from a walk of the namespace, as for
   * a foreign caller.
   */
  private noVpid = false;

  /** After an -EOPNOTSUPP for a pid asked without its init-namespace number: whether asking with it may serve */
  private lookupInstead(): boolean {
    if (this.noVpid || this.needsLookup || this.callerNs === INIT_PID_NS_INUM) return false;
    this.noVpid = true;
    return true;
  }

  /** Whether the programs are told each pid's init-namespace number: a foreign caller, or one the programs cannot look up by itself */
  private get needsLookup(): boolean {
    return this.foreignCaller || (this.noVpid && this.callerNs !== INIT_PID_NS_INUM);
  }

  /**
   * crib_req.lookup for @pid of the caller's namespace: 0 when the engine
   * shares it; else its init-namespace number from a walk of that
   * namespace (ns_tasks.bpf.o), kept per namespace and walked again when
   * @fresh or the number is not in it.  A number the namespace does not
   * have is "no such task".
   */
  private lookupOf(op: string, pid: number, fresh = false): number {
    if (!this.needsLookup) return 0;
    let table = fresh ? undefined : this.nsTables.get(this.callerNs);
    let k = table?.get(pid);
    if (k === undefined && !fresh && table) table = undefined; // not there: the namespace may have grown
    if (!table) {
      table = this.walkNs(op, this.callerNs);
      k = table.get(pid);
    }
    if (k === undefined) throw new NoSuchTaskError(pid, op);
    return k;
  }

  /** Every task of the pid namespace @inum: its number there -> its number in the init namespace. */
  private walkNs(op: string, inum: number): Map<number, number> {
    const lo = this.object(NS_TASKS.object);
    const fd = lo.progFds.get(NS_TASKS.program);
    if (fd === undefined || !lo.obj) {
      throw new NotExactHereError(op, `the caller is in pid:[${inum}], the engine in pid:[${this.ownNs}], and ${NS_TASKS.program} does not load here: ${lo.failed.get(NS_TASKS.program) ?? lo.failed.get('*') ?? 'no program'}`);
    }
    encodeReq(this.nsCtx, 1, inum);
    const ret = lo.obj.run(fd, this.nsCtx);
    const reply = decodeReply(this.nsCtx);
    if (ret === -EOPNOTSUPP) throw new NotExactHereError(op, `${NS_TASKS.program}: no open-coded task iterator in this kernel (6.7+)`);
    if (ret !== 0 || reply.err !== 0) throw new CribError('EIO', `${op}: walking pid namespace ${inum}: ${NS_TASKS.program} failed with errno ${-ret}`);
    if (reply.count > MAX_NS_TASKS) throw new BadRecordError(op, `${NS_TASKS.program}: count ${reply.count} > ${MAX_NS_TASKS}`);
    const buf = this.buffer(lo, 'ns_task_cols');
    const nr = new Int32Array(buf, NS_TASK_COLS.members.nr.offset, reply.count);
    const kpid = new Int32Array(buf, NS_TASK_COLS.members.kpid.offset, reply.count);
    const table = new Map<number, number>();
    for (let i = 0; i < reply.count; i++) if (nr[i] > 0 && kpid[i] > 0) table.set(nr[i], kpid[i]);
    this.nsTables.set(inum, table);
    return table;
  }

  /**
   * Whether sessions of a caller in pid namespace @inum can be served
   * here: the engine's own namespace, or any other where the namespace
   * walk loads (a service; 6.7+).
   */
  canServeNs(inum: number): true | string {
    if (inum === this.ownNs) return true;
    // the SYSCALL programs are what take crib_req.lookup: on a kernel with only the iterators, no
    const stat = this.served.get('stat');
    if (!stat || stat.source.reader === 'iter') return `the engine runs in pid:[${this.ownNs ?? '?'}] and the caller in pid:[${inum}], and this kernel has only the seq iterators, which resolve pids in the engine's`;
    try {
      this.walkNs('stat', inum); // a walk of ~0.1 ms, and the table is kept
      return true;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** The reply a program left in @ctx, checked; @ret is what it returned. */
  private reply(op: string, s: Served, pid: number, ctx: Uint8Array, ret: number, allowed: number[]): Reply {
    const reply = decodeReply(ctx);
    if (ret !== reply.err) throw new BadRecordError(op, `program returned ${ret} but reported ${reply.err}`);
    if (reply.err === -EOPNOTSUPP) {
      throw new NotExactHereError(op, `${s.source.program} cannot find pids of pid namespace ${this.callerNs} on this kernel (no bpf_task_from_vpid, and the caller is not in the init namespace)`);
    }
    if (reply.err !== 0 && !allowed.includes(reply.err)) this.fail(op, s, pid, reply);
    if (reply.count > reply.total) throw new BadRecordError(op, `count ${reply.count} > total ${reply.total}`);
    return reply;
  }

  private fail(op: string, s: Served, pid: number, reply: Reply): never {
    switch (-reply.err) {
      case ESRCH:
        throw new NoSuchTaskError(pid, op);
      case EBUSY:
        throw new BusyError(pid, op);
      case E2BIG:
        throw new CribError(
          'E2BIG',
          `${op}: pid ${pid}: more entries than the BPF maps of ${s.source.object} hold (${reply.count} written); raise the CRIB_MAX_* limits in bpf/crib.h or use --engine=procfs`,
          E2BIG,
        );
      case ENAMETOOLONG:
        throw new CribError('ENAMETOOLONG', `${op}: pid ${pid}: a mapped file's path is longer than PATH_MAX`, ENAMETOOLONG);
      case EPROTO:
        throw new BadRecordError(op, `${s.source.object} speaks another record layout (crib.h version); rebuild the engine`);
      default:
        throw new CribError('EIO', `${op}: pid ${pid}: ${s.source.program} failed with errno ${-reply.err}`);
    }
  }

  private runTask(op: OpName, pid: number): Uint8Array {
    const s = this.serving(op, pid);
    if (s.source.reader === 'iter') {
      // seq iterator (iter.ts)
      this.iterArgs(op, s, pid);
      const ctx = iterTask(op, s.obj.obj!, s.source.program, pid);
      if (!ctx) throw new NoSuchTaskError(pid, op);
      return ctx;
    }
    this.run(op, s, pid, this.taskCtx);
    return this.taskCtx;
  }

  private runBulk(op: OpName, pid: number, allowed: number[] = []): { s: Served; reply: Reply } {
    const s = this.serving(op, pid);
    if (s.source.reader === 'iter') {
      // seq iterator (iter.ts): the END record is the reply, the table is in the object's maps
      this.iterArgs(op, s, pid);
      const reply = iterReply(op, s.obj.obj!, s.source.program, pid);
      if (!reply) throw new NoSuchTaskError(pid, op);
      if (reply.err !== 0 && !allowed.includes(reply.err)) this.fail(op, s, pid, reply);
      if (reply.count > reply.total) throw new BadRecordError(op, `count ${reply.count} > total ${reply.total}`);
      return { s, reply };
    }
    const kind = op === 'vma' ? 'vma' : 'fds';
    const ahead = this.ahead.get(kind);
    this.ahead.delete(kind);
    if (ahead && ahead.pid === pid) return { s, reply: this.reply(op, s, pid, this.bulkCtx[kind], ahead.ret, allowed) };
    return { s, reply: this.run(op, s, pid, this.bulkCtx[kind], allowed) };
  }

  private buffer(lo: LoadedObject, map: string): ArrayBuffer {
    let b = lo.buffers.get(map);
    if (!b) {
      try {
        b = lo.obj!.mapBuffer(map);
      } catch (e) {
        throw new BpfLoadError(`map ${map} of ${path.basename(lo.file)}`, (e as Error).message);
      }
      lo.buffers.set(map, b);
    }
    return b;
  }
}

export function createCollector(opts: CollectorOptions): Collector & BpfCollector {
  return new BpfCollector(opts);
}
