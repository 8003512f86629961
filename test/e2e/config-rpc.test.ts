// The engine keys reach CRIU the other two ways: criu.conf and RPC.
// Checked through what the dump recorded in stats-dump, and by crit.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { loadCriuProtos } from '../../engine-ts/src/images/reader';
import { imageDir, readEngineStats } from '../../engine-ts/src/criu/images';
import { runCriu, startWorkload, waitFor, Workload } from '../../engine-ts/src/criu/run';
import { paths, root, tmpdir, workload } from '../helpers';

const criuTree = path.join(root, 'build/criu-src/criu-4.2.1');

describe('e2e: engine options through criu.conf, RPC and crit', function () {
  this.timeout(120000);
  const protos = loadCriuProtos(paths.criuImages);
  let base: string;
  let w: Workload;

  before(async () => {
    base = tmpdir('conf');
    const ready = path.join(base, 'ready');
    w = startWorkload(workload('many'), ['-v', '50', '-f', '20', '-r', ready]);
    await waitFor(() => fs.existsSync(ready), 'the workload to set up');
  });
  after(async () => {
    await w.kill();
    fs.rmSync(base, { recursive: true, force: true });
  });

  it('criu.conf: engine-op picks crib for some ops, procfs keeps the rest', () => {
    const conf = path.join(base, 'criu.conf');
    fs.writeFileSync(conf, `engine procfs\nengine-op vma=crib,fds=crib\nengine-op fds=procfs,fdinfo=crib\nlibdir ${paths.libdir}\n`);
    const dir = path.join(base, 'conf');
    fs.mkdirSync(dir);
    const r = runCriu(paths.criu, ['dump', '-t', String(w.pid), '-D', dir, '-o', 'dump.log', '--leave-running', '--config', conf]);
    assert.equal(r.status, 0, fs.readFileSync(path.join(dir, 'dump.log'), 'utf8').slice(-2000));
    const st = readEngineStats(imageDir(protos, dir));
    const by = (op: string): string | undefined => st.ops.find((o) => o.op === op)?.engine;
    assert.equal(by('vma'), 'crib');
    assert.equal(by('fds'), 'procfs', 'a later engine-op entry must win');
    assert.equal(by('fdinfo'), 'crib');
    assert.equal(by('stat'), 'procfs');
  });

  it('RPC: engine, engine_op and engine_verify in criu_opts', () => {
    const dir = path.join(base, 'rpc');
    fs.mkdirSync(dir);
    const r = spawnSync('/usr/bin/python3', [path.join(root, 'test/e2e/rpc_dump.py'), path.join(criuTree, 'lib'), paths.criu, String(w.pid), dir, 'procfs', 'vma=crib', 'stat=crib'], {
      encoding: 'utf8',
      env: { ...process.env, CRIU_LIBS_DIR: paths.libdir },
    });
    assert.equal(r.status, 0, `${r.stderr}\n${fs.existsSync(path.join(dir, 'dump.log')) ? fs.readFileSync(path.join(dir, 'dump.log'), 'utf8').slice(-2000) : ''}`);
    const st = readEngineStats(imageDir(protos, dir));
    const vma = st.ops.find((o) => o.op === 'vma');
    assert.equal(vma?.engine, 'crib');
    assert.equal(st.ops.find((o) => o.op === 'stat')?.engine, 'crib');
    assert.equal(st.ops.find((o) => o.op === 'fds')?.engine, 'procfs');
    assert.ok((vma?.verifyProcfsNs ?? 0) > 0, 'engine_verify did not reach the dump');
    assert.equal(vma?.verifyMismatches, 0);
  });

  it('crit show stats-dump prints the per-op statistics', () => {
    const dir = path.join(base, 'rpc');
    // Debian's python3 has the protobuf module CRIU's crit needs
    const r = spawnSync('/usr/bin/python3', ['-m', 'crit', 'show', path.join(dir, 'stats-dump')], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: `${path.join(criuTree, 'crit')}:${path.join(criuTree, 'lib')}` },
    });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { entries: { dump: { engine_ops: { op: string; engine: string }[] } }[] };
    const ops = j.entries[0].dump.engine_ops;
    assert.ok(ops.some((o) => o.op === 'vma' && o.engine === 'crib'), r.stdout);
  });
});
