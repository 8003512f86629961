// crib.proto has one definition; the parsed copy `make ts` writes next to
// the engine (for a faster start) is generated from it and used only
// while its hash is that of the text.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { PROTO_JSON, protoJson } from '../../engine-ts/src/engine/proto';
import { root } from '../helpers';

describe('contract: the parsed copy of crib.proto', () => {
  const file = path.join(root, 'proto/crib.proto');

  it('is what parsing proto/crib.proto gives, for the text it names', () => {
    assert.ok(fs.existsSync(PROTO_JSON), `${PROTO_JSON} missing: make ts writes it`);
    const j = JSON.parse(fs.readFileSync(PROTO_JSON, 'utf8')) as ReturnType<typeof protoJson>;
    const fresh = protoJson(file);
    assert.equal(j.sha256, fresh.sha256, 'made from another crib.proto: run make ts');
    assert.equal(JSON.stringify(protobuf.Root.fromJSON(j.root).toJSON()), JSON.stringify(protobuf.loadSync(file).toJSON()));
  });
});
