// crib check: what this kernel offers, and which ops crib serves here.
import * as fs from 'fs';
import { createCollector } from '../bpf/collector';
import { OpSupport } from '../bpf/types';
import { CribError } from '../errors';
import { findPaths, Paths } from '../paths';

export interface CheckItem {
  what: string;
  ok: boolean;
  detail: string;
}

export interface CheckResult {
  kernel: string;
  items: CheckItem[];
  ops: OpSupport[];
}

function btfHas(names: string[]): Record<string, boolean> {
  // kfuncs and types show up by name in the kernel's BTF string section
  const out: Record<string, boolean> = {};
  let btf: Buffer | undefined;
  try {
    btf = fs.readFileSync('/sys/kernel/btf/vmlinux');
  } catch {
    btf = undefined;
  }
  for (const n of names) out[n] = btf ? btf.includes(Buffer.from(`\0${n}\0`)) : false;
  return out;
}

export function runCheck(paths: Paths = findPaths()): CheckResult {
  const items: CheckItem[] = [];
  const kernel = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const hasBtf = fs.existsSync('/sys/kernel/btf/vmlinux');
  items.push({ what: 'kernel BTF', ok: hasBtf, detail: hasBtf ? '/sys/kernel/btf/vmlinux' : 'missing: CO-RE programs cannot load' });
  const kf = btfHas(['bpf_task_from_pid', 'bpf_iter_task_vma_new', 'bpf_iter_num_new', 'bpf_rdonly_cast', 'bpf_loop']);
  for (const [k, v] of Object.entries(kf)) items.push({ what: `kfunc/helper ${k}`, ok: v, detail: v ? 'in kernel BTF' : 'not in kernel BTF' });
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
  try {
    const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon });
    try {
      ops = c.support();
    } finally {
      c.close();
    }
    items.push({ what: 'BPF programs', ok: true, detail: 'loaded' });
  } catch (e) {
    const msg = e instanceof CribError || e instanceof Error ? e.message : String(e);
    items.push({ what: 'BPF programs', ok: false, detail: msg });
  }
  return { kernel, items, ops };
}

export function formatCheck(r: CheckResult): string {
  const lines = [`kernel ${r.kernel}`];
  for (const i of r.items) lines.push(`  [${i.ok ? ' ok ' : 'FAIL'}] ${i.what}: ${i.detail}`);
  lines.push('ops:');
  if (r.ops.length === 0) lines.push('  none: the engine could not start here, every op falls back to procfs');
  for (const o of r.ops) {
    lines.push(`  ${o.op.padEnd(9)} ${o.available ? `crib (${o.mechanism ?? 'bpf'})` : `procfs fallback: ${o.reason ?? 'unavailable'}`}`);
  }
  return lines.join('\n');
}
