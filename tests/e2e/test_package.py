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
import tempfile
import time
import unittest

from e2e.support import BUILD, WEBHOOKCTL, WEBHOOKD
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


ACCOUNT, TOKEN = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "token-5be1d0"
SID = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
OTHER_SID = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
PATH = "/v1/Services/%s/Configuration/Webhooks" % SID
# What the root holds besides Debian's minimal set: systemd, nginx, man-db
# (`man webhookctl` after install), curl and python3 for the checks. The
# package's own dependencies are not installed: they wait in apt's cache.
PACKAGES = ["systemd", "systemd-sysv", "dbus", "nginx", "man-db", "curl", "python3"]
UPGRADE_SUFFIX = "+upgradetest"


def needs_root(cls):
    return unittest.skipUnless(os.geteuid() == 0, "building in and booting a Debian root needs root (CI runs as root)")(cls)


_built = {}


def packages():
    """(the package of the checkout, a rebuild of it with a higher version),
    built once per run (and not at all when up to date)."""
    if not _built:
        full, upstream = changelog_version()
        _built["current"] = deb.build()
        entry = ("webhookd (%s%s-1) bookworm; urgency=medium\n\n  * The same sources, rebuilt to test an upgrade.\n\n"
                 " -- webhookd tests <tests@example.org>  Tue, 01 Dec 2026 16:00:00 +0000\n" % (upstream, UPGRADE_SUFFIX))
        _built["upgrade"] = deb.build(os.path.join(deb.OUT, "upgrade-test"), entry)
    return _built["current"], _built["upgrade"]


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
        cls.deb, cls.upgrade_deb = packages()
        cls.box = Container("package")
        cls.addClassCleanup(cls.box.destroy)
        cls.box.unpack(package_root(cls.deb))
        os.makedirs(os.path.join(cls.box.root, "srv", "debs"))
        for path in (cls.deb, cls.upgrade_deb):
            subprocess.run(["cp", path, os.path.join(cls.box.root, "srv", "debs")], check=True)
        cls.box.boot()
        cls.box.write("/root/token", TOKEN + "\n")
        cls.box.run("chmod 0600 /root/token")

    def run_in_debs(self, command, timeout=300):
        return self.box.run("cd /srv/debs && " + command, timeout=timeout)

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

    def test_3_an_upgrade_under_load_keeps_config_and_state_and_runs_the_new_binary(self):
        # The admin's edits: an account (done by the steps) and the site.
        self.box.run("sed -i 's/server_name _;/server_name _; # the admin was here/' /etc/nginx/sites-available/webhookd")
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
        upgrade = os.path.basename(self.upgrade_deb)
        r = self.box.run("rm -f /root/stop; python3 /root/stream.py > /root/stream.out 2>&1 & sleep 2; "
                         "(cd /srv/debs && apt install -y ./%s) > /root/upgrade.log 2>&1; "
                         "echo \"apt exited $?\" >> /root/upgrade.log; sleep 2; touch /root/stop; wait; "
                         "cat /root/stream.out" % upgrade, timeout=600)
        log = self.box.run("grep -v '^(Reading database' /root/upgrade.log").stdout
        self.assertIn("apt exited 0", log)
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
        # The admin's config (its mode too) and site, and the state, as they were.
        self.assertEqual(self.box.run("cat /etc/webhookd/webhookd.yaml").stdout, config)
        self.assertEqual(self.box.run("stat -c '%a %U:%G' /etc/webhookd/webhookd.yaml").stdout, "640 root:webhookd\n")
        self.assertEqual(self.box.run("cat /etc/nginx/sites-available/webhookd").stdout, site)
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
        self.assertGreater(result["codes"].get("GET 200", 0), 50)
        self.assertGreater(result["codes"].get("POST 200", 0), 50)

    def test_4_remove_stops_it_and_keeps_config_and_state(self):
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

    def test_5_purge_removes_the_config_and_keeps_the_state_saying_so(self):
        state = self.box.run("cat /var/lib/webhookd/%s.yaml" % SID).stdout
        r = self.box.run("apt purge -y webhookd", timeout=300)
        self.assertIn("webhookd: kept /var/lib/webhookd", r.stdout + r.stderr)
        self.assertIn("removed /etc/nginx/sites-enabled/webhookd", r.stdout + r.stderr)
        for gone in ("/etc/webhookd", "/etc/nginx/sites-available/webhookd", "/etc/nginx/sites-enabled/webhookd",
                     "/etc/nginx/snippets/webhookd.locations.conf", "/lib/systemd/system/webhookd.socket"):
            self.assertEqual(self.box.run("test -e %s -o -L %s || echo gone" % (gone, gone)).stdout, "gone\n", gone)
        self.box.run("nginx -t")  # no link left pointing at nothing
        self.assertEqual(self.box.run("cat /var/lib/webhookd/%s.yaml" % SID).stdout, state)
        status = self.box.run("dpkg-query -W -f='${Status}' webhookd 2>&1", check=False).stdout
        self.assertNotRegex(status, "installed|config-files")  # dpkg forgot it: not even its config is left
        self.box.run("id webhookd")  # a system user stays: files may still be its own

    def test_6_a_new_install_finds_the_state_and_a_purge_without_state_removes_its_directory(self):
        self.run_in_debs("apt install -y ./%s" % os.path.basename(self.deb))
        self.assertEqual(self.box.run("stat -c '%U' /var/lib/webhookd/" + SID + ".yaml").stdout, "webhookd\n")
        self.assertEqual(self.unit("webhookd.socket", "ActiveState"), "active")
        # The admin removes every service; webhookd's own lock files stay.
        self.box.run("rm /var/lib/webhookd/IS*.yaml")
        self.assertNotEqual(self.box.run("ls -A /var/lib/webhookd").stdout, "", "lock files are expected")
        r = self.box.run("apt purge -y webhookd", timeout=300)
        self.assertIn("webhookd: removed /var/lib/webhookd", r.stdout + r.stderr)
        self.assertEqual(self.box.run("test -e /var/lib/webhookd || echo gone").stdout, "gone\n")


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


def readme_steps(marker):
    """The commands of the README's block after <!-- marker -->."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    block = re.search(r"<!-- %s -->\s*```sh\n(.*?)```" % marker, text, re.S)
    assert block, "README.md has no %s block" % marker
    return [l.strip() for l in block.group(1).splitlines() if l.strip() and not l.strip().startswith("#")]


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
