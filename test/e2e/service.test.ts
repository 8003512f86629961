// crib serve: one engine for many dumps.  Sessions, concurrency, leaks,
// security, faults and the RPC path, with real CRIU dumps of real
// processes.  The service listens on a socket of its own here
// (CRIB_SOCKET), never on the default one.
import { strict as assert } from 'assert';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { loadCriuProtos } from '../../engine-ts/src/images/reader';
import { imageDir, readEngineStats } from '../../engine-ts/src/criu/images';
import { dumpArgs, restore, Service, sleep, startService, startWorkload, waitFor, waitPidGone, Workload } from '../../engine-ts/src/criu/run';
import { EngineClient } from '../../engine-ts/src/engine/client';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { FrameReader, frameHeader } from '../../engine-ts/src/engine/frames';
import { paths, root, tmpdir, workload } from '../helpers';

const crib = path.join(root, 'build', 'bin', 'crib');
const criuTree = path.join(root, 'build/criu-src/criu-4.2.1');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** CRIU without blocking the event loop (a fake service may run in this process). */
function criuAsync(args: string[], env: NodeJS.ProcessEnv): { done: Promise<number>; pid: number } {
  const c = spawn(paths.criu, args, { stdio: 'ignore', env });
  return { pid: c.pid!, done: new Promise((resolve) => c.once('exit', (code, sig) => resolve(code ?? 128 + (sig ? 9 : 0)))) };
}

function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** What the fds of @pid are, for a message. */
function fdList(pid: number): string[] {
  return fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return `${fd} -> ${fs.readlinkSync(`/proc/${pid}/fd/${fd}`)}`;
    } catch {
      return `${fd} (gone)`;
    }
  });
}

/** The plugin's shared answer buffers the service has mapped. */
function sharedMaps(pid: number): number {
  return fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').filter((l) => l.includes('crib-answers')).length;
}

describe('e2e: crib serve, one engine for many dumps', function () {
  this.timeout(300000);
  const proto = loadProto();
  const protos = loadCriuProtos(paths.criuImages);
  let base: string;
  let sock: string;
  let svc: Service;
  let env: NodeJS.ProcessEnv;
  const workloads: Workload[] = [];
  /** a small tree the tests that do not kill their target share */
  let shared: Workload;

  async function many(tag: string, v: number, f: number): Promise<Workload> {
    const ready = path.join(base, `${tag}.ready`);
    const w = startWorkload(workload('many'), ['-v', String(v), '-f', String(f), '-r', ready]);
    workloads.push(w);
    await waitFor(() => fs.existsSync(ready), `workload ${tag} to set up`, 30000);
    return w;
  }

  function log(dir: string): string {
    const f = path.join(dir, 'dump.log');
    return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
  }

  function dumpDir(tag: string): string {
    const d = path.join(base, tag);
    fs.mkdirSync(d, { recursive: true });
    return d;
  }

  function crArgs(pid: number, dir: string, verify = true): string[] {
    return dumpArgs({ criu: paths.criu, pid, dir, engine: 'crib', verify, leaveRunning: true, libdir: paths.libdir });
  }

  /** Every op crib served with zero verify mismatches. */
  function checkStats(dir: string): void {
    const st = readEngineStats(imageDir(protos, dir));
    for (const o of st.ops) {
      assert.equal(o.engine, 'crib', `${dir}: op ${o.op} not served by crib`);
      assert.equal(o.verifyMismatches, 0, `${dir}: op ${o.op}: ${o.verifyMismatches} mismatches`);
      assert.equal(o.fallbacks, 0, `${dir}: op ${o.op}: ${o.fallbacks} fallbacks`);
    }
  }

  before(async () => {
    base = tmpdir('service');
    fs.chmodSync(base, 0o755);
    sock = path.join(base, 'run', 'crib.sock');
    svc = await startService(crib, sock, path.join(base, 'serve.log'));
    // the warm-up runs after ready, and loads the last objects: fd counts are taken after it
    await waitFor(() => /warm-up done/.test(fs.readFileSync(svc.log, 'utf8')), 'the service to warm up', 30000);
    env = { ...process.env, CRIB_SOCKET: sock };
    shared = await many('shared', 100, 20);
  });
  after(async () => {
    for (const w of workloads) await w.kill();
    await svc?.stop();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('made its socket 0600 in a 0700 directory, both root-owned', () => {
    const d = fs.statSync(path.dirname(sock));
    const s = fs.statSync(sock);
    assert.equal(d.mode & 0o777, 0o700);
    assert.equal(s.mode & 0o777, 0o600);
    assert.equal(d.uid, 0);
    assert.equal(s.uid, 0);
  });

  it('serves a dump (the log says so) whose image restores with stock CRIU', async () => {
    const ready = path.join(base, 'counter.ready');
    const w = startWorkload(workload('counter'), [ready]);
    workloads.push(w);
    await waitFor(() => fs.existsSync(ready) && fs.statSync(ready).size > 0, 'the counter to count');
    const dir = dumpDir('one');
    const r = spawnSync(paths.criu, crArgs(w.pid, dir), { env, stdio: 'ignore' });
    assert.equal(r.status, 0, log(dir).slice(-2000));
    assert.match(log(dir), /crib: engine service at .* \(pid \d+\) ready in [\d.]+ ms/);
    assert.match(log(dir), /crib: engine: crib serve pid \d+, session \d+/);
    assert.doesNotMatch(log(dir), /engine pid \d+ ready/, 'a co-process was started too');
    checkStats(dir);
    // stats-dump says it too
    assert.match(readEngineStats(imageDir(protos, dir)).how, /^crib: service at \S+: crib serve pid \d+, session \d+$/);
    await w.kill();
    await waitPidGone(w.pid);
    restore({ criu: paths.criuStock, dir, libdir: undefined });
    assert.ok(alive(w.pid), 'the restored counter is not running');
    process.kill(w.pid, 'SIGKILL');
    await waitPidGone(w.pid);
  });

  it('three CRIUs at once, three trees, --engine-verify: every op served, zero mismatches', async () => {
    const ws = await Promise.all([many('c1', 3000, 300), many('c2', 500, 2000), many('c3', 1500, 1000)]);
    const fdsBefore = fdCount(svc.pid);
    const runs = ws.map((w, i) => {
      const dir = dumpDir(`conc${i}`);
      return { dir, run: criuAsync(crArgs(w.pid, dir), env) };
    });
    const codes = await Promise.all(runs.map((r) => r.run.done));
    codes.forEach((c, i) => assert.equal(c, 0, log(runs[i].dir).slice(-2000)));
    for (const r of runs) {
      assert.match(log(r.dir), /engine service at/);
      checkStats(r.dir);
    }
    await waitFor(() => fdCount(svc.pid) === fdsBefore, 'the sessions to end');
    assert.equal(sharedMaps(svc.pid), 0, 'a shared buffer is still mapped');
  });

  it('a CRIU killed mid-dump ends its session; no fd or mapping is left', async () => {
    const w = await many('killed', 10000, 2000);
    const fdsBefore = fdCount(svc.pid);
    const dir = dumpDir('killed');
    const r = criuAsync(crArgs(w.pid, dir, false), env);
    await waitFor(() => /prepared \d+ tasks/.test(log(dir)), 'the dump to get its snapshot', 30000);
    process.kill(r.pid, 'SIGKILL');
    await r.done;
    await waitFor(() => /ended \(connection closed\)/.test(fs.readFileSync(svc.log, 'utf8')), 'the service to end the session');
    await waitFor(() => fdCount(svc.pid) === fdsBefore, `the service's fds back to ${fdsBefore}`);
    assert.equal(sharedMaps(svc.pid), 0, 'the killed CRIU\'s shared buffer is still mapped');
    // what the dead CRIU left in the target is the kernel's and CRIU's business; the service goes on
    const dir2 = dumpDir('after-killed');
    const r2 = spawnSync(paths.criu, crArgs(w.pid, dir2), { env, stdio: 'ignore' });
    assert.equal(r2.status, 0, log(dir2).slice(-2000));
    checkStats(dir2);
  });

  it('1,000 sessions: the service\'s memory and fds stay flat', async () => {
    const w = await many('flat', 200, 50);
    const session = async () => {
      const c = await EngineClient.connect(proto, sock);
      const h = await c.call({ hello: { abiVersion: 0, pidNs: 1 } });
      assert.equal(h.err, 0);
      const p = await c.call({ prepare: { pids: [w.pid] } });
      assert.equal(p.err, 0, p.message);
      const s = await c.call({ status: { pid: w.pid } });
      assert.equal(s.err, 0, s.message);
      await c.call({ shutdown: { pid: 0 } });
      c.close();
    };
    /** the service's own figures (SIGUSR1), once it has been idle long enough to collect */
    const status = async (): Promise<{ rss: number; heap: number }> => {
      await sleep(800);
      const before = fs.readFileSync(svc.log, 'utf8').length;
      process.kill(svc.pid, 'SIGUSR1');
      let m: RegExpExecArray | null = null;
      await waitFor(() => (m = /rss (\d+) kB, heap (\d+)\//.exec(fs.readFileSync(svc.log, 'utf8').slice(before))) !== null, 'the status line');
      return { rss: Number(m![1]), heap: Number(m![2]) };
    };
    for (let i = 0; i < 100; i++) await session();
    // a session's socket closes a moment after its CRIU hangs up: counted once the service is idle
    const m0 = await status();
    const fds0 = fdCount(svc.pid);
    const list0 = fdList(svc.pid);
    const t0 = Date.now();
    for (let i = 0; i < 900; i++) await session();
    const ms = (Date.now() - t0) / 900;
    const m1 = await status();
    process.stdout.write(`      after 100 sessions: rss ${m0.rss} kB, heap ${m0.heap} kB; after 1,000: rss ${m1.rss} kB, heap ${m1.heap} kB; ${ms.toFixed(2)} ms per session\n`);
    try {
      await waitFor(() => fdCount(svc.pid) <= fds0, 'the fds back to where they were', 5000);
    } catch {
      assert.fail(`fds grew: before ${list0.join(', ')}; after ${fdList(svc.pid).join(', ')}`);
    }
    assert.ok(m1.heap - m0.heap < 2048, `the live heap grew by ${m1.heap - m0.heap} kB over 900 sessions`);
    assert.ok(m1.rss - m0.rss < 24 * 1024, `RSS grew by ${m1.rss - m0.rss} kB over 900 sessions`);
  });

  it('takes the caller\'s pid namespace from the connection, not from the hello', async () => {
    const c = await EngineClient.connect(proto, sock);
    // a namespace we are not in, and no namespace at all: both ignored
    const h = (await c.call({ hello: { abiVersion: 0, pidNs: 4026530000 } })) as { hello?: { ops: { available: boolean }[]; service?: string } };
    assert.ok(h.hello?.ops.every((o) => o.available), JSON.stringify(h));
    assert.match(h.hello?.service ?? '', /^crib serve pid \d+, session \d+$/);
    const s = (await c.call({ stat: { pid: process.pid } })) as { err: number; stat?: { pid: number } };
    assert.equal(s.err, 0);
    assert.equal(s.stat?.pid, process.pid);
    c.close();
  });

  it('refuses a peer that is not root, even with the socket opened to all', async () => {
    const dir = path.dirname(sock);
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(sock, 0o666);
    try {
      const hello = proto.Request.encode(proto.Request.fromObject({ id: 1, hello: { abiVersion: 0, pidNs: 1 } })).finish();
      const frame = Buffer.concat([frameHeader(hello.length), hello]).toString('hex');
      // refused: the service hangs up (EOF, or a reset/broken pipe if it did so before we wrote)
      const py = [
        'import socket, sys',
        's = socket.socket(socket.AF_UNIX)',
        's.connect(sys.argv[1])',
        's.settimeout(10)',
        'try:',
        '    s.sendall(bytes.fromhex(sys.argv[2]))',
        '    n = len(s.recv(4096))',
        'except (ConnectionResetError, BrokenPipeError):',
        '    n = 0',
        "print('got', n)",
      ].join('\n');
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/python3', '-c', py, sock, frame], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /got 0/, 'a uid 65534 peer got an answer');
      assert.match(fs.readFileSync(svc.log, 'utf8'), /refused: pid \d+ runs as uid 65534; only root may use the service/);
    } finally {
      fs.chmodSync(sock, 0o600);
      fs.chmodSync(dir, 0o700);
    }
  });

  it('serves a CRIU in another pid namespace than its own, in that namespace\'s numbers', () => {
    const dir = dumpDir('pidns');
    const r = spawnSync(
      'unshare',
      ['--pid', '--fork', '--mount-proc', '--net', path.join(root, 'test/e2e/pidns.sh'), paths.criu, paths.libdir ?? '', workload('counter'), dir, '--engine=crib', '--engine-verify'],
      { encoding: 'utf8', env, timeout: 120000 },
    );
    const dlog = fs.readFileSync(path.join(dir, 'img', 'dump.log'), 'utf8');
    assert.match(r.stdout, /dump=0/, `${r.stdout}\n${r.stderr}\n${dlog.slice(-2000)}`);
    assert.match(dlog, /engine service at .* ready in/);
    assert.doesNotMatch(dlog, /engine pid \d+ ready/, 'a co-process was started');
    assert.doesNotMatch(dlog, /[1-9]\d* mismatches/);
    assert.match(r.stdout, /restore=0/);
  });

  it('answers a caller in a child pid namespace about its tasks only, whatever the numbers mean elsewhere', () => {
    // inside: pid 1 is this node, its threads the next few numbers; the test's own number (a live task out here) names none
    const script = `
      const { EngineClient } = require(${JSON.stringify(path.join(root, 'build/ts/engine-ts/src/engine/client.js'))});
      const { loadProto } = require(${JSON.stringify(path.join(root, 'build/ts/engine-ts/src/engine/proto.js'))});
      (async () => {
        const c = await EngineClient.connect(loadProto(), ${JSON.stringify(sock)});
        await c.call({ hello: { abiVersion: 0, pidNs: 4026531836 } });
        const one = await c.call({ stat: { pid: 1 } });
        const out = await c.call({ stat: { pid: ${process.pid} } });
        console.log(JSON.stringify({ pid: process.pid, one: { err: one.err, pid: one.stat && one.stat.pid, comm: one.stat && Buffer.from(one.stat.comm).toString() }, out: { err: out.err } }));
        c.close();
      })();`;
    const r = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '-e', script], { encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { pid: number; one: { err: number; pid: number; comm: string }; out: { err: number } };
    assert.equal(got.pid, 1);
    assert.deepEqual(got.one, { err: 0, pid: 1, comm: 'node' });
    assert.equal(got.out.err, -3, `pid ${process.pid} is this test out here, and no task in the child namespace: ESRCH`);
  });

  it('RPC (criu swrk, as runc and Podman drive it) gets the service with no change on its side', () => {
    const w = shared;
    const dir = dumpDir('rpc');
    const r = spawnSync('/usr/bin/python3', [path.join(root, 'test/e2e/rpc_dump.py'), path.join(criuTree, 'lib'), paths.criu, String(w.pid), dir, 'crib'], {
      encoding: 'utf8',
      env: { ...env, CRIU_LIBS_DIR: paths.libdir },
    });
    assert.equal(r.status, 0, `${r.stderr}\n${log(dir).slice(-2000)}`);
    assert.match(log(dir), /engine service at .* ready in/);
    checkStats(dir);
  });

  it('systemd socket activation: started on the first connection, on the socket it is handed', async function () {
    // what crib.socket + crib.service do, without a running systemd
    if (spawnSync('sh', ['-c', 'command -v systemd-socket-activate']).status !== 0) this.skip();
    const asock = path.join(base, 'activated', 'crib.sock');
    fs.mkdirSync(path.dirname(asock), { mode: 0o700 });
    const alog = path.join(base, 'activated.log');
    const act = spawn('systemd-socket-activate', ['-l', asock, crib, 'serve', '--log', alog], { stdio: 'ignore' });
    try {
      await waitFor(() => fs.existsSync(asock), 'the activation socket');
      assert.ok(!fs.existsSync(alog), 'crib serve ran before anyone connected');
      const dir = dumpDir('activated');
      const r = spawnSync(paths.criu, crArgs(shared.pid, dir), { env: { ...process.env, CRIB_SOCKET: asock }, stdio: 'ignore' });
      assert.equal(r.status, 0, log(dir).slice(-2000));
      assert.match(fs.readFileSync(alog, 'utf8'), /ready on the socket systemd passed/);
      assert.match(log(dir), /engine service at .* ready in/);
      checkStats(dir);
    } finally {
      act.kill('SIGTERM');
      await new Promise((resolve) => act.once('exit', resolve));
    }
  });

  /** A fake service in this process: answers what @answer says to each frame (nothing: stall). */
  async function fake(answer: (req: { id: number }) => Buffer | undefined): Promise<{ path: string; close: () => void }> {
    const p = path.join(base, `fake-${Date.now()}.sock`);
    const server = net.createServer((s) => {
      const rd = new FrameReader();
      s.on('data', (b: Buffer) => {
        for (const f of rd.push(b)) {
          const out = answer(proto.Request.decode(f) as unknown as { id: number });
          if (out) s.write(Buffer.concat([frameHeader(out.length), out]));
        }
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(p, resolve));
    return { path: p, close: () => server.close() };
  }

  it('version skew: a service that speaks another ABI is left for the co-process', async () => {
    const f = await fake((req) => Buffer.from(proto.Response.encode(proto.Response.fromObject({ id: req.id, err: 0, hello: { abiVersion: 999, engineVersion: 'crib-engine 9.9' } })).finish()));
    try {
      const w = shared;
      const dir = dumpDir('skew');
      const r = criuAsync(crArgs(w.pid, dir), { ...process.env, CRIB_SOCKET: f.path });
      assert.equal(await r.done, 0, log(dir).slice(-2000));
      assert.match(log(dir), /serves ABI 999/);
      assert.match(log(dir), /did not say hello: .*starting the co-process/);
      assert.match(log(dir), /engine pid \d+ ready/);
      checkStats(dir);
      assert.match(readEngineStats(imageDir(protos, dir)).how, /^crib: co-process pid \d+ \(the service at \S+ did not say hello: /);
    } finally {
      f.close();
    }
  });

  it('a stuck service: the plugin gives up on it (CRIB_TIMEOUT_MS) and starts the co-process', async () => {
    const f = await fake(() => undefined);
    try {
      const w = shared;
      const dir = dumpDir('stuck');
      const r = criuAsync(crArgs(w.pid, dir), { ...process.env, CRIB_SOCKET: f.path, CRIB_TIMEOUT_MS: '3000' });
      assert.equal(await r.done, 0, log(dir).slice(-2000));
      assert.match(log(dir), /did not say hello: Connection timed out; starting the co-process/);
      assert.match(log(dir), /engine pid \d+ ready/);
      checkStats(dir);
    } finally {
      f.close();
    }
  });

  it('the service killed mid-dump: the dump ends cleanly, the target runs, an image written restores', async () => {
    const w = await many('svc-killed', 10000, 2000);
    const dir = dumpDir('svc-killed');
    const r = criuAsync(dumpArgs({ criu: paths.criu, pid: w.pid, dir, engine: 'crib', libdir: paths.libdir }), env);
    await waitFor(() => /prepared \d+ tasks/.test(log(dir)), 'the dump to get its snapshot', 30000);
    process.kill(svc.pid, 'SIGKILL');
    const code = await r.done;
    await svc.exited;
    if (code === 0) {
      // not left running: CRIU killed it; the image must bring it back
      await waitPidGone(w.pid);
      restore({ criu: paths.criu, dir, libdir: paths.libdir });
      assert.ok(alive(w.pid), 'the restored workload is not running');
    } else {
      assert.ok(alive(w.pid), 'a failed dump left the target dead');
      const st = fs.readFileSync(`/proc/${w.pid}/status`, 'utf8');
      assert.match(st, /TracerPid:\s+0/);
      assert.doesNotMatch(st, /State:\s+[tT]/);
    }
    // and a new service takes over the stale socket
    svc = await startService(crib, sock, path.join(base, 'serve.log'));
  });
});
