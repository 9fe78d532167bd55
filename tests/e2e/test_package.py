"""The Debian package, as `make deb` builds it (tests/harness/deb.py).

- The version has one source, the top entry of conf/debian/changelog: the
  Makefile, the programs' --version and the package all read it there.
- The .deb: bookworm's lintian reports no error and no warning; what it
  holds and where; its conffiles.
- Its life on a booted Debian 12 (systemd-nspawn, private network): the
  README's package steps word for word (apt pulls the dependencies from the
  root's apt cache, offline), the API through nginx, `man webhookctl`; an
  upgrade to a rebuild with a higher version under a stream of GETs and
  POSTs (no request fails, the admin's config and the state stay, the new
  binary serves, the socket is never closed); `apt remove` (stopped, config
  and state kept); `apt purge` (config and the site's link gone, state kept
  and said so); a purge with no state left removes the state directory.
The container is stopped and removed whatever happens."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from e2e.support import BUILD, WEBHOOKCTL, WEBHOOKD, readme_steps
from harness import deb
from harness.container import Container, root_tarball
from harness.stack import REPO

CHANGELOG = os.path.join(REPO, "conf", "debian", "changelog")


def changelog_version(path=CHANGELOG):
    """(package version, upstream version) as dpkg reads the top entry."""
    full = subprocess.run(["dpkg-parsechangelog", "-l", path, "-S", "Version"], capture_output=True, text=True,
                          check=True).stdout.strip()
    return full, full.rsplit("-", 1)[0]


class VersionTest(unittest.TestCase):
    def test_make_reads_the_version_dpkg_reads(self):
        r = subprocess.run(["make", "-s", "--no-print-directory", "-C", REPO, "version"], capture_output=True,
                           text=True, check=True)
        self.assertEqual(r.stdout.split(), list(changelog_version()))

    def test_make_works_beside_the_debian_roots_make_deb_unpacks(self):
        # A root unpacked under build/deb/ has directories named *.d (/etc/rc2.d):
        # the Makefile's search for dependency files must not include them.
        probe = os.path.join(REPO, "build", "deb", "work-probe")
        os.makedirs(os.path.join(probe, "root", "etc", "rc2.d"))
        try:
            r = subprocess.run(["make", "-s", "--no-print-directory", "-C", REPO, "version"], capture_output=True,
                               text=True)
            self.assertEqual((r.returncode, r.stderr), (0, ""))
        finally:
            shutil.rmtree(probe)

    def test_the_programs_print_the_changelogs_version(self):
        _, upstream = changelog_version()
        for program, name in ((WEBHOOKD, "webhookd"), (WEBHOOKCTL, "webhookctl")):
            r = subprocess.run([program, "--version"], capture_output=True, text=True)
            self.assertEqual(r.stdout, "%s %s\n" % (name, upstream), "%s was built from another version" % program)

    def test_no_version_number_is_written_in_the_sources(self):
        # A number in a header would be a second truth that the changelog cannot move.
        found = []
        for root, _, files in os.walk(os.path.join(REPO, "src")):
            for name in files:
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    for n, line in enumerate(f, 1):
                        if re.search(r'"\d+\.\d+\.\d+', line):
                            found.append("%s:%d: %s" % (os.path.relpath(os.path.join(root, name), REPO), n, line))
        self.assertEqual(found, [])

    def test_the_docs_name_the_package_of_the_changelogs_version(self):
        # The README's steps and conf/debian/README.md name the release's
        # file; the container test swaps the name for the one it built, so
        # only this catches a release that forgot them.
        full, _ = changelog_version()
        named = []
        for doc in ("README.md", os.path.join("conf", "debian", "README.md")):
            with open(os.path.join(REPO, doc), encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    named += [(doc, n, v) for v in re.findall(r"webhookd_(\d[^_\s`]*)_[a-z0-9]+\.deb", line)]
        self.assertTrue(named, "the README names no webhookd_X-Y_amd64.deb any more: drop this test then")
        self.assertEqual([x for x in named if x[2] != full], [], "the changelog's top entry is %s" % full)

    def test_a_new_changelog_entry_is_the_new_version(self):
        # What a release does: a new top entry. The header the programs are
        # compiled with follows it (the whole rebuild is the upgrade test's).
        with tempfile.TemporaryDirectory() as tmp:
            changelog = os.path.join(tmp, "changelog")
            with open(CHANGELOG) as f:
                old = f.read()
            with open(changelog, "w") as f:
                f.write("webhookd (9.8.7-3) bookworm; urgency=medium\n\n  * A test.\n\n"
                        " -- T <t@example.org>  Tue, 01 Dec 2026 15:00:00 +0000\n\n" + old)
            header = os.path.join(tmp, "gen", "base", "version_number.h")
            subprocess.run(["make", "-s", "-C", REPO, "BUILD=" + tmp, "CHANGELOG=" + changelog, header], check=True)
            with open(header) as f:
                self.assertIn('#define WEBHOOKD_VERSION "9.8.7"\n', f.read())


def needs_root(cls):
    return unittest.skipUnless(os.geteuid() == 0, "needs root: Debian roots, namespaces, mounts (CI runs as root)")(cls)


POSTRM = os.path.join(REPO, "conf", "debian", "webhookd.postrm")
# The files webhookd itself leaves in its state directory (no state).
OWN_FILES = (".ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.lock", ".ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.tmp.AbC123",
             ".webhookd-applied", ".webhookd-apply.lock")


def _files(directory, names):
    return 'mkdir -p "$R/%s" && (cd "$R/%s" && touch %s)' % (directory, directory, " ".join(names))


def _mounted(directory):
    return 'mkdir -p "$R/%s" && mount -t tmpfs webhookd-test "$R/%s"' % (directory, directory)


STATE_FILE = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml"
# (case, what the admin's machine holds beside the skeleton, what purge must
# say, what must be left besides the skeleton). $R is the temporary root;
# dpkg has already removed the conffiles when postrm runs. Links are relative:
# the temporary root is no chroot.
PURGE_CASES = [
    ("only webhookd's own files: the state directory goes",
     _files("var/lib/webhookd", OWN_FILES),
     "removed $R/var/lib/webhookd (no state in it)", []),
    ("state: kept, counted",
     _files("var/lib/webhookd", OWN_FILES + (STATE_FILE,)),
     "kept $R/var/lib/webhookd: 1 file(s) of state", ["var/lib/webhookd"]),
    ("a link to the state: kept, nothing deleted through it",
     _files("srv/gluster", OWN_FILES + (STATE_FILE,)) + ' && ln -s ../../srv/gluster "$R/var/lib/webhookd"',
     "kept $R/var/lib/webhookd: a symbolic link (to ../../srv/gluster)", ["var/lib/webhookd", "srv/gluster"]),
    ("a link to a directory of lock files only: kept, nothing deleted through it",
     _files("srv/gluster", OWN_FILES) + ' && ln -s ../../srv/gluster "$R/var/lib/webhookd"',
     "kept $R/var/lib/webhookd: a symbolic link (to ../../srv/gluster)", ["var/lib/webhookd", "srv/gluster"]),
    ("a mountpoint holding lock files only (the fleet's volume): kept, its lock files too",
     _mounted("var/lib/webhookd") + " && " + _files("var/lib/webhookd", OWN_FILES),
     "kept $R/var/lib/webhookd: a mountpoint; nothing removed on it", ["var/lib/webhookd"]),
    ("a mountpoint holding state: kept whole",
     _mounted("var/lib/webhookd") + " && " + _files("var/lib/webhookd", OWN_FILES + (STATE_FILE,)),
     "kept $R/var/lib/webhookd: a mountpoint; nothing removed on it", ["var/lib/webhookd"]),
    ("the sync's checkout goes",
     _files("var/lib/webhookd-sync/checkout/.git", ("HEAD",)), None, []),
    ("the sync's checkout as a link: kept, nothing deleted through it",
     _files("srv/sync", ("HEAD",)) + ' && ln -s ../../srv/sync "$R/var/lib/webhookd-sync"',
     "kept $R/var/lib/webhookd-sync: a symbolic link (to ../../srv/sync)", ["var/lib/webhookd-sync", "srv/sync"]),
    ("the sync's checkout on a mountpoint: kept",
     _mounted("var/lib/webhookd-sync") + " && " + _files("var/lib/webhookd-sync", ("HEAD",)),
     "kept $R/var/lib/webhookd-sync: a mountpoint; nothing removed on it", ["var/lib/webhookd-sync"]),
    ("sync.env goes, and /etc/webhookd with it",
     _files("etc/webhookd", ("sync.env",)), None, []),
    ("an admin's file in /etc/webhookd: kept, and purge says so",
     _files("etc/webhookd", ("sync.env", "notes")),
     "kept $R/etc/webhookd: it holds files the package did not put there", ["etc/webhookd/notes"]),
    ("the site's link goes",
     'ln -s /etc/nginx/sites-available/webhookd "$R/etc/nginx/sites-enabled/webhookd"',
     "removed $R/etc/nginx/sites-enabled/webhookd (its site was purged); reload nginx", []),
    ("a link of that name to another site stays",
     'ln -s /etc/nginx/sites-available/other "$R/etc/nginx/sites-enabled/webhookd"',
     None, ["etc/nginx/sites-enabled/webhookd"]),
]
SKELETON = ["etc", "etc/nginx", "etc/nginx/sites-enabled", "var", "var/lib"]


@needs_root
class PurgeScriptTest(unittest.TestCase):
    """conf/debian/webhookd.postrm's purge, run on a temporary root
    ($DPKG_ROOT) in a private mount namespace (its tmpfs mounts vanish with
    it): what it removes, keeps and says, and that it never fails the purge.
    The container test runs the packaged script on a real system."""

    def purge(self, setup):
        root = tempfile.mkdtemp(prefix="webhookd-postrm-")
        self.addCleanup(shutil.rmtree, root)
        script = ('set -e; R=%s; cd /; mkdir -p "$R/etc/nginx/sites-enabled" "$R/var/lib"; %s\n'
                  'set +e; DPKG_ROOT="$R" sh %s purge; echo "postrm exited $?"; echo ---; '
                  'cd "$R" && find . -mindepth 1 | cut -c3- | sort' % (root, setup, POSTRM))
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, text=True, timeout=60)
        self.assertIn("---", r.stdout, r.stderr)
        said, listing = r.stdout.split("---\n")
        return root, said, listing.split()

    def test_purge_cases(self):
        for case, setup, message, kept in PURGE_CASES:
            with self.subTest(case):
                root, said, left = self.purge(setup)
                self.assertIn("postrm exited 0\n", said, "the purge must never fail")
                if message:
                    self.assertIn("webhookd: " + message.replace("$R", root), said)
                # Whatever is kept is kept whole: every file under it stays.
                expected = list(SKELETON)
                for path in kept:
                    parts = path.split("/")
                    expected += ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
                    expected += [l for l in self.whole(setup, path)]
                self.assertEqual(left, sorted(set(expected)), said)

    @staticmethod
    def whole(setup, path):
        """The files the setup made under `path` (followed when it names a link's target)."""
        made = []
        for directory, names in re.findall(r'mkdir -p "\$R/([^"]+)" && \(cd "\$R/[^"]+" && touch ([^)]*)\)', setup):
            if directory == path or directory.startswith(path + "/"):
                parts = directory.split("/")
                made += ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
                made += [directory + "/" + n for n in names.split()]
        return made


ACCOUNT, TOKEN = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "token-5be1d0"
SID = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
OTHER_SID = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
PATH = "/v1/Services/%s/Configuration/Webhooks" % SID
# What the root holds besides Debian's minimal set: systemd, nginx, man-db
# (`man webhookctl` after install), curl and python3 for the checks. The
# package's own dependencies are not installed: they wait in apt's cache.
PACKAGES = ["systemd", "systemd-sysv", "dbus", "nginx", "man-db", "curl", "python3"]
# Two rebuilds with higher versions, each changing every kind of shipped
# conffile as a release might (a comment line in the config's template, the
# site and a snippet): the admin edits the config and the site, not the
# snippet. The first is installed the unattended way the README gives, the
# second with the README's plain install command (no terminal).
UPGRADE_SUFFIX, PLAIN_SUFFIX = "+upgradetest", "+upgradetest2"
CONFFILE_SOURCES = {"conf/webhookd.default.yaml": "/etc/webhookd/webhookd.yaml",
                    "conf/webhookd.site": "/etc/nginx/sites-available/webhookd",
                    "conf/webhookd.locations.conf": "/etc/nginx/snippets/webhookd.locations.conf"}


def release_line(suffix):
    return "# webhookd %s: a line this release adds.\n" % suffix


_built = {}


def packages():
    """(the package of the checkout, the two rebuilds with higher versions
    and changed conffiles), built once per run (and not at all when up to date)."""
    if not _built:
        full, upstream = changelog_version()
        _built["current"] = deb.build()
        for suffix, out in ((UPGRADE_SUFFIX, "upgrade-test"), (PLAIN_SUFFIX, "upgrade-test-2")):
            entry = ("webhookd (%s%s-1) bookworm; urgency=medium\n\n  * The same sources, rebuilt to test an upgrade,"
                     " with a line added to shipped conffiles.\n\n"
                     " -- webhookd tests <tests@example.org>  Tue, 01 Dec 2026 16:00:00 +0000\n" % (upstream, suffix))
            _built[suffix] = deb.build(os.path.join(deb.OUT, out), entry,
                                       {source: release_line(suffix) for source in CONFFILE_SOURCES})
    return _built["current"], _built[UPGRADE_SUFFIX], _built[PLAIN_SUFFIX]


def deb_field(path, field):
    return subprocess.run(["dpkg-deb", "-f", path, field], capture_output=True, text=True, check=True).stdout.strip()


@needs_root
class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deb = packages()[0]
        listing = subprocess.run(["dpkg-deb", "-c", cls.deb], capture_output=True, text=True, check=True).stdout
        cls.files = {l.split()[-1][1:]: l.split()[0] for l in listing.splitlines() if not l.startswith("d")}

    def test_lintian_reports_no_error_and_no_warning(self):
        r = subprocess.run(["lintian", "--fail-on", "error,warning", "--tag-display-limit", "0", self.deb],
                           capture_output=True, text=True, timeout=600)
        problems = [l for l in r.stdout.splitlines() if re.match(r"[EW]: ", l)]
        self.assertEqual((problems, r.returncode), ([], 0), r.stdout + r.stderr)

    def test_the_package_is_the_changelogs_version(self):
        full, _ = changelog_version()
        self.assertEqual(deb_field(self.deb, "Version"), full)
        self.assertEqual(os.path.basename(self.deb), "webhookd_%s_%s.deb" % (full, deb_field(self.deb, "Architecture")))

    def test_it_installs_the_debian_way(self):
        expected = [
            "/usr/bin/webhookd", "/usr/bin/webhookctl", "/usr/libexec/webhookd/webhookd-sync",
            "/lib/systemd/system/webhookd.socket", "/lib/systemd/system/webhookd.service",
            "/lib/systemd/system/webhookd-sync.service", "/lib/systemd/system/webhookd-sync.timer",
            "/usr/lib/sysusers.d/webhookd.conf", "/usr/lib/tmpfiles.d/webhookd.conf",
            "/etc/webhookd/webhookd.yaml", "/etc/nginx/snippets/webhookd.locations.conf",
            "/etc/nginx/snippets/webhookd.errors.conf", "/etc/nginx/sites-available/webhookd",
            "/usr/share/man/man8/webhookd.8.gz", "/usr/share/man/man1/webhookctl.1.gz",
            "/usr/share/man/man5/webhookd.yaml.5.gz", "/usr/share/doc/webhookd/README.md",
            "/usr/share/doc/webhookd/copyright", "/usr/share/doc/webhookd/changelog.Debian.gz",
            "/usr/share/webhookd/webhookd.rules.yml",
        ]
        for path in expected:
            self.assertIn(path, self.files)
        self.assertEqual([p for p in self.files if "/usr/local" in p], [])
        # Prometheus reads the rules: never from /usr/share/doc, which may be
        # absent (Debian policy 12.3) and whose files dh_compress may gzip.
        self.assertEqual([p for p in self.files if p.startswith("/usr/share/doc/") and "rules" in p], [])
        self.assertFalse([p for p in self.files if p.startswith("/etc/nginx/sites-enabled")], "the site is not enabled")
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["dpkg-deb", "-R", self.deb, tmp], check=True)
            with open(os.path.join(tmp, "DEBIAN", "conffiles")) as f:
                conffiles = f.read().split()
            self.assertEqual(sorted(conffiles), sorted(p for p in expected if p.startswith("/etc/")))
            # Every path a unit or the sync script uses is the installed one.
            for rel in ("lib/systemd/system/webhookd.service", "lib/systemd/system/webhookd.socket",
                        "lib/systemd/system/webhookd-sync.service", "usr/libexec/webhookd/webhookd-sync"):
                with open(os.path.join(tmp, rel)) as f:
                    used = [l for l in f if not l.lstrip().startswith("#") and "/usr/local" in l]
                self.assertEqual(used, [], rel)
            with open(os.path.join(tmp, "lib/systemd/system/webhookd.service")) as f:
                self.assertIn("ExecStart=/usr/bin/webhookd --config /etc/webhookd/webhookd.yaml", f.read())


@needs_root
class LifecycleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.deb, cls.upgrade_deb, cls.plain_deb = packages()
        cls.box = Container("package")
        cls.addClassCleanup(cls.box.destroy)
        cls.box.unpack(package_root(cls.deb))
        os.makedirs(os.path.join(cls.box.root, "srv", "debs"))
        for path in (cls.deb, cls.upgrade_deb, cls.plain_deb):
            subprocess.run(["cp", path, os.path.join(cls.box.root, "srv", "debs")], check=True)
        cls.box.boot()
        cls.box.write("/root/token", TOKEN + "\n")
        cls.box.run("chmod 0600 /root/token")

    def run_in_debs(self, command, timeout=300, check=True):
        return self.box.run("cd /srv/debs && " + command, timeout=timeout, check=check)

    def read(self, path):
        return self.box.run("cat " + path).stdout

    def exists(self, path):
        return self.box.run("test -e %s -o -L %s && echo yes || echo no" % (path, path)).stdout.strip() == "yes"

    def running_version(self, pid):
        # The binary a process runs, even once the package replaced the file.
        return self.box.run("/proc/%s/exe --version" % pid).stdout

    def curl(self, *args, path=PATH):
        r = self.box.run("curl -s -o /dev/null -w '%%{http_code}' -u %s:%s %s http://127.0.0.1%s" % (
            ACCOUNT, TOKEN, " ".join(args), path), check=False)
        return r.stdout.strip()

    def wait_for_200(self):
        # `systemctl reload nginx` returns before the new config serves (see the deploy test).
        deadline = time.monotonic() + 30
        while self.curl() != "200" and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.curl(), "200")

    def unit(self, name, prop):
        return self.box.run("systemctl show -p %s --value %s" % (prop, name)).stdout.strip()

    def test_1_the_readme_steps_install_it_and_the_api_answers_through_nginx(self):
        missing = self.box.run("dpkg-query -W -f='${Status}' libfcgi0ldbl libyaml-cpp0.7 2>&1", check=False).stdout
        self.assertNotIn("ok installed", missing, "the dependencies must not be installed before")
        steps = readme_steps("package-steps")
        self.assertTrue(steps[0].startswith("apt install"), steps)
        for step in steps:
            # The README names the release's file; the test installs the one it built.
            step = re.sub(r"\./webhookd_\S+\.deb", "./" + os.path.basename(self.deb), step)
            self.run_in_debs(step)
            if step.startswith("apt install"):
                # The socket is enabled and listening; webhookd itself waits for a request.
                self.assertEqual(self.unit("webhookd.socket", "UnitFileState"), "enabled")
                self.assertEqual(self.unit("webhookd.socket", "ActiveState"), "active")
                self.assertEqual(self.unit("webhookd.service", "UnitFileState"), "disabled")
                self.assertEqual(self.unit("webhookd.service", "ActiveState"), "inactive")
        self.wait_for_200()
        for dependency in ("libfcgi0ldbl", "libyaml-cpp0.7"):
            self.assertEqual(self.box.run("dpkg-query -W -f='${Status}' " + dependency).stdout, "install ok installed")
        self.assertEqual(self.unit("webhookd.service", "ActiveState"), "active")  # started by the first request
        self.assertEqual(self.unit("webhookd-sync.timer", "UnitFileState"), "disabled")
        self.assertEqual(self.unit("webhookd-sync.timer", "ActiveState"), "inactive")
        journal = self.box.run("journalctl -u webhookd --no-pager -o cat").stdout
        self.assertEqual(journal.count(": serving"), 1, journal)
        self.assertIn("webhookd %s: serving" % changelog_version()[1], journal)
        # A POST through nginx reaches the state.
        script = (
            "import base64, http.client, json\n"
            "auth = 'Basic ' + base64.b64encode(b'%s:%s').decode()\n"
            "c = http.client.HTTPConnection('127.0.0.1', 80)\n"
            "c.request('POST', %r, body='PreWebhookUrl=https://hooks.example.com/pre&Method=GET',"
            " headers={'Authorization': auth, 'Content-Type': 'application/x-www-form-urlencoded'})\n"
            "r = c.getresponse(); print(r.status, json.loads(r.read())['pre_webhook_url'])\n" % (ACCOUNT, TOKEN, PATH))
        self.assertEqual(self.box.run("python3 -", input=script).stdout.split(), ["200", "https://hooks.example.com/pre"])
        self.assertIn("method: GET", self.box.run("cat /var/lib/webhookd/%s.yaml" % SID).stdout)

    def test_2_what_it_installed_is_in_place(self):
        self.assertEqual(self.box.run("stat -c '%a %U:%G' /etc/webhookd/webhookd.yaml /etc/webhookd /var/lib/webhookd"
                                      ).stdout.split("\n")[:3], ["640 root:webhookd", "750 root:webhookd",
                                                                  "750 webhookd:webhookd"])
        self.assertEqual(self.box.run("webhookd --version").stdout, "webhookd %s\n" % changelog_version()[1])
        page = self.box.run("MANWIDTH=80 man -P cat webhookctl 2>&1").stdout
        self.assertTrue(page.startswith("webhookctl(1)"), page[:300])
        self.assertIn("hash-secret", page)
        self.assertIn("/usr/bin/webhookd --config /etc/webhookd/webhookd.yaml",
                      self.box.run("systemctl cat webhookd.service").stdout)
        self.assertEqual(self.box.run("test -e /etc/nginx/sites-available/webhookd && echo yes").stdout, "yes\n")

    def test_3_the_unattended_upgrade_under_load_keeps_config_and_state_and_runs_the_new_binary(self):
        # The admin's edits: an account (done by the steps) and the site. The
        # release changes both, and the snippet the admin left alone.
        self.box.run("sed -i 's/server_name _;/server_name _; # the admin was here/' /etc/nginx/sites-available/webhookd")
        snippet = self.read("/etc/nginx/snippets/webhookd.locations.conf")
        config = self.box.run("cat /etc/webhookd/webhookd.yaml").stdout
        site = self.box.run("cat /etc/nginx/sites-available/webhookd").stdout
        self.assertIn(ACCOUNT, config)
        self.box.run("printf 'account_sid: %s\\npre_webhook_url: https://other.example.com/kept\\n' | "
                     "install -o webhookd -g webhookd -m 0644 /dev/stdin /var/lib/webhookd/%s.yaml" % (ACCOUNT, OTHER_SID))
        other = self.box.run("cat /var/lib/webhookd/%s.yaml" % OTHER_SID).stdout
        old_pid = self.unit("webhookd.service", "MainPID")
        socket_since = self.unit("webhookd.socket", "ActiveEnterTimestampMonotonic")
        self.assertEqual(self.box.run("/proc/%s/exe --version" % old_pid).stdout,
                         "webhookd %s\n" % changelog_version()[1])

        self.box.write("/root/stream.py", STREAM % (ACCOUNT, TOKEN, PATH))
        # The README's unattended upgrade, with the file name of the rebuild.
        command, = readme_steps("package-upgrade")
        self.assertIn("--force-confold", command)
        command = re.sub(r"\./webhookd_\S+\.deb", "./" + os.path.basename(self.upgrade_deb), command)
        r = self.box.run("rm -f /root/stop; python3 /root/stream.py > /root/stream.out 2>&1 & sleep 2; "
                         "(cd /srv/debs && %s) > /root/upgrade.log 2>&1; "
                         "echo \"apt exited $?\" >> /root/upgrade.log; sleep 2; touch /root/stop; wait; "
                         "cat /root/stream.out" % command, timeout=600)
        log = self.box.run("grep -v '^(Reading database' /root/upgrade.log").stdout
        self.assertIn("apt exited 0", log)
        self.assertNotIn("conffile prompt", log)
        result = json.loads(r.stdout.strip().splitlines()[-1])
        nginx_errors = self.box.run("tail -n 20 /var/log/nginx/error.log", check=False).stdout
        journal = self.box.run("journalctl -u webhookd --no-pager -o short-precise | grep -v -e ' GET /v1' -e ' POST /v1' "
                               "| tail -n 20", check=False).stdout
        # The new binary serves; the socket was never closed.
        self.assertEqual(self.box.run("dpkg-query -W -f='${Version}' webhookd").stdout, deb_field(self.upgrade_deb,
                                                                                                     "Version"))
        new_pid = self.unit("webhookd.service", "MainPID")
        self.assertNotEqual(new_pid, old_pid)
        self.assertEqual(self.box.run("/proc/%s/exe --version" % new_pid).stdout,
                         "webhookd %s%s\n" % (changelog_version()[1], UPGRADE_SUFFIX))
        self.assertEqual(self.box.run("readlink /proc/%s/exe" % new_pid).stdout, "/usr/bin/webhookd\n")
        self.assertEqual(self.unit("webhookd.socket", "ActiveEnterTimestampMonotonic"), socket_since)
        # The admin's config (its mode too) and site, and the state, as they
        # were; the release's versions of those two beside them as .dpkg-dist,
        # to merge by hand; the snippet nobody edited is the release's.
        self.assertEqual(self.box.run("cat /etc/webhookd/webhookd.yaml").stdout, config)
        self.assertEqual(self.box.run("stat -c '%a %U:%G' /etc/webhookd/webhookd.yaml").stdout, "640 root:webhookd\n")
        self.assertEqual(self.box.run("cat /etc/nginx/sites-available/webhookd").stdout, site)
        for path in ("/etc/webhookd/webhookd.yaml", "/etc/nginx/sites-available/webhookd"):
            dist = self.read(path + ".dpkg-dist")
            self.assertTrue(dist.endswith(release_line(UPGRADE_SUFFIX)), dist)
        self.assertNotIn(ACCOUNT, self.read("/etc/webhookd/webhookd.yaml.dpkg-dist"))
        self.assertIn("keepalive_timeout 1s;", self.read("/etc/nginx/sites-available/webhookd.dpkg-dist"))
        self.assertEqual(self.read("/etc/nginx/snippets/webhookd.locations.conf"),
                         snippet + release_line(UPGRADE_SUFFIX))
        self.assertFalse(self.exists("/etc/nginx/snippets/webhookd.locations.conf.dpkg-dist"))
        self.assertEqual(self.box.run("cat /var/lib/webhookd/%s.yaml" % OTHER_SID).stdout, other)
        state = self.box.run("cat /var/lib/webhookd/%s.yaml" % SID).stdout
        self.assertIn("pre_webhook_url: https://hooks.example.com/pre", state)
        post = re.search(r"post_webhook_url: (\S+)", state).group(1)
        self.assertIn(post, result["last_acknowledged"], "the state holds the last acknowledged POST")
        self.assertEqual(self.curl(), "200")
        # No request failed (checked last: the rest above holds either way).
        failed = {k: v for k, v in result["codes"].items() if not k.endswith(" 200")}
        self.assertEqual(failed, {}, "every request across the upgrade answers 200: %s\napt:\n%s\nnginx:\n%s\n"
                         "journal:\n%s" % (result["codes"], log[-2000:], nginx_errors, journal))
        # The figures RELIABILITY.md quotes.
        print("\nupgrade under load: %s" % json.dumps(result["codes"], sort_keys=True), file=sys.stderr, flush=True)
        self.assertGreater(result["codes"].get("GET 200", 0), 50)
        self.assertGreater(result["codes"].get("POST 200", 0), 50)

    def test_4_the_plain_command_with_no_terminal_stops_at_the_conffile_prompt_and_the_readme_finishes_it(self):
        # What the README's plain install command does to an upgrade that
        # changes an edited conffile when no one is at a terminal (apt -y,
        # unattended-upgrades): dpkg asks, reads end of file, and stops.
        self.assertEqual(self.curl(), "200")
        old_pid = self.unit("webhookd.service", "MainPID")
        config = self.read("/etc/webhookd/webhookd.yaml")
        site = self.read("/etc/nginx/sites-available/webhookd")
        plain = readme_steps("package-steps")[0]
        self.assertRegex(plain, r"^apt install -y \./webhookd_\S+\.deb$")
        r = self.run_in_debs(plain.replace(plain.split()[-1], "./" + os.path.basename(self.plain_deb)), check=False)
        said = r.stdout + r.stderr
        self.assertNotEqual(r.returncode, 0, said)
        self.assertIn("end of file on stdin at conffile prompt", said)
        status = self.box.run("dpkg-query -W -f='${Status}' webhookd").stdout
        self.assertIn(status, ("install ok half-configured", "install ok unpacked"), said)
        # The new binary is on disk, but nobody restarted the old one: it serves on.
        self.assertEqual(self.box.run("webhookd --version").stdout, "webhookd %s%s\n" % (
            changelog_version()[1], PLAIN_SUFFIX))
        self.assertEqual(self.unit("webhookd.service", "MainPID"), old_pid)
        self.assertEqual(self.running_version(old_pid), "webhookd %s%s\n" % (changelog_version()[1], UPGRADE_SUFFIX))
        self.assertEqual(self.curl(), "200")
        # The README's way out: dpkg finishes, keeping the admin's files.
        for step in readme_steps("package-recover"):
            self.box.run(step, timeout=300)
        self.assertEqual(self.box.run("dpkg-query -W -f='${Status} ${Version}' webhookd").stdout,
                         "install ok installed " + deb_field(self.plain_deb, "Version"))
        new_pid = self.unit("webhookd.service", "MainPID")
        self.assertNotEqual(new_pid, old_pid)
        self.assertEqual(self.running_version(new_pid), "webhookd %s%s\n" % (changelog_version()[1], PLAIN_SUFFIX))
        self.assertEqual(self.read("/etc/webhookd/webhookd.yaml"), config)
        self.assertEqual(self.read("/etc/nginx/sites-available/webhookd"), site)
        for path in ("/etc/webhookd/webhookd.yaml", "/etc/nginx/sites-available/webhookd"):
            self.assertTrue(self.read(path + ".dpkg-dist").endswith(release_line(PLAIN_SUFFIX)), path)
        self.assertTrue(self.read("/etc/nginx/snippets/webhookd.locations.conf").endswith(release_line(PLAIN_SUFFIX)))
        self.assertEqual(self.curl(), "200")

    def test_5_remove_stops_it_and_keeps_config_and_state(self):
        state = self.box.run("cat /var/lib/webhookd/%s.yaml" % SID).stdout
        self.box.run("apt remove -y webhookd", timeout=300)
        self.assertEqual(self.unit("webhookd.socket", "ActiveState"), "inactive")
        self.assertEqual(self.unit("webhookd.service", "ActiveState"), "inactive")
        self.assertEqual(self.box.run("pgrep -x webhookd", check=False).stdout, "")
        self.assertEqual(self.box.run("test -e /usr/bin/webhookd || echo gone").stdout, "gone\n")
        self.assertIn(ACCOUNT, self.box.run("cat /etc/webhookd/webhookd.yaml").stdout)
        self.assertEqual(self.box.run("cat /var/lib/webhookd/%s.yaml" % SID).stdout, state)
        # nginx still has its site (conffiles stay): with webhookd gone, it answers Twilio's 503.
        self.box.run("nginx -t")
        r = self.box.run("curl -s -u %s:%s http://127.0.0.1%s" % (ACCOUNT, TOKEN, PATH))
        self.assertEqual(json.loads(r.stdout)["code"], 20503)

    def test_6_purge_removes_the_config_and_keeps_the_state_saying_so(self):
        state = self.box.run("cat /var/lib/webhookd/%s.yaml" % SID).stdout
        # What the admin made for the sync (README, GitOps): its token file and checkout.
        self.box.run("install -m 0600 /dev/null /etc/webhookd/sync.env && mkdir -p /var/lib/webhookd-sync/.git "
                     "&& touch /var/lib/webhookd-sync/.git/HEAD /var/lib/webhookd-sync/%s.yaml" % SID)
        self.assertTrue(self.exists("/etc/webhookd/webhookd.yaml.dpkg-dist"))
        services = self.box.run("ls /var/lib/webhookd").stdout.split()
        self.assertEqual(sorted(services), sorted([SID + ".yaml", OTHER_SID + ".yaml"]))
        r = self.box.run("apt purge -y webhookd", timeout=300)
        said = r.stdout + r.stderr
        self.assertIn("webhookd: kept /var/lib/webhookd: 2 file(s) of state", said)
        self.assertIn("removed /etc/nginx/sites-enabled/webhookd", said)
        self.assertNotIn("kept /etc/webhookd", said)
        for gone in ("/etc/webhookd", "/etc/nginx/sites-available/webhookd", "/etc/nginx/sites-enabled/webhookd",
                     "/etc/nginx/sites-available/webhookd.dpkg-dist", "/var/lib/webhookd-sync",
                     "/etc/nginx/snippets/webhookd.locations.conf", "/lib/systemd/system/webhookd.socket"):
            self.assertEqual(self.box.run("test -e %s -o -L %s || echo gone" % (gone, gone)).stdout, "gone\n", gone)
        self.box.run("nginx -t")  # no link left pointing at nothing
        self.assertEqual(self.box.run("cat /var/lib/webhookd/%s.yaml" % SID).stdout, state)
        status = self.box.run("dpkg-query -W -f='${Status}' webhookd 2>&1", check=False).stdout
        self.assertNotRegex(status, "installed|config-files")  # dpkg forgot it: not even its config is left
        self.box.run("id webhookd")  # a system user stays: files may still be its own

    def test_7_a_new_install_finds_the_state_and_a_purge_without_state_removes_its_directory(self):
        self.run_in_debs("apt install -y ./%s" % os.path.basename(self.deb))
        self.assertEqual(self.box.run("stat -c '%U' /var/lib/webhookd/" + SID + ".yaml").stdout, "webhookd\n")
        self.assertEqual(self.unit("webhookd.socket", "ActiveState"), "active")
        # The admin removes every service; webhookd's own lock files stay.
        self.box.run("rm /var/lib/webhookd/IS*.yaml")
        self.assertNotEqual(self.box.run("ls -A /var/lib/webhookd").stdout, "", "lock files are expected")
        # A file of the admin's own beside the config.
        self.box.run("echo 'who is who' > /etc/webhookd/accounts.txt")
        r = self.box.run("apt purge -y webhookd", timeout=300)
        self.assertIn("webhookd: removed /var/lib/webhookd", r.stdout + r.stderr)
        self.assertIn("webhookd: kept /etc/webhookd: it holds files the package did not put there", r.stdout + r.stderr)
        self.assertEqual(self.box.run("test -e /var/lib/webhookd || echo gone").stdout, "gone\n")
        self.assertEqual(self.box.run("ls -A /etc/webhookd").stdout, "accounts.txt\n")
        self.box.run("rm -r /etc/webhookd")

    def test_8_purge_keeps_a_mounted_state_directory_whole_and_succeeds(self):
        # The fleet's fstab mounts the shared volume on /var/lib/webhookd:
        # its lock files are every host's, not this package's to delete.
        self.run_in_debs("apt install -y ./%s" % os.path.basename(self.deb))
        self.box.run("mount -t tmpfs webhookd-volume /var/lib/webhookd && touch /var/lib/webhookd/.%s.lock" % SID)
        try:
            r = self.box.run("apt purge -y webhookd", timeout=300, check=False)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("webhookd: kept /var/lib/webhookd: a mountpoint; nothing removed on it", r.stdout + r.stderr)
            self.assertEqual(self.box.run("ls -A /var/lib/webhookd").stdout, ".%s.lock\n" % SID)
        finally:
            self.box.run("umount /var/lib/webhookd", check=False)
        self.box.run("rm -rf /var/lib/webhookd")

    def test_9_purge_deletes_nothing_through_a_link_to_the_state_and_succeeds(self):
        # The state moved elsewhere, a link left in its place.
        self.run_in_debs("apt install -y ./%s" % os.path.basename(self.deb))
        self.box.run("touch /var/lib/webhookd/.%s.lock && mv /var/lib/webhookd /srv/state && "
                     "ln -s /srv/state /var/lib/webhookd" % SID)
        r = self.box.run("apt purge -y webhookd", timeout=300, check=False)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("webhookd: kept /var/lib/webhookd: a symbolic link (to /srv/state)", r.stdout + r.stderr)
        self.assertEqual(self.box.run("readlink /var/lib/webhookd; ls -A /srv/state").stdout, "/srv/state\n.%s.lock\n" % SID)


# A stream of GETs and POSTs through nginx until /root/stop exists; prints
# {"codes": {"GET 200": n, ...}, "last_acknowledged": [each POST thread's last 200 value]}.
STREAM = """import base64, http.client, json, os, threading
auth = 'Basic ' + base64.b64encode(b'%s:%s').decode()
path = %r
codes, last, lock = {}, {}, threading.Lock()
def client(n, method):
    i = 0
    while not os.path.exists('/root/stop'):
        i += 1
        value = 'https://hooks.example.com/post-%%d-%%d' %% (n, i)
        try:
            c = http.client.HTTPConnection('127.0.0.1', 80, timeout=30)
            if method == 'POST':
                c.request('POST', path, body='PostWebhookUrl=' + value, headers={
                    'Authorization': auth, 'Content-Type': 'application/x-www-form-urlencoded'})
            else:
                c.request('GET', path, headers={'Authorization': auth})
            r = c.getresponse()
            r.read()
            status = str(r.status)
            c.close()
        except Exception as e:
            status = type(e).__name__
        with lock:
            key = method + ' ' + status
            codes[key] = codes.get(key, 0) + 1
            if method == 'POST' and status == '200':
                last[n] = value
threads = [threading.Thread(target=client, args=(n, 'POST' if n %% 2 else 'GET')) for n in range(6)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps({'codes': codes, 'last_acknowledged': sorted(last.values())}))
"""


def package_root(built):
    """A bookworm root with PACKAGES installed and the package's own
    dependencies waiting in apt's cache (with what they recommend, as apt
    installs it), with the package lists, so that `apt install
    ./webhookd_….deb` resolves and installs them with no network."""
    wanted = []
    for field in ("Depends", "Recommends"):
        for item in deb_field(built, field).split(","):
            name = item.split("|")[0].split("(")[0].strip()
            if name:
                wanted.append(name)
    return root_tarball("package", PACKAGES, hooks=[
        'chroot "$1" apt-get clean',
        # mmdebstrap's apt leaves recommendations out; the admin's apt does not.
        'chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --download-only '
        '-o APT::Install-Recommends=true '
        + " ".join(sorted(set(wanted))),
    ], options=["--skip=cleanup/apt"])


if __name__ == "__main__":
    unittest.main()
