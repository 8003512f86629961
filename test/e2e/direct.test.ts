// End to end: crib.so runs, in prepare(), the tree passes and the
// iterators the engine lends it (Direct.trees and Direct.iters in
// proto/crib.proto) instead of asking the engine for them, through a
// co-process and through a service, two dumps at once in two slots of
// its maps; --engine-verify checks every answer against /proc.
import { strict as assert } from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { dumpArgs, runCriu, Service, startService, waitFor, Workload } from '../../engine-ts/src/criu/run';
import { paths, root, tmpdir } from '../helpers';

const crib = path.join(root, 'build', 'bin', 'crib');

/** A shell with @n sleeping children. */
async function tree(n: number): Promise<Workload> {
  const c = spawn('sh', ['-c', `i=0; while [ $i -lt ${n} ]; do sleep 100000 & i=$((i+1)); done; wait`], { stdio: 'ignore', detached: true });
  const pid = c.pid!;
  await waitFor(() => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).length >= n;
    } catch {
      return false;
    }
  }, `${n} children of pid ${pid}`);
  return {
    pid,
    exited: new Promise<void>((resolve) => c.once('exit', () => resolve())),
    kill: async () => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
}

interface Ran {
  log: string;
  /** ops the plugin was lent (its log), and run here */
  lent: Set<string>;
  ran: Set<string>;
  /** op -> [crib calls, fallbacks, mismatches] of the stats line */
  stats: Map<string, [number, number, number]>;
}

function ran(log: string): Ran {
  const lent = new Set([...log.matchAll(/direct: op (\w+): its (?:tree pass runs|iterator is read) here/g)].map((m) => m[1]));
  const done = new Set([...log.matchAll(/direct: (\w+): \d+ (?:tree passes run|iterator reads) here/g)].map((m) => m[1]));
  const stats = new Map<string, [number, number, number]>();
  for (const m of log.matchAll(/engine: op (\w+): crib (\d+) calls [\d.]+ ms, (\d+) fallbacks; verify: procfs [\d.]+ ms, (\d+) mismatches/g)) {
    stats.set(m[1], [Number(m[2]), Number(m[3]), Number(m[4])]);
  }
  return { log, lent, ran: done, stats };
}

describe('e2e: prepare() runs the passes the engine lends it', function () {
  this.timeout(300000);
  let base: string;
  let svc: Service | undefined;
  const trees: Workload[] = [];

  before(async () => {
    base = tmpdir('direct');
    svc = await startService(crib, path.join(base, 'run', 'crib.sock'), path.join(base, 'serve.log'), { ...process.env, CRIB_DEBUG: '1' });
  });
  after(async () => {
    await svc?.stop();
    for (const t of trees) await t.kill();
    fs.rmSync(base, { recursive: true, force: true });
  });

  function dumpOf(name: string, pid: number, env: NodeJS.ProcessEnv): Promise<Ran> {
    const dir = path.join(base, name);
    fs.mkdirSync(dir);
    const args = dumpArgs({ criu: paths.criu, pid, dir, engine: 'crib', verify: true, leaveRunning: true, shellJob: true, libdir: paths.libdir });
    return new Promise((resolve, reject) => {
      const c = spawn(paths.criu, args, { stdio: 'ignore', env: { ...process.env, ...env } });
      c.once('exit', (code) => {
        const log = fs.readFileSync(path.join(dir, 'dump.log'), 'utf8');
        if (code !== 0) reject(new Error(`criu dump of ${pid} (${name}) failed:\n${log.split('\n').slice(-15).join('\n')}`));
        else resolve(ran(log));
      });
    });
  }

  /** Every op the plugin was lent ran here, agreed with procfs, and none fell back; the ops served by a single-task program or iterator were lent */
  function check(r: Ran, what: string): void {
    const mech = new Map([...r.log.matchAll(/crib: op (\w+): (bpf:[^\n]+)/g)].map((m) => [m[1], m[2].trim()]));
    const lendable = ['taskmisc', 'nsids', 'auxv', 'timers', 'cgroup', 'taskfs'].filter((op) => mech.get(op) === (op === 'taskfs' ? 'bpf:iter/task' : 'bpf:task'));
    assert.ok(lendable.length > 0, `${what}: no op is served by a program that can be lent:\n${[...mech].join('\n')}`);
    assert.deepEqual([...r.lent].sort(), lendable.sort(), `${what}: lent to the plugin`);
    assert.deepEqual([...r.ran].sort(), lendable.sort(), `${what}: run by the plugin`);
    for (const op of lendable) {
      const s = r.stats.get(op);
      assert.ok(s, `${what}: no stats line for op ${op}`);
      assert.deepEqual(s.slice(1), [0, 0], `${what}: op ${op}: fallbacks and mismatches`);
    }
    const m = /prepare: \d+ pids: .*; (\d+) ops here/.exec(r.log);
    assert.equal(Number(m?.[1]), lendable.length, `${what}: the ops prepare() did here`);
    // the per-task ops, taskfs too, share one pass, bpf/pertask.bpf.c's (where the kernel has bpf_task_from_pid(): their mechanism is bpf:task)
    const shared = [...r.log.matchAll(/direct: op (\w+): its tree pass runs here \(program (\d+), every per-task op's/g)];
    assert.deepEqual(shared.map((x) => x[1]).sort(), lendable.sort(), `${what}: the ops lent the pass of every per-task op`);
    assert.equal(new Set(shared.map((x) => x[2])).size, 1, `${what}: one program for all of them`);
    // CRIU's own cgroup, asked before prepare(): the pass run here for that one pid, not a round trip (checked against procfs above)
    if (lendable.includes('cgroup')) {
      const self = /cg: Dumping cgroups for thread (\d+)/.exec(r.log)?.[1];
      assert.match(r.log, new RegExp(`crib: cgroup: pid ${self}: by its tree pass, here`), `${what}: CRIU's own cgroup`);
    }
  }

  it('a co-process lends them to its CRIU, which runs them and agrees with procfs', async () => {
    const t = await tree(30);
    trees.push(t);
    check(await dumpOf('coprocess', t.pid, { CRIB_SOCKET: '/nonexistent/crib.sock' }), 'co-process');
  });

  it('a service lends each of two dumps at once a slot of its own', async () => {
    const a = await tree(200);
    const b = await tree(200);
    trees.push(a, b);
    const env = { CRIB_SOCKET: svc!.socket };
    const [ra, rb] = await Promise.all([dumpOf('svc-a', a.pid, env), dumpOf('svc-b', b.pid, env)]);
    check(ra, 'service, first dump');
    check(rb, 'service, second dump');
    const slot = (r: Ran) => new Set([...r.log.matchAll(/its tree pass runs here \(program \d+(?:, every per-task op's)?, slot (\d+)\)/g)].map((m) => Number(m[1])));
    // both sessions are open from CRIU's start to its end: the two dumps overlap
    const [sa, sb] = [[...slot(ra)], [...slot(rb)]];
    assert.equal(sa.length, 1, `the first dump's slots: ${sa}`);
    assert.equal(sb.length, 1, `the second dump's slots: ${sb}`);
    assert.notEqual(sa[0], sb[0], 'both dumps were lent one slot');
  });

  it('$CRIB_NO_DIRECT_TREES: nothing is lent, the engine reads the ops, with the same answers', async () => {
    const t = await tree(30);
    trees.push(t);
    const r = await dumpOf('none', t.pid, { CRIB_SOCKET: '/nonexistent/crib.sock', CRIB_NO_DIRECT_TREES: '1' });
    assert.equal(r.lent.size + r.ran.size, 0, `lent ${[...r.lent]}, ran ${[...r.ran]}`);
    for (const [op, s] of r.stats) assert.deepEqual(s.slice(1), [0, 0], `op ${op}: fallbacks and mismatches`);
    assert.match(r.log, /prepare: \d+ pids: .*; 0 ops here/);
    assert.doesNotMatch(r.log, /by its tree pass, here/);
  });
});
