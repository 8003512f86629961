// Where the pieces live: the build tree of this checkout, or an install
// (the installed `crib` wrapper sets CRIB_PREFIX).  Each can be overridden
// by an environment variable of its own.
import * as fs from 'fs';
import * as path from 'path';
import { CribError } from './errors';

export interface Paths {
  /** patched CRIU with the engine table */
  criu: string;
  /** the same CRIU 4.2.1 without our patches */
  criuStock: string;
  /** plugin directory for --libdir; undefined means CRIU's built-in one */
  libdir?: string;
  /** compiled BPF objects */
  objDir: string;
  /** the native addon */
  addon: string;
  /** CRIU's images/*.proto */
  criuImages: string;
  /** test workloads (build tree only) */
  workloads: string;
}

/** The checkout this file was built from: build/ts/engine-ts/src/paths.js -> root. */
export function repoRoot(): string {
  return path.resolve(__dirname, '..', '..', '..', '..');
}

export function findPaths(env: NodeJS.ProcessEnv = process.env): Paths {
  const prefix = env.CRIB_PREFIX;
  let p: Paths;
  if (prefix) {
    p = {
      criu: path.resolve(prefix, '..', '..', 'sbin', 'criu'),
      criuStock: path.join(prefix, 'criu-stock'),
      objDir: path.join(prefix, 'bpf'),
      addon: path.join(prefix, 'crib_native.node'),
      criuImages: path.join(prefix, 'criu-images'),
      workloads: path.join(prefix, 'workloads'),
    };
  } else {
    const build = path.join(repoRoot(), 'build');
    p = {
      criu: path.join(build, 'bin', 'criu'),
      criuStock: path.join(build, 'bin', 'criu-stock'),
      libdir: path.join(build, 'lib', 'criu'),
      objDir: path.join(build, 'bpf'),
      addon: path.join(build, 'addon', 'crib_native.node'),
      criuImages: path.join(build, 'criu-src', 'criu-4.2.1', 'images'),
      workloads: path.join(build, 'test'),
    };
  }
  return {
    criu: env.CRIB_CRIU ?? p.criu,
    criuStock: env.CRIB_CRIU_STOCK ?? p.criuStock,
    libdir: env.CRIB_LIBDIR ?? p.libdir,
    objDir: env.CRIB_OBJ_DIR ?? p.objDir,
    addon: env.CRIB_ADDON ?? p.addon,
    criuImages: env.CRIB_CRIU_IMAGES ?? p.criuImages,
    workloads: env.CRIB_WORKLOADS ?? p.workloads,
  };
}

export function mustExist(file: string, what: string): string {
  if (!fs.existsSync(file)) throw new CribError('ENOENT', `${what} not found at ${file}; run make (or make install)`);
  return file;
}
