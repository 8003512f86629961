// Shared by the tests: paths of the build tree and small process helpers.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findPaths, repoRoot } from '../engine-ts/src/paths';

export const paths = findPaths();
export const root = repoRoot();

export function tmpdir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `crib-test-${tag}-`));
}

export function workload(name: string): string {
  return path.join(paths.workloads, name);
}

/** Runs the built crib CLI. */
export function crib(args: string[], env?: NodeJS.ProcessEnv): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(path.join(root, 'build', 'bin', 'crib'), args, { encoding: 'utf8', env: env ?? process.env, timeout: 600000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The files of a directory other than CRIU's own log. */
export function imagesIn(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => !f.endsWith('.log'));
}

/** The key=value lines of a helper script's output (test/e2e/*.sh). */
export function keyValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}
