"""A sick host steps aside, a bad file does not take it out (issue 18): when
the state directory itself fails (here EACCES: chmod 000 on it, under a
webhookd running as an unprivileged user, since root reads through any mode)
every request answers 503/20503 with Retry-After, as JSON, so a fleet's
front asks another host; one unreadable file answers 500/20500, as an
invalid one does, and the other services go on. Through the real nginx.
Root, as CI runs; webhookd runs as nobody under setpriv.

A host out of file descriptors steps aside too: no state file would open
there, whatever the file, while another host could serve (a webhookd whose
descriptor limit is lowered under it, on its socket directly: 503 with
Retry-After, nothing written, and 200 again once the limit is back)."""
import json
import os
import pwd
import resource
import shutil
import signal
import tempfile
import unittest

from e2e.support import (ACCOUNT, BASIC_AUTH, BUILD, EMPTY_SID, SID, WEBHOOKD, StackCase,
                         assert_no_sanitizer_report, resource_path, seed_state, write_config)
from harness import fcgi_client
from harness.stack import Stack, Webhookd, wait_for

NOBODY = pwd.getpwnam("nobody")


@unittest.skipUnless(os.geteuid() == 0, "needs root to run webhookd as another user (CI runs as root)")
class StateDirFails(StackCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="webhookd-e2e-")
        os.chmod(cls.tmp, 0o755)
        cls.state_dir = os.path.join(cls.tmp, "state")
        seed_state(cls.state_dir)
        for root, dirs, files in os.walk(cls.state_dir):
            for name in dirs + files + [""]:
                os.chown(os.path.join(root, name), NOBODY.pw_uid, NOBODY.pw_gid)
        os.chmod(cls.state_dir, 0o700)
        cls.config = write_config(cls.tmp, cls.state_dir)
        os.chmod(cls.config, 0o644)
        cls.stack = Stack(cls.config, workers=2, build=BUILD)
        # webhookd as nobody: its socket's directory must be nobody's.
        os.chown(cls.stack.tmp, NOBODY.pw_uid, NOBODY.pw_gid)
        cls.stack.webhookd.wrap = ["setpriv", "--reuid=%d" % NOBODY.pw_uid, "--regid=%d" % NOBODY.pw_gid,
                                   "--clear-groups", "--"]
        try:
            cls.stack.start()
        except Exception:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        cls.base = cls.stack.base_url

    def tearDown(self):
        os.chmod(self.state_dir, 0o700)
        for name in os.listdir(self.state_dir):
            os.chmod(os.path.join(self.state_dir, name), 0o644)
        assert_no_sanitizer_report(self, self.stack.webhookd.log())

    def test_a_failing_directory_answers_503_with_retry_after(self):
        self.assertEqual(self.curl().status, 200)
        before = open(self.state_file(), "rb").read()
        os.chmod(self.state_dir, 0)
        get = self.curl()
        self.assertTwilioError(get, 503, 20503, "Service Unavailable")
        self.assertEqual(get.headers.get("retry-after"), "1")
        head = self.curl("-I")
        self.assertEqual((head.status, head.headers.get("retry-after")), (503, "1"))
        post = self.curl("-d", "PreWebhookUrl=https://sick.example.com/x")
        self.assertTwilioError(post, 503, 20503, "Service Unavailable")
        self.assertEqual(post.headers.get("retry-after"), "1")
        # The reason is in the log, never in the answer.
        self.assertIn("Permission denied", self.stack.webhookd.log())
        self.assertNotIn(b"Permission", get.body + post.body)
        os.chmod(self.state_dir, 0o700)
        self.assertEqual(open(self.state_file(), "rb").read(), before)  # nothing written
        self.assertEqual(self.curl().status, 200)  # back at once

    def test_one_unreadable_file_answers_500_and_the_others_go_on(self):
        os.chmod(self.state_file(), 0)
        self.assertTwilioError(self.curl(), 500, 20500, "Internal Server Error")
        r = self.curl("-d", "Method=GET")
        self.assertTwilioError(r, 500, 20500, "Internal Server Error")
        self.assertNotIn("retry-after", r.headers)
        self.assertEqual(self.curl(path=resource_path(EMPTY_SID)).status, 200)


def fcgi_params(method="GET", body=b""):
    p = {"REQUEST_METHOD": method, "DOCUMENT_URI": resource_path(), "REQUEST_SCHEME": "http",
         "HTTP_HOST": "api.example", "SERVER_PORT": "80", "HTTP_AUTHORIZATION": BASIC_AUTH,
         "CONTENT_LENGTH": str(len(body))}
    if body:
        p["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    return p


def lowest_free_fd(pid):
    used = {int(fd) for fd in os.listdir("/proc/%d/fd" % pid)}
    return min(set(range(len(used) + 1)) - used)


@unittest.skipUnless(os.geteuid() == 0, "needs root to lower another process's descriptor limit (CI runs as root)")
class OutOfDescriptors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="webhookd-emfile-")
        self.state_dir = os.path.join(self.tmp, "state")
        seed_state(self.state_dir)
        self.sock = os.path.join(self.tmp, "w.sock")
        self.daemon = Webhookd(WEBHOOKD, write_config(self.tmp, self.state_dir), self.sock, 2,
                               log_path=os.path.join(self.tmp, "webhookd.log")).start()

    def tearDown(self):
        self.daemon.stop(signal.SIGKILL)
        assert_no_sanitizer_report(self, self.daemon.log())
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_a_host_out_of_descriptors_answers_503_and_serves_again(self):
        state_file = os.path.join(self.state_dir, SID + ".yaml")
        before = open(state_file, "rb").read()
        pid = self.daemon.proc.pid
        # One kept connection, accepted while descriptors were free: the
        # requests below reach webhookd, whose next open() fails (EMFILE).
        conn = fcgi_client.Connection(self.sock)
        try:
            self.assertEqual(fcgi_client.parse(conn.request(fcgi_params(), keep=True))[0], 200)
            soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
            body = b"PreWebhookUrl=https://no-fds.example.com/x"
            try:
                # The limit at the lowest free descriptor. A descriptor that
                # was open only while /proc was read leaves a lower one free,
                # and the GET is then served: read again and retry.
                for _ in range(5):
                    resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free_fd(pid), hard))
                    get = fcgi_client.parse(conn.request(fcgi_params(), keep=True))
                    if get[0] != 200:
                        break
                answers = [get, fcgi_client.parse(conn.request(fcgi_params("POST", body), body, keep=True))]
            finally:
                resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
            for status, headers, body in answers:
                self.assertEqual(status, 503, body)
                self.assertEqual(headers.get("retry-after"), "1")
                self.assertEqual(json.loads(body)["code"], 20503)
            # The reason is in the log (written by the log's own thread), never in the answer.
            wait_for(lambda: "Too many open files" in self.daemon.log(), 10, "the reason in the log")
            self.assertNotIn(b"Too many", b"".join(a[2] for a in answers))
            self.assertEqual(open(state_file, "rb").read(), before)  # nothing written
            self.assertEqual(fcgi_client.parse(conn.request(fcgi_params(), keep=True))[0], 200)  # back at once
        finally:
            conn.close()


if __name__ == "__main__":
    unittest.main()
