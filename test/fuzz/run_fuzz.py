#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Runs one libFuzzer harness for a short, fixed run (meson test, suite fuzz).

    run_fuzz.py --name NAME --fuzzer PATH --artifacts DIR [--seeds DIR]...
                -- [libFuzzer flags]
    run_fuzz.py --name NAME --skip REASON

New corpus entries go to a fresh temporary directory, given to libFuzzer
first (it writes only to its first corpus directory); the seed directories
in the source tree come after it and are only read. A crashing input is
written under --artifacts and shown with the command that reproduces it.
Exit status: 0 pass, 1 fail, 77 skip (only with --skip: a fuzzer that exits
77, libFuzzer's default error code, is a failure here).
"""
import argparse
import re
import os
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--name', required=True)
    ap.add_argument('--fuzzer')
    ap.add_argument('--skip')
    ap.add_argument('--artifacts')
    ap.add_argument('--seeds', action='append', default=[])
    ap.add_argument('flags', nargs='*')
    args = ap.parse_args()

    if args.skip:
        print(f'SKIP: {args.name}: {args.skip}')
        return 77
    if not args.fuzzer or not os.access(args.fuzzer, os.X_OK):
        print(f'FAIL: {args.name}: fuzzer {args.fuzzer!r} was not built')
        return 1
    for d in args.seeds:
        if not os.path.isdir(d):
            print(f'FAIL: {args.name}: seed directory {d} missing')
            return 1

    art = os.path.join(args.artifacts, args.name)
    os.makedirs(art, exist_ok=True)
    env = dict(os.environ)
    env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1')

    with tempfile.TemporaryDirectory(prefix=f'{args.name}-corpus-') as new:
        cmd = [args.fuzzer, *args.flags, '-error_exitcode=1',
               '-timeout_exitcode=1', '-print_final_stats=1',
               f'-artifact_prefix={art}/', new, *args.seeds]
        print('running:', ' '.join(cmd), flush=True)
        t0 = time.monotonic()
        # passed through as it comes; what says why it failed is kept to be
        # repeated at the end, where a long log's tail shows it
        why = []
        found = []
        with subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) as p:
            keep = 0
            for raw in p.stdout:
                line = raw.decode('utf-8', 'replace')
                sys.stdout.write(line)
                m = re.search(r'Test unit written to (\S+)', line)
                if m:
                    found.append(m.group(1))
                if line.startswith('==== FUZZ CHECK FAILED'):
                    keep = 2
                elif line.startswith('SUMMARY: '):
                    keep = 1
                if keep:
                    why.append(line.rstrip('\n'))
                    keep -= 1
            rc = p.wait()
        sys.stdout.flush()
        took = time.monotonic() - t0

    if rc == 0:
        print(f'PASS: {args.name}: {took:.1f} s')
        return 0
    print(f'FAIL: {args.name}: fuzzer exited with {rc} after {took:.1f} s')
    for line in why:
        print(f'  {line}')
    for path in found:
        print(f'crashing input: {path}')
        print(f'  reproduce: {args.fuzzer} {path}')
        print(f'  keep it as a regression seed once fixed: '
              f'cp {path} test/fuzz/corpus/{args.name}/')
    if not found:
        print('(no input saved: see the log above)')
    return 1


if __name__ == '__main__':
    sys.exit(main())
