// crib demo: checkpoint a live workload with --engine=crib, restore it with
// plain `criu restore` and with stock CRIU, show that it went on, then
// print the A/B table for a workload with many VMAs and fds.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CribError } from '../errors';
import { loadCriuProtos } from '../images/reader';
import { imageDir, readEngineStats } from '../criu/images';
import { dump, restore, sleep, startWorkload, waitFor, waitPidGone } from '../criu/run';
import { findPaths, mustExist, Paths } from '../paths';
import { formatAb, runAb } from './ab';

function counterValue(file: string): number {
  const s = fs.readFileSync(file, 'utf8').trim();
  return s ? Number(s) : 0;
}

export async function runDemo(log: (s: string) => void, paths: Paths = findPaths()): Promise<void> {
  const counter = mustExist(path.join(paths.workloads, 'counter'), 'counter workload');
  const many = mustExist(path.join(paths.workloads, 'many'), 'many workload');
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'crib-demo-'));
  const out = path.join(base, 'counter.txt');
  const img = path.join(base, 'img');
  const w = startWorkload(counter, [out]);
  log(`demo: counter workload running as pid ${w.pid}, writing ${out}`);
  try {
    await waitFor(() => fs.existsSync(out) && counterValue(out) >= 5, 'the counter to start');

    log(`demo: criu dump --engine=crib -t ${w.pid} -D ${img}`);
    const d = dump({ criu: paths.criu, pid: w.pid, dir: img, engine: 'crib', libdir: paths.libdir });
    const atDump = counterValue(out);
    await w.exited;
    await waitPidGone(w.pid);
    const stats = readEngineStats(imageDir(loadCriuProtos(paths.criuImages), img));
    const served = stats.ops.filter((o) => o.engine === 'crib');
    log(`demo: dumped in ${d.ms.toFixed(1)} ms; ops served by crib: ${served.map((o) => `${o.op}(${o.calls})`).join(' ')}; fallbacks: ${stats.ops.reduce((n, o) => n + o.fallbacks, 0)}`);

    for (const [name, criu] of [
      ['criu', paths.criu],
      ['criu-stock', paths.criuStock],
    ] as const) {
      log(`demo: ${name} restore -D ${img}`);
      restore({ criu, dir: img });
      const before = counterValue(out);
      await sleep(500);
      const after = counterValue(out);
      if (after <= before || before < atDump) {
        throw new CribError('EDEMO', `demo: restored counter did not go on (dump ${atDump}, after restore ${before} -> ${after})`);
      }
      log(`demo: restored by ${name}: counter ${atDump} at dump, ${after} now: it went on`);
      process.kill(w.pid, 'SIGKILL');
      await waitPidGone(w.pid);
      // the restored process rewrote the file; put back the size CRIU recorded
      fs.writeFileSync(out, `${String(atDump).padStart(19, '0')}\n`);
    }
  } finally {
    await w.kill();
  }

  log('demo: A/B run: many -v 2000 -f 2000, stock CRIU (procfs) vs --engine=crib');
  const r = await runAb({ command: [many, '-v', '2000', '-f', '2000'], json: false, freeze: true, settleMs: 1000, log });
  log(formatAb(r));
  fs.rmSync(base, { recursive: true, force: true });
  if (r.differences.length) throw new CribError('EDEMO', `demo: ${r.differences.length} image difference(s) between procfs and crib`);
}
