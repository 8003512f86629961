// Op mountinfo: its records against the object's BTF, and its text
// against /proc/PID/mountinfo, byte for byte, on live processes: this
// one; one in a mount namespace of its own with mounts that exercise each
// field (escaped names, mount and super block flags, file system options,
// shared, slave and unbindable mounts, a root deleted, an nsfs bind
// mount, whose root the file system names, cgroup2, proc); one chrooted
// there, which sees only the mounts under its root, one of them a slave
// with propagate_from; a pid that is no task.  A kernel without mount
// namespace ids (before ns_common.ns_id) serves the engine's own mount
// namespace only: the namespace test is skipped there.
import * as assert from 'assert';
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadProto } from '../../engine-ts/src/engine/proto';
import { NoSuchTaskError } from '../../engine-ts/src/errors';
import { checkLayout, loadBtf } from '../../test/bpf/btf';
import { folderOpEnv, FolderOpEnv } from '../../test/bpf/folder';
import { MOUNTINFO, MOUNTINFO_CTX } from './mountinfo';

/** Whether this kernel names mount namespaces by id (struct ns_common.ns_id), which statmount() takes */
function mountNsIds(): boolean {
  const c = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { encoding: 'utf8', maxBuffer: 512 << 20 });
  return /struct ns_common \{[\s\S]{0,400}?\bns_id;/.test(c);
}

function text(bytes: Uint8Array): string {
  const type = loadProto().root.lookupType('crib.MountInfo');
  return Buffer.from((type.decode(bytes.slice()) as unknown as { text: Uint8Array }).text).toString('latin1');
}

/** The first line where @got and @want differ, for the assertion's message */
function firstDiff(got: string, want: string): string {
  const a = got.split('\n');
  const b = want.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) return `line ${i + 1}:\n  crib:   ${a[i]}\n  procfs: ${b[i]}`;
  return 'none';
}

/**
 * A shell in a mount namespace of its own that mounts in @dir, then
 * starts "sleep" (its pid first on the line it prints) and a chrooted
 * "sleep" under @dir/r (its pid second).
 */
async function namespace(kids: ChildProcess[], dir: string): Promise<[number, number]> {
  const script = `
set -e
D="$1"
mount -t tmpfs -o size=1m,mode=0711,uid=1,nr_inodes=77 top "$D"
mkdir -p "$D/a b" "$D/t	ab" "$D/back\\\\slash" "$D/shared" "$D/slave" "$D/unb" "$D/ro" "$D/del" "$D/gone/x" "$D/ns" "$D/cg" "$D/p" "$D/lz" "$D/r" "$D/out"
mount -t tmpfs x "$D/a b"
mount -t tmpfs -o noexec,nosuid,nodev,noatime x "$D/t	ab"
mount --bind "$D/a b" "$D/back\\\\slash"
mount -t tmpfs s "$D/shared"; mount --make-shared "$D/shared"
mount --bind "$D/shared" "$D/slave"; mount --make-slave "$D/slave"
mount -t tmpfs u "$D/unb"; mount --make-unbindable "$D/unb"
mount --bind -o ro "$D/a b" "$D/ro"; mount -o remount,bind,ro "$D/ro"
mount --bind "$D/gone/x" "$D/del"; rmdir "$D/gone/x"
touch "$D/ns/net"; mount --bind /proc/self/ns/net "$D/ns/net"
mount -t cgroup2 none "$D/cg" 2>/dev/null || true
mount -t proc -o hidepid=2 proc "$D/p"
mount -t tmpfs -o sync,lazytime lz "$D/lz"
# under the chroot: a shared mount, and a slave of a mount outside it (propagate_from)
mount -t tmpfs r "$D/r"; mkdir -p "$D/r/s" "$D/r/u" "$D/out/t"
for d in bin lib lib64 usr; do if [ -d /$d ] && [ ! -L /$d ]; then mkdir -p "$D/r/$d"; mount --bind /$d "$D/r/$d"; elif [ -L /$d ]; then ln -s "$(readlink /$d)" "$D/r/$d"; fi; done
mount -t tmpfs S "$D/r/s"; mount --make-shared "$D/r/s"
mount --bind "$D/r/s" "$D/out/t"; mount --make-slave "$D/out/t"; mount --make-shared "$D/out/t"
mount --bind "$D/out/t" "$D/r/u"; mount --make-slave "$D/r/u"
sleep 120 & a=$!
chroot "$D/r" sleep 120 & b=$!
echo $a $b
wait
`;
  const sh = spawn('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script, 'mountinfo-ns', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  kids.push(sh);
  let out = '';
  let err = '';
  let seen = false;
  sh.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    sh.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+) (\d+)\n/.exec(out);
      if (!m || seen) return;
      seen = true;
      // killing bash leaves its sleeps, which hold mocha's stdout: mocha would wait 120 s for them
      for (const p of [Number(m[1]), Number(m[2])]) {
        kids.push({
          kill: () => {
            try {
              process.kill(p, 'SIGKILL');
            } catch {
              // gone already
            }
          },
        } as unknown as ChildProcess);
      }
      resolve([Number(m[1]), Number(m[2])]);
    });
    sh.on('exit', (code) => reject(new Error(`the namespace script exited with ${code}: ${err}`)));
  });
}

describe('op mountinfo (ops/mountinfo)', function () {
  this.timeout(60_000);
  let env: FolderOpEnv;
  let dir: string;
  const read = (pid: number) => text(env.ops.read(env.id, pid, env.caller()));
  const want = (pid: number) => fs.readFileSync(`/proc/${pid}/mountinfo`, 'latin1');

  before(function () {
    env = folderOpEnv('mountinfo');
    const s = env.ops.support(env.caller()).find((o) => o.id === env.id);
    if (!s?.available) this.skip(); // a kernel before 6.8 (no tree of mounts, no statmount())
  });
  after(() => {
    env?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('struct crib_mountinfo and crib_mountinfo_ctx match the BTF of mountinfo.bpf.o', function () {
    const btf = loadBtf('mountinfo.bpf.o');
    checkLayout(btf, 'mountinfo.bpf.o', MOUNTINFO);
    checkLayout(btf, 'mountinfo.bpf.o', MOUNTINFO_CTX);
  });

  it('agrees with /proc/PID/mountinfo for this process', function () {
    const got = read(process.pid);
    assert.ok(got === want(process.pid), firstDiff(got, want(process.pid)));
  });

  it('a pid that is no task is NoSuchTaskError; mountinfo is not read in prepare()', function () {
    assert.throws(() => env.ops.read(env.id, 0x3ffffff0, env.caller()), NoSuchTaskError);
    assert.strictEqual(env.ops.treeOps(env.caller()).includes(env.id), false);
  });

  it('agrees with /proc/PID/mountinfo in a mount namespace with every kind of field, and under a chroot there', async function () {
    // a kernel without mount namespace ids (struct ns_common.ns_id): statmount() looks in the engine's own namespace only, and
    // the op leaves every other one to procfs (mountinfo.ts), the rest of the session with it: last in this file for that
    if (!mountNsIds()) this.skip();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crib-mountinfo-'));
    const [pid, chrooted] = await namespace(env.kids, dir);
    // the chrooted one may not have called chroot() yet
    for (let i = 0; i < 100 && fs.readlinkSync(`/proc/${chrooted}/root`) === '/'; i++) await new Promise((r) => setTimeout(r, 50));
    for (const p of [pid, chrooted]) {
      const got = read(p);
      assert.ok(got === want(p), `pid ${p}: ${firstDiff(got, want(p))}`);
    }
    const all = want(pid);
    // the fields the namespace was made to show are there (else the comparison proves less)
    for (const s of ['a\\040b', 't\\011ab', 'back\\134slash', ' shared:', ' master:', ' unbindable', '//deleted', 'net:[', 'hidepid=', 'rw,sync,lazytime', 'nosuid,nodev,noexec,noatime', 'size=1024k,nr_inodes=77,mode=711,uid=1']) {
      assert.ok(all.includes(s), `the namespace's mountinfo has no "${s}"`);
    }
    const inside = want(chrooted);
    assert.match(inside, / propagate_from:\d+ /, 'the chrooted task sees a slave that gets events from a peer group outside');
    assert.ok(!inside.includes(dir), 'the chrooted task sees no mount outside its root');
  });

});
