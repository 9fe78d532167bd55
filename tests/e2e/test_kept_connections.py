"""Kept FastCGI connections (nginx's keepalive + fastcgi_keep_conn): any number
of them with any number of workers, none ever blocking another. Through
nginx with keepalive 64 and 256 clients against 4 workers; with the project's
own FastCGI client: 500 idle kept connections while another is served at
once, a request sent in pieces, pipelined requests, a half-close, an aborted
one, FCGI_GET_VALUES (alone, repeated, inside a request), the keep-conn flag
off, SIGTERM with idle connections and one in flight, and the bounds on
waiting peers: --request-timeout, the total memory of partial requests, a
peer that takes no answer."""
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from e2e.support import (BASIC_AUTH, SID, WEBHOOKD, RawCase, assert_no_sanitizer_report, fcgi_params,
                         resource_path, seed_state, seeded_dir, start_on_held_socket, write_config)
from harness import fcgi_client
from harness.cgroups import cgroup_mounts, remove_cgroup_tree
from harness.stack import REPO, Stack, Webhookd, held_socket, stop_process, wait_for



def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^Threads:\s+(\d+)", f.read(), re.M).group(1))


def sockets_of(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))


def big_post(conn, size):
    """A POST of `size` bytes of body, as the bytes to send on conn."""
    body = b"Method=GET&Padding=" + b"x" * (size - 19)
    return conn.request_bytes(fcgi_params("POST", body), body, keep=True)


class IdleConnectionsTest(RawCase):
    workers = 2

    def test_500_idle_kept_connections_hold_no_worker(self):
        idle = []
        try:
            for i in range(500):
                conn = self.connect()
                idle.append(conn)
                if i % 2 == 0:  # half served once and kept, half never used yet
                    status, body = self.get_on(conn)
                    self.assertEqual(status, 200, body)
            threads = threads_of(self.daemon.proc.pid)
            self.assert_served_at_once()
            # Every kept connection still works, in any order.
            for conn in idle[::50]:
                self.assertEqual(self.get_on(conn)[0], 200)
            self.assertEqual(threads_of(self.daemon.proc.pid), threads)  # no thread per connection
            self.assertGreaterEqual(sockets_of(self.daemon.proc.pid), 500)
        finally:
            for conn in idle:
                conn.close()
        # nginx closing its kept connections frees them here too.
        wait_for(lambda: sockets_of(self.daemon.proc.pid) < 10, 5, "closed connections released")


class ProtocolTest(RawCase):
    workers = 1  # one worker: whatever holds it would block everything else

    def test_a_request_sent_in_pieces_blocks_no_one(self):
        conn = self.connect()
        data = conn.request_bytes(fcgi_params("POST", b"Method=GET"), b"Method=GET", keep=True)
        try:
            # Byte by byte, other connections served in between.
            for i, byte in enumerate(data):
                conn.sock.sendall(bytes([byte]))
                if i % 97 == 0:
                    self.assert_served_at_once()
            status, _, body = fcgi_client.parse(conn.read_response())
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["method"], "GET")
            # The same kept connection serves the next request, whole this time.
            self.assertEqual(self.get_on(conn)[0], 200)
        finally:
            conn.close()
        self.assert_served_at_once()

    def test_an_aborted_request_is_dropped(self):
        before = open(os.path.join(self.state_dir, SID + ".yaml")).read()
        body = b"Method=GET"
        conn = self.connect()
        try:
            conn.send_head(fcgi_params("POST", body), keep=True, body_length=len(body))
            conn.send_abort()
            kind, rid, content = conn.read_record()
            self.assertEqual((kind, rid), (fcgi_client.END_REQUEST, 1))  # the spec's answer, no output
            self.assertEqual(content[4], 0)  # FCGI_REQUEST_COMPLETE
            # Kept: the connection serves the next request.
            self.assertEqual(self.get_on(conn)[0], 200)
        finally:
            conn.close()
        self.assertEqual(open(os.path.join(self.state_dir, SID + ".yaml")).read(), before)  # nothing written
        self.assert_served_at_once()

    def test_get_values_is_answered_and_the_connection_stays(self):
        conn = self.connect()
        try:
            values = conn.get_values(["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS", "FCGI_UNKNOWN"])
            self.assertEqual(values, {"FCGI_MAX_CONNS": "4096", "FCGI_MAX_REQS": "4096", "FCGI_MPXS_CONNS": "0"})
            self.assertEqual(self.get_on(conn)[0], 200)  # not fatal: the same connection serves a request
        finally:
            conn.close()
        self.assert_served_at_once()

    def test_pipelined_requests_are_all_answered_in_order(self):
        # libfcgi reads 8 KiB at a time and frees what follows the request it
        # was asked for: the second of two requests in one write was lost.
        conn = self.connect()
        conn.sock.settimeout(5)
        body = b"Method=GET"
        first = conn.request_bytes(fcgi_params("POST", body), body, request_id=1, keep=True)
        second = conn.request_bytes(fcgi_params(), request_id=2, keep=True)
        third = conn.request_bytes(fcgi_params("POST", b"Method=POST"), b"Method=POST", request_id=3, keep=True)
        try:
            conn.sock.sendall(first + second + third[:40])  # two whole, and the start of a third
            answers = [fcgi_client.parse(conn.read_response(1)), fcgi_client.parse(conn.read_response(2))]
            conn.sock.sendall(third[40:])
            answers.append(fcgi_client.parse(conn.read_response(3)))
            self.assertEqual([a[0] for a in answers], [200, 200, 200], answers)
            # In order: the GET sees the first POST, the third POST comes last.
            self.assertEqual([json.loads(a[2])["method"] for a in answers], ["GET", "GET", "POST"])
            self.assertEqual(self.get_on(conn)[0], 200)
        finally:
            conn.close()
        self.assert_served_at_once()

    def test_a_split_request_then_a_half_close_is_answered(self):
        # The first part waits in memory; the rest and the peer's half-close
        # then arrive together, while the one worker is busy: the request is
        # whole in the buffer and must be answered before the close.
        conn, busy = self.connect(), self.connect()
        conn.sock.settimeout(5)
        data = conn.request_bytes(fcgi_params("POST", b"Method=GET"), b"Method=GET", keep=True)
        lock = open(os.path.join(self.state_dir, "." + SID + ".lock"), "a")
        try:
            conn.sock.sendall(data[:40])
            time.sleep(0.3)  # taken into memory by the worker
            fcntl.flock(lock, fcntl.LOCK_EX)  # a POST that changes the service now holds the one worker
            change = b"Method=POST"
            busy.send_head(fcgi_params("POST", change), keep=True, body_length=len(change))
            busy.send_body(change)
            time.sleep(0.3)
            conn.sock.sendall(data[40:])
            conn.sock.shutdown(socket.SHUT_WR)
            time.sleep(0.1)
            fcntl.flock(lock, fcntl.LOCK_UN)
            self.assertEqual(fcgi_client.parse(busy.read_response())[0], 200)
            status, _, body = fcgi_client.parse(conn.read_response())
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["method"], "GET")
            self.assertEqual(conn.sock.recv(1), b"")  # then closed
        finally:
            lock.close()
            conn.close()
            busy.close()

    def test_a_management_record_inside_a_request_is_answered_and_harms_nothing(self):
        # libfcgi 2.4.2 answers FCGI_GET_VALUES itself into a 64-byte stack
        # buffer: four known names in one record inside a request aborted
        # the process ("stack smashing detected").
        conn = self.connect()
        conn.sock.settimeout(5)
        data = conn.request_bytes(fcgi_params(), keep=True)
        asked = fcgi_client.get_values_record(["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"] * 8)
        try:
            conn.sock.sendall(data[:16] + asked + data[16:])  # after BEGIN_REQUEST
            kind, rid, content = conn.read_record()
            self.assertEqual((kind, rid), (fcgi_client.GET_VALUES_RESULT, 0))
            self.assertEqual(fcgi_client.parse_values(content),
                             {"FCGI_MAX_CONNS": "4096", "FCGI_MAX_REQS": "4096", "FCGI_MPXS_CONNS": "0"})
            self.assertEqual(fcgi_client.parse(conn.read_response())[0], 200)
            self.assertEqual(self.get_on(conn)[0], 200)
        finally:
            conn.close()
        self.assertIsNone(self.daemon.proc.poll(), self.daemon.log()[-2000:])
        self.assert_served_at_once()

    def test_get_values_asked_thousands_of_times_is_one_valid_record(self):
        # The answer grew with the question past a record's 65,535 bytes and
        # its length wrapped around: the stream after it was garbage.
        conn = self.connect()
        conn.sock.settimeout(5)
        try:
            names = ["FCGI_MAX_CONNS"] * 4000  # 60,000 bytes asked
            self.assertEqual(conn.get_values(names), {"FCGI_MAX_CONNS": "4096"})
            self.assertEqual(self.get_on(conn)[0], 200)
        finally:
            conn.close()

    def test_a_request_pipelined_after_one_without_keep_conn_is_refused_with_a_log_line(self):
        # The first asks for the close after its answer (no FCGI_KEEP_CONN):
        # the second, in the same write, is not served, and the log says so
        # (main dropped it without a word).
        conn = self.connect()
        conn.sock.settimeout(5)
        first = conn.request_bytes(fcgi_params(), request_id=1, keep=False)
        second = conn.request_bytes(fcgi_params(), request_id=2, keep=True)
        try:
            conn.sock.sendall(first + second)
            self.assertEqual(fcgi_client.parse(conn.read_response(1))[0], 200)
            self.assertEqual(conn.sock.recv(1), b"")  # closed after the first answer
        finally:
            conn.close()
        wait_for(lambda: "followed a request without FCGI_KEEP_CONN" in self.daemon.log(), 5, "the log line")
        self.assertIn("webhookd: %d bytes followed a request without FCGI_KEEP_CONN on its connection: not served"
                      % len(second), self.daemon.log())
        self.assert_served_at_once()

    def test_keep_conn_off_closes_after_the_answer(self):
        conn = self.connect()
        try:
            self.assertEqual(self.get_on(conn, keep=False)[0], 200)
            self.assertEqual(conn.sock.recv(1), b"")  # closed by webhookd
        finally:
            conn.close()
        conn = self.connect()
        try:
            for _ in range(3):
                self.assertEqual(self.get_on(conn, keep=True)[0], 200)
        finally:
            conn.close()
        self.assert_served_at_once()


class PartialRequestTest(RawCase):
    """No worker waits for a request's bytes, and no request waits forever:
    --request-timeout from its first byte, and a bound on the memory of all
    partial requests together."""
    workers = 1
    extra = ("--request-timeout", "2")

    def test_a_trickled_request_larger_than_the_old_peek_holds_no_worker_and_times_out(self):
        # Larger than the 160 KiB the edge used to peek at: such a request
        # went to libfcgi's blocking read, and a trickling peer held the
        # worker (measured 7.1 s for one request).
        conn = self.connect()
        data = big_post(conn, 200 * 1024)
        started = time.monotonic()
        conn.sock.sendall(data[:170 * 1024])
        closed = None
        try:
            for i in range(6):  # a byte every 0.3 s: each read gets something
                time.sleep(0.3)
                try:
                    conn.sock.send(data[170 * 1024 + i:170 * 1024 + i + 1])
                except OSError:
                    closed = time.monotonic() - started
                    break
                if i % 2 == 0:
                    self.assert_served_at_once()  # the one worker is free
            conn.sock.settimeout(3)
            try:
                self.assertEqual(conn.sock.recv(1), b"")  # closed, unanswered
            except ConnectionResetError:
                pass
            closed = closed or time.monotonic() - started
        finally:
            conn.close()
        self.assertGreater(closed, 1.8)  # the timeout runs from the first byte...
        self.assertLess(closed, 3.5)     # ...and the trickle did not extend it
        wait_for(lambda: "not whole within" in self.daemon.log(), 2, "the log line")
        self.assertRegex(self.daemon.log(), r"a request was not whole within 2 s \(--request-timeout; \d+ bytes of it arrived\): closing its connection")
        self.assert_served_at_once()

class PartialMemoryBoundTest(RawCase):
    """All partial requests together hold 64 MiB at most. The request
    timeout is long here: on a loaded machine 340 connections take more
    than 2 s to fill, and a timeout must not stand in for the bound."""
    workers = 1
    extra = ("--request-timeout", "60")

    def test_partial_requests_are_bounded_in_memory_all_together(self):
        # 340 connections each holding 200 KiB of a request: 66 MiB, over the
        # 64 MiB that all partial requests together may hold. Some are
        # refused (closed, the log says so), memory stays bounded, the rest
        # are answered once whole (413: larger than the API takes, but an
        # answer: what matters here is the edge's memory).
        pid = self.daemon.proc.pid
        before = rss_kib(pid)
        conns, datas = [], []
        try:
            refused_early = 0
            for _ in range(340):
                conn = self.connect()
                data = big_post(conn, 200 * 1024)
                try:
                    conn.sock.sendall(data[:-20])
                except OSError:  # refused while it still arrives: the bound at work
                    refused_early += 1
                    conn.close()
                    continue
                conns.append(conn)
                datas.append(data)
            wait_for(lambda: "the limit: closing a connection" in self.daemon.log(), 30, "a refusal")
            grown = rss_kib(pid) - before
            if "tsan" not in WEBHOOKD:  # ThreadSanitizer's shadow memory is several times the heap
                self.assertLess(grown, 80 * 1024, "RSS grew by %d KiB" % grown)
            answered, refused = 0, refused_early
            for conn, data in zip(conns, datas):
                try:
                    conn.sock.sendall(data[-20:])
                    status, _, _ = fcgi_client.parse(conn.read_response())
                    self.assertEqual(status, 413)  # answered: the body is over the API's 64 KiB
                    answered += 1
                except (OSError, EOFError):
                    refused += 1
            self.assertGreater(refused, 0)
            self.assertGreater(answered, 250)
        finally:
            for conn in conns:
                conn.close()
        self.assert_served_at_once()



class UnreadAnswersTest(RawCase):
    """A worker waits at most 5 s for a peer to take its answers."""
    workers = 2

    def test_a_peer_that_reads_no_answer_holds_a_worker_5_s_at_most(self):
        conn = self.connect()
        one = conn.request_bytes(fcgi_params(), keep=True)
        try:
            # 1,000 requests in one go, never read: their answers fill the
            # socket's buffers, and the worker waits to write the rest.
            conn.sock.sendall(one * 1000)
            started = time.monotonic()
            wait_for(lambda: "a connection's turn took more than 5 s: its peer took the answers too slowly" in
                     self.daemon.log(), 10, "the answer timeout")
            self.assertGreater(time.monotonic() - started, 3.5)
            self.assert_served_at_once()
        finally:
            conn.close()


def threads_in_epoll_wait(pid):
    """The kernel's word for where each thread sleeps: standby workers wait
    on the gate's condition variable, running ones in epoll_wait."""
    n = 0
    for task in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/wchan" % (pid, task)) as f:
            where = f.read()
        n += "epoll" in where or "ep_poll" in where
    return n


def cpu_quota_cgroup(test, cpus):
    """A new cgroup whose CPU quota is `cpus` CPUs' worth, in the cgroup v2
    hierarchy when its root has the cpu controller on (Debian 12), else in
    v1's cpu hierarchy (a hybrid host); removed at the test's cleanup, after
    whatever still runs in it is killed. Skips the test where none can be
    made or joined (not root, a read-only /sys, a delegated cgroup)."""
    mounts = {}
    for kind, options, _, point in cgroup_mounts():
        if kind == "cgroup2":
            mounts.setdefault("v2", point)
        elif "cpu" in options:
            mounts.setdefault("v1", point)
    v2 = mounts.get("v2")
    try:
        with open(os.path.join(v2, "cgroup.subtree_control")) as f:
            v2 = v2 if "cpu" in f.read().split() else None
    except (OSError, TypeError):
        v2 = None
    if not v2 and not mounts.get("v1"):
        test.skipTest("no cgroup hierarchy with the cpu controller here")
    path = tempfile.mkdtemp(prefix="webhookd-test-", dir="/tmp")  # a unique name, then made there instead
    os.rmdir(path)
    path = os.path.join(v2 or mounts["v1"], os.path.basename(path))
    try:
        os.mkdir(path)
    except OSError as e:
        test.skipTest("cannot make a cgroup here: %s" % e)
    test.addCleanup(remove_cgroup_tree, path)
    try:
        if v2:
            with open(os.path.join(path, "cpu.max"), "w") as f:
                f.write("%d 100000" % (cpus * 100000))
        else:
            with open(os.path.join(path, "cpu.cfs_period_us"), "w") as f:
                f.write("100000")
            with open(os.path.join(path, "cpu.cfs_quota_us"), "w") as f:
                f.write(str(cpus * 100000))
    except OSError as e:
        test.skipTest("cannot set a CPU quota here: %s" % e)
    if subprocess.run(["sh", "-c", 'echo $$ > "$0"/cgroup.procs', path], stderr=subprocess.DEVNULL).returncode != 0:
        test.skipTest("cannot join a new cgroup here")
    return path


class CpuQuotaTest(RawCase):
    """Under a CPU quota (systemd's CPUQuota=, docker --cpus) only as many
    workers run as the quota has CPUs' worth, whatever the affinity mask
    says: 1 here where 2 or more CPUs are in the mask."""
    workers = 4

    def setUp(self):
        if len(os.sched_getaffinity(0)) < 2:
            self.skipTest("one CPU: the quota's limit would be the affinity's")
        cgroup = cpu_quota_cgroup(self, 1)
        # The shell joins the cgroup, then becomes webhookd (the same pid).
        self.wrap = ("sh", "-c", 'echo $$ > "$0"/cgroup.procs && exec "$@"', cgroup)
        super().setUp()

    def test_only_as_many_workers_as_the_quota_allows_wait_for_connections(self):
        self.assert_served_at_once()
        time.sleep(0.2)
        self.assertEqual(threads_in_epoll_wait(self.daemon.proc.pid), 1)  # 2 or more without the quota
        self.assert_served_at_once()


class ThreadNamesTest(unittest.TestCase):
    """webhookd(8): top -H and ps -L show each thread's name, as the man page
    lists them; without names every thread is "webhookd" and an operator
    cannot tell a busy worker from a busy request log. The clean-up thread
    lives only while it tidies crash leftovers: a leftover temp file whose
    service's lock this test holds keeps it waiting (it removes a temp file
    only under the lock) until the test lets go."""
    workers = 3
    NAMES = ("clean-up", "housekeeper", "request-log", "worker")
    # A sanitizer's runtime may start a thread of its own (ThreadSanitizer's
    # background thread), unnamed: it carries the process's name.
    sanitized = "/asan/" in WEBHOOKD or "/tsan/" in WEBHOOKD

    def setUp(self):
        self.tmp, self.state_dir, self.config = seeded_dir("webhookd-names-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_each_thread_is_named_as_the_man_page_says(self):
        with open(os.path.join(REPO, "conf", "man", "webhookd.8.scd")) as f:
            page = " ".join(f.read().split())
        listed = page.split("show each thread's name:", 1)[-1][:400]
        for name in self.NAMES:
            self.assertIn("*%s*" % name, listed)
        leftover = os.path.join(self.state_dir, ".%s.tmp.crashed" % SID)
        with open(leftover, "w") as f:
            f.write("half a write")
        lock = open(os.path.join(self.state_dir, ".%s.lock" % SID), "w")
        self.addCleanup(lock.close)
        fcntl.flock(lock, fcntl.LOCK_EX)
        daemon = Webhookd(WEBHOOKD, self.config, os.path.join(self.tmp, "w.sock"), self.workers,
                          log_path=os.path.join(self.tmp, "webhookd.log")).start()
        self.addCleanup(lambda: assert_no_sanitizer_report(self, daemon.log()))
        self.addCleanup(daemon.stop, signal.SIGKILL)
        pid = daemon.proc.pid
        ours = ["clean-up", "housekeeper", "request-log"] + ["worker"] * self.workers
        wait_for(lambda: self.named(pid) == ours, 10, "the named threads, clean-up waiting on the lock: %s" % ours)
        self.assertTrue(os.path.exists(leftover))
        fcntl.flock(lock, fcntl.LOCK_UN)
        wait_for(lambda: not os.path.exists(leftover), 10, "the leftover removed once the lock is free")
        wait_for(lambda: self.named(pid) == ours[1:], 10, "the clean-up thread gone")
        threads = self.threads(pid)
        self.assertEqual(threads.pop(str(pid)), "webhookd")  # the main thread keeps the program's name
        unnamed = [name for name in threads.values() if name not in self.NAMES]
        self.assertIn(unnamed, ([], ["webhookd"]) if self.sanitized else ([],), threads)

    @staticmethod
    def threads(pid):
        """{tid: name} of pid's threads."""
        found = {}
        for task in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/comm" % (pid, task)) as f:
                    found[task] = f.read().strip()
            except FileNotFoundError:  # a thread that ended meanwhile
                pass
        return found

    def named(self, pid):
        """The names webhookd gives, sorted, of pid's threads."""
        return sorted(n for n in self.threads(pid).values() if n in self.NAMES)


class StandbyWorkersTest(RawCase):
    """On one CPU (taskset) one of the 4 workers runs at a time and 3 stand
    by; whatever holds the running one up, a standby one takes its place
    within milliseconds: a write waiting on its lock, a peer that takes no
    answer. Before standby workers, every worker waited in epoll_wait and
    each request woke a sleeping one (tests/bench/README.md, 2026-12-02)."""
    workers = 4
    wrap = ("taskset", "-c", str(min(os.sched_getaffinity(0))))

    def test_only_as_many_workers_as_cpus_wait_for_connections(self):
        self.assert_served_at_once()
        time.sleep(0.2)
        self.assertEqual(threads_in_epoll_wait(self.daemon.proc.pid), 1)  # was 4: every worker

    def test_writes_waiting_on_their_lock_hold_up_no_read(self):
        lock = open(os.path.join(self.state_dir, "." + SID + ".lock"), "a")
        writes = []
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            body = b"Method=GET"  # a change (the seeded service says POST): written under the lock
            for _ in range(3):  # in the end every worker but one waits on the lock
                conn = self.connect()
                writes.append(conn)
                conn.send_head(fcgi_params("POST", body), keep=True, body_length=len(body))
                conn.send_body(body)
            wait_for(lambda: self.busy_workers() == 3, 5, "three writes waiting on the lock")
            self.assert_served_at_once()
            fcntl.flock(lock, fcntl.LOCK_UN)
            for conn in writes:
                conn.sock.settimeout(5)
                self.assertEqual(fcgi_client.parse(conn.read_response())[0], 200)
            self.assert_served_at_once()
        finally:
            lock.close()
            for conn in writes:
                conn.close()

    def test_a_peer_that_takes_no_answer_holds_up_no_one(self):
        conn = self.connect()
        try:
            # Answers that fill the socket's buffers: the worker waits (up to
            # 5 s) to write the rest, and is moved aside meanwhile.
            self.pipeline_without_reading(conn)
            wait_for(lambda: self.busy_workers() == 1, 5, "a worker waiting for its peer")
            self.assert_served_at_once()
        finally:
            conn.close()

    def test_a_worker_held_up_after_a_quiet_time_is_replaced_within_milliseconds(self):
        # The housekeeper naps while no worker is busy, and the turn that
        # begins wakes it. It used to nap 100 ms whatever came: a GET
        # behind a held-up worker then waited up to that long (9 of 30
        # trials over 60 ms, review 31).
        waits = []
        for _ in range(10):
            time.sleep(0.3)  # quiet: the housekeeper naps
            stuck = self.connect()
            try:
                self.pipeline_without_reading(stuck)
                time.sleep(0.02)  # its answers fill the socket's buffers: the worker waits to write
                started = time.monotonic()
                self.assert_served_at_once()
                waits.append(time.monotonic() - started)
            finally:
                stuck.close()  # frees the worker
        waits.sort()
        self.assertLess(waits[len(waits) // 2], 0.03, waits)

    def pipeline_without_reading(self, conn):
        """As many GETs as conn's socket takes in one send, of 1000, and no
        answer read: hundreds, whose answers fill the buffers back. Not
        sendall: a worker that read the first part waits to write its
        answers and reads no more, so the rest of a sendall could wait out
        the worker's 5 s turn and meet the close that ends it (a
        BrokenPipeError under TSan in CI)."""
        one = conn.request_bytes(fcgi_params(), keep=True)
        timeout = conn.sock.gettimeout()
        conn.sock.setblocking(False)
        try:
            sent = conn.sock.send(one * 1000)
        finally:
            conn.sock.settimeout(timeout)
        self.assertGreaterEqual(sent, 100 * len(one), "requests the socket took")

    def busy_workers(self):
        """webhookd's own gauge, from /metrics."""
        conn = self.connect()
        try:
            status, _, body = fcgi_client.parse(conn.request(fcgi_params(path="/metrics"), keep=False))
        finally:
            conn.close()
        match = re.search(r"^webhookd_workers_busy (\d+)", body.decode(), re.M)
        return int(match.group(1)) - 1  # not counting the scrape's own


class SlowReaderTest(RawCase):
    """One deadline per turn on a connection: a peer that pipelines hundreds
    of requests and then takes their answers slowly holds a worker 5 s at
    most, however it paces its reads. Each answer had its own 5 s before:
    a peer reading 4 KiB every 4 s held the one worker, and another
    connection got no answer within 60 s (review of issue 17, finding 4)."""
    workers = 1

    def test_a_slow_reader_of_pipelined_answers_holds_the_worker_5_s_at_most(self):
        slow = self.connect()
        slow.sock.settimeout(30)
        stop = threading.Event()
        taken = [0]

        def trickle():
            # 4 KiB every 0.25 s: enough for an answer or more each time.
            try:
                while not stop.is_set():
                    chunk = slow.sock.recv(4096)
                    if not chunk:
                        return
                    taken[0] += len(chunk)
                    stop.wait(0.25)
            except OSError:
                pass

        reader = threading.Thread(target=trickle)
        try:
            slow.sock.sendall(slow.request_bytes(fcgi_params(), keep=True) * 800)
            reader.start()
            time.sleep(1)  # the worker is in the middle of the 800 answers
            started = time.monotonic()
            other = self.connect()
            other.sock.settimeout(20)
            try:
                status, body = self.get_on(other, keep=False)
            finally:
                other.close()
            waited = time.monotonic() - started
            self.assertEqual(status, 200, body)
            self.assertLess(waited, 6.0, "the other connection waited %.1f s" % waited)
            reader.join(10)
            self.assertFalse(reader.is_alive(), "the slow peer's connection was not closed")
            wait_for(lambda: "a connection's turn took more than 5 s" in self.daemon.log(), 5, "the log line")
            print("slow reader: dropped after %d bytes of answers; the other connection waited %.1f s" % (
                taken[0], waited), flush=True)
        finally:
            stop.set()
            slow.close()
            reader.join(10)


class StopTest(RawCase):
    workers = 2

    def test_sigterm_finishes_the_request_in_flight_and_closes_idle_ones(self):
        idle = [self.connect() for _ in range(20)]
        for conn in idle[:10]:
            self.assertEqual(self.get_on(conn)[0], 200)
        body = b"Method=GET"
        busy = self.connect()
        busy.send_head(fcgi_params("POST", body), keep=True, body_length=len(body))
        time.sleep(0.2)  # webhookd holds the request's head; its body is still to come
        started = time.monotonic()
        self.daemon.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        busy.send_body(body)
        status, _, answer = fcgi_client.parse(busy.read_response())
        self.assertEqual(status, 200, answer)
        self.assertEqual(json.loads(answer)["method"], "GET")
        self.assertEqual(self.daemon.proc.wait(5), 0)
        self.assertLess(time.monotonic() - started, 3)
        for conn in idle:  # every idle kept connection was closed
            conn.sock.settimeout(2)
            self.assertEqual(conn.sock.recv(1), b"")
            conn.close()
        busy.close()


    def wait_for_the_stop(self):
        wait_for(lambda: "stopping; finishing requests in flight" in self.daemon.log(), 5, "the stop")

    def test_an_idle_kept_connection_is_left_to_the_peer_until_the_bound(self):
        # nginx learns that webhookd closed an idle kept connection only in
        # its next turn of events: a POST it writes to one in between is
        # lost, for nginx never resends a POST (main closed idle ones 250 ms
        # into a stop: BurstAfterIdleTest, bursts fired then, lost 17 POSTs
        # in 2 of 100 trials; this test fails on main every time).
        # So a stopping webhookd leaves them to the peer: nginx closes them
        # after its keepalive_timeout, or writes a request, which is answered
        # with the not-kept marker and closed. Only what is left 1.5 s after
        # the stop began is closed here, with a line in the log.
        used, closed_by_peer, left = self.connect(), self.connect(), self.connect()
        try:
            for conn in (used, closed_by_peer, left):
                self.assertEqual(self.get_on(conn)[0], 200)
            started = time.monotonic()
            self.daemon.proc.send_signal(signal.SIGTERM)
            self.wait_for_the_stop()
            time.sleep(0.6)
            body = b"Method=GET"
            used.sock.sendall(used.request_bytes(fcgi_params("POST", body), body, keep=True))
            status, _, answer = fcgi_client.parse(used.read_response())
            self.assertEqual(status, 200, answer)
            self.assertEqual(json.loads(answer)["method"], "GET")
            # After END_REQUEST, in the same write: the marker (an empty
            # GET_VALUES_RESULT) that makes nginx not keep the connection; then the close.
            self.assertEqual(used.read_record(), (fcgi_client.GET_VALUES_RESULT, 0, b""))
            self.assertEqual(used.sock.recv(1), b"")
            closed_by_peer.close()  # as nginx does after its keepalive_timeout
            left.sock.settimeout(5)
            self.assertEqual(left.sock.recv(1), b"")  # webhookd closes it, at the bound
            self.assertGreater(time.monotonic() - started, 1.3)
            self.assertEqual(self.daemon.proc.wait(5), 0)
            self.assertIn("stopping: closed 1 idle kept connection(s) still open 1.5 s after the stop began",
                          self.daemon.log())
        finally:
            for conn in (used, closed_by_peer, left):
                conn.close()

    def test_a_stop_ends_once_the_peer_has_closed_its_idle_connections(self):
        idle = [self.connect() for _ in range(5)]
        try:
            for conn in idle:
                self.assertEqual(self.get_on(conn)[0], 200)
            self.daemon.proc.send_signal(signal.SIGTERM)
            self.wait_for_the_stop()
            time.sleep(0.3)
            for conn in idle:
                conn.close()
            self.assertEqual(self.daemon.proc.wait(5), 0)
            # Not at the bound: nothing was left for webhookd to close.
            self.assertNotIn("idle kept connection(s) still open", self.daemon.log())
        finally:
            for conn in idle:
                conn.close()


class SharedSocketTest(unittest.TestCase):
    """systemd hands the listening socket to every process it starts for the
    service with StandardInput=socket (ExecReload's `webhookd --check`
    included), and makes it blocking for them: O_NONBLOCK is shared. Here the
    test holds the socket and clears O_NONBLOCK as systemd does; webhookd must
    still serve, and still stop at once."""

    def test_a_listening_socket_made_blocking_under_webhookd_holds_no_worker(self):
        with tempfile.TemporaryDirectory() as tmp:
            state = os.path.join(tmp, "state")
            seed_state(state)
            config = write_config(tmp, state)
            listener, path = self.enterContext(held_socket(tmp))
            proc = start_on_held_socket(listener, config, os.path.join(tmp, "webhookd.log"), workers=2)
            try:
                conn = fcgi_client.Connection(path)
                self.assertEqual(fcgi_client.parse(conn.request(fcgi_params()))[0], 200)
                conn.close()
                listener.setblocking(True)  # what systemd does to the shared description
                for _ in range(3):
                    conn = fcgi_client.Connection(path)
                    self.assertEqual(fcgi_client.parse(conn.request(fcgi_params()))[0], 200)
                    conn.close()
                time.sleep(0.3)  # let the accepting worker look for more
                started = time.monotonic()
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(5), 0)
                self.assertLess(time.monotonic() - started, 2)
            finally:
                stop_process(proc)


class ThroughNginxTest(unittest.TestCase):
    def test_256_clients_over_keepalive_64_with_4_workers(self):
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o755)
            state = os.path.join(tmp, "state")
            seed_state(state)
            config = write_config(tmp, state)
            os.makedirs(os.path.join(tmp, "stack"))
            stack = Stack(config, workers=4, tmp=os.path.join(tmp, "stack")).start()
            try:
                pid = stack.webhookd.proc.pid
                threads = threads_of(pid)
                wrk = subprocess.Popen(["wrk", "-t2", "-c256", "-d6s", "--timeout", "5s", "-H",
                                        "Authorization: " + BASIC_AUTH, stack.base_url + resource_path()],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                time.sleep(3)
                during_threads, during_sockets = threads_of(pid), sockets_of(pid)
                out, _ = wrk.communicate(timeout=60)
                self.assertEqual(wrk.returncode, 0, out)
                requests = int(re.search(r"(\d+) requests in", out).group(1))
                self.assertGreater(requests, 1000, out)
                self.assertNotIn("Non-2xx", out)            # every answer a 200
                self.assertNotIn("Socket errors", out)      # none timed out, none reset
                self.assertEqual(during_threads, threads)   # no thread per connection
                self.assertEqual(threads_of(pid), threads)
                # More connections open than workers: they were kept, and none pinned a worker.
                self.assertGreater(during_sockets, 4 + 2)
                log = stack.webhookd.log()
                self.assertNotIn("connections open, the limit", log)
            finally:
                stack.stop()
            assert_no_sanitizer_report(self, stack.webhookd.log())


if __name__ == "__main__":
    unittest.main()
