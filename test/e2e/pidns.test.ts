// CRIU in a child pid namespace, as ZDTM and containers run it: every pid
// the engine takes and gives is a number of that namespace.  The workload
// there is pid 2, which in the init namespace is another task (kthreadd):
// an engine that looked pids up in the init namespace would read that one.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { imageDir, readEngineStats } from '../../engine-ts/src/criu/images';
import { loadCriuProtos } from '../../engine-ts/src/images/reader';
import { keyValues, paths, root, tmpdir, workload } from '../helpers';
import { readRegistry } from '../../engine-ts/src/engine/ops';
import { runCheck } from '../../engine-ts/src/cli/check';

// every op of the registry but inotify and fanotify: the counter here watches no file (in a qemu
// guest of make test-kernels its files are on a tmpfs, whose handles only an fdinfo read makes
// usable: a fallback); the e2e dumps of test/e2e/dump-restore.test.ts have a watch
const OPS = readRegistry().map((e) => e.name).filter((op) => op !== 'inotify' && op !== 'fanotify');

/**
 * Runs test/e2e/pidns.sh in a new pid namespace (and mount, for its /proc;
 * and net, whose loopback it brings up for CRIU's feature probe, since a
 * qemu guest of make test-kernels has none); its key=value lines.
 */
function inPidNs(dir: string, criuOpts: string[]): Record<string, string> {
  const r = spawnSync(
    'unshare',
    ['--pid', '--fork', '--mount-proc', '--net', path.join(root, 'test/e2e/pidns.sh'), paths.criu, paths.libdir ?? '', workload('counter'), dir, ...criuOpts],
    { encoding: 'utf8', timeout: 60000 },
  );
  assert.equal(r.status, 0, `pidns.sh: ${r.error ?? ''}${r.stderr}`);
  return keyValues(r.stdout);
}

/** The last lines of a log of the run that say Error or crib, or (@about) name that op */
function log(dir: string, name: string, about?: string): string {
  const f = path.join(dir, 'img', name);
  const want = about ? (l: string) => l.includes(about) && !/engine: op /.test(l) : (l: string) => /Error|crib/.test(l);
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(want).slice(-15).join('\n') : '(no log)';
}

describe('e2e: CRIU in a child pid namespace dumps with --engine=crib', function () {
  this.timeout(120000);
  const images = loadCriuProtos(paths.criuImages);
  let base: string;

  before(() => {
    base = tmpdir('pidns');
  });
  after(() => fs.rmSync(base, { recursive: true, force: true }));

  it('reads the namespace\'s pid 2, not the init namespace\'s, and the image restores', () => {
    const dir = path.join(base, 'verify');
    fs.mkdirSync(dir);
    const r = inPidNs(dir, ['--engine=crib', '--engine-verify']);
    const vpid = Number(r.vpid);
    // the same number names another task in the init namespace
    const host = fs.readFileSync(`/proc/${vpid}/comm`, 'utf8').trim();
    assert.notEqual(host, 'counter', `pid ${vpid} of the init namespace should be another task`);
    assert.equal(r.dump, '0', `dump failed:\n${log(dir, 'dump.log')}`);

    // an op crib check says this kernel cannot serve (mountinfo on 6.1, which has no tree of mounts)
    // is left to procfs: the hello declines it, CRIU asks once and falls back; every other op is crib's
    const declined = new Map(runCheck().ops.filter((o) => !o.available).map((o) => [o.op, o.reason ?? '']));
    const st = readEngineStats(imageDir(images, path.join(dir, 'img')));
    for (const op of OPS) {
      const s = st.ops.find((o) => o.op === op);
      assert.ok(s, `stats-dump has no entry for op ${op}`);
      if (declined.has(op)) {
        console.log(`      (op ${op}: not served on this kernel: ${declined.get(op)})`);
        continue;
      }
      assert.equal(s.engine, 'crib', `op ${op} was served by ${s.engine}`);
      assert.equal(s.fallbacks, 0, `op ${op} fell back ${s.fallbacks} time(s):\n${log(dir, 'dump.log', op)}`);
      assert.ok(s.verifyCalls > 0, `op ${op} was not verified`);
      assert.equal(s.verifyMismatches, 0, `op ${op}: crib and procfs disagree:\n${log(dir, 'dump.log')}`);
    }

    assert.equal(r.restore, '0', `restore failed:\n${log(dir, 'restore.log')}`);
    assert.equal(r.restored_comm, 'counter');
    assert.ok(Number(r.after) > Number(r.before), `the restored counter did not go on: ${r.before} -> ${r.after}`);
  });
});
