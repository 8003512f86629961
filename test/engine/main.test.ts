// The engine process on a real socket: node spawns it with a socketpair on
// fd 3, as crib.so does; the procfs fixture stands in for the collector.
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import { Duplex } from 'stream';
import { frameHeader, FrameReader } from '../../engine-ts/src/engine/frames';
import { ABI_VERSION, loadProto } from '../../engine-ts/src/engine/proto';
import { ownPidNs } from '../../engine-ts/src/bpf/pidns';

const proto = loadProto();
const main = path.resolve(__dirname, '..', '..', 'engine-ts', 'src', 'engine', 'main.js');
const fixture = path.resolve(__dirname, 'fixtures', 'proc-collector.js');
type Obj = { [k: string]: unknown };

class Engine {
  readonly child: ChildProcess;
  readonly sock: Duplex;
  private readonly reader = new FrameReader();
  private readonly got: Obj[] = [];
  private wake?: () => void;
  readonly exited: Promise<number | null>;

  constructor() {
    this.child = spawn(process.execPath, [main, '--fd', '3'], {
      stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
      env: { ...process.env, CRIB_COLLECTOR: fixture },
    });
    this.sock = this.child.stdio[3] as Duplex;
    this.exited = new Promise((res) => this.child.on('exit', (code) => res(code)));
    this.sock.on('data', (c: Buffer) => {
      for (const f of this.reader.push(c)) this.got.push(proto.Response.toObject(proto.Response.decode(f), { oneofs: true, longs: String }));
      this.wake?.();
    });
    this.sock.on('error', () => undefined);
  }

  send(req: Obj): void {
    const b = proto.Request.encode(proto.Request.fromObject(req)).finish();
    this.sock.write(Buffer.concat([frameHeader(b.length), b]));
  }

  async next(): Promise<Obj> {
    while (!this.got.length) await new Promise<void>((res) => (this.wake = res));
    return this.got.shift()!;
  }
}

describe('engine process', function () {
  this.timeout(20000);

  it('answers hello and stat, then exits on shutdown', async () => {
    const e = new Engine();
    e.send({ id: 1, hello: { abiVersion: ABI_VERSION, pidNs: ownPidNs() } });
    const h = await e.next();
    assert.deepStrictEqual([h.id, h.err, h.resp], [1, 0, 'hello']);
    e.send({ id: 2, stat: { pid: process.pid } });
    const s = await e.next();
    assert.strictEqual((s.stat as Obj).pid, process.pid);
    e.send({ id: 3, shutdown: { pid: 0 } });
    assert.deepStrictEqual([(await e.next()).id, await e.exited], [3, 0]);
  });

  it('takes a request split across writes and two requests in one write', async () => {
    const e = new Engine();
    e.send({ id: 4, hello: { abiVersion: ABI_VERSION, pidNs: ownPidNs() } });
    await e.next();
    const b = proto.Request.encode(proto.Request.fromObject({ id: 5, stat: { pid: process.pid } })).finish();
    const f = Buffer.concat([frameHeader(b.length), b]);
    e.sock.write(f.subarray(0, 2));
    await new Promise((r) => setTimeout(r, 50));
    e.sock.write(f.subarray(2, 7));
    await new Promise((r) => setTimeout(r, 50));
    e.sock.write(Buffer.concat([f.subarray(7), f]));
    assert.deepStrictEqual([(await e.next()).id, (await e.next()).id], [5, 5]);
    e.sock.end();
    assert.strictEqual(await e.exited, 0);
  });

  it('survives a request that does not decode', async () => {
    const e = new Engine();
    e.send({ id: 4, hello: { abiVersion: ABI_VERSION, pidNs: ownPidNs() } });
    await e.next();
    e.sock.write(Buffer.concat([frameHeader(3), Buffer.from([0xff, 0xff, 0xff])]));
    const bad = await e.next();
    assert.deepStrictEqual([bad.id, bad.err], [0, -71]);
    e.send({ id: 6, threads: { pid: process.pid } });
    assert.strictEqual((await e.next()).err, 0);
    e.sock.end();
    assert.strictEqual(await e.exited, 0);
  });

  it('answers an oversize frame with -EPROTO and hangs up', async () => {
    const e = new Engine();
    const h = Buffer.alloc(4);
    h.writeUInt32LE(0x7fffffff, 0);
    e.sock.write(h);
    const r = await e.next();
    assert.deepStrictEqual([r.id, r.err], [0, -71]);
    assert.match(r.message as string, /longer than/);
    assert.strictEqual(await e.exited, 1);
  });

  it('exits when the socket closes', async () => {
    const e = new Engine();
    e.sock.end();
    assert.strictEqual(await e.exited, 0);
  });
});
