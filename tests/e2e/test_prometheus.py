"""A real Prometheus (Debian's prometheus 2.42) scrapes webhookd through
nginx's shipped `location = /metrics` and answers queries about it (issue
18): started and stopped inside the test, its data in a temp directory, on a
free port, scraping every second. It also loads the shipped alert rules
(conf/webhookd.rules.yml): each must load healthy, and each expression must
return a series once the test provokes its condition, so that a rule naming
a metric that does not exist fails here. The Prometheus process is stopped
whatever happens."""
import json
import os
import shutil
import signal
import subprocess
import time
import unittest
import urllib.parse
import urllib.request

from e2e.support import StackCase
from harness.stack import CONF_DIR, _die_with_parent, free_port, wait_for

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
RULES = os.path.join(CONF_DIR, "webhookd.rules.yml")


class RealPrometheus(StackCase):
    workers = 4

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.prometheus = None
        try:
            cls.start_prometheus()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_prometheus(cls):
        cls.prom_dir = os.path.join(cls.tmp, "prometheus")
        os.makedirs(os.path.join(cls.prom_dir, "data"))
        config = os.path.join(cls.prom_dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
                    "rule_files:\n  - %s\n"
                    "scrape_configs:\n  - job_name: webhookd\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % (RULES, cls.stack.port))
        cls.prom_port = free_port()
        cls.prom_log = open(os.path.join(cls.prom_dir, "prometheus.log"), "wb")
        cls.prometheus = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(cls.prom_dir, "data"),
             "--web.listen-address=127.0.0.1:%d" % cls.prom_port, "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=cls.prom_log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        # Ready: the TSDB open, the API answering (503 before).
        wait_for(lambda: cls.ready() or cls.prometheus.poll() is not None, 60, "prometheus to be ready")
        if cls.prometheus.poll() is not None:
            raise RuntimeError("prometheus exited with %s: %s" % (cls.prometheus.returncode, cls.prom_log_text()))

    @classmethod
    def ready(cls):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % cls.prom_port, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    @classmethod
    def prom_log_text(cls):
        with open(os.path.join(cls.prom_dir, "prometheus.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    @classmethod
    def tearDownClass(cls):
        if cls.prometheus and cls.prometheus.poll() is None:
            cls.prometheus.send_signal(signal.SIGTERM)
            try:
                cls.prometheus.wait(20)
            except subprocess.TimeoutExpired:
                cls.prometheus.kill()
                cls.prometheus.wait()
        if getattr(cls, "prom_log", None):
            cls.prom_log.close()
        super().tearDownClass()

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s" % (self.prom_port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            doc = json.load(r)
        self.assertEqual(doc["status"], "success", doc)
        return doc["data"]

    def query(self, expr):
        """[(labels, value)] of an instant query."""
        return [(r["metric"], float(r["value"][1])) for r in self.api("query", query=expr)["result"]]

    def eventually(self, expr, accept, timeout=60, what=None):
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            seen = self.query(expr)
            if accept(seen):
                return seen
            time.sleep(0.5)
        self.fail("%s: %s is %r after %d s\nprometheus's log:\n%s" % (what or "query", expr, seen, timeout,
                                                                     self.prom_log_text()[-3000:]))

    def scraped(self):
        """Until Prometheus scrapes webhookd (its discovery hands targets over
        every 5 s), and once more after that."""
        self.eventually('up{job="webhookd"}', lambda r: r and r[0][1] == 1, what="the target up")
        first = self.query('timestamp(up{job="webhookd"})')[0][1]
        self.eventually('timestamp(up{job="webhookd"})', lambda r: r and r[0][1] > first, what="one more scrape")

    def test_1_scrapes_webhookd_and_answers_queries(self):
        self.scraped()
        self.assertEqual(self.query("sum(webhookd_requests_total)"), [({}, 0.0)])
        # GETs spread over a few seconds, so that rate() has samples to work on.
        sent = 0
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            self.assertEqual(self.curl().status, 200)
            sent += 1
            time.sleep(0.05)
        # Exactly what was sent: Prometheus's own scrapes are not counted.
        self.eventually("sum(webhookd_requests_total)", lambda r: r == [({}, float(sent))],
                        what="%d requests counted" % sent)
        p99 = self.eventually(
            "histogram_quantile(0.99, rate(webhookd_request_duration_seconds_bucket[1m]))",
            lambda r: any(labels.get("method") == "GET" and 0 < v <= 1 for labels, v in r), what="a p99 for GET")
        value = [v for labels, v in p99 if labels.get("method") == "GET"][0]
        print("  (sum(webhookd_requests_total) = %d; GET p99 %.2f ms)" % (sent, value * 1e3), flush=True)

    def test_2_the_shipped_rules_load_and_each_fires_when_provoked(self):
        def rules():
            groups = self.api("rules")["groups"]
            return [r for g in groups for r in g["rules"]]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (rules() and all(r["health"] == "ok" for r in rules())):
            time.sleep(0.5)
        loaded = rules()
        self.assertEqual(sorted(r["name"] for r in loaded),
                         ["WebhookdConfigReloadRefused", "WebhookdServerErrors", "WebhookdStateWriteErrors",
                          "WebhookdSteppedAside"])
        self.assertEqual([(r["name"], r["health"]) for r in loaded if r["health"] != "ok"], [])
        self.scraped()  # the counters' values before anything is provoked
        for r in loaded:  # nothing provoked yet: no series
            self.assertEqual(self.query(r["query"]), [], r["name"])

        # 5xx: traffic over the rule's floor (100 answers in 5 minutes), then
        # a person's invalid edit, read a few times.
        for _ in range(150):
            self.assertEqual(self.curl().status, 200)
        good = open(self.state_file(), "rb").read()
        self.write_state("account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nbogus: 1\n")
        for _ in range(20):
            self.assertEqual(self.curl().status, 500)
        with open(self.state_file(), "wb") as f:
            f.write(good)
        # A failed state write: the service's lock file is a FIFO (one bad file).
        lock = os.path.join(self.state_dir, ".%s.lock" % "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        if os.path.exists(lock):
            os.unlink(lock)
        os.mkfifo(lock)
        try:
            self.assertEqual(self.curl("-d", "PreWebhookUrl=https://rules.example.com/x").status, 500)
        finally:
            os.unlink(lock)
        # The host steps aside: its state directory fails (here a regular
        # file where the directory was: ENOTDIR on the directory itself).
        aside = self.state_dir + ".aside"
        os.rename(self.state_dir, aside)
        try:
            with open(self.state_dir, "w") as f:
                f.write("not a directory\n")
            for _ in range(3):
                self.assertEqual(self.curl().status, 503)
        finally:
            if os.path.isfile(self.state_dir):
                os.unlink(self.state_dir)
            os.rename(aside, self.state_dir)
        self.assertEqual(self.curl().status, 200)
        # A refused reload.
        with open(self.config) as f:
            config = f.read()
        try:
            with open(self.config, "w") as f:
                f.write(config + "bogus_key: 1\n")
            self.stack.webhookd.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "reload refused" in self.stack.webhookd.log(), 10, "the reload refused")
        finally:
            with open(self.config, "w") as f:
                f.write(config)
        for r in loaded:
            self.eventually(r["query"], lambda result: len(result) == 1, what=r["name"])


if __name__ == "__main__":
    unittest.main()
