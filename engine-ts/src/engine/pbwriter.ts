// A protobuf writer for the messages the engine writes by hand (the ops
// whose answers are lists: ops/fdmeta, ops/taskfs): one growing buffer,
// reused from message to message, so that a message of 10,000 entries
// costs a few varints each and no objects.  proto2 wire format: a field is
// its tag (number << 3 | wire type), then a varint or a length and bytes.
import { BadRecordError } from '../errors';

const VARINT = 0;
const LEN = 2;

export class PbWriter {
  private buf: Uint8Array;
  private at = 0;

  constructor(size = 1 << 16) {
    this.buf = new Uint8Array(size);
  }

  /** Starts a new message; what finish() gave before is overwritten. */
  reset(): this {
    this.at = 0;
    return this;
  }

  /** The message so far: a view valid until the next reset() */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.at);
  }

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.at + n));
    b.set(this.buf.subarray(0, this.at));
    this.buf = b;
  }

  /** a varint of @v, a non-negative integer below 2^53 */
  private raw(v: number): void {
    this.room(10);
    this.put(v);
  }

  /** the same where the room is known to be there */
  private put(v: number): void {
    while (v > 0x7f) {
      this.buf[this.at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.at++] = v;
  }

  /** uint32, uint64 (below 2^53), bool */
  uint(field: number, v: number): this {
    this.raw((field << 3) | VARINT);
    this.raw(v);
    return this;
  }

  /** uint64 of any value, as its low and high 32 bits */
  uint64(field: number, lo: number, hi: number): this {
    if (hi < 0x200000) return this.uint(field, lo + hi * 0x100000000);
    this.raw((field << 3) | VARINT);
    this.room(10);
    // 7 bits at a time over the 64: 28 from lo, 4 from lo and 3 from hi, then hi's 29 left
    for (let i = 0; i < 4; i++) this.buf[this.at++] = ((lo >>> (7 * i)) & 0x7f) | 0x80;
    let v = (lo >>> 28) | ((hi & 0x7) << 4);
    hi >>>= 3;
    while (hi) {
      this.buf[this.at++] = v | 0x80;
      v = hi & 0x7f;
      hi >>>= 7;
    }
    this.buf[this.at++] = v;
    return this;
  }

  /** int32: a negative value is ten bytes, sign-extended to 64 bits */
  int32(field: number, v: number): this {
    if (v >= 0) return this.uint(field, v);
    this.raw((field << 3) | VARINT);
    this.room(10);
    const lo = v >>> 0;
    for (let i = 0; i < 4; i++) this.buf[this.at++] = ((lo >>> (7 * i)) & 0x7f) | 0x80;
    this.buf[this.at++] = ((lo >>> 28) & 0x0f) | 0xf0;
    for (let i = 0; i < 4; i++) this.buf[this.at++] = 0xff;
    this.buf[this.at++] = 0x01;
    return this;
  }

  /** sint32: zigzag */
  sint32(field: number, v: number): this {
    return this.uint(field, ((v << 1) ^ (v >> 31)) >>> 0);
  }

  bytes(field: number, data: Uint8Array): this {
    this.raw((field << 3) | LEN);
    this.raw(data.length);
    this.room(data.length);
    this.buf.set(data, this.at);
    this.at += data.length;
    return this;
  }

  /** A submessage in field @field: what @write adds, with its length before it */
  message(field: number, write: () => void): this {
    this.raw((field << 3) | LEN);
    // room for a length of up to 5 bytes, moved down once it is known
    this.room(5);
    const start = this.at;
    this.at += 5;
    write();
    const n = this.at - start - 5;
    let len = 1;
    for (let v = n; v > 0x7f; v = Math.floor(v / 0x80)) len++;
    this.buf.copyWithin(start + len, start + 5, this.at);
    this.at = start;
    this.put(n); // len bytes, in the 5 kept for them
    this.at += n;
    return this;
  }
}

/** A u64 of a record read as a number: one above 2^53 is a bad record of op @op */
export function u64(op: string, dv: DataView, off: number, what: string): number {
  const v = dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 0x100000000;
  if (!Number.isSafeInteger(v)) throw new BadRecordError(op, `${what} above 2^53`);
  return v;
}
