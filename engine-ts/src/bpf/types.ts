// What the BPF collector hands to the rest of the engine: decoded records,
// already in the shape of the plugin/engine contract (proto/crib.proto)
// and of struct cr_eng_* in criu-engine.h.  Bulk tables are
// struct-of-arrays so they can be sent as packed fields without per-entry
// work.

export type OpName = 'stat' | 'status' | 'threads' | 'children' | 'vma' | 'fds' | 'fdinfo';

export const OP_NAMES: readonly OpName[] = ['stat', 'status', 'threads', 'children', 'vma', 'fds', 'fdinfo'];

export interface OpSupport {
  op: OpName;
  available: boolean;
  /** e.g. "bpf:task_vma_iter", "bpf:iter/task_vma", "bpf:fdtable_walk" */
  mechanism?: string;
  /** why not, when unavailable */
  reason?: string;
}

export interface TaskStat {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  numThreads: number;
  exitCode: number;
  flags: number;
  /** one letter, as /proc/PID/stat prints it */
  state: string;
  /** a byte string: one char per byte, as Buffer's 'latin1' (comm need not be UTF-8) */
  comm: string;
  startTime: bigint;
  startCode: bigint;
  endCode: bigint;
  startData: bigint;
  endData: bigint;
  startBrk: bigint;
  startStack: bigint;
  argStart: bigint;
  argEnd: bigint;
  envStart: bigint;
  envEnd: bigint;
}

export interface TaskStatus {
  state: string;
  ppid: number;
  vpid: number;
  seccompMode: number;
  sigpnd: bigint;
  shdpnd: bigint;
  sigblk: bigint;
  uids: [number, number, number, number];
  gids: [number, number, number, number];
  capInh: bigint;
  capPrm: bigint;
  capEff: bigint;
  capBnd: bigint;
  capAmb: bigint;
}

/** The VMAs of one task; entry i across all arrays.  See struct cr_eng_vma. */
export interface VmaTable {
  pid: number;
  count: number;
  start: BigUint64Array;
  end: BigUint64Array;
  pgoff: BigUint64Array;
  ino: BigUint64Array;
  madv: BigUint64Array;
  devMaj: Uint32Array;
  devMin: Uint32Array;
  prot: Uint32Array;
  shared: Uint32Array;
  mapFlags: Uint32Array;
  vmflags: Uint32Array;
  /**
   * entry i is names[nameIdx[i]]; names[0] === ''.  Byte strings, one char
   * per byte (Buffer's 'latin1'): the kernel's names need not be UTF-8.
   */
  nameIdx: Uint32Array;
  /** the mount of the mapped file (as fdinfo of its map_files fd says), -1 without a file */
  mntId: Int32Array;
  /** FMODE_READ | FMODE_WRITE of the mapped file (the map_files link's mode) */
  fmode: Uint32Array;
  names: string[];
}

/** The open fds of one task with their common fdinfo, ascending by fd. */
export interface FdTable {
  pid: number;
  count: number;
  fd: Int32Array;
  pos: BigUint64Array;
  /** f_flags, with O_CLOEXEC set when the fd has close-on-exec */
  flags: Uint32Array;
  mntId: Int32Array;
  /** whether the file has locks: FD_LOCKS_NONE or FD_LOCKS_HELD (records.ts) */
  locks: Uint32Array;
}

/** The kernel's internal mounts that the files of some ops are on (Collector.internalMount). */
export type InternalFs = 'anon_inode' | 'pidfs';

/** Time spent in each op's BPF runs and decoding, in ns. */
export type OpTimes = Partial<Record<OpName, bigint>>;

/**
 * Who asks (the CRIU of the session), as far as the answers depend on it:
 * every pid in and out is a number in its pid namespace (see bpf/crib.h),
 * and boot-relative times are as its time namespace shows them.
 */
/** What a tree pass gave (Collector.runTree). */
export interface TreeRun {
  err: Int32Array;
  buf: ArrayBuffer;
  off: Int32Array;
}

/** What a list op's iterator gave (Collector.runStream): its items, each a CRIB_REC_CTX record's payload. */
export interface StreamRun {
  buf: ArrayBuffer;
  /** payload offset in buf, payload length (padding included), bytes after the fixed part (crib_rec.extra) */
  items: { off: number; len: number; extra: number }[];
}

/** A SYSCALL program of a BPF object in the engine's object folder. */
export interface ProgramRef {
  /** e.g. "bpf:task" (what hello reports) */
  mechanism: string;
  object: string;
  program: string;
  /**
   * 'iter': a seq-iterator program attached to the task (a CRIB_REC_CTX
   * record); 'ringbuf': a tree pass whose records come through map
   * tree_rb; default: a SYSCALL program (a tree pass: map tree_out)
   */
  reader?: 'iter' | 'ringbuf';
  /** a tree pass: its output map (default "tree_out"; bpf/pertask.bpf.c: "out_NAME" of each op) */
  outMap?: string;
}

export interface Caller {
  /** the inode of its /proc/self/ns/pid */
  pidNs: number;
  /** its time namespace's boottime offset (/proc/self/timens_offsets) */
  bootOffsetNs: bigint;
  /** the inode of its /proc/self/ns/user, where known: ids read from the kernel are printed for it */
  userNs?: number;
  /** 'same' when it has the engine's mount namespace and root (paths the engine names are its), else why not (pidns.ts rootOf) */
  root?: 'same' | string;
  /** the inode of its /proc/self/ns/cgroup, where known: /proc names cgroups from that namespace's roots */
  cgroupNs?: number;
}

/**
 * The kernel side of the engine.  Tables (VmaTable, FdTable) may live in
 * the collector's own buffers: they stay valid until the next call of the
 * same method; copy what must outlive it.  Every method throws a CribError:
 * NoSuchTaskError for a pid that is not a live task, UnsupportedError for
 * an op this kernel cannot serve, BadRecordError for a record that does not
 * decode, BusyError for a contended mm lock.
 */
export interface Collector {
  support(): OpSupport[];
  stat(pid: number): TaskStat;
  status(pid: number): TaskStatus;
  threads(pid: number): Int32Array;
  children(pid: number): Int32Array;
  vmas(pid: number): VmaTable;
  fds(pid: number): FdTable;
  /**
   * Optional: read what the next vmas()/fds() of @pid will decode now,
   * the ops' walks side by side, where they are long enough to gain from
   * it; true when it did.  Errors are left to those calls.
   */
  prefetch?(pid: number, ops: ReadonlyArray<'vma' | 'fds'>): boolean;
  /** Serve this caller from now on (see Caller). */
  setCaller?(caller: Caller): void;
  /**
   * Whether callers of pid namespace @inum can be served (an engine
   * service serves callers of other namespaces than its own where the
   * kernel lets it map their pids); else why not.
   */
  canServeNs?(inum: number): true | string;
  /**
   * For the ops of a folder (engine/ops.ts): whether @prog loads here
   * (true) or why not, and running it for @pid of the caller, with
   * @ctx's struct crib_req filled in for this caller and checked after.
   * Throws as the other ops do (NoSuchTaskError, UnsupportedError, ...).
   */
  programStatus?(prog: ProgramRef): true | string;
  runProgram?(op: string, prog: ProgramRef, pid: number, ctx: Uint8Array): void;
  /**
   * The records @prog's object sent through its ring buffer @map since the
   * last read (drained): each a u32 length, 4 bytes of zeros, the record,
   * zeros to 8 (crib_obj_ringbuf_read()).
   */
  readRing?(op: string, prog: ProgramRef, map: string): ArrayBuffer;
  /** the programs of status, threads and children by kernel id, for a co-process's CRIU to run itself (BpfCollector.direct) */
  direct?(): { taskProg: number; threadsProg?: number; childrenProg?: number; tidsMap?: number } | undefined;
  /** a tree program (bpf/crib_tree.h) and its maps tree_in and tree_out by kernel id, for a caller that runs it itself */
  treeIds?(prog: ProgramRef): { prog: number; inMap: number; outMap: number } | undefined;
  /** a seq iterator and its maps want and iter_args by kernel id, in copy @slot of its object (0: the engine's own) */
  iterIds?(prog: ProgramRef, slot: number): { prog: number; wantMap: number; argsMap: number } | undefined;
  /**
   * statmount() (6.8+) of the mount of unique id @mntId in the mount
   * namespace of id @nsId (0n: the engine's), for the STATMOUNT_* fields
   * of @mask: struct statmount and its strings, or -errno.  For what a
   * file system prints itself (its options), which BPF cannot call.
   */
  statmount?(mntId: bigint, nsId: bigint, mask: number): ArrayBuffer | number;
  /**
   * A tree program (bpf/crib_tree.h) for @pids (at most TREE_MAX) of the
   * caller, whose records are @recSize bytes: per pid i, err[i] (0 or
   * -errno) and, when 0, its record at byte off[i] of buf (the mapped
   * tree_out, or the records drained from tree_rb).
   */
  runTree?(op: string, prog: ProgramRef, pids: number[], recSize: number): TreeRun;
  /** a list op's seq iterator for one pid of the caller (its CRIB_REC_CTX records) */
  runStream?(op: string, prog: ProgramRef, pid: number): StreamRun;
  /** the same for many pids in one read of every task (map "want" of @wantBytes) */
  runStreamAll?(op: string, prog: ProgramRef, pids: number[], wantBytes: number): StreamRun;
  /**
   * Optional: the mount id (FdTable.mntId) of the kernel's internal mount
   * @fs, whose files the fd-kind ops read (anon-inode files: eventfd,
   * epoll...; pidfs: pidfds of 6.9+), or undefined where not known.
   */
  internalMount?(fs: InternalFs): number | undefined;
  /** time charged to each op since the last call; resets the counters */
  takeTimes(): OpTimes;
  close(): void;
}
