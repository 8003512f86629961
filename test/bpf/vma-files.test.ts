// The mapped file's identity in the VMA table (criu-patches 0012): for
// every file mapping, the mount and the open mode the programs give are
// what CRIU would learn from the mapping's map_files link (its mode, and
// the fdinfo of the file it opens), for each vma mechanism.  CRIU opens a
// file mapped by several tasks once per dump on the strength of these.
import * as assert from 'assert';
import * as fs from 'fs';
import { createCollector, SOURCES } from '../../engine-ts/src/bpf/collector';
import { FMODE_READ, FMODE_WRITE } from '../../engine-ts/src/bpf/records';
import { paths } from '../helpers';

/** What map_files says of the mapping [start, end) of @pid: [mnt_id, fmode], or undefined (no link) */
function mapFile(pid: number, start: bigint, end: bigint): [number, number] | undefined {
  const link = `/proc/${pid}/map_files/${start.toString(16)}-${end.toString(16)}`;
  let st: fs.Stats;
  try {
    st = fs.lstatSync(link);
  } catch {
    return undefined;
  }
  const fmode = (st.mode & 0o400 ? FMODE_READ : 0) | (st.mode & 0o200 ? FMODE_WRITE : 0);
  const fd = fs.openSync(link, 'r');
  try {
    const m = /^mnt_id:\s+(\d+)$/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    assert.ok(m, 'mnt_id in fdinfo');
    return [Number(m[1]), fmode];
  } finally {
    fs.closeSync(fd);
  }
}

for (const src of SOURCES.vma) {
  describe(`vma: the mapped files' mount and open mode (${src.mechanism})`, function () {
    it('are what map_files shows, for every file mapping of this process; -1 and 0 without a file', function () {
      const c = createCollector({ objDir: paths.objDir, addonPath: paths.addon, mechanisms: { vma: src.mechanism } });
      try {
        if (!c.support().find((o) => o.op === 'vma')?.available) this.skip();
        const t = c.vmas(process.pid);
        let files = 0;
        for (let i = 0; i < t.count; i++) {
          const name = t.names[t.nameIdx[i]];
          const want = mapFile(process.pid, t.start[i], t.end[i]);
          if (!want) {
            // no file, or gone since (this process maps and unmaps as it runs)
            if (t.ino[i] === 0n && t.devMaj[i] === 0 && t.devMin[i] === 0) assert.deepStrictEqual([t.mntId[i], t.fmode[i]], [-1, 0], `VMA ${i} (${name}) has no file`);
            continue;
          }
          assert.deepStrictEqual([t.mntId[i], t.fmode[i]], want, `VMA ${i}: ${name}`);
          files++;
        }
        assert.ok(files >= 3, `only ${files} file mappings checked`);
      } finally {
        c.close();
      }
    });
  });
}
