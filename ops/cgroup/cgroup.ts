// Op cgroup in the engine: the record of cgroup.h (from the programs of
// crib_task_op.h) written as crib.Cgroup (cgroup.proto), the text of
// /proc/PID/task/TID/cgroup.  The record has each hierarchy's id and the
// path's components leaf first; the controllers of a hierarchy ("cpu,cpuacct",
// "name=systemd", "" for the default one) come from the engine's own
// /proc/self/cgroup, which lists every hierarchy (every task is in each).
import * as fs from 'fs';
import { layout } from '../../engine-ts/src/bpf/records';
import { INIT_CGROUP_NS_INUM } from '../../engine-ts/src/bpf/pidns';
import { BadRecordError, CribError, ENOTSUP } from '../../engine-ts/src/errors';
import { taskOp, taskOpLayouts } from '../../engine-ts/src/engine/ops';
import { PbWriter } from '../../engine-ts/src/engine/pbwriter';

/** CRIB_CGROUP_MAX, CRIB_CGROUP_NAMES (cgroup.h) */
export const CGROUP_MAX = 16;
export const CGROUP_NAMES = 2048;
/** struct crib_cgroup.flags */
export const EXITING = 1 << 0;
export const TRUNCATED = 1 << 1;
/** struct crib_cgroup_hier.flags */
export const DEAD = 1 << 0;

/** struct crib_cgroup_hier (cgroup.h) */
export const CGROUP_HIER = layout('crib_cgroup_hier', 16, [
  ['hierarchy_id', 0, 4],
  ['flags', 4, 4],
  ['off', 8, 2],
  ['len', 10, 2],
  ['_pad0', 12, 4],
]);

/** struct crib_cgroup (cgroup.h); cgroup.test.ts checks it against the object's BTF */
export const CGROUP = layout('crib_cgroup', 8 + CGROUP_HIER.size * CGROUP_MAX + CGROUP_NAMES, [
  ['nr', 0, 4],
  ['flags', 4, 4],
  ['h', 8, CGROUP_HIER.size * CGROUP_MAX],
  ['names', 8 + CGROUP_HIER.size * CGROUP_MAX, CGROUP_NAMES],
]);

/** struct crib_cgroup_ctx and struct crib_cgroup_tree (crib_task_op.h) */
export const { ctx: CGROUP_CTX, tree: CGROUP_TREE } = taskOpLayouts('cgroup', CGROUP);

/** Each hierarchy's controllers by its id, from a /proc/PID/cgroup text */
export function hierarchies(text: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a <= 0 || b < 0) continue;
    m.set(Number(line.slice(0, a)), line.slice(a + 1, b));
  }
  return m;
}

/** The hierarchies the engine's /proc/self/cgroup names, read again before each read (begin()) */
let known: Map<number, string> | undefined;

function readHierarchies(): void {
  known = hierarchies(fs.readFileSync('/proc/self/cgroup', 'utf8'));
}

/** The controllers of hierarchy @id (undefined: not listed) */
function controllersOf(id: number): string | undefined {
  if (!known) readHierarchies();
  return known!.get(id);
}

const M = CGROUP.members;
const H = CGROUP_HIER.members;
const dec = new TextDecoder('utf-8', { fatal: true });

/** The text of the record at @off in @src, checked */
export function cgroupText(src: ArrayBuffer, off: number): string {
  const dv = new DataView(src, off, CGROUP.size);
  const nr = dv.getUint32(M.nr.offset, true);
  const flags = dv.getUint32(M.flags.offset, true);
  if (flags & TRUNCATED) throw new CribError('ENOTSUP', `cgroup: more hierarchies, levels or name bytes than the record holds (${CGROUP_MAX}, ${CGROUP_NAMES} bytes)`, ENOTSUP);
  if (nr > CGROUP_MAX || flags & ~(EXITING | TRUNCATED)) throw new BadRecordError('cgroup', `nr ${nr}, flags 0x${flags.toString(16)}`);
  const names = new Uint8Array(src, off + M.names.offset, CGROUP_NAMES);
  const lines: [number, string][] = [];
  for (let i = 0; i < nr; i++) {
    const h = M.h.offset + i * CGROUP_HIER.size;
    const id = dv.getUint32(h + H.hierarchy_id.offset, true);
    const hf = dv.getUint32(h + H.flags.offset, true);
    let at = dv.getUint16(h + H.off.offset, true);
    const end = at + dv.getUint16(h + H.len.offset, true);
    if (end > CGROUP_NAMES || hf & ~DEAD) throw new BadRecordError('cgroup', `hierarchy ${id}: names ${at}-${end}, flags 0x${hf.toString(16)}`);
    const parts: string[] = [];
    while (at < end) {
      const n = names[at];
      if (!n || at + 1 + n > end) throw new BadRecordError('cgroup', `hierarchy ${id}: a component of ${n} bytes at ${at}`);
      parts.push(dec.decode(names.subarray(at + 1, at + 1 + n)));
      at += 1 + n;
    }
    const ctl = controllersOf(id);
    if (ctl === undefined) {
      // the default hierarchy is listed only once it is mounted (cgrp_dfl_visible)
      if (id === 0) continue;
      throw new CribError('ENOTSUP', `cgroup: hierarchy ${id} is not in the engine's /proc/self/cgroup`, ENOTSUP);
    }
    // an exiting task is in the root of every v1 hierarchy, as /proc says
    let path = id !== 0 && flags & EXITING ? '/' : `/${parts.reverse().join('/')}`;
    if (id === 0 && hf & DEAD) path += ' (deleted)';
    lines.push([id, `${id}:${ctl}:${path}\n`]);
  }
  // /proc lists the newest hierarchy first: the highest id, but for ids reused after a wrap
  lines.sort((a, b) => b[0] - a[0]);
  return lines.map(([, l]) => l).join('');
}

const enc = new TextEncoder();
const w = new PbWriter(4 * CGROUP_NAMES);

/** The bytes of the record at @off in @src that its text is made of: the table and the names used */
function usedBytes(src: ArrayBuffer, off: number): Uint8Array {
  const dv = new DataView(src, off, CGROUP.size);
  const nr = Math.min(dv.getUint32(M.nr.offset, true), CGROUP_MAX);
  let end = 0;
  for (let i = 0; i < nr; i++) {
    const h = M.h.offset + i * CGROUP_HIER.size;
    end = Math.max(end, dv.getUint16(h + H.off.offset, true) + dv.getUint16(h + H.len.offset, true));
  }
  return new Uint8Array(src, off, M.names.offset + Math.min(end, CGROUP_NAMES));
}

/** crib.Cgroup of the record at @off in @src, checked */
export function encodeCgroup(src: ArrayBuffer, off: number): Uint8Array {
  return w.reset().bytes(1, enc.encode(cgroupText(src, off))).finish();
}

export const op = taskOp({
  name: 'cgroup',
  message: 'crib.Cgroup',
  size: CGROUP.size,
  encode: encodeCgroup,
  // a tree pass compares the bytes in use, not the whole 2.3 KiB
  recordBytes: usedBytes,
  // a hierarchy made (or the v2 one mounted) since the last read: once per read, not per task
  begin: readHierarchies,
  // the program names paths from each hierarchy's root, as /proc does for a reader in the initial cgroup namespace
  refuse: (caller) =>
    caller.cgroupNs === INIT_CGROUP_NS_INUM
      ? undefined
      : `cgroup paths are named from the initial cgroup namespace; the caller is in ${caller.cgroupNs === undefined ? 'one /proc does not tell' : `cgroup:[${caller.cgroupNs}]`}`,
});
