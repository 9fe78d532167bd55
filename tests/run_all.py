#!/usr/bin/python3
"""Runs every test of `make test` and ends with the line "N passed, N failed".

1. the Boost.Test unit binary (one test case per case, read from its JUnit XML);
2. the end-to-end suites in tests/e2e (real nginx + webhookd, curl and the
   official python client), each test one case.
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


def run_unit(build):
    binary = os.path.join(build, "unit_tests")
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "unit.xml")
        proc = subprocess.run([binary, "--color_output=no", "--report_level=no",
                               "--logger=HRF,error,stdout:JUNIT,error," + report],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        passed = failed = 0
        try:
            cases = ET.parse(report).getroot().iter("testcase")
        except (ET.ParseError, FileNotFoundError):
            cases = []
        for case in cases:
            name = "%s/%s" % (case.get("classname"), case.get("name"))
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                print("FAIL unit %s" % name)
            elif case.find("skipped") is None:
                passed += 1
        if proc.returncode != 0 and failed == 0:
            failed = 1  # crashed before reporting, or failed outside a test case
            print("FAIL unit binary exited %d" % proc.returncode)
        if failed:
            print(proc.stdout)
        print("unit: %d passed, %d failed" % (passed, failed), flush=True)
        return passed, failed


def run_e2e(pattern):
    suite = unittest.defaultTestLoader.discover(os.path.join(HERE, "e2e"), pattern=pattern,
                                                top_level_dir=HERE)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print("e2e: %d passed, %d failed, %d skipped" % (passed, failed, len(result.skipped)), flush=True)
    return passed, failed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build"))
    parser.add_argument("--pattern", default="test_*.py", help="e2e files to run")
    parser.add_argument("--skip-unit", action="store_true")
    args = parser.parse_args()
    os.environ["WEBHOOKD_BUILD"] = os.path.abspath(args.build)
    sys.path.insert(0, HERE)

    passed = failed = 0
    if not args.skip_unit:
        p, f = run_unit(args.build)
        passed, failed = passed + p, failed + f
    p, f = run_e2e(args.pattern)
    passed, failed = passed + p, failed + f
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
