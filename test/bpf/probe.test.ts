// Kernel features are probed, not assumed: a program the verifier refuses
// is switched off and its ops report UnsupportedError with the reason,
// while the rest of its object keeps working.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createCollector, loadObject } from '../../engine-ts/src/bpf/collector';
import { loadAddon } from '../../engine-ts/src/bpf/native';
import { UnsupportedError } from '../../engine-ts/src/errors';
import { paths, root, tmpdir } from '../helpers';

describe('bpf probing', function () {
  let dir: string;

  before(function () {
    dir = tmpdir('probe');
  });

  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('switches off a program the verifier refuses and keeps the others', function () {
    const obj = path.join(dir, 'probe.bpf.o');
    execFileSync('clang', ['-g', '-O2', '-target', 'bpf', '-I', paths.objDir, '-c', path.join(root, 'test', 'bpf', 'fixtures', 'probe.bpf.c'), '-o', obj]);
    const lo = loadObject(loadAddon(paths.addon), obj);
    try {
      assert.ok(lo.obj, `object did not load: ${[...lo.failed.values()].join('; ')}`);
      assert.deepStrictEqual([...lo.progFds.keys()], ['probe_good']);
      assert.match(lo.failed.get('probe_bad') ?? '', /probe_bad: load: .*on pointer prohibited/);
    } finally {
      lo.obj?.close();
    }
  });

  it('runs an object\'s *_init programs once after load, and leaves the object unused when one fails', function () {
    const build = (ret: number): string => {
      const obj = path.join(dir, `probe-init${ret}.bpf.o`);
      execFileSync('clang', ['-g', '-O2', '-target', 'bpf', `-DPROBE_INIT=${ret}`, '-I', paths.objDir, '-c', path.join(root, 'test', 'bpf', 'fixtures', 'probe.bpf.c'), '-o', obj]);
      return obj;
    };
    const addon = loadAddon(paths.addon);
    const ok = loadObject(addon, build(0));
    try {
      assert.ok(ok.obj, `object did not load: ${[...ok.failed.values()].join('; ')}`);
      assert.strictEqual(ok.obj.run(ok.progFds.get('probe_good')!, new Uint8Array(8)), 7, 'probe_init did not run before use');
    } finally {
      ok.obj?.close();
    }
    const bad = loadObject(addon, build(-1));
    assert.strictEqual(bad.obj, undefined);
    assert.deepStrictEqual([...bad.progFds.keys()], []);
    assert.match(bad.failed.get('*') ?? '', /set-up: probe_init returned -1 \(EPERM\)/);
  });

  it('reports the ops of a missing object unsupported, with the reason', function () {
    // with their seq-iterator fallbacks, for kernels where the SYSCALL programs do not load (< 6.2)
    for (const o of ['task.bpf.o', 'fds.bpf.o', 'task_iter.bpf.o', 'fds_iter.bpf.o']) fs.symlinkSync(path.join(paths.objDir, o), path.join(dir, o));
    const c = createCollector({ objDir: dir, addonPath: paths.addon });
    try {
      const vma = c.support().find((s) => s.op === 'vma');
      assert.strictEqual(vma?.available, false);
      assert.match(vma?.reason ?? '', /vma\.bpf\.o/);
      assert.throws(() => c.vmas(process.pid), UnsupportedError);
      assert.ok(c.stat(process.pid).pid === process.pid);
      assert.ok(c.fds(process.pid).count > 0);
    } finally {
      c.close();
    }
  });
});
