// The tree pass of every folder op that has one (bpf/crib_tree.h): through
// map tree_out, through ring buffer tree_rb and, for a per-task op, in the
// pass of every per-task op (bpf/pertask.bpf.c, map out_NAME) it gives the
// same answer for every task, and -ESRCH for a pid that is no task;
// pertask.bpf.o has a map out_NAME for each per-task op, and only those;
// a task whose record
// has the bytes of the one before gets that one's message, marked same
// (what prepare() sends as OpRecord.same), which is the message a read of
// that task alone gives.  Op-agnostic: the ops come from the registry.
import * as assert from 'assert';
import { spawn } from 'child_process';
import { TREE_MAX } from '../../engine-ts/src/bpf/records';
import { loadFolderOps, PERTASK_OBJECT, readRegistry } from '../../engine-ts/src/engine/ops';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { loadBtf, sizeOf } from './btf';
import { folderOpEnv } from './folder';

const folderOps = loadFolderOps(loadProto().root, readRegistry());
const withTree = folderOps.filter((o) => o.module.treeProgram && o.module.treeRingbuf);

for (const op of withTree) {
  describe(`tree pass of op ${op.entry.name}: tree_out, tree_rb${op.module.treePertask ? ' and crib_pertask' : ''}`, function () {
    this.timeout(60000);
    const env = folderOpEnv(op.entry.name);
    after(() => env.close());

    it('answer the same for every task of a run longer than one pass', function () {
      if (env.collector.programStatus(op.module.treeRingbuf!) !== true) this.skip(); // < 6.2
      const sleepers = Array.from({ length: 8 }, () => spawn('sleep', ['60'], { stdio: 'ignore' }));
      env.kids.push(...sleepers);
      const live = [process.pid, ...sleepers.map((k) => k.pid!)];
      const pids = Array.from({ length: TREE_MAX + 20 }, (_, i) => live[i % live.length]);
      pids[3] = 0x3ffffff0;
      const got: Record<'map' | 'ringbuf' | 'pertask', string[]> = { map: [], ringbuf: [], pertask: [] };
      const vias = op.module.treePertask ? (['map', 'ringbuf', 'pertask'] as const) : (['map', 'ringbuf'] as const);
      for (const via of vias) {
        env.ops.readTree(op.entry.id, pids, env.caller(), (pid, rec, err) => got[via].push(`${pid}:${err}:${rec ? Buffer.from(rec).toString('hex') : ''}`), via);
      }
      assert.strictEqual(got.map.length, pids.length);
      assert.deepStrictEqual(got.ringbuf, got.map);
      if (op.module.treePertask) assert.deepStrictEqual(got.pertask, got.map, 'crib_pertask');
      assert.ok(got.map[3].startsWith(`${0x3ffffff0}:-3:`), got.map[3]);
      assert.ok(got.map.filter((x) => x.endsWith(':')).length === 1, 'only the bogus pid has no record');
    });
  });
}

describe(`${PERTASK_OBJECT}: the pass of every per-task op`, function () {
  it('has a map out_NAME laid out as struct crib_NAME_tree for each op with a treePertask, and no other', function () {
    const btf = loadBtf(PERTASK_OBJECT);
    const maps = [...btf.values()].find((t) => t.kind === 'DATASEC' && t.name === '.maps');
    assert.ok(maps, `${PERTASK_OBJECT} has no .maps section`);
    const vars = ((maps as unknown as { vars: { type_id: number }[] }).vars ?? []).map((v) => btf.get(v.type_id)!);
    const outs = vars.filter((v) => v.name.startsWith('out_')).map((v) => v.name.slice(4)).sort();
    const want = folderOps.filter((o) => o.module.treePertask).map((o) => o.entry.name).sort();
    assert.ok(want.length > 1, 'fewer than two per-task ops');
    assert.deepStrictEqual(outs, want);
    // err[TREE_MAX], then TREE_MAX records of the size the engine lends the pass with (crib.so checks it against its own)
    for (const o of folderOps.filter((x) => x.module.treePertask)) {
      const t = [...btf.values()].find((x) => x.kind === 'STRUCT' && x.name === `crib_${o.entry.name}_tree`);
      assert.ok(t, `no struct crib_${o.entry.name}_tree in ${PERTASK_OBJECT}`);
      assert.strictEqual(sizeOf(btf, t.id), (4 + o.module.treeRecordSize!) * TREE_MAX, `struct crib_${o.entry.name}_tree`);
    }
  });
});

describe('tree reads of every folder op read in prepare(): records the same as the one before', function () {
  this.timeout(60000);
  const sames = new Map<string, number>();
  after(() => {
    // the sleepers share everything but their auxv (AT_RANDOM) and fds: the memo must have been used
    assert.ok([...sames.values()].some((n) => n > 0), `no op marked a record the same: ${[...sames].join(', ')}`);
  });
  for (const op of folderOps.filter((o) => o.module.tree)) {
    it(`${op.entry.name}: a record marked same is the message before it and the task's own`, function () {
      const env = folderOpEnv(op.entry.name);
      try {
        const sleepers = Array.from({ length: 6 }, () => spawn('sleep', ['60'], { stdio: 'ignore' }));
        env.kids.push(...sleepers);
        const live = sleepers.map((k) => k.pid!);
        const pids = [...live.slice(0, 3), 0x3ffffff0, ...live.slice(3), process.pid];
        const got: { pid: number; msg: string; same: boolean }[] = [];
        let before: string | undefined;
        env.ops.readTree(op.entry.id, pids, env.caller(), (pid, rec, err, same) => {
          const msg = rec ? Buffer.from(rec).toString('hex') : '';
          if (same) assert.strictEqual(msg, before, `pid ${pid}: marked same, but not the message before it`);
          if (rec) before = msg;
          else assert.ok(err < 0 && !same, `pid ${pid}: neither a message nor an errno`);
          got.push({ pid, msg, same });
        });
        assert.deepStrictEqual(got.map((g) => g.pid).sort(), [...pids].sort());
        sames.set(op.entry.name, got.filter((g) => g.same).length);
        for (const g of got.filter((x) => x.same)) {
          assert.strictEqual(g.msg, Buffer.from(env.ops.read(op.entry.id, g.pid, env.caller())).toString('hex'), `pid ${g.pid}: the message read alone`);
        }
      } finally {
        env.close();
      }
    });
  }
});
