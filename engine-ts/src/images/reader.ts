// Reads CRIU image files with protobufjs, using CRIU's own images/*.proto
// from the fetched CRIU source (never a copy of ours).
//
// Image layout: a u32 magic; when it is the common or service magic, a
// second u32 names the image.  Then entries: u32 size + packed message.
import * as fs from 'fs';
import * as path from 'path';
import * as protobuf from 'protobufjs';
import { CribError } from '../errors';

const IMG_COMMON_MAGIC = 0x54564319;
const IMG_SERVICE_MAGIC = 0x55105940;

export class ImageError extends CribError {
  constructor(file: string, detail: string) {
    super('EIMAGE', `${file}: ${detail}`);
  }
}

export type Entry = Record<string, unknown>;

/** Loads every images/*.proto of a CRIU source tree. */
export function loadCriuProtos(imagesDir: string): protobuf.Root {
  if (!fs.existsSync(path.join(imagesDir, 'inventory.proto'))) {
    throw new CribError('ENOPROTO', `CRIU's image definitions not found in ${imagesDir}; run make (it fetches CRIU's source)`);
  }
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    // descriptor.proto comes with libprotobuf-dev; CRIU's own files sit flat
    if (target.startsWith('google/protobuf/')) {
      const local = path.join(imagesDir, target);
      return fs.existsSync(local) ? local : path.join('/usr/include', target);
    }
    return path.join(imagesDir, path.basename(target));
  };
  const files = fs.readdirSync(imagesDir).filter((f) => f.endsWith('.proto'));
  root.loadSync(files.map((f) => path.join(imagesDir, f)), { keepCase: true });
  for (const t of allTypes(root)) {
    for (const f of t.fieldsArray) {
      if (f.type === 'string') {
        f.type = 'bytes';
        textFields.add(f);
      }
    }
  }
  return root;
}

/**
 * CRIU's `string` fields (comm, paths) hold the kernel's bytes, which need
 * not be UTF-8; protobufjs would decode them as UTF-8 and turn every bad
 * sequence into U+FFFD, so two different names could compare equal.  They
 * are read as bytes and shown as text: UTF-8 where it is, with \xNN for
 * the bytes that are not.
 */
const textFields = new WeakSet<protobuf.Field>();

function allTypes(ns: protobuf.NamespaceBase): protobuf.Type[] {
  const out: protobuf.Type[] = [];
  for (const o of ns.nestedArray) {
    if (o instanceof protobuf.Type) out.push(o);
    if (o instanceof protobuf.Namespace || o instanceof protobuf.Type) out.push(...allTypes(o));
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes as text, one text for one byte string: UTF-8 if they are and hold
 * no backslash, else ASCII with \xNN for every other byte (a backslash
 * included, so that the text "\xff" and the byte 0xff read differently).
 */
export function bytesText(b: Uint8Array): string {
  if (!b.includes(0x5c)) {
    try {
      return utf8.decode(b);
    } catch {
      /* not UTF-8: escaped below */
    }
  }
  let s = '';
  for (const c of b) s += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return s;
}

/** toObject's Buffers as strings: text for CRIU's string fields, base64 for its bytes fields. */
function present(type: protobuf.Type, o: Entry): Entry {
  for (const f of type.fieldsArray) {
    const v = o[f.name];
    if (v === undefined || v === null) continue;
    const one = (x: unknown): unknown => {
      if (x instanceof Uint8Array) return textFields.has(f) ? bytesText(x) : Buffer.from(x).toString('base64');
      if (f.resolvedType instanceof protobuf.Type && x && typeof x === 'object') return present(f.resolvedType, x as Entry);
      return x;
    };
    if (Array.isArray(v)) o[f.name] = v.map(one);
    else if (f.map && typeof v === 'object') o[f.name] = Object.fromEntries(Object.entries(v as Entry).map(([k, x]) => [k, one(x)]));
    else o[f.name] = one(v);
  }
  return o;
}

const toObjectOpts: protobuf.IConversionOptions = { longs: String, enums: String, bytes: Buffer, defaults: false };

/** Reads all entries of one image file as plain objects (64-bit values as decimal strings). */
export function readImage(root: protobuf.Root, file: string, typeName: string): Entry[] {
  const type = root.lookupType(typeName);
  const buf = fs.readFileSync(file);
  if (buf.length < 4) throw new ImageError(file, 'too short for a magic');
  let off = 4;
  const magic = buf.readUInt32LE(0);
  if (magic === IMG_COMMON_MAGIC || magic === IMG_SERVICE_MAGIC) off = 8;
  const out: Entry[] = [];
  while (off < buf.length) {
    if (off + 4 > buf.length) throw new ImageError(file, `truncated entry header at ${off}`);
    const size = buf.readUInt32LE(off);
    off += 4;
    if (off + size > buf.length) throw new ImageError(file, `entry of ${size} bytes at ${off} runs past the end`);
    const msg = type.decode(buf.subarray(off, off + size));
    out.push(present(type, type.toObject(msg, toObjectOpts) as Entry));
    off += size;
  }
  return out;
}

/** A dump directory: reads images by name, caching the decoded entries. */
export class ImageDir {
  private cache = new Map<string, Entry[]>();

  constructor(
    readonly root: protobuf.Root,
    readonly dir: string,
  ) {}

  has(name: string): boolean {
    return fs.existsSync(path.join(this.dir, name));
  }

  read(name: string, typeName: string): Entry[] {
    const key = `${name}:${typeName}`;
    let v = this.cache.get(key);
    if (!v) {
      v = readImage(this.root, path.join(this.dir, name), typeName);
      this.cache.set(key, v);
    }
    return v;
  }

  one(name: string, typeName: string): Entry {
    const e = this.read(name, typeName);
    if (e.length !== 1) throw new ImageError(path.join(this.dir, name), `expected one entry, found ${e.length}`);
    return e[0];
  }
}
