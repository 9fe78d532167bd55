"""GET /metrics through the real nginx and the shipped location (issue 18):
the Prometheus text format 0.0.4 with no Basic auth; the counts move by
exactly what a test sent; the loopback rule holds (a request from another
address, out of a network namespace of the test's own, gets 403); the
standard process_* metrics; `promtool check metrics` (Debian's prometheus)
reports nothing. Scrapes of /metrics are not counted in
webhookd_requests_total: a Prometheus scraping every 15 s would otherwise
be most of an idle server's traffic, and the count would move by itself."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from e2e.support import ACCOUNT, MISSING_SID, SID, TOKEN, WEBHOOKD, RawCase, StackCase, resource_path
from harness import fcgi_client
from harness.stack import CONF_DIR, Nginx, free_port, wait_for

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset of (label, value)): float} of an exposition."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.groups()
        samples[(name, frozenset(LABEL.findall(labels or "")))] = float(value)
    return samples


def get(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_by(samples):
    return {(dict(k[1])["method"], dict(k[1])["status"]): v for k, v in samples.items()
            if k[0] == "webhookd_requests_total"}


def delta(after, before):
    keys = set(after) | set(before)
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) != before.get(k, 0)}


class MetricsEndpoint(StackCase):
    def scrape(self, *args):
        r = self.curl(*args, path="/metrics", auth=None)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers.get("content-type"), CONTENT_TYPE)
        return parse(r.body.decode())

    def scrape_after(self, before, answers):
        """A scrape once `answers` more requests are counted than in `before`.
        A worker counts an answer just after writing it, so the very next
        request (this scrape) may, rarely, be served a moment before that."""
        total = lambda s: sum(requests_by(s).values())
        deadline = time.monotonic() + 5
        after = self.scrape()
        while total(after) - total(before) < answers and time.monotonic() < deadline:
            time.sleep(0.05)
            after = self.scrape()
        return after

    def test_1_counts_move_by_exactly_what_was_sent(self):
        before = self.scrape()
        n, m = 7, 3
        for _ in range(n):
            self.assertEqual(self.curl().status, 200)
        for i in range(m):
            self.assertEqual(self.curl("-d", "PreWebhookUrl=https://m.example.com/%d" % i).status, 200)
        self.assertEqual(self.curl(auth=(ACCOUNT, "wrong")).status, 401)
        self.assertEqual(self.curl(path=resource_path(MISSING_SID)).status, 404)
        self.assertEqual(self.curl("-H", 'If-Match: "stale"', "-d", "Method=GET").status, 412)
        after = self.scrape_after(before, n + m + 3)
        self.assertEqual(delta(requests_by(after), requests_by(before)),
                         {("GET", "200"): n, ("POST", "200"): m, ("GET", "401"): 1, ("GET", "404"): 1,
                          ("POST", "412"): 1})
        histogram = {k: get(after, "webhookd_request_duration_seconds_count", method=k)
                     - get(before, "webhookd_request_duration_seconds_count", method=k) for k in ("GET", "POST")}
        self.assertEqual(histogram, {"GET": n + 2, "POST": m + 1})
        # Each POST changed the file: one group commit each, sequential.
        self.assertEqual(get(after, "webhookd_state_writes_total", result="ok")
                         - get(before, "webhookd_state_writes_total", result="ok"), m)
        self.assertEqual(get(after, "webhookd_state_write_duration_seconds_count")
                         - get(before, "webhookd_state_write_duration_seconds_count"), m)
        self.assertEqual(get(after, "webhookd_group_commit_updates_sum")
                         - get(before, "webhookd_group_commit_updates_sum"), m)
        # The scrapes themselves are not requests of the API.
        self.assertEqual(delta(requests_by(self.scrape()), requests_by(after)), {})

    def test_2_parse_cache_and_state_errors(self):
        before = self.scrape()
        self.write_state("account_sid: %s\nmethod: GET\nbogus: 1\n" % ACCOUNT)  # invalid: a person's edit
        for _ in range(2):
            self.assertEqual(self.curl().status, 500)
        self.write_state("account_sid: %s\nmethod: GET\n" % ACCOUNT)
        for _ in range(3):
            self.assertEqual(self.curl().status, 200)
        after = self.scrape_after(before, 5)
        self.assertEqual(get(after, "webhookd_state_errors_total", kind="invalid")
                         - get(before, "webhookd_state_errors_total", kind="invalid"), 2)
        self.assertEqual(get(after, "webhookd_state_errors_total", kind="io")
                         - get(before, "webhookd_state_errors_total", kind="io"), 0)
        # Invalid bytes are never cached: two misses; the new bytes: one miss, then hits.
        self.assertEqual(get(after, "webhookd_parse_cache_lookups_total", result="miss")
                         - get(before, "webhookd_parse_cache_lookups_total", result="miss"), 3)
        self.assertEqual(get(after, "webhookd_parse_cache_lookups_total", result="hit")
                         - get(before, "webhookd_parse_cache_lookups_total", result="hit"), 2)
        self.assertEqual(delta(requests_by(after), requests_by(before)), {("GET", "500"): 2, ("GET", "200"): 3})

    def test_3_reloads_are_counted(self):
        before = self.scrape()
        with open(self.config) as f:
            good = f.read()
        log = lambda: self.stack.webhookd.log()
        try:
            with open(self.config, "w") as f:
                f.write(good + "bogus_key: 1\n")
            refused = log().count("reload refused")
            self.stack.webhookd.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: log().count("reload refused") > refused, 10, "the reload to be refused")
        finally:
            with open(self.config, "w") as f:
                f.write(good)
        reloaded = log().count("webhookd: reloaded")
        self.stack.webhookd.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: log().count("webhookd: reloaded") > reloaded, 10, "the reload")
        after = self.scrape()
        self.assertEqual(get(after, "webhookd_config_reloads_total", result="refused")
                         - get(before, "webhookd_config_reloads_total", result="refused"), 1)
        self.assertEqual(get(after, "webhookd_config_reloads_total", result="ok")
                         - get(before, "webhookd_config_reloads_total", result="ok"), 1)
        self.assertGreater(get(after, "webhookd_config_last_reload_success_timestamp_seconds"),
                           get(before, "webhookd_config_last_reload_success_timestamp_seconds"))
        self.assertLess(abs(get(after, "webhookd_config_last_reload_success_timestamp_seconds") - time.time()), 60)

        # A reload that moves state_dir makes a new store: it reports to the same metrics.
        moved = os.path.join(self.tmp, "moved-state")
        shutil.copytree(self.state_dir, moved)
        try:
            with open(self.config, "w") as f:
                f.write(good.replace("state_dir: %s" % self.state_dir, "state_dir: %s" % moved))
            reloaded = log().count("state now in " + moved)
            self.stack.webhookd.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: log().count("state now in " + moved) > reloaded, 10, "the move to " + moved)
            self.assertEqual(self.curl().status, 200)
            self.assertEqual(self.curl().status, 200)
            moved_after = self.scrape_after(after, 2)
            lookups = lambda s, result: get(s, "webhookd_parse_cache_lookups_total", result=result)
            self.assertEqual(lookups(moved_after, "miss") - lookups(after, "miss"), 1)  # the new store's cache is cold
            self.assertEqual(lookups(moved_after, "hit") - lookups(after, "hit"), 1)
        finally:
            with open(self.config, "w") as f:
                f.write(good)
            back = log().count("state now in " + self.state_dir)
            self.stack.webhookd.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: log().count("state now in " + self.state_dir) > back, 10, "the move back")

    def test_4_gauges_build_info_and_process_metrics(self):
        s = self.scrape()
        version = subprocess.run([WEBHOOKD, "--version"], capture_output=True, text=True).stdout.split()[1]
        self.assertEqual(get(s, "webhookd_build_info", version=version), 1)
        self.assertGreaterEqual(get(s, "webhookd_connections_open"), 1)  # the scrape's own
        self.assertGreaterEqual(get(s, "webhookd_workers_busy"), 1)      # the worker answering it
        self.assertLessEqual(get(s, "webhookd_workers_busy"), self.workers)
        for name in ("webhookd_connections_refused_total", "webhookd_requests_timed_out_total",
                     "webhookd_log_lines_dropped_total"):
            self.assertIn((name, frozenset()), s)
        pid = self.stack.webhookd.proc.pid
        fds = len(os.listdir("/proc/%d/fd" % pid))
        self.assertLessEqual(abs(get(s, "process_open_fds") - fds), 4)
        self.assertGreaterEqual(get(s, "process_max_fds"), get(s, "process_open_fds"))
        with open("/proc/%d/status" % pid) as f:
            rss_kb = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        self.assertLess(abs(get(s, "process_resident_memory_bytes") / 1024 - rss_kb), rss_kb / 2)
        started = os.stat("/proc/%d" % pid).st_mtime  # the kernel's start of the process, near enough
        self.assertLess(abs(get(s, "process_start_time_seconds") - started), 5)
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        self.assertLessEqual(get(s, "process_cpu_seconds_total"), cpu)
        self.assertGreater(get(s, "process_cpu_seconds_total"), cpu - 1)

    def test_5_head_other_methods_and_credentials(self):
        head = self.curl("-I", path="/metrics", auth=None)
        self.assertEqual((head.status, head.headers.get("content-type")), (200, CONTENT_TYPE))
        self.assertTrue(head.body.endswith(b"\r\n\r\n"), head.body)  # curl -I writes the headers alone
        self.assertGreater(int(head.headers["content-length"]), 1000)
        post = self.curl("-d", "x=1", path="/metrics", auth=None)
        self.assertEqual((post.status, post.headers.get("allow")), (405, "GET, HEAD"))
        self.assertEqual(post.headers.get("content-type"), "text/plain; charset=utf-8")
        self.assertEqual(post.body, b"Method Not Allowed: /metrics answers GET and HEAD\n")
        # Scrapes are not counted, but logged as every request is.
        self.assertIn("GET /metrics 200 account=-", self.stack.webhookd.log())
        # Credentials are neither needed nor looked at.
        self.assertEqual(self.curl(path="/metrics", auth=(ACCOUNT, "wrong")).status, 200)
        # Only the exact path: everything else keeps its answers.
        self.assertEqual(self.curl(path="/metrics/", auth=None).status, 404)
        self.assertEqual(self.curl(path=resource_path(), auth=None).status, 401)

    def test_6_promtool_finds_nothing(self):
        body = self.curl(path="/metrics", auth=None).body
        self.assertIn(b"# TYPE webhookd_requests_total counter", body)
        r = subprocess.run(["promtool", "check", "metrics"], input=body, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertEqual((r.returncode, r.stdout.decode()), (0, ""))
        # And promtool can fail: a counter without _total is one of its findings.
        bad = body + b"# HELP webhookd_bad a counter\n# TYPE webhookd_bad counter\nwebhookd_bad 1\n"
        r = subprocess.run(["promtool", "check", "metrics"], input=bad, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        self.assertIn(b"webhookd_bad", r.stdout)



class AlertRules(unittest.TestCase):
    """The shipped alert rules (conf/webhookd.rules.yml): `promtool check
    rules` finds them valid, and `promtool test rules` runs their unit tests
    (conf/webhookd.rules.test.yml): each rule fires where it should, with its
    severity, and stays quiet where it should not (a quiet host with three
    500s from one person's edit gets no page; a host answering 503s, having
    stepped aside, gets the ticket and not the page). The unit tests can
    fail: with the traffic floor or the 503 exclusion taken out of the
    rules, they do."""
    RULES = os.path.join(CONF_DIR, "webhookd.rules.yml")
    TESTS = os.path.join(CONF_DIR, "webhookd.rules.test.yml")

    def promtool(self, *args, cwd=None):
        return subprocess.run(["promtool"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              cwd=cwd)

    def test_rules_are_valid(self):
        r = self.promtool("check", "rules", self.RULES)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("SUCCESS: 4 rules found", r.stdout)

    def test_each_rule_fires_where_it_should_and_only_there(self):
        r = self.promtool("test", "rules", self.TESTS, cwd="/")  # the rules are found beside the tests
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("SUCCESS", r.stdout)

    def test_the_rule_tests_catch_a_rule_without_its_guards(self):
        with open(self.RULES) as f:
            rules = f.read()
        with open(self.TESTS) as f:
            tests = f.read()
        floor = "\n          and sum by (instance) (increase(webhookd_requests_total[5m])) > 100"
        not_503 = ',status!="503"'
        for what, cut, caught in [("no traffic floor", floor, 'instance="quiet"'),
                                  ("503s counted as errors", not_503, 'instance="sick"')]:
            with self.subTest(what):
                self.assertIn(cut, rules)
                with tempfile.TemporaryDirectory() as tmp:
                    with open(os.path.join(tmp, "webhookd.rules.yml"), "w") as f:
                        f.write(rules.replace(cut, ""))
                    with open(os.path.join(tmp, "webhookd.rules.test.yml"), "w") as f:
                        f.write(tests)
                    r = self.promtool("test", "rules", os.path.join(tmp, "webhookd.rules.test.yml"))
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn("alertname: WebhookdServerErrors", r.stdout)
                self.assertIn(caught, r.stdout)


class ServerCounters(RawCase):
    """The edge's own counters, on webhookd's socket directly (no nginx):
    a connection over --max-connections is refused and counted, a request
    not whole within --request-timeout is dropped and counted, and the
    gauges read what is open and busy at the scrape."""
    workers = 2
    extra = ("--max-connections", "3", "--request-timeout", "0.5")
    stop_signal = signal.SIGTERM

    def scrape(self):
        conn = fcgi_client.Connection(self.sock)
        try:
            status, _, body = fcgi_client.parse(conn.request({"REQUEST_METHOD": "GET", "DOCUMENT_URI": "/metrics"}))
        finally:
            conn.close()
        self.assertEqual(status, 200)
        return parse(body.decode())

    def test_refused_and_timed_out_connections_are_counted(self):
        before = self.scrape()
        self.assertEqual(get(before, "webhookd_connections_refused_total"), 0)
        self.assertEqual(get(before, "webhookd_requests_timed_out_total"), 0)
        # A request that never becomes whole: dropped after 0.5 s.
        partial = fcgi_client.Connection(self.sock)
        partial.sock.sendall(b"\x01\x01\x00\x01\x00\x08")  # half a BEGIN_REQUEST header
        partial.sock.settimeout(5)
        self.assertEqual(partial.sock.recv(1), b"")  # closed by webhookd, unanswered
        partial.close()
        # Two idle kept connections and a third: the limit (3) is full, a
        # fourth is closed at once.
        held = [fcgi_client.Connection(self.sock) for _ in range(3)]
        wait_for(lambda: "connections open, the limit" in self.daemon.log() or self.open_refused(), 5, "a refusal")
        for c in held:
            c.close()
        # The closes reach webhookd's workers a moment later (later still on
        # a loaded machine): scrape until the gauges show them, 5 s at most.
        after = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                after = self.scrape()
                if get(after, "webhookd_connections_open") == 1 and get(after, "webhookd_workers_busy") == 1:
                    break
            except (OSError, EOFError):
                pass  # the held connections' closes not seen yet: this one refused too
            time.sleep(0.05)
        self.assertIsNotNone(after)
        self.assertEqual(get(after, "webhookd_requests_timed_out_total"), 1)
        self.assertGreaterEqual(get(after, "webhookd_connections_refused_total"), 1)
        self.assertEqual(get(after, "webhookd_connections_open"), 1)  # the scrape's own
        self.assertEqual(get(after, "webhookd_workers_busy"), 1)      # the worker answering it
        self.assertEqual(get(after, "webhookd_log_lines_dropped_total"), 0)

    def open_refused(self):
        """Opens one more connection and says whether webhookd closed it at once."""
        c = fcgi_client.Connection(self.sock)
        try:
            c.sock.settimeout(1)
            return c.sock.recv(1) == b""
        except OSError:
            return False
        finally:
            c.close()


@unittest.skipUnless(os.geteuid() == 0, "a network namespace needs root (CI runs as root)")
class MetricsOnlyForLoopback(StackCase):
    """A second nginx on the same webhookd listens on the host's end of a
    veth pair; the other end is in a network namespace of this test's own.
    A request from there (or to that address at all) is not from loopback."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.netns = "whm%d" % os.getpid()
        cls.outside, cls.inside = "whm%do" % os.getpid(), "whm%di" % os.getpid()
        subnet = "10.214.%d" % (os.getpid() % 200 + 20)
        cls.host_address, cls.ns_address = subnet + ".1", subnet + ".2"
        cls.nginx2 = None
        try:
            for argv in (["ip", "netns", "add", cls.netns],
                         ["ip", "link", "add", cls.outside, "type", "veth", "peer", "name", cls.inside],
                         ["ip", "link", "set", cls.inside, "netns", cls.netns],
                         ["ip", "addr", "add", cls.host_address + "/24", "dev", cls.outside],
                         ["ip", "link", "set", cls.outside, "up"],
                         ["ip", "-n", cls.netns, "addr", "add", cls.ns_address + "/24", "dev", cls.inside],
                         ["ip", "-n", cls.netns, "link", "set", cls.inside, "up"],
                         ["ip", "-n", cls.netns, "link", "set", "lo", "up"]):
                subprocess.run(argv, check=True, capture_output=True)
            cls.port2 = free_port()
            cls.nginx2 = Nginx(os.path.join(cls.stack.tmp, "nginx-veth"), cls.port2, [cls.stack.socket_path],
                               listen=cls.host_address).start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.nginx2:
            cls.nginx2.stop()
        subprocess.run(["ip", "link", "del", cls.outside], capture_output=True)
        subprocess.run(["ip", "netns", "del", cls.netns], capture_output=True)
        super().tearDownClass()

    def from_netns(self, path, auth=None):
        argv = ["nsenter", "--net=/run/netns/" + self.netns, "--", "curl", "-sS", "-o", "-", "-D", "/dev/stderr",
                "-w", "\n%{http_code}"]
        if auth:
            argv += ["-u", "%s:%s" % auth]
        out = subprocess.run(argv + ["http://%s:%d%s" % (self.host_address, self.port2, path)], capture_output=True,
                             text=True, timeout=30)
        body, _, status = out.stdout.rpartition("\n")
        return int(status), out.stderr, body

    def test_another_address_gets_403_and_the_api_is_unchanged(self):
        lines = lambda: self.stack.webhookd.log().count(" /metrics ")
        seen = lines()
        status, headers, body = self.from_netns("/metrics")
        self.assertEqual(status, 403)
        self.assertIn("content-type: text/plain; charset=utf-8", headers.lower())
        self.assertEqual(body, "Forbidden: /metrics is served to loopback only\n")
        self.assertEqual(lines(), seen, "a denied scrape reached webhookd")
        # The API is served to any address, as before.
        status, _, body = self.from_netns(resource_path(), auth=(ACCOUNT, TOKEN))
        self.assertEqual(status, 200, body)
        self.assertIn(SID, body)
        # From this machine, but to the veth's address: not loopback either.
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "http://%s:%d/metrics" % (self.host_address, self.port2)], capture_output=True, text=True)
        self.assertEqual(r.stdout, "403")
        # And loopback is let in.
        self.assertEqual(self.curl(path="/metrics", auth=None).status, 200)


if __name__ == "__main__":
    unittest.main()
