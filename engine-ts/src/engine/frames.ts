// Framing of the plugin/engine stream (proto/crib.proto): a little-endian
// u32 length, then that many bytes of one packed message.
import { CribError, EPROTO } from '../errors';

/** Longest frame either side accepts. */
export const MAX_FRAME = 256 * 1024 * 1024;

export class FrameTooLargeError extends CribError {
  constructor(readonly length: number, readonly max: number) {
    super('EPROTO', `frame of ${length} bytes is longer than the ${max}-byte limit; the stream is out of step, closing it`, EPROTO);
  }
}

/** Cuts a byte stream that arrives in arbitrary pieces into frames. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** length of the frame being read, -1 while its header is incomplete */
  private need = -1;

  constructor(private readonly maxFrame: number = MAX_FRAME) {}

  /** Takes one piece of the stream, returns the frames it completes. Throws FrameTooLargeError. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        const len = this.take(4).readUInt32LE(0);
        if (len > this.maxFrame) throw new FrameTooLargeError(len, this.maxFrame);
        this.need = len;
      }
      if (this.buffered < this.need) break;
      frames.push(this.take(this.need));
      this.need = -1;
    }
    return frames;
  }

  /** bytes received that are not part of a complete frame yet */
  get pending(): number {
    return this.buffered;
  }

  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    // The common case: the whole piece is in one chunk, no copy.
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}

/** The 4-byte header of a frame of `length` bytes. */
export function frameHeader(length: number): Buffer {
  if (length > MAX_FRAME) throw new FrameTooLargeError(length, MAX_FRAME);
  const h = Buffer.allocUnsafe(4);
  h.writeUInt32LE(length, 0);
  return h;
}
