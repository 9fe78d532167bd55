"""The README's "Deploy on a Debian server", done as a person would, on a real
systemd: a minimal Debian 12 root (mmdebstrap, cached under build/container/
keyed by its package list) boots in systemd-nspawn with a private network;
`make install DESTDIR=<root>` stands in for the README's `make install`, and
every other command of the README's deploy block runs inside the container,
word for word. Then, through nginx: the official python client, reloads good
and bad, a restart under a stream of GETs, the journal, the exposure rating,
and the sandbox. The container is stopped and removed whatever happens."""
import base64
import os
import re
import subprocess
import time
import unittest

from e2e.support import readme_steps
from harness.container import Container, root_tarball, v1_cpu_hierarchies
from harness.stack import REPO

ACCOUNT, TOKEN = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "token-7f3a1c"
SECOND, SECOND_TOKEN = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "second-9d2e44"
SID = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
PATH = "/v1/Services/%s/Configuration/Webhooks" % SID
# What the root holds: systemd, nginx, webhookd's runtime libraries, and the
# tools the checks use (the official python client, curl).
PACKAGES = ["systemd", "systemd-sysv", "dbus", "nginx-light", "libfcgi0ldbl", "libprometheus-cpp-core1.0",
            "libyaml-cpp0.7", "libssl3",
            "python3-twilio", "curl", "ca-certificates", "git"]


# Runs inside the container (test_4b): the clients, the restarts, and a
# report on stdout, one "key value" per line.
RESTART_LOAD = """
import base64, http.client, json, subprocess, threading, time, urllib.parse
auth = "Basic " + base64.b64encode(b"%(auth)s").decode()
sids = %(sids)r
stop = threading.Event()
lock = threading.Lock()
seen = {"posts": 0, "gets": 0, "failures": []}
acked = {}

def client(kind, i):
    conn, n = None, 0
    while not stop.is_set():
        n += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", 80, timeout=30)
            headers = {"Authorization": auth}
            if kind == "post":
                value = "https://hooks.example.com/%%d/%%d" %% (i, n)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
                conn.request("POST", "/v1/Services/%%s/Configuration/Webhooks" %% sids[i],
                             body=urllib.parse.urlencode({"PreWebhookUrl": value}), headers=headers)
            else:
                conn.request("GET", "%(get_path)s", headers=headers)
            response = conn.getresponse()
            body = response.read()
            ok = response.status == 200 and (kind == "get" or json.loads(body)["pre_webhook_url"] == value)
            with lock:
                seen[kind + "s"] += 1
                if ok and kind == "post":
                    acked[i] = value
                if not ok:
                    seen["failures"].append("%%s %%d %%s" %% (kind, response.status, body[:100]))
        except Exception as e:
            with lock:
                seen["failures"].append("%%s %%r" %% (kind, e))
            if conn:
                conn.close()
            conn = None

threads = [threading.Thread(target=client, args=("post", i)) for i in range(len(sids))]
threads += [threading.Thread(target=client, args=("get", i)) for i in range(2)]
# No reset-failed first: the starts of the tests before count too, as they
# would for an operator (the unit allows 30 in 10 s).
[t.start() for t in threads]
restarts = []
first = None
try:
    for _ in range(6):
        time.sleep(%(spacing)s)
        started = time.monotonic()
        first = first or started
        # Returns once the new webhookd has sent READY=1 (Type=notify).
        r = subprocess.run(["systemctl", "restart", "webhookd"], capture_output=True, text=True)
        if r.returncode != 0:
            print("restart-failed", " ".join(r.stderr.split()))
            break
        restarts.append(time.monotonic() - started)
    window = time.monotonic() - first
    time.sleep(0.7)
finally:
    stop.set()
    [t.join() for t in threads]
print("posts", seen["posts"])
print("gets", seen["gets"])
print("failures", len(seen["failures"]))
print("restarts", " ".join("%%.2f" %% s for s in restarts))
print("window %%.2f" %% window)
print("acked", " ".join(acked.get(i, "-") for i in range(len(sids))))
for f in seen["failures"][:5]:
    print("failure", f)
"""


@unittest.skipUnless(os.geteuid() == 0, "booting a container needs root (CI runs as root)")
class DeployOnDebianTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.box = Container(cpu_quota=True)  # test_11: CPUQuota= takes effect on a cgroup v1 host too
        cls.addClassCleanup(cls.box.destroy)
        os.mkdir(cls.box.root)
        subprocess.run(["tar", "-xf", root_tarball("deploy", PACKAGES), "-C", cls.box.root], check=True)
        # The README's `make install`, into the container's root.
        subprocess.run(["make", "-s", "-C", REPO, "install", "DESTDIR=" + cls.box.root], check=True,
                       stdout=subprocess.DEVNULL)
        cls.box.boot()
        # What the README assumes a person has: the account's token in a file.
        cls.box.write("/root/token", TOKEN + "\n")
        cls.box.run("chmod 0600 /root/token")
        for step in readme_steps("deploy-steps"):
            if step == "make install":
                continue  # done above, from the host
            cls.box.run(step)
        # `systemctl reload nginx` returns once nginx is signalled: until the
        # master has read the new config and the old workers are gone, Debian's
        # default site may still answer, and its HTML 404 reached the python
        # client as "Unable to update record" (once in a full run). Wait for
        # the first answer of the new site, as the README tells scripts to.
        deadline = time.monotonic() + 30
        while cls.curl() != "200" and time.monotonic() < deadline:
            time.sleep(0.1)

    @classmethod
    def curl(cls, user=ACCOUNT, token=TOKEN, *args):
        r = cls.box.run("curl -s -o /dev/null -w '%%{http_code}' -u %s:%s %s http://127.0.0.1%s" % (
            user, token, " ".join(args), PATH), check=False)
        return r.stdout.strip()

    def test_1_python_client_get_and_post_through_nginx(self):
        script = (
            "from twilio.rest import Client\n"
            "c = Client(%r, %r)\n"
            "c.conversations.base_url = 'http://127.0.0.1'\n"
            "w = c.conversations.v1.services(%r).configuration.webhooks()\n"
            "u = w.update(pre_webhook_url='https://hooks.example.com/pre', filters=['onMessageAdd'], method='GET')\n"
            "f = w.fetch()\n"
            "print(u.pre_webhook_url, ','.join(u.filters), u.method, f.method, f.pre_webhook_url)\n"
            % (ACCOUNT, TOKEN, SID))
        r = self.box.run("python3 -", input=script)
        self.assertEqual(r.stdout.split(), ["https://hooks.example.com/pre", "onMessageAdd", "GET", "GET",
                                            "https://hooks.example.com/pre"])
        state = self.box.run("cat /var/lib/webhookd/%s.yaml" % SID).stdout
        self.assertIn("method: GET", state)

    def test_10_metrics_answer_on_loopback_after_the_readmes_steps(self):
        # The README's line, on the server itself: the shipped site's
        # location = /metrics, webhookd under its sandbox (ProcSubset=pid and
        # ProtectProc=invisible leave it /proc/self, all process_* needs).
        self.assertEqual(self.curl(), "200")
        r = self.box.run("curl -s -D - http://127.0.0.1/metrics")
        head, _, body = r.stdout.partition("\n\n")  # text mode: \r\n read as \n
        self.assertRegex(head, r"^HTTP/1.1 200 OK")
        self.assertIn("Content-Type: text/plain; version=0.0.4; charset=utf-8", head)
        self.assertRegex(body, r'(?m)^webhookd_requests_total\{method="GET",status="200"\} [1-9]')
        self.assertRegex(body, r'(?m)^webhookd_build_info\{version="[^"]+"\} 1$')
        for name in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                     "process_max_fds", "process_start_time_seconds"):
            self.assertRegex(body, r"(?m)^%s [0-9.e+]+$" % name)
        started = float(re.search(r"(?m)^process_start_time_seconds (\S+)$", body).group(1))
        now = float(self.box.run("date +%s").stdout)
        self.assertLess(started, now + 1)
        self.assertGreater(started, now - 3600)

    def workers_in_epoll_wait(self, pid):
        """How many of webhookd's threads wait in epoll_wait, by the kernel's
        word for where each sleeps (test_kept_connections'
        threads_in_epoll_wait): the running workers; standby ones wait on a
        condition variable. The same figure 5 times in a row, 0.1 s apart,
        so that a worker busy for a moment does not count as one fewer."""
        count = "for t in /proc/%s/task/*; do echo \"$(cat $t/wchan)\"; done | grep -c epoll" % pid
        seen, deadline = [], time.monotonic() + 15
        while len(seen) < 5 or len(set(seen[-5:])) > 1:
            self.assertLess(time.monotonic(), deadline, "no steady count: %s" % seen)
            seen.append(int(self.box.run(count, check=False).stdout))
            time.sleep(0.1)
        return seen[-1]

    def cpu_quota_applied(self, pid):
        """The quota over the period in webhookd's cpu cgroup, as systemd
        wrote it (v1's cfs files, v2's cpu.max), or None."""
        for line in self.box.run("cat /proc/%s/cgroup" % pid).stdout.splitlines():
            _, names, path = line.split(":", 2)
            if "cpu" in names.split(","):
                files = "/sys/fs/cgroup/%s%s/cpu.cfs_quota_us /sys/fs/cgroup/%s%s/cpu.cfs_period_us" % (
                    names, path, names, path)
            elif not names:
                files = "/sys/fs/cgroup%s/cpu.max" % path
            else:
                continue
            r = self.box.run("cat %s" % files, check=False)
            if r.returncode == 0 and r.stdout.split()[0] not in ("-1", "max"):
                return "%s/%s" % tuple(r.stdout.split())
        return None

    def restart_with_cpu_quota(self, quota):
        """`systemctl edit webhookd`'s drop-in with this CPUQuota=, then a
        restart, as the man page asks (the quota is read at start);
        webhookd's pid once it answers through nginx."""
        dropin = "/etc/systemd/system/webhookd.service.d"
        self.box.run("mkdir -p %s" % dropin)
        self.box.write(dropin + "/override.conf", "[Service]\nCPUQuota=%s\n" % quota)
        self.box.run("systemctl daemon-reload && systemctl restart webhookd")
        deadline = time.monotonic() + 30
        while self.curl() != "200":
            self.assertLess(time.monotonic(), deadline, "no 200 after the restart")
            time.sleep(0.1)
        return self.main_pid()

    def main_pid(self):
        """webhookd's pid, as systemd knows it ("0" when it does not run)."""
        return self.box.run("systemctl show -p MainPID --value webhookd").stdout.strip()

    def test_11_cpu_quota_caps_the_workers_that_run_at_once(self):
        # webhookd(8): as many workers as there are CPUs take turns at the
        # connections, "and no more than its cgroup's CPU quota allows at
        # start: CPUQuota=, rounded up". An operator's drop-in on the shipped
        # unit (--workers 16), a restart, through the container's systemd:
        # 100% lets 1 worker run, 150% 2 (rounded up, not down); without a
        # quota as many as the CPUs (before webhookd read the quota, that
        # many whatever it was).
        with open(os.path.join(REPO, "conf", "man", "webhookd.8.scd")) as f:
            self.assertIn("no more than its cgroup's CPU quota allows at start: *CPUQuota=*, rounded up",
                          " ".join(f.read().split()))
        self.assertIn("# CPUQuota=150% in a drop-in lets at most 2 workers run at once (read at start: restart).",
                      self.box.run("systemctl cat webhookd").stdout)  # the installed unit's header
        cpus = int(self.box.run("nproc").stdout)
        if cpus < 2:
            self.skipTest("one CPU: a quota of 1 CPU's worth changes nothing")
        self.assertEqual(self.curl(), "200")
        seen = {"none": self.workers_in_epoll_wait(self.main_pid())}
        # Whatever happens, the tests after this one find the unit as shipped.
        self.addCleanup(self.box.run, "rm -rf /etc/systemd/system/webhookd.service.d; systemctl daemon-reload; "
                        "systemctl restart webhookd", check=False)
        for quota, applied in (("100%", "100000/100000"), ("150%", "150000/100000")):
            pid = self.restart_with_cpu_quota(quota)
            quota_seen = self.cpu_quota_applied(pid)
            if quota_seen is None and not self.box.cgroups:
                # On a v1 host the harness must have made the cgroups: not
                # having done so is a failure, not a reason to skip.
                self.assertFalse(v1_cpu_hierarchies(), "the container got no cpu cgroups of its own: %s" %
                                 self.box.cpu_quota_why)
                self.skipTest("CPUQuota= takes no effect in this container (%s)" % self.box.cpu_quota_why)
            self.assertEqual(quota_seen, applied, "the quota systemd set on webhookd's cgroup")
            seen[quota] = self.workers_in_epoll_wait(pid)
        print("workers in epoll_wait: %s (%d CPUs)" % (seen, cpus), flush=True)
        self.assertEqual(seen, {"none": min(cpus, 16), "100%": 1, "150%": 2})

    def test_2_reload_adds_an_account_at_once(self):
        self.assertEqual(self.curl(SECOND, SECOND_TOKEN), "401")
        self.box.run("printf %%s %s | webhookctl hash-secret --account %s >> /etc/webhookd/webhookd.yaml" % (
            SECOND_TOKEN, SECOND))
        self.box.run("printf 'account_sid: %s\\n' | install -o webhookd -g webhookd -m 0644 /dev/stdin "
                     "/var/lib/webhookd/ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.yaml" % SECOND)
        self.box.run("systemctl reload webhookd")
        r = self.box.run("curl -s -o /dev/null -w '%%{http_code}' -u %s:%s "
                         "http://127.0.0.1/v1/Services/ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/Configuration/Webhooks" % (
                             SECOND, SECOND_TOKEN))
        self.assertEqual(r.stdout, "200")
        self.assertEqual(self.curl(), "200")

    def test_3_a_bad_config_is_a_failed_reload_and_the_old_one_stays(self):
        good = self.box.run("cat /etc/webhookd/webhookd.yaml").stdout
        self.box.run("echo 'bogus_key: 1' >> /etc/webhookd/webhookd.yaml")
        try:
            reload = self.box.run("systemctl reload webhookd", check=False)
            self.assertNotEqual(reload.returncode, 0, "a bad config must fail the reload")
            self.assertEqual(self.box.run("systemctl is-active webhookd", check=False).stdout.strip(), "active")
            self.assertEqual(self.curl(), "200")
            journal = self.box.run("journalctl -u webhookd --no-pager -o cat").stdout
            self.assertRegex(journal, r"webhookd\.yaml:\d+:1: unknown key 'bogus_key'")
        finally:
            self.box.write("/etc/webhookd/webhookd.yaml", good)

    def test_4_restart_under_a_stream_of_gets_loses_nothing(self):
        stream = (
            "import base64, http.client, threading, time\n"
            "auth = 'Basic ' + base64.b64encode(b'%s:%s').decode()\n"
            "codes = {}\n"
            "lock = threading.Lock()\n"
            "def client():\n"
            "    end = time.monotonic() + 5\n"
            "    while time.monotonic() < end:\n"
            "        try:\n"
            "            c = http.client.HTTPConnection('127.0.0.1', 80, timeout=10)\n"
            "            c.request('GET', %r, headers={'Authorization': auth})\n"
            "            status = str(c.getresponse().status)\n"
            "            c.close()\n"
            "        except Exception as e:\n"
            "            status = type(e).__name__\n"
            "        with lock:\n"
            "            codes[status] = codes.get(status, 0) + 1\n"
            "threads = [threading.Thread(target=client) for _ in range(4)]\n"
            "[t.start() for t in threads]\n"
            "[t.join() for t in threads]\n"
            "print(' '.join('%%s=%%d' %% kv for kv in sorted(codes.items())))\n" % (ACCOUNT, TOKEN, PATH))
        self.box.write("/root/stream.py", stream)
        # Each restart's stop, counted from here: test_11 restarted it before.
        stops = "journalctl -u webhookd --no-pager -o cat | grep -c 'webhookd: stopped'"
        stopped = int(self.box.run(stops, check=False).stdout)
        r = self.box.run("python3 /root/stream.py & sleep 1; systemctl restart webhookd; sleep 1.5; "
                         "systemctl restart webhookd; wait", timeout=60)
        counts = dict(kv.split("=") for kv in r.stdout.split())
        nginx_errors = self.box.run("tail -n 30 /var/log/nginx/error.log", check=False).stdout
        journal = self.box.run("journalctl -u webhookd --no-pager -o short-precise | grep -v ' GET /v1' | tail -n 30",
                               check=False).stdout
        self.assertEqual(list(counts), ["200"], "every GET across two restarts answers 200: %s\nnginx:\n%s\njournal:\n%s" % (
            r.stdout, nginx_errors, journal))
        self.assertGreater(int(counts["200"]), 100)
        self.assertEqual(int(self.box.run(stops, check=False).stdout), stopped + 2)

    def test_4b_six_restarts_in_under_10_s_under_posts_and_gets_fail_nothing(self):
        # The operator run, on the real units: six clients each POST
        # a counter to a service of their own and two GET, through the
        # shipped site (keepalive 64), while `systemctl restart webhookd`
        # runs six times within 10 s (0.5 s apart). systemd's default start
        # limit (5 in 10 s) failed the sixth, and with it webhookd.socket:
        # the unit allows 30. Every answer 200, every acknowledged POST in its
        # file, every restart back to serving (READY=1) within 2 s, and both
        # units active after.
        sids = ["IS%032x" % (0xdeb0 + i) for i in range(6)]
        for sid in sids:
            self.box.run("printf 'account_sid: %s\\n' | install -o webhookd -g webhookd -m 0644 /dev/stdin "
                         "/var/lib/webhookd/%s.yaml" % (ACCOUNT, sid))
        self.box.write("/root/restart_load.py", RESTART_LOAD % {"auth": "%s:%s" % (ACCOUNT, TOKEN), "sids": sids,
                                                                 "get_path": PATH, "spacing": 0.5})
        try:
            r = self.box.run("python3 /root/restart_load.py", timeout=180)
            active = self.box.run("systemctl is-active webhookd.service webhookd.socket", check=False).stdout.split()
        finally:
            # Whatever happened, the next tests find the service as they expect it.
            self.box.run("systemctl reset-failed webhookd.service webhookd.socket; systemctl start webhookd.socket",
                         check=False)
        report = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
        nginx_errors = self.box.run("tail -n 20 /var/log/nginx/error.log", check=False).stdout
        self.assertNotIn("restart-failed", report, r.stdout)
        self.assertEqual(active, ["active", "active"], r.stdout)
        self.assertLess(float(report["window"]), 10.0, r.stdout)
        self.assertEqual(report.get("failures"), "0", "%s\nnginx:\n%s" % (r.stdout, nginx_errors))
        self.assertGreater(int(report["posts"]), 300, r.stdout)
        self.assertGreater(int(report["gets"]), 100, r.stdout)
        seconds = [float(x) for x in report["restarts"].split()]
        self.assertEqual(len(seconds), 6, r.stdout)
        self.assertLess(max(seconds), 2.0, r.stdout)
        for sid, value in zip(sids, report["acked"].split()):
            state = self.box.run("cat /var/lib/webhookd/%s.yaml" % sid).stdout
            self.assertIn("pre_webhook_url: %s\n" % value, state, "an acknowledged POST is not in %s" % sid)
        print("systemctl restart under load: %s POSTs, %s GETs, %s failed; restarts took %s s, six in %s s" % (
            report["posts"], report["gets"], report["failures"], report["restarts"], report["window"]), flush=True)

    def test_4c_past_the_start_limit_both_units_fail_until_the_readme_brings_them_back(self):
        # What the README says of the 31st start within 10 s: systemd fails
        # webhookd.service (start-limit-hit) and webhookd.socket with it
        # (service-start-limit-hit), the socket is closed, nginx answers its
        # JSON 503; the README's two commands bring both back.
        # The shipped limit, as systemd read it from the installed unit:
        limits = sorted(self.box.run("systemctl show -p StartLimitIntervalUSec -p StartLimitBurst "
                                     "webhookd.service").stdout.split())
        self.assertEqual(limits, ["StartLimitBurst=30", "StartLimitIntervalUSec=10s"])
        # 31 restarts in a row take several seconds, more on a loaded
        # machine: past 10 s the first starts leave the count and the limit
        # is never reached, which would fail this test for the machine's
        # speed. So, for this test only, a runtime drop-in widens the window
        # (the burst, 30, stays the shipped one): what is tested is the 31st
        # start's failure, both units' state, the 503 and the way back.
        dropin = "/run/systemd/system/webhookd.service.d"
        self.box.run("mkdir -p %s && printf '[Unit]\\nStartLimitIntervalSec=300s\\n' > %s/zz-test-window.conf && "
                     "systemctl daemon-reload" % (dropin, dropin))
        try:
            self.assertIn("StartLimitIntervalUSec=5min", self.box.run(
                "systemctl show -p StartLimitIntervalUSec webhookd.service").stdout)
            self.box.run("systemctl reset-failed webhookd.service")  # the count starts afresh
            started = time.monotonic()
            # In one shell in the container: 40 restarts at most, the number of the one that failed.
            r = self.box.run("n=0; while [ $n -lt 40 ]; do n=$((n+1)); systemctl restart webhookd || break; done; "
                             "echo $n", check=False, timeout=300)
            elapsed = time.monotonic() - started
            n = int(r.stdout.split()[-1])
            service = sorted(self.box.run("systemctl show -p ActiveState -p Result webhookd.service").stdout.split())
            socket_unit = sorted(self.box.run("systemctl show -p ActiveState -p Result webhookd.socket").stdout.split())
            status = self.curl()
            body = self.box.run("curl -s -u %s:%s http://127.0.0.1%s" % (ACCOUNT, TOKEN, PATH), check=False).stdout
        finally:
            self.box.run("rm -rf %s; systemctl daemon-reload; systemctl reset-failed webhookd.service webhookd.socket "
                         "&& systemctl start webhookd.socket" % dropin, check=False)
        self.assertEqual(n, 31, "the start that failed: %s" % r.stderr)
        self.assertEqual(service, ["ActiveState=failed", "Result=start-limit-hit"])
        self.assertEqual(socket_unit, ["ActiveState=failed", "Result=service-start-limit-hit"])
        self.assertEqual(status, "503")
        self.assertEqual(__import__("json").loads(body)["code"], 20503)
        self.assertEqual(self.curl(), "200")  # back, after the README's commands
        self.assertEqual(self.box.run("systemctl is-active webhookd.service webhookd.socket", check=False
                                      ).stdout.split(), ["active", "active"])
        self.assertIn("StartLimitIntervalUSec=10s", self.box.run(
            "systemctl show -p StartLimitIntervalUSec webhookd.service").stdout)  # the drop-in is gone
        print("start limit: restart %d failed both units (%.1f s for the %d restarts); back after reset-failed" % (
            n, elapsed, n), flush=True)

    def test_5_stop_finishes_and_the_socket_starts_it_again(self):
        self.box.run("systemctl stop webhookd.service")
        self.assertEqual(self.box.run("systemctl is-active webhookd.service", check=False).stdout.strip(), "inactive")
        self.assertIn("webhookd: stopped", self.box.run("journalctl -u webhookd --no-pager -o cat").stdout)
        self.assertEqual(self.curl(), "200")  # systemd holds the socket: the next request starts it
        self.assertEqual(self.box.run("systemctl is-active webhookd.service", check=False).stdout.strip(), "active")

    def test_6_journal_has_one_line_per_request_and_no_secret(self):
        # This GET's own line, found by the request id it was answered with:
        # the journal may hold the load tests' lines around it in any order.
        r = self.box.run("curl -s -o /dev/null -D - -u %s:%s http://127.0.0.1%s" % (ACCOUNT, TOKEN, PATH))
        self.assertIn(" 200", r.stdout.splitlines()[0])
        request_id = re.search(r"(?im)^Twilio-Request-Id: (RQ[0-9a-f]{32})", r.stdout).group(1)
        deadline = time.monotonic() + 10  # the request log writes within 2 ms; journald takes longer
        while True:
            journal = self.box.run("journalctl --no-pager -o cat").stdout  # every unit's lines
            mine = [l for l in journal.splitlines() if request_id in l]
            if mine or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # journald says "Suppressed N messages" only once its interval is over:
        # a line it dropped shows here as a missing line.
        self.assertEqual(len(mine), 1, "no line for request %s:\n%s" % (request_id, "\n".join(
            l for l in journal.splitlines() if "Suppressed" in l or "webhookd" in l.split(" ")[0])))
        self.assertNotRegex(journal, r"Suppressed \d+ messages from webhookd", "journald dropped request log lines")
        self.assertRegex(mine[0], r"^GET %s 200 account=%s request_id=%s duration=\d+\.\d{3}ms$" % (
            re.escape(PATH), ACCOUNT, request_id))
        for secret in (TOKEN, SECOND_TOKEN, base64.b64encode(("%s:%s" % (ACCOUNT, TOKEN)).encode()).decode()):
            self.assertFalse(secret in journal, "a secret reached the journal: %s" % secret)
        # No Authorization value of any kind ("Basic System" is systemd's own target).
        leaked = re.findall(r"(?:Authorization|Basic [A-Za-z0-9+/]{8,}=*)", journal)
        self.assertEqual(leaked, [])

    def test_7_exposure_rating_is_2_or_lower(self):
        r = self.box.run("systemd-analyze security --no-pager webhookd.service", check=False)
        level = re.search(r"Overall exposure level for webhookd\.service: (\d+\.\d+)", r.stdout)
        self.assertIsNotNone(level, r.stdout + r.stderr)
        self.assertLessEqual(float(level.group(1)), 2.0, r.stdout)

    def start_sync(self):
        """One deploy by the sync unit, which must have run (its
        ConditionPathExists= skips it, and succeeds, without sync.env)."""
        def runs():
            return int(self.box.run("journalctl -u webhookd-sync --no-pager -o cat | grep -c '^webhookd-sync: applying'",
                                    check=False).stdout.strip() or 0)

        before = runs()
        r = self.box.run("systemctl start webhookd-sync.service", check=False, timeout=120)
        journal = self.box.run("journalctl -u webhookd-sync --no-pager -o cat | tail -20").stdout
        self.assertEqual(r.returncode, 0, "webhookd-sync failed:\n" + journal)
        deadline = time.monotonic() + 5  # journald takes the unit's output a moment after it exits
        while runs() == before and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(runs(), before + 1, "webhookd-sync did not run:\n" + journal)

    GIT = "git -c user.name=ops -c user.email=ops@example.com"

    def configure_sync(self):
        """The GitOps repository, once: a bare one on this machine, seeded
        with an export of the live state (README: "Managing state with git"),
        and the sync unit pointed at it. Each test that uses the sync calls
        this: none relies on another having run."""
        if self.box.run("test -e /etc/webhookd/sync.env", check=False).returncode == 0:
            return
        git = self.GIT
        self.box.run("git init --quiet --bare --initial-branch=main /srv/gitops.git && "
                     "git clone --quiet /srv/gitops.git /root/gitops && mkdir /root/gitops/services && "
                     "webhookctl export --config /etc/webhookd/webhookd.yaml /root/gitops/services && "
                     "cd /root/gitops && %s add -A && %s commit --quiet -m export && git push --quiet origin main && "
                     "chmod -R a+rX /srv/gitops.git" % (git, git))
        self.box.write("/etc/webhookd/sync.env", "WEBHOOKD_SYNC_REPO=/srv/gitops.git\nWEBHOOKD_SYNC_PATH=services\n")
        self.box.run("systemctl enable --now webhookd-sync.timer")

    def test_9_the_sync_unit_deploys_a_push_to_a_bare_repository(self):
        git = self.GIT
        self.configure_sync()
        self.start_sync()
        # A reviewed change, merged and pushed.
        self.box.run("cd /root/gitops && sed -i 's|^pre_webhook_url: .*|pre_webhook_url: https://hooks.example.com/from-git|' "
                     "services/%s.yaml && %s commit --quiet -am 'pre hook from git' && git push --quiet origin main" % (
                         SID, git))
        before = self.box.run("curl -s -u %s:%s http://127.0.0.1%s" % (ACCOUNT, TOKEN, PATH)).stdout
        self.assertNotIn("from-git", before)
        self.start_sync()
        after = self.box.run("curl -s -u %s:%s http://127.0.0.1%s" % (ACCOUNT, TOKEN, PATH)).stdout
        self.assertEqual(__import__("json").loads(after)["pre_webhook_url"], "https://hooks.example.com/from-git")
        journal = self.box.run("journalctl -u webhookd-sync --no-pager -o cat").stdout
        self.assertIn("webhookd-sync: applying main at", journal)
        self.assertIn("updated %s" % SID, journal)
        self.assertIn("webhookd-sync.timer", self.box.run("systemctl list-timers --all --no-pager").stdout)

    def test_9b_webhookctl_run_as_root_leaves_nothing_root_owned(self):
        # Issue 17, item 2: an admin's root shell after the README's steps.
        # webhookctl acts as the state directory's owner (webhookd), so no
        # lock, record or state file becomes root's: webhookd (User=webhookd)
        # goes on answering POSTs, and the sync unit goes on applying.
        new, from_git = "ISdddddddddddddddddddddddddddddddd", "ISeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
        config = "--config /etc/webhookd/webhookd.yaml"
        self.box.run("webhookctl create-service --account %s --sid %s %s" % (ACCOUNT, new, config))
        self.box.run("webhookctl set %s --method GET --filters onMessageAdded %s" % (new, config))
        # A checkout only root can read, as /root/gitops is.
        self.box.run("mkdir -p -m 0700 /root/src && printf 'account_sid: %s\\nmethod: GET\\n' > /root/src/%s.yaml" % (
            ACCOUNT, from_git))
        self.box.run("webhookctl apply /root/src %s" % config)
        root_owned = self.box.run("find /var/lib/webhookd \\( -uid 0 -o -gid 0 \\) -printf '%p %u:%g\\n'").stdout
        for sid in (new, from_git):
            r = self.box.run("curl -s -o /dev/null -w '%%{http_code}' -u %s:%s --data-urlencode "
                             "PreWebhookUrl=https://hooks.example.com/after-root "
                             "http://127.0.0.1/v1/Services/%s/Configuration/Webhooks" % (ACCOUNT, TOKEN, sid), check=False)
            self.assertEqual(r.stdout, "200", "POST to %s after webhookctl ran as root" % sid)
        self.assertEqual(root_owned, "", "root-owned files in the state directory")
        # webhookd-sync (User=webhookd) takes the apply lock and writes the
        # record root's apply left (configured here if test_9 has not run:
        # this check was skipped, without a word, when this test ran alone).
        self.configure_sync()
        self.start_sync()

    def test_8_the_service_writes_nowhere_but_its_state_directory(self):
        pid = self.main_pid()
        self.assertNotEqual(pid, "0")
        probe = ("for p in /var/lib/webhookd/.probe /etc/probe /usr/local/probe /var/lib/probe /var/tmp/probe "
                 "/tmp/probe /dev/shm/probe /run/probe /root/probe /home/probe; do "
                 "if (echo x > $p) 2>/dev/null; then echo writable $p; rm -f $p; else echo refused $p; fi; done")
        # Inside the service's own namespaces, as its user.
        r = self.box.run("nsenter -t %s -a -S $(id -u webhookd) -G $(id -g webhookd) sh -c '%s'" % (pid, probe))
        writable = [l.split()[1] for l in r.stdout.splitlines() if l.startswith("writable")]
        self.assertEqual(writable, ["/var/lib/webhookd/.probe"], r.stdout)
        self.assertEqual(len(r.stdout.splitlines()), 10, r.stdout)


if __name__ == "__main__":
    unittest.main()
