#!/usr/bin/python3
"""Where a request's time goes, measured in ways a noisy shared machine does
not move (tests/bench/README.md, "Method"). Not part of `make bench`: the
tool the changes were chosen and measured with.

  profile.py callgrind [--services N] [--requests N] [--binary B] [--top K]
                       [--hand-written]
      webhookd under callgrind, GETs on one kept FastCGI connection straight
      to its socket (no nginx), round-robin over N services (N larger than
      the parse cache: every request a miss). Counting is zeroed after a
      warm-up and dumped after --requests more: instructions per request
      (whole process) and the functions that cost the most per request
      (inclusive).

  profile.py syscalls [--services N] [--requests N] [--binary B]
      The same loop under `perf stat`: system calls and context switches per
      request, and which system calls (the syscalls:sys_enter_* tracepoints).

  profile.py load [--services N] [--connections C] [--seconds S] [--rounds R]
                  [--binary A] [--binary-b B] [--responder minimal] [--perf]
                  [--post-every N] [--log-b null] [--extra-b "OPTIONS"]
      wrk through nginx with kept connections, A and B (and the minimal
      libfcgi responder, kept connections) in turn, every other round in
      reverse order: the median throughput and CPU time per request (user
      and system, from /proc) of the responder and of nginx, each round's
      p50 and p99, and each one's p99 against each later one's (A / B,
      A / minimal, B / minimal) as bench.py judges it (the median of the
      rounds' ratios); --perf then counts system calls and context
      switches per request of each under load. --log-b null sends B's
      request log to /dev/null, --extra-b "--workers 1" gives B more
      options (the same binary twice then compares two settings).

  profile.py threads [--services N] [--connections C] [--seconds S]
                     [--binary B | --responder minimal]
      wrk through nginx with kept connections at one responder: per thread
      (by the names webhookd gives its threads), CPU time, voluntary context
      switches (it waited) and involuntary ones (it was preempted), each per
      request, from /proc/PID/task.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from bench import HAND_WRITTEN, STATE, can_connect, make_state, paired, rounds_text, wrk  # noqa: E402
from e2e.support import BASIC_AUTH, write_config  # noqa: E402
from harness import fcgi_client  # noqa: E402
from harness.stack import Nginx, Webhookd, free_port, wait_for  # noqa: E402

BUILD = os.environ.get("WEBHOOKD_BUILD", os.path.join(os.path.dirname(os.path.dirname(HERE)), "build"))


def params_for(sid):
    path = "/v1/Services/%s/Configuration/Webhooks" % sid
    return {"REQUEST_METHOD": "GET", "DOCUMENT_URI": path, "REQUEST_URI": path, "REQUEST_SCHEME": "http",
            "HTTP_HOST": "127.0.0.1", "SERVER_PORT": "80", "HTTP_AUTHORIZATION": BASIC_AUTH}


def get_loop(sock, sids, n, offset=0):
    """n GETs on one kept connection, round-robin over sids; all must be 200."""
    conn = fcgi_client.Connection(sock, timeout=120)
    encoded = [params_for(s) for s in sids]
    for i in range(n):
        # In one write, as nginx sends a GET (a request in two parts would
        # cost webhookd a second wake-up that nginx never causes).
        conn.sock.sendall(conn.request_bytes(encoded[(offset + i) % len(sids)], keep=True))
        status = fcgi_client.parse(conn.read_response())[0]
        if status != 200:
            raise RuntimeError("answered %s" % status)
    conn.close()


def spawn(argv, sock):
    if os.path.exists(sock):
        os.unlink(sock)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: can_connect(sock) or proc.poll() is not None, 300, "webhookd")
    if proc.poll() is not None:
        raise RuntimeError("webhookd exited: %s" % proc.returncode)
    return proc


def callgrind(args, tmp, state, sids, config, sock):
    out = os.path.join(tmp, "cg.out")
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "--dump-instr=no",
            "--separate-threads=no", args.binary, "--config", config, "--listen", "unix:" + sock,
            "--workers", "2"] + args.extra
    proc = spawn(argv, sock)
    try:
        # Warm-up: every SID seen once (cache, dentries, allocator), then zero.
        get_loop(sock, sids, max(len(sids), 200) if len(sids) > 1 else 200)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, stdout=subprocess.DEVNULL)
        get_loop(sock, sids, args.requests, offset=7)
        subprocess.run(["callgrind_control", "-d", "measured", str(proc.pid)], check=True, stdout=subprocess.DEVNULL)
    finally:
        proc.terminate()
        proc.wait(300)
    dumps = sorted(f for f in os.listdir(tmp) if f.startswith("cg.out.") and not f.endswith(".0"))
    dump = os.path.join(tmp, [f for f in dumps if open(os.path.join(tmp, f)).read(4096).find("measured") >= 0][0])
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--auto=no", "--threshold=100", dump],
                          stdout=subprocess.PIPE, text=True, check=True).stdout
    total = int(re.search(r"^([\d,]+) +\(100.0%\) +PROGRAM TOTALS", text, re.M).group(1).replace(",", ""))
    print("services %d, requests %d: %.0f instructions per request (whole process)" % (
        len(sids), args.requests, total / args.requests))
    # One row per function: callgrind_annotate repeats a function once per
    # source file its code came from (inlined headers), each inclusive of
    # what that part called; the largest is the function's own file.
    by_name = {}
    for m in re.finditer(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*)$", text, re.M):
        if "=>" in m.group(2) or "events annotated" in m.group(2):
            continue
        name = re.sub(r" \[[^\]]*\]$", "", m.group(2))
        name = re.sub(r"^(\?\?\?|[^ :]*\.(?:cc|c|h|tcc|hpp|cpp)|[^ :(]*/[^ :(]*):(?!:)", "", name)
        by_name[name] = max(by_name.get(name, 0), int(m.group(1).replace(",", "")))
    rows = sorted(((c, n) for n, c in by_name.items() if "PROGRAM TOTALS" not in n), reverse=True)
    for count, name in rows[:args.top]:
        print("  %9.0f  %5.1f %%  %s" % (count / args.requests, 100.0 * count / total, shorten(name)))


def shorten(name):
    """A C++ name without its template arguments and parameter lists."""
    for _ in range(6):
        name = re.sub(r"<[^<>]*>", "", name)
    name = re.sub(r"\((?:[^()]|\([^()]*\))*\)", "()", name)
    return name.replace("std::__cxx11::", "std::")[:140]


def syscalls(args, tmp, state, sids, config, sock):
    argv = [args.binary, "--config", config, "--listen", "unix:" + sock, "--workers", "2"] + args.extra
    proc = spawn(argv, sock)
    try:
        get_loop(sock, sids, max(len(sids), 200))
        perf = subprocess.Popen(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter,context-switches,task-clock",
                                 "-p", str(proc.pid)], stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        get_loop(sock, sids, args.requests, offset=7)
        time.sleep(0.2)  # the log thread's write of the last lines
        perf.send_signal(2)
        err = perf.communicate()[1]
        for line in err.strip().splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0] and f[0][0].isdigit():
                print("  %-28s %8.2f per request" % (f[2], float(f[0]) / args.requests))
        # Which ones, counted the same way (strace would slow every call and
        # change the races it watches).
        names = ["epoll_wait", "epoll_ctl", "recvfrom", "sendto", "read", "write", "openat", "newfstatat",
                 "fcntl", "close", "futex", "poll", "accept4"]
        events = ",".join("syscalls:sys_enter_" + n for n in names)
        perf = subprocess.Popen(["perf", "stat", "-x,", "-e", events, "-p", str(proc.pid)], stderr=subprocess.PIPE,
                                text=True)
        time.sleep(0.5)
        get_loop(sock, sids, args.requests, offset=3)
        time.sleep(0.2)
        perf.send_signal(2)
        err = perf.communicate()[1]
        for line in err.strip().splitlines():
            f = line.split(",")
            if len(f) > 2 and f[0] and f[0][0].isdigit() and float(f[0]) > 0:
                print("  %-36s %6.2f per request" % (f[2], float(f[0]) / args.requests))
    finally:
        proc.terminate()
        proc.wait(30)


def user_sys(pid):
    """(user, system) CPU seconds of pid so far, all its threads."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def start_responder(args, tmp, config, sock, binary, name="A"):
    """webhookd `binary` on sock (B with --log-b and --extra-b), or with
    binary None the minimal libfcgi responder, kept connections; (pid, stop)."""
    if binary is None:
        proc = spawn([os.path.join(BUILD, "bench", "fcgi_minimal"), sock, "128"], sock)
        os.chmod(sock, 0o666)
        return proc.pid, proc.kill
    log = "/dev/null" if name == "B" and args.log_b == "null" else os.path.join(tmp, "webhookd.log")
    w = Webhookd(binary, config, sock, 16, log_path=log,
                 extra=args.extra + (args.extra_b if name == "B" else [])).start()
    return w.proc.pid, w.stop


def behind_nginx(args, tmp, sids, sock):
    """nginx (kept connections) in front of sock, started, and a function
    that runs bench.wrk through it with tests/load/mixed.lua over sids:
    (nginx, run(seconds) -> {rps, p50, p99})."""
    port = free_port()
    nginx = Nginx(os.path.join(tmp, "nginx"), port, [sock], "", keepalive=64)
    nginx.start()
    sids_file = os.path.join(tmp, "sids")
    with open(sids_file, "w") as f:
        f.write("\n".join(sids) + "\n")
    script = os.path.join(os.path.dirname(HERE), "load", "mixed.lua")
    return nginx, lambda seconds: wrk("http://127.0.0.1:%d" % port, args.connections, script, sids_file,
                                      args.post_every, seconds=seconds)


def load(args, tmp, state, sids, config, sock):
    """wrk through nginx (kept connections) at each responder in turn, for
    --rounds rounds: per responder the median throughput and CPU time per
    request of it and of nginx, then one more run of each under perf stat."""
    nginx, run_wrk = behind_nginx(args, tmp, sids, sock)
    responders = [("A", args.binary)] + ([("B", args.binary_b)] if args.binary_b else [])
    if args.responder == "minimal":  # beside A (and B), interleaved with them
        responders.append(("minimal", None))
    nginx_pids = [int(p) for p in subprocess.run(["pgrep", "-P", str(nginx.proc.pid)], stdout=subprocess.PIPE,
                                                 text=True).stdout.split()] + [nginx.proc.pid]
    results = {name: [] for name, _ in responders}  # a round each: bench.wrk's figures and the CPU times
    try:
        for r in range(args.rounds):
            for name, binary in (responders if r % 2 == 0 else responders[::-1]):
                pid, stop = start_responder(args, tmp, config, sock, binary, name)
                try:
                    before = user_sys(pid), [user_sys(p) for p in nginx_pids]
                    got = run_wrk(args.seconds)
                    after = user_sys(pid), [user_sys(p) for p in nginx_pids]
                finally:
                    stop()
                n = got["rps"] * args.seconds
                got.update(user=(after[0][0] - before[0][0]) / n * 1e6, sys=(after[0][1] - before[0][1]) / n * 1e6,
                           nginx=sum(sum(a) - sum(b) for a, b in zip(after[1], before[1])) / n * 1e6)
                results[name].append(got)
                print("  round %d %-8s %7.0f req/s  CPU per request: responder %5.1f us (user %4.1f, sys %4.1f), "
                      "nginx %5.1f us; p50 %.3f ms, p99 %.3f ms" % (
                          r + 1, name, got["rps"], got["user"] + got["sys"], got["user"], got["sys"], got["nginx"],
                          got["p50"] * 1e3, got["p99"] * 1e3), flush=True)
        med = lambda xs: sorted(xs)[len(xs) // 2]
        for name, _ in responders:
            rows = results[name]
            print("  median %-8s %7.0f req/s  CPU per request: responder %5.1f us (user %4.1f, sys %4.1f), "
                  "nginx %5.1f us" % (name, med([x["rps"] for x in rows]), med([x["user"] + x["sys"] for x in rows]),
                                      med([x["user"] for x in rows]), med([x["sys"] for x in rows]),
                                      med([x["nginx"] for x in rows])))
        for i, (first, _) in enumerate(responders):  # as bench.py judges a p99 goal
            for name, _ in responders[i + 1:]:
                print("  p99 %s / %-8s %s" % (first, name, rounds_text(paired(results[first], results[name], "p99"))))
        if args.perf:
            for name, binary in responders:
                pid, stop = start_responder(args, tmp, config, sock, binary, name)
                try:
                    perf = subprocess.Popen(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter,context-switches",
                                             "-p", str(pid)], stderr=subprocess.PIPE, text=True)
                    time.sleep(0.3)
                    n = run_wrk(args.seconds)["rps"] * args.seconds
                    perf.send_signal(2)
                    err = perf.communicate()[1]
                finally:
                    stop()
                for line in err.strip().splitlines():
                    f = line.split(",")
                    if len(f) > 2 and f[0] and f[0][0].isdigit():
                        print("  %-8s %-26s %6.2f per request" % (name, f[2], float(f[0]) / n))
    finally:
        nginx.stop()


def thread_counts(pid):
    """{tid: (name, CPU ticks, voluntary, involuntary context switches)} of
    pid's threads, from /proc."""
    found = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            with open(base + "comm") as f:
                name = f.read().strip()
            with open(base + "stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(base + "status") as f:
                status = f.read()
        except FileNotFoundError:  # ended meanwhile
            continue
        switches = [int(re.search(r"^%s:\s+(\d+)" % key, status, re.M).group(1))
                    for key in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")]
        found[tid] = (name, int(fields[11]) + int(fields[12])) + tuple(switches)
    return found


def threads(args, tmp, state, sids, config, sock):
    """wrk through nginx (kept connections) at one responder, after a warm-up
    second: per thread, its CPU time and its voluntary and involuntary
    context switches (preemptions) per request, from /proc/PID/task (the
    thread names webhookd gives: worker, housekeeper, request-log)."""
    nginx, run_wrk = behind_nginx(args, tmp, sids, sock)
    pid, stop = start_responder(args, tmp, config, sock, None if args.responder == "minimal" else args.binary)
    try:
        run_wrk(1)
        before = thread_counts(pid)
        got = run_wrk(args.seconds)
        after = thread_counts(pid)
    finally:
        stop()
        nginx.stop()
    n = got["rps"] * args.seconds
    print("  %.0f requests/s, p50 %.3f ms, p99 %.3f ms" % (got["rps"], got["p50"] * 1e3, got["p99"] * 1e3))
    tick = os.sysconf("SC_CLK_TCK")
    row = "  %-12s %7s  CPU %6.2f us, voluntary switches %.3f, preempted %.3f, per request"
    total = [0.0, 0.0, 0.0]
    for tid in sorted(after, key=int):
        name, *now = after[tid]
        then = before.get(tid, (name, 0, 0, 0))[1:]
        cpu, vol, invol = [a - b for a, b in zip(now, then)]
        if cpu or vol or invol:
            per = (cpu / tick / n * 1e6, vol / n, invol / n)
            total = [t + p for t, p in zip(total, per)]
            print(row % ((name, tid) + per))
    print(row % (("all", "") + tuple(total)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["callgrind", "syscalls", "load", "threads"])
    p.add_argument("--services", type=int, default=1)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--responder", choices=["webhookd", "minimal"], default="webhookd")
    p.add_argument("--binary", default=os.path.join(BUILD, "webhookd"))
    p.add_argument("--binary-b", help="load: a second webhookd, measured A against B in alternating order")
    p.add_argument("--log-b", choices=["file", "null"], default="file",
                   help="load: B's request log to a file (as A's) or to /dev/null")
    p.add_argument("--post-every", type=int, default=0, help="load: 1 in N requests a POST that changes the service")
    p.add_argument("--perf", action="store_true", help="load: then system calls and context switches per request")
    p.add_argument("--extra", nargs="*", default=[])
    p.add_argument("--extra-b", type=str.split, default=[],
                   help='load: more options for B only, in one word: --extra-b "--workers 1", or '
                        '--extra-b=--no-metrics for one option alone')
    p.add_argument("--hand-written", action="store_true",
                   help="the services' files as a person writes them (bench.HAND_WRITTEN), not canonical")
    args = p.parse_args()
    if (args.log_b != "file" or args.extra_b) and not args.binary_b:
        p.error("--log-b and --extra-b set B apart: they need --binary-b")
    tmp = tempfile.mkdtemp(prefix="webhookd-profile-")
    os.chmod(tmp, 0o755)
    try:
        state = os.path.join(tmp, "state")
        sids = make_state(state, args.services, HAND_WRITTEN if args.hand_written else STATE)
        config = write_config(tmp, state)
        sock = os.path.join(tmp, "app.sock")
        {"callgrind": callgrind, "syscalls": syscalls, "load": load, "threads": threads}[args.mode](
            args, tmp, state, sids, config, sock)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
