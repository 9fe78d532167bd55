#!/usr/bin/python3
"""`make bench`: webhookd against the ceilings of its own stack, in one run,
on loopback, with wrk:
  1. nginx serving the same JSON as a static file (the ceiling of nginx);
  2. tests/bench/fcgi_minimal.c behind the same nginx config and worker count
     (the ceiling of nginx + FastCGI);
  3. webhookd: GET of one service, GET over 10,000 and 100,000 services, POST
     to one service and over many, an authenticated 90/10 GET/POST mix;
  4. tests/bench/durable_write.c: write + fsync + rename + directory fsync in a
     loop on the same disk (the ceiling of durable writes).
Prints a table (requests/s, p50/p99, ratio to the matching ceiling), webhookd's
peak RSS and start-up times, and writes it as Markdown (build/bench.md)."""
import base64
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from e2e.support import ACCOUNT, TOKEN, write_config  # noqa: E402
from harness.stack import Nginx, Webhookd, free_port, wait_for  # noqa: E402

BUILD = os.environ.get("WEBHOOKD_BUILD", os.path.join(os.path.dirname(os.path.dirname(HERE)), "build"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "16"))
AUTH = "Basic " + base64.b64encode(("%s:%s" % (ACCOUNT, TOKEN)).encode()).decode()
MIXED = os.path.join(os.path.dirname(HERE), "load", "mixed.lua")
SID = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
STATE = ("account_sid: %s\npre_webhook_url: https://www.example.com/pre\npost_webhook_url: https://www.example.com/post\n"
         "filters:\n  - onMessageRemove\n  - onParticipantAdd\nmethod: POST\n" % ACCOUNT)


def sid_of(i):
    return "IS%032x" % (0xb0000000 + i)


def make_state(directory, count):
    os.makedirs(directory, exist_ok=True)
    sids = [SID] + [sid_of(i) for i in range(count - 1)]
    for sid in sids:
        with open(os.path.join(directory, sid + ".yaml"), "w") as f:
            f.write(STATE)
    return sids


def seconds_of(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def wrk(url, connections, script=None, sids_file=None, post_every=0, headers=True):
    argv = ["wrk", "-t%d" % min(2, connections), "-c%d" % connections, "-d%ds" % SECONDS, "--latency"]
    if headers and not script:
        argv += ["-H", "Authorization: " + AUTH]
    if script:
        argv += ["-s", script]
    env = dict(os.environ, WEBHOOKD_AUTH=AUTH, WEBHOOKD_SIDS=sids_file or "", WEBHOOKD_POST_EVERY=str(post_every))
    out = subprocess.run(argv + [url], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         check=True).stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx or "Socket errors" in out:
        raise RuntimeError("wrk saw errors:\n" + out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": seconds_of(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
            "p99": seconds_of(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))}


def peak_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


class Bench:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="webhookd-bench-")
        os.chmod(self.tmp, 0o755)
        self.port = free_port()
        self.sock = os.path.join(self.tmp, "app.sock")
        self.rows = []
        static_dir = os.path.join(self.tmp, "static")
        os.makedirs(static_dir)
        with open(os.path.join(static_dir, "static.json"), "w") as f:
            f.write(self.json_body())
        extra = ("location = /static.json { root %s; default_type application/json; "
                 "add_header Twilio-Request-Id RQ00000000000000000000000000000000; }" % static_dir)
        self.nginx = Nginx(os.path.join(self.tmp, "nginx"), self.port, [self.sock], extra)
        self.base = "http://127.0.0.1:%d" % self.port
        self.url = self.base + "/v1/Services/%s/Configuration/Webhooks" % SID

    def json_body(self):
        with open(os.path.join(HERE, "fcgi_minimal.c")) as f:
            text = f.read()
        body = text[text.index("\\r\\n\\r\\n\"") + 7:text.index("\";\n\nstatic void")]
        return re.sub(r'"\s*\n\s*"', "", body).replace('\\"', '"')

    def add(self, name, result, ceiling=None, ceiling_name=""):
        row = dict(result, name=name, ceiling=ceiling, ceiling_name=ceiling_name)
        self.rows.append(row)
        ratio = " %.2fx %s" % (result["rps"] / ceiling["rps"], ceiling_name) if ceiling else ""
        print("  %-44s %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms%s" % (
            name, result["rps"], result["p50"] * 1e3, result["p99"] * 1e3, ratio), flush=True)
        return result

    def start_webhookd(self, state_dir):
        config = write_config(self.tmp, state_dir)
        started = time.monotonic()
        w = Webhookd(os.path.join(BUILD, "webhookd"), config, self.sock, WORKERS,
                     log_path=os.path.join(self.tmp, "webhookd.log")).start()
        return w, time.monotonic() - started

    def run(self):
        print("make bench: %d s per run, %d workers, nginx worker_processes 1, %s, %d cores" % (
            SECONDS, WORKERS, platform.node(), os.cpu_count()), flush=True)
        state_1 = os.path.join(self.tmp, "state-1")
        state_10k = os.path.join(self.tmp, "state-10k")
        state_100k = os.path.join(self.tmp, "state-100k")
        make_state(state_1, 1)
        sids_10k = make_state(state_10k, 10000)
        sids_100k = make_state(state_100k, 100000)
        files = {}
        for name, sids in (("1", [SID]), ("10k", sids_10k), ("100k", sids_100k)):
            files[name] = os.path.join(self.tmp, "sids-" + name)
            with open(files[name], "w") as f:
                f.write("\n".join(sids) + "\n")

        # The same nginx for everything; only the responder behind the socket changes.
        baseline = subprocess.Popen([os.path.join(BUILD, "bench", "fcgi_minimal"), self.sock, str(WORKERS)])
        wait_for(lambda: os.path.exists(self.sock), 5, "baseline socket")
        os.chmod(self.sock, 0o666)
        self.nginx.start()
        static, fcgi = {}, {}
        try:
            for c in (1, 16, 64):
                static[c] = self.add("nginx static file, %d conn" % c, wrk(self.base + "/static.json", c, headers=False))
            for c in (1, 16, 64):
                fcgi[c] = self.add("minimal libfcgi responder, %d conn" % c, wrk(self.url, c), static[c], "of static")
        finally:
            # SIGKILL: libfcgi turns SIGTERM into a shutdown flag that threads
            # blocked in accept() never see (the trap webhookd works around).
            baseline.kill()
            baseline.wait()

        w, start_1 = self.start_webhookd(state_1)
        try:
            get = {}
            for c in (1, 16, 64):
                get[c] = self.add("webhookd GET one service, %d conn" % c, wrk(self.url, c), fcgi[c], "of minimal libfcgi")
            get_script = self.add("webhookd GET one service (wrk script), 16 conn",
                                  wrk(self.base, 16, MIXED, files["1"], 0), fcgi[16], "of minimal libfcgi")
        finally:
            w.stop()

        w, start_10k = self.start_webhookd(state_10k)
        try:
            self.add("webhookd GET over 10,000 services, 16 conn", wrk(self.base, 16, MIXED, files["10k"], 0),
                     get_script, "of GET one (script)")
            durable = self.durable_loop(state_10k)
            post_one = self.add("webhookd POST one service, 16 conn", wrk(self.base, 16, MIXED, files["1"], 1),
                                durable, "of durable-write loop")
            self.add("webhookd POST over 10,000 services, 16 conn", wrk(self.base, 16, MIXED, files["10k"], 1),
                     post_one, "of POST one")
            self.add("webhookd 90% GET / 10% POST, 10,000 services, 16 conn",
                     wrk(self.base, 16, MIXED, files["10k"], 10), fcgi[16], "of minimal libfcgi")
        finally:
            w.stop()

        w, start_100k = self.start_webhookd(state_100k)
        try:
            self.add("webhookd GET over 100,000 services, 16 conn", wrk(self.base, 16, MIXED, files["100k"], 0),
                     get_script, "of GET one (script)")
            self.peak_rss = peak_rss_kb(w.proc.pid)
        finally:
            w.stop()
        self.startup = {"1": start_1, "10k": start_10k, "100k": start_100k}
        self.nginx.stop()
        print("  webhookd peak RSS (after 100,000 services): %.1f MB" % (self.peak_rss / 1024))
        print("  start-up to socket ready: 1 service %.0f ms, 10,000 %.0f ms, 100,000 %.0f ms" % tuple(
            self.startup[k] * 1e3 for k in ("1", "10k", "100k")))

    def durable_loop(self, state_dir):
        out = subprocess.run([os.path.join(BUILD, "bench", "durable_write"), state_dir, str(SECONDS)],
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        v = dict(kv.split("=") for kv in out.split())
        result = {"rps": int(v["ops"]) / float(v["seconds"]), "p50": float(v["p50_us"]) / 1e6,
                  "p99": float(v["p99_us"]) / 1e6}
        return self.add("durable-write loop (C, one file)", result)

    def markdown(self):
        lines = ["Last run: %s on %s (%d cores, %s), %d s per run, webhookd with %d workers." % (
            time.strftime("%Y-%m-%d"), platform.node(), os.cpu_count(), platform.platform(), SECONDS, WORKERS),
            "", "| run | requests/s | p50 | p99 | ratio |", "| --- | ---: | ---: | ---: | --- |"]
        for r in self.rows:
            ratio = "%.2f x %s (p99 %.2f x)" % (r["rps"] / r["ceiling"]["rps"], r["ceiling_name"],
                                                r["p99"] / r["ceiling"]["p99"]) if r["ceiling"] else "ceiling"
            lines.append("| %s | %.0f | %.2f ms | %.2f ms | %s |" % (r["name"], r["rps"], r["p50"] * 1e3, r["p99"] * 1e3, ratio))
        lines += ["", "webhookd peak RSS after serving 100,000 services: %.1f MB. Start-up to socket ready: "
                  "%.0f ms with 1 service, %.0f ms with 10,000, %.0f ms with 100,000." % (
                      self.peak_rss / 1024, self.startup["1"] * 1e3, self.startup["10k"] * 1e3, self.startup["100k"] * 1e3)]
        return "\n".join(lines) + "\n"


def main():
    bench = Bench()
    try:
        bench.run()
        report = bench.markdown()
        with open(os.path.join(BUILD, "bench.md"), "w") as f:
            f.write(report)
        print("\n" + report)
        print("written to %s" % os.path.join(BUILD, "bench.md"))
    finally:
        bench.nginx.stop()
        shutil.rmtree(bench.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
