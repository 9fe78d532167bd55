#!/usr/bin/python3
"""`make soak`: sustained mixed GET/POST load (90/10, authenticated, over 100
services) through nginx with wrk at the highest rate the machine holds, for
SOAK_SECONDS (default 300). Passes when there was no 5xx, webhookd's RSS did
not grow beyond noise, and its open descriptors are the same before and after.
Prints the figures as Markdown for tests/RELIABILITY.md."""
import base64
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e.support import ACCOUNT, TOKEN, seed_state, write_config  # noqa: E402
from harness.stack import Stack  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def wrk(stack, sids_file, seconds, connections=32, threads=2):
    env = dict(os.environ, WEBHOOKD_SIDS=sids_file, WEBHOOKD_POST_EVERY="10",
               WEBHOOKD_AUTH="Basic " + base64.b64encode(("%s:%s" % (ACCOUNT, TOKEN)).encode()).decode())
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--latency",
                          "-s", os.path.join(HERE, "load", "mixed.lua"), stack.base_url], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(re.search(r"server_errors=(\d+)", out).group(1))
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return out, requests, int(non2xx.group(1)) if non2xx else 0, errors, socket_errors.group(1) if socket_errors else "none"


def main():
    seconds = int(os.environ.get("SOAK_SECONDS", "300"))
    build = os.environ.get("WEBHOOKD_BUILD", os.path.join(os.path.dirname(HERE), "build"))
    tmp = tempfile.mkdtemp(prefix="webhookd-soak-")
    state = os.path.join(tmp, "state")
    seed_state(state)
    sids = ["IS%032x" % (0x50a4000 + i) for i in range(100)]
    for sid in sids:
        with open(os.path.join(state, sid + ".yaml"), "w") as f:
            f.write("account_sid: %s\nmethod: POST\n" % ACCOUNT)
    sids_file = os.path.join(tmp, "sids")
    with open(sids_file, "w") as f:
        f.write("\n".join(sids) + "\n")
    stack = Stack(write_config(tmp, state), workers=16, build=build).start()
    try:
        pid = stack.webhookd.proc.pid
        wrk(stack, sids_file, 10)  # warm-up: allocator pools, page cache
        time.sleep(1)  # let the last connections close: count descriptors at rest
        rss0, fd0, t0 = rss_kb(pid), fds(pid), time.time()
        print("soak: %d s of 90%% GET / 10%% POST over %d services; webhookd RSS %d kB, %d fds at start" %
              (seconds, len(sids), rss0, fd0), flush=True)
        out, requests, non2xx, server_errors, socket_errors = wrk(stack, sids_file, seconds)
        elapsed = time.time() - t0
        time.sleep(1)
        rss1, fd1 = rss_kb(pid), fds(pid)
        print(out)
        rate = requests / elapsed
        ok = server_errors == 0 and fd1 == fd0 and rss1 <= rss0 * 1.10 + 1024
        print("| date | seconds | requests | rate (req/s) | 5xx | non-2xx | socket errors | RSS start → end (kB) | fds start → end | verdict |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        print("| %s | %d | %d | %.0f | %d | %d | %s | %d → %d | %d → %d | %s |" % (
            time.strftime("%Y-%m-%d"), seconds, requests, rate, server_errors, non2xx, socket_errors, rss0, rss1,
            fd0, fd1, "pass" if ok else "FAIL"))
        sys.exit(0 if ok else 1)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
