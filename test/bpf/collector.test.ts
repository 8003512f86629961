// Integration: the BPF collector on the live kernel, field by field
// against /proc, on frozen (SIGSTOPped) processes with one of each kind of
// VMA, fd, thread and child (test/workloads/zoo.c) and on one with 10,000
// VMAs and fds (test/workloads/many.c).
//
// Known differences, normalised here and nowhere else:
//   - [vsyscall] is in smaps but is not a VMA of the mm (x86 gate area): the
//     collector appends it from what the engine's own maps show (its raw
//     vm_flags are not known, so VmFlags are not compared for it).
import * as assert from 'assert';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BpfCollector, createCollector } from '../../engine-ts/src/bpf/collector';
import { NoSuchTaskError, UsageError } from '../../engine-ts/src/errors';
import { paths, tmpdir } from '../helpers';
import { criuVmFlags, readChildren, readFds, readSmaps, readStat, readStatus, readThreads, VM_MNEMONICS } from './proc';

const O_CLOEXEC = 0o2000000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(what: string, cond: () => boolean, ms = 10000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function stateOf(pid: number): string {
  try {
    return readStat(pid).state;
  } catch {
    return '?';
  }
}

interface Workload {
  proc: ChildProcess;
  dir: string;
  pid: number;
  children: number[];
  stop(): Promise<void>;
  kill(): void;
}

/** Starts a workload binary that writes "PID\n" to DIR/ready, and waits for it. */
async function startWorkload(name: string, args: (dir: string) => string[]): Promise<Workload> {
  const bin = path.join(paths.workloads, name);
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run make workloads`);
  const dir = tmpdir(name);
  const proc = spawn(bin, args(dir), { stdio: ['ignore', 'ignore', 'inherit'] });
  const ready = path.join(dir, 'ready');
  await waitFor(`${name} to be ready`, () => fs.existsSync(ready) || proc.exitCode !== null, 60000);
  if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}`);
  const pid = Number(fs.readFileSync(ready, 'utf8').trim());
  const kidsFile = path.join(dir, 'children');
  const children = fs.existsSync(kidsFile)
    ? fs.readFileSync(kidsFile, 'utf8').split('\n').filter(Boolean).map(Number)
    : [];
  const all = [pid, ...children];
  return {
    proc,
    dir,
    pid,
    children,
    // frozen as in a CRIU dump: every thread stopped (zombies stay Z)
    async stop() {
      for (const p of all) if (stateOf(p) !== 'Z') process.kill(p, 'SIGSTOP');
      await waitFor('the workload to stop', () =>
        all.every((p) => {
          const s = stateOf(p);
          return s === 'Z' || readThreads(p).every((t) => ['T', 't'].includes(stateOf(t)));
        }),
      );
    },
    kill() {
      for (const p of all) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone already */
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function permsProt(perms: string): number {
  return (perms[0] === 'r' ? 1 : 0) | (perms[1] === 'w' ? 2 : 0) | (perms[2] === 'x' ? 4 : 0);
}

/** Every difference between the collector's VMAs and smaps, as text. */
function vmaDiffs(c: BpfCollector, pid: number): string[] {
  const t = c.vmas(pid);
  const smaps = readSmaps(pid);
  const diffs: string[] = [];
  if (t.count !== smaps.length) diffs.push(`pid ${pid}: ${t.count} VMAs, smaps has ${smaps.length}`);
  const known = new Map(VM_MNEMONICS);
  for (let i = 0; i < Math.min(t.count, smaps.length); i++) {
    const e = smaps[i];
    const criu = criuVmFlags(e.vmFlags);
    const want: Record<string, unknown> = {
      start: e.start,
      end: e.end,
      pgoff: e.offset,
      devMaj: e.devMaj,
      devMin: e.devMin,
      ino: e.ino,
      prot: permsProt(e.perms),
      shared: e.perms[3] === 's' ? 1 : 0,
      name: e.name,
      mapFlags: criu.mapFlags,
      madv: criu.madv,
      vmflags: criu.vmflags,
    };
    const got: Record<string, unknown> = {
      start: t.start[i],
      end: t.end[i],
      pgoff: t.pgoff[i],
      devMaj: t.devMaj[i],
      devMin: t.devMin[i],
      ino: t.ino[i],
      prot: t.prot[i],
      shared: t.shared[i],
      name: t.names[t.nameIdx[i]],
      mapFlags: t.mapFlags[i],
      madv: t.madv[i],
      vmflags: t.vmflags[i],
    };
    for (const k of Object.keys(want)) {
      if (want[k] !== got[k]) diffs.push(`pid ${pid} VMA ${e.start.toString(16)} ${e.name}: ${k} ${String(got[k])}, /proc ${String(want[k])}`);
    }
    // the VM_* table itself: each mnemonic smaps prints <-> its bit in vm_flags
    if (e.name === '[vsyscall]') continue;
    const raw = t.rawFlags[i];
    for (const [mn, bit] of VM_MNEMONICS) {
      const set = ((raw >> BigInt(bit)) & 1n) === 1n;
      if (set !== e.vmFlags.includes(mn)) diffs.push(`pid ${pid} VMA ${e.start.toString(16)}: VmFlags ${mn} ${e.vmFlags.includes(mn) ? 'shown' : 'absent'} but bit ${bit} ${set ? 'set' : 'clear'}`);
    }
    for (const mn of e.vmFlags) if (!known.has(mn)) diffs.push(`pid ${pid} VMA ${e.start.toString(16)}: unknown VmFlags mnemonic ${mn}`);
  }
  return diffs;
}

function fdDiffs(c: BpfCollector, pid: number): string[] {
  const t = c.fds(pid);
  const want = readFds(pid);
  const diffs: string[] = [];
  const got = Array.from(t.fd);
  if (got.join(',') !== want.map((f) => f.fd).join(',')) diffs.push(`pid ${pid}: fds ${got.join(',')}, /proc ${want.map((f) => f.fd).join(',')}`);
  for (let i = 0; i < Math.min(t.count, want.length); i++) {
    const w = want[i];
    if (t.pos[i] !== w.pos) diffs.push(`pid ${pid} fd ${w.fd}: pos ${t.pos[i]}, /proc ${w.pos}`);
    if (t.flags[i] !== w.flags) diffs.push(`pid ${pid} fd ${w.fd}: flags 0${t.flags[i].toString(8)}, /proc 0${w.flags.toString(8)}`);
    if (t.mntId[i] !== w.mntId) diffs.push(`pid ${pid} fd ${w.fd}: mnt_id ${t.mntId[i]}, /proc ${w.mntId}`);
  }
  return diffs;
}

describe('bpf collector on the live kernel', function () {
  let c: BpfCollector;
  let zoo: Workload;
  let all: number[];

  before(async function () {
    c = createCollector({ objDir: paths.objDir, addonPath: paths.addon });
    zoo = await startWorkload('zoo', (dir) => [dir]);
    await zoo.stop();
    all = [zoo.pid, ...readThreads(zoo.pid).filter((t) => t !== zoo.pid), ...zoo.children];
  });

  after(function () {
    zoo?.kill();
    c?.close();
  });

  it('serves every op with BPF here', function () {
    for (const s of c.support()) assert.ok(s.available, `${s.op}: ${s.reason}`);
    assert.strictEqual(c.support().find((s) => s.op === 'vma')?.mechanism, 'bpf:task_vma_iter');
  });

  it('stat matches /proc/PID/stat (leader, threads, children, a zombie)', function () {
    assert.ok(zoo.children.some((p) => stateOf(p) === 'Z'), 'the zoo has a zombie child');
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
    for (const pid of all) {
      if (stateOf(pid) === 'Z') continue;
      assert.deepStrictEqual(Array.from(c.threads(pid)), readThreads(pid), `pid ${pid}`);
    }
    assert.strictEqual(c.threads(zoo.pid).length, 4);
  });

  it('children match /proc/PID/task/*/children', function () {
    for (const pid of all) {
      if (stateOf(pid) === 'Z') continue;
      assert.deepStrictEqual(Array.from(c.children(pid)), readChildren(pid), `pid ${pid}`);
    }
    assert.strictEqual(c.children(zoo.pid).length, 4);
  });

  it('vma matches /proc/PID/smaps, VmFlags included', function () {
    const diffs: string[] = [];
    for (const pid of [zoo.pid, ...zoo.children]) diffs.push(...vmaDiffs(c, pid));
    assert.deepStrictEqual(diffs, []);
    // the kinds of names the zoo made all came out
    const names = c.vmas(zoo.pid).names;
    for (const want of ['[heap]', '[stack]', '[vdso]', '[vvar]', '/dev/zero (deleted)', '/memfd:zoo (deleted)', '/SYSV00000000 (deleted)', '/dev/shm/crib-zoo-shm (deleted)']) {
      assert.ok(names.includes(want), `no VMA named ${want} in ${names.join(', ')}`);
    }
  });

  it('fds and fdinfo match /proc/PID/fd and fdinfo', function () {
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
    // the largest pid_max: no task has this pid
    for (const op of ['stat', 'status', 'threads', 'children', 'vmas', 'fds'] as const) {
      assert.throws(() => c[op](4194304), NoSuchTaskError, op);
    }
  });

  it('times each op', function () {
    c.takeTimes();
    c.stat(zoo.pid);
    c.vmas(zoo.pid);
    const t = c.takeTimes();
    assert.ok((t.stat ?? 0n) > 0n && (t.vma ?? 0n) > 0n);
    assert.deepStrictEqual(c.takeTimes(), {});
  });

  describe('at 10,000 VMAs and fds', function () {
    let many: Workload;

    before(async function () {
      many = await startWorkload('many', (dir) => ['-v', '10000', '-f', '10000', '-r', path.join(dir, 'ready')]);
      await many.stop();
    });

    after(function () {
      many?.kill();
    });

    it('vma matches smaps', function () {
      const t = c.vmas(many.pid);
      assert.ok(t.count > 10000, `${t.count} VMAs`);
      assert.deepStrictEqual(vmaDiffs(c, many.pid), []);
    });

    it('fds match fdinfo', function () {
      const t = c.fds(many.pid);
      assert.ok(t.count >= 10000, `${t.count} fds`);
      assert.deepStrictEqual(fdDiffs(c, many.pid), []);
    });
  });
});
