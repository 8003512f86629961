#!/usr/bin/env node
// crib: A/B runs of CRIU's procfs engine against the crib engine, kernel
// checks, the demo and the benchmark.
// Each command's module is loaded when it runs: `crib serve` starts
// faster without the others.
import { CribError, UsageError } from '../errors';

const HELP = `usage: crib COMMAND [OPTIONS]

commands:
  check [--json]            what this kernel supports, which ops crib serves here and why not
  ab [OPTIONS] --pid PID    A/B run on a live process tree (dumped with --leave-running)
  ab [OPTIONS] -- CMD ARGS  A/B run on a workload crib starts (and kills afterwards)
      --json                print one JSON object
      --dir DIR             keep the three image directories under DIR
      --no-freeze           don't SIGSTOP the tree across the dumps (a busy workload then differs)
      --settle MS           time a started workload gets to set up (default 500)
      --engine-op LIST      compare --engine=procfs --engine-op LIST instead of --engine=crib
  demo                      dump a live workload with --engine=crib, restore it, print the A/B table
  serve [--socket PATH] [--detach] [--log FILE]
                            the engine as a service: loads the BPF programs once, serves every
                            CRIU whose crib.so connects (see crib serve --help)
  bench [--vmas N] [--fds N] [--runs N] [--verify-runs N] [--json] [--out DIR]
                            per-op figures (medians of --verify-runs --engine-verify dumps, default 5),
                            whole dump and frozen time of stock CRIU, the crib co-process and the
                            crib service on four workloads (--runs each, default 5), the service's
                            connect and start-up times; also as DIR/bench.json and DIR/bench.svg
                            (default build/bench)
  help, COMMAND --help      this text

ab exits 1 when the images differ in the fields the engine served.`;

function intArg(v: string | undefined, name: string): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 0) throw new UsageError(`${name} needs a non-negative integer, got '${v ?? ''}'`);
  return n;
}

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

/** The options before a `--` (what follows it is a workload's own command line). */
function ownOptions(rest: string[]): string[] {
  const end = rest.indexOf('--');
  return end < 0 ? rest : rest.slice(0, end);
}

/** Refuse anything but the options a command takes. */
function onlyOptions(cmd: string, rest: string[], allowed: string[]): void {
  const bad = rest.find((a) => !allowed.includes(a));
  if (bad !== undefined) throw new UsageError(`crib ${cmd}: unknown option '${bad}' (see crib help)`);
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'serve') {
    const { runServe, SERVE_HELP } = await import('../engine/serve');
    if (rest.some((a) => a === '--help' || a === '-h')) {
      process.stdout.write(`${SERVE_HELP}\n`);
      return 0;
    }
    return runServe(rest);
  }
  if (cmd !== undefined && ownOptions(rest).some((a) => a === '--help' || a === '-h')) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${HELP}\n`);
      return cmd === undefined ? 2 : 0;
    case 'check': {
      onlyOptions('check', rest, ['--json']);
      const { checkPassed, formatCheck, runCheck } = await import('./check');
      const r = runCheck();
      process.stdout.write(rest.includes('--json') ? `${JSON.stringify(r, null, 2)}\n` : `${formatCheck(r)}\n`);
      return checkPassed(r) ? 0 : 1;
    }
    case 'ab': {
      let pid: number | undefined;
      let command: string[] | undefined;
      let json = false;
      let dir: string | undefined;
      let freeze = true;
      let settleMs = 500;
      let engineOps: string | undefined;
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        if (a === '--') {
          command = rest.slice(i + 1);
          break;
        } else if (a === '--pid') pid = intArg(rest[++i], '--pid');
        else if (a === '--json') json = true;
        else if (a === '--dir') dir = rest[++i];
        else if (a === '--no-freeze') freeze = false;
        else if (a === '--settle') settleMs = intArg(rest[++i], '--settle');
        else if (a === '--engine-op') engineOps = rest[++i];
        else throw new UsageError(`crib ab: unknown option '${a}' (see crib help)`);
      }
      const { formatAb, runAb } = await import('./ab');
      const r = await runAb({ pid, command, json, dir, freeze, settleMs, engineOps, log: json ? () => undefined : log });
      process.stdout.write(json ? `${JSON.stringify({ ops: r.ops, differences: r.differences, dump_ms: r.dump_ms })}\n` : `${formatAb(r)}\n`);
      return r.differences.length ? 1 : 0;
    }
    case 'demo':
      onlyOptions('demo', rest, []);
      await (await import('./demo')).runDemo(log);
      return 0;
    case 'bench': {
      const { defaultOut, formatBench, runBench } = await import('./bench');
      let vmas = 10000;
      let fds = 10000;
      let runs = 5;
      let verifyRuns = 5;
      let json = false;
      let out = defaultOut();
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        if (a === '--vmas') vmas = intArg(rest[++i], '--vmas');
        else if (a === '--fds') fds = intArg(rest[++i], '--fds');
        else if (a === '--runs') runs = Math.max(1, intArg(rest[++i], '--runs'));
        else if (a === '--verify-runs') verifyRuns = Math.max(1, intArg(rest[++i], '--verify-runs'));
        else if (a === '--json') json = true;
        else if (a === '--out') out = rest[++i] ?? '';
        else throw new UsageError(`crib bench: unknown option '${a}' (see crib help)`);
      }
      if (!out) throw new UsageError('crib bench: --out needs a directory');
      const r = await runBench({ vmas, fds, runs, verifyRuns, json, out, log });
      process.stdout.write(json ? `${JSON.stringify(r)}\n` : `${formatBench(r)}\nwritten: ${out}/bench.json, ${out}/bench.svg\n`);
      return 0;
    }
    default:
      throw new UsageError(`crib: unknown command '${cmd}' (see crib help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof CribError) {
      process.stderr.write(`crib: ${e.message}\n`);
      process.exitCode = e instanceof UsageError ? 2 : 1;
    } else {
      process.stderr.write(`crib: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 70;
    }
  },
);
