// What the tests of an op folder (ops/NAME/NAME.test.ts) share: a real
// collector, the folder ops over it (one mechanism only, if asked), the
// caller it serves (this process's namespaces) and children to reap.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import { BpfCollector, createCollector } from '../../engine-ts/src/bpf/collector';
import { rootOf } from '../../engine-ts/src/bpf/pidns';
import { Caller, ProgramRef } from '../../engine-ts/src/bpf/types';
import { FolderOps, loadFolderOps, readRegistry } from '../../engine-ts/src/engine/ops';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { paths } from '../helpers';

export interface FolderOpEnv {
  collector: BpfCollector;
  ops: FolderOps;
  /** the op's registry id */
  id: number;
  caller(): Caller;
  /** processes to kill at close() */
  kids: ChildProcess[];
  close(): void;
}

export function folderOpEnv(name: string, mechanism?: ProgramRef): FolderOpEnv {
  const entry = readRegistry().find((e) => e.name === name);
  if (!entry) throw new Error(`no op ${name} in ops/registry`);
  const collector = createCollector({ objDir: paths.objDir, addonPath: paths.addon });
  const folder = loadFolderOps(loadProto().root).map((o) => (mechanism && o.entry.id === entry.id ? { ...o, module: { ...o.module, mechanisms: [mechanism] } } : o));
  const kids: ChildProcess[] = [];
  return {
    collector,
    ops: new FolderOps(folder, collector),
    id: entry.id,
    caller: () => ({ pidNs: collector.callerPidNs, bootOffsetNs: 0n, root: rootOf(process.pid) }),
    kids,
    close() {
      for (const k of kids) k.kill('SIGKILL');
      collector.close();
    },
  };
}

/**
 * A zombie that stays one: `true`, started in the background by a shell
 * that then becomes `sleep`, which never reaps it.  Its pid.
 */
export async function zombie(kids: ChildProcess[]): Promise<number> {
  const k = spawn('sh', ['-c', 'true & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  kids.push(k);
  const pid = await new Promise<number>((resolve, reject) => {
    k.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    k.once('exit', () => reject(new Error('the zombie maker exited')));
  });
  for (let i = 0; i < 200; i++) {
    if (/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))) return pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`pid ${pid} did not become a zombie`);
}
