// crib ab on a real workload: both engines, per-op figures, no differences.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { waitPidGone } from '../../engine-ts/src/criu/run';
import { crib, tmpdir, workload } from '../helpers';
import { readRegistry } from '../../engine-ts/src/engine/ops';

describe('e2e: crib ab', function () {
  this.timeout(300000);

  it('dumps a workload through procfs and crib and finds no differences (--json)', () => {
    // -i: an inotify watch and a fanotify mark (ops inotify, fanotify) on a file CRIU can open by its handle
    const r = crib(['ab', '--json', '--settle', '800', '--', workload('many'), '-v', '500', '-f', '300', '-i', workload('many')]);
    assert.equal(r.status, 0, `crib ab exited ${r.status}: ${r.stderr}${r.stdout}`);
    const j = JSON.parse(r.stdout) as {
      ops: { op: string; calls: number; procfs_ns: number; crib_ns: number; fallbacks: number; mismatches: number }[];
      differences: unknown[];
      dump_ms: { procfs: number; crib: number };
    };
    assert.deepEqual(j.differences, []);
    for (const op of readRegistry().map((e) => e.name)) {
      const o = j.ops.find((x) => x.op === op);
      assert.ok(o, `no figures for op ${op}`);
      assert.ok(o.calls > 0 && o.procfs_ns > 0 && o.crib_ns > 0, `op ${op}: ${JSON.stringify(o)}`);
      assert.equal(o.fallbacks, 0);
      assert.equal(o.mismatches, 0);
    }
    assert.ok(j.dump_ms.procfs > 0 && j.dump_ms.crib > 0);
  });

  it('dumps a tree the command starts and leaves none of it running', async () => {
    const dir = tmpdir('ab-tree');
    const kid = path.join(dir, 'kid');
    try {
      const r = crib(['ab', '--json', '--', 'sh', '-c', `sleep 1000 & echo $! > ${kid}; exec ${workload('many')} -v 50 -f 20`]);
      assert.equal(r.status, 0, `crib ab exited ${r.status}: ${r.stderr}${r.stdout}`);
      assert.deepEqual((JSON.parse(r.stdout) as { differences: unknown[] }).differences, []);
      const pid = Number(fs.readFileSync(kid, 'utf8'));
      assert.ok(pid > 0);
      await waitPidGone(pid, 5000);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad usage with exit 2 and says why', () => {
    const none = crib(['ab']);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /--pid PID or -- COMMAND/);
    const bad = crib(['ab', '--pid', 'x']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--pid needs a non-negative integer/);
    const gone = crib(['ab', '--pid', '999999999']);
    assert.equal(gone.status, 2);
    assert.match(gone.stderr, /no such process/);
    const unknown = crib(['check', '--frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /crib check: unknown option '--frobnicate'/);
  });

  it('prints its help for COMMAND --help, but not for a workload\'s own --help', () => {
    for (const argv of [['ab', '--help'], ['bench', '-h'], ['help']]) {
      const r = crib(argv);
      assert.equal(r.status, 0, `crib ${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /usage: crib COMMAND/);
    }
    const r = crib(['ab', '--pid', 'x', '--', 'true', '--help']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--pid needs a non-negative integer/);
  });
});
