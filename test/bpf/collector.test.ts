// Integration: the BPF collector on the live kernel, field by field
// against /proc, on frozen (SIGSTOPped) processes with one of each kind of
// VMA, fd, thread and child (test/workloads/zoo.c) and on one with 10,000
// VMAs and fds (test/workloads/many.c).
//
// The agreement tests run once per set of mechanisms (SETS): the SYSCALL
// programs, the seq-iterator fallbacks (each op forced to its mechanism,
// as CRIB_MECHANISM does), so every mechanism is checked on every kernel
// that can load it.  An op that a set cannot serve on this kernel is
// skipped, with its reason printed, once the op has been seen to report
// UnsupportedError with that reason.
//
// Known differences, normalised here and nowhere else:
//   - [vsyscall] is in smaps but is not a VMA of the mm (x86 gate area): the
//     collector appends it from what the engine's own maps show (its raw
//     vm_flags are not known, so VmFlags are not compared for it).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { BpfCollector, createCollector, SOURCES } from '../../engine-ts/src/bpf/collector';
import { MechanismChoice, parseMechanisms } from '../../engine-ts/src/bpf/mechanisms';
import { OP_NAMES, OpName } from '../../engine-ts/src/bpf/types';
import { NoSuchTaskError, UnsupportedError, UsageError } from '../../engine-ts/src/errors';
import { paths } from '../helpers';
import { callOp, fdDiffs, O_CLOEXEC, startWorkload, stateOf, vmaDiffs, Workload } from './agreement';
import { readChildren, readStat, readStatus, readThreads } from './proc';

/** Each op forced to the mechanism of SOURCES chosen by pick. */
function forced(pick: (op: OpName) => string): MechanismChoice {
  const m: MechanismChoice = {};
  for (const op of OP_NAMES) m[op] = pick(op);
  return m;
}

const SETS: Array<{ label: string; mechanisms: MechanismChoice }> = [
  { label: 'SYSCALL programs', mechanisms: forced((op) => SOURCES[op][0].mechanism) },
  { label: 'seq-iterator fallbacks', mechanisms: forced((op) => SOURCES[op].find((s) => s.reader === 'iter')!.mechanism) },
  // ---- CRIB kfuncs (kernel-patches/): served only by a kernel with the series, else skipped with the reason ----
  {
    label: 'CRIB kfuncs (bpf:task_fget)',
    mechanisms: forced((op) => (SOURCES[op].some((s) => s.mechanism === 'bpf:task_fget') ? 'bpf:task_fget' : SOURCES[op][0].mechanism)),
  },
];
// CRIB_MECHANISM set for the run (make test-kernel-patches): one more set, the other ops by their best mechanism
if (process.env.CRIB_MECHANISM) {
  const env = parseMechanisms(process.env.CRIB_MECHANISM);
  SETS.push({ label: `CRIB_MECHANISM=${process.env.CRIB_MECHANISM}`, mechanisms: forced((op) => env[op] ?? SOURCES[op][0].mechanism) });
}
// ---- end CRIB kfuncs ----

/** What the kernel's BTF names (kfuncs the SYSCALL programs need). */
function kernelHas(name: string): boolean {
  try {
    return fs.readFileSync('/sys/kernel/btf/vmlinux').includes(Buffer.from(`\0${name}\0`));
  } catch {
    return false;
  }
}

/** One call of each op, for checking the UnsupportedError of an op not served. */
const CALL = callOp;

/**
 * Skips the running test unless every op in `ops` is served; before that,
 * checks that each one not served says so with UnsupportedError and its
 * reason, and prints the reason.
 */
function needOps(ctx: Mocha.Context, c: BpfCollector, ...ops: OpName[]): void {
  const missing = c.support().filter((s) => ops.includes(s.op) && !s.available);
  if (missing.length === 0) return;
  for (const s of missing) {
    assert.ok(s.reason, `${s.op}: unavailable without a reason`);
    assert.throws(
      () => CALL[s.op](c, process.pid),
      (e: unknown) => e instanceof UnsupportedError && e.message.includes(s.reason!),
      `${s.op} is not served here, so it must throw UnsupportedError with its reason`,
    );
  }
  const why = missing.map((s) => `${s.op}: ${s.reason}`).join('; ');
  console.log(`      skipped, not served on this kernel: ${why}`);
  ctx.skip();
}

describe('bpf collector on the live kernel', function () {
  let zoo: Workload;
  let many: Workload;
  let all: number[];

  before(async function () {
    zoo = await startWorkload('zoo', (dir) => [dir]);
    await zoo.stop();
    all = [zoo.pid, ...readThreads(zoo.pid).filter((t) => t !== zoo.pid), ...zoo.children];
    many = await startWorkload('many', (dir) => ['-v', '10000', '-f', '10000', '-r', path.join(dir, 'ready')]);
    await many.stop();
  });

  after(function () {
    zoo?.kill();
    many?.kill();
  });

  it('serves every op, each by the best mechanism this kernel loads', function () {
    const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon, mechanisms: {} });
    try {
      const sup = c.support();
      console.log(`      ${sup.map((s) => `${s.op}=${s.mechanism ?? 'unsupported'}`).join(' ')}`);
      for (const s of sup) assert.ok(s.available, `${s.op}: ${s.reason}`);
      // where the kernel has what the SYSCALL programs call, they serve every op
      const kfuncs = ['bpf_task_from_pid', 'bpf_iter_task_vma_new', 'bpf_iter_num_new', 'bpf_rdonly_cast'];
      if (kfuncs.every(kernelHas)) {
        for (const s of sup) assert.strictEqual(s.mechanism, SOURCES[s.op][0].mechanism, s.op);
      }
    } finally {
      c.close();
    }
  });

  it('CRIB_MECHANISM forces a mechanism, and an unknown one leaves the op unsupported', function () {
    const saved = process.env.CRIB_MECHANISM;
    process.env.CRIB_MECHANISM = 'vma=bpf:iter/task_vma,fds=no-such-mechanism';
    try {
      const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon });
      try {
        const sup = new Map(c.support().map((s) => [s.op, s]));
        const vma = sup.get('vma')!;
        if (vma.available) assert.strictEqual(vma.mechanism, 'bpf:iter/task_vma');
        else assert.match(vma.reason ?? '', /bpf:iter\/task_vma/);
        assert.strictEqual(sup.get('fds')?.available, false);
        assert.match(sup.get('fds')?.reason ?? '', /no-such-mechanism/);
        assert.throws(() => c.fds(process.pid), UnsupportedError);
      } finally {
        c.close();
      }
    } finally {
      if (saved === undefined) delete process.env.CRIB_MECHANISM;
      else process.env.CRIB_MECHANISM = saved;
    }
  });

  // ---- CRIB kfuncs (kernel-patches/) ----
  it('bpf:task_fget serves fds and fdinfo where the kernel has bpf_task_fget, and names the missing kfunc where not', function () {
    const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon, mechanisms: { fds: 'bpf:task_fget', fdinfo: 'bpf:task_fget' } });
    try {
      const k = c.kfuncs();
      console.log(`      CRIB kfuncs (${k.method}): ${Object.entries(k.has).map(([n, v]) => `${n}=${v ? 'yes' : 'no'}`).join(' ')}`);
      // the weak-ksym probe (6.4+: a kfunc's address in ld_imm64; else the BTF) agrees with the kernel's BTF
      assert.notStrictEqual(k.method, 'none', k.reason);
      if (k.method !== 'weak ksym') console.log(`      (weak-ksym probe not loaded here: ${k.reason})`);
      for (const [n, v] of Object.entries(k.has)) assert.strictEqual(v, kernelHas(n), n);
      const sup = new Map(c.support().map((s) => [s.op, s]));
      for (const op of ['fds', 'fdinfo'] as const) {
        const s = sup.get(op)!;
        const alt = c.mechanismsFor(op).find((m) => m.mechanism === 'bpf:task_fget')!;
        if (k.has.bpf_task_fget && kernelHas('bpf_task_from_pid')) {
          assert.ok(s.available && s.mechanism === 'bpf:task_fget', `${op}: ${s.reason}`);
          assert.ok(alt.available && alt.serving);
        } else {
          assert.strictEqual(s.available, false);
          assert.match(s.reason ?? '', /bpf:task_fget: .*bpf_task_fget/);
          assert.throws(() => c.fds(process.pid), (e: unknown) => e instanceof UnsupportedError && /bpf_task_fget/.test(e.message));
          assert.strictEqual(alt.available, false);
          assert.match(alt.reason ?? '', /kfunc bpf_task_fget/);
        }
      }
    } finally {
      c.close();
    }
  });

  it('lists every mechanism of an op for crib check, the serving one marked', function () {
    const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon, mechanisms: {} });
    try {
      for (const op of OP_NAMES) {
        const all = c.mechanismsFor(op);
        assert.deepStrictEqual(all.map((m) => m.mechanism), SOURCES[op].map((s) => s.mechanism), op);
        const s = c.support().find((x) => x.op === op)!;
        const serving = all.filter((m) => m.serving);
        if (s.available) assert.deepStrictEqual(serving.map((m) => m.mechanism), [s.mechanism], op);
        else assert.strictEqual(serving.length, 0, op);
        for (const m of all) assert.ok(m.available || (m.reason && m.reason.length > 0), `${op} ${m.mechanism}: no reason`);
        for (const m of all) if (m.serving) assert.ok(m.available);
      }
      console.log(`      fds: ${c.mechanismsFor('fds').map((m) => `${m.mechanism}${m.serving ? ' (serving)' : m.available ? ' (available)' : ' (unavailable)'}`).join(', ')}`);
    } finally {
      c.close();
    }
  });
  // ---- end CRIB kfuncs ----

  for (const set of SETS) {
    describe(`with the ${set.label}`, function () {
      let c: BpfCollector;

      before(function () {
        c = createCollector({ objDir: paths.objDir, addonPath: paths.addon, mechanisms: set.mechanisms });
      });

      after(function () {
        c?.close();
      });

      it('serves each op by the mechanism asked for, or says why not', function () {
        for (const s of c.support()) {
          if (s.available) assert.strictEqual(s.mechanism, set.mechanisms[s.op], s.op);
          else assert.ok(s.reason && s.reason.length > 0, `${s.op}: no reason`);
        }
        console.log(`      ${c.support().map((s) => `${s.op}=${s.available ? s.mechanism : 'unsupported'}`).join(' ')}`);
      });

      it('stat matches /proc/PID/stat (leader, threads, children, a zombie)', function () {
        needOps(this, c, 'stat');
        assert.ok(zoo.children.some((p) => stateOf(p) === 'Z'), 'the zoo has a zombie child');
        // comm as a byte string: 0x80 and 0xff are not UTF-8 (nor windows-1252 round trips)
        assert.strictEqual(c.stat(zoo.pid).comm, 'zoo-\xc3\xa9\x80\xff');
        for (const pid of all) {
          const p = readStat(pid);
          const s = c.stat(pid);
          assert.deepStrictEqual(
            { ...s },
            {
              pid: p.pid,
              ppid: p.ppid,
              pgid: p.pgid,
              sid: p.sid,
              numThreads: p.numThreads,
              exitCode: p.exitCode,
              flags: p.flags,
              state: p.state,
              comm: p.comm,
              startTime: p.startTime,
              startCode: p.startCode,
              endCode: p.endCode,
              startData: p.startData,
              endData: p.endData,
              startBrk: p.startBrk,
              startStack: p.startStack,
              argStart: p.argStart,
              argEnd: p.argEnd,
              envStart: p.envStart,
              envEnd: p.envEnd,
            },
            `pid ${pid}`,
          );
        }
      });

      it('status matches /proc/PID/status (signals, ids, caps, seccomp)', function () {
        needOps(this, c, 'status');
        for (const pid of all) {
          const p = readStatus(pid);
          const s = c.status(pid);
          assert.deepStrictEqual(
            { ...s, uids: [...s.uids], gids: [...s.gids] },
            {
              state: p.state,
              ppid: p.ppid,
              vpid: p.nspid,
              seccompMode: p.seccomp,
              sigpnd: p.sigpnd,
              shdpnd: p.shdpnd,
              sigblk: p.sigblk,
              uids: p.uids,
              gids: p.gids,
              capInh: p.capInh,
              capPrm: p.capPrm,
              capEff: p.capEff,
              capBnd: p.capBnd,
              capAmb: p.capAmb,
            },
            `pid ${pid}`,
          );
        }
        // the zoo made these differ from the defaults: make sure they were seen
        const main = c.status(zoo.pid);
        assert.notStrictEqual(main.sigblk, 0n);
        assert.notStrictEqual(main.sigpnd, 0n);
        assert.notStrictEqual(main.shdpnd, 0n);
        assert.ok(zoo.children.some((k) => stateOf(k) !== 'Z' && c.status(k).seccompMode === 2));
        assert.ok(zoo.children.some((k) => stateOf(k) !== 'Z' && c.status(k).uids[1] === 202));
      });

      it('threads match /proc/PID/task', function () {
        needOps(this, c, 'threads');
        for (const pid of all) {
          if (stateOf(pid) === 'Z') continue;
          assert.deepStrictEqual(Array.from(c.threads(pid)), readThreads(pid), `pid ${pid}`);
        }
        assert.strictEqual(c.threads(zoo.pid).length, 4);
      });

      it('children match /proc/PID/task/*/children', function () {
        needOps(this, c, 'children');
        for (const pid of all) {
          if (stateOf(pid) === 'Z') continue;
          assert.deepStrictEqual(Array.from(c.children(pid)), readChildren(pid), `pid ${pid}`);
        }
        assert.strictEqual(c.children(zoo.pid).length, 4);
      });

      it('vma matches /proc/PID/smaps, VmFlags included', function () {
        needOps(this, c, 'vma');
        const diffs: string[] = [];
        for (const pid of [zoo.pid, ...zoo.children]) diffs.push(...vmaDiffs(c, pid));
        assert.deepStrictEqual(diffs, []);
        // the kinds of names the zoo made all came out
        const names = c.vmas(zoo.pid).names;
        for (const want of ['[heap]', '[stack]', '[vdso]', '[vvar]', '/dev/zero (deleted)', '/memfd:zoo (deleted)', '/SYSV00000000 (deleted)', '/dev/shm/crib-zoo-shm (deleted)']) {
          assert.ok(names.includes(want), `no VMA named ${want} in ${names.join(', ')}`);
        }
        // byte strings, byte for byte: a file name that is not UTF-8
        assert.ok(names.some((n) => n.endsWith('/bytes-\xff\x80\xc3\xa9')), `no VMA of the file named in bytes: ${names.join(', ')}`);
      });

      it('fds and fdinfo match /proc/PID/fd and fdinfo', function () {
        needOps(this, c, 'fds', 'fdinfo');
        const diffs: string[] = [];
        for (const pid of [zoo.pid, ...zoo.children]) diffs.push(...fdDiffs(c, pid));
        assert.deepStrictEqual(diffs, []);
        const t = c.fds(zoo.pid);
        const i = t.fd.indexOf(1000);
        assert.ok(i >= 0 && (t.flags[i] & O_CLOEXEC) !== 0, 'fd 1000 with close-on-exec');
      });

      it('reports a bad pid and a gone task as such', function () {
        assert.throws(() => c.stat(0), UsageError);
        assert.throws(() => c.vmas(-1), UsageError);
        assert.throws(() => c.fds(1.5), UsageError);
        const served = new Set(c.support().filter((s) => s.available).map((s) => s.op));
        // the largest pid_max: no task has this pid
        for (const [op, name] of [['stat', 'stat'], ['status', 'status'], ['threads', 'threads'], ['children', 'children'], ['vma', 'vmas'], ['fds', 'fds']] as const) {
          assert.throws(() => c[name](4194304), served.has(op) ? NoSuchTaskError : UnsupportedError, op);
        }
      });

      it('prefetch: the tables of asking op by op, each for its own pid', function () {
        needOps(this, c, 'vma', 'fds');
        // decoded tables live in stores the next call reuses: keep rows
        const vmaRows = (pid: number): string[] => {
          const t = c.vmas(pid);
          return Array.from({ length: t.count }, (_, i) => `${t.start[i]}-${t.end[i]} ${t.prot[i]} ${t.rawFlags[i]} ${t.names[t.nameIdx[i]]}`);
        };
        const fdRows = (pid: number): string[] => {
          const t = c.fds(pid);
          return Array.from({ length: t.count }, (_, i) => `${t.fd[i]} ${t.pos[i]} ${t.flags[i]} ${t.mntId[i]}`);
        };
        const child = zoo.children.find((p) => stateOf(p) !== 'Z')!;
        const plain = { v: vmaRows(zoo.pid), f: fdRows(zoo.pid), cv: vmaRows(child) };
        c.takeTimes();
        // the zoo's walks are short: side by side only when told to
        const overlapped = c.prefetch(zoo.pid, ['vma', 'fds'], { always: true });
        assert.strictEqual(overlapped, c.support().filter((s) => ['vma', 'fds'].includes(s.op) && s.available && !/iter\//.test(s.mechanism ?? '')).length === 2);
        assert.deepStrictEqual(vmaRows(zoo.pid), plain.v);
        assert.deepStrictEqual(fdRows(zoo.pid), plain.f);
        assert.deepStrictEqual(Object.keys(c.takeTimes()).sort(), ['fds', 'vma']);
        // read ahead for one pid, asked for another: that one's own table
        c.prefetch(zoo.pid, ['vma', 'fds'], { always: true });
        assert.deepStrictEqual(vmaRows(child), plain.cv);
        assert.deepStrictEqual(fdRows(zoo.pid), plain.f);
        // a task that is not there: the error comes with the op's own call
        assert.strictEqual(c.prefetch(4194304, ['vma', 'fds'], { always: true }), overlapped);
        assert.throws(() => c.vmas(4194304), NoSuchTaskError);
        assert.throws(() => c.fds(4194304), NoSuchTaskError);
      });

      it('times each op', function () {
        needOps(this, c, 'stat', 'vma');
        c.takeTimes();
        // a coarse clock (jiffies under qemu once the TSC is found unstable) reads 0 for most
        // short calls: call again until time was charged, for up to two seconds
        let stat = 0n;
        let vma = 0n;
        const until = Date.now() + 2000;
        do {
          c.stat(zoo.pid);
          c.vmas(zoo.pid);
          const t = c.takeTimes();
          assert.deepStrictEqual(Object.keys(t).sort(), ['stat', 'vma']);
          stat += t.stat!;
          vma += t.vma!;
        } while ((stat === 0n || vma === 0n) && Date.now() < until);
        assert.ok(stat > 0n && vma > 0n);
        assert.deepStrictEqual(c.takeTimes(), {});
      });

      describe('at 10,000 VMAs and fds', function () {
        it('vma matches smaps', function () {
          needOps(this, c, 'vma');
          const t = c.vmas(many.pid);
          assert.ok(t.count > 10000, `${t.count} VMAs`);
          assert.deepStrictEqual(vmaDiffs(c, many.pid), []);
        });

        it('prefetch runs the walks side by side for a big task, not for a small one', function () {
          needOps(this, c, 'vma', 'fds');
          const syscall = c.support().filter((s) => ['vma', 'fds'].includes(s.op) && s.available && !/iter\//.test(s.mechanism ?? '')).length === 2;
          assert.strictEqual(c.prefetch(many.pid, ['vma', 'fds']), syscall);
          assert.ok(c.vmas(many.pid).count > 10000);
          assert.ok(c.fds(many.pid).count >= 10000);
          assert.strictEqual(c.prefetch(zoo.pid, ['vma', 'fds']), false);
        });

        it('fds match fdinfo', function () {
          needOps(this, c, 'fds');
          const t = c.fds(many.pid);
          assert.ok(t.count >= 10000, `${t.count} fds`);
          assert.deepStrictEqual(fdDiffs(c, many.pid), []);
        });
      });
    });
  }
});
