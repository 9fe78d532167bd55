"""webhookctl run as root on a state directory that another user owns (issue
17, item 2): every command that works there acts as the owner, so every file
it leaves (state, lock, temp, the apply record and its lock) is the owner's,
and webhookd running as that user goes on answering 200 to POSTs; what it
needs from elsewhere (a root-only config, source checkout and token file) is
read before it drops. export writes nothing there and stays root (its DEST
may be root's). When it cannot become the owner it refuses, naming the
directory, the owner and why, and touches nothing. Root, as CI runs; the
owner is `nobody`, and webhookd runs as nobody under setpriv."""
import grp
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

from e2e.support import ACCOUNT, SID, WEBHOOKCTL, WEBHOOKD, fcgi_params, write_config
from harness import fcgi_client
from harness.stack import Webhookd, free_port

OWNER = pwd.getpwnam("nobody")
OWNER_GROUP = grp.getgrgid(OWNER.pw_gid)
NEW, GIT1, GIT2 = ("IS%032x" % (0xd0000000 + i) for i in range(3))


def ctl(*args, wrap=()):
    return subprocess.run(list(wrap) + [WEBHOOKCTL] + list(args), capture_output=True, text=True, timeout=60)


def state_text(method="POST", post="null"):
    return "account_sid: %s\npost_webhook_url: %s\nmethod: %s\n" % (ACCOUNT, post, method)


@unittest.skipUnless(os.geteuid() == 0, "running webhookctl as root needs root (CI runs as root)")
class RunAsRootTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="webhookd-root-")
        os.chmod(self.tmp, 0o755)  # nobody must reach the state directory and the socket
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state, 0o750)
        os.chown(self.state, OWNER.pw_uid, OWNER.pw_gid)
        # A service as the README's step 4 makes one: the owner's file.
        path = os.path.join(self.state, SID + ".yaml")
        with open(path, "w") as f:
            f.write(state_text())
        os.chown(path, OWNER.pw_uid, OWNER.pw_gid)
        # What only root may read: the config (as /etc/webhookd/webhookd.yaml is
        # to anyone outside webhookd's group), a GitOps checkout, a token.
        self.private = os.path.join(self.tmp, "root-only")
        os.mkdir(self.private, 0o700)
        self.config = write_config(self.private, self.state)
        os.chmod(self.config, 0o600)
        self.src = os.path.join(self.private, "src")
        os.mkdir(self.src)
        self.token_file = os.path.join(self.private, "token")
        with open(self.token_file, "w") as f:
            f.write("token123\n")
        os.chmod(self.token_file, 0o600)
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def listing(self):
        """name -> (uid, gid) of everything in the state directory."""
        return {e.name: (e.stat().st_uid, e.stat().st_gid) for e in os.scandir(self.state)}

    def assert_all_the_owners(self):
        foreign = {n: ids for n, ids in self.listing().items() if ids != (OWNER.pw_uid, OWNER.pw_gid)}
        self.assertEqual(foreign, {}, "files in the state directory not owned by nobody:%s" % OWNER_GROUP.gr_name)

    def ok(self, *args):
        r = ctl(*args)
        self.assertEqual(r.returncode, 0, "webhookctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def write_src(self, services):
        for name in os.listdir(self.src):
            os.remove(os.path.join(self.src, name))
        for sid, text in services.items():
            with open(os.path.join(self.src, sid + ".yaml"), "w") as f:
                f.write(text)

    def start_webhookd_as_owner(self):
        run = os.path.join(self.tmp, "run")
        os.mkdir(run)
        os.chown(run, OWNER.pw_uid, OWNER.pw_gid)
        config = write_config(run, self.state)  # webhookd's own copy, readable by nobody
        os.chmod(config, 0o644)
        as_owner = ["setpriv", "--reuid=%d" % OWNER.pw_uid, "--regid=%d" % OWNER.pw_gid, "--clear-groups", "--"]
        self.daemon = Webhookd(WEBHOOKD, config, os.path.join(run, "w.sock"), 2,
                               log_path=os.path.join(self.tmp, "webhookd.log"), wrap=as_owner).start()
        return self.daemon

    def request(self, method, sid, body=b"", path=None):
        conn = fcgi_client.Connection(self.daemon.socket_path)
        try:
            status, _, answer = fcgi_client.parse(conn.request(fcgi_params(method, body, sid, path), body))
        finally:
            conn.close()
        return status, answer

    def test_every_file_it_leaves_is_the_owners_and_webhookd_writes_on(self):
        self.ok("create-service", "--account", ACCOUNT, "--sid", NEW, "--config", self.config)
        self.ok("set", NEW, "--method", "get", "--config", self.config)
        self.ok("set", SID, "--filters", "onMessageAdded", "--config", self.config)
        # apply from a checkout only root can read: a create each, then an
        # update and (--prune) a remove, with the record and its lock.
        self.write_src({GIT1: state_text(), GIT2: state_text()})
        self.ok("apply", self.src, "--config", self.config)
        self.write_src({GIT1: state_text("GET"), NEW: state_text("GET"), SID: state_text()})
        r = ctl("diff", self.src, "--config", self.config)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.ok("apply", self.src, "--config", self.config, "--prune", "--force")
        self.assertNotIn(GIT2 + ".yaml", self.listing())
        self.ok("show", GIT1, "--config", self.config)
        # The account's global webhooks: its first write creates its file and lock.
        self.ok("set", "--account", ACCOUNT, "--target", "flex", "--config", self.config)
        self.ok("show", "--account", ACCOUNT, "--config", self.config)
        # fire with a token file only root can read: read before the drop.
        # The endpoint is a closed port: "no answer" comes only after the
        # token matched the digest.
        self.ok("set", NEW, "--post-webhook-url", "http://127.0.0.1:%d/hook" % free_port(), "--filters",
                "onMessageAdded", "--config", self.config)
        r = ctl("fire", NEW, "--event", "onMessageAdded", "--config", self.config, "--token-file", self.token_file)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("no answer from", r.stderr)
        # export writes into root's checkout and nothing into the state dir.
        before = self.listing()
        dest = os.path.join(self.private, "export")
        os.mkdir(dest)
        self.ok("export", "--config", self.config, dest)
        self.assertEqual(self.listing(), before)
        self.assertEqual(sorted(os.listdir(dest)), sorted(s + ".yaml" for s in (SID, NEW, GIT1, ACCOUNT)))
        self.assertEqual({os.stat(os.path.join(dest, n)).st_uid for n in os.listdir(dest)}, {0})

        # webhookd as the owner: every service webhookctl touched takes a
        # POST (root's lock files answered 500 here).
        self.start_webhookd_as_owner()
        for sid in (SID, NEW, GIT1):
            status, answer = self.request("POST", sid, b"Method=POST&PreWebhookUrl=https://hooks.example.com/x")
            self.assertEqual(status, 200, (sid, answer, self.daemon.log()[-2000:]))
        self.assertEqual(self.request("GET", GIT2)[0], 404)
        status, answer = self.request("POST", None, b"Target=webhook", path="/v1/Configuration/Webhooks")
        self.assertEqual(status, 200, (answer, self.daemon.log()[-2000:]))
        for name in (".webhookd-applied", ".webhookd-apply.lock", "." + NEW + ".lock", NEW + ".yaml",
                     "." + ACCOUNT + ".lock", ACCOUNT + ".yaml"):
            self.assertIn(name, before)
        self.assert_all_the_owners()

    def test_verbose_says_who_it_acts_as(self):
        r = self.ok("set", SID, "--method", "get", "--state-dir", self.state, "--verbose")
        self.assertEqual(r.stderr, "webhookctl: %s belongs to nobody (uid %d, gid %d): acting as that user\n" % (
            self.state, OWNER.pw_uid, OWNER.pw_gid))
        dest = os.path.join(self.private, "export")
        os.mkdir(dest)
        r = self.ok("export", "--state-dir", self.state, dest, "--verbose")
        self.assertIn("acting as root (uid 0, gid 0), who runs it: it writes nothing in %s" % self.state, r.stderr)
        self.assertEqual(ctl("set", SID, "--method", "get", "--state-dir", self.state).stderr, "")  # quiet without it

    def plant_links(self, directory, uid, gid):
        """What the directory's owner (or a group member) can do without root:
        name links like state files, to files only root may read (a valid
        state file, which export would copy into DEST and apply would serve;
        one with a secret key, which check would quote) and to a device."""
        secret_state = os.path.join(self.private, "secret-state.yaml")
        with open(secret_state, "w") as f:
            f.write(state_text(post="https://secret.example.com/hook"))
        secret_key = os.path.join(self.private, "secret.yaml")
        with open(secret_key, "w") as f:
            f.write("account_sid: %s\ndb_password: hunter2\n" % ACCOUNT)
        for path in (secret_state, secret_key):
            os.chmod(path, 0o600)
        links = []
        for sid, target in (("IS" + "ab" * 16, secret_state), ("IS" + "cd" * 16, secret_key),
                            ("IS" + "ef" * 16, "/dev/zero")):
            link = os.path.join(directory, sid + ".yaml")
            os.symlink(target, link)
            os.lchown(link, uid, gid)
            links.append(link)
        return links

    def assert_refused_unread(self, r, links, every=True):
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        for secret in ("secret.example.com", "db_password", "hunter2", "character device"):
            self.assertNotIn(secret, out)
        named = [l for l in links if "%s: a symbolic link, refused: " % l in r.stderr]
        if every:
            self.assertEqual(named, links, out)
        else:  # it stops at the first
            self.assertEqual(len(named), 1, out)

    def test_root_follows_no_link_the_owner_planted(self):
        # A link nobody planted in nobody's state directory: export and check
        # stay root, and must neither read through it nor say what it leads to.
        links = self.plant_links(self.state, OWNER.pw_uid, OWNER.pw_gid)
        dest = os.path.join(self.private, "export")
        os.mkdir(dest)
        for argv in (["export", "--config", self.config, dest], ["export", "--state-dir", self.state, dest]):
            with self.subTest(argv):
                r = ctl(*argv)
                self.assert_refused_unread(r, links, every=False)  # export stops at the first
                self.assertIn("nobody (uid %d, gid %d) owns %s" % (OWNER.pw_uid, OWNER.pw_gid, self.state), r.stderr)
                self.assertEqual(os.listdir(dest), [])
        for argv in (["check", self.state], ["check", "--config", self.config]):
            with self.subTest(argv):
                self.assert_refused_unread(ctl(*argv), links)
        for link in links:
            with self.subTest(link):
                self.assert_refused_unread(ctl("check", link), [link])
        # The commands that act as nobody read it as nobody: no further than nobody may.
        for argv in (["show", os.path.basename(links[0])[:34], "--config", self.config],
                     ["diff", self.src, "--config", self.config]):
            with self.subTest(argv):
                r = ctl(*argv)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertNotIn("secret.example.com", r.stdout + r.stderr)
        # A source checkout another user owns is read by root the same way.
        checkout = os.path.join(self.tmp, "checkout")
        os.mkdir(checkout)
        os.chown(checkout, OWNER.pw_uid, OWNER.pw_gid)
        src_links = self.plant_links(checkout, OWNER.pw_uid, OWNER.pw_gid)
        for command in ("diff", "apply"):
            with self.subTest(command):
                self.assert_refused_unread(ctl(command, checkout, "--state-dir", self.src), src_links)
        self.assertEqual(os.listdir(self.src), [])

    def test_root_follows_no_link_in_its_own_directory_that_others_may_write(self):
        # root:nogroup 2770: show, diff and check act as root there (there is
        # no other owner to become), and a group member may plant a link.
        shared = os.path.join(self.tmp, "shared")
        os.mkdir(shared)
        os.chown(shared, 0, OWNER_GROUP.gr_gid)
        os.chmod(shared, 0o2770)
        links = self.plant_links(shared, OWNER.pw_uid, OWNER_GROUP.gr_gid)
        self.assert_refused_unread(ctl("show", os.path.basename(links[0])[:34], "--state-dir", shared), links[:1])
        self.assert_refused_unread(ctl("check", shared), links)
        dest = os.path.join(self.private, "export")
        os.mkdir(dest)
        r = ctl("export", "--state-dir", shared, dest)
        self.assert_refused_unread(r, links, every=False)
        self.assertIn("group %s may write %s" % (OWNER_GROUP.gr_name, shared), r.stderr)
        self.assertEqual(os.listdir(dest), [])

    def test_it_refuses_when_it_cannot_become_the_owner(self):
        # Root without CAP_SETUID/CAP_SETGID (a container, a confined shell):
        # the drop fails, and nothing may be written as root instead.
        before = self.listing()
        no_setuid = ["setpriv", "--bounding-set=-setuid,-setgid", "--inh-caps=-setuid,-setgid", "--"]
        for argv in (["set", SID, "--method", "get", "--state-dir", self.state],
                     ["create-service", "--account", ACCOUNT, "--state-dir", self.state],
                     ["apply", self.src, "--state-dir", self.state]):
            with self.subTest(argv[0]):
                r = ctl(*argv, wrap=no_setuid)
                self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                self.assertIn("cannot act as nobody (uid %d, gid %d), the owner of the state dir %s: setgroups: "
                              "Operation not permitted" % (OWNER.pw_uid, OWNER.pw_gid, self.state), r.stderr)
                self.assertEqual(self.listing(), before)

    def test_a_root_directory_others_may_write_is_refused(self):
        # root:nogroup 2770: files root left there would lock the group's
        # webhookd out, exactly as before.
        shared = os.path.join(self.tmp, "shared")
        os.mkdir(shared)
        os.chown(shared, 0, OWNER_GROUP.gr_gid)
        os.chmod(shared, 0o2770)
        r = ctl("create-service", "--account", ACCOUNT, "--state-dir", shared)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("refusing to write as root in the state dir %s: it belongs to root but group %s may write "
                      "there too" % (shared, OWNER_GROUP.gr_name), r.stderr)
        self.assertEqual(os.listdir(shared), [])
        self.assertEqual(ctl("show", SID, "--state-dir", shared).stderr.strip(), "webhookctl: no service " + SID)


if __name__ == "__main__":
    unittest.main()
