// The tree pass of every folder op that has one (bpf/crib_tree.h): through
// map tree_out and through ring buffer tree_rb it gives the same answer
// for every task, and -ESRCH for a pid that is no task.  Op-agnostic: the
// ops come from the registry.
import * as assert from 'assert';
import { spawn } from 'child_process';
import { TREE_MAX } from '../../engine-ts/src/bpf/records';
import { loadFolderOps, readRegistry } from '../../engine-ts/src/engine/ops';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { folderOpEnv } from './folder';

const withTree = loadFolderOps(loadProto().root, readRegistry()).filter((o) => o.module.treeProgram && o.module.treeRingbuf);

for (const op of withTree) {
  describe(`tree pass of op ${op.entry.name}: tree_out and tree_rb`, function () {
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
      const got: Record<'map' | 'ringbuf', string[]> = { map: [], ringbuf: [] };
      for (const via of ['map', 'ringbuf'] as const) {
        env.ops.readTree(op.entry.id, pids, env.caller(), (pid, rec, err) => got[via].push(`${pid}:${err}:${rec ? Buffer.from(rec).toString('hex') : ''}`), via);
      }
      assert.strictEqual(got.map.length, pids.length);
      assert.deepStrictEqual(got.ringbuf, got.map);
      assert.ok(got.map[3].startsWith(`${0x3ffffff0}:-3:`), got.map[3]);
      assert.ok(got.map.filter((x) => x.endsWith(':')).length === 1, 'only the bogus pid has no record');
    });
  });
}
