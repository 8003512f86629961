// End to end on the live kernel: real CRIU, real BPF, real processes.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { loadCriuProtos } from '../../engine-ts/src/images/reader';
import { readRegistry } from '../../engine-ts/src/engine/ops';
import { imageDir, readEngineStats } from '../../engine-ts/src/criu/images';
import { dump, restore, runCriu, sleep, startWorkload, waitFor, waitPidGone, Workload } from '../../engine-ts/src/criu/run';
import { imagesIn, paths, tmpdir, workload } from '../helpers';

function counter(file: string): number {
  return Number(fs.readFileSync(file, 'utf8').trim() || '0');
}

// every op of the registry
const SERVED = readRegistry().map((e) => e.name);

describe('e2e: criu dump --engine=crib, restore with plain criu and stock criu', function () {
  this.timeout(180000);
  const root = loadCriuProtos(paths.criuImages);
  let base: string;
  let w: Workload | undefined;
  const restored: number[] = [];

  before(() => {
    base = tmpdir('e2e');
  });
  after(async () => {
    if (w) await w.kill();
    for (const pid of restored) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('dumps a live workload with the crib engine and restores it; it goes on', async () => {
    const out = path.join(base, 'counter.txt');
    const img = path.join(base, 'img');
    // an inotify watch and a fanotify mark too (ops inotify, fanotify), on a file CRIU can open by its
    // handle: the workload itself, in the build tree
    w = startWorkload(workload('counter'), [out, workload('counter')]);
    await waitFor(() => fs.existsSync(out) && counter(out) >= 3, 'the counter to start');

    dump({ criu: paths.criu, pid: w.pid, dir: img, engine: 'crib', libdir: paths.libdir });
    const atDump = counter(out);
    await w.exited;
    await waitPidGone(w.pid);

    // every op was served by crib, none fell back
    const st = readEngineStats(imageDir(root, img));
    for (const op of SERVED) {
      const s = st.ops.find((o) => o.op === op);
      assert.ok(s, `stats-dump has no entry for op ${op}`);
      assert.equal(s.engine, 'crib', `op ${op} was served by ${s.engine}`);
      assert.ok(s.calls > 0, `op ${op} was never called`);
      assert.equal(s.fallbacks, 0, `op ${op} fell back ${s.fallbacks} time(s)`);
    }

    // stock CRIU gets crib.so in its plugin dir too: it must load it as an inert plugin
    for (const criu of [paths.criu, paths.criuStock]) {
      restore({ criu, dir: img, libdir: paths.libdir });
      restored.push(w.pid);
      const before = counter(out);
      await sleep(400);
      const now = counter(out);
      assert.ok(before >= atDump, `restored counter ${before} is behind the dump (${atDump})`);
      assert.ok(now > before, `restored workload (${path.basename(criu)}) did not go on: ${before} -> ${now}`);
      process.kill(w.pid, 'SIGKILL');
      await waitPidGone(w.pid);
      fs.writeFileSync(out, `${String(atDump).padStart(19, '0')}\n`);
    }
  });

  it('--engine-verify: crib and procfs agree on every op of a live workload', async () => {
    const img = path.join(base, 'verify');
    const v = startWorkload(workload('many'), ['-v', '300', '-f', '200', '-b', '-r', path.join(base, 'ready'), '-i', workload('many')]);
    try {
      await waitFor(() => fs.existsSync(path.join(base, 'ready')), 'the workload to set up');
      // -b: a comm and a VMA name that are not UTF-8 must come through byte for byte
      assert.ok(fs.readFileSync(`/proc/${v.pid}/comm`).includes(Buffer.from([0x80, 0xff])), 'comm was not set');
      dump({ criu: paths.criu, pid: v.pid, dir: img, engine: 'crib', verify: true, leaveRunning: true, libdir: paths.libdir });
      const st = readEngineStats(imageDir(root, img));
      for (const op of SERVED) {
        const s = st.ops.find((o) => o.op === op);
        assert.ok(s, `stats-dump has no entry for op ${op}`);
        assert.equal(s.engine, 'crib');
        assert.equal(s.fallbacks, 0, `op ${op} fell back`);
        assert.equal(s.verifyMismatches, 0, `op ${op}: ${s.verifyMismatches} mismatch(es) between crib and procfs; see ${img}/dump.log`);
        assert.ok(s.verifyProcfsNs > 0, `op ${op}: no procfs time recorded in verify mode`);
      }
      // fdinfo: the engine was asked once for the task's fds, and each fd was checked
      const fdinfo = st.ops.find((o) => o.op === 'fdinfo')!;
      assert.equal(fdinfo.calls, 1, 'fdinfo: one engine call for the whole task');
      assert.ok(fdinfo.verifyCalls >= 200, `fdinfo: ${fdinfo.verifyCalls} fds checked against procfs, expected >= 200`);
    } finally {
      await v.kill();
    }
  });

  it('rejects an unknown engine or op before writing any image', async () => {
    const v = startWorkload(workload('counter'), [path.join(base, 'c2.txt')]);
    try {
      await sleep(200);
      for (const [flag, val] of [
        ['--engine', 'nosuch'],
        ['--engine-op', 'bogus=crib'],
        ['--engine-op', 'vma=nosuch'],
        ['--engine-op', 'vma'],
        ['--engine-op', ''],
        ['--engine-op', 'vma=crib,,fds=crib'],
        ['--engine-op', 'vma=crib,'],
        ['--engine-op', 'vma=crib,vma=procfs'],
      ]) {
        const dir = path.join(base, `bad-${val.replace(/[^a-z,=]/g, '').replace(/[,=]/g, '_') || 'empty'}`);
        fs.mkdirSync(dir, { recursive: true });
        const args = ['dump', '-t', String(v.pid), '-D', dir, '-o', 'dump.log', '-L', paths.libdir ?? '', flag, val];
        const r = runCriu(paths.criu, args);
        assert.notEqual(r.status, 0, `${flag} '${val}' was accepted`);
        assert.deepEqual(imagesIn(dir), [], `${flag} ${val}: images were written: ${imagesIn(dir).join(' ')}`);
        const log = fs.existsSync(path.join(dir, 'dump.log')) ? fs.readFileSync(path.join(dir, 'dump.log'), 'utf8') : '';
        assert.match(r.stderr + log, /engine/i, `${flag} '${val}': the error does not mention the engine`);
      }
      assert.ok(fs.existsSync(`/proc/${v.pid}`), 'the workload did not survive the refused dumps');
    } finally {
      await v.kill();
    }
  });
});
