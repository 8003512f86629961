// A plain client of the engine protocol (proto/crib.proto) over a unix
// socket: what crib.so does, without the shared answer buffer.  For the
// tests and `crib bench` (connect to first answer).
import * as net from 'net';
import { FrameReader, frameHeader } from './frames';
import { CribProto } from './proto';

export type ResponseObject = { id: number; err: number; message?: string; [k: string]: unknown };

export class EngineClient {
  private readonly reader = new FrameReader();
  private waiting?: { resolve: (r: ResponseObject) => void; reject: (e: Error) => void };
  private queue: ResponseObject[] = [];
  private seq = 0;
  private closedWith?: Error;

  private constructor(private readonly proto: CribProto, readonly sock: net.Socket) {
    sock.on('data', (b: Buffer) => {
      for (const f of this.reader.push(b)) {
        const r = this.proto.Response.toObject(this.proto.Response.decode(f), { oneofs: true, longs: Number }) as ResponseObject;
        if (this.waiting) {
          const w = this.waiting;
          this.waiting = undefined;
          w.resolve(r);
        } else this.queue.push(r);
      }
    });
    const gone = (e?: Error) => {
      this.closedWith = e ?? new Error('the engine closed the connection');
      this.waiting?.reject(this.closedWith);
      this.waiting = undefined;
    };
    sock.on('error', gone);
    sock.on('close', () => gone());
  }

  static connect(proto: CribProto, socketPath: string): Promise<EngineClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socketPath);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(new EngineClient(proto, sock));
      });
      sock.once('error', reject);
    });
  }

  /** One request (a crib.Request without its id), its answer. */
  call(body: object): Promise<ResponseObject> {
    const id = ++this.seq;
    const bytes = this.proto.Request.encode(this.proto.Request.fromObject({ id, ...body })).finish();
    if (this.closedWith) return Promise.reject(this.closedWith);
    this.sock.write(Buffer.concat([frameHeader(bytes.length), bytes]));
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
