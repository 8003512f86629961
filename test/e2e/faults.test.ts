// Faults never harm the target: whatever happens to the engine, the dumped
// task is left running with no CRIU leftovers, and an image that CRIU says
// it wrote restores.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { restore, waitPidGone } from '../../engine-ts/src/criu/run';
import { keyValues, paths, root, tmpdir, workload } from '../helpers';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('e2e: faults never harm the target', function () {
  this.timeout(180000);
  let base: string;
  const pids: number[] = [];

  before(() => {
    base = tmpdir('faults');
  });
  after(() => {
    for (const p of pids) if (alive(p)) process.kill(p, 'SIGKILL');
    fs.rmSync(base, { recursive: true, force: true });
  });

  /** Runs kill-engine.sh with the engine sent @sig once the dump log shows @when; checks the target. */
  async function fault(label: string, sig: string, when: string, env: NodeJS.ProcessEnv = {}): Promise<Record<string, string>> {
    const dir = path.join(base, label);
    const r = spawnSync(path.join(root, 'test/e2e/kill-engine.sh'), [paths.criu, paths.libdir ?? '', workload('many'), dir, sig, when], {
      encoding: 'utf8',
      timeout: 120000,
      env: { ...process.env, ...env },
    });
    const kv = keyValues(r.stdout);
    const pid = Number(kv.pid);
    pids.push(pid);
    const log = path.join(dir, 'img', 'dump.log');
    const tail = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter((l) => /Error|Warn|crib/.test(l)).slice(-12).join('\n') : '');
    assert.ok(kv.killed, `${label}: the engine was not signalled at '${when}': ${r.stderr}\n${tail()}`);
    assert.equal(kv.criu_maps, '0', `${label}: CRIU's mappings are left in the target:\n${tail()}`);
    assert.equal(kv.tracer, '0', `${label}: the target is still traced`);
    assert.ok(!['T', 't'].includes(kv.state), `${label}: the target is left stopped (${kv.state})`);
    assert.equal(kv.engine_left, 'no', `${label}: the engine outlived the dump`);
    assert.ok(alive(pid), `${label}: the target is gone`);
    if (kv.dump === '0') {
      // CRIU said it wrote an image: it must restore
      process.kill(pid, 'SIGKILL');
      await waitPidGone(pid);
      restore({ criu: paths.criu, dir: path.join(dir, 'img'), libdir: paths.libdir });
      assert.ok(alive(pid), `${label}: the restored task is not running`);
      process.kill(pid, 'SIGKILL');
      await waitPidGone(pid);
    }
    return kv;
  }

  // compel's wait4(-1, __WALL) used to reap the engine's helper when the
  // engine died, fail before curing, and leave the parasite's memfd mapped
  // past the snapshot, an op asked task by task (fdtype: many has an eventfd) finds the engine gone: procfs serves it
  it('the engine killed after prepare: no parasite left, and the dump goes on from the snapshot and procfs', async () => {
    for (let i = 0; i < 3; i++) {
      const kv = await fault(`kill-prepared-${i}`, 'KILL', 'prepared');
      assert.equal(kv.dump, '0', 'the snapshot was complete: the dump should go on');
    }
  });

  it('the engine killed as the tasks are seized: the dump fails cleanly', async () => {
    await fault('kill-ready', 'KILL', 'ready');
  });

  // the co-process verifies its ~25 BPF objects before its hello (about 2 s on this VM, more than 5 s on a
  // loaded one): the bound must leave room for that, or the hello itself times out and the engine is never
  // 'ready' to stall
  it('the engine stalled (SIGSTOP): the dump ends within CRIB_TIMEOUT_MS, the engine is killed', async () => {
    await fault('stop-ready', 'STOP', 'ready', { CRIB_TIMEOUT_MS: '10000' });
    await fault('stop-prepared', 'STOP', 'prepared', { CRIB_TIMEOUT_MS: '10000' });
  });
});
