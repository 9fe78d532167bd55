"""webhookctl as a person and a GitOps pipeline use it: check on a table of
broken files, apply while clients read through nginx (thousands of applies,
no answer but 200 with one of the two revisions), apply with an invalid file
(nothing changes, byte for byte), drift after an API write (refused, named,
--force), diff's exit codes, export, show/set/create-service, api_writes:
deny through nginx and the official python client, hash-secret output that
authenticates, the sync script against a real bare git repository, and an
account's global webhooks (AC….yaml): checked against the config's accounts,
planned, applied, exported, shown and set, and show --effective."""
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from e2e.support import (ACCOUNT, BASIC_AUTH, EMPTY_SID, OTHER_ACCOUNT, OTHER_TOKEN, SID, TOKEN, WEBHOOKCTL, StackCase,
                         read, resource_path, sha, write_config)
from harness.stack import REPO, Stack

AUTH = {"Authorization": BASIC_AUTH}
A = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


def ctl(*args, input=None, timeout=120):
    return subprocess.run([WEBHOOKCTL] + list(args), capture_output=True, text=True, input=input, timeout=timeout)


def sid_of(i):
    return "IS%032x" % (0xc0000000 + i)


def state_text(url, method="POST", filters=("onMessageAdded",)):
    return ("account_sid: %s\npre_webhook_url: %s\npost_webhook_url: null\nfilters:\n%smethod: %s\n" % (
        A, url, "".join("  - %s\n" % f for f in filters), method))


def write_revision(directory, sids, tag):
    os.makedirs(directory, exist_ok=True)
    for sid in sids:
        with open(os.path.join(directory, sid + ".yaml"), "w") as f:
            f.write(state_text("https://hooks.example.com/%s/%s" % (tag, sid)))


def snapshot(directory):
    return {name: read(os.path.join(directory, name)) for name in sorted(os.listdir(directory))}


class CheckTest(unittest.TestCase):
    """Each broken file with its exact place and message, as a CI log shows them."""
    CASES = [
        # (name, file name, content, expected problem lines without the path prefix)
        ("duplicate key", SID + ".yaml", "account_sid: %s\nmethod: GET\nmethod: POST\n" % A,
         [":3:1: duplicate key 'method' (first at line 2)"]),
        ("every problem of a file", SID + ".yaml", "account_sid: %s\nbogus: 1\nmethod: PUT\nfilters: [onNothing]\n" % A,
         [":2:1: unknown key 'bogus'", ":3:9: method must be GET or POST", ":4:11: unknown filter 'onNothing'"]),
        ("alias", SID + ".yaml", "account_sid: &a %s\n" % A, [":1:14: anchors (&name) are not allowed"]),
        ("wrong type", SID + ".yaml", "account_sid: %s\nfilters: onMessageAdd\n" % A,
         [":2:10: filters must be a list, not a string"]),
        ("bad url", SID + ".yaml", "account_sid: %s\npre_webhook_url: ftp://x\n" % A,
         [":2:18: pre_webhook_url is not an absolute http(s) URL"]),
        ("no account", SID + ".yaml", "method: GET\n", [":1:1: account_sid is missing"]),
        ("account not AC", SID + ".yaml", "account_sid: SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
         [":1:14: account_sid must be AC followed by 32 hex digits"]),
        ("yaml syntax", SID + ".yaml", "account_sid: [\n", [":2:1: end of sequence flow not found"]),
        ("not utf-8", SID + ".yaml", b"account_sid: \xff\n", [": not UTF-8"]),
        ("not a service file name", SID + ".yml", "account_sid: %s\n" % A,
         [": not a state file: a state file is named IS<32 hex digits>.yaml (a service's) or AC<32 hex digits>.yaml "
          "(an account's global webhooks)"]),
        ("SID right but for case", "is" + SID[2:] + ".yaml", "account_sid: %s\n" % A,
         [": not a state file: the name differs from IS<32 hex digits>.yaml only in letter case "
          "('IS' and '.yaml' must be exactly so)"]),
        ("an account file with a service's key", A + ".yaml", "account_sid: %s\ntarget: Flex\n" % A,
         [":1:1: account_sid is not a key of an account's file: its name (AC….yaml) is the account",
          ":2:9: target must be webhook or flex"]),
        ("a service file with an account's key", SID + ".yaml", "account_sid: %s\ntarget: flex\n" % A,
         [":2:1: target is a key of an account's global settings (AC….yaml), not of a service's"]),
        ("stray lock file", "." + SID + ".lock", "", [": a lock file of webhookd's: never state, never to be committed"]),
        ("stray temp file", "." + SID + ".tmp.Ab12Cd", "account_sid: %s\n" % A,
         [": a temp file of webhookd's (a write in progress or a crash leftover): never to be committed"]),
        ("stray temp file of the apply record", ".webhookd-applied.tmp.Ab12Cd", "# webhookctl apply\n",
         [": a temp file of webhookctl apply's record (an apply in progress or a crash leftover): "
          "never to be committed"]),
    ]

    def test_each_broken_file_is_named_with_line_and_column(self):
        for name, filename, content, expected in self.CASES:
            with self.subTest(name), tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, filename)
                with open(path, "wb") as f:
                    f.write(content if isinstance(content, bytes) else content.encode())
                for target in (tmp, path):  # a directory (CI) and the file itself (a pre-commit hook)
                    r = ctl("check", target)
                    self.assertEqual(r.returncode, 1, r.stderr)
                    lines = r.stderr.splitlines()
                    self.assertEqual(lines[:-1], [path + e for e in expected])
                    self.assertEqual(lines[-1], "webhookctl check: %d problem(s)" % len(expected))

    def test_the_shipped_demo_is_valid(self):
        r = ctl("check", "--config", os.path.join(REPO, "conf", "webhookd.yaml"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ok", r.stdout)
        r = ctl("check", os.path.join(REPO, "state"))  # .gitignore is skipped, the service is valid
        self.assertEqual(r.returncode, 0, r.stderr)

    @unittest.skipUnless(os.geteuid() == 0, "a read-only bind mount needs root (CI runs as root)")
    def test_a_read_only_checkout_is_checked_as_a_directory(self):
        # A CI job may check a read-only checkout: a directory is what can be
        # listed, not what can be written.
        with tempfile.TemporaryDirectory() as tmp:
            src, ro = os.path.join(tmp, "src"), os.path.join(tmp, "ro")
            os.makedirs(src)
            os.makedirs(ro)
            with open(os.path.join(src, SID + ".yaml"), "w") as f:
                f.write("account_sid: %s\nmethod: PUT\n" % A)
            subprocess.run(["mount", "--bind", src, ro], check=True)
            try:
                subprocess.run(["mount", "-o", "remount,bind,ro", ro], check=True)
                r = ctl("check", ro)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertEqual(r.stderr.splitlines()[0],
                                 os.path.join(ro, SID + ".yaml") + ":2:9: method must be GET or POST")
            finally:
                subprocess.run(["umount", ro])

    def test_a_bad_config_is_named(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "webhookd.yaml")
            with open(config, "w") as f:
                f.write("state_dir: %s\naccounts:\n  - sid: %s\n    auth_token_sha256: abc\n" % (tmp, A))
            r = ctl("check", "--config", config)
            self.assertEqual(r.returncode, 1)
            self.assertIn(config + ":4:24: auth_token_sha256 must be 64 hex digits", r.stderr)

    def test_usage_errors_exit_2(self):
        self.assertEqual(ctl().returncode, 2)
        self.assertEqual(ctl("no-such-command").returncode, 2)
        self.assertEqual(ctl("check").returncode, 2)
        self.assertEqual(ctl("apply", "--state-dir").returncode, 2)
        for command in ("check", "diff", "apply", "export", "show", "set", "create-service", "hash-secret", "fire"):
            r = ctl(command, "--help")
            self.assertEqual(r.returncode, 0, command)
            self.assertIn("usage: webhookctl", r.stdout)


class CommandHelpTest(unittest.TestCase):
    """webhookctl COMMAND --help is that command's usage (contract §7), not the list."""
    COMMANDS = ["check", "diff", "apply", "export", "show", "set", "create-service", "hash-secret", "fire"]

    def test_each_command_prints_its_own_usage(self):
        listing = ctl("--help")
        self.assertEqual(listing.returncode, 0)
        for command in self.COMMANDS:
            self.assertIn("\n  %s " % command, listing.stdout)  # the list names every command
            with self.subTest(command):
                r = ctl(command, "--help")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith("usage: webhookctl %s " % command), r.stdout)
                for other in self.COMMANDS:
                    if other != command and not command.startswith(other):
                        self.assertNotIn("webhookctl %s " % other, r.stdout)
                # Its own text from the list, whole: one source for both.
                entry = listing.stdout.split("\n  %s " % command, 1)[1].split("\n  ", 1)[0]
                self.assertIn(entry.splitlines()[0], r.stdout)

    def test_where_each_command_takes_the_state_from(self):
        """The README's "Other commands" and the man page: each command takes
        --state-dir or --config, except set --account and fire (--config
        only: --state-dir alone exits 2, naming why) and hash-secret (no
        state directory). The fix19b review found the sentence said "each"."""
        sid, account = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, sid + ".yaml"), "w") as f:
                f.write("account_sid: %s\n" % account)
            for argv in (["show", sid], ["show", "--account", account], ["set", sid, "--method", "GET"],
                         ["create-service", "--account", account]):
                with self.subTest(argv):
                    r = ctl(*argv, "--state-dir", tmp)
                    self.assertEqual(r.returncode, 0, r.stderr)
            for argv, why in ((["set", "--account", account, "--target", "flex"], "set --account needs --config"),
                              (["fire", sid, "--event", "onMessageAdded"], "fire needs --config"),
                              (["hash-secret", "--account", account], "unknown option --state-dir")):
                with self.subTest(argv):
                    r = ctl(*argv, "--state-dir", tmp, input="")
                    self.assertEqual(r.returncode, 2, r.stderr)
                    self.assertIn("webhookctl: " + why, r.stderr)
            self.assertFalse(os.path.exists(os.path.join(tmp, account + ".yaml")))

    def test_diff_usage_errors_exit_1_never_2(self):
        # diff's 2 means drift (contract §7): a script's typo must not read as drift.
        with tempfile.TemporaryDirectory() as tmp:
            for argv in (["diff", "--bogus"], ["diff", tmp, "--state-dir", tmp, "--prune", "--bogus"],
                         ["diff", tmp, "--state-dir"], ["diff", "--state-dir", tmp], ["diff", tmp, tmp, "--state-dir", tmp]):
                with self.subTest(argv):
                    r = ctl(*argv)
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertIn("usage: webhookctl diff SRC", r.stderr)
            self.assertEqual(ctl("diff", tmp, "--state-dir", tmp).returncode, 0)  # an empty source, in sync
        r = ctl("diff", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("Exit status: 0 the live state equals SRC, 1 error or bad usage, 2 it differs", r.stdout)
        self.assertIn("diff: 0 in sync, 1 error or bad usage, 2 the live state differs", ctl("--help").stdout)

    def test_a_usage_error_shows_that_commands_usage(self):
        r = ctl("set", "--state-dir", "/nonexistent")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.splitlines()[0], "webhookctl: set takes one SID")
        self.assertIn("usage: webhookctl set SID", r.stderr)
        self.assertNotIn("create-service", r.stderr)


class PreCommitHookTest(unittest.TestCase):
    """conf/gitops.pre-commit-config.yaml with the real pre-commit, in a git
    repository laid out as the README says: a broken state file cannot be
    committed, and the commit says why."""

    def repository(self, repo, entry=None):
        """A git repository with the shipped hook installed (its entry
        changed to `entry` when given, as the README says to when the
        config is in the repository); returns run(*argv)."""
        env = dict(os.environ, PATH=os.path.dirname(WEBHOOKCTL) + ":" + os.environ["PATH"],
                   PRE_COMMIT_HOME=os.path.join(repo, ".pre-commit-home"), GIT_AUTHOR_NAME="t",
                   GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")

        def run(*argv):
            return subprocess.run(list(argv), cwd=repo, env=env, capture_output=True, text=True, timeout=120)

        self.assertEqual(run("git", "init", "--quiet").returncode, 0)
        with open(os.path.join(REPO, "conf", "gitops.pre-commit-config.yaml")) as f:
            hook = f.read()
        if entry:
            self.assertIn("entry: webhookctl check\n", hook)
            hook = hook.replace("entry: webhookctl check\n", "entry: %s\n" % entry)
        with open(os.path.join(repo, ".pre-commit-config.yaml"), "w") as f:
            f.write(hook)
        with open(os.path.join(repo, ".gitignore"), "w") as f:
            f.write(".pre-commit-home/\n")
        r = run("pre-commit", "install")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        os.makedirs(os.path.join(repo, "services"))
        return run

    def test_an_unlisted_accounts_file_is_caught_only_with_the_config(self):
        """Review 19, finding 6: the shipped hook runs check without
        --config, so nothing tells it which accounts webhookd serves: an
        AC….yaml of any account passes (the README says so, and that the
        servers' apply --config refuses such a commit whole). With the
        config in the repository and the entry the README gives, it is
        refused, naming the account; a listed account's file passes."""
        for entry, refused in ((None, False), ("webhookctl check --config webhookd.yaml", True)):
            with self.subTest(entry=entry), tempfile.TemporaryDirectory() as repo:
                run = self.repository(repo, entry)
                write_config(repo, os.path.join(repo, "services"))  # webhookd.yaml at the top: A and OTHER_ACCOUNT
                path = os.path.join("services", STRANGER + ".yaml")
                with open(os.path.join(repo, path), "w") as f:
                    f.write("target: flex\n")
                run("git", "add", "-A")
                r = run("git", "commit", "--quiet", "-m", "a stranger's global webhooks")
                if refused:
                    self.assertNotEqual(r.returncode, 0, "the hook let an unlisted account's file in")
                    self.assertIn("%s: account %s is not in webhookd.yaml" % (path, STRANGER), r.stdout + r.stderr)
                    os.unlink(os.path.join(repo, path))
                else:
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                with open(os.path.join(repo, "services", A + ".yaml"), "w") as f:
                    f.write("target: flex\n")
                run("git", "add", "-A")
                r = run("git", "commit", "--quiet", "-m", "a listed account's global webhooks")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_a_broken_file_cannot_be_committed(self):
        with tempfile.TemporaryDirectory() as repo:
            run = self.repository(repo)
            path = os.path.join("services", SID + ".yaml")
            with open(os.path.join(repo, path), "w") as f:
                f.write("account_sid: %s\nmethod: PUT\n" % A)
            run("git", "add", "-A")
            r = run("git", "commit", "--quiet", "-m", "broken")
            self.assertNotEqual(r.returncode, 0, "the hook let a broken file in")
            self.assertIn(path + ":2:9: method must be GET or POST", r.stdout + r.stderr)
            with open(os.path.join(repo, path), "w") as f:
                f.write("account_sid: %s\nmethod: GET\n" % A)
            run("git", "add", "-A")
            r = run("git", "commit", "--quiet", "-m", "fixed")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class Readers:
    """Four clients reading through nginx on kept HTTP connections until
    stopped; every answer is checked against what may be there."""

    def __init__(self, port, sids, allowed):
        self.port, self.sids, self.allowed = port, sids, allowed  # allowed(sid, status, body) -> bool
        self.bad, self.count, self.stopping = [], 0, threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(4)]

    def run(self, i):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        n = i
        while not self.stopping.is_set():
            sid = self.sids[n % len(self.sids)]
            n += 1
            try:
                conn.request("GET", resource_path(sid), headers=AUTH)
                r = conn.getresponse()
                status, body = r.status, r.read()
            except Exception as e:  # a broken connection is a failure too
                status, body = type(e).__name__, b""
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            with self.lock:
                self.count += 1
                if not self.allowed(sid, status, body) and len(self.bad) < 20:
                    self.bad.append((sid, status, body[:200]))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(30)


class ApplyUnderLoadTest(StackCase):
    SIDS = [sid_of(i) for i in range(10)]
    EXTRA = [sid_of(100 + i) for i in range(3)]

    def revision(self, tag, sids):
        directory = os.path.join(self.tmp, "rev-" + tag)
        if not os.path.isdir(directory):
            write_revision(directory, sids, tag)
        return directory

    def url_in(self, body):
        return json.loads(body)["pre_webhook_url"]

    def test_thousands_of_applies_are_invisible_to_readers(self):
        a, b = self.revision("a", self.SIDS), self.revision("b", self.SIDS)
        r = ctl("apply", a, "--state-dir", self.state_dir, "--force")  # first apply adopts nothing: all new
        self.assertEqual(r.returncode, 0, r.stderr)

        def allowed(sid, status, body):
            return status == 200 and self.url_in(body) in (
                "https://hooks.example.com/a/" + sid, "https://hooks.example.com/b/" + sid)

        applies = 0
        with Readers(self.stack.port, self.SIDS, allowed) as readers:
            deadline = time.monotonic() + 40
            while applies < 1000 and time.monotonic() < deadline:
                r = ctl("apply", b if applies % 2 == 0 else a, "--state-dir", self.state_dir)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                applies += 1
        self.assertEqual(readers.bad, [], "answers other than 200 with revision a or b")
        self.assertGreaterEqual(applies, 300, "too few applies to mean anything")
        self.assertGreater(readers.count, 1000)
        print("\n    %d applies, %d reads, 0 bad" % (applies, readers.count), end=" ", flush=True)

    def test_prune_adds_and_removes_services_and_a_removed_one_is_404_only_after(self):
        a = self.revision("a", self.SIDS)
        c = self.revision("c", self.SIDS + self.EXTRA)
        self.assertEqual(ctl("apply", a, "--state-dir", self.state_dir, "--prune", "--force").returncode, 0)

        def allowed(sid, status, body):
            if sid in self.EXTRA:
                return status == 404 or (status == 200 and self.url_in(body) == "https://hooks.example.com/c/" + sid)
            return status == 200 and self.url_in(body) in ("https://hooks.example.com/a/" + sid,
                                                           "https://hooks.example.com/c/" + sid)

        conn = http.client.HTTPConnection("127.0.0.1", self.stack.port, timeout=10)

        def status(sid):
            conn.request("GET", resource_path(sid), headers=AUTH)
            r = conn.getresponse()
            r.read()
            return r.status

        applies = 0
        with Readers(self.stack.port, self.SIDS + self.EXTRA, allowed) as readers:
            deadline = time.monotonic() + 25
            while applies < 400 and time.monotonic() < deadline:
                with_extra = applies % 2 == 0
                r = ctl("apply", c if with_extra else a, "--state-dir", self.state_dir, "--prune")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                # Right after the apply returns, its result is what everyone reads.
                self.assertEqual(status(self.EXTRA[0]), 200 if with_extra else 404)
                applies += 1
        self.assertEqual(readers.bad, [])
        self.assertGreaterEqual(applies, 100)


class ForcedApplyOverAnInvalidFileTest(StackCase):
    """apply --force over a person's broken file replaces it in one rename
    under the service's lock (issue 17, item 7): readers through nginx find
    the broken file (500) or git's (200), never no service (404)."""
    TARGET = sid_of(500)

    def test_readers_never_find_the_service_missing(self):
        src = os.path.join(self.tmp, "forced-src")
        write_revision(src, [self.TARGET], "git")
        path = os.path.join(self.state_dir, self.TARGET + ".yaml")
        r = ctl("apply", src, "--state-dir", self.state_dir, "--force")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        broken = state_text("https://hooks.example.com/broken/" + self.TARGET) + "method: GET\n"  # a duplicate key

        def break_it():
            # A person's broken edit, put in place atomically: only the apply may open a gap.
            with open(path + ".edit", "w") as f:
                f.write(broken)
            os.rename(path + ".edit", path)

        def allowed(sid, status, body):
            return status == 500 or (status == 200 and json.loads(body)["pre_webhook_url"] ==
                                     "https://hooks.example.com/git/" + sid)

        forced = 0
        with Readers(self.stack.port, [self.TARGET], allowed) as readers:
            deadline = time.monotonic() + 30
            while forced < 200 and time.monotonic() < deadline:
                break_it()
                r = ctl("apply", src, "--state-dir", self.state_dir, "--force")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("updated " + self.TARGET, r.stdout)
                forced += 1
        self.assertEqual(readers.bad, [], "answers other than 500 (broken) or 200 (git's)")
        self.assertGreaterEqual(forced, 50, "too few forced applies to mean anything")
        self.assertEqual(read(path), read(os.path.join(src, self.TARGET + ".yaml")))
        print("\n    %d forced applies, %d reads, 0 bad" % (forced, readers.count), end=" ", flush=True)


class ApplySafetyTest(StackCase):
    SIDS = [sid_of(i) for i in range(4)]

    def setUp(self):
        self.live = os.path.join(self.tmp, "live-%d" % time.monotonic_ns())
        os.makedirs(self.live)
        self.a = os.path.join(self.live + "-a")
        self.b = os.path.join(self.live + "-b")
        write_revision(self.a, self.SIDS, "a")
        write_revision(self.b, self.SIDS, "b")
        self.assertEqual(ctl("apply", self.a, "--state-dir", self.live).returncode, 0)

    def test_an_invalid_file_in_src_changes_nothing(self):
        with open(os.path.join(self.b, self.SIDS[2] + ".yaml"), "a") as f:
            f.write("method: GET\n")  # a duplicate key, in one file of four
        before = snapshot(self.live)
        r = ctl("apply", self.b, "--state-dir", self.live)
        self.assertEqual(r.returncode, 1)
        # account_sid, pre, post, filters: and its item, method: the appended one is line 7.
        self.assertIn(os.path.join(self.b, self.SIDS[2] + ".yaml") + ":7:1: duplicate key 'method' (first at line 6)",
                      r.stderr)
        self.assertIn("nothing was changed", r.stderr)
        self.assertEqual(snapshot(self.live), before)  # byte for byte, the record included

    def test_drift_is_refused_and_named_then_forced(self):
        target = self.SIDS[1]
        # An API write, as webhookd makes it (the same store).
        r = ctl("set", target, "--state-dir", self.live, "--method", "get")
        self.assertEqual(r.returncode, 0, r.stderr)
        after_api = snapshot(self.live)
        r = ctl("apply", self.b, "--state-dir", self.live)
        self.assertEqual(r.returncode, 1)
        self.assertIn(target, r.stderr)
        self.assertIn("changed since the last apply", r.stdout)
        self.assertIn("--force", r.stderr)
        self.assertEqual(snapshot(self.live), after_api)  # nothing touched, not even the undrifted ones
        d = ctl("diff", self.b, "--state-dir", self.live, "--json")
        self.assertEqual(d.returncode, 2)
        plan = json.loads(d.stdout)
        drifted = [s["sid"] for s in plan["services"] if s["drifted"]]
        self.assertEqual(drifted, [target])
        self.assertEqual(plan["update"], 4)
        changes = {c["field"]: c for s in plan["services"] if s["sid"] == target for c in s["changes"]}
        self.assertEqual(changes["method"], {"field": "method", "before": "GET", "after": "POST"})
        r = ctl("apply", self.b, "--state-dir", self.live, "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        for sid in self.SIDS:
            self.assertEqual(read(os.path.join(self.live, sid + ".yaml")), read(os.path.join(self.b, sid + ".yaml")))
        self.assertEqual(ctl("diff", self.b, "--state-dir", self.live).returncode, 0)

    def test_diff_exit_codes(self):
        self.assertEqual(ctl("diff", self.a, "--state-dir", self.live).returncode, 0)
        r = ctl("diff", self.b, "--state-dir", self.live)
        self.assertEqual(r.returncode, 2)
        self.assertIn("~ %s  update" % self.SIDS[0], r.stdout)
        self.assertIn("    pre_webhook_url: https://hooks.example.com/a/%s -> https://hooks.example.com/b/%s" % (
            self.SIDS[0], self.SIDS[0]), r.stdout)
        self.assertIn("Plan: 0 to create, 4 to update, 0 to remove, 0 unchanged.", r.stdout)
        self.assertEqual(ctl("diff", os.path.join(self.tmp, "no-such-dir"), "--state-dir", self.live).returncode, 1)
        self.assertEqual(ctl("apply", self.b, "--state-dir", self.live, "--dry-run").returncode, 0)
        self.assertEqual(ctl("diff", self.b, "--state-dir", self.live).returncode, 2)  # dry-run changed nothing

    def test_export_turns_api_writes_into_files_that_apply_cleanly(self):
        self.assertEqual(ctl("set", self.SIDS[0], "--state-dir", self.live, "--filters", "onMessageAdd,onMessageAdded")
                         .returncode, 0)
        dest = os.path.join(self.live + "-export")
        os.makedirs(dest)
        with open(os.path.join(dest, sid_of(999) + ".yaml"), "w") as f:  # a service no longer live
            f.write(state_text("https://gone.example.com/"))
        r = ctl("export", "--state-dir", self.live, dest)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("removed %s.yaml" % sid_of(999), r.stdout)
        self.assertEqual(sorted(os.listdir(dest)), sorted(s + ".yaml" for s in self.SIDS))
        self.assertIn(b"  - onMessageAdd\n  - onMessageAdded\n", read(os.path.join(dest, self.SIDS[0] + ".yaml")))
        # The exported state is what is live: applying it drifts nothing and changes nothing.
        r = ctl("apply", dest, "--state-dir", self.live)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Plan: 0 to create, 0 to update, 0 to remove, 4 unchanged.", r.stdout)

    def test_create_service_set_and_show_through_the_api(self):
        r = ctl("create-service", "--account", ACCOUNT, "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        sid = r.stdout.strip()
        self.assertRegex(sid, r"^IS[0-9a-f]{32}$")
        got = self.curl(path=resource_path(sid))
        self.assertEqual(got.status, 200)
        self.assertIsNone(json.loads(got.body)["method"])
        r = ctl("set", sid, "--config", self.config, "--method", "get", "--filters", "onMessageAdd, onMessageAdded",
                "--post-webhook-url", "https://hooks.example.com/post")
        self.assertEqual(r.returncode, 0, r.stderr)
        api = json.loads(self.curl(path=resource_path(sid)).body)
        self.assertEqual((api["method"], api["filters"], api["post_webhook_url"]),
                         ("GET", ["onMessageAdd", "onMessageAdded"], "https://hooks.example.com/post"))
        shown = json.loads(ctl("show", sid, "--config", self.config, "--json").stdout)
        self.assertEqual({k: v for k, v in shown.items() if k != "url"}, {k: v for k, v in api.items() if k != "url"})
        bad = ctl("set", sid, "--config", self.config, "--pre-webhook-url", "nope")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("Invalid pre-webhook url (Twilio code 50077)", bad.stderr)
        again = ctl("create-service", "--account", ACCOUNT, "--sid", sid, "--config", self.config)
        self.assertEqual(again.returncode, 1)
        self.assertIn("exists already", again.stderr)
        stranger = ctl("create-service", "--account", "ACcccccccccccccccccccccccccccccccc", "--config", self.config)
        self.assertEqual(stranger.returncode, 1)
        self.assertIn("not in", stranger.stderr)


class ApiWritesDenyTest(StackCase):
    api_writes = "deny"

    def test_posts_are_403_and_nothing_is_written(self):
        before = read(self.state_file())
        r = self.curl("--data-raw", "Method=GET")
        self.assertTwilioError(r, 403, 20403, "Forbidden: this configuration is managed in git")
        client = Client(ACCOUNT, TOKEN)
        client.conversations.base_url = self.base
        with self.assertRaises(TwilioRestException) as raised:
            client.conversations.v1.services(SID).configuration.webhooks().update(method="GET")
        self.assertEqual(raised.exception.code, 20403)
        self.assertEqual(raised.exception.status, 403)
        self.assertEqual(read(self.state_file()), before)
        # Reads are unchanged, conditional ones included.
        got = self.curl()
        self.assertEqual(got.status, 200)
        self.assertEqual(self.curl("-H", "If-None-Match: " + got.headers["etag"]).status, 304)
        self.assertEqual(self.curl("-I").status, 200)


GLOBAL = "/v1/Configuration/Webhooks"
STRANGER = "ACcccccccccccccccccccccccccccccccc"  # in no config


class GlobalWebhooksCtlTest(StackCase):
    """webhookctl on an account's global webhooks, against the API through nginx."""

    def setUp(self):
        for name in os.listdir(self.state_dir):
            if name.startswith(("AC", ".AC", ".webhookd-appl")):
                os.remove(os.path.join(self.state_dir, name))

    def api(self, path=GLOBAL, auth=(ACCOUNT, TOKEN)):
        r = self.curl(path=path, auth=auth)
        self.assertEqual(r.status, 200, r.body)
        return json.loads(r.body)

    def test_show_and_set_account_answer_as_the_api(self):
        shown = ctl("show", "--account", ACCOUNT, "--config", self.config, "--json")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertEqual({k: v for k, v in json.loads(shown.stdout).items() if k != "url"},
                         {k: v for k, v in self.api().items() if k != "url"})
        r = ctl("set", "--account", ACCOUNT, "--config", self.config, "--target", "flex", "--filters",
                "onUserAdded, onMessageAdded", "--post-webhook-url", "https://hooks.example.com/global")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("target: flex\n", r.stdout)
        api = self.api()
        self.assertEqual((api["target"], api["filters"], api["post_webhook_url"]),
                         ("flex", ["onUserAdded", "onMessageAdded"], "https://hooks.example.com/global"))
        self.assertEqual(self.api(auth=(OTHER_ACCOUNT, OTHER_TOKEN))["target"], "webhook")
        text = ctl("show", "--account", ACCOUNT, "--config", self.config)
        self.assertEqual(text.stdout, "# %s  ETag %s\n" % (ACCOUNT, self.curl(path=GLOBAL).headers["etag"]) +
                         read(os.path.join(self.state_dir, ACCOUNT + ".yaml")).decode())
        bad = ctl("set", "--account", ACCOUNT, "--config", self.config, "--target", "Flex")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("Invalid Target: Flex (Twilio code 20001)", bad.stderr)
        # Only accounts of the config can have a file.
        for argv in (("set", "--account", STRANGER, "--config", self.config, "--target", "flex"),
                     ("show", "--account", STRANGER, "--config", self.config)):
            with self.subTest(argv[0]):
                r = ctl(*argv)
                self.assertEqual(r.returncode, 1)
                self.assertIn("account %s is not in %s" % (STRANGER, self.config), r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.state_dir, STRANGER + ".yaml")))
        self.assertEqual(ctl("set", SID, "--config", self.config, "--target", "flex").returncode, 2)

    def account_files(self):
        return sorted(n for n in os.listdir(self.state_dir) if n.startswith("AC"))

    def test_every_way_to_write_an_account_file_checks_the_config(self):
        """Only accounts the config lists get a file: set, apply and the API
        are the three ways one is written, and each checks (review 19,
        finding 1: `set AC…` as a plain SID wrote one, unchecked)."""
        # set with an account as its SID: bad usage, pointing at --account.
        for account in (STRANGER, ACCOUNT):
            with self.subTest(account):
                r = ctl("set", account, "--config", self.config, "--pre-webhook-url", "https://x.example/p")
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn("webhookctl: SID must be IS followed by 32 hex digits (an account's global webhooks: "
                              "set --account %s)\nusage: webhookctl set" % account, r.stderr)
        # Without --config nothing says which accounts webhookd serves: set
        # --account, apply and diff of an AC….yaml refuse.
        r = ctl("set", "--account", STRANGER, "--state-dir", self.state_dir, "--target", "flex")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("webhookctl: set --account needs --config", r.stderr)
        src = os.path.join(self.tmp, "gitops-no-config")
        os.makedirs(src, exist_ok=True)
        with open(os.path.join(src, STRANGER + ".yaml"), "w") as f:
            f.write("target: flex\n")
        for command in ("apply", "diff"):
            with self.subTest(command):
                r = ctl(command, src, "--state-dir", self.state_dir)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("%s: an account's global webhooks are applied only with --config" % (
                    os.path.join(src, STRANGER + ".yaml")), r.stderr)
                self.assertIn("nothing was changed", r.stderr)
        # The API: an account is whoever the credentials are, and only the config's authenticate.
        self.assertEqual(self.curl("--data-raw", "Target=flex", path=GLOBAL, auth=(STRANGER, TOKEN)).status, 401)
        self.assertEqual(self.account_files(), [])
        # The accounts of the config still get theirs, each way.
        self.assertEqual(ctl("set", "--account", ACCOUNT, "--config", self.config, "--target", "flex").returncode, 0)
        os.rename(os.path.join(src, STRANGER + ".yaml"), os.path.join(src, OTHER_ACCOUNT + ".yaml"))
        r = ctl("apply", src, "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.curl("--data-raw", "Method=GET", path=GLOBAL, auth=(OTHER_ACCOUNT, OTHER_TOKEN)).status, 200)
        self.assertEqual(self.account_files(), [ACCOUNT + ".yaml", OTHER_ACCOUNT + ".yaml"])

    def test_export_with_the_config_leaves_out_unlisted_accounts_and_apply_takes_it(self):
        """An account file webhookd never reads (put there by hand, or its
        account since removed from the config) must not reach git: the next
        apply --config would refuse the whole checkout, and the sync with it
        (review 19, finding 2). export --config leaves it out, names it, and
        the round trip export, apply goes through."""
        stray = os.path.join(self.state_dir, STRANGER + ".yaml")
        with open(stray, "w") as f:
            f.write("target: flex\n")
        self.assertEqual(self.curl("--data-raw", "Target=flex", path=GLOBAL).status, 200)
        dest = os.path.join(self.tmp, "export-round-trip")
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        with open(os.path.join(dest, STRANGER + ".yaml"), "w") as f:  # an earlier export's copy
            f.write("target: webhook\n")
        r = ctl("export", "--config", self.config, dest)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("webhookctl: left out %s.yaml: account %s is not in %s" % (STRANGER, STRANGER, self.config),
                      r.stderr)
        self.assertIn("wrote %s.yaml\n" % ACCOUNT, r.stdout)
        self.assertIn("removed %s.yaml\n" % STRANGER, r.stdout)
        self.assertEqual(sorted(os.listdir(dest)), sorted(n for n in os.listdir(self.state_dir)
                                                          if n.endswith(".yaml") and n != STRANGER + ".yaml"))
        self.assertTrue(os.path.exists(stray), "export writes nothing in the state directory")
        for argv in (("check", "--config", self.config, dest), ("apply", dest, "--config", self.config, "--force"),
                     ("apply", dest, "--config", self.config), ("diff", dest, "--config", self.config)):
            with self.subTest(argv[:2]):
                r = ctl(*argv)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_export_then_apply_round_trips_with_state_dir_and_with_config(self):
        """export, then apply of the same checkout with the same options,
        finds nothing to do. Without --config, apply refuses every AC….yaml
        (nothing says which accounts webhookd serves), so export without it
        leaves them all out, names each, and removes an earlier copy; before
        the fix19b review it wrote them, and the apply refused the checkout."""
        self.assertEqual(self.curl("--data-raw", "Target=flex", path=GLOBAL).status, 200)
        dest = os.path.join(self.tmp, "export-state-dir")
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        with open(os.path.join(dest, ACCOUNT + ".yaml"), "w") as f:  # an earlier export's copy (with --config)
            f.write("target: webhook\n")
        r = ctl("export", "--state-dir", self.state_dir, dest)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("webhookctl: left out %s.yaml: an account's global webhooks are exported only with --config"
                      % ACCOUNT, r.stderr)
        self.assertIn("removed %s.yaml\n" % ACCOUNT, r.stdout)
        self.assertIn("1 left out", r.stdout)
        self.assertEqual(sorted(os.listdir(dest)), sorted(n for n in os.listdir(self.state_dir)
                                                          if n.endswith(".yaml") and n.startswith("IS")))
        self.assertTrue(os.path.exists(os.path.join(self.state_dir, ACCOUNT + ".yaml")))
        for argv in (("diff", dest, "--state-dir", self.state_dir), ("apply", dest, "--state-dir", self.state_dir),
                     ("diff", dest, "--state-dir", self.state_dir)):
            with self.subTest(argv):
                r = ctl(*argv)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 to create, 0 to update, 0 to remove", r.stdout)
        # With --config, the same checkout gets the account file back, and the round trip holds.
        r = ctl("export", "--config", self.config, dest)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("wrote %s.yaml\n" % ACCOUNT, r.stdout)
        self.assertEqual(read(os.path.join(dest, ACCOUNT + ".yaml")),
                         read(os.path.join(self.state_dir, ACCOUNT + ".yaml")))
        for argv in (("diff", dest, "--config", self.config), ("apply", dest, "--config", self.config)):
            with self.subTest(argv):
                r = ctl(*argv)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 to create, 0 to update, 0 to remove", r.stdout)

    def test_show_effective(self):
        ctl("set", "--account", ACCOUNT, "--config", self.config, "--post-webhook-url",
            "https://hooks.example.com/global", "--filters", "onMessageAdded")
        own = json.loads(ctl("show", SID, "--config", self.config, "--effective", "--json").stdout)
        self.assertEqual(own, {"source": "service", "target": "webhook", "pre_webhook_url": "https://www.example.com/pre",
                               "post_webhook_url": "https://www.example.com/post", "method": "POST",
                               "filters": ["onMessageRemove", "onParticipantAdd"]})
        r = ctl("show", EMPTY_SID, "--config", self.config, "--effective", "--json")
        self.assertEqual(r.stdout, '{"source":"account","target":"webhook","pre_webhook_url":null,'
                                   '"post_webhook_url":"https://hooks.example.com/global","method":"POST",'
                                   '"filters":["onMessageAdded"]}\n')
        text = ctl("show", EMPTY_SID, "--config", self.config, "--effective").stdout
        self.assertIn("the account's global webhooks (%s): %s sets no URL of its own" % (ACCOUNT, EMPTY_SID), text)
        self.assertIn("\nsource: account\n", text)
        ctl("set", "--account", ACCOUNT, "--config", self.config, "--target", "flex")
        self.assertEqual(json.loads(ctl("show", EMPTY_SID, "--config", self.config, "--effective", "--json").stdout)
                         ["target"], "flex")
        ctl("set", "--account", ACCOUNT, "--config", self.config, "--post-webhook-url", "")
        self.assertEqual(json.loads(ctl("show", EMPTY_SID, "--config", self.config, "--effective", "--json").stdout)
                         ["source"], "none")

    def test_gitops_checks_plans_applies_and_exports_account_files(self):
        src = os.path.join(self.tmp, "gitops-global")
        os.makedirs(src, exist_ok=True)
        with open(os.path.join(src, ACCOUNT + ".yaml"), "w") as f:
            f.write("post_webhook_url: https://hooks.example.com/from-git\nfilters: [onUserAdded]\ntarget: flex\n")
        with open(os.path.join(src, SID + ".yaml"), "wb") as f:
            f.write(read(self.state_file()))
        with open(os.path.join(src, STRANGER + ".yaml"), "w") as f:
            f.write("target: flex\n")
        # check: the file of an account the config does not list is named.
        r = ctl("check", "--config", self.config, src)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.splitlines()[0], "%s: account %s is not in %s: webhookd serves only the accounts "
                         "of its config, so it would never read this file" % (
                             os.path.join(src, STRANGER + ".yaml"), STRANGER, self.config))
        self.assertEqual(ctl("check", src).returncode, 0)  # without the config, the file itself is valid
        r = ctl("apply", src, "--config", self.config)
        self.assertEqual(r.returncode, 1)
        self.assertIn("nothing was changed", r.stderr)
        os.remove(os.path.join(src, STRANGER + ".yaml"))
        self.assertEqual(ctl("check", "--config", self.config, src).returncode, 0)
        # plan: the account file is created field by field.
        d = ctl("diff", src, "--config", self.config)
        self.assertEqual(d.returncode, 2, d.stderr)
        self.assertIn("+ %s  create\n    post_webhook_url: https://hooks.example.com/from-git\n"
                      "    filters: [onUserAdded]\n    method: POST\n    target: flex\n" % ACCOUNT, d.stdout)
        r = ctl("apply", src, "--config", self.config, "--force")  # the service file was never applied: adopt it
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("created %s" % ACCOUNT, r.stdout)
        api = self.api()
        self.assertEqual((api["post_webhook_url"], api["filters"], api["target"]),
                         ("https://hooks.example.com/from-git", ["onUserAdded"], "flex"))
        self.assertEqual(ctl("diff", src, "--config", self.config).returncode, 0)
        # An API write is drift, as for a service; export brings it back to git.
        self.assertEqual(self.curl("--data-raw", "Target=webhook", path=GLOBAL).status, 200)
        r = ctl("apply", src, "--config", self.config)
        self.assertEqual(r.returncode, 1)
        self.assertIn("~ %s  update  (DRIFTED)" % ACCOUNT, r.stdout)
        r = ctl("export", "--config", self.config, src)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("wrote %s.yaml" % ACCOUNT, r.stdout)
        self.assertEqual(read(os.path.join(src, ACCOUNT + ".yaml")), read(os.path.join(self.state_dir, ACCOUNT + ".yaml")))
        self.assertIn(b"target: webhook\n", read(os.path.join(src, ACCOUNT + ".yaml")))
        r = ctl("apply", src, "--config", self.config)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 to create, 0 to update, 0 to remove", r.stdout)


class HashSecretTest(unittest.TestCase):
    def test_the_printed_entries_authenticate(self):
        other = "ACdddddddddddddddddddddddddddddddd"
        with tempfile.TemporaryDirectory() as tmp:
            state = os.path.join(tmp, "state")
            os.makedirs(state)
            for sid, account in ((SID, ACCOUNT), ("ISdddddddddddddddddddddddddddddddd", other)):
                with open(os.path.join(state, sid + ".yaml"), "w") as f:
                    f.write("account_sid: %s\n" % account)
            entry = ctl("hash-secret", "--account", ACCOUNT, input="token123\n")
            self.assertEqual(entry.returncode, 0, entry.stderr)
            self.assertEqual(entry.stdout, "  - sid: %s\n    auth_token_sha256: %s\n" % (ACCOUNT, sha("token123")))
            generated = ctl("hash-secret", "--account", other, "--generate", input="")
            self.assertEqual(generated.returncode, 0, generated.stderr)
            secret = generated.stderr.split("store it now): ")[1].strip()
            self.assertRegex(secret, r"^[0-9a-f]{32}$")
            self.assertNotIn(secret, generated.stdout)  # `>> webhookd.yaml` never stores the secret
            config = os.path.join(tmp, "webhookd.yaml")
            with open(config, "w") as f:
                f.write("state_dir: %s\naccounts:\n" % state + entry.stdout + generated.stdout)
            self.assertEqual(ctl("hash-secret", input="").returncode, 1)  # nothing on stdin
            self.assertEqual(ctl("hash-secret", "token-on-argv").returncode, 2)
            os.chmod(tmp, 0o755)  # nginx's workers (www-data under root) must reach the socket below
            os.makedirs(os.path.join(tmp, "stack"))
            stack = Stack(config, tmp=os.path.join(tmp, "stack")).start()
            try:
                def status(user, token, sid):
                    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u",
                                        "%s:%s" % (user, token), stack.base_url + resource_path(sid)],
                                       capture_output=True, text=True)
                    return r.stdout
                self.assertEqual(status(ACCOUNT, "token123", SID), "200")
                self.assertEqual(status(ACCOUNT, "wrong", SID), "401")
                self.assertEqual(status(other, secret, "ISdddddddddddddddddddddddddddddddd"), "200")
            finally:
                stack.stop()


class SyncScriptTest(StackCase):
    """systemd/webhookd-sync, as the sync unit runs it, against a bare repository."""

    def git(self, *args, cwd=None):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com"] + list(args),
                              cwd=cwd, check=True, capture_output=True, text=True)

    def sync(self):
        env = dict(os.environ, WEBHOOKD_SYNC_REPO=self.bare, WEBHOOKD_SYNC_BRANCH="main",
                   WEBHOOKD_SYNC_PATH="services", WEBHOOKD_SYNC_CHECKOUT=os.path.join(self.tmp, "sync-checkout"),
                   WEBHOOKD_CONFIG=self.config, WEBHOOKCTL=WEBHOOKCTL)
        return subprocess.run([os.path.join(REPO, "systemd", "webhookd-sync")], env=env, capture_output=True,
                              text=True, timeout=120)

    def test_a_push_reaches_the_api_after_a_sync(self):
        self.bare = os.path.join(self.tmp, "gitops.git")
        work = os.path.join(self.tmp, "gitops-work")
        self.git("init", "--quiet", "--bare", "--initial-branch=main", self.bare)
        self.git("clone", "--quiet", self.bare, work)
        services = os.path.join(work, "services")
        os.makedirs(services)
        # The repository starts as an export of the live state (README: "Managing
        # state with git"), so the first sync adopts every service without --force.
        self.assertEqual(ctl("export", "--config", self.config, services).returncode, 0)
        self.git("add", "-A", cwd=work)
        self.git("commit", "--quiet", "-m", "export", cwd=work)
        self.git("push", "--quiet", "origin", "main", cwd=work)
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Plan: 0 to create, 0 to update, 0 to remove", r.stdout)

        path = os.path.join(services, SID + ".yaml")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("method: POST", "method: GET"))
        self.git("commit", "--quiet", "-am", "GET for the demo service", cwd=work)
        self.git("push", "--quiet", "origin", "main", cwd=work)
        self.assertEqual(json.loads(self.curl().body)["method"], "POST")  # not before the sync
        r = self.sync()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("webhookd-sync: applying main at", r.stdout)
        self.assertEqual(json.loads(self.curl().body)["method"], "GET")
        self.assertFalse(os.path.exists(os.path.join(self.state_dir, ".git")), "the live dir is never a checkout")


if __name__ == "__main__":
    unittest.main()
