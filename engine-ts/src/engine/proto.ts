// proto/crib.proto and each op folder's message (ops/NAME/NAME.proto),
// loaded at run time: the one definition the plugin (protobuf-c) and the
// engine (protobufjs) share.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { OP_NAMES, OpName } from '../bpf/types';
import { CribError, ENOENT } from '../errors';
import { readRegistry } from './ops';

/** CR_ENGINE_ABI_VERSION of criu-engine.h this engine serves. */
export const ABI_VERSION = 5;

/** $CRIB_PROTO, else proto/crib.proto in the nearest ancestor that has one (build tree or install). */
export function findProto(env: NodeJS.ProcessEnv = process.env): string {
  if (env.CRIB_PROTO) return env.CRIB_PROTO;
  for (let dir = __dirname, i = 0; i < 8; i++, dir = path.dirname(dir)) {
    const p = path.join(dir, 'proto', 'crib.proto');
    if (fs.existsSync(p)) return p;
  }
  throw new CribError('ENOENT', `proto/crib.proto not found above ${__dirname}; set CRIB_PROTO`, ENOENT);
}

export interface CribProto {
  root: protobuf.Root;
  Request: protobuf.Type;
  Response: protobuf.Type;
  HelloResp: protobuf.Type;
  StatResp: protobuf.Type;
  StatusResp: protobuf.Type;
  PidList: protobuf.Type;
  VmaList: protobuf.Type;
  FdTable: protobuf.Type;
  PrepareResp: protobuf.Type;
  /** Response's field number for each payload */
  respField: Record<string, number>;
}

let loaded: CribProto | undefined;

/**
 * The parsed form of crib.proto, made at build time (`make ts`) next to
 * the compiled engine: parsing the .proto text takes ~9 ms of a service's
 * start, reading this ~3.  It carries the SHA-256 of the text it was made
 * from and is used only while that is the text of @file.
 */
export const PROTO_JSON = path.join(__dirname, 'crib.proto.json');

interface ProtoJson {
  sha256: string;
  root: protobuf.INamespace;
}

function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * crib.proto and the messages of the op folders of the registry next to
 * it (../ops/NAME/NAME.proto, in the build tree and in an install).
 */
export function protoFiles(cribProto: string): string[] {
  const opsDir = path.join(path.dirname(path.dirname(cribProto)), 'ops');
  const files = [cribProto];
  for (const e of readRegistry(path.join(opsDir, 'registry'))) {
    if (e.folder !== 'core') files.push(path.join(opsDir, e.name, `${e.name}.proto`));
  }
  return files;
}

/** Of every file, in order: what PROTO_JSON records to know it was made from these texts. */
function sha256Of(files: string[]): string {
  return sha256(files.map((f) => `${path.basename(f)}\0${sha256(fs.readFileSync(f))}`).join('\n'));
}

/** What PROTO_JSON holds for @file and the op messages next to it. */
export function protoJson(file: string): ProtoJson {
  const files = protoFiles(file);
  return { sha256: sha256Of(files), root: protobuf.loadSync(files).toJSON() };
}

function parse(file: string): protobuf.Root {
  const files = protoFiles(file);
  try {
    const j = JSON.parse(fs.readFileSync(PROTO_JSON, 'utf8')) as ProtoJson;
    if (j.sha256 === sha256Of(files)) return protobuf.Root.fromJSON(j.root).resolveAll() as protobuf.Root;
  } catch {
    // none made, or unreadable: parse the text
  }
  return protobuf.loadSync(files);
}

export function loadProto(file: string = findProto()): CribProto {
  if (loaded) return loaded;
  const root = parse(file);
  const t = (n: string) => root.lookupType(`crib.${n}`);
  const Response = t('Response');
  const respField: Record<string, number> = {};
  for (const f of Response.oneofs.resp.fieldsArray) respField[f.name] = f.id;
  loaded = {
    root,
    Request: t('Request'),
    Response,
    HelloResp: t('HelloResp'),
    StatResp: t('StatResp'),
    StatusResp: t('StatusResp'),
    PidList: t('PidList'),
    VmaList: t('VmaList'),
    FdTable: t('FdTable'),
    PrepareResp: t('PrepareResp'),
    respField,
  };
  return loaded;
}

/** crib.Op value of an op name: the order of enum cr_engine_op. */
export function opNumber(op: OpName): number {
  return OP_NAMES.indexOf(op);
}

/** A uint64 as protobufjs takes it without long.js: low and high words. */
export interface U64 {
  low: number;
  high: number;
  unsigned: true;
}

export function u64(v: bigint): U64 {
  return { low: Number(v & 0xffffffffn) | 0, high: Number((v >> 32n) & 0xffffffffn) | 0, unsigned: true };
}

// node proto.js --json: writes PROTO_JSON from the crib.proto findProto() finds (make ts)
if (require.main === module && process.argv[2] === '--json') {
  fs.writeFileSync(PROTO_JSON, `${JSON.stringify(protoJson(findProto()))}\n`);
}
