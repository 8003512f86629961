// The engine/CRIU records have one definition: criu-patches/include/criu-engine.h.
// The patched CRIU tree carries it byte for byte, and the op list it
// declares is the registry's (ops/registry; see registry.test.ts).
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { FD_LOCKS_HELD, FD_LOCKS_NONE } from '../../engine-ts/src/bpf/records';
import { readRegistry } from '../../engine-ts/src/engine/ops';
import { ABI_VERSION } from '../../engine-ts/src/engine/proto';
import { root } from '../helpers';

const header = fs.readFileSync(path.join(root, 'criu-patches/include/criu-engine.h'), 'utf8');

function headerOps(): string[] {
  const m = /enum cr_engine_op \{([\s\S]*?)\};/.exec(header);
  assert.ok(m, 'enum cr_engine_op not found');
  return [...m[1].matchAll(/CR_ENGINE_OP_(\w+),\s*\/\*\s*"(\w+)"/g)].map((x) => {
    assert.equal(x[1], x[2].toUpperCase(), `CR_ENGINE_OP_${x[1]} is named "${x[2]}"`);
    return x[2];
  });
}

describe('contract: criu-engine.h', () => {
  it('is carried unchanged by the patched CRIU tree', () => {
    const patched = path.join(root, 'build/criu-src/criu-4.2.1/criu/include/criu-engine.h');
    assert.ok(fs.existsSync(patched), `${patched} missing: the patch series does not add criu-engine.h`);
    assert.equal(fs.readFileSync(patched, 'utf8'), header);
  });

  it('declares the ops of ops/registry, in its order, and nothing after them', () => {
    assert.deepEqual(headerOps(), readRegistry().map((e) => e.name));
    assert.match(header, /CR_ENGINE_OP_\w+,\s*\/\*[^*]*\*\/\s*CR_ENGINE_OP__MAX/, 'CR_ENGINE_OP__MAX right after the last op');
  });

  it('has a slot in struct cr_engine_ops for every op, in the registry order, after nr_ops', () => {
    const m = /struct cr_engine_ops \{([\s\S]*?)\n\};/.exec(header);
    assert.ok(m, 'struct cr_engine_ops not found');
    const body = m[1];
    assert.ok(body.indexOf('unsigned int nr_ops;') >= 0, 'nr_ops');
    const slots = [...body.matchAll(/\(\*(\w+)\)\(/g)].map((x) => x[1]);
    const ops = readRegistry().map((e) => e.name);
    assert.deepEqual(slots.slice(slots.length - ops.length), ops, 'the last members are the ops, in order');
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
