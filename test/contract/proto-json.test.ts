// crib.proto and the op messages (ops/NAME/NAME.proto) have one
// definition; the parsed copy `make ts` writes next to the engine (for a
// faster start) is generated from them and used only while its hash is
// that of their texts.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { PROTO_JSON, protoFiles, protoJson } from '../../engine-ts/src/engine/proto';
import { root } from '../helpers';

describe('contract: the parsed copy of crib.proto and the op messages', () => {
  const file = path.join(root, 'proto/crib.proto');

  it('is what parsing proto/crib.proto gives, for the text it names', () => {
    assert.ok(fs.existsSync(PROTO_JSON), `${PROTO_JSON} missing: make ts writes it`);
    const j = JSON.parse(fs.readFileSync(PROTO_JSON, 'utf8')) as ReturnType<typeof protoJson>;
    const fresh = protoJson(file);
    assert.equal(j.sha256, fresh.sha256, 'made from another crib.proto: run make ts');
    assert.equal(JSON.stringify(protobuf.Root.fromJSON(j.root).toJSON()), JSON.stringify(protobuf.loadSync(protoFiles(file)).toJSON()));
  });

  it('holds the message of every op folder of the registry', () => {
    const files = protoFiles(file);
    assert.ok(files.some((f) => f.endsWith(path.join('ops', 'taskmisc', 'taskmisc.proto'))), files.join(', '));
    for (const f of files) assert.ok(fs.existsSync(f), f);
  });
});
