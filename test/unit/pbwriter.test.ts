// PbWriter (engine-ts/src/engine/pbwriter.ts) against protobufjs: the
// messages the list ops write by hand decode to what was written, for
// negative int32s, sint32s, uint64s of all 64 bits, lengths of every varint size and submessages
// whose length takes one to three bytes.
import * as assert from 'assert';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { PbWriter } from '../../engine-ts/src/engine/pbwriter';

describe('PbWriter', function () {
  it('writes crib.FdMeta as protobufjs reads it, whatever the sizes', function () {
    const type = loadProto().root.lookupType('crib.FdMeta');
    const w = new PbWriter(16); // small: it must grow, submessages too
    for (const n of [0, 1, 3, 200]) {
      w.reset();
      const want: object[] = [];
      for (let i = 0; i < n; i++) {
        const path = Buffer.alloc(i * 37 % 5000, 0x61 + (i % 26));
        const f = { fd: i * 1000, mode: 0o100644 + i, ino: 2 ** 40 + i, devMajor: i % 4096, devMinor: i * 4099, magic: 0xef53 + i };
        w.message(1, () => {
          w.int32(1, f.fd).uint(2, f.mode).uint(3, f.ino).uint(4, f.devMajor).uint(5, f.devMinor).uint(6, f.magic);
          if (i % 7 === 3) w.sint32(8, -36);
          else w.bytes(7, path);
        });
        want.push(i % 7 === 3 ? { ...f, pathErr: -36 } : { ...f, path: path.toString('base64') });
      }
      const got = type.toObject(type.decode(w.finish()), { longs: Number, bytes: String }) as { fd?: object[] };
      assert.deepStrictEqual(got.fd ?? [], want, `${n} fds`);
    }
  });

  it('writes a negative int32 as ten bytes, as protobufjs does', function () {
    const type = loadProto().root.lookupType('crib.TaskFsFile');
    const w = new PbWriter();
    const m = { mode: 0, ino: 0, devMajor: 0, devMinor: 0, mntId: -1, magic: 0, err: -2 };
    w.uint(1, 0).uint(2, 0).uint(3, 0).uint(4, 0).int32(5, -1).uint(6, 0).sint32(8, -2);
    assert.deepStrictEqual(Buffer.from(w.finish()), Buffer.from(type.encode(type.fromObject(m)).finish()));
  });

  it('writes a uint64 of any of its 64 bits as protobufjs does', function () {
    const type = loadProto().root.lookupType('crib.FdMetaFd');
    const w = new PbWriter();
    const his = [0, 1, 0x1fffff, 0x200000, 0x12345678, 0x7fffffff, 0x80000000, 0xffffffff];
    const los = [0, 1, 0x7f, 0x0fffffff, 0x10000000, 0xdeadbeef, 0xffffffff];
    for (const hi of his) {
      for (const lo of los) {
        w.reset().int32(1, 3).uint(2, 0).uint(3, 0).uint(4, 0).uint(5, 0).uint(6, 0).uint64(9, lo, hi);
        const want = { fd: 3, mode: 0, ino: '0', devMajor: 0, devMinor: 0, magic: '0', fileKey: ((BigInt(hi) << 32n) | BigInt(lo)).toString() };
        const got = type.toObject(type.decode(w.finish()), { longs: String });
        assert.deepStrictEqual(got, want, `hi ${hi.toString(16)} lo ${lo.toString(16)}`);
        assert.deepStrictEqual(Buffer.from(w.finish()), Buffer.from(type.encode(type.fromObject(want)).finish()), `hi ${hi.toString(16)} lo ${lo.toString(16)}: bytes`);
      }
    }
  });
});
