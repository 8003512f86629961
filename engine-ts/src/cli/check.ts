// crib check: what this kernel offers, and which ops crib serves here.
import * as fs from 'fs';
import { createCollector, MechanismStatus } from '../bpf/collector';
import { btfFuncNames, KfuncSupport } from '../bpf/kfuncs';
import { OP_NAMES, OpName, OpSupport } from '../bpf/types';
import { CribError } from '../errors';
import { findPaths, Paths } from '../paths';

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
  ops: OpSupport[];
  /** every mechanism of each op, in order of preference */
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

export function runCheck(paths: Paths = findPaths()): CheckResult {
  const items: CheckItem[] = [];
  const kernel = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const hasBtf = fs.existsSync('/sys/kernel/btf/vmlinux');
  items.push({ what: 'kernel BTF', ok: hasBtf, detail: hasBtf ? '/sys/kernel/btf/vmlinux' : 'missing: CO-RE programs cannot load' });
  // older kernels lack these: the seq-iterator mechanisms serve instead
  const kf = btfHas(['bpf_task_from_pid', 'bpf_iter_task_vma_new', 'bpf_iter_num_new', 'bpf_rdonly_cast', 'bpf_loop', 'bpf_kallsyms_lookup_name']);
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
  let ops: OpSupport[] = [];
  const mechanisms: CheckResult['mechanisms'] = {};
  let kfuncs: KfuncSupport | undefined;
  try {
    const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon });
    try {
      ops = c.support();
      for (const op of OP_NAMES) mechanisms[op] = c.mechanismsFor(op);
      kfuncs = c.kfuncs();
    } finally {
      c.close();
    }
    items.push({ what: 'BPF programs', ok: true, detail: 'loaded' });
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
    const also = (r.mechanisms[o.op] ?? []).filter((m) => m.available && !m.serving).map((m) => m.mechanism);
    const tail = also.length ? `; also available: ${also.join(', ')}` : '';
    lines.push(`  ${o.op.padEnd(9)} ${o.available ? `crib (${o.mechanism ?? 'bpf'})${tail}` : `procfs fallback: ${o.reason ?? 'unavailable'}`}`);
  }
  return lines.join('\n');
}
