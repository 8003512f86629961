// The native addon (engine-ts/native, built to build/addon/crib_native.node)
// as TypeScript sees it.  Loaded from a path given by the caller, checked
// for the expected shape once.
import { BpfLoadError } from '../errors';

export interface MapInfo {
  /** BPF_MAP_TYPE_* */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  fd: number;
}

/** Who connected: numbers from the kernel, in this process's pid and user namespaces. */
export interface SocketPeer {
  pid: number;
  uid: number;
  gid: number;
  /** a pidfd of the peer process (close it) */
  pidfd: number;
  /** inode of the peer's pid namespace */
  pidNs: number;
  /** the pidfd came with the connection (SO_PEERPIDFD), not from a later pidfd_open() */
  exact: boolean;
}

/** One BPF object file: open at construction, load once, run, close. */
export interface NativeBpfObject {
  /** program names in section order */
  progNames(): string[];
  /** before load(): whether load() loads this program */
  setAutoload(prog: string, on: boolean): void;
  /** creates the maps and loads the programs; throws NativeError with the verifier log */
  load(): void;
  /** fd of a loaded program */
  progFd(prog: string): number;
  /** BPF_PROG_TEST_RUN with ctx as context (written back); the program's return value */
  run(progFd: number, ctx: Uint8Array): number;
  mapInfo(map: string): MapInfo;
  /** a BPF_F_MMAPABLE array's memory, read-only; detached by close() */
  mapBuffer(map: string): ArrayBuffer;
  /** copies entries [first, first+n) into dst with batch lookups; entries copied */
  readMap(map: string, first: number, n: number, dst: Uint8Array): number;
  /** the records committed to ring buffer @map so far: each a u32 length, 4 bytes of padding, the bytes padded to 8 */
  ringbufRead(map: string): ArrayBuffer;
  /** src (exactly one value) into entry index of an array map */
  writeMap(map: string, index: number, src: Uint8Array): void;
  close(): void;
}

export interface NativeAddon {
  BpfObject: new (path: string) => NativeBpfObject;
  libbpfVersion(): string;
  /** the plugin's shared answer buffer (a memfd), mapped read-write; faulted in now unless populate is false */
  mapShared(fd: number, size: number, populate?: boolean): ArrayBuffer;
  /** undoes mapShared(): unmaps the buffer and detaches it */
  unmapShared(buf: ArrayBuffer): void;
  /** the peer of a connected unix socket, from the kernel (SO_PEERCRED, SO_PEERPIDFD) */
  peer(fd: number): SocketPeer;
  /** a copy (CLOEXEC) of fd @fd of the process @pidfd refers to */
  pidfdGetfd(pidfd: number, fd: number): number;
  /** the mount ids of anon-inode files and of pidfds (fdinfo's mnt_id), each -errno where not known */
  internalMounts(): { anonInode: number; pidfs: number };
  /** statmount() of the mount of unique id @mntId in mount namespace @nsId (0n: the engine's): struct statmount and its strings, or -errno */
  statmount(mntId: bigint, nsId: bigint, mask: number): ArrayBuffer | number;
  /** load() of each object side by side, one thread per CPU: 0 or -errno each, without the verifier's log */
  loadAll(objs: NativeBpfObject[]): number[];
  /** the kernel's id of BPF program or map @fd, or -errno */
  objId(fd: number): number;
  /** records.ts firstUnordered(), in C */
  firstUnordered(a: Int32Array): number;
  /** run the programs at once, one thread each: [retval, err (0 or -errno), ns] per program */
  runAll(progFds: number[], ctxs: Uint8Array[]): Float64Array;
}

/** What the addon throws: an Error with the errno and libbpf's output. */
export interface NativeError extends Error {
  errno: number;
  log: string;
}

export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as Partial<NativeError>).errno === 'number';
}

export function loadAddon(addonPath: string): NativeAddon {
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    mod = require(addonPath);
  } catch (e) {
    throw new BpfLoadError('native addon', `cannot load ${addonPath}: ${(e as Error).message}; run make addon`);
  }
  const m = mod as Partial<NativeAddon>;
  if (typeof m.BpfObject !== 'function' || typeof m.libbpfVersion !== 'function' || typeof m.firstUnordered !== 'function' || typeof m.runAll !== 'function') {
    throw new BpfLoadError('native addon', `${addonPath} does not export BpfObject/libbpfVersion/firstUnordered/runAll; rebuild it`);
  }
  return m as NativeAddon;
}
