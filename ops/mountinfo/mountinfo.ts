// Op mountinfo in the engine: the records of mountinfo.h, one per mount
// of a task's mount namespace (mountinfo.bpf.c, through ring buffer
// "mounts"), written as the text of /proc/PID/mountinfo in crib.MountInfo
// (mountinfo.proto), line by line as fs/proc_namespace.c
// show_mountinfo() prints it.  What a file system prints itself (its
// options; the root of one with show_path(), the source of one with
// show_devname()) comes from statmount(), one call per mount; a kernel
// without it (before 6.8) leaves the op to procfs.
import * as fs from 'fs';
import { layout, REQ } from '../../engine-ts/src/bpf/records';
import { BadRecordError, UnsupportedError } from '../../engine-ts/src/errors';
import { OpModule, ProgramRunner } from '../../engine-ts/src/engine/ops';
import { PbWriter } from '../../engine-ts/src/engine/pbwriter';

/** struct crib_mountinfo.flags (mountinfo.h) */
export const SHARED = 1 << 0;
export const UNBINDABLE = 1 << 1;
export const ROOT_DELETED = 1 << 2;
export const SHOW_PATH = 1 << 3;
export const SHOW_DEVNAME = 1 << 4;
export const NO_DEVNAME = 1 << 5;
export const DOM_UNKNOWN = 1 << 6;
const KNOWN_FLAGS = (1 << 7) - 1;

/** struct crib_mountinfo (mountinfo.h); mountinfo.test.ts checks it against the object's BTF */
export const MOUNTINFO = layout('crib_mountinfo', 64, [
  ['unique_id', 0, 8],
  ['mnt_id', 8, 4],
  ['parent_id', 12, 4],
  ['dev_major', 16, 4],
  ['dev_minor', 20, 4],
  ['mnt_flags', 24, 4],
  ['sb_flags', 28, 4],
  ['shared', 32, 4],
  ['master', 36, 4],
  ['dominating', 40, 4],
  ['flags', 44, 4],
  ['root_len', 48, 2],
  ['point_len', 50, 2],
  ['source_len', 52, 2],
  ['type_len', 54, 2],
  ['subtype_len', 56, 2],
  ['_pad0', 58, 2],
  ['_pad1', 60, 4],
]);

/** struct crib_mountinfo_ctx (mountinfo.h) */
export const MOUNTINFO_CTX = layout('crib_mountinfo_ctx', REQ.size + 16, [
  ['req', 0, REQ.size],
  ['ns_id', REQ.size, 8],
  ['ns_inum', REQ.size + 8, 4],
  ['_pad0', REQ.size + 12, 4],
]);

const M = MOUNTINFO.members;

/** vfsmount.mnt_flags (include/linux/mount.h) and the options show_mnt_opts() prints for them, in its order */
const MNT_READONLY = 0x40;
const MNT_OPTS: Array<[number, string]> = [
  [0x01, ',nosuid'],
  [0x02, ',nodev'],
  [0x04, ',noexec'],
  [0x08, ',noatime'],
  [0x10, ',nodiratime'],
  [0x20, ',relatime'],
  [0x80, ',nosymfollow'],
];
/** super_block.s_flags and what show_sb_opts() prints for them, in its order */
const SB_RDONLY = 0x1;
const SB_OPTS: Array<[number, string]> = [
  [0x10, ',sync'],
  [0x80, ',dirsync'],
  [0x40, ',mand'],
  [1 << 25, ',lazytime'],
];

/** STATMOUNT_* (linux/mount.h) and struct statmount's offsets */
const STATMOUNT_MNT_BASIC = 0x2;
const STATMOUNT_MNT_ROOT = 0x8;
const STATMOUNT_MNT_OPTS = 0x80;
const STATMOUNT_SB_SOURCE = 0x200;
const MOUNT_ATTR_IDMAP = 0x100000;
const SM = { size: 0, mnt_opts: 4, mask: 8, mnt_id_old: 56, mnt_attr: 64, mnt_root: 104, sb_source: 124, str: 512 };

/** seq_escape(s, " \t\n\\") of a latin1 string: each of those as a backslash and three octal digits */
const ESCAPED = /[ \t\n\\]/g;
const OCTAL: Record<string, string> = { ' ': '\\040', '\t': '\\011', '\n': '\\012', '\\': '\\134' };
export function escape(s: string): string {
  return s.replace(ESCAPED, (c) => OCTAL[c]);
}

/** Bytes as a latin1 string: one character per byte, so the text's bytes come back unchanged */
function latin1(buf: ArrayBuffer, off: number, len: number): string {
  return Buffer.from(buf, off, len).toString('latin1');
}

/** A path of components at @off (leaf first, a length byte each: crib_path.h), from "/" */
function joinPath(buf: ArrayBuffer, off: number, len: number, what: string): string {
  const b = new Uint8Array(buf, off, len);
  const parts: string[] = [];
  for (let p = 0; p < len; ) {
    const n = b[p];
    if (n === 0 || p + 1 + n > len) throw new BadRecordError('mountinfo', `${what}: a path component of ${n} bytes at ${p} of ${len}`);
    parts.push(latin1(buf, off + p + 1, n));
    p += 1 + n;
  }
  return '/' + parts.reverse().join('/');
}

/** A string of struct statmount at offset field @at, or undefined where its bit is not in the mask */
function smString(sm: ArrayBuffer, at: number, bit: number): string | undefined {
  const dv = new DataView(sm);
  if (!(Number(dv.getBigUint64(SM.mask, true)) & bit)) return undefined;
  const start = SM.str + dv.getUint32(at, true);
  const end = new Uint8Array(sm).indexOf(0, start);
  if (start >= sm.byteLength || end < 0) throw new BadRecordError('mountinfo', `statmount(): a string at ${start} of ${sm.byteLength} bytes without its end`);
  return latin1(sm, start, end - start);
}

/** The engine's own namespaces, read once: the only ones statmount() can look in on a kernel without namespace ids */
let own: { mnt: number; cgroup: number } | undefined;
function ownNs(): { mnt: number; cgroup: number } {
  own ??= { mnt: fs.statSync('/proc/self/ns/mnt').ino, cgroup: fs.statSync('/proc/self/ns/cgroup').ino };
  return own;
}

/** One mount's line, in latin1: the record at @off of @buf (@len bytes with its own after it) */
function line(buf: ArrayBuffer, off: number, len: number, r: ProgramRunner, nsId: bigint): string {
  const dv = new DataView(buf, off, MOUNTINFO.size);
  const u16 = (m: { offset: number }) => dv.getUint16(m.offset, true);
  const flags = dv.getUint32(M.flags.offset, true);
  const mntId = dv.getInt32(M.mnt_id.offset, true);
  const lens = [u16(M.root_len), u16(M.point_len), u16(M.source_len), u16(M.type_len), u16(M.subtype_len)];
  if (flags & ~KNOWN_FLAGS || MOUNTINFO.size + lens.reduce((a, b) => a + b, 0) > len || mntId <= 0) {
    throw new BadRecordError('mountinfo', `mount ${mntId}: flags ${flags.toString(16)}, ${lens.join('+')} bytes of names in a record of ${len}`);
  }
  if (flags & DOM_UNKNOWN) throw new UnsupportedError('mountinfo', `mount ${mntId} is a slave whose chain of masters and peers is longer than the program walks`);
  if (flags & SHOW_PATH && r.caller.cgroupNs !== ownNs().cgroup) {
    // cgroup file systems name their roots from the reader's cgroup namespace
    throw new UnsupportedError('mountinfo', `mount ${mntId}'s file system names its root itself, from the reader's cgroup namespace, and the caller's is not the engine's`);
  }
  let p = off + MOUNTINFO.size;
  const at = lens.map((n) => {
    const o = p;
    p += n;
    return o;
  });

  const uniq = dv.getBigUint64(M.unique_id.offset, true);
  const sm = r.statmount(uniq, nsId, STATMOUNT_MNT_BASIC | STATMOUNT_MNT_OPTS | (flags & SHOW_PATH ? STATMOUNT_MNT_ROOT : 0) | (flags & SHOW_DEVNAME ? STATMOUNT_SB_SOURCE : 0));
  if (typeof sm === 'number') throw new UnsupportedError('mountinfo', `statmount() of mount ${mntId} failed with errno ${-sm}`);
  const smv = new DataView(sm);
  if (sm.byteLength < SM.str || smv.getUint32(SM.mnt_id_old, true) !== mntId) {
    throw new BadRecordError('mountinfo', `statmount() of unique id ${uniq} answers for mount ${sm.byteLength >= SM.str ? smv.getUint32(SM.mnt_id_old, true) : '?'}, not ${mntId}: the table changed`);
  }
  if (!(Number(smv.getBigUint64(SM.mask, true)) & STATMOUNT_MNT_BASIC)) throw new UnsupportedError('mountinfo', 'statmount() without STATMOUNT_MNT_BASIC');

  let root: string;
  if (flags & SHOW_PATH) {
    const s = smString(sm, SM.mnt_root, STATMOUNT_MNT_ROOT);
    if (s === undefined) throw new UnsupportedError('mountinfo', `statmount() gives no root of mount ${mntId} (STATMOUNT_MNT_ROOT)`);
    root = s;
  } else {
    root = joinPath(buf, at[0], lens[0], 'root') + (flags & ROOT_DELETED ? '//deleted' : '');
  }
  const mntFlags = dv.getUint32(M.mnt_flags.offset, true);
  const sbFlags = dv.getUint32(M.sb_flags.offset, true);
  let mo = mntFlags & MNT_READONLY ? 'ro' : 'rw';
  for (const [bit, s] of MNT_OPTS) if (mntFlags & bit) mo += s;
  if (Number(smv.getBigUint64(SM.mnt_attr, true)) & MOUNT_ATTR_IDMAP) mo += ',idmapped';
  const master = dv.getInt32(M.master.offset, true);
  const dom = dv.getInt32(M.dominating.offset, true);
  if (flags & SHARED) mo += ` shared:${dv.getInt32(M.shared.offset, true)}`;
  if (master) {
    mo += ` master:${master}`;
    if (dom && dom !== master) mo += ` propagate_from:${dom}`;
  }
  if (flags & UNBINDABLE) mo += ' unbindable';

  let src: string;
  if (flags & SHOW_DEVNAME) {
    const s = smString(sm, SM.sb_source, STATMOUNT_SB_SOURCE);
    if (s === undefined) throw new UnsupportedError('mountinfo', `statmount() gives no source of mount ${mntId} (STATMOUNT_SB_SOURCE)`);
    src = escape(s);
  } else {
    src = flags & NO_DEVNAME ? 'none' : escape(latin1(buf, at[2], lens[2]));
  }
  let so = sbFlags & SB_RDONLY ? 'ro' : 'rw';
  for (const [bit, s] of SB_OPTS) if (sbFlags & bit) so += s;
  const opts = smString(sm, SM.mnt_opts, STATMOUNT_MNT_OPTS);
  if (opts) so += ',' + opts;
  let type = escape(latin1(buf, at[3], lens[3]));
  if (lens[4]) type += '.' + escape(latin1(buf, at[4], lens[4]));

  const point = escape(joinPath(buf, at[1], lens[1], 'mount point'));
  return `${mntId} ${dv.getInt32(M.parent_id.offset, true)} ${dv.getUint32(M.dev_major.offset, true)}:${dv.getUint32(M.dev_minor.offset, true)} ${escape(root)} ${point} ${mo} - ${type} ${src} ${so}\n`;
}

const prog = { mechanism: 'bpf:mounts, ring buffer', object: 'mountinfo.bpf.o', program: 'crib_mountinfo' };
const ctx = new Uint8Array(MOUNTINFO_CTX.size);
const w = new PbWriter(64 * 1024);

/** /proc/PID/mountinfo's text for task @pid of the caller */
export function readMountinfo(r: ProgramRunner, pid: number): Buffer {
  r.ring('mounts'); // what an earlier read that failed left
  r.run(pid, ctx);
  const cv = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength);
  const count = cv.getUint32(REQ.members.count.offset, true);
  let nsId = cv.getBigUint64(MOUNTINFO_CTX.members.ns_id.offset, true);
  if (!nsId) {
    // a kernel without namespace ids: statmount() looks in the engine's own namespace only
    const inum = cv.getUint32(MOUNTINFO_CTX.members.ns_inum.offset, true);
    if (inum !== ownNs().mnt) throw new UnsupportedError('mountinfo', `pid ${pid} is in mnt:[${inum}] and statmount() here can only look in the engine's, mnt:[${ownNs().mnt}]`);
  }
  const buf = r.ring('mounts');
  const dv = new DataView(buf);
  let text = '';
  let n = 0;
  for (let p = 0; p < buf.byteLength; ) {
    const len = dv.getUint32(p, true);
    if (len < MOUNTINFO.size || p + 8 + len > buf.byteLength) throw new BadRecordError('mountinfo', `a record of ${len} bytes at ${p} of ${buf.byteLength}`);
    text += line(buf, p + 8, len, r, nsId);
    n++;
    p += 8 + ((len + 7) & ~7);
  }
  if (n !== count) throw new BadRecordError('mountinfo', `${n} records in the ring for ${count} sent`);
  return Buffer.from(text, 'latin1');
}

export const op: OpModule = {
  message: 'crib.MountInfo',
  mechanisms: [prog],
  // asked once per mount namespace
  tree: false,
  read(r, pid) {
    const text = readMountinfo(r, pid);
    w.reset();
    w.bytes(1, text);
    return w.finish();
  },
};
