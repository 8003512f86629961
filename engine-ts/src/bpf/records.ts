// The records of bpf/crib.h as TypeScript sees them, and the decoders that
// turn them into the shapes of types.ts.  Offsets and sizes here are the
// ones the decoders use; test/bpf/records.test.ts checks every one of them
// against the BTF of the compiled objects, so a change to crib.h that is
// not made here too fails the tests.
//
// Bulk tables are read straight from the mmapped maps through typed-array
// views (the host's byte order is the kernel's) and copied column by
// column into fresh typed arrays: no object per entry.
import { BadRecordError, UnsupportedError } from '../errors';
import { FdTable, TaskStat, TaskStatus, VmaTable } from './types';

/** CRIB_ABI_VERSION of bpf/crib.h */
export const CRIB_ABI_VERSION = 5;

export interface Member {
  offset: number;
  size: number;
}

export interface StructLayout<K extends string = string> {
  /** the struct's name in crib.h (struct crib_...) */
  name: string;
  size: number;
  members: Record<K, Member>;
}

export function layout<K extends string>(name: string, size: number, members: Array<[K, number, number]>): StructLayout<K> {
  const m = {} as Record<K, Member>;
  for (const [key, offset, sz] of members) m[key] = { offset, size: sz };
  return { name, size, members: m };
}

export const REQ = layout('crib_req', 40, [
  ['size', 0, 4],
  ['version', 4, 4],
  ['pid', 8, 4],
  ['err', 12, 4],
  ['count', 16, 4],
  ['total', 20, 4],
  ['names_len', 24, 4],
  ['flags', 28, 4],
  ['ns_inum', 32, 4],
  ['lookup', 36, 4],
]);

/** CRIB_TREE_MAX of bpf/crib_tree.h: tasks of one tree run */
export const TREE_MAX = 1024;
/** CRIB_TREE_SLOTS: entries of tree_in and tree_out, slot 0 the engine's */
export const TREE_SLOTS = 4;

/** struct crib_tree_in and struct crib_tree_req (bpf/crib_tree.h) */
export const TREE_IN = layout('crib_tree_in', 8 * TREE_MAX, [
  ['pid', 0, 4 * TREE_MAX],
  ['lookup', 4 * TREE_MAX, 4 * TREE_MAX],
]);
export const TREE_REQ = layout('crib_tree_req', 48, [
  ['req', 0, 40],
  ['nr', 40, 4],
  ['slot', 44, 4],
]);

/** CRIB_INIT_PID_NS_INUM: the init pid namespace's inode (PROC_PID_INIT_INO) */
export const INIT_PID_NS_INUM = 0xeffffffc;

/** crib_req.flags (CRIB_REQ_F_*) */
export const REQ_F_GATE_VMA = 0x1;

export const TASK = layout('crib_task', 256, [
  ['pid', 0, 4],
  ['tgid', 4, 4],
  ['ppid', 8, 4],
  ['pgid', 12, 4],
  ['sid', 16, 4],
  ['vpid', 20, 4],
  ['num_threads', 24, 4],
  ['exit_code', 28, 4],
  ['flags', 32, 4],
  ['raw_state', 36, 4],
  ['exit_state', 40, 4],
  ['seccomp_mode', 44, 4],
  ['uids', 48, 16],
  ['gids', 64, 16],
  ['state', 80, 1],
  ['has_mm', 81, 1],
  ['_pad0', 82, 6],
  ['comm', 88, 16],
  ['start_boottime', 104, 8],
  ['start_code', 112, 8],
  ['end_code', 120, 8],
  ['start_data', 128, 8],
  ['end_data', 136, 8],
  ['start_brk', 144, 8],
  ['start_stack', 152, 8],
  ['arg_start', 160, 8],
  ['arg_end', 168, 8],
  ['env_start', 176, 8],
  ['env_end', 184, 8],
  ['sigpnd', 192, 8],
  ['shdpnd', 200, 8],
  ['sigblk', 208, 8],
  ['cap_inh', 216, 8],
  ['cap_prm', 224, 8],
  ['cap_eff', 232, 8],
  ['cap_bnd', 240, 8],
  ['cap_amb', 248, 8],
]);

export const TASK_CTX = layout('crib_task_ctx', 296, [
  ['req', 0, 40],
  ['task', 40, 256],
]);

export const VMA = layout('crib_vma', 88, [
  ['start', 0, 8],
  ['end', 8, 8],
  ['pgoff', 16, 8],
  ['ino', 24, 8],
  ['madv', 32, 8],
  ['vm_flags', 40, 8],
  ['dev_maj', 48, 4],
  ['dev_min', 52, 4],
  ['prot', 56, 4],
  ['shared', 60, 4],
  ['map_flags', 64, 4],
  ['vmflags', 68, 4],
  ['name_off', 72, 4],
  ['name_len', 76, 2],
  ['name_kind', 78, 1],
  ['name_flags', 79, 1],
  ['mnt_id', 80, 4],
  ['fmode', 84, 4],
]);

/** crib_vma.fmode (CRIB_FMODE_* in crib.h) */
export const FMODE_READ = 0x1;
export const FMODE_WRITE = 0x2;

export const FD = layout('crib_fd', 24, [
  ['pos', 0, 8],
  ['fd', 8, 4],
  ['flags', 12, 4],
  ['mnt_id', 16, 4],
  ['locks', 20, 4],
]);

/** crib_fd.locks, FdTable.locks (CRIB_FD_LOCKS_* in crib.h); 0: not known */
export const FD_LOCKS_NONE = 1;
export const FD_LOCKS_HELD = 2;

/** crib_ns_task_cols (ns_tasks.bpf.o): a namespace's tasks, their numbers there and in the init namespace */
export const MAX_NS_TASKS = 65536;

/** Capacity of the column maps (CRIB_MAX_VMAS, CRIB_MAX_FDS in crib.h) */
export const MAX_VMAS = 65536;
export const MAX_FDS = 262144;

/** Members laid out one array after another: [name, element size] in order, from `start`. */
function columns<K extends string>(name: string, start: Array<[K, number, number]>, cols: Array<[K, number]>, n: number): StructLayout<K> {
  const members: Array<[K, number, number]> = [...start];
  let off = start.reduce((e, [, o, sz]) => Math.max(e, o + sz), 0);
  for (const [key, el] of cols) {
    members.push([key, off, el * n]);
    off += el * n;
  }
  return layout(name, off, members);
}

export const VMA_COLS = columns(
  'crib_vma_cols',
  [
    ['nr_named', 0, 4],
    ['_pad0', 4, 4],
  ],
  [
    ['start', 8],
    ['end', 8],
    ['pgoff', 8],
    ['ino', 8],
    ['madv', 8],
    ['vm_flags', 8],
    ['dev_maj', 4],
    ['dev_min', 4],
    ['prot', 4],
    ['shared', 4],
    ['map_flags', 4],
    ['vmflags', 4],
    ['name_off', 4],
    ['name_word', 4],
    ['named', 4],
    ['mnt_id', 4],
    ['fmode', 4],
  ],
  MAX_VMAS,
);

export const FD_COLS = columns(
  'crib_fd_cols',
  [],
  [
    ['pos', 8],
    ['fd', 4],
    ['flags', 4],
    ['mnt_id', 4],
    ['locks', 4],
  ],
  MAX_FDS,
);

export const NS_TASK_COLS = columns(
  'crib_ns_task_cols',
  [],
  [
    ['nr', 4],
    ['kpid', 4],
  ],
  MAX_NS_TASKS,
);

/** Every layout that crosses the boundary, with the object whose BTF has it. */
export const LAYOUTS: ReadonlyArray<{ object: string; layout: StructLayout }> = [
  { object: 'task.bpf.o', layout: REQ },
  { object: 'task.bpf.o', layout: TASK },
  { object: 'task.bpf.o', layout: TASK_CTX },
  { object: 'vma.bpf.o', layout: REQ },
  { object: 'vma.bpf.o', layout: VMA },
  { object: 'vma.bpf.o', layout: VMA_COLS },
  { object: 'fds.bpf.o', layout: REQ },
  { object: 'fds.bpf.o', layout: FD_COLS },
  { object: 'ns_tasks.bpf.o', layout: REQ },
  { object: 'ns_tasks.bpf.o', layout: NS_TASK_COLS },
];

/** crib_vma.name_kind (CRIB_NAME_*) */
export enum NameKind {
  None = 0,
  Path = 1,
  String = 2,
  Heap = 3,
  Stack = 4,
  Anon = 5,
  AnonShmem = 6,
  DnameSimple = 7,
  DnameAnon = 8,
  DnameOther = 9,
}

/** crib_vma.name_flags (CRIB_NAMEF_*) */
export const NAMEF_DELETED = 1;

// ---- request header -------------------------------------------------------

export interface Reply {
  err: number;
  count: number;
  total: number;
  namesLen: number;
  flags: number;
}

/**
 * Fills the request header at the start of ctx and clears the rest (the
 * reply).  @pid is a number in the pid namespace whose nsfs inode is
 * @nsInum (the caller's, see crib.h).
 */
/** @lookup: 0, or the task's init-namespace number to find it by (crib_req.lookup) */
export function encodeReq(ctx: Uint8Array, pid: number, nsInum: number, lookup = 0): void {
  if (ctx.byteLength < REQ.size) throw new BadRecordError('request', `context of ${ctx.byteLength} bytes < ${REQ.size}`);
  const dv = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const m = REQ.members;
  ctx.fill(0);
  dv.setUint32(m.size.offset, ctx.byteLength, true);
  dv.setUint32(m.version.offset, CRIB_ABI_VERSION, true);
  dv.setInt32(m.pid.offset, pid, true);
  dv.setUint32(m.ns_inum.offset, nsInum, true);
  dv.setInt32(m.lookup.offset, lookup, true);
}

export function decodeReply(ctx: Uint8Array): Reply {
  if (ctx.byteLength < REQ.size) throw new BadRecordError('reply', `context of ${ctx.byteLength} bytes < ${REQ.size}`);
  const dv = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const m = REQ.members;
  return {
    err: dv.getInt32(m.err.offset, true),
    count: dv.getUint32(m.count.offset, true),
    total: dv.getUint32(m.total.offset, true),
    namesLen: dv.getUint32(m.names_len.offset, true),
    flags: dv.getUint32(m.flags.offset, true),
  };
}

// ---- task -------------------------------------------------------------------

function taskView(ctx: Uint8Array): DataView {
  if (ctx.byteLength < TASK_CTX.size) throw new BadRecordError('task', `record of ${ctx.byteLength} bytes < ${TASK_CTX.size}`);
  return new DataView(ctx.buffer, ctx.byteOffset + TASK_CTX.members.task.offset, TASK.size);
}

/**
 * Bytes as a byte string: one char per byte, U+0000-U+00FF.  Buffer's
 * 'latin1' is ISO-8859-1; TextDecoder's 'latin1' is windows-1252, which
 * turns 0x80-0x9f into other code points, so it is not used here.
 */
export function byteString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return byteString(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function stateLetter(dv: DataView): string {
  const c = dv.getUint8(TASK.members.state.offset);
  if (!'RSDTtXZPI'.includes(String.fromCharCode(c))) throw new BadRecordError('task', `state byte ${c} is not a task state`);
  return String.fromCharCode(c);
}

const NSEC_PER_USER_HZ = 10_000_000n;

/**
 * /proc/PID/stat's start_time: clock ticks since boot as the reader's time
 * namespace sees it (fs/proc/array.c: timens_add_boottime_ns, then
 * nsec_to_clock_t), for a reader whose boot time is offset by @bootOffsetNs.
 */
export function startTicks(startBoottimeNs: bigint, bootOffsetNs: bigint): bigint {
  const ns = startBoottimeNs + bootOffsetNs;
  return ns > 0n ? ns / NSEC_PER_USER_HZ : 0n;
}

/**
 * struct crib_task_ctx -> TaskStat (what /proc/PID/stat shows to a reader
 * whose time namespace offsets boot time by @bootOffsetNs)
 */
export function decodeTaskStat(ctx: Uint8Array, bootOffsetNs = 0n): TaskStat {
  const dv = taskView(ctx);
  const m = TASK.members;
  const i32 = (k: keyof typeof m): number => dv.getInt32(m[k].offset, true);
  const u64 = (k: keyof typeof m): bigint => dv.getBigUint64(m[k].offset, true);
  const commOff = dv.byteOffset + m.comm.offset;
  return {
    pid: i32('pid'),
    ppid: i32('ppid'),
    pgid: i32('pgid'),
    sid: i32('sid'),
    numThreads: i32('num_threads'),
    exitCode: i32('exit_code'),
    flags: dv.getUint32(m.flags.offset, true),
    state: stateLetter(dv),
    comm: cString(new Uint8Array(dv.buffer, commOff, m.comm.size)),
    startTime: startTicks(u64('start_boottime'), bootOffsetNs),
    startCode: u64('start_code'),
    endCode: u64('end_code'),
    startData: u64('start_data'),
    endData: u64('end_data'),
    startBrk: u64('start_brk'),
    startStack: u64('start_stack'),
    argStart: u64('arg_start'),
    argEnd: u64('arg_end'),
    envStart: u64('env_start'),
    envEnd: u64('env_end'),
  };
}

/** struct crib_task_ctx -> TaskStatus (what /proc/PID/status shows) */
export function decodeTaskStatus(ctx: Uint8Array): TaskStatus {
  const dv = taskView(ctx);
  const m = TASK.members;
  const u32x4 = (off: number): [number, number, number, number] => [
    dv.getUint32(off, true),
    dv.getUint32(off + 4, true),
    dv.getUint32(off + 8, true),
    dv.getUint32(off + 12, true),
  ];
  const u64 = (k: keyof typeof m): bigint => dv.getBigUint64(m[k].offset, true);
  return {
    state: stateLetter(dv),
    ppid: dv.getInt32(m.ppid.offset, true),
    vpid: dv.getInt32(m.vpid.offset, true),
    seccompMode: dv.getUint32(m.seccomp_mode.offset, true),
    sigpnd: u64('sigpnd'),
    shdpnd: u64('shdpnd'),
    sigblk: u64('sigblk'),
    uids: u32x4(m.uids.offset),
    gids: u32x4(m.gids.offset),
    capInh: u64('cap_inh'),
    capPrm: u64('cap_prm'),
    capEff: u64('cap_eff'),
    capBnd: u64('cap_bnd'),
    capAmb: u64('cap_amb'),
  };
}

// ---- bulk tables ------------------------------------------------------------

function checkTable(what: string, buf: ArrayBuffer, count: number, recSize: number): void {
  if (count * recSize > buf.byteLength) {
    throw new BadRecordError(what, `${count} records of ${recSize} bytes do not fit the ${buf.byteLength}-byte map`);
  }
}

/**
 * The kernel lays out BPF_F_MMAPABLE array elements 8-byte aligned
 * (round_up(value_size, 8)): the stride of a mapped table.
 */
export function mmapStride(valueSize: number): number {
  return (valueSize + 7) & ~7;
}

/** threads/children: count __s32 from the "tids" map (8-byte elements when mapped) */
export function decodePids(what: string, buf: ArrayBuffer, count: number): Int32Array {
  const stride = mmapStride(4) / 4;
  checkTable(what, buf, count, stride * 4);
  const src = new Int32Array(buf, 0, count * stride);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = src[i * stride];
  return out;
}

/**
 * Typed-array columns carved out of one ArrayBuffer: the u64 ones first, so
 * all stay aligned.  Given a `store` big enough, the columns live in it
 * (the caller's to reuse); otherwise in a fresh buffer.
 */
class Columns {
  private readonly buf: ArrayBuffer;
  private off = 0;

  constructor(
    private readonly count: number,
    n64: number,
    n32: number,
    store?: ArrayBuffer,
  ) {
    const size = count * (8 * n64 + 4 * n32);
    this.buf = store && store.byteLength >= size ? store : new ArrayBuffer(size);
  }

  u64(): BigUint64Array {
    const a = new BigUint64Array(this.buf, this.off, this.count);
    this.off += 8 * this.count;
    return a;
  }

  u32(): Uint32Array {
    const a = new Uint32Array(this.buf, this.off, this.count);
    this.off += 4 * this.count;
    return a;
  }

  i32(): Int32Array {
    const a = new Int32Array(this.buf, this.off, this.count);
    this.off += 4 * this.count;
    return a;
  }
}

/** The 32-bit words of a u64 column, to fill it without BigInts. */
function words(a: BigUint64Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
}

/** seq_path() escapes '\n' in names as \012 */
function escapeName(s: string): string {
  return s.includes('\n') ? s.replace(/\n/g, '\\012') : s;
}

/** A CRIB_NAME_PATH name: components leaf first, each a length byte and its bytes. */
function joinPath(names: Uint8Array, off: number, len: number): string {
  const parts: string[] = [];
  const end = off + len;
  let p = off;
  while (p < end) {
    const n = names[p];
    if (p + 1 + n > end || n === 0) throw new BadRecordError('vma', `path component at ${p} (length ${n}) runs past its name`);
    parts.push(escapeName(byteString(names.subarray(p + 1, p + 1 + n))));
    p += 1 + n;
  }
  parts.reverse();
  return '/' + parts.join('/');
}

function vmaName(kind: number, flags: number, names: Uint8Array, off: number, len: number): string {
  const bytes = (): string => escapeName(byteString(names.subarray(off, off + len)));
  switch (kind) {
    case NameKind.None:
      return '';
    case NameKind.Path:
      return joinPath(names, off, len) + (flags & NAMEF_DELETED ? ' (deleted)' : '');
    case NameKind.String:
      return bytes();
    case NameKind.Heap:
      return '[heap]';
    case NameKind.Stack:
      return '[stack]';
    case NameKind.Anon:
      return `[anon:${bytes()}]`;
    case NameKind.AnonShmem:
      return `[anon_shmem:${bytes()}]`;
    case NameKind.DnameSimple:
      // simple_dname(): shmem pseudo files (/dev/zero, memfd, SysV shm)
      return `/${bytes()} (deleted)`;
    case NameKind.DnameAnon:
      // anon_inodefs_dname()
      return `anon_inode:${bytes()}`;
    case NameKind.DnameOther:
      throw new UnsupportedError('vma', `a mapped file is named by its filesystem's d_dname() (dentry "${bytes()}"), which CRIB does not know`);
    default:
      throw new BadRecordError('vma', `unknown name kind ${kind}`);
  }
}

export interface VmaTableWithRaw extends VmaTable {
  /** raw vma->vm_flags, for checking the VM_* table against smaps */
  rawFlags: BigUint64Array;
}

// decodeVmas reads name_len, name_kind and name_flags as one little-endian word
if (
  VMA.members.name_len.offset % 4 !== 0 ||
  VMA.members.name_kind.offset !== VMA.members.name_len.offset + 2 ||
  VMA.members.name_flags.offset !== VMA.members.name_len.offset + 3 ||
  new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1
) {
  throw new BadRecordError('vma', 'the decoder expects a little-endian host and name_len|name_kind|name_flags in one word');
}

/**
 * The names of one VMA table: entry 0 is '', equal names share an entry,
 * and consecutive VMAs of one file (the same name entry in the buffer)
 * reuse the last one without decoding it again.
 */
class VmaNames {
  readonly list: string[] = [''];
  private readonly byString = new Map<string, number>([['', 0]]);
  private lastOff = -1;
  private lastWord = -1;
  private lastIdx = 0;

  constructor(private readonly bytes: Uint8Array) {}

  /** The entry of VMA i's name: `word` packs name_len | name_kind << 16 | name_flags << 24. */
  index(i: number, off: number, word: number): number {
    if (off === this.lastOff && word === this.lastWord) return this.lastIdx;
    const len = word & 0xffff;
    if (off + len > this.bytes.length) throw new BadRecordError('vma', `name of VMA ${i} at ${off}+${len} past ${this.bytes.length}`);
    const idx = this.add(vmaName((word >>> 16) & 0xff, word >>> 24, this.bytes, off, len));
    this.lastOff = off;
    this.lastWord = word;
    this.lastIdx = idx;
    return idx;
  }

  add(name: string): number {
    let idx = this.byString.get(name);
    if (idx === undefined) {
      idx = this.list.push(name) - 1;
      this.byString.set(name, idx);
    }
    return idx;
  }
}

/** The gate area as entry `at` (the last) of a table; every field set, for reused stores. */
function putGate(t: VmaTableWithRaw, at: number, gate: GateVma, names: VmaNames): void {
  t.start[at] = gate.start;
  t.end[at] = gate.end;
  t.pgoff[at] = t.ino[at] = t.madv[at] = t.rawFlags[at] = 0n;
  t.prot[at] = gate.prot;
  t.devMaj[at] = t.devMin[at] = t.shared[at] = t.mapFlags[at] = t.vmflags[at] = t.fmode[at] = 0;
  t.mntId[at] = -1;
  t.nameIdx[at] = names.add(gate.name);
}

/** The x86 vsyscall gate area as /proc shows it: not in the VMA tree, listed last. */
export interface GateVma {
  start: bigint;
  end: bigint;
  prot: number;
  name: string;
}

/**
 * "vmas" + "names" maps -> VmaTable, in one pass over the records; `gate`
 * is appended as the last entry when given.
 */
export function decodeVmas(pid: number, vmas: ArrayBuffer, names: ArrayBuffer, count: number, namesLen: number, gate?: GateVma): VmaTableWithRaw {
  checkTable('vma', vmas, count, VMA.size);
  if (namesLen > names.byteLength) throw new BadRecordError('vma', `names length ${namesLen} > buffer ${names.byteLength}`);
  const src = new Uint32Array(vmas, 0, (count * VMA.size) / 4);
  const nameBytes = new Uint8Array(names, 0, namesLen);
  const s32 = VMA.size / 4;
  const m = VMA.members;
  // word offsets of the 64-bit and 32-bit members; name_len|kind|flags share one word
  const wStart = m.start.offset / 4;
  const wEnd = m.end.offset / 4;
  const wPgoff = m.pgoff.offset / 4;
  const wIno = m.ino.offset / 4;
  const wMadv = m.madv.offset / 4;
  const wRaw = m.vm_flags.offset / 4;
  const wMaj = m.dev_maj.offset / 4;
  const wMin = m.dev_min.offset / 4;
  const wProt = m.prot.offset / 4;
  const wShared = m.shared.offset / 4;
  const wMapFlags = m.map_flags.offset / 4;
  const wVmflags = m.vmflags.offset / 4;
  const wNameOff = m.name_off.offset / 4;
  const wNameWord = m.name_len.offset / 4;
  const wMntId = m.mnt_id.offset / 4;
  const wFmode = m.fmode.offset / 4;

  // one allocation for all columns: 6 of u64, then 9 of u32
  const total = count + (gate ? 1 : 0);
  const cols = new Columns(total, 6, 9);
  const start = cols.u64();
  const end = cols.u64();
  const pgoff = cols.u64();
  const ino = cols.u64();
  const madv = cols.u64();
  const rawFlags = cols.u64();
  const start32 = words(start);
  const end32 = words(end);
  const pgoff32 = words(pgoff);
  const ino32 = words(ino);
  const madv32 = words(madv);
  const raw32 = words(rawFlags);
  const devMaj = cols.u32();
  const devMin = cols.u32();
  const prot = cols.u32();
  const shared = cols.u32();
  const mapFlags = cols.u32();
  const vmflags = cols.u32();
  const nameIdx = cols.u32();
  const mntId = cols.i32();
  const fmode = cols.u32();
  const nameTable = new VmaNames(nameBytes);

  for (let i = 0, s = 0; i < count; i++, s += s32) {
    const j = 2 * i;
    start32[j] = src[s + wStart];
    start32[j + 1] = src[s + wStart + 1];
    end32[j] = src[s + wEnd];
    end32[j + 1] = src[s + wEnd + 1];
    pgoff32[j] = src[s + wPgoff];
    pgoff32[j + 1] = src[s + wPgoff + 1];
    ino32[j] = src[s + wIno];
    ino32[j + 1] = src[s + wIno + 1];
    madv32[j] = src[s + wMadv];
    madv32[j + 1] = src[s + wMadv + 1];
    raw32[j] = src[s + wRaw];
    raw32[j + 1] = src[s + wRaw + 1];
    devMaj[i] = src[s + wMaj];
    devMin[i] = src[s + wMin];
    prot[i] = src[s + wProt];
    shared[i] = src[s + wShared];
    mapFlags[i] = src[s + wMapFlags];
    vmflags[i] = src[s + wVmflags];
    mntId[i] = src[s + wMntId] | 0;
    fmode[i] = src[s + wFmode];

    // little-endian word: name_len (16 bits), name_kind, name_flags
    const word = src[s + wNameWord];
    const kind = (word >>> 16) & 0xff;
    if (kind === NameKind.None) continue;
    nameIdx[i] = nameTable.index(i, src[s + wNameOff], word);
  }

  const t = { pid, count: total, start, end, pgoff, ino, madv, rawFlags, devMaj, devMin, prot, shared, mapFlags, vmflags, nameIdx, mntId, fmode, names: nameTable.list };
  if (gate) putGate(t, count, gate, nameTable);
  return t;
}

/** Bytes a VmaTable of n entries takes as Columns (6 of u64, 9 of u32), and an FdTable (1 and 3). */
export const vmaStoreSize = (n: number): number => n * (6 * 8 + 9 * 4);
export const fdStoreSize = (n: number): number => n * (8 + 4 * 4);

/** A column of `count` entries at `member` of a columns map, as a view. */
function colView<T>(make: (b: ArrayBuffer, off: number, n: number) => T, buf: ArrayBuffer, l: StructLayout, member: string, count: number): T {
  return make(buf, l.members[member].offset, count);
}

const u64At = (b: ArrayBuffer, o: number, n: number): BigUint64Array => new BigUint64Array(b, o, n);
const u32At = (b: ArrayBuffer, o: number, n: number): Uint32Array => new Uint32Array(b, o, n);
const i32At = (b: ArrayBuffer, o: number, n: number): Int32Array => new Int32Array(b, o, n);

/**
 * "vma_cols" + "names" maps -> VmaTable.  The columns are copied whole
 * (native copies, no work per VMA: the map is overwritten by the next run);
 * only the VMAs listed in named[] are visited, for their names.  `gate` is
 * appended as the last entry when given.
 */
export function decodeVmaCols(
  pid: number,
  cols: ArrayBuffer,
  names: ArrayBuffer,
  count: number,
  namesLen: number,
  gate?: GateVma,
  store?: ArrayBuffer,
): VmaTableWithRaw {
  const L = VMA_COLS;
  if (cols.byteLength < L.size) throw new BadRecordError('vma', `column map of ${cols.byteLength} bytes < ${L.size}`);
  if (count > MAX_VMAS) throw new BadRecordError('vma', `count ${count} > ${MAX_VMAS}`);
  if (namesLen > names.byteLength) throw new BadRecordError('vma', `names length ${namesLen} > buffer ${names.byteLength}`);
  const nrNamed = new DataView(cols).getUint32(L.members.nr_named.offset, true);
  if (nrNamed > count) throw new BadRecordError('vma', `${nrNamed} named VMAs of ${count}`);

  const total = count + (gate ? 1 : 0);
  const out = new Columns(total, 6, 9, store);
  const c64 = (m: string): BigUint64Array => {
    const a = out.u64();
    a.set(colView(u64At, cols, L, m, count));
    return a;
  };
  const c32 = (m: string): Uint32Array => {
    const a = out.u32();
    a.set(colView(u32At, cols, L, m, count));
    return a;
  };
  const start = c64('start');
  const end = c64('end');
  const pgoff = c64('pgoff');
  const ino = c64('ino');
  const madv = c64('madv');
  const rawFlags = c64('vm_flags');
  const devMaj = c32('dev_maj');
  const devMin = c32('dev_min');
  const prot = c32('prot');
  const shared = c32('shared');
  const mapFlags = c32('map_flags');
  const vmflags = c32('vmflags');
  const nameIdx = out.u32();
  nameIdx.fill(0);
  const mntId = out.i32();
  mntId.set(colView(i32At, cols, L, 'mnt_id', count));
  const fmode = c32('fmode');

  const named = colView(u32At, cols, L, 'named', nrNamed);
  const nameOff = colView(u32At, cols, L, 'name_off', count);
  const nameWord = colView(u32At, cols, L, 'name_word', count);
  const nameBytes = new Uint8Array(names, 0, namesLen);
  const nameTable = new VmaNames(nameBytes);
  let prevIdx = -1;
  for (let k = 0; k < nrNamed; k++) {
    const i = named[k];
    if (i >= count || i <= prevIdx) throw new BadRecordError('vma', `named VMA ${i} after ${prevIdx} (of ${count})`);
    prevIdx = i;
    const word = nameWord[i];
    const kind = (word >>> 16) & 0xff;
    if (kind === NameKind.None) throw new BadRecordError('vma', `VMA ${i} is listed as named but has no name`);
    nameIdx[i] = nameTable.index(i, nameOff[i], word);
  }

  const t = { pid, count: total, start, end, pgoff, ino, madv, rawFlags, devMaj, devMin, prot, shared, mapFlags, vmflags, nameIdx, mntId, fmode, names: nameTable.list };
  if (gate) putGate(t, count, gate, nameTable);
  return t;
}

/** The first i with a[i] <= a[i - 1] or a[0] < 0, else -1 (the addon has a native twin, firstUnordered). */
export function firstUnordered(a: Int32Array): number {
  if (a.length && a[0] < 0) return 0;
  for (let i = 1; i < a.length; i++) if (a[i] <= a[i - 1]) return i;
  return -1;
}

/**
 * "fd_cols" map -> FdTable: whole-column copies, then one pass to check the
 * order, by @unordered (the collector passes the addon's: V8 may still
 * interpret the JS loop on the first big table, ~0.3 ms at 10,000 fds).
 */
export function decodeFdCols(pid: number, cols: ArrayBuffer, count: number, store?: ArrayBuffer, unordered = firstUnordered): FdTable {
  const L = FD_COLS;
  if (cols.byteLength < L.size) throw new BadRecordError('fds', `column map of ${cols.byteLength} bytes < ${L.size}`);
  if (count > MAX_FDS) throw new BadRecordError('fds', `count ${count} > ${MAX_FDS}`);
  const out = new Columns(count, 1, 4, store);
  const pos = out.u64();
  const fd = out.i32();
  const flags = out.u32();
  const mntId = out.i32();
  const locks = out.u32();
  pos.set(colView(u64At, cols, L, 'pos', count));
  fd.set(colView(i32At, cols, L, 'fd', count));
  flags.set(colView(u32At, cols, L, 'flags', count));
  mntId.set(colView(i32At, cols, L, 'mnt_id', count));
  locks.set(colView(u32At, cols, L, 'locks', count));
  const bad = unordered(fd);
  if (bad === 0) throw new BadRecordError('fds', `negative fd ${fd[0]}`);
  if (bad > 0) throw new BadRecordError('fds', `fd ${fd[bad]} after ${fd[bad - 1]}: not ascending`);
  checkLocks(locks);
  return { pid, count, fd, pos, flags, mntId, locks };
}

/** Every fd's lock state is one the programs write: a wrong "none" would lose locks. */
function checkLocks(locks: Uint32Array): void {
  for (let i = 0; i < locks.length; i++) {
    if (locks[i] !== FD_LOCKS_NONE && locks[i] !== FD_LOCKS_HELD) throw new BadRecordError('fds', `lock state ${locks[i]} at fd index ${i}`);
  }
}

/** "fds" map -> FdTable */
export function decodeFds(pid: number, fds: ArrayBuffer, count: number): FdTable {
  checkTable('fds', fds, count, FD.size);
  const src = new Uint32Array(fds, 0, (count * FD.size) / 4);
  const s32 = FD.size / 4;
  const m = FD.members;
  const cols = new Columns(count, 1, 4);
  const pos = cols.u64();
  const pos32 = words(pos);
  const fd = cols.i32();
  const flags = cols.u32();
  const mntId = cols.i32();
  const locks = cols.u32();
  const wLocks = m.locks.offset / 4;
  const wPos = m.pos.offset / 4;
  const wFd = m.fd.offset / 4;
  const wFlags = m.flags.offset / 4;
  const wMnt = m.mnt_id.offset / 4;
  let prev = -1;
  for (let i = 0, s = 0; i < count; i++, s += s32) {
    pos32[2 * i] = src[s + wPos];
    pos32[2 * i + 1] = src[s + wPos + 1];
    fd[i] = src[s + wFd] | 0;
    flags[i] = src[s + wFlags];
    mntId[i] = src[s + wMnt] | 0;
    locks[i] = src[s + wLocks];
    if (fd[i] <= prev) throw new BadRecordError('fds', `fd ${fd[i]} after ${prev}: not ascending`);
    prev = fd[i];
  }
  checkLocks(locks);
  return { pid, count, fd, pos, flags, mntId, locks };
}

// ---- seq-iterator streams (bpf/crib.h struct crib_rec, *_iter.bpf.c) ---------

export const REC = layout('crib_rec', 8, [
  ['type', 0, 2],
  ['extra', 2, 2],
  ['len', 4, 4],
]);

/** crib_rec.type (CRIB_REC_*) */
export enum RecType {
  End = 1,
  Task = 2,
  Vma = 3,
  Fd = 4,
  /** a folder op's reply, the bytes its SYSCALL program leaves after struct crib_req */
  Ctx = 5,
}

/** The layouts of the iterator objects, checked against their BTF like LAYOUTS. */
/** map "iter_args" of every *_iter.bpf.o (crib_iter.h) */
export const ITER_ARGS = layout('crib_iter_args', 8, [
  ['pid', 0, 4],
  ['ns_inum', 4, 4],
]);

/** The value of an object's "iter_args" map for a request. */
export function encodeIterArgs(pid: number, nsInum: number): Uint8Array {
  const buf = new Uint8Array(ITER_ARGS.size);
  const dv = new DataView(buf.buffer);
  dv.setInt32(ITER_ARGS.members.pid.offset, pid, true);
  dv.setUint32(ITER_ARGS.members.ns_inum.offset, nsInum, true);
  return buf;
}

export const ITER_LAYOUTS: ReadonlyArray<{ object: string; layout: StructLayout }> = [
  { object: 'task_iter.bpf.o', layout: ITER_ARGS },
  { object: 'vma_iter.bpf.o', layout: ITER_ARGS },
  { object: 'fds_iter.bpf.o', layout: ITER_ARGS },
  { object: 'task_iter.bpf.o', layout: REC },
  { object: 'task_iter.bpf.o', layout: REQ },
  { object: 'task_iter.bpf.o', layout: TASK },
  { object: 'vma_iter.bpf.o', layout: REC },
  { object: 'vma_iter.bpf.o', layout: REQ },
  { object: 'vma_iter.bpf.o', layout: VMA },
  { object: 'fds_iter.bpf.o', layout: REC },
  { object: 'fds_iter.bpf.o', layout: REQ },
  { object: 'fds_iter.bpf.o', layout: FD },
];

/** One record of a stream: where its payload is and how long. */
export interface Rec {
  type: RecType;
  /** byte offset of the payload (after the header) in the stream */
  off: number;
  /** bytes after the fixed payload (a VMA's new name) */
  extra: number;
  /** the whole record, header and padding included */
  len: number;
}

/** Splits an iterator's output into records; checks the framing. */
export function splitRecs(what: string, buf: ArrayBuffer): Rec[] {
  const dv = new DataView(buf);
  const recs: Rec[] = [];
  for (let p = 0; p < buf.byteLength; ) {
    if (p + REC.size > buf.byteLength) throw new BadRecordError(what, `record header at ${p} runs past the ${buf.byteLength}-byte stream`);
    const type = dv.getUint16(p + REC.members.type.offset, true);
    const extra = dv.getUint16(p + REC.members.extra.offset, true);
    const len = dv.getUint32(p + REC.members.len.offset, true);
    if (len < REC.size || len % 8 !== 0 || p + len > buf.byteLength) throw new BadRecordError(what, `record at ${p} has length ${len} (stream of ${buf.byteLength})`);
    recs.push({ type, off: p + REC.size, extra, len });
    p += len;
  }
  return recs;
}

/** A CRIB_REC_END record's reply. */
export function decodeEndRec(what: string, buf: ArrayBuffer, r: Rec): Reply {
  if (r.len - REC.size < REQ.size) throw new BadRecordError(what, `END record of ${r.len} bytes`);
  return decodeReply(new Uint8Array(buf, r.off, REQ.size));
}

/** A CRIB_REC_TASK record as a struct crib_task_ctx, for decodeTaskStat/Status. */
export function taskCtxOfRec(what: string, buf: ArrayBuffer, r: Rec): Uint8Array {
  if (r.len - REC.size < TASK.size) throw new BadRecordError(what, `TASK record of ${r.len} bytes`);
  const ctx = new Uint8Array(TASK_CTX.size);
  ctx.set(new Uint8Array(buf, r.off, TASK.size), TASK_CTX.members.task.offset);
  return ctx;
}

/**
 * The CRIB_REC_VMA records of a stream as the "vmas" and "names" maps of
 * vma.bpf.o (names rebuilt from the records' extra bytes), for decodeVmas.
 */
export function vmaMapsOfRecs(buf: ArrayBuffer, recs: Rec[]): { vmas: ArrayBuffer; names: ArrayBuffer; count: number; namesLen: number } {
  const vmaRecs = recs.filter((r) => r.type === RecType.Vma);
  const vmas = new Uint8Array(vmaRecs.length * VMA.size);
  let namesLen = 0;
  for (const r of vmaRecs) namesLen += r.extra;
  const names = new Uint8Array(namesLen);
  const src = new Uint8Array(buf);
  const dv = new DataView(buf);
  let n = 0;
  namesLen = 0;
  for (const r of vmaRecs) {
    if (r.len < REC.size + VMA.size + r.extra) throw new BadRecordError('vma', `VMA record of ${r.len} bytes with ${r.extra} name bytes`);
    vmas.set(src.subarray(r.off, r.off + VMA.size), n * VMA.size);
    if (r.extra) {
      const off = dv.getUint32(r.off + VMA.members.name_off.offset, true);
      if (off !== namesLen) throw new BadRecordError('vma', `VMA ${n}: a new name at ${off}, the names so far end at ${namesLen}`);
      names.set(src.subarray(r.off + VMA.size, r.off + VMA.size + r.extra), namesLen);
      namesLen += r.extra;
    }
    n++;
  }
  return { vmas: vmas.buffer, names: names.buffer, count: n, namesLen };
}

/** The CRIB_REC_FD records of a stream as the "fds" map of fds.bpf.o, for decodeFds. */
export function fdMapOfRecs(buf: ArrayBuffer, recs: Rec[]): { fds: ArrayBuffer; count: number } {
  const fdRecs = recs.filter((r) => r.type === RecType.Fd);
  const out = new Uint8Array(fdRecs.length * FD.size);
  const src = new Uint8Array(buf);
  fdRecs.forEach((r, i) => {
    if (r.len - REC.size < FD.size) throw new BadRecordError('fds', `FD record of ${r.len} bytes`);
    out.set(src.subarray(r.off, r.off + FD.size), i * FD.size);
  });
  return { fds: out.buffer, count: fdRecs.length };
}
