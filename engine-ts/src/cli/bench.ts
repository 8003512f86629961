// crib bench: figures, not a pass/fail test.  Per-op times of procfs and
// crib from one --engine-verify dump (same task, same instant) of a
// workload with 10,000 VMAs and 10,000 fds, and whole-dump times of a small
// and a large workload with each engine, engine start-up included.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadCriuProtos } from '../images/reader';
import { imageDir, readEngineStats, EngineOpStat } from '../criu/images';
import { dump, sleep, startWorkload, waitFor } from '../criu/run';
import { findPaths, mustExist, Paths } from '../paths';

export interface BenchOptions {
  vmas: number;
  fds: number;
  runs: number;
  /** --engine-verify dumps for the per-op figures */
  verifyRuns: number;
  json: boolean;
  log: (s: string) => void;
}

interface DumpFigure {
  workload: string;
  engine: string;
  ms: number[];
  median: number;
}

export interface BenchResult {
  vmas: number;
  fds: number;
  /** calls: engine calls; checked: reads compared with procfs (fdinfo: one call per task, one check per fd) */
  ops: { op: string; calls: number; checked: number; procfs_ns: number; crib_ns: number; ratio: number }[];
  targets: { what: string; ratio: number; target: number; met: boolean; runs: number[] }[];
  dumps: DumpFigure[];
  engine_init_ms: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function startMany(paths: Paths, base: string, vmas: number, fds: number): Promise<ReturnType<typeof startWorkload>> {
  const ready = path.join(base, `ready-${vmas}-${fds}`);
  fs.rmSync(ready, { force: true });
  const w = startWorkload(mustExist(path.join(paths.workloads, 'many'), 'many workload'), ['-v', String(vmas), '-f', String(fds), '-r', ready]);
  await waitFor(() => fs.existsSync(ready), `workload ${w.pid} to set up ${vmas} VMAs and ${fds} fds`, 60000);
  return w;
}

export async function runBench(o: BenchOptions, paths: Paths = findPaths()): Promise<BenchResult> {
  const root = loadCriuProtos(paths.criuImages);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'crib-bench-'));
  const res: BenchResult = { vmas: o.vmas, fds: o.fds, ops: [], targets: [], dumps: [], engine_init_ms: 0 };
  try {
    // 1. per-op, same task, same instant
    const big = await startMany(paths, base, o.vmas, o.fds);
    try {
      // one sample is at the mercy of the scheduler on a 2-core machine: take several, report medians
      const samples: EngineOpStat[][] = [];
      for (let i = 0; i < o.verifyRuns; i++) {
        o.log(`bench: pid ${big.pid}: ${o.vmas} VMAs, ${o.fds} fds: --engine=crib --engine-verify dump ${i + 1}/${o.verifyRuns}`);
        const dir = path.join(base, `verify-${i}`);
        dump({ criu: paths.criu, pid: big.pid, dir, engine: 'crib', verify: true, leaveRunning: true, libdir: paths.libdir });
        const st = readEngineStats(imageDir(root, dir));
        res.engine_init_ms = Math.max(res.engine_init_ms, st.initNs / 1e6);
        samples.push(st.ops.filter((x: EngineOpStat) => x.engine !== 'procfs'));
        fs.rmSync(dir, { recursive: true, force: true });
      }
      for (const s of samples[0] ?? []) {
        const of = (k: 'verifyProcfsNs' | 'timeNs'): number => median(samples.map((run) => run.find((x) => x.op === s.op)?.[k] ?? 0));
        const procfs = of('verifyProcfsNs');
        const crib = of('timeNs');
        res.ops.push({ op: s.op, calls: s.calls, checked: s.verifyCalls, procfs_ns: procfs, crib_ns: crib, ratio: crib ? procfs / crib : 0 });
      }
      // each target: the ratio within each dump (same task, same instant), then their median
      const ratioIn = (run: EngineOpStat[], names: string[]): number => {
        const pick = run.filter((x) => names.includes(x.op));
        const crib = pick.reduce((n, x) => n + x.timeNs, 0);
        return crib ? pick.reduce((n, x) => n + x.verifyProcfsNs, 0) / crib : 0;
      };
      for (const [what, names, target] of [
        ['vma', ['vma'], 8],
        ['fds+fdinfo', ['fds', 'fdinfo'], 30],
      ] as const) {
        const rs = samples.map((run) => ratioIn(run, [...names]));
        const r = median(rs);
        res.targets.push({ what, ratio: r, target, met: r >= target, runs: rs });
      }

      // 2. whole dumps of the large workload, each engine
      for (let i = 0; i < o.runs; i++) {
        for (const engine of ['procfs', 'crib']) {
          const d = dump({ criu: paths.criu, pid: big.pid, dir: path.join(base, `big-${engine}-${i}`), engine, leaveRunning: true, libdir: paths.libdir });
          push(res, `many -v ${o.vmas} -f ${o.fds}`, engine, d.ms);
          fs.rmSync(path.join(base, `big-${engine}-${i}`), { recursive: true, force: true });
        }
      }
    } finally {
      await big.kill();
    }

    // 3. whole dumps of a small workload
    const small = startWorkload(mustExist(path.join(paths.workloads, 'counter'), 'counter workload'), [path.join(base, 'counter.txt')]);
    try {
      await sleep(300);
      for (let i = 0; i < o.runs; i++) {
        for (const engine of ['procfs', 'crib']) {
          const dir = path.join(base, `small-${engine}-${i}`);
          const d = dump({ criu: paths.criu, pid: small.pid, dir, engine, leaveRunning: true, libdir: paths.libdir });
          push(res, 'counter', engine, d.ms);
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
    } finally {
      await small.kill();
    }
    return res;
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

function push(res: BenchResult, workload: string, engine: string, ms: number): void {
  let f = res.dumps.find((d) => d.workload === workload && d.engine === engine);
  if (!f) {
    f = { workload, engine, ms: [], median: 0 };
    res.dumps.push(f);
  }
  f.ms.push(ms);
  f.median = median(f.ms);
}

export function formatBench(r: BenchResult): string {
  const l: string[] = [];
  l.push(`per-op times, medians of ${r.targets[0]?.runs.length ?? 0} --engine-verify dumps of ${r.vmas} VMAs and ${r.fds} fds (each: same task, same instant):`);
  l.push(`  ${'op'.padEnd(9)} ${'calls'.padStart(6)} ${'checked'.padStart(8)} ${'procfs ms'.padStart(10)} ${'crib ms'.padStart(9)} ${'ratio'.padStart(8)}`);
  for (const o of r.ops) {
    l.push(`  ${o.op.padEnd(9)} ${String(o.calls).padStart(6)} ${String(o.checked).padStart(8)} ${(o.procfs_ns / 1e6).toFixed(3).padStart(10)} ${(o.crib_ns / 1e6).toFixed(3).padStart(9)} ${`${o.ratio.toFixed(1)}x`.padStart(8)}`);
  }
  l.push('  (calls: calls of the crib engine; checked: reads compared with procfs. fdinfo is asked once per task for all its fds.)');
  l.push('targets:');
  for (const t of r.targets) {
    l.push(`  ${t.what.padEnd(11)} ${t.ratio.toFixed(1)}x median (target >= ${t.target}x): ${t.met ? 'met' : 'NOT met'}; each dump: ${t.runs.map((x) => x.toFixed(1)).join(' ')}`);
  }
  l.push(`engine start-up (in the crib dump): ${r.engine_init_ms.toFixed(1)} ms`);
  l.push('whole dump, median of runs (ms), engine start-up included:');
  for (const d of r.dumps) l.push(`  ${d.workload.padEnd(24)} ${d.engine.padEnd(7)} ${d.median.toFixed(1).padStart(8)}   runs: ${d.ms.map((x) => x.toFixed(1)).join(' ')}`);
  return l.join('\n');
}
