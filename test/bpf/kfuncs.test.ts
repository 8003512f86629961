// Unit: finding the CRIB kfuncs (engine-ts/src/bpf/kfuncs.ts): the BTF
// FUNC reader on the running kernel's BTF and on blobs made here, and the
// bits of crib_kfunc_probe (bpf/fds_fget.bpf.c).
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { btfFuncNames, CRIB_KFUNCS, kfuncsFromBtf, kfuncsOfBits } from '../../engine-ts/src/bpf/kfuncs';
import { paths, root } from '../helpers';

/** A BTF blob: header, the given types (raw words), then the strings. */
function blob(types: number[], strs: string): Buffer {
  const t = Buffer.alloc(types.length * 4);
  types.forEach((w, i) => t.writeUInt32LE(w >>> 0, i * 4));
  const s = Buffer.from(strs, 'latin1');
  const h = Buffer.alloc(24);
  h.writeUInt16LE(0xeb9f, 0);
  h.writeUInt8(1, 2);
  h.writeUInt32LE(24, 4); // hdr_len
  h.writeUInt32LE(0, 8); // type_off
  h.writeUInt32LE(t.length, 12);
  h.writeUInt32LE(t.length, 16); // str_off
  h.writeUInt32LE(s.length, 20);
  return Buffer.concat([h, t, s]);
}

const kind = (k: number, vlen = 0): number => ((k << 24) | vlen) >>> 0;

/** struct NAME of an object's BTF as bpftool prints it, type ids left out */
function btfStruct(object: string, name: string): unknown {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', path.join(paths.objDir, object), '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const t = (JSON.parse(out) as { types: Array<{ kind: string; name: string; size: number; members: Array<{ name: string; bits_offset: number }> }> }).types.find(
    (x) => x.kind === 'STRUCT' && x.name === name,
  );
  assert.ok(t, `no struct ${name} in ${object}`);
  return { size: t.size, members: t.members.map((m) => [m.name, m.bits_offset]) };
}

describe('CRIB kfunc discovery', function () {
  it('reads BTF FUNC names, stepping over the kinds with trailing data', function () {
    // strings: "\0int\0s\0a\0b\0bpf_task_fget\0proto_arg\0"
    const strs = '\0int\0s\0a\0b\0bpf_task_fget\0proto_arg\0';
    const off = (n: string): number => strs.indexOf(`\0${n}\0`) + 1;
    const types = [
      // [1] INT "int": 4 bytes of encoding after
      off('int'), kind(1), 4, 0x20,
      // [2] STRUCT "s" with two members a, b: 12 bytes each
      off('s'), kind(4, 2), 8, off('a'), 1, 0, off('b'), 1, 32,
      // [3] FUNC_PROTO with one arg named like a func: 8 bytes per param, not a FUNC
      0, kind(13, 1), 1, off('proto_arg'), 1,
      // [4] FUNC "bpf_task_fget"
      off('bpf_task_fget'), kind(12), 3,
    ];
    assert.deepStrictEqual([...btfFuncNames(blob(types, strs))], ['bpf_task_fget']);
    assert.throws(() => btfFuncNames(Buffer.from('not btf at all, really')));
  });

  it('finds kernel functions in the running kernel BTF, and no made-up one', function () {
    if (!fs.existsSync('/sys/kernel/btf/vmlinux')) this.skip();
    const funcs = btfFuncNames(fs.readFileSync('/sys/kernel/btf/vmlinux'));
    assert.ok(funcs.has('vfs_read') && funcs.has('bpf_task_release'));
    assert.ok(!funcs.has('crib_no_such_function'));
    const has = kfuncsFromBtf()!;
    assert.deepStrictEqual(Object.keys(has), [...CRIB_KFUNCS]);
  });

  it('fds_fget.bpf.o writes the records of fds.bpf.o, so one decoder serves both', function () {
    for (const name of ['crib_req', 'crib_fd_cols']) assert.deepStrictEqual(btfStruct('fds_fget.bpf.o', name), btfStruct('fds.bpf.o', name), name);
  });

  it("maps crib_kfunc_probe's bits to kfunc names in CRIB_KF_* order", function () {
    const src = fs.readFileSync(path.join(root, 'bpf', 'fds_fget.bpf.c'), 'utf8');
    CRIB_KFUNCS.forEach((k, i) => {
      const m = new RegExp(`#define CRIB_KF_${k.replace(/^bpf_/, '').toUpperCase()}\\s+\\(1 << (\\d+)\\)`).exec(src);
      assert.ok(m, `CRIB_KF_ for ${k} in fds_fget.bpf.c`);
      assert.strictEqual(Number(m[1]), i, k);
    });
    assert.deepStrictEqual(kfuncsOfBits(0b000011), {
      bpf_task_fget: true,
      bpf_put_file: true,
      bpf_get_file_sock: false,
      bpf_put_sock: false,
      bpf_sock_rcvq_len: false,
      bpf_sock_rcvq_read: false,
    });
  });
});
