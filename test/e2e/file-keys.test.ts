// fdmeta's file keys in CRIU: the fd ids of a dump come from the engine's
// keys instead of kcmp(), and must be the ids kcmp() gives.  A tree of
// tasks shares hundreds of files that only kcmp() tells apart (/dev/null
// opened many times, eventfds, epoll targets: test/workloads/files.c).
// Each dump is compared with a procfs dump of the same frozen tree in
// every fd table and file entry (compareDumps, as crib ab does).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { loadCriuProtos } from '../../engine-ts/src/images/reader';
import { compareDumps, imageDir, readEngineStats } from '../../engine-ts/src/criu/images';
import { dump, dumpArgs, DumpOptions, restore, runCriu, startWorkload, waitFor, Workload } from '../../engine-ts/src/criu/run';
import { paths, tmpdir, workload } from '../helpers';

const TREE_LOG = 'go into the kcmp() tree';

describe('e2e: file keys (fdmeta) give CRIU the fd ids kcmp() gives', function () {
  this.timeout(180000);
  const root = loadCriuProtos(paths.criuImages);
  let base: string;
  let w: Workload;
  let pids: number[] = [];

  function children(pid: number): number[] {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  }

  function freeze(sig: 'SIGSTOP' | 'SIGCONT'): void {
    for (const p of pids) process.kill(p, sig);
  }

  function dumpTo(name: string, o: Partial<DumpOptions>, env?: NodeJS.ProcessEnv): string {
    const dir = path.join(base, name);
    const opts: DumpOptions = { criu: paths.criu, pid: w.pid, dir, leaveRunning: true, libdir: paths.libdir, ...o };
    if (!env) {
      dump(opts);
    } else {
      fs.mkdirSync(dir, { recursive: true });
      const r = runCriu(paths.criu, dumpArgs(opts), { ...process.env, ...env });
      assert.equal(r.status, 0, `criu dump (${name}) failed: see ${dir}/dump.log`);
    }
    return dir;
  }

  function log(dir: string): string {
    return fs.readFileSync(path.join(dir, 'dump.log'), 'utf8');
  }

  function fdmetaStats(dir: string) {
    const s = readEngineStats(imageDir(root, dir)).ops.find((o) => o.op === 'fdmeta');
    assert.ok(s, `${dir}: no fdmeta in stats-dump`);
    assert.equal(s.engine, 'crib', `${dir}: fdmeta served by ${s.engine}`);
    assert.equal(s.fallbacks, 0, `${dir}: fdmeta fell back ${s.fallbacks} time(s)`);
    return s;
  }

  before(async () => {
    base = tmpdir('file-keys');
    const ready = path.join(base, 'ready');
    w = startWorkload(workload('files'), ['-n', '240', '-c', '3', '-r', ready]);
    await waitFor(() => fs.existsSync(ready) && fs.readFileSync(ready, 'utf8').endsWith('\n'), 'the files workload to set up');
    pids = [w.pid, ...children(w.pid)];
    assert.equal(pids.length, 4, 'the workload and its 3 children');
    // stopped across the dumps: every dump sees the same tree
    freeze('SIGSTOP');
  });
  after(async () => {
    if (w) await w.kill();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('a dump with file keys writes the fd tables and files of a procfs dump, with no kcmp() tree', () => {
    const procfs = dumpTo('procfs', { engine: 'procfs' });
    const crib = dumpTo('crib', { engine: 'crib' });
    const diffs = compareDumps(imageDir(root, procfs), imageDir(root, crib));
    assert.deepEqual(diffs.slice(0, 5), [], `${diffs.length} difference(s) between the procfs and the crib dump`);
    fdmetaStats(crib);
    // every fd had a key of the one read of prepare(); epoll's targets put only their gen ids in the tree
    assert.ok(!log(crib).includes(TREE_LOG), `the crib dump fell back to kcmp() for every file: ${crib}/dump.log`);
  });

  it('--engine-verify: every key agrees with kcmp()', () => {
    const dir = dumpTo('verify', { engine: 'crib', verify: true });
    const s = fdmetaStats(dir);
    assert.equal(s.verifyMismatches, 0, `${s.verifyMismatches} mismatch(es): see ${dir}/dump.log`);
    // the parent's ~480 fds and each child's: a link or a key checked per fd at least
    assert.ok(s.verifyCalls >= 4 * 240, `fdmeta: ${s.verifyCalls} verify calls`);
  });

  it('keys of several reads (fdmeta read task by task) are not mixed: kcmp() decides, the same images', () => {
    const procfs = path.join(base, 'procfs');
    // the co-process, which gets CRIU's environment
    const dir = dumpTo('per-task', { engine: 'crib' }, { CRIB_PER_TASK: 'fdmeta', CRIB_SOCKET: path.join(base, 'no-service.sock') });
    fdmetaStats(dir);
    assert.ok(log(dir).includes('a file key of another read'), `the keys of the second task's read were used: ${dir}/dump.log`);
    const diffs = compareDumps(imageDir(root, procfs), imageDir(root, dir));
    assert.deepEqual(diffs.slice(0, 5), [], `${diffs.length} difference(s) between the procfs and the per-task crib dump`);
  });

  it('the crib dump restores with stock CRIU, every task with its files', async () => {
    const dir = path.join(base, 'crib');
    const want = pids.map((p) => fs.readdirSync(`/proc/${p}/fd`).length);
    await w.kill();
    for (const p of pids.slice(1)) await waitFor(() => !fs.existsSync(`/proc/${p}`), `child ${p} to go`);
    restore({ criu: paths.criuStock, dir, libdir: paths.libdir });
    try {
      const got = pids.map((p) => fs.readdirSync(`/proc/${p}/fd`).length);
      assert.deepEqual(got, want, 'open fds per task after restore');
    } finally {
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
});
