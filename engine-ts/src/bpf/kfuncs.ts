// Which CRIB kfuncs (kernel-patches/: Linux 6.12 + the series) the running
// kernel has.  First choice: bpf/fds_fget.bpf.c's crib_kfunc_probe, whose
// __weak __ksym declarations libbpf resolves against the kernel's BTF at
// load (bpf_ksym_exists), so it answers exactly what a program would get.
// Where that program does not load (kernels before 6.4 refuse a kfunc's
// address in ld_imm64), the BTF FUNC entries of /sys/kernel/btf/vmlinux.
import * as fs from 'fs';

/** In the order of crib_kfunc_probe's bits (CRIB_KF_* in fds_fget.bpf.c). */
export const CRIB_KFUNCS = [
  'bpf_task_fget',
  'bpf_put_file',
  'bpf_get_file_sock',
  'bpf_put_sock',
  'bpf_sock_rcvq_len',
  'bpf_sock_rcvq_read',
] as const;

export type CribKfunc = (typeof CRIB_KFUNCS)[number];

export interface KfuncSupport {
  /** how the answer was found: the weak-ksym probe program, the kernel's BTF, or not at all */
  method: 'weak ksym' | 'btf' | 'none';
  has: Record<CribKfunc, boolean>;
  /** when method is not 'weak ksym': why the probe program did not answer */
  reason?: string;
}

/** crib_kfunc_probe's return value -> which kfuncs are there */
export function kfuncsOfBits(bits: number): Record<CribKfunc, boolean> {
  const has = {} as Record<CribKfunc, boolean>;
  CRIB_KFUNCS.forEach((k, i) => (has[k] = ((bits >>> i) & 1) === 1));
  return has;
}

const BTF_MAGIC = 0xeb9f;
const BTF_KIND_FUNC = 12;

/** Bytes that follow struct btf_type (12 bytes) for each kind, given vlen. */
function btfExtra(kind: number, vlen: number): number {
  switch (kind) {
    case 1: // INT
    case 14: // VAR
    case 17: // DECL_TAG
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
    case 15: // DATASEC
    case 19: // ENUM64
      return 12 * vlen;
    case 6: // ENUM
    case 13: // FUNC_PROTO
      return 8 * vlen;
    default: // PTR FWD TYPEDEF VOLATILE CONST RESTRICT FUNC FLOAT TYPE_TAG
      return 0;
  }
}

/**
 * The names of every BTF_KIND_FUNC in a raw BTF blob (the kernel's own
 * functions, kfuncs among them).  Throws on a blob that does not parse.
 */
export function btfFuncNames(btf: Buffer): Set<string> {
  if (btf.length < 24 || btf.readUInt16LE(0) !== BTF_MAGIC) throw new Error('not little-endian BTF');
  const hdrLen = btf.readUInt32LE(4);
  const typeOff = btf.readUInt32LE(8);
  const typeLen = btf.readUInt32LE(12);
  const strOff = btf.readUInt32LE(16);
  const types = hdrLen + typeOff;
  const strs = hdrLen + strOff;
  const names = new Set<string>();
  for (let p = types; p + 12 <= types + typeLen; ) {
    const nameOff = btf.readUInt32LE(p);
    const info = btf.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === BTF_KIND_FUNC) {
      const s = strs + nameOff;
      names.add(btf.toString('latin1', s, btf.indexOf(0, s)));
    }
    p += 12 + btfExtra(kind, vlen);
  }
  return names;
}

/** The CRIB kfuncs among the kernel BTF's functions. */
export function kfuncsFromBtf(file = '/sys/kernel/btf/vmlinux'): Record<CribKfunc, boolean> | undefined {
  let funcs: Set<string>;
  try {
    funcs = btfFuncNames(fs.readFileSync(file));
  } catch {
    return undefined;
  }
  const has = {} as Record<CribKfunc, boolean>;
  for (const k of CRIB_KFUNCS) has[k] = funcs.has(k);
  return has;
}

/**
 * True when the kernel BTF names none of CRIB_KFUNCS: not one is in its
 * string section.  False when it does, or cannot be read (then ask the
 * probe program).
 */
export function kfuncNamesAbsent(file = '/sys/kernel/btf/vmlinux'): boolean {
  let btf: Buffer;
  try {
    btf = fs.readFileSync(file);
  } catch {
    return false;
  }
  return CRIB_KFUNCS.every((k) => btf.indexOf(`\0${k}\0`) < 0);
}
