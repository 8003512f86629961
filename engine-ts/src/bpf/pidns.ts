// Pid namespaces, named as the kernel names them to user space: by the
// inode number of their nsfs file (/proc/PID/ns/pid).  Every pid the
// engine takes or gives is a number in the caller's pid namespace
// (bpf/crib.h, struct crib_req).
import * as fs from 'fs';

/** The inode of /proc/self/ns/pid: this process's pid namespace; undefined when /proc cannot tell. */
export function ownPidNs(): number | undefined {
  try {
    return fs.statSync('/proc/self/ns/pid').ino;
  } catch {
    return undefined;
  }
}

/** PROC_USER_INIT_INO: the init user namespace's inode */
export const INIT_USER_NS_INUM = 0xeffffffd;

/** The inode of /proc/PID/ns/user (PID 'self': this process's); undefined when /proc cannot tell. */
export function userNsOf(pid: number | 'self'): number | undefined {
  try {
    return fs.statSync(`/proc/${pid}/ns/user`).ino;
  } catch {
    return undefined;
  }
}

/** This process's user namespace (the co-process shares CRIU's). */
export function ownUserNs(): number | undefined {
  return userNsOf('self');
}
