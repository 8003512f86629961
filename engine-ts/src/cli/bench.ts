// crib bench: figures, not a pass/fail test.
//
// 1. Per-op times of procfs and crib from --engine-verify dumps (same task,
//    same instant): 10,000 private anonymous VMAs + 10,000 fds, and
//    10,000 shared anonymous and 10,000 file-backed mappings.
// 2. Whole dumps and frozen time (stats-dump frozen_time), side by side in
//    one run: stock CRIU, the patched CRIU with the crib co-process, and
//    with the crib service (crib serve, started here on a socket of its
//    own), on a small process, a shell with 50 children, a 1,000-task tree
//    and 10,000 VMAs + 10,000 fds.
// 3. The service: plugin connect to first answer (from the dump logs) and
//    crib serve exec to ready.
// 5. The tree pass of each folder op over a 1,000-task tree, in this
//    process: records through the mmapped map tree_out against the ring
//    buffer tree_rb (bpf/README.md keeps the comparison).
// 4. /proc lookups per dump (strace of CRIU's process: file-name syscalls
//    whose path is under /proc), stock CRIU against crib through the
//    service, on the 51-task shell tree and 10,000 VMAs + 10,000 fds.
// The same figures go to --out as bench.json and bench.svg.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { loadCriuProtos } from '../images/reader';
import { imageDir, readEngineStats, EngineOpStat } from '../criu/images';
import { dumpArgs, runCriu, Service, sleep, startService, startWorkload, waitFor, Workload } from '../criu/run';
import { findPaths, mustExist, Paths, repoRoot } from '../paths';
import { cgroupNsOf, rootOf } from '../bpf/pidns';

export interface BenchOptions {
  vmas: number;
  fds: number;
  /** whole dumps per workload and mode */
  runs: number;
  /** --engine-verify dumps for the per-op figures */
  verifyRuns: number;
  json: boolean;
  /** where bench.json and bench.svg go */
  out: string;
  log: (s: string) => void;
}

export const MODES = ['stock', 'co-process', 'service'] as const;
type Mode = (typeof MODES)[number];

interface OpFigure {
  workload: string;
  op: string;
  calls: number;
  checked: number;
  procfs_ns: number;
  crib_ns: number;
  ratio: number;
}

interface Target {
  what: string;
  value: number;
  unit: 'x' | 'ms';
  /** 'min': value >= target; 'max': value <= target */
  kind: 'min' | 'max';
  target: number;
  met: boolean;
  runs?: number[];
}

export interface WorkloadFigure {
  workload: string;
  tasks: number;
  /** per mode: whole dump ms and frozen ms, each run, and medians */
  modes: Record<Mode, { dump_ms: number[]; frozen_ms: number[]; dump_median: number; frozen_median: number }>;
}

export interface LookupFigure {
  workload: string;
  stock: number;
  crib: number;
  /** the commonest lookups crib still makes, by kind ("openat PID/smaps" -> count) */
  crib_top: [string, number][];
}

export interface TreeReadFigure {
  op: string;
  tasks: number;
  /** medians of 21 warm runs, ms: the BPF run and the records read (raw), and with the messages encoded */
  map_ms: number;
  ringbuf_ms: number;
  map_encoded_ms: number;
  ringbuf_encoded_ms: number;
}

/** The pass of every per-task op (bpf/pertask.bpf.c, taskfs's too) against the passes of those that have their own, one after the other; medians of 21 warm runs, ms */
export interface PertaskFigure {
  ops: string[];
  tasks: number;
  own_passes_ms: number;
  pertask_ms: number;
}

export interface BenchResult {
  date: string;
  kernel: string;
  cpus: number;
  vmas: number;
  fds: number;
  ops: OpFigure[];
  workloads: WorkloadFigure[];
  lookups: LookupFigure[];
  tree_reads: TreeReadFigure[];
  pertask?: PertaskFigure;
  service: { connect_to_answer_ms: number[]; exec_to_ready_ms: number[]; ready_parts: string };
  targets: Target[];
  notes: string[];
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Spec {
  name: string;
  tasks: number;
  start: () => Promise<Workload>;
}

/** A shell that starts @n children that sleep, and waits. */
function shellTree(base: string, n: number): () => Promise<Workload> {
  return async () => {
    const ready = path.join(base, `tree-${n}.ready`);
    fs.rmSync(ready, { force: true });
    const w = startWorkload('/bin/sh', ['-c', `i=0; while [ $i -lt ${n} ]; do sleep 100000 & i=$((i+1)); done; echo ok > ${ready}; wait`]);
    await waitFor(() => fs.existsSync(ready), `a shell to start ${n} children`, 120000);
    await sleep(200);
    return w;
  };
}

function many(paths: Paths, base: string, args: string[]): () => Promise<Workload> {
  return async () => {
    const ready = path.join(base, `many-${args.join('_')}.ready`);
    fs.rmSync(ready, { force: true });
    const w = startWorkload(mustExist(path.join(paths.workloads, 'many'), 'many workload'), [...args, '-r', ready]);
    await waitFor(() => fs.existsSync(ready), `many ${args.join(' ')} to set up`, 120000);
    return w;
  };
}

function counter(paths: Paths, base: string): () => Promise<Workload> {
  return async () => {
    const out = path.join(base, 'counter.txt');
    const w = startWorkload(mustExist(path.join(paths.workloads, 'counter'), 'counter workload'), [out]);
    await waitFor(() => fs.existsSync(out) && fs.statSync(out).size > 0, 'the counter to count');
    return w;
  };
}

class Bench {
  private readonly root: protobuf.Root;
  private n = 0;

  constructor(
    private readonly o: BenchOptions,
    private readonly paths: Paths,
    private readonly base: string,
    private readonly socket: string,
  ) {
    this.root = loadCriuProtos(paths.criuImages);
  }

  /** One dump with --leave-running; its time, its stats, its log. */
  dump(mode: Mode, pid: number, verify = false): { ms: number; frozenMs: number; ops: EngineOpStat[]; log: string } {
    const dir = path.join(this.base, `d${this.n++}`);
    fs.mkdirSync(dir);
    const stock = mode === 'stock';
    const args = dumpArgs({ criu: '', pid, dir, engine: stock ? undefined : 'crib', verify, leaveRunning: true, libdir: stock ? undefined : this.paths.libdir });
    const env = { ...process.env, CRIB_SOCKET: mode === 'service' ? this.socket : 'none' };
    const r = runCriu(stock ? this.paths.criuStock : this.paths.criu, args, env);
    const logFile = path.join(dir, 'dump.log');
    const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
    if (r.status !== 0) throw new Error(`${mode} dump of pid ${pid} failed (${r.status}):\n${log.split('\n').slice(-15).join('\n')}`);
    const st = readEngineStats(imageDir(this.root, dir));
    fs.rmSync(dir, { recursive: true, force: true });
    return { ms: r.ms, frozenMs: st.frozenUs / 1000, ops: st.ops, log };
  }

  /**
   * /proc lookups of one dump: CRIU under strace -f -y, every file-name
   * syscall whose path, or whose directory fd, is under /proc.  The
   * service serves crib, so the engine's own work is not counted (it reads
   * no /proc file for these ops).
   */
  lookups(mode: 'stock' | 'service', pid: number): { total: number; kinds: Map<string, number> } {
    const dir = path.join(this.base, `l${this.n++}`);
    fs.mkdirSync(dir);
    const trace = path.join(dir, 'strace.txt');
    const stock = mode === 'stock';
    const args = dumpArgs({ criu: '', pid, dir, engine: stock ? undefined : 'crib', leaveRunning: true, libdir: stock ? undefined : this.paths.libdir });
    const env = { ...process.env, CRIB_SOCKET: this.socket };
    // CRIU's own process only: under -f its kernel-feature probe cannot ptrace its own child
    const r = runCriu('strace', ['-qq', '-y', '-e', 'trace=%file', '-o', trace, stock ? this.paths.criuStock : this.paths.criu, ...args], env);
    if (r.status !== 0) throw new Error(`${mode} dump of pid ${pid} under strace failed (${r.status})`);
    const kinds = new Map<string, number>();
    let total = 0;
    for (const line of fs.readFileSync(trace, 'utf8').split('\n')) {
      // openat(8</proc/1234>, "status", ...)  |  readlink("/proc/self/fd/7", ...)  |  newfstatat(7</proc/1/cgroup>, "", ..., AT_EMPTY_PATH)
      const m = /^(\w+)\((?:[\w-]+<([^>]*)>, )?"([^"]*)"/.exec(line);
      if (!m || m[3] === '') continue; // a file already open: no lookup
      const [, call, dirPath, file] = m;
      const full = file.startsWith('/') ? file : `${dirPath ?? ''}/${file}`;
      if (!full.startsWith('/proc/') && full !== '/proc') continue;
      total++;
      const kind = `${call} ${full.replace(/\/\d+/g, '/N')}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    return { total, kinds };
  }

  async lookupFigures(spec: Spec, res: BenchResult): Promise<void> {
    const w = await spec.start();
    try {
      this.o.log(`bench: ${spec.name}: /proc lookups, stock and crib`);
      this.dump('service', w.pid); // the service's session warm
      const stock = this.lookups('stock', w.pid);
      const crib = this.lookups('service', w.pid);
      const top = [...crib.kinds.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6);
      res.lookups.push({ workload: spec.name, stock: stock.total, crib: crib.total, crib_top: top });
    } finally {
      await w.kill();
    }
  }

  /** Per-op figures of --engine-verify dumps through the service. */
  async opFigures(spec: Spec, res: BenchResult): Promise<EngineOpStat[][]> {
    const w = await spec.start();
    try {
      const samples: EngineOpStat[][] = [];
      for (let i = 0; i < this.o.verifyRuns; i++) {
        this.o.log(`bench: ${spec.name}: --engine-verify dump ${i + 1}/${this.o.verifyRuns}`);
        samples.push(this.dump('service', w.pid, true).ops.filter((x) => x.engine !== 'procfs'));
      }
      for (const s of samples[0] ?? []) {
        const of = (k: 'verifyProcfsNs' | 'timeNs'): number => median(samples.map((run) => run.find((x) => x.op === s.op)?.[k] ?? 0));
        const procfs = of('verifyProcfsNs');
        const crib = of('timeNs');
        res.ops.push({ workload: spec.name, op: s.op, calls: s.calls, checked: s.verifyCalls, procfs_ns: procfs, crib_ns: crib, ratio: crib ? procfs / crib : 0 });
      }
      return samples;
    } finally {
      await w.kill();
    }
  }

  /** Whole dumps of one workload, the three modes interleaved run by run. */
  async wholeDumps(spec: Spec, res: BenchResult): Promise<void> {
    const w = await spec.start();
    const fig: WorkloadFigure = { workload: spec.name, tasks: spec.tasks, modes: {} as WorkloadFigure['modes'] };
    for (const m of MODES) fig.modes[m] = { dump_ms: [], frozen_ms: [], dump_median: 0, frozen_median: 0 };
    try {
      // one unmeasured dump per mode: page cache, dentries, the service's first session
      for (const m of MODES) this.dump(m, w.pid);
      for (let i = 0; i < this.o.runs; i++) {
        this.o.log(`bench: ${spec.name}: whole dumps, run ${i + 1}/${this.o.runs}`);
        for (const m of MODES) {
          const d = this.dump(m, w.pid);
          fig.modes[m].dump_ms.push(d.ms);
          fig.modes[m].frozen_ms.push(d.frozenMs);
          if (m === 'service') {
            const c = /ready in [\d.]+ ms: connect ([\d.]+), hello ([\d.]+)/.exec(d.log);
            if (c) res.service.connect_to_answer_ms.push(Number(c[1]) + Number(c[2]));
          }
        }
      }
    } finally {
      await w.kill();
    }
    for (const m of MODES) {
      fig.modes[m].dump_median = median(fig.modes[m].dump_ms);
      fig.modes[m].frozen_median = median(fig.modes[m].frozen_ms);
    }
    res.workloads.push(fig);
  }
}

/** crib serve exec to ready, from its own log line, @n times. */
async function execToReady(crib: string, base: string, n: number, res: BenchResult): Promise<void> {
  for (let i = 0; i < n; i++) {
    const sock = path.join(base, `ready-${i}`, 'crib.sock');
    const log = path.join(base, `ready-${i}.log`);
    const s = await startService(crib, sock, log);
    await s.stop();
    const m = /ready on .* in ([\d.]+) ms: (.*)/.exec(fs.readFileSync(log, 'utf8'));
    if (m) {
      res.service.exec_to_ready_ms.push(Number(m[1]));
      res.service.ready_parts = m[2];
    }
  }
}

function cribLauncher(): string {
  const built = path.join(repoRoot(), 'build', 'bin', 'crib');
  return process.env.CRIB_PREFIX ? path.resolve(process.env.CRIB_PREFIX, '..', '..', 'bin', 'crib') : built;
}

export function defaultOut(): string {
  return process.env.CRIB_PREFIX ? path.resolve('crib-bench') : path.join(repoRoot(), 'build', 'bench');
}

export async function runBench(o: BenchOptions, paths: Paths = findPaths()): Promise<BenchResult> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'crib-bench-'));
  fs.chmodSync(base, 0o700);
  const res: BenchResult = {
    date: new Date().toISOString(),
    kernel: os.release(),
    cpus: os.cpus().length,
    vmas: o.vmas,
    fds: o.fds,
    ops: [],
    workloads: [],
    lookups: [],
    tree_reads: [],
    service: { connect_to_answer_ms: [], exec_to_ready_ms: [], ready_parts: '' },
    targets: [],
    notes: [],
  };
  const crib = cribLauncher();
  const socket = path.join(base, 'run', 'crib.sock');
  let svc: Service | undefined;
  try {
    svc = await startService(crib, socket, path.join(base, 'serve.log'));
    const b = new Bench(o, paths, base, socket);
    const big = `${o.vmas} VMAs + ${o.fds} fds`;

    // 1. per-op
    const anon = await b.opFigures({ name: big, tasks: 1, start: many(paths, base, ['-v', String(o.vmas), '-f', String(o.fds)]) }, res);
    const shared = await b.opFigures({ name: `${o.vmas} shared anonymous`, tasks: 1, start: many(paths, base, ['-v', String(o.vmas), '-k', 'shared']) }, res);
    const file = await b.opFigures({ name: `${o.vmas} file-backed`, tasks: 1, start: many(paths, base, ['-v', String(o.vmas), '-k', 'file']) }, res);
    const tree = await b.opFigures({ name: '1,000-task tree', tasks: 1001, start: shellTree(base, 1000) }, res);
    const ratioIn = (run: EngineOpStat[], names: string[]): number => {
      const pick = run.filter((x) => names.includes(x.op));
      const c = pick.reduce((n, x) => n + x.timeNs, 0);
      return c ? pick.reduce((n, x) => n + x.verifyProcfsNs, 0) / c : 0;
    };
    for (const [what, samples, names, target] of [
      [`vma op, ${o.vmas} private anonymous`, anon, ['vma'], 8],
      [`fds+fdinfo ops, ${o.fds} fds`, anon, ['fds', 'fdinfo'], 30],
      [`vma op, ${o.vmas} shared anonymous`, shared, ['vma'], 8],
      [`vma op, ${o.vmas} file-backed`, file, ['vma'], 8],
      // the small per-task reads crib serves so far: personality, loginuid, oom_score_adj, rlimits;
      // namespaces; the auxiliary vector; exe, cwd and root; whether there are POSIX timers; cgroups
      ['per-task reads (taskmisc+nsids+auxv+taskfs+timers+cgroup), 1,000-task tree', tree, ['taskmisc', 'nsids', 'auxv', 'taskfs', 'timers', 'cgroup'], 20],
    ] as const) {
      const rs = samples.map((run) => ratioIn(run, [...names]));
      const r = median(rs);
      res.targets.push({ what, value: r, unit: 'x', kind: 'min', target, met: r >= target, runs: rs });
    }

    // 2. whole dumps
    const specs: Spec[] = [
      { name: 'counter (1 task)', tasks: 1, start: counter(paths, base) },
      { name: 'shell + 50 children', tasks: 51, start: shellTree(base, 50) },
      { name: '1,000-task tree', tasks: 1001, start: shellTree(base, 1000) },
      { name: big, tasks: 1, start: many(paths, base, ['-v', String(o.vmas), '-f', String(o.fds)]) },
    ];
    for (const s of specs) await b.wholeDumps(s, res);

    // 3. the service itself
    await execToReady(crib, base, 5, res);

    // 4. /proc lookups per dump
    for (const s of [
      { name: 'shell + 50 children', tasks: 51, start: shellTree(base, 50) },
      { name: big, tasks: 1, start: many(paths, base, ['-v', String(o.vmas), '-f', String(o.fds)]) },
    ]) {
      await b.lookupFigures(s, res);
    }
    // 5. tree pass: map against ring buffer
    await treeReads(paths, shellTree(base, 1000), res, o.log);
    for (const l of res.lookups) {
      const r = l.stock ? l.crib / l.stock : 0;
      res.targets.push({ what: `/proc lookups, ${l.workload}: crib / stock`, value: r, unit: 'x', kind: 'max', target: 0.1, met: r <= 0.1 });
    }
  } finally {
    await svc?.stop();
    fs.rmSync(base, { recursive: true, force: true });
  }
  addTargets(res);
  res.notes.push(
    '/run is not a tmpfs here, so CRIU cannot keep its kernel-feature cache (/run/criu.kdat) and probes the kernel again on every dump; stock and crib pay it alike.',
    'Whole dump: exec of criu to its exit, --leave-running. Frozen: stats-dump frozen_time. Medians; the three modes run interleaved, run by run, after one unmeasured dump each.',
  );
  fs.mkdirSync(o.out, { recursive: true });
  fs.writeFileSync(path.join(o.out, 'bench.json'), `${JSON.stringify(res, null, 2)}\n`);
  fs.writeFileSync(path.join(o.out, 'bench.svg'), benchSvg(res));
  return res;
}

async function treeReads(paths: Paths, start: () => Promise<Workload>, res: BenchResult, log: (s: string) => void): Promise<void> {
  const { createCollector } = await import('../bpf/collector');
  const { FolderOps, loadFolderOps } = await import('../engine/ops');
  const { loadProto } = await import('../engine/proto');
  const { TREE_MAX } = await import('../bpf/records');
  const w = await start();
  const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon });
  try {
    log('bench: 1,000-task tree: tree passes, map and ring buffer');
    const root = w.pid;
    const kids = fs.readFileSync(`/proc/${root}/task/${root}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const pids = [root, ...kids];
    const caller = { pidNs: c.callerPidNs, bootOffsetNs: 0n, root: rootOf(process.pid), cgroupNs: cgroupNsOf('self') };
    const ops = loadFolderOps(loadProto().root).filter((x) => x.module.treeProgram && x.module.treeRingbuf);
    const folder = new FolderOps(ops, c);
    const time = (fn: () => void): number => {
      const xs: number[] = [];
      for (let i = 0; i < 24; i++) {
        const t0 = process.hrtime.bigint();
        fn();
        if (i >= 3) xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return median(xs);
    };
    // the per-task ops' own passes one after the other (taskfs has none: an iterator), against their one pass together
    const per = ops.filter((x) => x.module.treePertask && c.programStatus(x.module.treeProgram!) === true);
    if (per.length && c.programStatus(per[0].module.treePertask!) === true) {
      const some = pids.slice(0, TREE_MAX);
      res.pertask = {
        ops: per.map((x) => x.entry.name),
        tasks: some.length,
        own_passes_ms: time(() => per.forEach((x) => c.runTree(x.entry.name, x.module.treeProgram!, some, x.module.treeRecordSize!))),
        pertask_ms: time(() => c.runTree('pertask', per[0].module.treePertask!, some, per[0].module.treeRecordSize!)),
      };
    }
    for (const op of ops) {
      const m = op.module;
      if (c.programStatus(m.treeRingbuf!) !== true || c.programStatus(m.treeProgram!) !== true) continue;
      const raw = (prog: typeof m.treeProgram) => () => c.runTree(op.entry.name, prog!, pids, m.treeRecordSize!);
      const enc = (via: 'map' | 'ringbuf') => () => folder.readTree(op.entry.id, pids, caller, () => undefined, via);
      res.tree_reads.push({
        op: op.entry.name,
        tasks: pids.length,
        map_ms: time(raw(m.treeProgram)),
        ringbuf_ms: time(raw(m.treeRingbuf)),
        map_encoded_ms: time(enc('map')),
        ringbuf_encoded_ms: time(enc('ringbuf')),
      });
    }
  } finally {
    c.close();
    await w.kill();
  }
}

function addTargets(res: BenchResult): void {
  const w = (name: string) => res.workloads.find((x) => x.workload.startsWith(name));
  const small = w('counter');
  const bigW = res.workloads[res.workloads.length - 1];
  const t = (what: string, value: number, unit: 'x' | 'ms', kind: 'min' | 'max', target: number) =>
    res.targets.push({ what, value, unit, kind, target, met: kind === 'min' ? value >= target : value <= target });
  if (small) t('whole dump, counter: service / stock', small.modes.service.dump_median / small.modes.stock.dump_median, 'x', 'max', 1.05);
  if (bigW) t(`whole dump, ${bigW.workload}: stock / service`, bigW.modes.stock.dump_median / bigW.modes.service.dump_median, 'x', 'min', 1.5);
  for (const name of ['counter', 'shell + 50', '1,000-task']) {
    const f = w(name);
    if (f) t(`frozen, ${f.workload}: service / stock`, f.modes.service.frozen_median / f.modes.stock.frozen_median, 'x', 'max', 1);
  }
  if (bigW) t(`frozen, ${bigW.workload}: stock / service`, bigW.modes.stock.frozen_median / bigW.modes.service.frozen_median, 'x', 'min', 2);
  t('plugin connect to first answer', median(res.service.connect_to_answer_ms), 'ms', 'max', 1);
  t('crib serve exec to ready', median(res.service.exec_to_ready_ms), 'ms', 'max', 150);
}

export function formatBench(r: BenchResult): string {
  const l: string[] = [];
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  l.push(`crib bench, ${r.date}, Linux ${r.kernel}, ${r.cpus} CPUs`);
  l.push('');
  l.push('per-op times through the service, medians of --engine-verify dumps (each: same task, same instant):');
  l.push(`  ${'workload'.padEnd(26)} ${'op'.padEnd(8)} ${'calls'.padStart(6)} ${'checked'.padStart(8)} ${'procfs ms'.padStart(10)} ${'crib ms'.padStart(9)} ${'ratio'.padStart(8)}`);
  for (const o of r.ops) {
    l.push(`  ${o.workload.padEnd(26)} ${o.op.padEnd(8)} ${String(o.calls).padStart(6)} ${String(o.checked).padStart(8)} ${f(o.procfs_ns / 1e6, 3).padStart(10)} ${f(o.crib_ns / 1e6, 3).padStart(9)} ${`${f(o.ratio)}x`.padStart(8)}`);
  }
  l.push('');
  l.push('whole dump and frozen time, ms (medians; stock CRIU 4.2.1 | crib co-process | crib service):');
  l.push(`  ${'workload'.padEnd(26)} ${'dump: stock'.padStart(11)} ${'co-proc'.padStart(8)} ${'service'.padStart(8)}   ${'frozen: stock'.padStart(13)} ${'co-proc'.padStart(8)} ${'service'.padStart(8)}`);
  for (const w of r.workloads) {
    const m = w.modes;
    l.push(
      `  ${w.workload.padEnd(26)} ${f(m.stock.dump_median).padStart(11)} ${f(m['co-process'].dump_median).padStart(8)} ${f(m.service.dump_median).padStart(8)}   ` +
        `${f(m.stock.frozen_median, 2).padStart(13)} ${f(m['co-process'].frozen_median, 2).padStart(8)} ${f(m.service.frozen_median, 2).padStart(8)}`,
    );
  }
  l.push('');
  l.push(`service: plugin connect to first answer ${f(median(r.service.connect_to_answer_ms), 3)} ms (median of ${r.service.connect_to_answer_ms.length} dumps); ` +
    `crib serve exec to ready ${f(median(r.service.exec_to_ready_ms))} ms (median of ${r.service.exec_to_ready_ms.length}; last: ${r.service.ready_parts})`);
  l.push('');
  l.push('tree passes of the folder ops (one BPF run for the tree; medians of 21 warm runs in this process, ms):');
  for (const t of r.tree_reads ?? []) {
    l.push(`  ${t.op.padEnd(10)} ${t.tasks} tasks  read: map ${f(t.map_ms, 3)}  ring buffer ${f(t.ringbuf_ms, 3)}    with the messages: map ${f(t.map_encoded_ms, 3)}  ring buffer ${f(t.ringbuf_encoded_ms, 3)}`);
  }
  if (r.pertask) {
    const p = r.pertask;
    l.push(`  ${p.ops.join('+')}, ${p.tasks} tasks: their own passes one after the other ${f(p.own_passes_ms, 3)}; crib_pertask, which also fills taskfs (each task found once) ${f(p.pertask_ms, 3)}`);
  }
  l.push('');
  l.push('/proc lookups per dump (strace of CRIU; crib through the service):');
  for (const x of r.lookups ?? []) {
    l.push(`  ${x.workload.padEnd(26)} stock ${String(x.stock).padStart(6)}  crib ${String(x.crib).padStart(6)}  (${f((100 * x.crib) / (x.stock || 1))}%)`);
    l.push(`  ${''.padEnd(26)} crib's commonest: ${x.crib_top.map(([k, n]) => `${k} ${n}`).join('; ')}`);
  }
  l.push('');
  l.push('targets:');
  for (const t of r.targets) {
    const v = t.unit === 'x' ? `${f(t.value, 2)}x` : `${f(t.value, 3)} ms`;
    l.push(`  ${t.met ? 'met    ' : 'NOT met'}  ${t.what.padEnd(52)} ${v.padStart(10)}  (${t.kind === 'min' ? '>=' : '<='} ${t.target}${t.unit === 'x' ? 'x' : ' ms'})${t.runs ? `; each dump: ${t.runs.map((x) => f(x)).join(' ')}` : ''}`);
  }
  for (const n of r.notes) l.push(`note: ${n}`);
  return l.join('\n');
}

/** Per workload, stock vs co-process vs service: whole dump and frozen time, as bars (log scale). */
export function benchSvg(r: BenchResult): string {
  const colors: Record<Mode, string> = { stock: '#888888', 'co-process': '#d9822b', service: '#2b7bd9' };
  const rowH = 14;
  const groupH = MODES.length * rowH * 2 + 34;
  const left = 190;
  const barW = 520;
  const width = left + barW + 120;
  const height = 60 + r.workloads.length * groupH + 30;
  const all = r.workloads.flatMap((w) => MODES.flatMap((m) => [w.modes[m].dump_median, w.modes[m].frozen_median])).filter((x) => x > 0);
  const lo = Math.log10(Math.max(0.1, Math.min(...all) / 2));
  const hi = Math.log10(Math.max(...all) * 1.2);
  const x = (v: number) => left + (barW * (Math.log10(Math.max(v, 10 ** lo)) - lo)) / (hi - lo);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`);
  o.push(`<rect width="100%" height="100%" fill="white"/>`);
  o.push(`<text x="10" y="18" font-size="14" font-weight="bold">crib bench: whole dump and frozen time (ms, log scale, medians)</text>`);
  o.push(`<text x="10" y="34">${esc(`Linux ${r.kernel}, ${r.cpus} CPUs, ${r.date}`)}</text>`);
  MODES.forEach((m, i) => {
    o.push(`<rect x="${left + i * 130}" y="42" width="10" height="10" fill="${colors[m]}"/><text x="${left + i * 130 + 14}" y="51">${m === 'stock' ? 'stock CRIU' : `crib ${m}`}</text>`);
  });
  r.workloads.forEach((w, gi) => {
    let y = 70 + gi * groupH;
    o.push(`<text x="10" y="${y + 8}" font-weight="bold">${esc(w.workload)}</text>`);
    y += 14;
    for (const what of ['dump', 'frozen'] as const) {
      o.push(`<text x="20" y="${y + rowH * 1.5 + 4}">${what === 'dump' ? 'whole dump' : 'frozen'}</text>`);
      for (const m of MODES) {
        const v = what === 'dump' ? w.modes[m].dump_median : w.modes[m].frozen_median;
        o.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(v) - left).toFixed(1)}" height="${rowH - 3}" fill="${colors[m]}"/>`);
        o.push(`<text x="${(x(v) + 4).toFixed(1)}" y="${y + rowH - 4}">${Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '-'}</text>`);
        y += rowH;
      }
      y += 6;
    }
  });
  o.push('</svg>');
  return `${o.join('\n')}\n`;
}
