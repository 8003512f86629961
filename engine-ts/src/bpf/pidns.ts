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
