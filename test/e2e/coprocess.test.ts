// End to end: a co-process engine ends with its dump, reaped by CRIU
// before the tree is thawed (CRIU must have no child left then, and an
// orphan left to the init of CRIU's pid namespace may never be reaped),
// killed rather than left to Node's own teardown.  Both ends of a dump:
// the tree left running, and the tree killed (CRIU's default), where CRIU
// waits for any child of its own.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { dumpArgs, runCriu, startWorkload, waitFor, waitPidGone, Workload } from '../../engine-ts/src/criu/run';
import { paths, tmpdir, workload } from '../helpers';


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
    const stopped = log.indexOf(`engine pid ${pid}: stopped and reaped`);
    assert.ok(stopped > 0, 'the engine was not stopped at the end of the dump');
    assert.ok(stopped < log.indexOf('Unfreezing tasks'), 'the engine was stopped after the tree was thawed');
    // reaped, not a zombie left to init: a zombie still has its /proc entry
    assert.ok(!fs.existsSync(`/proc/${pid}`), `engine pid ${pid} is left behind`);
    return { log, w };
  }

  it('the tree left running: the engine is stopped and reaped before it is thawed', async () => {
    const { w } = await dumpOnce('running', true);
    assert.ok(fs.existsSync(`/proc/${w.pid}`), 'the counter is gone');
  });

  it('the tree killed: the dump ends, with no child of CRIU left for it to wait for', async () => {
    const { w } = await dumpOnce('killed', false);
    await waitPidGone(w.pid);
  });
});
