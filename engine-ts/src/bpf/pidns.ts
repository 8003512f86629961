// Pid namespaces, named as the kernel names them to user space: by the
// inode number of their nsfs file (/proc/PID/ns/pid).  Every pid the
// engine takes or gives is a number in the caller's pid namespace
// (bpf/crib.h, struct crib_req).
import * as fs from 'fs';

/** The inode of /proc/self/ns/pid: this process's pid namespace; undefined when /proc cannot tell. */
export function ownPidNs(): number | undefined {
  return nsInum('self', 'pid');
}

/** PROC_USER_INIT_INO: the init user namespace's inode */
export const INIT_USER_NS_INUM = 0xeffffffd;

/** The inode of /proc/PID/ns/@kind (PID 'self': this process's); undefined when /proc cannot tell. */
function nsInum(pid: number | 'self', kind: 'pid' | 'user' | 'cgroup'): number | undefined {
  try {
    return fs.statSync(`/proc/${pid}/ns/${kind}`).ino;
  } catch {
    return undefined;
  }
}

/** The inode of /proc/PID/ns/user */
export function userNsOf(pid: number | 'self'): number | undefined {
  return nsInum(pid, 'user');
}

/** This process's user namespace (the co-process shares CRIU's). */
export function ownUserNs(): number | undefined {
  return userNsOf('self');
}

/** The inode of the initial cgroup namespace (PROC_CGROUP_INIT_INO) */
export const INIT_CGROUP_NS_INUM = 0xeffffffb;

/** The inode of /proc/PID/ns/cgroup (undefined also without cgroup namespaces) */
export function cgroupNsOf(pid: number | 'self'): number | undefined {
  return nsInum(pid, 'cgroup');
}

/**
 * Whether paths the engine names (bpf_d_path() runs in the process that
 * reads an iterator: relative to the engine's root) are what task @pid
 * would read: 'same' when it shares the engine's mount namespace and root,
 * else why not.  readlink() of /proc/PID/root is "/" exactly when its root
 * is ours (or a mount stacked on it, which names paths the same way).
 */
let ownMntNs: string | undefined;

export function rootOf(pid: number): 'same' | string {
  try {
    // ours does not change (setns() of a threaded process cannot change it)
    const mine = (ownMntNs ??= fs.readlinkSync('/proc/self/ns/mnt'));
    const theirs = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
    if (mine !== theirs) return `pid ${pid} is in ${theirs}, the engine in ${mine}`;
    const root = fs.readlinkSync(`/proc/${pid}/root`);
    return root === '/' ? 'same' : `pid ${pid}'s root is ${root} from the engine's`;
  } catch (e) {
    return `cannot compare pid ${pid}'s root with the engine's: ${(e as Error).message}`;
  }
}
