// ops/registry names every op once; every other list of ops is made from
// it or checked here: criu-engine.h (engine-header.test.ts), CRIU's op
// names, the plugin's op table (build/plugin/crib_ops.h), the engine's
// core ops and request kinds, each folder op's files, programs and message.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { OP_NAMES } from '../../engine-ts/src/bpf/types';
import { FolderOps, loadFolderOps, parseRegistry, readRegistry } from '../../engine-ts/src/engine/ops';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { paths, root } from '../helpers';

const registry = readRegistry(path.join(root, 'ops', 'registry'));
const folderOps = registry.filter((e) => e.folder !== 'core');

/** What plugin/gen-ops.awk makes of @text: [status, stdout, stderr] */
function genOps(text: string): [number, string, string] {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crib-registry-')), 'registry');
  fs.writeFileSync(f, text);
  const r = spawnSync('awk', ['-f', path.join(root, 'plugin', 'gen-ops.awk'), f], { encoding: 'utf8' });
  fs.rmSync(path.dirname(f), { recursive: true });
  return [r.status ?? -1, r.stdout, r.stderr];
}

describe('contract: ops/registry', () => {
  it('numbers the ops 0, 1, 2, ... with the core ops first', () => {
    assert.deepEqual(registry.map((e) => e.id), registry.map((_, i) => i));
    const firstFolder = registry.findIndex((e) => e.folder !== 'core');
    assert.ok(firstFolder < 0 || registry.slice(firstFolder).every((e) => e.folder !== 'core'), 'no core op after a folder op');
  });

  it("the engine's core ops are the registry's, in order", () => {
    assert.deepEqual([...OP_NAMES], registry.filter((e) => e.folder === 'core').map((e) => e.name));
  });

  it("CRIU's op names (criu/engine.c of the patched tree) are the registry's", () => {
    const engineC = fs.readFileSync(path.join(root, 'build/criu-src/criu-4.2.1/criu/engine.c'), 'utf8');
    const m = /static const char \*op_names\[CR_ENGINE_OP__MAX\] = \{([\s\S]*?)\};/.exec(engineC);
    assert.ok(m, 'op_names not found in engine.c');
    const names = [...m[1].matchAll(/\[CR_ENGINE_OP_(\w+)\] = "(\w+)"/g)].map((x) => [x[1], x[2]]);
    assert.deepEqual(names, registry.map((e) => [e.name.toUpperCase(), e.name]));
  });

  it("the plugin's op table is what gen-ops.awk makes of the registry now", () => {
    const [status, out, err] = genOps(fs.readFileSync(path.join(root, 'ops', 'registry'), 'utf8'));
    assert.equal(status, 0, err);
    assert.equal(fs.readFileSync(path.join(root, 'build/plugin/crib_ops.h'), 'utf8'), out, 'build/plugin/crib_ops.h is stale: make plugin');
    assert.match(out, new RegExp(`#define CRIB_NR_OPS ${registry.length}\\b`));
    assert.match(out, new RegExp(`#define CRIB_OP_NAMES \\{ ${registry.map((e) => `"${e.name}"`).join(', ')} \\}`));
  });

  for (const [what, text, why] of [
    ['a gap in the ids', '0 stat core x\n2 status core y\n', /id 2 where 1 was expected/],
    ['an op named twice', '0 stat core x\n1 stat core y\n', /named twice/],
    ['a folder not named after the op', '0 stat core x\n1 misc ops/other y\n', /neither core nor ops\/misc/],
    ['a name that is no C identifier', '0 Stat core x\n', /.+/],
  ] as [string, string, RegExp][]) {
    it(`is refused with ${what}, by the engine and by the plugin's generator`, () => {
      assert.throws(() => parseRegistry(text), why);
      const [status, , err] = genOps(text);
      assert.notEqual(status, 0, 'gen-ops.awk took it');
      assert.match(err, /registry:\d+: /);
    });
  }

  describe('each op of a folder', () => {
    const proto = loadProto();
    for (const e of folderOps) {
      const dir = path.join(root, e.folder);
      it(`${e.name}: has its record header, BPF program, message, engine module, plugin converter and their tests`, () => {
        for (const f of [`${e.name}.h`, `${e.name}.bpf.c`, `${e.name}.proto`, `${e.name}.ts`, `${e.name}.c`, `${e.name}_test.c`, `${e.name}.test.ts`]) {
          assert.ok(fs.existsSync(path.join(dir, f)), `${e.folder}/${f} missing`);
        }
      });
      it(`${e.name}: its module loads, its message is in the protos, its programs are built`, () => {
        const [op] = loadFolderOps(proto.root, [e]);
        assert.equal(op.type.fullName, `.${op.module.message}`);
        for (const m of op.module.mechanisms) assert.ok(fs.existsSync(path.join(paths.objDir, m.object)), `${m.object} not built: bpf/bpf.mk builds ${e.folder}/*.bpf.c`);
      });
    }
    it('are all offered in hello by a server with no collector, as unavailable with a reason', () => {
      const f = new FolderOps(loadFolderOps(proto.root), undefined);
      const s = f.support(undefined);
      assert.deepEqual(s.map((o) => o.id), folderOps.map((e) => e.id));
      for (const o of s) assert.ok(!o.available && o.reason, `op #${o.id}`);
    });
  });

  it('crib.proto names no op: requests are the core ops, hello, prepare, shutdown and the generic OpReq', () => {
    const proto = loadProto();
    const kinds = proto.Request.oneofs.req.fieldsArray.map((f) => f.name).sort();
    const coreReqs = OP_NAMES.filter((o) => o !== 'fdinfo'); // fdinfo comes in the fds FdTable
    assert.deepEqual(kinds, [...coreReqs, 'hello', 'prepare', 'shutdown', 'op'].sort());
    assert.ok(!proto.root.lookupEnum || !(() => { try { return proto.root.lookupEnum('crib.Op'); } catch { return undefined; } })(), 'crib.Op enum is gone');
  });
});
