// Figures, not a test: ns per VMA and per fd of the BPF collector at
// 10,000 VMAs and 10,000 fds (test/workloads/many.c, stopped), split into
// the BPF run alone and run + decode, against reading /proc.
//
//   node build/ts/test/bpf/figures.js [NVMAS [NFDS [ROUNDS]]]
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createCollector } from '../../engine-ts/src/bpf/collector';
import { loadAddon } from '../../engine-ts/src/bpf/native';
import { encodeReq, REQ } from '../../engine-ts/src/bpf/records';
import { paths, tmpdir } from '../helpers';
import { readFds, readSmaps } from './proc';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeIt(rounds: number, fn: () => void): number {
  const ns: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    ns.push(Number(process.hrtime.bigint() - t0));
  }
  return median(ns);
}

async function main(): Promise<void> {
  const nvmas = Number(process.argv[2] ?? 10000);
  const nfds = Number(process.argv[3] ?? 10000);
  const rounds = Number(process.argv[4] ?? 21);
  const dir = tmpdir('figures');
  const ready = path.join(dir, 'ready');
  const proc = spawn(path.join(paths.workloads, 'many'), ['-v', String(nvmas), '-f', String(nfds), '-r', ready], { stdio: 'inherit' });
  try {
    const until = Date.now() + 60000;
    while (!fs.existsSync(ready)) {
      if (Date.now() > until || proc.exitCode !== null) throw new Error('many did not start');
      await new Promise((r) => setTimeout(r, 20));
    }
    const pid = Number(fs.readFileSync(ready, 'utf8'));
    process.kill(pid, 'SIGSTOP');

    const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon });
    const nv = c.vmas(pid).count;
    const nf = c.fds(pid).count;

    // the BPF run alone, through the addon
    const addon = loadAddon(paths.addon);
    const run = (obj: string, prog: string): number => {
      const o = new addon.BpfObject(path.join(paths.objDir, obj));
      o.load();
      const fd = o.progFd(prog);
      const ctx = new Uint8Array(REQ.size);
      const t = timeIt(rounds, () => {
        encodeReq(ctx, pid, c.callerPidNs);
        o.run(fd, ctx);
      });
      o.close();
      return t;
    };
    const vmaRun = run('vma.bpf.o', 'crib_vma');
    const fdRun = run('fds.bpf.o', 'crib_fds');
    const vmaAll = timeIt(rounds, () => c.vmas(pid));
    const fdAll = timeIt(rounds, () => c.fds(pid));
    const statAll = timeIt(rounds, () => c.stat(pid));
    const smaps = timeIt(Math.min(rounds, 5), () => readSmaps(pid));
    const fdinfo = timeIt(Math.min(rounds, 5), () => readFds(pid));
    c.close();

    const per = (ns: number, n: number): string => (ns / n).toFixed(1).padStart(8);
    console.log(`pid ${pid}: ${nv} VMAs, ${nf} fds; medians of ${rounds} rounds`);
    console.log(`                         total us   ns/entry`);
    console.log(`vma  BPF run          ${(vmaRun / 1000).toFixed(0).padStart(10)} ${per(vmaRun, nv)}`);
    console.log(`vma  run + decode     ${(vmaAll / 1000).toFixed(0).padStart(10)} ${per(vmaAll, nv)}`);
    console.log(`vma  /proc smaps      ${(smaps / 1000).toFixed(0).padStart(10)} ${per(smaps, nv)}   (test parser)`);
    console.log(`fds  BPF run          ${(fdRun / 1000).toFixed(0).padStart(10)} ${per(fdRun, nf)}`);
    console.log(`fds  run + decode     ${(fdAll / 1000).toFixed(0).padStart(10)} ${per(fdAll, nf)}`);
    console.log(`fds  /proc fd+fdinfo  ${(fdinfo / 1000).toFixed(0).padStart(10)} ${per(fdinfo, nf)}   (test parser)`);
    console.log(`stat run + decode     ${(statAll / 1000).toFixed(1).padStart(10)}`);
  } finally {
    proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
