// What A/B runs read back from CRIU's images: per-op engine statistics
// from stats-dump, and the image entries that the engine's ops feed.
import * as path from 'path';
import { Entry, ImageDir } from '../images/reader';

export interface EngineOpStat {
  op: string;
  engine: string;
  calls: number;
  timeNs: number;
  fallbacks: number;
  /** reads compared with procfs (fdinfo: one per fd, however the engine was asked) */
  verifyCalls: number;
  verifyProcfsNs: number;
  verifyMismatches: number;
}

function num(v: unknown): number {
  if (v === undefined || v === null) return 0;
  return Number(v);
}

/** Per-op statistics of a dump made by the patched CRIU. */
export function readEngineStats(img: ImageDir): { ops: EngineOpStat[]; initNs: number; frozenUs: number; how: string } {
  const st = img.one('stats-dump', 'stats_entry');
  const dump = (st.dump ?? {}) as Entry;
  const ops = ((dump.engine_ops ?? []) as Entry[]).map((e) => ({
    op: String(e.op),
    engine: String(e.engine),
    calls: num(e.calls),
    timeNs: num(e.time_ns),
    fallbacks: num(e.fallbacks),
    verifyCalls: num(e.verify_calls),
    verifyProcfsNs: num(e.verify_procfs_ns),
    verifyMismatches: num(e.verify_mismatches),
  }));
  // frozen_time: from freezing the tree to unfreezing it, in microseconds (stock CRIU's too)
  return { ops, initNs: num(dump.engine_init_ns), frozenUs: num(dump.frozen_time), how: String(dump.engine_how ?? '') };
}

export interface Difference {
  image: string;
  path: string;
  procfs: unknown;
  crib: unknown;
}

/** Field-by-field differences between two decoded values, as dotted paths. */
export function diffValues(image: string, a: unknown, b: unknown, at: string, out: Difference[]): void {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push({ image, path: `${at}.length`, procfs: a.length, crib: b.length });
    for (let i = 0; i < Math.min(a.length, b.length); i++) diffValues(image, a[i], b[i], `${at}[${i}]`, out);
    return;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
    for (const k of [...keys].sort()) diffValues(image, ao[k], bo[k], at ? `${at}.${k}` : k, out);
    return;
  }
  if (a !== b) out.push({ image, path: at, procfs: a, crib: b });
}

function pick(e: Entry | undefined, keys: string[]): Entry {
  const o: Entry = {};
  for (const k of keys) if (e && e[k] !== undefined) o[k] = e[k];
  return o;
}

/**
 * Compares the images of two dumps of the same frozen tree in the fields
 * the engine's ops feed: the process tree (threads, children, sid, pgid),
 * task core (comm, flags, exit code, state: stat/status), credentials
 * (status), mm with all VMAs (stat, vma), fd tables and files (fds, fdinfo),
 * but for a timerfd's time left, which the clock changes between the dumps.
 */
export function compareDumps(procfs: ImageDir, crib: ImageDir): Difference[] {
  const out: Difference[] = [];
  const treeA = procfs.read('pstree.img', 'pstree_entry');
  const treeB = crib.read('pstree.img', 'pstree_entry');
  diffValues('pstree.img', treeA, treeB, '', out);

  for (const item of treeA) {
    const pid = Number(item.pid);
    const core = `core-${pid}.img`;
    const ca = procfs.one(core, 'core_entry');
    const cb = crib.one(core, 'core_entry');
    const tcKeys = ['task_state', 'exit_code', 'flags', 'comm'];
    diffValues(core, pick(ca.tc as Entry, tcKeys), pick(cb.tc as Entry, tcKeys), 'tc', out);
    diffValues(core, (ca.thread_core as Entry)?.creds, (cb.thread_core as Entry)?.creds, 'thread_core.creds', out);

    const mm = `mm-${pid}.img`;
    if (procfs.has(mm) || crib.has(mm)) diffValues(mm, procfs.one(mm, 'mm_entry'), crib.one(mm, 'mm_entry'), '', out);

    // cwd and root (taskfs): their file ids, whose entries files.img compares
    const fsi = `fs-${pid}.img`;
    if (procfs.has(fsi) || crib.has(fsi)) diffValues(fsi, procfs.one(fsi, 'fs_entry'), crib.one(fsi, 'fs_entry'), '', out);

    const ids = `ids-${pid}.img`;
    if (procfs.has(ids)) {
      const fa = Number(procfs.one(ids, 'task_kobj_ids_entry').files_id);
      const fb = Number(crib.one(ids, 'task_kobj_ids_entry').files_id);
      const na = `fdinfo-${fa}.img`;
      const nb = `fdinfo-${fb}.img`;
      diffValues(na, procfs.has(na) ? procfs.read(na, 'fdinfo_entry') : [], crib.has(nb) ? crib.read(nb, 'fdinfo_entry') : [], '', out);
    }
  }
  if (procfs.has('files.img') || crib.has('files.img')) {
    diffValues('files.img', procfs.read('files.img', 'file_entry').map(timeless), crib.read('files.img', 'file_entry').map(timeless), '', out);
  }
  return out;
}

/**
 * A file entry without what the clock changes between two dumps: a
 * timerfd's time left (vsec, vnsec) runs on while the tree is stopped.
 */
function timeless(e: Entry): Entry {
  const tfd = e.tfd as Entry | undefined;
  if (!tfd) return e;
  const { vsec, vnsec, ...rest } = tfd;
  void vsec;
  void vnsec;
  return { ...e, tfd: rest };
}

export function imageDir(root: ImageDir['root'], dir: string): ImageDir {
  return new ImageDir(root, path.resolve(dir));
}
