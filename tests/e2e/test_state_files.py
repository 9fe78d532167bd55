"""State files through the real stack: hand edits, broken edits, files that
are not regular files (a FIFO, a unix socket, a directory), concurrent
writers from several processes."""
import hashlib
import http.client
import json
import multiprocessing
import os
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from e2e.support import (ACCOUNT, BASIC_AUTH, REFERENCE_STATE, SID, TOKEN, WEBHOOKCTL, StackCase, read,
                          resource_path)
from harness.stack import wait_for
import e2e.test_metrics as exposition  # noqa: E402 (a module: its tests are not collected here)

FIFO_SID = "IS" + "f" * 32    # its state file is a FIFO
DIR_SID = "IS" + "d" * 32     # its state file is a directory
GONE_SID = "IS" + "9" * 32    # no state file; its lock file is a FIFO
SOCKET_SID = "IS" + "3" * 32  # its state file is a unix socket
SOCKET_LOCK_SID = "IS" + "1" * 32  # no state file; its lock file is a unix socket, beside a temp file
ANSWER_WITHIN = 5             # seconds: "at once", with room for two busy cores


def unblock(fifos):
    """Opens each FIFO for writing while anyone waits to read it, so that a
    reader stuck in open() (webhookd before the fix) goes on and sees end of
    file: a failing test must not leave a hung worker or clean-up behind."""
    for _ in range(50):
        woke = False
        for path in fifos:
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                woke = True
            except OSError:  # ENXIO: nobody reads it; ENOENT: gone
                pass
        if not woke:
            return
        time.sleep(0.02)


def _post_many(base, field, values):
    """One writer process: POSTs its own field, one value after another, with curl."""
    for v in values:
        body = urllib.parse.urlencode([(field, v)])
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-u", "%s:%s" % (ACCOUNT, TOKEN),
                              "--data-raw", body, base + resource_path()], stdout=subprocess.PIPE, text=True)
        if out.stdout != "200":
            return "%s=%s answered %s" % (field, v, out.stdout)
    return None


class HandEditTest(StackCase):
    def setUp(self):
        self.write_state(REFERENCE_STATE)

    def test_a_hand_edit_is_seen_by_the_next_request(self):
        self.assertEqual(json.loads(self.curl().body)["method"], "POST")
        self.write_state("# edited by a person\naccount_sid: %s\nmethod: get\nfilters: [onMessageAdded]\n" % ACCOUNT)
        doc = json.loads(self.curl().body)
        self.assertEqual(doc["method"], "GET")
        self.assertEqual(doc["filters"], ["onMessageAdded"])
        self.assertIsNone(doc["pre_webhook_url"])

    def test_same_size_edits_in_quick_succession_are_all_seen(self):
        # Same size, within one clock tick: a cache keyed on mtime and size
        # alone would miss the second and third.
        for method, want in (("POST", "POST"), ("GET ", "GET"), ("POST", "POST")):
            self.write_state("account_sid: %s\nmethod: %s\n" % (ACCOUNT, method))
            self.assertEqual(json.loads(self.curl().body)["method"], want)

    def test_a_same_size_edit_of_a_hot_canonical_file_is_seen_at_once(self):
        # Written by webhookd (canonical), then read past the point where the
        # store keeps it whole (StateStore::kHotAfterReads, 8, in each
        # webhookd): an edit of one letter keeps its size, and the very next
        # GET must show it, with the ETag of the new bytes.
        r = self.curl("--data-raw", "PreWebhookUrl=https://example.com/hooka")
        self.assertEqual(r.status, 200, r.body)
        canonical = read(self.state_file())
        self.assertIn(b"pre_webhook_url: https://example.com/hooka\n", canonical)
        for i in range(3 * 8 + 1):
            with self.subTest(get=i):
                again = self.curl()
                self.assertEqual(again.status, 200, again.body)
                self.assertEqual(again.headers["etag"], r.headers["etag"])
        edited = canonical.replace(b"https://example.com/hooka", b"https://example.com/hookb")
        self.assertEqual(len(edited), len(canonical))
        with open(self.state_file(), "wb") as f:
            f.write(edited)
        seen = self.curl()
        self.assertEqual(seen.status, 200, seen.body)
        self.assertEqual(json.loads(seen.body)["pre_webhook_url"], "https://example.com/hookb")
        self.assertEqual(seen.headers["etag"], '"%s"' % hashlib.sha256(edited).hexdigest()[:32])
        self.assertNotEqual(seen.headers["etag"], r.headers["etag"])

    def test_an_invalid_edit_answers_500_and_is_not_overwritten(self):
        broken = REFERENCE_STATE + "method: GET\n"  # a second method: yaml-cpp would silently keep the first
        self.write_state(broken)
        self.assertTwilioError(self.curl(), 500, 20500, "Internal Server Error")
        r = self.curl("--data-raw", "Method=GET")
        self.assertTwilioError(r, 500, 20500, "Internal Server Error")
        self.assertNotIn(b"duplicate", r.body)
        self.assertEqual(read(self.state_file()).decode(), broken)
        # The details went to the log (batched: within milliseconds), naming
        # file, line and problem.
        wanted = "%s.yaml:8:1: duplicate key 'method'" % SID
        wait_for(lambda: wanted in self.stack.webhookd.log(), 5, "the log line")
        self.write_state(REFERENCE_STATE)  # fixed by hand: works again at once
        self.assertEqual(self.curl().status, 200)

    def test_invalid_files_of_every_kind_answer_500(self):
        rows = {"unknown key": "account_sid: %s\nfriendly_name: x\n" % ACCOUNT,
                "anchor": "account_sid: &a %s\n" % ACCOUNT,
                "wrong type": "account_sid: %s\nfilters: onMessageAdded\n" % ACCOUNT,
                "bad value": "account_sid: %s\nmethod: PUT\n" % ACCOUNT,
                "no account": "method: GET\n",
                "not yaml": "account_sid: [\n"}
        for name, text in rows.items():
            with self.subTest(name):
                self.write_state(text)
                self.assertTwilioError(self.curl(), 500, 20500)
                self.assertEqual(read(self.state_file()).decode(), text)

    def test_what_webhookd_writes_is_canonical(self):
        self.write_state("method: get\naccount_sid: %s   # comment\n" % ACCOUNT)
        self.curl("--data-raw", "Filters=onMessageAdded&PreWebhookUrl=https://x/pre")
        self.assertEqual(read(self.state_file()).decode(),
                         "account_sid: %s\npre_webhook_url: https://x/pre\npost_webhook_url: null\n"
                         "filters:\n  - onMessageAdded\nmethod: GET\n" % ACCOUNT)
        names = sorted(os.listdir(self.state_dir))
        self.assertEqual([n for n in names if n.startswith("IS")], sorted(n for n in names if n.startswith("IS") and n.endswith(".yaml")))
        self.assertIn("." + SID + ".lock", names)  # the lock file, hidden and ignored by git


class ManyHandWrittenFilesTest(StackCase):
    """More hand-written services than the parse cache holds (1,024): past
    it, a file is known by its SHA-256 instead of parsed again, and an edit
    of the same size is still seen by the very next GET."""
    COUNT = 2000

    def get(self, conn, sid):
        for attempt in (1, 2):  # nginx closes a kept client connection now and then; a GET may be sent again
            try:
                conn.request("GET", resource_path(sid), headers={"Authorization": BASIC_AUTH})
                r = conn.getresponse()
                return r.status, r.getheader("ETag"), r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                if attempt == 2:
                    raise

    def test_past_the_parse_cache_every_same_size_edit_is_seen(self):
        sids = ["IS%032x" % (0xc0000000 + i) for i in range(self.COUNT)]

        def text(url):
            return "# by hand\naccount_sid: %s\npre_webhook_url: '%s'\nmethod: post\n" % (ACCOUNT, url)

        urls = ["https://example.com/a%05d" % i for i in range(self.COUNT)]
        for sid, url in zip(sids, urls):
            self.write_state(text(url), sid)
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=10)

        def parsed():  # webhookd's count of state files it had to check or parse
            r = self.curl(path="/metrics", auth=None)
            self.assertEqual(r.status, 200, r.body)
            return exposition.get(exposition.parse(r.body.decode()), "webhookd_parse_cache_lookups_total",
                                  result="miss")

        try:
            etags = {}
            misses = [parsed()]
            for rnd in ("parsed", "known by the digest"):
                for sid, url in zip(sids, urls):
                    status, etag, body = self.get(conn, sid)
                    self.assertEqual((rnd, status, json.loads(body)["pre_webhook_url"]), (rnd, 200, url), body)
                    self.assertEqual(etags.setdefault(sid, etag), etag)
                misses.append(parsed())
            # Each parsed once; the second time none, though the parse
            # cache holds only 1,024 (without the digest all 2,000 again: an
            # LRU of 1,024 read in turn keeps none of them).
            self.assertEqual((misses[1] - misses[0], misses[2] - misses[1]), (self.COUNT, 0))
            for i in range(0, self.COUNT, 97):
                edited = "https://example.com/b%05d" % i
                self.assertEqual(len(text(edited)), len(text(urls[i])))
                self.write_state(text(edited), sids[i])
                status, etag, body = self.get(conn, sids[i])
                self.assertEqual((i, status, json.loads(body)["pre_webhook_url"]), (i, 200, edited), body)
                self.assertNotEqual(etag, etags[sids[i]])
                # and its neighbour, not edited, is unchanged
                status, etag, body = self.get(conn, sids[i + 1])
                self.assertEqual((status, json.loads(body)["pre_webhook_url"], etag), (200, urls[i + 1], etags[sids[i + 1]]))
        finally:
            conn.close()


class ConcurrentWritersTest(StackCase):
    workers = 8

    def test_processes_updating_different_fields_lose_nothing(self):
        self.write_state("account_sid: %s\n" % ACCOUNT)
        rounds = 25
        plans = [("PreWebhookUrl", ["https://pre.example/%d" % i for i in range(rounds)]),
                 ("PostWebhookUrl", ["https://post.example/%d" % i for i in range(rounds)]),
                 ("Method", ["GET" if i % 2 else "POST" for i in range(rounds)]),
                 ("Filters", ["onMessageAdded" if i % 2 else "onMessageUpdated" for i in range(rounds)])]
        with multiprocessing.Pool(len(plans)) as pool:
            errors = pool.starmap(_post_many, [(self.base, f, vs) for f, vs in plans])
        self.assertEqual([e for e in errors if e], [])
        doc = json.loads(self.curl().body)
        self.assertEqual(doc["pre_webhook_url"], plans[0][1][-1])
        self.assertEqual(doc["post_webhook_url"], plans[1][1][-1])
        self.assertEqual(doc["method"], plans[2][1][-1])
        self.assertEqual(doc["filters"], [plans[3][1][-1]])
        leftovers = [n for n in os.listdir(self.state_dir) if ".tmp." in n]
        self.assertEqual(leftovers, [])


class NotARegularFileTest(StackCase):
    """Only regular files are state: a FIFO named IS….yaml (open() would wait
    for a writer for ever) or a directory answers 500/20500 at once, names
    itself in the log, and holds no worker; webhookctl and the start-up
    clean-up refuse it the same way, without waiting."""

    def setUp(self):
        self.write_state(REFERENCE_STATE)
        self.fifos = []

    def tearDown(self):
        unblock(self.fifos)
        for path in self.fifos:
            if os.path.exists(path):
                os.unlink(path)
        super().tearDown()

    def mkfifo(self, name, directory=None):
        path = os.path.join(directory or self.state_dir, name)
        os.mkfifo(path)
        self.fifos.append(path)
        return path

    def mksocket(self, name, directory=None):
        """A unix socket file, as a daemon that bound one leaves it: open()
        fails on it (ENXIO) before anything could fstat it."""
        path = os.path.join(directory or self.state_dir, name)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.bind(path)
        self.fifos.append(path)  # removed by tearDown as the FIFOs are
        return path

    def timed_curl(self, *args, path=None):
        try:
            return self.curl("--max-time", str(ANSWER_WITHIN), *args, path=path)
        except subprocess.CalledProcessError as e:
            self.fail("no answer within %d s (curl: %s)" % (ANSWER_WITHIN, e.stderr.strip()))

    def webhookctl(self, *args):
        try:
            return subprocess.run([WEBHOOKCTL] + list(args), capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            self.fail("webhookctl %s hung on the FIFO" % args[0])

    def assert_ctl_names(self, problem, *paths):
        """webhookctl check of each path, and export of the state directory,
        each exit 1 naming the problem on stderr; export writes nothing."""
        for path in paths:
            r = self.webhookctl("check", path)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(problem, r.stderr)
        with tempfile.TemporaryDirectory() as dest:
            r = self.webhookctl("export", "--state-dir", self.state_dir, dest)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn(problem, r.stderr)
            self.assertEqual(os.listdir(dest), [])

    def test_a_fifo_or_directory_answers_500_at_once_and_the_others_go_on(self):
        fifo = self.mkfifo(FIFO_SID + ".yaml")
        os.mkdir(os.path.join(self.state_dir, DIR_SID + ".yaml"))
        try:
            # More requests than workers: none of them may keep one.
            for i in range(self.workers + 2):
                with self.subTest(i):
                    r = self.timed_curl(path=resource_path(FIFO_SID))
                    self.assertTwilioError(r, 500, 20500, "Internal Server Error")
            self.assertTwilioError(self.timed_curl("--data-raw", "Method=GET", path=resource_path(FIFO_SID)),
                                   500, 20500, "Internal Server Error")
            self.assertTwilioError(self.timed_curl(path=resource_path(DIR_SID)), 500, 20500, "Internal Server Error")
            self.assertEqual(self.timed_curl().status, 200)
            self.assertEqual(self.timed_curl("--data-raw", "Method=GET").status, 200)
            for path, kind in ((fifo, "a FIFO"), (os.path.join(self.state_dir, DIR_SID + ".yaml"), "a directory")):
                wanted = "%s: not a regular file (%s)" % (path, kind)
                wait_for(lambda: wanted in self.stack.webhookd.log(), 5, "the log line naming " + path)
        finally:
            os.rmdir(os.path.join(self.state_dir, DIR_SID + ".yaml"))

    def test_a_socket_answers_500_naming_it_and_check_and_export_too(self):
        sock = self.mksocket(SOCKET_SID + ".yaml")
        problem = "%s: not a regular file (a socket)" % sock
        self.assertTwilioError(self.timed_curl(path=resource_path(SOCKET_SID)), 500, 20500, "Internal Server Error")
        self.assertTwilioError(self.timed_curl("--data-raw", "Method=GET", path=resource_path(SOCKET_SID)),
                               500, 20500, "Internal Server Error")
        self.assertEqual(self.timed_curl().status, 200)
        wait_for(lambda: problem in self.stack.webhookd.log(), 5, "the log line naming " + sock)
        if not os.path.exists(WEBHOOKCTL):  # the sanitizer builds make webhookd only
            return
        self.assert_ctl_names(problem, self.state_dir, sock)

    # The sanitizer runs of make test build webhookd alone; the plain run has webhookctl.
    @unittest.skipUnless(os.path.exists(WEBHOOKCTL), "no webhookctl in this build (sanitizer builds make webhookd only)")
    def test_webhookctl_check_apply_and_export_name_it_and_never_wait(self):
        fifo = self.mkfifo(FIFO_SID + ".yaml")
        problem = "%s: not a regular file (a FIFO)" % fifo
        self.assert_ctl_names(problem, self.state_dir, fifo)
        def state_files():
            return {n: read(os.path.join(self.state_dir, n)) for n in os.listdir(self.state_dir)
                    if n.startswith("IS") and n != FIFO_SID + ".yaml"}
        before = state_files()
        with tempfile.TemporaryDirectory() as src:
            with open(os.path.join(src, SID + ".yaml"), "w") as f:
                f.write(REFERENCE_STATE.replace("method: POST", "method: GET"))
            # The live FIFO: the plan names it, and nothing is applied without --force.
            r = self.webhookctl("apply", src, "--state-dir", self.state_dir, "--prune")
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("the live file is invalid: " + problem, r.stdout)
            # A FIFO in the source: named, and nothing at all is touched.
            src_fifo = self.mkfifo(FIFO_SID + ".yaml", src)
            r = self.webhookctl("apply", src, "--state-dir", self.state_dir)
            self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
            self.assertIn("%s: not a regular file (a FIFO)" % src_fifo, r.stderr)
        self.assertEqual(state_files(), before)
        self.assertNotIn(".webhookd-applied", os.listdir(self.state_dir))

    def test_the_start_up_clean_up_never_waits_on_one(self):
        # Leftovers the clean-up looks at: the FIFO service's lock and temp
        # file (is the service gone? it reads the state file), a FIFO named
        # like a temp file, a FIFO and a directory named like lock files of
        # services that are gone.
        self.stack.webhookd.stop()
        fifo = self.mkfifo(FIFO_SID + ".yaml")
        for name in ("." + FIFO_SID + ".lock", "." + FIFO_SID + ".tmp.AAAAAA", "." + SID + ".tmp.BBBBBB"):
            with open(os.path.join(self.state_dir, name), "w") as f:
                f.write("leftover")
        self.mkfifo("." + SID + ".tmp.FIFO00")
        gone_lock = self.mkfifo("." + GONE_SID + ".lock")
        dir_lock = os.path.join(self.state_dir, "." + DIR_SID + ".lock")
        os.mkdir(dir_lock)
        # A socket named like the lock of a service that is gone, with its
        # temp file: its SID sorts first, and open() on it fails (ENXIO).
        socket_lock = self.mksocket("." + SOCKET_LOCK_SID + ".lock")
        socket_temp = os.path.join(self.state_dir, "." + SOCKET_LOCK_SID + ".tmp.CCCCCC")
        with open(socket_temp, "w") as f:
            f.write("leftover")
        try:
            self.stack.webhookd.start()
            wait_for(lambda: "removed 3 leftover temp file(s)" in self.stack.webhookd.log(), ANSWER_WITHIN,
                     "the clean-up's report (it must not wait on %s, nor stop at %s)" % (fifo, socket_lock))
            log = self.stack.webhookd.log()
            self.assertIn("clean-up left alone %s: not a regular file (a FIFO)" % gone_lock, log)
            self.assertIn("clean-up left alone %s: not a regular file (a directory)" % dir_lock, log)
            self.assertIn("clean-up left alone %s: not a regular file (a socket)" % socket_lock, log)
            names = set(os.listdir(self.state_dir))
            self.assertEqual([n for n in names if ".tmp." in n], [os.path.basename(socket_temp)])
            self.assertIn("." + FIFO_SID + ".lock", names)  # its service is not gone: a bad file is not a missing one
            self.assertEqual(self.timed_curl().status, 200)
            self.assertTwilioError(self.timed_curl(path=resource_path(FIFO_SID)), 500, 20500)
            # A clean-up still running would hold SIGTERM up: it must stop at once.
            started = time.monotonic()
            self.assertEqual(self.stack.webhookd.stop(timeout=ANSWER_WITHIN), 0)
            self.assertLess(time.monotonic() - started, ANSWER_WITHIN)
        finally:
            unblock(self.fifos)
            self.stack.webhookd.stop()
            os.rmdir(dir_lock)
            if os.path.exists(socket_temp):  # left alone: its lock cannot be taken
                os.unlink(socket_temp)
            self.stack.webhookd.start()
