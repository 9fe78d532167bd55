"""webhookd as a process: SIGTERM with requests in flight, kept connections,
SIGHUP reloads, bad configs, the request log, the three ways the socket
arrives (--listen, fd 0 from spawn-fcgi, LISTEN_FDS from systemd), and
restarts under GET and POST load through the shipped nginx files."""
import http.client
import json
import os
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from e2e.support import (ACCOUNT, BASIC_AUTH, SID, WEBHOOKD, assert_no_sanitizer_report, fcgi_params, resource_path,
                         seed_services, seed_state, seeded_dir, start_on_held_socket, wait_until_serving,
                         write_config)
from harness import fcgi_client
from harness.stack import Nginx, Webhookd, free_port, held_socket, read_log, stop_process, wait_for



class ProcessCase(unittest.TestCase):
    def setUp(self):
        self.tmp, self.state_dir, self.config = seeded_dir("webhookd-proc-")
        self.sock = os.path.join(self.tmp, "w.sock")
        self.log = os.path.join(self.tmp, "webhookd.log")
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.stop(signal.SIGKILL)
            assert_no_sanitizer_report(self, self.daemon.log())
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, workers=2):
        self.daemon = Webhookd(WEBHOOKD, self.config, self.sock, workers, log_path=self.log).start()
        return self.daemon

    def fetch(self, conn=None, **kw):
        c = conn or fcgi_client.Connection(self.sock)
        try:
            return fcgi_client.parse(c.request(fcgi_params(**kw)))
        finally:
            if conn is None:
                c.close()


class SignalsTest(ProcessCase):
    def test_sigterm_finishes_the_request_in_flight_then_exits_0(self):
        daemon = self.start()
        body = b"Method=GET"
        conn = fcgi_client.Connection(self.sock)
        conn.send_head(fcgi_params("POST", body=body), body_length=len(body))  # the body is not sent yet
        time.sleep(0.2)
        daemon.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        self.assertIsNone(daemon.proc.poll(), "exited with a request in flight")
        conn.send_body(body)
        status, headers, answer = fcgi_client.parse(conn.read_response())
        conn.close()
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(answer)["method"], "GET")
        self.assertEqual(daemon.proc.wait(5), 0)
        self.assertFalse(os.path.exists(self.sock), "a socket webhookd created itself is removed")
        with open(os.path.join(self.state_dir, SID + ".yaml")) as f:
            self.assertIn("method: GET", f.read())
        # New connections are no longer accepted once it is gone.
        with self.assertRaises(OSError):
            fcgi_client.Connection(self.sock)

    def test_sigterm_when_idle_exits_0_at_once(self):
        daemon = self.start(workers=8)
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        self.assertEqual(daemon.proc.wait(5), 0)
        self.assertLess(time.monotonic() - started, 2)
        self.assertIn("webhookd: stopped", daemon.log())

    def test_kept_connections_serve_many_requests_and_do_not_block_shutdown(self):
        daemon = self.start(workers=1)
        conn = fcgi_client.Connection(self.sock)
        for i in range(3):
            # The end-of-stdin record arrives apart from the params, as under
            # load: webhookd must consume it, or the next request on this
            # connection starts with a stray record and the connection dies.
            conn.send_head(fcgi_params(), request_id=1, keep=True)
            time.sleep(0.05)
            conn.send_body(b"", request_id=1)
            status, _, body = fcgi_client.parse(conn.read_response(1))
            self.assertEqual(status, 200, body)
        # The one worker now waits on this idle kept connection; SIGTERM must still work.
        daemon.proc.send_signal(signal.SIGTERM)
        self.assertEqual(daemon.proc.wait(5), 0)
        conn.close()

    def test_a_served_connection_is_closed_whole_at_once(self):
        # libfcgi's own close only half-closes (shutdown SHUT_WR) and then
        # waits up to 2 s for nginx to close first; webhookd closes outright
        # once it has read the request to its end, so the peer sees the socket
        # gone at once: a write to it fails.
        self.start(workers=2)
        conn = fcgi_client.Connection(self.sock)
        try:
            status, _, body = fcgi_client.parse(conn.request(fcgi_params()))
            self.assertEqual(status, 200, body)
            self.assertEqual(conn.sock.recv(1), b"")
            with self.assertRaises((BrokenPipeError, ConnectionResetError)):
                for _ in range(50):  # 0.5 s: far below libfcgi's 2 s linger
                    conn.sock.send(b"\1")
                    time.sleep(0.01)
        finally:
            conn.close()

    def test_sigusr1_is_ignored(self):
        # libfcgi's FCGX_Init caught it; since the edge decodes requests
        # itself, its default (the end of the process) came back.
        daemon = self.start()
        daemon.proc.send_signal(signal.SIGUSR1)
        time.sleep(0.2)
        self.assertIsNone(daemon.proc.poll(), "SIGUSR1 ended webhookd")
        self.assertEqual(self.fetch()[0], 200)

    def test_sighup_reloads_and_refuses_a_bad_config(self):
        daemon = self.start()
        self.assertTrue(json.loads(self.fetch()[2])["url"].startswith("http://api.example/"))
        write_config(self.tmp, self.state_dir, public_base_url="https://conversations.example.com")
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reloaded" in daemon.log(), 5, "reload")
        self.assertEqual(json.loads(self.fetch()[2])["url"],
                         "https://conversations.example.com" + resource_path())
        with open(self.config, "a") as f:
            f.write("bogus_key: 1\n")
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in daemon.log(), 5, "refusal")
        self.assertRegex(daemon.log(), r"reload refused, keeping the old config: .*webhookd\.yaml:\d+:1: unknown key 'bogus_key'")
        status, _, body = self.fetch()
        self.assertEqual(status, 200)
        self.assertTrue(json.loads(body)["url"].startswith("https://conversations.example.com/"))

    def test_sighup_refuses_a_config_whose_state_dir_is_missing(self):
        daemon = self.start()
        write_config(self.tmp, os.path.join(self.tmp, "no-such-dir"))
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in daemon.log(), 5, "refusal")
        self.assertRegex(daemon.log(), r"reload refused, keeping the old config: .*webhookd\.yaml: state_dir: .*no-such-dir")
        status, _, body = self.fetch()
        self.assertEqual(status, 200, body)  # still served from the old state_dir, not 404

    def test_a_reload_that_moves_state_dir_cleans_up_the_new_one(self):
        daemon = self.start()
        moved = os.path.join(self.tmp, "moved")
        seed_state(moved)
        leftover = os.path.join(moved, "." + SID + ".tmp.CRASH0")  # a crash leftover in the new directory
        with open(leftover, "w") as f:
            f.write("half a file")
        write_config(self.tmp, moved)
        daemon.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "state now in " + moved in daemon.log(), 5, "reload")
        wait_for(lambda: not os.path.exists(leftover), 5, "clean-up of the new state_dir")
        # The line follows the unlink through the log thread's batch: under
        # ASan it was not there yet when the file was already gone.
        wait_for(lambda: "leftover temp file(s)" in daemon.log(), 5, "the clean-up's log line")
        conn = fcgi_client.Connection(self.sock)
        try:
            status, _, body = fcgi_client.parse(conn.request(fcgi_params("POST", body=b"Method=GET"), body=b"Method=GET"))
        finally:
            conn.close()
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["method"], "GET")
        with open(os.path.join(moved, SID + ".yaml")) as f:
            self.assertIn("method: GET", f.read())

    def test_version_and_help_exit_0(self):
        for flag, says in (("--version", r"^webhookd \d+\.\d+\.\d+$"), ("--help", r"usage: webhookd --config FILE")):
            got = subprocess.run([WEBHOOKD, flag], capture_output=True, text=True, timeout=10)
            self.assertEqual(got.returncode, 0, got.stderr)
            self.assertRegex(got.stdout.strip().splitlines()[0], says)
        bad = subprocess.run([WEBHOOKD, "--no-such-flag"], capture_output=True, text=True, timeout=10)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("usage:", bad.stderr)

    def test_one_log_line_per_request(self):
        daemon = self.start()
        _, headers, _ = self.fetch()
        self.fetch(sid="ISnope")
        daemon.stop()
        # A worker logs a request after sending its answer: the second
        # request, answered by the other worker, can be logged first (seen
        # on a loaded machine). One line each, in either order.
        lines = [l for l in daemon.log().splitlines() if l.startswith(("GET ", "POST "))]
        self.assertEqual(len(lines), 2, daemon.log())
        by_status = {l.split(" ")[2]: l for l in lines}
        self.assertEqual(sorted(by_status), ["200", "404"], daemon.log())
        self.assertRegex(by_status["200"], r"^GET %s 200 account=%s request_id=%s duration=\d+\.\d+ms$" % (
            re.escape(resource_path()), ACCOUNT, headers["twilio-request-id"]))
        self.assertRegex(by_status["404"], r"^GET /v1/Services/ISnope/Configuration/Webhooks 404 ")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def answered_and_waiting(conns, expected, timeout=10):
    """The connections answered once `expected` are (or the time is up),
    and a moment later, and the others."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(1 for c in conns if select.select([c.sock], [], [], 0)[0]) >= expected:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    answered = [c for c in conns if select.select([c.sock], [], [], 0)[0]]
    return answered, [c for c in conns if c not in answered]


class DescriptorLimitTest(ProcessCase):
    """Out of file descriptors: accept4 fails with EMFILE and the listener
    stays readable. Re-armed at once, every worker spun on it (measured: 2
    CPU-seconds in 2 s and 678,446 identical log lines). It must back off,
    say so in a few lines, warn at start, and serve again once
    descriptors are free. And the workers keep a reserve for their own
    files: connections that took the last descriptors made their requests
    answer 500 (EMFILE opening the state file), the ones served at first
    and, in an ASan run, one that had waited in the queue."""
    LIMIT = 48

    def test_out_of_descriptors_backs_off_then_serves_again(self):
        limit = self.LIMIT

        proc = self.spawn(["--workers", "2", "--max-connections", "100"], soft=limit, hard=limit)
        conns = []
        try:
            allowed = self.allowed_at_start(limit, limit, 100)
            # More kept connections than descriptors: each sends a request at once.
            for _ in range(limit + 20):
                conn = fcgi_client.Connection(self.sock)
                conn.send_head(fcgi_params(), keep=True)
                conn.send_body(b"")
                conns.append(conn)
            answered, waiting = answered_and_waiting(conns, allowed)
            # What the warning said: the same rule as the connections accepted.
            self.assertEqual(len(answered), allowed)
            self.assertGreater(len(waiting), 10)  # in the listening socket's queue
            # Stuck like this, it must stay quiet: little CPU, few lines.
            cpu_before = cpu_seconds(proc.pid)
            time.sleep(2)
            cpu = cpu_seconds(proc.pid) - cpu_before
            self.assertLess(cpu, 0.3, "%.2f CPU-seconds in 2 s" % cpu)
            lines = [l for l in read_log(self.log).splitlines() if "cannot accept" in l]
            print("out of descriptors: %.2f CPU-seconds in 2 s, %d log line(s), %d connections answered, "
                  "%d waiting" % (cpu, len(lines), len(answered), len(waiting)), flush=True)
            self.assertGreaterEqual(len(lines), 1)
            self.assertLessEqual(len(lines), 2, lines[:5])
            self.assertRegex(lines[0], r"cannot accept more connections: \d+ open, and 16 descriptors kept for "
                                       r"the workers' files, of a limit of %d \(RLIMIT_NOFILE\)" % limit)
            # The workers' reserve: every request served is served whole.
            for conn in answered:
                self.assertEqual(fcgi_client.parse(conn.read_response())[0], 200)
                conn.close()
            # Descriptors are free again: every waiting request is served,
            # in turns (each closed once answered, as nginx past its
            # keepalive would), and never takes the workers' reserve.
            for conn in waiting:
                conn.sock.settimeout(5)
                self.assertEqual(fcgi_client.parse(conn.read_response())[0], 200)
                conn.close()
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(10), 0)
        finally:
            for conn in conns:
                conn.close()
        assert_no_sanitizer_report(self, read_log(self.log))

    def spawn(self, args, soft=None, hard=None):
        """webhookd with RLIMIT_NOFILE (soft, hard) when given, once serving."""
        def limit():
            if soft is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

        with open(self.log, "wb") as log:
            proc = subprocess.Popen([WEBHOOKD, "--config", self.config, "--listen", "unix:" + self.sock] + args,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, preexec_fn=limit)
        self.spawned.append(proc)
        wait_for(lambda: "serving" in read_log(self.log) or proc.poll() is not None, 20, "webhookd")
        self.assertIsNone(proc.poll(), read_log(self.log))
        return proc

    def setUp(self):
        super().setUp()
        self.spawned = []

    def tearDown(self):
        for proc in self.spawned:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert_no_sanitizer_report(self, read_log(self.log))
        super().tearDown()

    def allowed_at_start(self, soft, hard, max_connections):
        """The connections the start-up warning says the limit allows."""
        m = re.search(r"warning: the file descriptor limit is %d \(hard %d\): it allows (\d+) connections at once, "
                      r"below --max-connections %d \(\d+ descriptors open besides connections, \d+ kept for \d+ "
                      r"workers' files\)" % (soft, hard, max_connections), read_log(self.log))
        self.assertIsNotNone(m, read_log(self.log))
        return int(m.group(1))

    def assert_served_then_stop(self, proc, conns):
        """Each connection's request answered 200 within 5 s; then SIGTERM
        ends webhookd with status 0."""
        for conn in conns:
            conn.sock.settimeout(5)
            self.assertEqual(fcgi_client.parse(conn.read_response())[0], 200)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(10), 0)

    def connect(self, n, conns):
        for _ in range(n):
            conn = fcgi_client.Connection(self.sock)
            conns.append(conn)
            conn.send_head(fcgi_params(), keep=True)
            conn.send_body(b"")
        return conns

    @unittest.skipUnless(os.geteuid() == 0 or resource.getrlimit(resource.RLIMIT_NOFILE)[1] >= 20000,
                         "needs root for a hard limit of 20000 (CI runs as root)")
    def test_many_workers_serve_every_connection_up_to_max_connections(self):
        # 40 workers, 1000 connections, systemd's soft limit 1024 and a hard
        # one far above: webhookd raises the limit itself and must then serve
        # all 1000 (before: 969, the 970th waited, with no warning at start),
        # and refuse the 1001st, as the README says.
        own = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(own[0], min(own[1], 4096)), own[1]))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, own)
        proc = self.spawn(["--workers", "40", "--max-connections", "1000"], 1024, 20000)
        self.assertNotIn("warning", read_log(self.log))
        conns = []
        try:
            self.connect(1000, conns)
            for i, conn in enumerate(conns):
                conn.sock.settimeout(10)
                try:
                    status = fcgi_client.parse(conn.read_response())[0]
                except OSError as e:
                    self.fail("connection %d of 1000: %r; %s" % (i + 1, e, read_log(self.log)[-2000:]))
                self.assertEqual(status, 200)
            extra = fcgi_client.Connection(self.sock, timeout=10)
            conns.append(extra)
            try:
                extra.send_head(fcgi_params(), keep=True)
                extra.send_body(b"")
                self.assertEqual(extra.sock.recv(1), b"", "the 1001st connection is closed")
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed before or with our request in it: closed either way
            # The log is written by its own thread: the line may follow the close.
            wait_for(lambda: "1000 connections open, the limit (--max-connections)" in read_log(self.log), 5,
                     "the refusal's log line")
            self.assertNotIn("cannot accept", read_log(self.log))
            soft = int(re.search(r"Max open files\s+(\d+)", open("/proc/%d/limits" % proc.pid).read()).group(1))
            print("40 workers, --max-connections 1000: limit raised to %d, 1000 served" % soft, flush=True)
        finally:
            for conn in conns:
                conn.close()

    def test_a_low_limit_serves_as_many_connections_as_workers(self):
        # RLIMIT_NOFILE 80 and 16 workers: too low for the workers' reserve
        # (72: 4 a worker and 8) and what else is open.
        # Before, one connection at a time (a second waited while the first
        # stayed open: behind nginx's kept connections, 504s under load).
        proc = self.spawn(["--workers", "16"], 80, 80)
        conns = []
        try:
            answered, waiting = answered_and_waiting(self.connect(20, conns), 16)
            self.assertEqual(len(answered), 16)
            self.assertEqual(len(waiting), 4)
            # Said at start, with the number it then kept to.
            self.assertEqual(self.allowed_at_start(80, 80, 4096), 16)
            self.assertIn("too low for the workers' reserve", read_log(self.log))
            for conn in answered:
                self.assertEqual(fcgi_client.parse(conn.read_response())[0], 200)
            for conn in answered:
                conn.close()
            self.assert_served_then_stop(proc, waiting)
        finally:
            for conn in conns:
                conn.close()

    def test_a_limit_lowered_while_running_backs_off_accept4(self):
        # accept4 itself failing (EMFILE: a limit lowered with prlimit after
        # start, or ENFILE for the whole system): the listener stays readable;
        # re-armed at once, every worker spun on it. It must back off, say so,
        # and serve the waiting connections once the limit is back.
        proc = self.spawn(["--workers", "2"])
        fd_dir = "/proc/%d/fd" % proc.pid
        at_rest = len(os.listdir(fd_dir))
        # A GET and a POST first. Not for webhookd: UBSan (the ASan build)
        # checks a virtual call's type the first time by probing memory
        # through a pipe(), which fails out of descriptors, and reports an
        # "invalid vptr" that is not there; once checked, the type is cached.
        self.assertEqual(self.fetch()[0], 200)
        warm = fcgi_client.Connection(self.sock)
        try:
            body = b"Method=GET"
            self.assertEqual(fcgi_client.parse(warm.request(fcgi_params("POST", body=body), body=body))[0], 200)
        finally:
            warm.close()
        # webhookd closes its end of those on reading our close: counted
        # before, a number freed after would let a third connection in.
        wait_for(lambda: len(os.listdir(fd_dir)) <= at_rest, 5, "the warm-up connections closed")
        soft, hard = resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)
        used = {int(fd) for fd in os.listdir(fd_dir)}
        lowest_free = min(set(range(len(used) + 1)) - used)
        conns = []
        try:
            resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (lowest_free + 2, hard))  # two connections' worth
            self.connect(12, conns)
            wait_for(lambda: "cannot accept a connection" in read_log(self.log), 10, "the accept4 line")
            cpu_before = cpu_seconds(proc.pid)
            time.sleep(2)
            cpu = cpu_seconds(proc.pid) - cpu_before
            lines = [l for l in read_log(self.log).splitlines() if "cannot accept" in l]
            print("accept4 out of descriptors: %.2f CPU-seconds in 2 s, %d log line(s)" % (cpu, len(lines)), flush=True)
            self.assertLess(cpu, 0.3, "%.2f CPU-seconds in 2 s" % cpu)
            self.assertLessEqual(len(lines), 2, lines[:5])
            self.assertRegex(lines[0], r"cannot accept a connection: Too many open files \(\d+ connections open\); "
                                       r"not accepting for 100 ms at a time")
            accepted = [c for c in conns if select.select([c.sock], [], [], 0)[0]]
            self.assertLessEqual(len(accepted), 2)
            for conn in accepted:  # no descriptor for the state file: 503, or 200 from memory
                self.assertIn(fcgi_client.parse(conn.read_response())[0], (200, 503))
            resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (soft, hard))
            self.assert_served_then_stop(proc, [c for c in conns if c not in accepted])
        finally:
            for conn in conns:
                conn.close()


class StartupTest(ProcessCase):
    def run_webhookd(self, *args):
        return subprocess.run([WEBHOOKD] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=10)

    def test_a_bad_config_stops_startup_naming_file_line_and_problem(self):
        with open(self.config, "a") as f:
            f.write("accounts: again\n")
        r = self.run_webhookd("--config", self.config, "--listen", "unix:" + self.sock)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"bad config: .*webhookd\.yaml:\d+:1: duplicate key 'accounts'")
        self.assertFalse(os.path.exists(self.sock))

    def test_usage_and_check(self):
        self.assertEqual(self.run_webhookd().returncode, 2)
        self.assertEqual(self.run_webhookd("--config", self.config, "--workers", "0").returncode, 2)
        r = self.run_webhookd("--config", self.config, "--check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.run_webhookd("--config", os.path.join(self.tmp, "none.yaml"), "--check").returncode, 2)

    def test_missing_state_dir_stops_startup(self):
        r = self.run_webhookd("--config", self.config, "--state-dir", os.path.join(self.tmp, "nope"),
                              "--listen", "unix:" + self.sock)
        self.assertEqual(r.returncode, 2)
        self.assertIn("nope", r.stderr)


class InheritedSocketTest(ProcessCase):
    def test_fd0_from_spawn_fcgi(self):
        proc = subprocess.Popen(["spawn-fcgi", "-n", "-s", self.sock, "--", WEBHOOKD, "--config", self.config,
                                 "--workers", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: os.path.exists(self.sock), 5, "spawn-fcgi socket")
            status, _, body = self.fetch()
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["chat_service_sid"], SID)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(5), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()

    def test_systemd_socket_activation_and_notify(self):
        notify_path = os.path.join(self.tmp, "notify")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        notify.settimeout(5)
        proc = subprocess.Popen(["systemd-socket-activate", "-l", self.sock, "-E", "NOTIFY_SOCKET=" + notify_path, WEBHOOKD, "--config", self.config],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: os.path.exists(self.sock), 5, "activation socket")
            status, _, body = self.fetch()  # the first connection starts webhookd
            self.assertEqual(status, 200, body)
            self.assertEqual(notify.recv(100), b"READY=1")
            proc.send_signal(signal.SIGHUP)
            # systemd asks RELOADING=1 to carry the monotonic clock (Type=notify-reload).
            self.assertRegex(notify.recv(100), rb"^RELOADING=1\nMONOTONIC_USEC=\d+$")
            self.assertEqual(notify.recv(100), b"READY=1")
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(notify.recv(100), b"STOPPING=1")
            self.assertEqual(proc.wait(5), 0)
            # The socket belongs to systemd: webhookd must not have removed it.
            self.assertTrue(os.path.exists(self.sock))
        finally:
            notify.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()


def restart_under_load(binary, tmp, restarts=6, posters=6, getters=2, load_seconds=0.7, pause=0.0):
    """The socket held as systemd holds it (this process binds it and hands it
    to every webhookd as fd 0, StandardInput=socket), nginx rendered from the
    shipped template and conf/webhookd.locations.conf with keepalive 64,
    `posters` clients each POSTing a counter to a service of its own and
    `getters` clients GETting (each waiting `pause` seconds between two
    requests), while webhookd is restarted `restarts` times (SIGTERM, wait
    for it to exit, start the next). Returns what was seen."""
    state_dir = os.path.join(tmp, "state")
    seed_state(state_dir)
    sids = ["IS%032x" % (0xd00d0 + i) for i in range(posters)]
    seed_services(state_dir, sids)
    config = write_config(tmp, state_dir)
    with held_socket(tmp) as (listener, path):
        seen = {"posts": 0, "gets": 0, "failures": [], "restart_seconds": [], "exit_codes": [], "logs": []}
        lock = threading.Lock()
        acked = {sid: None for sid in sids}
        procs = []

        def start(n):
            log = os.path.join(tmp, "webhookd-%d.log" % n)
            proc = start_on_held_socket(listener, config, log, binary)
            procs.append((proc, log))
            return proc, log

        stop = threading.Event()
        nginx = Nginx(os.path.join(tmp, "nginx"), free_port(), [path], keepalive=64)

        def client(kind, i):
            conn = None
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=30)
                    headers = {"Authorization": BASIC_AUTH}
                    if kind == "post":
                        value = "https://hooks.example.com/%d/%d" % (i, n)
                        body = urllib.parse.urlencode({"PreWebhookUrl": value})
                        headers["Content-Type"] = "application/x-www-form-urlencoded"
                        conn.request("POST", resource_path(sids[i]), body=body, headers=headers)
                    else:
                        conn.request("GET", resource_path(), headers=headers)
                    response = conn.getresponse()
                    answer = response.read()
                    ok = response.status == 200
                    if ok and kind == "post":
                        ok = json.loads(answer)["pre_webhook_url"] == value
                    with lock:
                        seen[kind + "s"] += 1
                        if ok and kind == "post":
                            acked[sids[i]] = value
                        if not ok:
                            seen["failures"].append("%s %d: %s" % (kind, response.status, answer[:200]))
                except (OSError, http.client.HTTPException) as e:
                    with lock:
                        seen["failures"].append("%s: %r" % (kind, e))
                    if conn:
                        conn.close()
                    conn = None
                if pause:
                    stop.wait(pause)
            if conn:
                conn.close()

        threads = [threading.Thread(target=client, args=("post", i)) for i in range(posters)]
        threads += [threading.Thread(target=client, args=("get", i)) for i in range(getters)]
        try:
            proc, log = start(0)
            wait_until_serving(proc, log)
            nginx.start()
            for t in threads:
                t.start()
            for n in range(1, restarts + 1):
                time.sleep(load_seconds)
                started = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                seen["exit_codes"].append(proc.wait(20))
                proc, log = start(n)
                wait_until_serving(proc, log, "the next webhookd")
                seen["restart_seconds"].append(time.monotonic() - started)
            time.sleep(load_seconds)
        finally:
            stop.set()
            for t in threads:
                if t.is_alive():
                    t.join(60)
            nginx.stop()
            for p, log in procs:
                stop_process(p)
                seen["logs"].append(read_log(log))
            seen["nginx_errors"] = nginx.error_log()
    # Every POST answered 200 is in its service's file: each client's last
    # acknowledged value (its POSTs are sequential, each answer checked).
    seen["lost"] = []
    for sid in sids:
        with open(os.path.join(state_dir, sid + ".yaml")) as f:
            text = f.read()
        if acked[sid] is not None and "pre_webhook_url: %s\n" % acked[sid] not in text:
            seen["lost"].append("%s: acknowledged %s, the file holds %r" % (sid, acked[sid], text))
    return seen


def closed_at_the_bound(logs):
    """Idle kept connections webhookd closed itself, at its stop's bound: with
    the shipped nginx (keepalive_timeout 1s) nginx closes them first."""
    return sum(int(m) for log in logs for m in re.findall(r"stopping: closed (\d+) idle kept connection", log))


class RestartUnderLoadTest(unittest.TestCase):
    """The issue's operator run: six restarts while six clients POST and two GET."""

    def test_six_restarts_under_post_and_get_load_fail_no_request(self):
        tmp = tempfile.mkdtemp(prefix="webhookd-restart-")
        try:
            seen = restart_under_load(WEBHOOKD, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for log in seen["logs"]:
            assert_no_sanitizer_report(self, log)
        print("restarts under load: %d POSTs, %d GETs, %d failed; restarts took %s s; %d idle connection(s) "
              "closed at the stop's bound" % (seen["posts"], seen["gets"], len(seen["failures"]),
                                               ", ".join("%.2f" % s for s in seen["restart_seconds"]),
                                               closed_at_the_bound(seen["logs"])), flush=True)
        self.assertEqual(seen["failures"], [], "nginx:\n" + seen["nginx_errors"][-3000:])
        self.assertEqual(seen["lost"], [])
        self.assertEqual(seen["exit_codes"], [0] * 6)
        self.assertGreater(seen["posts"], 300)
        self.assertGreater(seen["gets"], 100)
        for seconds in seen["restart_seconds"]:
            self.assertLess(seconds, 2.0, seen["restart_seconds"])


def burst_after_idle(binary, tmp, trials, burst=16, idle=0.5, delays=(0.25,)):
    """The reviewer's run (review of issue 17, finding 1): nginx from the
    shipped template (keepalive 64) holding `burst` cached idle connections
    to webhookd, the socket held as systemd holds it. Each trial: `burst`
    clients POST at once (nginx now holds that many connections), all wait
    `idle` seconds, webhookd gets SIGTERM, and after the trial's delay (the
    next of `delays`) the `burst` clients POST again, at once: right when a
    stopping webhookd would close idle connections. Then the next webhookd
    starts. Every POST must answer 200 with its value; returns what was seen."""
    state_dir = os.path.join(tmp, "state")
    seed_state(state_dir)
    sids = ["IS%032x" % (0xb0b0 + i) for i in range(burst)]
    seed_services(state_dir, sids)
    config = write_config(tmp, state_dir)
    with held_socket(tmp) as (listener, path):
        seen = {"posts": 0, "failures": [], "stop_seconds": [], "restart_seconds": [], "exit_codes": [], "logs": []}
        procs = []
        nginx = Nginx(os.path.join(tmp, "nginx"), free_port(), [path], keepalive=64)

        def start(n):
            log = os.path.join(tmp, "webhookd-%d.log" % n)
            proc = start_on_held_socket(listener, config, log, binary)
            procs.append((proc, log))
            wait_until_serving(proc, log)
            return proc, log

        conns = [None] * burst

        def post(i, value):
            # Each client keeps its own HTTP connection to nginx: the burst
            # reaches nginx at once, and nginx picks upstream connections for it.
            try:
                if conns[i] is None:
                    conns[i] = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=30)
                conns[i].request("POST", resource_path(sids[i]), body=urllib.parse.urlencode({"PreWebhookUrl": value}),
                                 headers={"Authorization": BASIC_AUTH,
                                          "Content-Type": "application/x-www-form-urlencoded"})
                response = conns[i].getresponse()
                answer = response.read()
                if response.status != 200 or json.loads(answer)["pre_webhook_url"] != value:
                    return "POST %d: %s" % (response.status, answer[:200])
            except (OSError, http.client.HTTPException) as e:
                if conns[i]:
                    conns[i].close()
                conns[i] = None
                return "POST: %r" % e
            return None

        def fire(tag):
            """Starts `burst` POSTs at once; returns a function that waits for them
            (some may wait in the socket's queue for the next webhookd)."""
            gate = threading.Barrier(burst)
            results = [None] * burst

            def one(i):
                gate.wait()
                results[i] = post(i, "https://hooks.example.com/%s/%d" % (tag, i))

            threads = [threading.Thread(target=one, args=(i,)) for i in range(burst)]
            for t in threads:
                t.start()

            def join():
                for t in threads:
                    t.join(60)
                seen["posts"] += burst
                seen["failures"].extend(r for r in results if r)

            return join

        try:
            proc, log = start(0)
            nginx.start()
            for n in range(trials):
                fire("warm-%d" % n)()  # nginx now holds `burst` connections, all idle from here
                time.sleep(idle)
                stopped = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                time.sleep(delays[n % len(delays)])
                answered = fire("burst-%d" % n)
                seen["exit_codes"].append(proc.wait(20))
                seen["stop_seconds"].append(time.monotonic() - stopped)
                proc, log = start(n + 1)
                seen["restart_seconds"].append(time.monotonic() - stopped)
                answered()
        finally:
            for c in conns:
                if c:
                    c.close()
            nginx.stop()
            for p, log in procs:
                stop_process(p)
                seen["logs"].append(read_log(log))
            seen["nginx_errors"] = nginx.error_log()
    return seen


class BurstAfterIdleTest(unittest.TestCase):
    """Restarts lose no POST when nginx holds idle kept connections and a
    burst of POSTs comes right when a stopping webhookd would close them:
    0.24-0.27 s after SIGTERM (main closed idle ones at 0.25 s: POSTs lost
    in 2 of 32 bursts in the review, in 2 of 100 trials of this test, 17
    POSTs; a race, so this test does not fail on main every time:
    StopTest's test_an_idle_kept_connection_is_left_to_the_peer_until_the_bound
    does), and around nginx's own keepalive_timeout (1 s of idle)."""

    def test_a_burst_of_posts_at_the_drain_moment_loses_none(self):
        tmp = tempfile.mkdtemp(prefix="webhookd-burst-")
        try:
            seen = burst_after_idle(WEBHOOKD, tmp, trials=24,
                                    delays=(0.24, 0.25, 0.26, 0.27, 0.25, 0.26, 0.49, 0.51))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for log in seen["logs"]:
            assert_no_sanitizer_report(self, log)
        print("bursts after idle: %d POSTs, %d failed; stops took %.2f-%.2f s, restarts %.2f-%.2f s; %d idle "
              "connection(s) closed at the stop's bound" % (
                  seen["posts"], len(seen["failures"]), min(seen["stop_seconds"]), max(seen["stop_seconds"]),
                  min(seen["restart_seconds"]), max(seen["restart_seconds"]), closed_at_the_bound(seen["logs"])),
              flush=True)
        self.assertEqual(seen["failures"], [], "nginx:\n" + seen["nginx_errors"][-3000:])
        self.assertEqual(seen["exit_codes"], [0] * 24)
        for seconds in seen["restart_seconds"]:
            self.assertLess(seconds, 2.0, seen["restart_seconds"])


class StopAtRestTest(unittest.TestCase):
    """A stop at rest, right after traffic: nginx from the shipped template
    holds idle kept connections to webhookd, and nothing more comes. The
    template's upstream `keepalive_timeout 1s` makes nginx close them itself
    (1 s after their last use), so webhookd closes none at its 1.5 s bound
    (no race with a request nginx might be writing) and exits within the
    2 s restart goal. Without that line nginx keeps them for 60 s: webhookd
    closes them at the bound and logs it, and this test fails."""

    def test_nginx_closes_its_idle_connections_and_the_stop_ends_within_2_s(self):
        tmp, state_dir, config = seeded_dir("webhookd-rest-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        listener, path = self.enterContext(held_socket(tmp))
        log = os.path.join(tmp, "webhookd.log")
        nginx = Nginx(os.path.join(tmp, "nginx"), free_port(), [path], keepalive=64)
        proc = None

        def get(path_, auth=True):
            conn = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=30)
            try:
                conn.request("GET", path_, headers={"Authorization": BASIC_AUTH} if auth else {})
                response = conn.getresponse()
                return response.status, response.read()
            finally:
                conn.close()

        try:
            proc = start_on_held_socket(listener, config, log)
            wait_until_serving(proc, log)
            nginx.start()
            # Eight clients at once, until nginx keeps several connections
            # to webhookd (webhookd_connections_open counts them, the scrape's own included).
            kept = 0
            for _ in range(10):
                gate, statuses = threading.Barrier(8), []

                def one():
                    gate.wait()
                    statuses.append(get(resource_path())[0])

                threads = [threading.Thread(target=one) for _ in range(8)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(60)
                self.assertEqual(statuses, [200] * 8)
                status, body = get("/metrics", auth=False)
                self.assertEqual(status, 200, body)
                kept = float(re.search(r"^webhookd_connections_open (\S+)$", body.decode(), re.M).group(1))
                if kept >= 3:
                    break
            self.assertGreaterEqual(kept, 3, "nginx kept too few connections for this test to mean anything")
            time.sleep(0.3)  # at rest: the last use 0.3 s before the stop
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(10)
            took = time.monotonic() - started
            text = read_log(log)
            assert_no_sanitizer_report(self, text)
            self.assertEqual(code, 0)
            self.assertNotIn("idle kept connection(s) still open", text,
                             "webhookd closed idle connections itself: nginx did not (keepalive_timeout)")
            self.assertLess(took, 2.0)
            # The next request on the held socket is served by the next webhookd.
            proc = start_on_held_socket(listener, config, log, append=True)
            self.assertEqual(get(resource_path())[0], 200)
            print("stop at rest: %d kept connection(s) open, none closed at the bound; the stop took %.2f s" % (
                kept, took), flush=True)
        finally:
            nginx.stop()
            stop_process(proc)
