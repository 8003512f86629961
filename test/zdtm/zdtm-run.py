#!/usr/bin/python3
"""Run CRIU's own test suite, ZDTM, once per engine and compare.

    zdtm-run.py --tree CRIU_TREE --criu CRIU --criu-stock CRIU_STOCK --libdir DIR
                --list FILE [--flavor h|ns] [--modes procfs,crib,crib-verify]
                [--out DIR] [--only NAME,...]

Each test of the list (zdtm/static/NAME) runs alone, in the flavour
given, once per mode:

  procfs       stock CRIU 4.2.1 (CRIU_STOCK), as it ships
  crib         the patched CRIU with `engine crib` in a config file
  crib-verify  the same with `engine-verify`: both engines on every op,
               compared field by field (a mismatch fails the test here)

ZDTM runs CRIU inside its own pid, mount, net and ipc namespaces
(zdtm_ct), as containers do.  The config file is named by
CRIU_CONFIG_FILE, which CRIU honours even with --no-default-config; it
names the plugin folder with `libdir`, since zdtm sets CRIU_LIBS_DIR to
its own.  Prints one table (test, one column per mode, the reason for
each failure from the logs), the set differences against procfs, and
writes results.json and the logs of every failure under OUT/FLAVOR/.
Exits 1 when a test that passes with procfs fails with another mode.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time

MODES = {
    'procfs': None,
    'crib': ['engine crib'],
    'crib-verify': ['engine crib', 'engine-verify'],
}

# lines of CRIU's logs that are not the reason a test failed
HARMLESS = [re.compile(r"Can't setup RLIMIT_NOFILE for self")]
OP_STATS = re.compile(r'engine: op (\w+): (\w+) (\d+) calls [\d.]+ ms, (\d+) fallbacks(?:; verify: procfs [\d.]+ ms, (\d+) mismatches)?')
VERIFY_WARN = re.compile(r'verify: op (\w+) pid (\d+): (.*)')
# an op the engine said in hello it cannot serve this CRIU (e.g. paths named
# from the engine's root, and CRIU has a mount namespace of its own)
DECLINED = re.compile(r'crib: op (\w+): procfs serves it \((.*)\)')
VIA_SERVICE = re.compile(r'crib: engine service at \S+ \(pid \d+\) ready')
VIA_COPROCESS = re.compile(r'crib: engine pid \d+ ready')
# prepare()'s ops run in crib.so itself (the passes the engine lends it)
DIRECT = re.compile(r'crib: prepare: \d+ pids: .*; (\d+) ops here')


def read_list(path):
    with open(path) as f:
        return [line.split()[0] for line in f if line.strip() and not line.lstrip().startswith('#')]


def read_expected_ops(path):
    """The ops a test's comment names as "(op NAME)": the test must call them with crib."""
    want = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.lstrip().startswith('#'):
                want[line.split()[0]] = set(re.findall(r'\(op (\w+)\)', line))
    return want


def first_error(text):
    """The first line of the output that says why the test failed."""
    lines = text.splitlines()
    for line in lines:
        if 'Error (' in line and not any(h.search(line) for h in HARMLESS):
            return re.sub(r"^b?['\"]?\(\s*[\d.]+\)\s*", '', line).rstrip("'\"").strip()
    for line in lines:
        # the test's own complaint (zdtm's test library)
        m = re.search(r'\bERR: (.*)', line)
        if m:
            return 'test: ' + m.group(1).strip()
    m = re.search(r'Test (\S+) FAIL at (.*?) #', text)
    if m:
        return 'FAIL at ' + m.group(2).strip()
    for line in reversed(lines):
        if line.strip() and not re.fullmatch(r'[#=\s]*(FAIL|PASS)?[#=\s]*', line):
            return line.strip()[:160]
    return 'no output'


def engine_figures(dump_logs):
    """Calls, fallbacks and verify mismatches of each op, summed over the dumps of one test."""
    ops = {}
    warns = []
    via = {'service': 0, 'co-process': 0, 'direct': 0}
    for log in dump_logs:
        declined = {}
        with open(log, errors='replace') as f:
            for line in f:
                d = DECLINED.search(line)
                if d:
                    declined[d.group(1)] = d.group(2)
                    continue
                if VIA_SERVICE.search(line):
                    via['service'] += 1
                elif VIA_COPROCESS.search(line):
                    via['co-process'] += 1
                d = DIRECT.search(line)
                if d and int(d.group(1)) > 0:
                    via['direct'] += 1
                m = OP_STATS.search(line)
                if m:
                    o = ops.setdefault(m.group(1), {'engine': m.group(2), 'calls': 0, 'fallbacks': 0, 'mismatches': 0,
                                                    'declined': 0, 'why': ''})
                    o['calls'] += int(m.group(3))
                    # the fallbacks of an op the engine declined in hello are its answer, not a fault
                    if m.group(1) in declined:
                        o['declined'] += int(m.group(4))
                        o['why'] = declined[m.group(1)]
                    else:
                        o['fallbacks'] += int(m.group(4))
                    o['mismatches'] += int(m.group(5) or 0)
                    continue
                w = VERIFY_WARN.search(line)
                if w:
                    warns.append(line.strip())
    return ops, warns, via


def run_one(args, name, mode, conf_dir, log_dir):
    tdir = os.path.join(args.tree, 'test')
    dump_dir = os.path.join(tdir, 'dump', 'zdtm', 'static', name)
    shutil.rmtree(dump_dir, ignore_errors=True)
    env = dict(os.environ)
    # the Debian python3 has the protobuf module zdtm needs
    env['PATH'] = '/usr/bin:' + env.get('PATH', '')
    env.pop('CRIU_CONFIG_FILE', None)
    criu = args.criu_stock if mode == 'procfs' else args.criu
    if MODES[mode]:
        conf = os.path.join(conf_dir, mode + '.conf')
        env['CRIU_CONFIG_FILE'] = conf
    cmd = ['./zdtm.py', 'run', '-t', 'zdtm/static/' + name, '-f', args.flavor,
           '--criu-bin', criu, '--keep-img', 'always']
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=tdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=args.timeout)
        out, rc = p.stdout.decode(errors='replace'), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b'').decode(errors='replace') + '\n(timed out)', -1
    secs = time.monotonic() - t0

    dumps = sorted(glob.glob(os.path.join(dump_dir, '*', '*', 'dump.log')))
    ops, warns, via = engine_figures(dumps)
    mismatches = sum(o['mismatches'] for o in ops.values())
    fallbacks = sum(o['fallbacks'] for o in ops.values())
    skipped = re.search(r'^Skipping zdtm/static/%s \((.*)\)$' % re.escape(name), out, re.M)
    if skipped:
        result, reason = 'skip', skipped.group(1)
    elif rc == 0 and mismatches == 0:
        result, reason = 'pass', ''
    elif rc == 0:
        result, reason = 'fail', '%d verify mismatches: %s' % (mismatches, warns[0] if warns else '')
    else:
        result, reason = 'fail', first_error(out)

    if result == 'fail' or warns:
        os.makedirs(log_dir, exist_ok=True)
        with open(os.path.join(log_dir, name + '.log'), 'w') as f:
            f.write(out)
        for log in dumps + sorted(glob.glob(os.path.join(dump_dir, '*', '*', 'restore.log'))):
            rel = os.path.relpath(log, dump_dir).replace(os.sep, '_')
            shutil.copy(log, os.path.join(log_dir, name + '.' + rel))
    shutil.rmtree(dump_dir, ignore_errors=True)
    return {'result': result, 'reason': reason, 'seconds': round(secs, 1),
            'fallbacks': fallbacks, 'mismatches': mismatches, 'ops': ops, 'via': via}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--tree', required=True, help='the patched CRIU 4.2.1 source tree, with test/zdtm built')
    ap.add_argument('--criu', required=True, help='the patched criu binary')
    ap.add_argument('--criu-stock', required=True, help='stock criu 4.2.1')
    ap.add_argument('--libdir', required=True, help='folder with crib.so')
    ap.add_argument('--list', required=True, help='file of test names (zdtm/static/NAME), # comments')
    ap.add_argument('--flavor', default='h', choices=['h', 'ns', 'uns'])
    ap.add_argument('--modes', default=','.join(MODES))
    ap.add_argument('--out', default='build/zdtm')
    ap.add_argument('--only', help='comma-separated test names: run these of the list only')
    ap.add_argument('--timeout', type=int, default=300, help='seconds per test and mode')
    ap.add_argument('--service', metavar='CRIB',
                    help='run the crib modes against an engine service: start "CRIB serve" on a socket of '
                         'its own for the whole run (CRIB is the crib launcher)')
    args = ap.parse_args()

    modes = args.modes.split(',')
    for m in modes:
        if m not in MODES:
            ap.error('unknown mode %r (modes: %s)' % (m, ', '.join(MODES)))
    for p in (args.criu, args.criu_stock):
        if not os.access(p, os.X_OK):
            ap.error('%s is not an executable' % p)
    if not os.path.exists(os.path.join(args.libdir, 'crib.so')):
        ap.error('no crib.so in %s' % args.libdir)
    if not os.path.exists(os.path.join(args.tree, 'test', 'zdtm', 'static', 'cow00')):
        ap.error('ZDTM is not built in %s (make -C %s/test/zdtm)' % (args.tree, args.tree))
    tests = read_list(args.list)
    expected = read_expected_ops(args.list)
    if args.only:
        only = args.only.split(',')
        unknown = [t for t in only if t not in tests]
        if unknown:
            ap.error('not in %s: %s' % (args.list, ', '.join(unknown)))
        tests = [t for t in tests if t in only]

    out = os.path.abspath(os.path.join(args.out, args.flavor))
    shutil.rmtree(out, ignore_errors=True)
    conf_dir = os.path.join(out, 'conf')
    os.makedirs(conf_dir)
    for m, keys in MODES.items():
        if keys:
            with open(os.path.join(conf_dir, m + '.conf'), 'w') as f:
                f.write('libdir %s\n' % os.path.abspath(args.libdir))
                f.write(''.join(k + '\n' for k in keys))
    args.criu, args.criu_stock = os.path.abspath(args.criu), os.path.abspath(args.criu_stock)

    service = None
    if args.service:
        sock = os.path.join(out, 'run', 'crib.sock')
        slog = os.path.join(out, 'serve.log')
        service = subprocess.Popen([args.service, 'serve', '--socket', sock, '--log', slog])
        for _ in range(200):
            if os.path.exists(slog) and 'ready on' in open(slog).read():
                break
            if service.poll() is not None:
                sys.exit('crib serve exited with %s; see %s' % (service.returncode, slog))
            time.sleep(0.05)
        else:
            sys.exit('crib serve did not get ready; see %s' % slog)
        os.environ['CRIB_SOCKET'] = sock
        print('engine service: pid %d on %s' % (service.pid, sock), flush=True)

    results = {}
    t0 = time.monotonic()
    for i, name in enumerate(tests, 1):
        results[name] = {}
        for m in modes:
            r = run_one(args, name, m, conf_dir, os.path.join(out, 'logs', m))
            # a test the list says is there for an op proves nothing if the op was not called
            uncalled = sorted(o for o in expected.get(name, ()) if m != 'procfs' and r['result'] == 'pass'
                              and r.get('ops', {}).get(o, {}).get('calls', 0) == 0)
            if uncalled:
                r['result'], r['reason'] = 'fail', 'op %s not called' % ', '.join(uncalled)
            results[name][m] = r
            print('[%d/%d] %-40s %-12s %s%s' % (i, len(tests), name, m, r['result'],
                                               ' (%s)' % r['reason'][:100] if r['reason'] and r['result'] != 'skip' else ''),
                  flush=True)
    elapsed = time.monotonic() - t0
    if service:
        service.terminate()
        service.wait()

    # the table
    print()
    print('ZDTM, flavour %s, %d tests, %.0f s' % (args.flavor, len(tests), elapsed))
    hdr = '%-40s ' % 'test' + ' '.join('%-12s' % m for m in modes) + ' reason'
    print(hdr)
    print('-' * len(hdr))
    for name in tests:
        row = results[name]
        reasons = ['%s: %s' % (m, row[m]['reason']) for m in modes if row[m]['result'] == 'fail']
        print('%-40s ' % name + ' '.join('%-12s' % row[m]['result'] for m in modes) + ' ' + '; '.join(reasons)[:200])

    # the set differences against procfs
    def passed(m):
        return {t for t in tests if results[t][m]['result'] == 'pass'}
    bad = False
    print()
    counts = ', '.join('%s %d' % (m, len(passed(m))) for m in modes)
    skipped = len([t for t in tests if all(results[t][m]['result'] == 'skip' for m in modes)])
    print('passed: %s; skipped in every mode: %d' % (counts, skipped))
    if 'procfs' in modes:
        base = passed('procfs')
        for m in modes:
            if m == 'procfs':
                continue
            lost, gained = sorted(base - passed(m)), sorted(passed(m) - base)
            print('procfs but not %s: %s' % (m, ', '.join(lost) or 'none'))
            print('%s but not procfs: %s' % (m, ', '.join(gained) or 'none'))
            bad = bad or bool(lost)
    else:
        failed = sorted(t for t in tests for m in modes if results[t][m]['result'] == 'fail')
        print('failed: %s' % (', '.join(failed) or 'none'))
        bad = bool(failed)
    mism = sum(results[t][m]['mismatches'] for t in tests for m in modes)
    fb = sum(results[t][m]['fallbacks'] for t in tests for m in modes if m != 'procfs')
    print('verify mismatches: %d; fallbacks to procfs: %d' % (mism, fb))
    declined = {}
    for t in tests:
        for m in modes:
            for op, o in results[t][m].get('ops', {}).items():
                if o.get('declined'):
                    declined.setdefault(op, [0, o['why']])[0] += o['declined']
    if declined:
        print('declined by the engine for this CRIU (procfs served them): %s' %
              '; '.join('%s %d (%s)' % (op, n, why) for op, (n, why) in sorted(declined.items())))
    for m in modes:
        if m == 'procfs':
            continue
        svc = sum(results[t][m]['via']['service'] for t in tests)
        cop = sum(results[t][m]['via']['co-process'] for t in tests)
        direct = sum(results[t][m]['via'].get('direct', 0) for t in tests)
        print('%s dumps through the engine service: %d, through a co-process: %d; with passes run in crib.so: %d' %
              (m, svc, cop, direct))
    if mism:
        bad = True
    with open(os.path.join(out, 'results.json'), 'w') as f:
        json.dump({'flavor': args.flavor, 'seconds': round(elapsed), 'modes': modes, 'tests': results}, f, indent=1)
    print('logs of failures: %s' % os.path.join(out, 'logs'))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
