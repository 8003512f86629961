// crib.so without CRIU: its answer checks against a fake transport
// (ops-test.c), then the real plugin, shim and engine process together
// (plugin-driver.c), the procfs fixture standing in for the BPF collector.
// Both binaries come from `make plugin`; CRIB_PLUGIN_BUILD overrides where.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ts = path.resolve(__dirname, '..', '..'); // build/ts
const build = process.env.CRIB_PLUGIN_BUILD ?? path.resolve(ts, '..');
const bin = (name: string) => path.join(build, 'plugin', name);
const so = process.env.CRIB_PLUGIN_SO ?? path.join(build, 'lib', 'criu', 'crib.so');

function need(this: Mocha.Context, file: string): void {
  if (!fs.existsSync(file)) this.skip();
}

describe('crib.so', function () {
  this.timeout(60000);

  it('refuses malformed engine answers (ops-test, fake transport)', function () {
    need.call(this, bin('ops-test'));
    const r = spawnSync(bin('ops-test'), { encoding: 'utf8' });
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+ passed, 0 failed$/m);
  });

  it('starts the engine and serves the ops over the socketpair (plugin-driver)', function () {
    need.call(this, bin('plugin-driver'));
    need.call(this, so);
    need.call(this, '/sys/kernel/btf/vmlinux'); // crib.so's init disables itself without BTF
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crib-plugin-'));
    const launcher = path.join(dir, 'crib-engine');
    const main = path.join(ts, 'engine-ts', 'src', 'engine', 'main.js');
    const fixture = path.join(ts, 'test', 'engine', 'fixtures', 'proc-collector.js');
    fs.writeFileSync(launcher, `#!/bin/sh\nCRIB_COLLECTOR='${fixture}' exec '${process.execPath}' '${main}' "$@"\n`, { mode: 0o755 });
    try {
      const r = spawnSync(bin('plugin-driver'), [so, String(process.pid), '200'], {
        encoding: 'utf8',
        env: { ...process.env, CRIB_ENGINE: launcher, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` },
      });
      assert.strictEqual(r.status, 0, r.stderr);
      const kv = Object.fromEntries(r.stdout.split(/\s+/).filter((w) => w.includes('=')).map((w) => w.split('=')));
      assert.deepStrictEqual(
        [kv.init, kv.get_engine_procfs, kv.get_engine_crib, kv.engine_init, kv.stat, kv.stat_pid, kv.status, kv.threads],
        ['0', '-95', '0', '0', '0', String(process.pid), '0', '0'],
        r.stdout + r.stderr,
      );
      assert.strictEqual(kv.stat_gone, '-3');
      assert.deepStrictEqual([kv.vma_rt, kv.fds_rt, kv.prepare, kv.vma_snap, kv.fds_snap, kv.done], ['0', '0', '0', '0', '0', '1']);
      assert.strictEqual(kv.vma_snap_nr, kv.vma_nr);
      assert.ok(Number(kv.vma_nr) > 5);
      assert.match(r.stderr, /crib: engine pid \d+ ready in [\d.]+ ms/);
      this.test!.title += ` (engine ready in ${kv.engine_init_ms} ms, stat round trip ${kv.stat_rtt_us} us)`;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
