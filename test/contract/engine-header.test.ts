// The engine/CRIU records have one definition: criu-patches/include/criu-engine.h.
// The patched CRIU tree carries it byte for byte, and the op list it
// declares is the one in proto/crib.proto and in the TypeScript engine.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { FD_LOCKS_HELD, FD_LOCKS_NONE } from '../../engine-ts/src/bpf/records';
import { OP_NAMES } from '../../engine-ts/src/bpf/types';
import { ABI_VERSION } from '../../engine-ts/src/engine/proto';
import { root } from '../helpers';

const header = fs.readFileSync(path.join(root, 'criu-patches/include/criu-engine.h'), 'utf8');

function headerOps(): string[] {
  const m = /enum cr_engine_op \{([\s\S]*?)\};/.exec(header);
  assert.ok(m, 'enum cr_engine_op not found');
  return [...m[1].matchAll(/CR_ENGINE_OP_(\w+),\s*\/\*\s*"(\w+)"/g)].map((x) => x[2]);
}

describe('contract: criu-engine.h', () => {
  it('is carried unchanged by the patched CRIU tree', () => {
    const patched = path.join(root, 'build/criu-src/criu-4.2.1/criu/include/criu-engine.h');
    assert.ok(fs.existsSync(patched), `${patched} missing: the patch series does not add criu-engine.h`);
    assert.equal(fs.readFileSync(patched, 'utf8'), header);
  });

  it('declares the same ops, in the same order, as crib.proto and the engine', () => {
    const ops = headerOps();
    assert.deepEqual(ops, [...OP_NAMES]);
    const proto = fs.readFileSync(path.join(root, 'proto/crib.proto'), 'utf8');
    const m = /enum Op \{([\s\S]*?)\}/.exec(proto);
    assert.ok(m, 'enum Op not found in crib.proto');
    const protoOps = [...m[1].matchAll(/(\w+)\s*=\s*(\d+);/g)].map((x) => [x[1].toLowerCase(), Number(x[2])]);
    assert.deepEqual(protoOps, ops.map((o, i) => [o, i]));
  });

  it('gives the fd lock states the values crib.h and the engine use', () => {
    const bpf = fs.readFileSync(path.join(root, 'bpf/crib.h'), 'utf8');
    const def = (text: string, name: string): number => Number(new RegExp(`#define ${name}\\s+(\\d+)`).exec(text)?.[1]);
    assert.equal(def(header, 'CR_ENG_LOCKS_UNKNOWN'), 0, 'UNKNOWN must be 0: what a zeroed record says');
    assert.equal(def(header, 'CR_ENG_LOCKS_NONE'), def(bpf, 'CRIB_FD_LOCKS_NONE'));
    assert.equal(def(header, 'CR_ENG_LOCKS_HELD'), def(bpf, 'CRIB_FD_LOCKS_HELD'));
    assert.equal(def(header, 'CR_ENG_LOCKS_NONE'), FD_LOCKS_NONE);
    assert.equal(def(header, 'CR_ENG_LOCKS_HELD'), FD_LOCKS_HELD);
  });

  it('has the ABI version the engine answers with', () => {
    assert.equal(Number(/#define CR_ENGINE_ABI_VERSION (\d+)/.exec(header)?.[1]), ABI_VERSION);
  });
});
