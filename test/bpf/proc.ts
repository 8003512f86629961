// What /proc says, parsed the way CRIU reads it: the reference the BPF
// collector is compared with.
import * as fs from 'fs';

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  flags: number;
  numThreads: number;
  startTime: bigint;
  startCode: bigint;
  endCode: bigint;
  startStack: bigint;
  startData: bigint;
  endData: bigint;
  startBrk: bigint;
  argStart: bigint;
  argEnd: bigint;
  envStart: bigint;
  envEnd: bigint;
  exitCode: number;
}

/** /proc/PID/stat; field numbers as in proc(5) */
export function readStat(pid: number): ProcStat {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const open = s.indexOf('(');
  const close = s.lastIndexOf(')');
  const f = s.slice(close + 2).trim().split(' ');
  // f[0] is field 3 (state)
  const n = (field: number): string => f[field - 3];
  return {
    pid: Number(s.slice(0, open).trim()),
    comm: s.slice(open + 1, close),
    state: n(3),
    ppid: Number(n(4)),
    pgid: Number(n(5)),
    sid: Number(n(6)),
    flags: Number(n(9)),
    numThreads: Number(n(20)),
    startTime: BigInt(n(22)),
    startCode: BigInt(n(26)),
    endCode: BigInt(n(27)),
    startStack: BigInt(n(28)),
    startData: BigInt(n(45)),
    endData: BigInt(n(46)),
    startBrk: BigInt(n(47)),
    argStart: BigInt(n(48)),
    argEnd: BigInt(n(49)),
    envStart: BigInt(n(50)),
    envEnd: BigInt(n(51)),
    exitCode: Number(n(52)),
  };
}

export interface ProcStatus {
  state: string;
  ppid: number;
  nspid: number;
  seccomp: number;
  sigpnd: bigint;
  shdpnd: bigint;
  sigblk: bigint;
  uids: number[];
  gids: number[];
  capInh: bigint;
  capPrm: bigint;
  capEff: bigint;
  capBnd: bigint;
  capAmb: bigint;
}

export function readStatus(pid: number): ProcStatus {
  const kv = new Map<string, string>();
  for (const line of fs.readFileSync(`/proc/${pid}/status`, 'latin1').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const get = (k: string): string => {
    const v = kv.get(k);
    if (v === undefined) throw new Error(`/proc/${pid}/status has no ${k}`);
    return v;
  };
  const hex = (k: string): bigint => BigInt('0x' + get(k));
  const nspid = get('NSpid').split(/\s+/);
  return {
    state: get('State')[0],
    ppid: Number(get('PPid')),
    nspid: Number(nspid[nspid.length - 1]),
    seccomp: Number(get('Seccomp')),
    sigpnd: hex('SigPnd'),
    shdpnd: hex('ShdPnd'),
    sigblk: hex('SigBlk'),
    uids: get('Uid').split(/\s+/).map(Number),
    gids: get('Gid').split(/\s+/).map(Number),
    capInh: hex('CapInh'),
    capPrm: hex('CapPrm'),
    capEff: hex('CapEff'),
    capBnd: hex('CapBnd'),
    capAmb: hex('CapAmb'),
  };
}

export function readThreads(pid: number): number[] {
  // readdir order is the kernel's order (fs/proc/base.c proc_task_readdir)
  return fs.readdirSync(`/proc/${pid}/task`).map(Number);
}

export function readChildren(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readThreads(pid)) {
    const s = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').trim();
    if (s) out.push(...s.split(/\s+/).map(Number));
  }
  return out;
}

export interface SmapsEntry {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  devMaj: number;
  devMin: number;
  ino: bigint;
  name: string;
  vmFlags: string[];
}

/** /proc/PID/smaps: the maps line and VmFlags of each VMA */
export function readSmaps(pid: number): SmapsEntry[] {
  const out: SmapsEntry[] = [];
  const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+)\s*(.*)$/;
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'latin1').split('\n')) {
    const m = head.exec(line);
    if (m) {
      out.push({
        start: BigInt('0x' + m[1]),
        end: BigInt('0x' + m[2]),
        perms: m[3],
        offset: BigInt('0x' + m[4]),
        devMaj: parseInt(m[5], 16),
        devMin: parseInt(m[6], 16),
        ino: BigInt(m[7]),
        name: m[8],
        vmFlags: [],
      });
    } else if (line.startsWith('VmFlags:')) {
      out[out.length - 1].vmFlags = line.slice(8).trim().split(/\s+/).filter(Boolean);
    }
  }
  return out;
}

export interface FdInfo {
  fd: number;
  pos: bigint;
  flags: number;
  mntId: number;
  /** fdinfo has "lock:" lines: locks this fd's owner holds on the file */
  locked: boolean;
}

export function readFds(pid: number): FdInfo[] {
  const fds = fs
    .readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((a, b) => a - b);
  return fds.map((fd) => {
    const kv = new Map<string, string>();
    const text = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'latin1');
    for (const line of text.split('\n')) {
      const i = line.indexOf(':');
      if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
    }
    return { fd, pos: BigInt(kv.get('pos') ?? '0'), flags: parseInt(kv.get('flags') ?? '0', 8), mntId: Number(kv.get('mnt_id')), locked: /^lock:/m.test(text) };
  });
}

/*
 * fs/proc/task_mmu.c show_smap_vma_flags(): mnemonic -> vm_flags bit, for
 * Linux 6.18 x86_64.  Must agree with bpf/vm_flags.h for the bits CRIB
 * translates; the others make the check of the raw flags complete.
 */
export const VM_MNEMONICS: ReadonlyArray<[string, number]> = [
  ['rd', 0], ['wr', 1], ['ex', 2], ['sh', 3], ['mr', 4], ['mw', 5], ['me', 6], ['ms', 7],
  ['gd', 8], ['um', 9], ['pf', 10], ['uw', 12], ['lo', 13], ['io', 14], ['sr', 15], ['rr', 16],
  ['dc', 17], ['de', 18], ['lf', 19], ['ac', 20], ['nr', 21], ['ht', 22], ['sf', 23], ['ar', 24],
  ['wf', 25], ['dd', 26], ['sd', 27], ['mm', 28], ['hg', 29], ['nh', 30], ['mg', 31],
  ['ss', 37], ['dp', 40], ['ui', 41], ['sl', 42],
];

/** What CRIU 4.2.1 (proc_parse.c parse_vma_vmflags) makes of the VmFlags mnemonics. */
export function criuVmFlags(flags: string[]): { mapFlags: number; madv: bigint; vmflags: number } {
  const MAP: Record<string, number> = { gd: 0x100, lo: 0x2000, nr: 0x4000, ht: 0x40000, dp: 0x08 };
  const MADV: Record<string, number> = { sr: 2, rr: 1, dc: 10, dd: 16, mg: 12, hg: 14, nh: 15, wf: 18 };
  let mapFlags = 0;
  let madv = 0n;
  let vmflags = 0;
  for (const f of flags) {
    if (f in MAP) mapFlags |= MAP[f];
    if (f in MADV) madv |= 1n << BigInt(MADV[f]);
    if (f === 'io' || f === 'pf') vmflags |= 1;
    if (f === 'ss') vmflags |= 2;
  }
  return { mapFlags, madv, vmflags };
}
