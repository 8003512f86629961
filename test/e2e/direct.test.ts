// End to end: a co-process's CRIU runs the engine's status, threads and
// children programs itself (plugin/direct.c, Direct in proto/crib.proto),
// with the same answers as procfs; $CRIB_NO_DIRECT sends them to the
// engine again; a service offers status alone (the list programs' output
// map is shared by its sessions).
import { strict as assert } from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { loadCriuProtos } from '../../engine-ts/src/images/reader';
import { imageDir, readEngineStats } from '../../engine-ts/src/criu/images';
import { dumpArgs, runCriu, startService, waitFor } from '../../engine-ts/src/criu/run';
import { paths, root as repo, tmpdir } from '../helpers';

/** "direct: status S, threads T, children C calls run here; F left to the engine" of a dump log, or undefined */
function directLine(log: string): { status: number; threads: number; children: number; left: number } | undefined {
  const m = /direct: status (\d+), threads (\d+), children (\d+) calls run here; (\d+) left to the engine/.exec(fs.readFileSync(log, 'utf8'));
  return m ? { status: Number(m[1]), threads: Number(m[2]), children: Number(m[3]), left: Number(m[4]) } : undefined;
}

describe('e2e: status, threads and children run in CRIU (a co-process\'s programs)', function () {
  this.timeout(180000);
  const protos = loadCriuProtos(paths.criuImages);
  let base: string;
  let tree: ChildProcess | undefined;
  // a co-process: no service, whatever this machine runs
  const env = { ...process.env, CRIB_SOCKET: '/nonexistent/crib.sock' };

  before(async () => {
    base = tmpdir('direct');
    // a shell with ten sleepers and a python with three threads
    const ready = path.join(base, 'ready');
    tree = spawn(
      'bash',
      ['-c', `for i in $(seq 10); do sleep 1000 & done; python3 -c "import threading, time; [threading.Thread(target=time.sleep, args=(1000,), daemon=True).start() for _ in range(3)]; open('${ready}', 'w').close(); time.sleep(1000)" & wait`],
      { stdio: 'ignore', detached: true },
    );
    await waitFor(() => fs.existsSync(ready), 'the tree to start');
  });
  after(() => {
    if (tree?.pid) {
      try {
        process.kill(-tree.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(base, { recursive: true, force: true });
  });

  function verifyDump(name: string, extraEnv: NodeJS.ProcessEnv = {}): { dir: string; log: string } {
    const dir = path.join(base, name);
    fs.mkdirSync(dir, { recursive: true });
    const r = runCriu(paths.criu, dumpArgs({ criu: paths.criu, pid: tree!.pid!, dir, engine: 'crib', verify: true, leaveRunning: true, libdir: paths.libdir }), { ...env, ...extraEnv });
    const log = path.join(dir, 'dump.log');
    assert.equal(r.status, 0, `criu dump failed: see ${log}`);
    const st = readEngineStats(imageDir(protos, dir));
    for (const op of ['status', 'threads', 'children']) {
      const s = st.ops.find((o) => o.op === op)!;
      assert.equal(s.engine, 'crib', `op ${op} was served by ${s.engine}`);
      assert.equal(s.fallbacks, 0, `op ${op} fell back`);
      assert.equal(s.verifyMismatches, 0, `op ${op}: ${s.verifyMismatches} mismatch(es) with procfs; see ${log}`);
    }
    return { dir, log };
  }

  it('a co-process\'s CRIU runs them itself: every call, the answers procfs gives', function () {
    const { log } = verifyDump('direct');
    const d = directLine(log);
    assert.ok(d, `no "direct: ... run here" line in ${log}`);
    // 12 tasks (the shell, ten sleepers, python): each asked at least once, none left to the engine
    assert.ok(d.status >= 12 && d.threads >= 12 && d.children >= 12, `direct calls ${JSON.stringify(d)}, expected each >= 12`);
    assert.equal(d.left, 0, 'no call was left to the engine');
  });

  it('$CRIB_NO_DIRECT: the engine answers them, as before', function () {
    const { log } = verifyDump('engine', { CRIB_NO_DIRECT: '1' });
    assert.equal(directLine(log), undefined, `${log} says CRIU ran them itself`);
  });

  it('through a service: status runs in CRIU, threads and children are the service\'s', async function () {
    const sock = path.join(base, 'run', 'crib.sock');
    const svc = await startService(path.join(repo, 'build', 'bin', 'crib'), sock, path.join(base, 'serve.log'));
    try {
      const { log } = verifyDump('service', { CRIB_SOCKET: sock });
      assert.match(fs.readFileSync(log, 'utf8'), /engine service at /, `${log}: the dump did not go through the service`);
      const d = directLine(log);
      assert.ok(d, `no "direct: ... run here" line in ${log}`);
      assert.ok(d.status >= 12 && d.threads === 0 && d.children === 0 && d.left === 0, `direct calls ${JSON.stringify(d)}`);
    } finally {
      await svc.stop();
    }
  });
});
