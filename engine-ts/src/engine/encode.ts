// Encoders of crib.Response.  The bulk messages (VmaList, FdTable and the
// PrepareResp that carries them) are written by hand: a packed fixed32 /
// fixed64 field is, on the wire, a length-delimited run of little-endian
// words, which is exactly the memory of a typed array on a little-endian
// host, so each column goes out as one copy instead of per-entry work.
// test/engine/encode.test.ts checks them against protobufjs's own decoder.
import * as os from 'os';
import * as protobuf from 'protobufjs';
import { FdTable, VmaTable } from '../bpf/types';
import { BadRecordError } from '../errors';
import { CribProto, U64, u64 } from './proto';

const LITTLE_ENDIAN = os.endianness() === 'LE';
export const LEN = 2; // wire type of length-delimited fields
export const VARINT = 0;

type Words32 = Uint32Array | Int32Array;

/**
 * What the bulk encoders write to: a protobufjs Writer, or the engine's
 * WireWriter (wire.ts), which copies bytes in as they come.
 */
export interface Sink {
  uint32(v: number): Sink;
  int32(v: number): Sink;
  uint64(v: U64): Sink;
  bytes(b: Uint8Array): Sink;
  string(s: string): Sink;
  fork(): Sink;
  ldelim(): Sink;
}

export function tag(field: number, wire: number): number {
  return ((field << 3) | wire) >>> 0;
}

function column<T extends Words32 | BigUint64Array>(what: string, name: string, a: T, n: number): T {
  if (a.length < n) throw new BadRecordError(what, `column ${name} has ${a.length} entries for ${n} rows`);
  return (a.length === n ? a : a.subarray(0, n)) as T;
}

function bytesOf(a: Words32 | BigUint64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** A packed fixed-width column: on a little-endian host, the array's own bytes. */
function packedFixed(w: Sink, field: number, a: BigUint64Array | Words32): void {
  if (a.length === 0) return;
  if (!LITTLE_ENDIAN) throw new BadRecordError('encode', 'the engine runs on little-endian hosts only');
  w.uint32(tag(field, LEN)).bytes(bytesOf(a));
}

const packed64 = (w: Sink, field: number, a: BigUint64Array): void => packedFixed(w, field, a);
const packed32 = (w: Sink, field: number, a: Words32): void => packedFixed(w, field, a);

export function packedVarint(w: Sink, field: number, a: ArrayLike<number>): void {
  if (a.length === 0) return;
  w.uint32(tag(field, LEN)).fork();
  for (let i = 0; i < a.length; i++) w.int32(a[i]);
  w.ldelim();
}

/** The fields of a crib.VmaList (no outer tag). */
export function writeVmaList(w: Sink, t: VmaTable): Sink {
  const what = `vma: pid ${t.pid}`;
  const n = t.count;
  w.uint32(tag(1, 0)).int32(t.pid);
  packed64(w, 2, column(what, 'start', t.start, n));
  packed64(w, 3, column(what, 'end', t.end, n));
  packed64(w, 4, column(what, 'pgoff', t.pgoff, n));
  packed64(w, 5, column(what, 'ino', t.ino, n));
  packed64(w, 6, column(what, 'madv', t.madv, n));
  packed32(w, 7, column(what, 'devMaj', t.devMaj, n));
  packed32(w, 8, column(what, 'devMin', t.devMin, n));
  packed32(w, 9, column(what, 'prot', t.prot, n));
  packed32(w, 10, column(what, 'shared', t.shared, n));
  packed32(w, 11, column(what, 'mapFlags', t.mapFlags, n));
  packed32(w, 12, column(what, 'vmflags', t.vmflags, n));
  packed32(w, 13, column(what, 'nameIdx', t.nameIdx, n));
  for (const s of t.names) w.uint32(tag(14, LEN)).bytes(Buffer.from(s, 'latin1'));
  packed32(w, 15, column(what, 'mntId', t.mntId, n));
  packed32(w, 16, column(what, 'fmode', t.fmode, n));
  return w;
}

/** The fields of a crib.FdTable (no outer tag). */
export function writeFdTable(w: Sink, t: FdTable): Sink {
  const what = `fds: pid ${t.pid}`;
  const n = t.count;
  w.uint32(tag(1, 0)).int32(t.pid);
  packed32(w, 2, column(what, 'fd', t.fd, n));
  packed64(w, 3, column(what, 'pos', t.pos, n));
  packed32(w, 4, column(what, 'flags', t.flags, n));
  packed32(w, 5, column(what, 'mntId', t.mntId, n));
  packed32(w, 6, column(what, 'locks', t.locks, n));
  return w;
}

export function encodeVmaList(t: VmaTable): Uint8Array {
  const w = protobuf.Writer.create();
  writeVmaList(w, t);
  return w.finish();
}

export function encodeFdTable(t: FdTable): Uint8Array {
  const w = protobuf.Writer.create();
  writeFdTable(w, t);
  return w.finish();
}

/**
 * What one PrepareReq produced.  The tables are kept encoded: a collector
 * may hand out views of its BPF maps that its next call overwrites, and a
 * protobufjs Writer copies bytes only at finish().
 */
export interface PrepareResult {
  /** encoded crib.VmaList messages (encodeVmaList) */
  vmas: Uint8Array[];
  /** encoded crib.FdTable messages (encodeFdTable) */
  fds: Uint8Array[];
  /** encoded crib.StatResp messages */
  stats: Uint8Array[];
  /** [crib.Op, ns] */
  opNs: [number, bigint][];
  failedPid: number[];
  /** positive errno, one per failedPid */
  failedErrno: number[];
}

/** The fields of a crib.PrepareResp (no outer tag). */
export function writePrepareResp(w: Sink, p: PrepareResult): Sink {
  for (const b of p.vmas) w.uint32(tag(1, LEN)).bytes(b);
  for (const b of p.fds) w.uint32(tag(2, LEN)).bytes(b);
  writePrepareTail(w, p.opNs, p.failedPid, p.failedErrno);
  for (const b of p.stats) w.uint32(tag(6, LEN)).bytes(b);
  return w;
}

/** PrepareResp's op_ns, failed_pid and failed_errno. */
export function writePrepareTail(w: Sink, opNs: [number, bigint][], failedPid: number[], failedErrno: number[]): Sink {
  for (const [op, ns] of opNs) w.uint32(tag(3, LEN)).fork().uint32(tag(1, 0)).int32(op).uint32(tag(2, 0)).uint64(u64(ns)).ldelim();
  packedVarint(w, 4, failedPid);
  packedVarint(w, 5, failedErrno);
  return w;
}

/** Response's id and err, the fields every answer starts with. */
export function writeResponseHead(w: Sink, id: number, err: number): Sink {
  return w.uint32(tag(1, 0)).uint32(id >>> 0).uint32(tag(2, 0)).int32(err);
}

export function encodePrepareResp(p: PrepareResult): Uint8Array {
  const w = protobuf.Writer.create();
  writePrepareResp(w, p);
  return w.finish();
}

/** A Response's payload: the name of its oneof field and the value. */
export type Payload =
  | { kind: 'hello' | 'stat' | 'status'; value: { [k: string]: unknown } }
  | { kind: 'threads' | 'children'; value: Int32Array }
  | { kind: 'vma'; value: VmaTable }
  | { kind: 'fds'; value: FdTable }
  | { kind: 'prepare'; value: PrepareResult }
  /** a folder op's message, already encoded (Response.record) */
  | { kind: 'record'; value: Uint8Array };

export interface Reply {
  id: number;
  /** 0 or a negative errno */
  err: number;
  message?: string;
  payload?: Payload;
}

export function encodeResponse(proto: CribProto, r: Reply): Uint8Array {
  const w = protobuf.Writer.create();
  writeResponseHead(w, r.id, r.err);
  if (r.message !== undefined) w.uint32(tag(3, LEN)).string(r.message);
  const p = r.payload;
  if (!p) return w.finish();
  if (p.kind === 'record') return w.uint32(tag(proto.respField.record, LEN)).bytes(p.value).finish();
  w.uint32(tag(proto.respField[p.kind], LEN)).fork();
  switch (p.kind) {
    case 'hello':
      proto.HelloResp.encode(p.value, w);
      break;
    case 'stat':
      proto.StatResp.encode(p.value, w);
      break;
    case 'status':
      proto.StatusResp.encode(p.value, w);
      break;
    case 'threads':
    case 'children':
      packedVarint(w, 1, p.value);
      break;
    case 'vma':
      writeVmaList(w, p.value);
      break;
    case 'fds':
      writeFdTable(w, p.value);
      break;
    case 'prepare':
      writePrepareResp(w, p.value);
      break;
  }
  return w.ldelim().finish();
}
