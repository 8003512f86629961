// One error family for the engine and the CLI.  Each error has a stable
// `code` and, where it maps onto CRIU's contract, the negative errno the
// plugin hands back to CRIU (-ENOTSUP means "fall back to procfs").

// The errnos the engine names (Linux x86-64), one copy: the BPF programs'
// are checked against these by test/bpf/records.test.ts.
export const ENOENT = 2;
export const ESRCH = 3;
export const EIO = 5;
export const E2BIG = 7;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EBUSY = 16;
export const EINVAL = 22;
export const ENAMETOOLONG = 36;
export const EPROTO = 71;
/** EOPNOTSUPP and ENOTSUP are the same number on Linux */
export const ENOTSUP = 95;
export const EOPNOTSUPP = 95;

export class CribError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly errno: number = EIO,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The kernel cannot serve this op (program not loadable, feature missing). */
export class UnsupportedError extends CribError {
  constructor(op: string, reason: string) {
    super('ENOTSUP', `${op}: not available on this kernel (${reason}); procfs serves it instead`, ENOTSUP);
  }
}

/** The pid does not name a live task (bad input or the task exited). */
export class NoSuchTaskError extends CribError {
  constructor(pid: number, op: string) {
    super('ESRCH', `${op}: pid ${pid}: no such task (it exited, or the pid is wrong)`, ESRCH);
  }
}

/** A record from the kernel side was short, inconsistent or from an unknown layout. */
export class BadRecordError extends CribError {
  constructor(what: string, detail: string) {
    super('EPROTO', `${what}: bad record from BPF: ${detail}; refusing to guess, rebuild the engine or use --engine=procfs`, EPROTO);
  }
}

/** libbpf or the verifier refused a program; the verifier log is attached. */
export class BpfLoadError extends CribError {
  constructor(what: string, detail: string, readonly log: string = '') {
    super('EBPFLOAD', `${what}: ${detail}${log ? `\n--- verifier log ---\n${log}` : ''}`, ENOTSUP);
  }
}

/** The mmap lock was contended (bpf_iter_task_vma_new returned -EBUSY). */
export class BusyError extends CribError {
  constructor(pid: number, op: string) {
    super('EBUSY', `${op}: pid ${pid}: mm lock busy, try again`, EBUSY);
  }
}

/** Bad input on the command line or in a request. */
export class UsageError extends CribError {
  constructor(message: string) {
    super('EUSAGE', message, EINVAL);
  }
}
