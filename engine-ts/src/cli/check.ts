// crib check: what this kernel offers, and which ops crib serves here.
import * as fs from 'fs';
import { createCollector, MechanismStatus } from '../bpf/collector';
import { btfFuncNames, KfuncSupport } from '../bpf/kfuncs';
import { OP_NAMES, OpName, OpSupport } from '../bpf/types';
import { CribError } from '../errors';
import { findPaths, Paths } from '../paths';
import { FolderOps, loadFolderOps, readRegistry } from '../engine/ops';
import { loadProto } from '../engine/proto';
import { cgroupNsOf, ownUserNs, rootOf } from '../bpf/pidns';

export interface CheckItem {
  what: string;
  ok: boolean;
  detail: string;
  /** a fact about the kernel, not a failure: another mechanism covers it */
  info?: boolean;
}

export interface CheckResult {
  kernel: string;
  items: CheckItem[];
  /** every op of the registry: the core ops, then the folder ops */
  ops: (Omit<OpSupport, 'op'> & { op: string })[];
  /** every mechanism of each core op, in order of preference */
  mechanisms: Partial<Record<OpName, MechanismStatus[]>>;
  kfuncs?: KfuncSupport;
}

/** Which of these functions the kernel's BTF has (kfuncs and helpers are FUNC entries). */
function btfHas(names: string[]): Record<string, boolean> {
  let funcs = new Set<string>();
  try {
    funcs = btfFuncNames(fs.readFileSync('/sys/kernel/btf/vmlinux'));
  } catch {
    // no BTF: nothing is there
  }
  return Object.fromEntries(names.map((n) => [n, funcs.has(n)]));
}

const PRIV_HINT = 'crib and CRIU need root: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON for the BPF side';
const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** Whether this process may load and run the engine's programs (its effective capabilities). */
function privileges(): { ok: boolean; detail: string } {
  let eff: bigint;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (!m) return { ok: false, detail: 'no CapEff in /proc/self/status' };
    eff = BigInt(`0x${m[1]}`);
  } catch (e) {
    return { ok: false, detail: `cannot read /proc/self/status: ${(e as Error).message}` };
  }
  const has = (c: bigint): boolean => ((eff >> c) & 1n) === 1n;
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) return { ok: true, detail: `uid ${process.geteuid?.() ?? '?'}, CapEff ${eff.toString(16)}` };
  return { ok: false, detail: `uid ${process.geteuid?.() ?? '?'} without CAP_SYS_ADMIN or CAP_BPF+CAP_PERFMON: ${PRIV_HINT}` };
}

export function runCheck(paths: Paths = findPaths()): CheckResult {
  const items: CheckItem[] = [];
  const kernel = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const hasBtf = fs.existsSync('/sys/kernel/btf/vmlinux');
  items.push({ what: 'kernel BTF', ok: hasBtf, detail: hasBtf ? '/sys/kernel/btf/vmlinux' : 'missing: CO-RE programs cannot load' });
  // older kernels lack these: the seq-iterator mechanisms serve instead
  const kf = btfHas(['bpf_task_from_vpid', 'bpf_task_from_pid', 'bpf_iter_task_vma_new', 'bpf_iter_num_new', 'bpf_rdonly_cast', 'bpf_loop', 'bpf_kallsyms_lookup_name']);
  for (const [k, v] of Object.entries(kf)) {
    items.push({ what: `kfunc/helper ${k}`, ok: v, info: !v, detail: v ? 'in kernel BTF' : 'not in kernel BTF (fallbacks serve the ops that need it)' });
  }
  for (const [what, file] of [
    ['patched criu', paths.criu],
    ['stock criu', paths.criuStock],
    ['BPF objects', paths.objDir],
    ['native addon', paths.addon],
  ] as const) {
    const ok = fs.existsSync(file);
    items.push({ what, ok, detail: ok ? file : `missing at ${file}` });
  }
  const priv = privileges();
  items.push({ what: 'privileges', ok: priv.ok, detail: priv.detail });
  let ops: CheckResult['ops'] = [];
  const mechanisms: CheckResult['mechanisms'] = {};
  let kfuncs: KfuncSupport | undefined;
  try {
    const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon });
    let answered = '';
    try {
      ops = c.support();
      for (const op of OP_NAMES) mechanisms[op] = c.mechanismsFor(op);
      // the ops of the folders (ops/registry), for a caller in our own namespaces
      const names = new Map(readRegistry().map((e) => [e.id, e.name]));
      const caller = { pidNs: c.callerPidNs, bootOffsetNs: 0n, userNs: ownUserNs(), root: rootOf(process.pid), cgroupNs: cgroupNsOf('self') };
      for (const o of new FolderOps(loadFolderOps(loadProto().root), c).support(caller)) {
        ops.push({ op: names.get(o.id) ?? `#${o.id}`, available: o.available, mechanism: o.mechanism, reason: o.reason });
      }
      kfuncs = c.kfuncs();
      // loading is not enough: one op must answer, as in a dump
      if (ops.find((o) => o.op === 'stat')?.available) {
        try {
          answered = c.stat(process.pid).pid === process.pid ? '' : 'stat of this process named another pid';
        } catch (e) {
          answered = `stat of this process failed: ${(e as Error).message}`;
        }
      }
    } finally {
      c.close();
    }
    const served = ops.filter((o) => o.available).length;
    if (served === 0) {
      const why = ops.find((o) => o.reason)?.reason ?? 'no op is served';
      items.push({ what: 'BPF programs', ok: false, detail: `none could load: ${why}${/not permitted/i.test(why) ? ` (${PRIV_HINT})` : ''}` });
    } else if (answered) {
      items.push({ what: 'BPF programs', ok: false, detail: answered });
    } else {
      items.push({ what: 'BPF programs', ok: true, detail: `loaded, ${served} of ${ops.length} ops served, stat of this process answered` });
    }
    const have = Object.entries(kfuncs.has).filter(([, v]) => v).map(([k]) => k);
    items.push({
      what: `CRIB kfuncs (${kfuncs.method})`,
      ok: have.length > 0,
      info: have.length === 0,
      detail: have.length ? have.join(' ') : `none (kernel-patches/ not applied${kfuncs.reason ? `; ${kfuncs.reason}` : ''})`,
    });
  } catch (e) {
    const msg = e instanceof CribError || e instanceof Error ? e.message : String(e);
    items.push({ what: 'BPF programs', ok: false, detail: msg });
  }
  return { kernel, items, ops, mechanisms, kfuncs };
}

/** Exit status of crib check: failures only, facts about the kernel do not count. */
export function checkPassed(r: CheckResult): boolean {
  return r.items.every((i) => i.ok || i.info);
}

export function formatCheck(r: CheckResult): string {
  const lines = [`kernel ${r.kernel}`];
  for (const i of r.items) lines.push(`  [${i.ok ? ' ok ' : i.info ? ' -- ' : 'FAIL'}] ${i.what}: ${i.detail}`);
  lines.push('ops:');
  if (r.ops.length === 0) lines.push('  none: the engine could not start here, every op falls back to procfs');
  for (const o of r.ops) {
    const also = (r.mechanisms[o.op as OpName] ?? []).filter((m) => m.available && !m.serving).map((m) => m.mechanism);
    const tail = also.length ? `; also available: ${also.join(', ')}` : '';
    lines.push(`  ${o.op.padEnd(9)} ${o.available ? `crib (${o.mechanism ?? 'bpf'})${tail}` : `procfs fallback: ${o.reason ?? 'unavailable'}`}`);
  }
  return lines.join('\n');
}
