// The BTF of a compiled BPF object, and the check of a TypeScript mirror
// of a record (records.ts, ops/NAME/NAME.ts) against it, member by member.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { StructLayout } from '../../engine-ts/src/bpf/records';
import { paths } from '../helpers';

export interface BtfMember {
  name: string;
  type_id: number;
  bits_offset: number;
}

export interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: BtfMember[];
}

export function loadBtf(object: string): Map<number, BtfType> {
  const file = path.join(paths.objDir, object);
  assert.ok(fs.existsSync(file), `${file} is missing: run make bpf`);
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', file, '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const types = (JSON.parse(out) as { types: BtfType[] }).types;
  return new Map(types.map((t) => [t.id, t]));
}

export function sizeOf(btf: Map<number, BtfType>, id: number): number {
  const t = btf.get(id);
  if (!t) throw new Error(`BTF type ${id} missing`);
  switch (t.kind) {
    case 'INT':
    case 'STRUCT':
    case 'UNION':
    case 'ENUM':
    case 'ENUM64':
      return t.size ?? 0;
    case 'PTR':
      return 8;
    case 'TYPEDEF':
    case 'CONST':
    case 'VOLATILE':
    case 'RESTRICT':
      return sizeOf(btf, t.type_id ?? 0);
    case 'ARRAY':
      return (t.nr_elems ?? 0) * sizeOf(btf, t.type_id ?? 0);
    default:
      throw new Error(`no size for BTF kind ${t.kind}`);
  }
}

/** @layout against struct layout.name in @btf (of @object): size, members in order, offsets, sizes. */
export function checkLayout(btf: Map<number, BtfType>, object: string, layout: StructLayout): void {
  const st = [...btf.values()].find((t) => t.kind === 'STRUCT' && t.name === layout.name);
  assert.ok(st, `no struct ${layout.name} in the BTF of ${object}`);
  assert.strictEqual(st.size, layout.size, `sizeof(struct ${layout.name})`);
  const btfMembers = st.members ?? [];
  assert.deepStrictEqual(
    btfMembers.map((m) => m.name),
    Object.keys(layout.members),
    `members of struct ${layout.name}, in order`,
  );
  for (const m of btfMembers) {
    const ts = layout.members[m.name];
    assert.strictEqual(m.bits_offset % 8, 0, `${layout.name}.${m.name} is a bitfield`);
    assert.deepStrictEqual({ offset: ts.offset, size: ts.size }, { offset: m.bits_offset / 8, size: sizeOf(btf, m.type_id) }, `${layout.name}.${m.name}`);
  }
}
