// Op auxv: its record against the object's BTF, and its answers against
// /proc/PID/auxv on live processes (this one, a sleeper), and a
// zombie's (none), for each mechanism and the tree pass.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import { TREE_MAX } from '../../engine-ts/src/bpf/records';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { folderOpEnv, FolderOpEnv, zombie } from '../../test/bpf/folder';
import { AUXV, AUXV_CTX, AUXV_TREE, op as auxv } from './auxv';

/** /proc/PID/auxv as 64-bit words, as hex strings (values may pass 2^53) */
function fromProc(pid: number): string[] {
  const b = fs.readFileSync(`/proc/${pid}/auxv`);
  const out: string[] = [];
  for (let i = 0; i + 8 <= b.length; i += 8) out.push(b.readBigUInt64LE(i).toString(16));
  return out;
}

function decode(bytes: Uint8Array): string[] {
  const type = loadProto().root.lookupType('crib.Auxv');
  const m = type.toObject(type.decode(bytes.slice()), { longs: String }) as { word?: string[] };
  return (m.word ?? []).map((x) => BigInt.asUintN(64, BigInt(x)).toString(16));
}

async function sleeper(env: FolderOpEnv): Promise<number> {
  const k = spawn('sleep', ['60'], { stdio: 'ignore' });
  env.kids.push(k);
  await new Promise((r) => k.once('spawn', r));
  // wait for the exec: auxv is the new program's
  for (let i = 0; i < 100 && !/^sleep/.test(fs.readFileSync(`/proc/${k.pid}/comm`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 10));
  return k.pid!;
}

for (const mech of auxv.mechanisms) describe(`op auxv (ops/auxv), mechanism ${mech.mechanism}`, function () {
  this.timeout(60000);
  let env: FolderOpEnv;
  const ops = () => env.ops;
  const caller = () => env.caller();

  before(function () {
    env = folderOpEnv('auxv', mech); // this mechanism only
    if (!ops().support(caller()).find((o) => o.id === env.id)?.available) this.skip(); // this kernel lacks what the mechanism needs
  });
  after(function () {
    env?.close();
  });

  if (mech.reader !== 'iter') it('struct crib_auxv, crib_auxv_ctx and crib_auxv_tree match the BTF of auxv.bpf.o', function () {
    const btf = loadBtf('auxv.bpf.o');
    for (const l of [AUXV, AUXV_CTX, AUXV_TREE]) checkLayout(btf, 'auxv.bpf.o', l);
  });

  it('agrees with /proc/PID/auxv for this process and a sleeper', async function () {
    const mine = fromProc(process.pid);
    assert.ok(mine.length >= 20 && mine.slice(-2).every((w) => w === '0'), 'this process has an auxv ending in AT_NULL');
    assert.deepStrictEqual(decode(ops().read(env.id, process.pid, caller())), mine);
    const pid = await sleeper(env);
    const want = fromProc(pid);
    assert.notDeepStrictEqual(want, mine, 'the sleeper has an auxv of its own (AT_EXECFN, AT_RANDOM...)');
    assert.deepStrictEqual(decode(ops().read(env.id, pid, caller())), want);
  });

  it('a zombie has no auxv (no mm); a pid that is no task is NoSuchTaskError', async function () {
    // /proc refuses to open a zombie's auxv (ESRCH: no mm; 6.1 shows it empty); CRIU dumps no mm of a zombie
    const z = await zombie(env.kids);
    let proc: string[] = [];
    try {
      proc = fromProc(z);
    } catch (e) {
      assert.match(String(e), /ESRCH/);
    }
    assert.deepStrictEqual(proc, []);
    assert.deepStrictEqual(decode(ops().read(env.id, z, caller())), []);
    assert.throws(() => ops().read(env.id, 0x3ffffff0, caller()), NoSuchTaskError);
  });
});

describe('op auxv (ops/auxv), the tree pass (crib_auxv_tree)', function () {
  this.timeout(60000);
  let env: FolderOpEnv;

  before(function () {
    env = folderOpEnv('auxv');
    if (env.collector.programStatus(auxv.treeProgram!) !== true) this.skip(); // < 6.2
  });
  after(function () {
    env?.close();
  });

  it('agrees with /proc/PID/auxv for every task of a run longer than one pass, and says -ESRCH for a pid that is no task', async function () {
    const other = await sleeper(env);
    const live = [process.pid, other];
    const want = new Map(live.map((p) => [p, fromProc(p)]));
    const pids = Array.from({ length: TREE_MAX + 3 }, (_, i) => live[i % 2]);
    pids[5] = 0x3ffffff0;
    let n = 0;
    env.ops.readTree(env.id, pids, env.caller(), (pid, rec, err) => {
      n++;
      if (pid === 0x3ffffff0) assert.strictEqual(err, -3);
      else assert.deepStrictEqual(decode(rec!), want.get(pid), `pid ${pid}`);
    });
    assert.strictEqual(n, pids.length);
  });
});
