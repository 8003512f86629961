// crib check says whether crib can serve a dump here, and fails when it
// cannot: without the privileges, every program load fails with EPERM,
// and check must not say "ok".
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { crib, root } from '../helpers';
import { readRegistry } from '../../engine-ts/src/engine/ops';

describe('crib check', function () {
  this.timeout(60000);

  it('as root: ok, with an op answered', () => {
    const r = crib(['check']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`\\[ ok \\] BPF programs: loaded, \\d+ of ${readRegistry().length} ops served, stat of this process answered`));
  });

  // uid 0 with every capability dropped: as a user, without needing the
  // checkout to be readable by another uid (CI clones into a 0700 folder)
  it('without the privileges (capabilities dropped): fails, and says what to do', () => {
    const main = path.join(root, 'build/ts/engine-ts/src/cli/main.js');
    const r = spawnSync('setpriv', ['--bounding-set=-all', '--inh-caps=-all', process.execPath, main, 'check'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, `crib check passed without capabilities:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /\[FAIL\] privileges: uid \d+ without CAP_SYS_ADMIN or CAP_BPF\+CAP_PERFMON: crib and CRIU need root/);
    assert.match(r.stdout, /\[FAIL\] BPF programs: none could load: .*Operation not permitted/);
    assert.doesNotMatch(r.stdout, /\[ ok \] BPF programs/);
  });
});
