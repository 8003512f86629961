// End to end: a co-process engine ends with its dump, and the dump does
// not wait for it.  CRIU stops its engines with the tree still frozen; a
// Node process takes 15-20 ms to go even when killed, so crib.so closes its
// stream and reaps only its helper (CRIU must have no child left when it
// thaws or kills the tree), and the engine dies while the tree is thawed,
// reaped by init.  Both ends of a dump: the tree left running, and the
// tree killed (CRIU's default), where CRIU waits for its children.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { dumpArgs, runCriu, startWorkload, waitFor, waitPidGone, Workload } from '../../engine-ts/src/criu/run';
import { paths, tmpdir, workload } from '../helpers';

/** Whether @pid is gone or dead (a zombie its new parent has yet to reap) */
function dead(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] === 'Z';
  } catch {
    return true;
  }
}

describe('e2e: a co-process engine ends with its dump', function () {
  this.timeout(120000);
  let base: string;
  const started: Workload[] = [];

  before(() => {
    base = tmpdir('coprocess');
  });
  after(async () => {
    for (const w of started) await w.kill();
    fs.rmSync(base, { recursive: true, force: true });
  });

  async function dumpOnce(name: string, leaveRunning: boolean): Promise<{ log: string; w: Workload }> {
    const out = path.join(base, `${name}.count`);
    const w = startWorkload(workload('counter'), [out]);
    started.push(w);
    await waitFor(() => fs.existsSync(out) && fs.statSync(out).size > 0, 'the counter to count');
    const dir = path.join(base, name);
    fs.mkdirSync(dir);
    // a co-process: no service, whatever this machine runs; a dump that hung would end here
    const r = runCriu(paths.criu, dumpArgs({ criu: paths.criu, pid: w.pid, dir, engine: 'crib', leaveRunning, libdir: paths.libdir }), { ...process.env, CRIB_SOCKET: '/nonexistent/crib.sock' }, 60000);
    const log = fs.readFileSync(path.join(dir, 'dump.log'), 'utf8');
    assert.equal(r.status, 0, `criu dump failed:\n${log.split('\n').slice(-10).join('\n')}`);
    const m = /engine pid (\d+): crib-engine/.exec(log);
    assert.ok(m, 'no co-process was started');
    const pid = Number(m[1]);
    const stopped = log.indexOf(`engine pid ${pid}: stopped; left to exit while the tree is thawed`);
    assert.ok(stopped > 0, 'the engine was not let go of at the end of the dump');
    assert.ok(stopped < log.indexOf('Unfreezing tasks'), 'the engine was stopped after the tree was thawed');
    await waitFor(() => dead(pid), `engine pid ${pid} to die`, 5000);
    return { log, w };
  }

  it('the tree left running: the engine is stopped before it is thawed, and dies', async () => {
    const { w } = await dumpOnce('running', true);
    assert.ok(!dead(w.pid), 'the counter is gone');
  });

  it('the tree killed: CRIU does not wait for the engine, and the dump ends', async () => {
    const { w } = await dumpOnce('killed', false);
    await waitPidGone(w.pid);
  });
});
