// crib check says whether crib can serve a dump here, and fails when it
// cannot: as a user without the privileges, every program load fails with
// EPERM, and check must not say "ok".
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { crib, root } from '../helpers';

describe('crib check', function () {
  this.timeout(60000);

  it('as root: ok, with an op answered', () => {
    const r = crib(['check']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\[ ok \] BPF programs: loaded, \d of 7 ops served, stat of this process answered/);
  });

  it('as a user without privileges: fails, and says what to do', () => {
    const main = path.join(root, 'build/ts/engine-ts/src/cli/main.js');
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, main, 'check'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, `crib check passed as uid 65534:\n${r.stdout}`);
    assert.match(r.stdout, /\[FAIL\] privileges: uid 65534 .*run as root/);
    assert.match(r.stdout, /\[FAIL\] BPF programs: none could load: .*Operation not permitted/);
    assert.doesNotMatch(r.stdout, /\[ ok \] BPF programs/);
  });
});
