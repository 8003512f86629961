// The TypeScript mirror of bpf/crib.h (engine-ts/src/bpf/records.ts)
// against the compiled objects' BTF and the header's #defines: a change on
// one side only fails here.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadAddon } from '../../engine-ts/src/bpf/native';
import { CRIB_ABI_VERSION, decodeFdCols, FD_COLS, FD_LOCKS_HELD, FD_LOCKS_NONE, firstUnordered, ITER_LAYOUTS, LAYOUTS, MAX_FDS, MAX_VMAS, NAMEF_DELETED, NameKind, REC, RecType } from '../../engine-ts/src/bpf/records';
import { paths, root } from '../helpers';
import { BtfType, checkLayout, loadBtf } from './btf';
import * as errnos from '../../engine-ts/src/errors';

/** #define NAME VALUE lines of bpf/crib.h */
function headerDefines(): Map<string, string> {
  const text = fs.readFileSync(path.join(root, 'bpf', 'crib.h'), 'utf8');
  const defs = new Map<string, string>();
  for (const m of text.matchAll(/^#define\s+(CRIB_\w+)\s+(.+?)\s*(?:\/\*.*)?$/gm)) defs.set(m[1], m[2]);
  return defs;
}

function defineValue(defs: Map<string, string>, name: string): number {
  const v = defs.get(name);
  assert.ok(v !== undefined, `crib.h has no ${name}`);
  // values are plain numbers or (1u << N)
  const shift = /^\((\d+)u?\s*<<\s*(\d+)\)$/.exec(v);
  return shift ? Number(shift[1]) << Number(shift[2]) : Number(v.replace(/u$/, ''));
}

describe('records: TypeScript layouts match bpf/crib.h', function () {
  const btfs = new Map<string, Map<number, BtfType>>();
  const btfOf = (object: string): Map<number, BtfType> => {
    let b = btfs.get(object);
    if (!b) btfs.set(object, (b = loadBtf(object)));
    return b;
  };

  for (const { object, layout } of [...LAYOUTS, ...ITER_LAYOUTS]) {
    it(`struct ${layout.name} in ${object}`, function () {
      checkLayout(btfOf(object), object, layout);
    });
  }

  it('constants: ABI version, name kinds and flags', function () {
    const defs = headerDefines();
    assert.strictEqual(defineValue(defs, 'CRIB_ABI_VERSION'), CRIB_ABI_VERSION);
    assert.strictEqual(defineValue(defs, 'CRIB_NAMEF_DELETED'), NAMEF_DELETED);
    assert.strictEqual(defineValue(defs, 'CRIB_MAX_VMAS'), MAX_VMAS, 'CRIB_MAX_VMAS sizes the VMA columns');
    assert.strictEqual(defineValue(defs, 'CRIB_MAX_FDS'), MAX_FDS, 'CRIB_MAX_FDS sizes the fd columns');
    const kinds: Record<string, NameKind> = {
      CRIB_NAME_NONE: NameKind.None,
      CRIB_NAME_PATH: NameKind.Path,
      CRIB_NAME_STRING: NameKind.String,
      CRIB_NAME_HEAP: NameKind.Heap,
      CRIB_NAME_STACK: NameKind.Stack,
      CRIB_NAME_ANON: NameKind.Anon,
      CRIB_NAME_ANON_SHMEM: NameKind.AnonShmem,
      CRIB_NAME_DNAME_SIMPLE: NameKind.DnameSimple,
      CRIB_NAME_DNAME_ANON: NameKind.DnameAnon,
      CRIB_NAME_DNAME_OTHER: NameKind.DnameOther,
    };
    const inHeader = [...defs.keys()].filter((k) => /^CRIB_NAME_[A-Z_]+$/.test(k) && k !== 'CRIB_NAME_MAX');
    assert.deepStrictEqual(inHeader.sort(), Object.keys(kinds).sort(), 'every CRIB_NAME_* kind has a TypeScript twin');
    for (const [k, v] of Object.entries(kinds)) assert.strictEqual(defineValue(defs, k), v, k);
  });

  it('constants: the record types of the seq-iterator streams', function () {
    const defs = headerDefines();
    const types: Record<string, RecType> = { CRIB_REC_END: RecType.End, CRIB_REC_TASK: RecType.Task, CRIB_REC_VMA: RecType.Vma, CRIB_REC_FD: RecType.Fd, CRIB_REC_CTX: RecType.Ctx };
    const inHeader = [...defs.keys()].filter((k) => /^CRIB_REC_[A-Z_]+$/.test(k));
    assert.deepStrictEqual(inHeader.sort(), Object.keys(types).sort(), 'every CRIB_REC_* type has a TypeScript twin');
    for (const [k, v] of Object.entries(types)) assert.strictEqual(defineValue(defs, k), v, k);
    assert.strictEqual(REC.size % 8, 0);
  });

  it('the errnos the BPF programs return are the engine\'s and the kernel\'s (one copy each side)', function () {
    const errs = errnos as unknown as Record<string, number>;
    for (const h of ['crib_bpf.h', 'crib_iter.h']) {
      const text = fs.readFileSync(path.join(root, 'bpf', h), 'utf8');
      for (const m of text.matchAll(/^#define\s+(E[A-Z0-9]+)\s+(\d+)/gm)) {
        const [, name, value] = m;
        assert.strictEqual(Number(value), os.constants.errno[name as keyof typeof os.constants.errno], `${h}: ${name} is the kernel's`);
        if (name in errs) assert.strictEqual(Number(value), errs[name], `${h}: ${name} is errors.ts's`);
      }
    }
    for (const [name, value] of Object.entries(errs)) {
      if (/^E[A-Z0-9]+$/.test(name)) assert.strictEqual(value, os.constants.errno[name as keyof typeof os.constants.errno], `errors.ts: ${name}`);
    }
  });

  it('CRIB_VMF_* are the CR_ENG_VMF_* bits of criu-engine.h', function () {
    const defs = headerDefines();
    const eng = fs.readFileSync(path.join(root, 'criu-patches', 'include', 'criu-engine.h'), 'utf8');
    for (const name of ['IO_PF', 'SHSTK']) {
      const m = new RegExp(`#define CR_ENG_VMF_${name}\\s+\\((\\d+)u << (\\d+)\\)`).exec(eng);
      assert.ok(m, `criu-engine.h has no CR_ENG_VMF_${name}`);
      assert.strictEqual(defineValue(defs, `CRIB_VMF_${name}`), Number(m[1]) << Number(m[2]), name);
    }
  });
});

describe('fd table order check (decodeFdCols)', function () {
  const cases: number[][] = [[], [0], [-1], [0, 1, 2, 9], [0, 0], [3, 2], [0, 1, 2, 2, 5], [0, 5, 1], [7, -2]];

  function colsOf(fds: number[], locks: number[] = fds.map(() => FD_LOCKS_NONE)): ArrayBuffer {
    const b = new ArrayBuffer(FD_COLS.size);
    new Int32Array(b, FD_COLS.members.fd.offset, fds.length).set(fds);
    new Uint32Array(b, FD_COLS.members.locks.offset, locks.length).set(locks);
    return b;
  }

  it('the addon and the JS fallback find the same first unordered entry', function () {
    const addon = loadAddon(paths.addon);
    for (const c of cases) {
      const a = Int32Array.from(c);
      const want = c.findIndex((v, i) => (i === 0 ? v < 0 : v <= c[i - 1]));
      assert.strictEqual(firstUnordered(a), want, `JS, [${c}]`);
      assert.strictEqual(addon.firstUnordered(a), want, `addon, [${c}]`);
    }
    // a long table, broken near its end
    const big = Int32Array.from({ length: 100000 }, (_, i) => 3 * i);
    assert.strictEqual(addon.firstUnordered(big), -1);
    big[99990] = big[99989];
    assert.strictEqual(addon.firstUnordered(big), 99990);
    assert.throws(() => addon.firstUnordered(new Uint32Array(3) as unknown as Int32Array), /Int32Array expected/);
  });

  it('decodeFdCols refuses a table out of order or with a negative fd, with either check', function () {
    const addon = loadAddon(paths.addon);
    for (const check of [firstUnordered, addon.firstUnordered]) {
      assert.deepStrictEqual([...decodeFdCols(1, colsOf([0, 4, 9]), 3, undefined, check).fd], [0, 4, 9]);
      assert.throws(() => decodeFdCols(1, colsOf([0, 4, 4]), 3, undefined, check), /fd 4 after 4: not ascending/);
      assert.throws(() => decodeFdCols(1, colsOf([-3, 4]), 2, undefined, check), /negative fd -3/);
    }
  });

  it('decodeFdCols takes the lock states the programs write and refuses any other', function () {
    assert.deepStrictEqual([...decodeFdCols(1, colsOf([0, 4], [FD_LOCKS_HELD, FD_LOCKS_NONE]), 2).locks], [FD_LOCKS_HELD, FD_LOCKS_NONE]);
    // 0 ("not known") never comes from the programs: a record that says it is not to be trusted
    assert.throws(() => decodeFdCols(1, colsOf([0, 4], [FD_LOCKS_NONE, 0]), 2), /lock state 0 at fd index 1/);
    assert.throws(() => decodeFdCols(1, colsOf([0], [7]), 1), /lock state 7/);
  });
});
