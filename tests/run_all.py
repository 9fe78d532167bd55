#!/usr/bin/python3
"""Runs every test of `make test` and ends with the line "N passed, N failed".

Suites, each counted case by case:
  unit            the Boost.Test binary (cases read from its JUnit XML)
  unit/asan       the same, built with AddressSanitizer + UndefinedBehaviorSanitizer
  unit/tsan       the concurrency cases, built with ThreadSanitizer
  e2e             real nginx + webhookd: curl, the python client, processes, shipped files
  e2e/asan        the e2e suites against an ASan+UBSan webhookd
  e2e/tsan        the concurrency, process and kept-connection suites against a TSan webhookd
  fleet           three hosts on one GlusterFS volume behind a front nginx (tests/fleet; root)
  fuzz            each libFuzzer target for a short bounded time (see tests/fuzz)
Exits non-zero if anything failed.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "TSAN_OPTIONS": "halt_on_error=0:second_deadlock_stack=1",
}


def run_unit(label, binary, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "unit.xml")
        proc = subprocess.run([binary, "--color_output=no", "--report_level=no",
                               "--logger=HRF,error,stdout:JUNIT,error," + report] + list(extra),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        passed = failed = 0
        try:
            cases = list(ET.parse(report).getroot().iter("testcase"))
        except (ET.ParseError, FileNotFoundError) as e:
            # No readable report is a failure whatever the exit code: a run
            # that reported nothing proved nothing.
            print("FAIL %s: no readable test report (%s)" % (label, e))
            print(proc.stdout)
            print("%s: 0 passed, 1 failed" % label, flush=True)
            return 0, 1
        for case in cases:
            name = "%s/%s" % (case.get("classname"), case.get("name"))
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                print("FAIL %s %s" % (label, name))
            elif case.find("skipped") is None:
                passed += 1
        if proc.returncode != 0 and failed == 0:
            failed = 1  # crashed before reporting, or a sanitizer stopped it
            print("FAIL %s: the binary exited %d" % (label, proc.returncode))
        if passed + failed == 0:
            failed = 1
            print("FAIL %s: the report lists no test case" % label)
        if failed:
            print(proc.stdout)
        print("%s: %d passed, %d failed" % (label, passed, failed), flush=True)
        return passed, failed


def run_e2e(label, build, patterns, folder="e2e"):
    os.environ["WEBHOOKD_BUILD"] = build
    for name in list(sys.modules):  # support.py reads WEBHOOKD_BUILD when imported
        if name == "e2e" or name.startswith("e2e."):
            del sys.modules[name]
    suite = unittest.TestSuite()
    for pattern in patterns:
        suite.addTests(unittest.defaultTestLoader.discover(os.path.join(HERE, folder), pattern=pattern,
                                                           top_level_dir=HERE))
    print("== %s (webhookd from %s)" % (label, build), flush=True)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    # A failing setUpClass is an error of no test that ran: never count below zero.
    passed = max(result.testsRun - failed - len(result.skipped), 0)
    print("%s: %d passed, %d failed, %d skipped" % (label, passed, failed, len(result.skipped)), flush=True)
    return passed, failed


def run_fuzz(build, seconds):
    fuzz_dir = os.path.join(build, "fuzz")
    passed = failed = 0
    # Every target in tests/fuzz must have been built: a missing one is a
    # failure, never a silent "0 passed, 0 failed".
    expected = sorted(f[:-len("_fuzz.cc")] for f in os.listdir(os.path.join(HERE, "fuzz")) if f.endswith("_fuzz.cc"))
    for name in expected:
        target = name + "_fuzzer"
        if not os.path.isfile(os.path.join(fuzz_dir, target)):
            failed += 1
            print("FAIL fuzz %s: %s was not built" % (name, os.path.join(fuzz_dir, target)))
            continue
        corpus = os.path.join(HERE, "fuzz", "corpus", name)
        with tempfile.TemporaryDirectory() as work:
            proc = subprocess.run([os.path.join(fuzz_dir, target), "-max_total_time=%d" % seconds,
                                   "-timeout=10", "-rss_limit_mb=2048", "-artifact_prefix=" + work + "/",
                                   work, corpus], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        runs = [l for l in proc.stdout.splitlines() if l.startswith("#") and "DONE" in l]
        if proc.returncode == 0:
            passed += 1
            print("fuzz %s: ok %s" % (name, runs[-1] if runs else ""))
        else:
            failed += 1
            print("FAIL fuzz %s:\n%s" % (name, proc.stdout[-4000:]))
    print("fuzz: %d passed, %d failed" % (passed, failed), flush=True)
    return passed, failed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build"))
    parser.add_argument("--pattern", help="run only these e2e files (no unit, sanitizer or fuzz runs)")
    parser.add_argument("--fuzz-seconds", type=int, default=5)
    parser.add_argument("--fuzz-only", action="store_true", help="only the fuzz targets (make fuzz)")
    parser.add_argument("--fleet-only", action="store_true", help="only the fleet tests (make test-fleet)")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    os.environ.update(SANITIZER_ENV)
    sys.path.insert(0, HERE)

    totals = [0, 0]

    def add(result):
        totals[0] += result[0]
        totals[1] += result[1]

    if args.pattern:
        add(run_e2e("e2e", build, [args.pattern]))
    elif args.fuzz_only:
        add(run_fuzz(build, args.fuzz_seconds))
    elif args.fleet_only:
        add(run_e2e("fleet", build, ["test_*.py"], "fleet"))
    else:
        add(run_unit("unit", os.path.join(build, "unit_tests")))
        add(run_unit("unit/asan", os.path.join(build, "asan", "unit_tests")))
        add(run_unit("unit/tsan", os.path.join(build, "tsan", "unit_tests"),
                     ["--run_test=state_store,file_system,parse_cache,request_log,metrics"]))
        add(run_e2e("e2e", build, ["test_*.py"]))
        add(run_e2e("e2e/asan", os.path.join(build, "asan"),
                    ["test_http_contract.py", "test_state_files.py", "test_process.py", "test_python_client.py"]))
        add(run_e2e("e2e/tsan", os.path.join(build, "tsan"),
                    ["test_state_files.py", "test_process.py", "test_concurrency.py", "test_kept_connections.py"]))
        add(run_e2e("fleet", build, ["test_*.py"], "fleet"))
        add(run_fuzz(build, args.fuzz_seconds))
    print("%d passed, %d failed" % tuple(totals))
    sys.exit(1 if totals[1] else 0)


if __name__ == "__main__":
    main()
