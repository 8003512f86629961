// End to end: a co-process engine ends with the dump and leaves nothing
// behind.  CRIU stops its engines with the tree still frozen; a Node
// process takes 15-25 ms to go, even killed, so crib.so kills it and
// reaps it (and the helper that is its parent) when CRIU exits, after the
// tree is thawed: the engine must then be gone, not a zombie left to init.
import { strict as assert } from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { dumpArgs, runCriu, waitFor } from '../../engine-ts/src/criu/run';
import { paths, tmpdir, workload } from '../helpers';

describe('e2e: a co-process engine ends with its dump', function () {
  this.timeout(120000);
  let base: string;
  let w: ChildProcess | undefined;

  before(async () => {
    base = tmpdir('coprocess');
    const out = path.join(base, 'count');
    w = spawn(workload('counter'), [out], { stdio: 'ignore', detached: true });
    await waitFor(() => fs.existsSync(out) && fs.statSync(out).size > 0, 'the counter to count');
  });
  after(() => {
    if (w?.pid) process.kill(w.pid, 'SIGKILL');
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('is stopped before the tree is thawed and reaped by the time CRIU exits', () => {
    for (let i = 0; i < 2; i++) {
      const dir = path.join(base, `d${i}`);
      fs.mkdirSync(dir);
      const r = runCriu(paths.criu, dumpArgs({ criu: paths.criu, pid: w!.pid!, dir, engine: 'crib', leaveRunning: true, libdir: paths.libdir }), { ...process.env, CRIB_SOCKET: '/nonexistent/crib.sock' });
      const log = fs.readFileSync(path.join(dir, 'dump.log'), 'utf8');
      assert.equal(r.status, 0, `criu dump failed:\n${log.split('\n').slice(-10).join('\n')}`);
      const started = /engine pid (\d+): crib-engine/.exec(log);
      assert.ok(started, 'no co-process was started');
      const pid = Number(started[1]);
      const stopped = log.indexOf(`engine pid ${pid}: stopped; reaped when CRIU exits`);
      assert.ok(stopped > 0, 'the engine was not let go of at the end of the dump');
      assert.ok(stopped < log.indexOf('Unfreezing tasks'), 'the engine was stopped after the tree was thawed');
      // a zombie still has its /proc entry: gone means reaped
      assert.ok(!fs.existsSync(`/proc/${pid}`), `engine pid ${pid} is left behind: ${fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, 'utf8') : ''}`);
    }
    assert.equal(w!.exitCode, null, 'the counter is gone');
  });
});
