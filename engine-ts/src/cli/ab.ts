// crib ab: the same frozen workload dumped through stock CRIU (procfs) and
// through the crib engine, plus one --engine-verify dump for same-instant
// per-op times; prints per-op figures side by side and every difference
// between the images in the fields the engine served.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CribError, UsageError } from '../errors';
import { loadCriuProtos } from '../images/reader';
import { compareDumps, Difference, imageDir, readEngineStats } from '../criu/images';
import { dump, sleep, startWorkload, Workload } from '../criu/run';
import { findPaths, mustExist, Paths } from '../paths';

export interface AbOptions {
  pid?: number;
  command?: string[];
  json: boolean;
  /** where the images go; a temporary directory (removed) when not given */
  dir?: string;
  /** keep the workload stopped (SIGSTOP) across the three dumps */
  freeze: boolean;
  /** ms to let a started workload set itself up */
  settleMs: number;
  engineOps?: string;
  log: (s: string) => void;
}

export interface AbOp {
  op: string;
  calls: number;
  procfs_ns: number;
  crib_ns: number;
  fallbacks: number;
  mismatches: number;
}

export interface AbResult {
  ops: AbOp[];
  differences: Difference[];
  dump_ms: { procfs: number; crib: number };
  engine_init_ms: number;
}

function signalTree(pid: number, sig: NodeJS.Signals): void {
  process.kill(pid, sig);
  // children too: CRIU dumps the whole tree
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    let kids = '';
    try {
      kids = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of kids.split(' ').filter(Boolean)) signalTree(Number(c), sig);
  }
}

async function waitStopped(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
    if (state === 'T') return;
    await sleep(5);
  }
  throw new CribError('ETIMEDOUT', `pid ${pid} did not stop`);
}

export async function runAb(o: AbOptions, paths: Paths = findPaths()): Promise<AbResult> {
  if ((o.pid === undefined) === (o.command === undefined || o.command.length === 0)) {
    throw new UsageError('crib ab: give either --pid PID or -- COMMAND [ARGS...]');
  }
  mustExist(paths.criu, 'patched criu');
  mustExist(paths.criuStock, 'stock criu (criu-stock)');
  const root = loadCriuProtos(paths.criuImages);
  const base = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'crib-ab-'));
  const dirs = { procfs: path.join(base, 'procfs'), crib: path.join(base, 'crib'), verify: path.join(base, 'verify') };
  for (const d of Object.values(dirs)) {
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(d, { recursive: true });
  }

  let work: Workload | undefined;
  let pid: number;
  if (o.pid !== undefined) {
    pid = o.pid;
    if (!fs.existsSync(`/proc/${pid}`)) throw new UsageError(`crib ab: pid ${pid}: no such process`);
  } else {
    const [cmd, ...args] = o.command as string[];
    work = startWorkload(cmd, args);
    pid = work.pid;
    o.log(`crib ab: started ${cmd} as pid ${pid}`);
    await sleep(o.settleMs);
    if (!fs.existsSync(`/proc/${pid}`)) throw new CribError('EWORKLOAD', `crib ab: workload ${cmd} exited before the dumps`);
  }

  const common = { pid, leaveRunning: true };
  try {
    if (o.freeze) {
      signalTree(pid, 'SIGSTOP');
      await waitStopped(pid);
    }
    o.log(`crib ab: pid ${pid}: dump with stock CRIU (procfs)`);
    const a = dump({ ...common, criu: paths.criuStock, dir: dirs.procfs });
    o.log(`crib ab: pid ${pid}: dump with --engine=crib`);
    const engineArgs = o.engineOps ? { engine: 'procfs', engineOps: o.engineOps } : { engine: 'crib' };
    const b = dump({ ...common, ...engineArgs, criu: paths.criu, dir: dirs.crib, libdir: paths.libdir });
    o.log(`crib ab: pid ${pid}: dump with --engine=crib --engine-verify`);
    dump({ ...common, ...engineArgs, verify: true, criu: paths.criu, dir: dirs.verify, libdir: paths.libdir });

    const stats = readEngineStats(imageDir(root, dirs.verify));
    const ops: AbOp[] = stats.ops.map((s) => ({
      op: s.op,
      calls: s.calls,
      procfs_ns: s.engine === 'procfs' ? s.timeNs : s.verifyProcfsNs,
      crib_ns: s.engine === 'procfs' ? 0 : s.timeNs,
      fallbacks: s.fallbacks,
      mismatches: s.verifyMismatches,
    }));
    const differences = compareDumps(imageDir(root, dirs.procfs), imageDir(root, dirs.crib));
    return { ops, differences, dump_ms: { procfs: a.ms, crib: b.ms }, engine_init_ms: stats.initNs / 1e6 };
  } finally {
    if (o.freeze && fs.existsSync(`/proc/${pid}`)) {
      try {
        signalTree(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
    if (work) await work.kill();
    if (!o.dir) fs.rmSync(base, { recursive: true, force: true });
  }
}

function ms(ns: number): string {
  return (ns / 1e6).toFixed(3);
}

export function formatAb(r: AbResult): string {
  const lines: string[] = [];
  const head = ['op', 'calls', 'procfs ms', 'crib ms', 'speedup', 'fallbacks', 'mismatches'];
  const rows = r.ops.map((o) => [
    o.op,
    String(o.calls),
    ms(o.procfs_ns),
    o.crib_ns ? ms(o.crib_ns) : '-',
    o.crib_ns ? `${(o.procfs_ns / o.crib_ns).toFixed(1)}x` : '-',
    String(o.fallbacks),
    String(o.mismatches),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (row: string[]): string => row.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  lines.push(fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(fmt));
  lines.push('');
  lines.push(`whole dump: procfs ${r.dump_ms.procfs.toFixed(1)} ms, crib ${r.dump_ms.crib.toFixed(1)} ms (engine start-up ${r.engine_init_ms.toFixed(1)} ms included)`);
  if (r.differences.length === 0) {
    lines.push('images: no differences in the fields the engine served');
  } else {
    lines.push(`images: ${r.differences.length} difference(s):`);
    for (const d of r.differences) lines.push(`  ${d.image} ${d.path}: procfs=${JSON.stringify(d.procfs)} crib=${JSON.stringify(d.crib)}`);
  }
  return lines.join('\n');
}
