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
import subprocess
import tempfile
import unittest

from e2e.support import (ACCOUNT, BUILD, EMPTY_SID, MISSING_SID, SID, WEBHOOKD, StackCase,
                         assert_no_sanitizer_report, fcgi_params, resource_path, seed_state, write_config)
from harness import fcgi_client
from harness.stack import Stack, Webhookd, wait_for

GLOBAL = "/v1/Configuration/Webhooks"

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


def snapshot(directory):
    """Every name in a directory with its bytes: what "nothing written" compares."""
    if not os.path.isdir(directory):
        return None
    return {n: open(os.path.join(directory, n), "rb").read() for n in sorted(os.listdir(directory))}


class StateDirReplaced(StackCase):
    """Review 18 finding 1, review 19 finding 3: a state directory that is
    gone, or an empty one in its place (what an unmounted volume leaves),
    gave 404s, an account's never-set defaults and wrote an account's file
    into the wrong directory, answers a fleet's front never steps around.
    Each is now 503/20503 with Retry-After, and nothing is written; put
    back, the directory is served again at once."""

    def setUp(self):
        self.moved = self.state_dir + ".moved"
        self.addCleanup(self.put_back)

    def put_back(self):
        if os.path.isdir(self.moved):
            if os.path.isdir(self.state_dir):
                shutil.rmtree(self.state_dir)
            os.rename(self.moved, self.state_dir)

    def assert_every_answer_is_503(self):
        answers = {
            "service GET": self.curl(),
            "missing service GET": self.curl(path=resource_path(MISSING_SID)),
            "service HEAD": self.curl("-I"),
            "service POST": self.curl("-d", "PreWebhookUrl=https://lost.example.com/s"),
            "account GET": self.curl(path=GLOBAL),
            "account POST": self.curl("-d", "Target=flex", "-d", "PreWebhookUrl=https://lost.example.com/a",
                                      path=GLOBAL),
        }
        for what, r in answers.items():
            with self.subTest(what):
                if what == "service HEAD":
                    self.assertEqual(r.status, 503)
                else:
                    self.assertTwilioError(r, 503, 20503, "Service Unavailable")
                self.assertEqual(r.headers.get("retry-after"), "1")

    def assert_served_again(self, before):
        self.assertEqual(snapshot(self.state_dir), before)  # nothing written while it was away
        self.assertEqual(self.curl().status, 200)
        account = self.curl(path=GLOBAL)
        self.assertEqual(account.status, 200, account.body)
        self.assertIsNone(json.loads(account.body)["pre_webhook_url"])

    def test_an_empty_directory_in_place_of_the_state_dir_answers_503_and_gets_nothing(self):
        self.assertEqual(self.curl().status, 200)
        before = snapshot(self.state_dir)
        os.rename(self.state_dir, self.moved)
        os.mkdir(self.state_dir)
        self.assert_every_answer_is_503()
        self.assertEqual(os.listdir(self.state_dir), [])  # no account file, no lock file
        line = [l for l in self.stack.webhookd.log().splitlines() if "is not the one this store was made on" in l][-1]
        # The same device: the type was not measured, and is not printed (it read "type 0x0").
        self.assertNotIn("file system of type", line)
        self.assertRegex(line, r"made on \(device \d+:\d+ inode \d+\), it is device \d+:\d+ inode \d+: ")
        shutil.rmtree(self.state_dir)
        os.rename(self.moved, self.state_dir)
        self.assert_served_again(before)

    def test_a_removed_state_dir_answers_503_and_is_not_made_again(self):
        before = snapshot(self.state_dir)
        os.rename(self.state_dir, self.moved)
        self.assert_every_answer_is_503()
        self.assertFalse(os.path.exists(self.state_dir))
        os.rename(self.moved, self.state_dir)
        self.assert_served_again(before)

    def test_a_directory_put_in_place_on_purpose_is_served_after_a_restart(self):
        os.rename(self.state_dir, self.moved)
        os.mkdir(self.state_dir)
        self.assertEqual(self.curl(path=GLOBAL).status, 503)
        try:
            self.stack.webhookd.stop()
            self.stack.webhookd.start()
            self.assertEqual(self.curl(path=GLOBAL).status, 200)  # its defaults: nothing set here
            self.assertEqual(self.curl().status, 404)  # the new directory holds no service
        finally:
            self.stack.webhookd.stop()
            self.put_back()
            self.stack.webhookd.start()
        self.assertEqual(self.curl().status, 200)

    def reload(self):
        """SIGHUP, as `systemctl reload` sends it: its log line."""
        webhookd = self.stack.webhookd
        reloads = webhookd.log().count("webhookd: reloaded ")
        webhookd.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: webhookd.log().count("webhookd: reloaded ") > reloads, 10, "reload")
        return webhookd.log().split("webhookd: reloaded ")[-1].split("\n")[0]

    def test_a_directory_put_in_place_on_purpose_is_served_after_a_reload(self):
        """The fix19b review, finding 3: a reload kept the old store and its
        recorded directory, so a directory put in place on purpose (a
        symlink flipped, a directory replaced) still answered 503 after
        `systemctl reload`. A reload is the operator's deliberate act: it
        records the new directory."""
        self.assertEqual(self.curl().status, 200)
        self.addCleanup(lambda: (self.put_back(), self.reload()))  # the next tests need the first directory served
        os.rename(self.state_dir, self.moved)
        os.mkdir(self.state_dir)
        self.assertEqual(self.curl(path=GLOBAL).status, 503)
        self.assertIn("is another directory now: served from it", self.reload())
        self.assertEqual(self.curl(path=GLOBAL).status, 200)  # its defaults: nothing set here
        self.assertEqual(self.curl().status, 404)  # the new directory holds no service
        self.assertEqual(self.curl("-d", "Target=flex", path=GLOBAL).status, 200)
        self.assertEqual(os.listdir(self.state_dir).count(ACCOUNT + ".yaml"), 1)
        # Back again, and reloaded: the first directory is served.
        shutil.rmtree(self.state_dir)
        os.rename(self.moved, self.state_dir)
        self.assertIn("is another directory now: served from it", self.reload())
        self.assertEqual(self.curl().status, 200)
        self.assertIsNone(json.loads(self.curl(path=GLOBAL).body)["pre_webhook_url"])
        self.assertEqual(self.reload(), self.config)  # the same directory: the store is kept, nothing said
        self.assertEqual(self.curl().status, 200)


def run(*argv):
    return subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@unittest.skipUnless(os.geteuid() == 0, "needs root to mount (CI runs as root)")
class VolumeUnmounted(StackCase):
    """The reviewer's case with a real mount: the state directory is a
    mounted file system (tmpfs here, GlusterFS in a fleet); unmounted under
    a live webhookd, its mountpoint is an empty directory of the disk
    beneath. Every answer is 503 and nothing lands on that disk (it would
    be hidden, and lost, by the next mount). Mounted again (a new device
    number, the same root inode and type), it is served at once."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="webhookd-e2e-")
        cls.state_dir = os.path.join(cls.tmp, "state")
        os.mkdir(cls.state_dir)
        try:
            cls.mount()
        except unittest.SkipTest:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        try:
            cls.config = write_config(cls.tmp, cls.state_dir)
            cls.stack = Stack(cls.config, workers=2, build=BUILD).start()
        except Exception:
            cls.unmount()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        cls.base = cls.stack.base_url

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.unmount()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def mount(cls):
        r = run("mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "webhookd-e2e", cls.state_dir)
        if r.returncode != 0:
            raise unittest.SkipTest("cannot mount a tmpfs here: " + r.stdout)
        seed_state(cls.state_dir)

    @classmethod
    def unmount(cls):
        while run("mountpoint", "-q", cls.state_dir).returncode == 0:
            if run("umount", cls.state_dir).returncode != 0:
                run("umount", "-l", cls.state_dir)

    def test_an_unmounted_volume_answers_503_and_nothing_lands_on_the_disk_beneath(self):
        self.assertEqual(self.curl().status, 200)
        self.assertEqual(self.curl(path=GLOBAL).status, 200)
        self.unmount()
        try:
            for what, r in {"service GET": self.curl(), "missing service GET": self.curl(path=resource_path(MISSING_SID)),
                            "account GET": self.curl(path=GLOBAL),
                            "account POST": self.curl("-d", "Target=flex", path=GLOBAL),
                            "service POST": self.curl("-d", "Method=GET")}.items():
                with self.subTest(what):
                    self.assertTwilioError(r, 503, 20503, "Service Unavailable")
                    self.assertEqual(r.headers.get("retry-after"), "1")
            self.assertEqual(os.listdir(self.state_dir), [])
            # The device moved: the types were measured, and are printed.
            self.assertRegex(self.stack.webhookd.log(), r"is not the one this store was made on \(device \d+:\d+ "
                             r"inode \d+ on a file system of type 0x[0-9a-f]+\), it is device \d+:\d+ inode \d+ on "
                             r"a file system of type 0x[0-9a-f]+: ")
        finally:
            self.mount()
        self.assertEqual(self.curl().status, 200)
        self.assertEqual(self.curl(path=GLOBAL).status, 200)
        self.assertEqual(self.curl(path=resource_path(MISSING_SID)).status, 404)

    def test_a_reload_while_unmounted_keeps_answering_503(self):
        """A reload records another directory put in state_dir's place
        (StateDirReplaced), but not the bare mountpoint an unmount leaves:
        a reload during an unmount keeps the volume's store and its 503s,
        and nothing lands on the disk beneath; mounted again, served."""
        self.assertEqual(self.curl().status, 200)
        self.unmount()
        try:
            webhookd = self.stack.webhookd
            reloads = webhookd.log().count("webhookd: reloaded ")
            webhookd.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: webhookd.log().count("webhookd: reloaded ") > reloads, 10, "reload")
            self.assertIn("was a mounted volume and is a plain directory now (unmounted?)", webhookd.log())
            for what, r in {"service GET": self.curl(), "account GET": self.curl(path=GLOBAL),
                            "account POST": self.curl("-d", "Target=flex", path=GLOBAL)}.items():
                with self.subTest(what):
                    self.assertTwilioError(r, 503, 20503, "Service Unavailable")
            self.assertEqual(os.listdir(self.state_dir), [])
        finally:
            self.mount()
        self.assertEqual(self.curl().status, 200)
        self.assertEqual(self.curl(path=GLOBAL).status, 200)


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
