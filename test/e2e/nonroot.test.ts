// Servers with tasks of other users: postgres started as its own user, and
// nginx with workers running as www-data.  Stock CRIU reads their rlimits
// with prlimit64(), which needs CAP_SYS_RESOURCE for a task of another
// user, so without it (as on this machine) it cannot dump them.  With
// --engine=crib the limits come from the task (op taskmisc) and the dump
// goes through; the images restore with stock CRIU and the servers answer.
import { strict as assert } from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { imageDir, readEngineStats } from '../../engine-ts/src/criu/images';
import { dump, restore, runCriu, sleep, startWorkload, waitFor, waitPidGone, Workload } from '../../engine-ts/src/criu/run';
import { loadCriuProtos } from '../../engine-ts/src/images/reader';
import { paths, tmpdir } from '../helpers';

/** CAP_SYS_RESOURCE (24) in our effective set */
function haveSysResource(): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m !== null && ((BigInt(`0x${m[1]}`) >> 24n) & 1n) === 1n;
}

/** @pid and every descendant, from /proc/PID/task/TID/children */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    for (const tid of fs.readdirSync(`/proc/${out[i]}/task`)) {
      const kids = fs.readFileSync(`/proc/${out[i]}/task/${tid}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(/\s+/).map(Number));
    }
  }
  return out;
}

function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

function kill(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * Stock CRIU first (left running): it fails on the rlimits where we lack
 * CAP_SYS_RESOURCE; then crib (the tree is killed), stock CRIU restores.
 */
async function dumpBothWays(w: Workload, base: string, what: string): Promise<{ pids: number[]; restored: number }> {
  const pids = tree(w.pid);
  assert.ok(pids.some((p) => uidOf(p) !== 0), `${what}: no task of another user in the tree (uids ${pids.map(uidOf)})`);
  const stockDir = path.join(base, 'stock');
  fs.mkdirSync(stockDir, { recursive: true });
  const s = runCriu(paths.criuStock, ['dump', '-t', String(w.pid), '-D', stockDir, '-o', 'dump.log', '-v4', '--leave-running']);
  const stockLog = fs.readFileSync(path.join(stockDir, 'dump.log'), 'utf8');
  if (!haveSysResource()) {
    assert.notEqual(s.status, 0, `${what}: stock CRIU dumped it without CAP_SYS_RESOURCE`);
    const errors = stockLog.split('\n').filter((l) => / Error /.test(l)).join('\n');
    assert.match(stockLog, /Can't get rlimit \d+: Operation not permitted/, `${what}: stock CRIU failed for another reason:\n${errors}`);
  }
  for (const p of pids) assert.ok(fs.existsSync(`/proc/${p}`), `${what}: pid ${p} gone after stock CRIU's attempt`);

  const img = path.join(base, 'crib');
  dump({ criu: paths.criu, pid: w.pid, dir: img, engine: 'crib', libdir: paths.libdir });
  const st = readEngineStats(imageDir(loadCriuProtos(paths.criuImages), img));
  const tm = st.ops.find((o) => o.op === 'taskmisc');
  assert.ok(tm && tm.engine === 'crib' && tm.calls === pids.length && tm.fallbacks === 0, `${what}: taskmisc ${JSON.stringify(tm)}`);
  await w.exited;
  for (const p of pids) await waitPidGone(p);

  restore({ criu: paths.criuStock, dir: img });
  const restored = pids.filter((p) => fs.existsSync(`/proc/${p}`));
  assert.deepEqual(restored, pids, `${what}: the restored tree`);
  return { pids, restored: w.pid };
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // no keep-alive: an open connection would be an established socket in the dump
    const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: 3000, agent: false, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

describe('e2e: servers with tasks of other users, dumped with crib, restored by stock CRIU', function () {
  this.timeout(120000);
  const cleanup: (() => void)[] = [];
  after(() => {
    for (const c of cleanup.reverse()) c();
  });

  it('postgres, started as user postgres', async function () {
    const bin = fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => fs.existsSync(`${d}/postgres`)) : undefined;
    assert.ok(bin, 'no /usr/lib/postgresql/*/bin/postgres: make deps installs postgresql');
    const base = tmpdir('pg');
    cleanup.push(() => fs.rmSync(base, { recursive: true, force: true }));
    const data = path.join(base, 'data');
    fs.chmodSync(base, 0o755);
    execFileSync('chown', ['postgres:postgres', base]);
    execFileSync('setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', `${bin}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres'], { stdio: 'ignore', cwd: base });
    const port = String(20000 + (process.pid % 20000));
    // its own IPC namespace: CRIU dumps the SysV segment postgres keeps only with the namespace
    const w = startWorkload('unshare', ['--ipc', 'setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--', `${bin}/postgres`, '-D', data, '-k', base, '-c', 'listen_addresses=', '-p', port], base);
    cleanup.push(() => void w.kill());
    const psql = (sql: string) => {
      const r = spawnSync('psql', ['-h', base, '-p', port, '-U', 'postgres', '-tAc', sql], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
      return r.stdout.trim();
    };
    await waitFor(() => fs.existsSync(path.join(base, `.s.PGSQL.${port}`)) && spawnSync('psql', ['-h', base, '-p', port, '-U', 'postgres', '-c', 'select 1']).status === 0, 'postgres to accept connections', 30000);
    psql('create table t (x int); insert into t values (1), (2), (3)');
    await sleep(300); // the background workers settle

    const { pids } = await dumpBothWays(w, path.join(base, 'img'), 'postgres');
    cleanup.push(() => kill(pids));
    await waitFor(() => spawnSync('psql', ['-h', base, '-p', port, '-U', 'postgres', '-c', 'select 1']).status === 0, 'the restored postgres to answer', 15000);
    assert.equal(psql('select sum(x) from t'), '6', 'the table written before the dump');
    psql('insert into t values (4)');
    assert.equal(psql('select count(*) from t'), '4', 'the restored server writes');
    assert.equal(uidOf(pids[0]), uidOf(pids[pids.length - 1]));
  });

  it('nginx, with its workers as www-data', async function () {
    assert.ok(fs.existsSync('/usr/sbin/nginx'), 'no /usr/sbin/nginx: make deps installs nginx-light');
    const base = tmpdir('nginx');
    cleanup.push(() => fs.rmSync(base, { recursive: true, force: true }));
    const port = 20000 + ((process.pid + 7919) % 20000);
    const conf = path.join(base, 'nginx.conf');
    fs.writeFileSync(
      conf,
      [
        'daemon off;',
        'master_process on;',
        'worker_processes 2;',
        'user www-data;',
        `pid ${base}/nginx.pid;`,
        `error_log ${base}/error.log;`,
        'events { worker_connections 64; }',
        'http {',
        '  access_log off;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${base}/${t};`),
        `  server { listen 127.0.0.1:${port}; location / { return 200 "crib\\n"; } }`,
        '}',
        '',
      ].join('\n'),
    );
    const w = startWorkload('/usr/sbin/nginx', ['-c', conf, '-e', `${base}/error.log`], base);
    cleanup.push(() => void w.kill());
    await waitFor(() => {
      try {
        return tree(w.pid).length === 3;
      } catch {
        return false;
      }
    }, 'nginx and its two workers', 15000);
    assert.equal(await httpGet(port), 'crib\n');
    await sleep(200); // the worker closes its side

    const { pids } = await dumpBothWays(w, path.join(base, 'img'), 'nginx');
    cleanup.push(() => kill(pids));
    assert.equal(await httpGet(port), 'crib\n', 'the restored nginx answers');
    assert.deepEqual(pids.slice(1).map(uidOf), [33, 33], 'the workers are www-data again');
  });
});
