"""What ships, tested as shipped: the systemd units, the demo config and
state, `make run` (and that it leaves nothing behind), and the README's curl
session, run against `make run` and compared answer by answer."""
import os
import queue
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from e2e.support import BUILD, WEBHOOKD
from e2e.test_docs import DOCUMENTS, links
from harness.stack import REPO, free_port, port_open

SYSTEMD = os.path.join(REPO, "systemd")


def unit_lines(name, key):
    with open(os.path.join(SYSTEMD, name)) as f:
        return [l.split("=", 1)[1].strip() for l in f if l.startswith(key + "=")]


class SystemdUnitsTest(unittest.TestCase):
    def test_units_pass_systemd_analyze_verify(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed")
        with tempfile.TemporaryDirectory() as tmp:
            units = ("webhookd.socket", "webhookd.service", "webhookd-sync.service", "webhookd-sync.timer")
            for name in units:
                with open(os.path.join(SYSTEMD, name)) as f:
                    text = f.read()
                # verify checks that the programs exist: point it at the ones here.
                text = text.replace("/usr/local/bin/webhookd", WEBHOOKD).replace(
                    "/usr/local/libexec/webhookd/webhookd-sync", os.path.join(SYSTEMD, "webhookd-sync"))
                with open(os.path.join(tmp, name), "w") as f:
                    f.write(text)
            # and at the README that Documentation= names.
            doc = os.path.join(tmp, "README.md")
            shutil.copy(os.path.join(REPO, "README.md"), doc)
            for name in ("webhookd.service", "webhookd-sync.service"):
                path = os.path.join(tmp, name)
                with open(path) as f:
                    text = f.read()
                with open(path, "w") as f:
                    f.write(text.replace("/usr/local/share/doc/webhookd/README.md", doc))
            # and at the man pages that Documentation= names, as built.
            r = subprocess.run(["systemd-analyze", "verify"] + list(units), cwd=tmp,
                               env=dict(os.environ, MANPATH=os.path.join(BUILD, "man")),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            # verify exits 0 even for directives it ignores: any output is a problem.
            self.assertEqual((r.returncode, r.stdout), (0, ""))

    def test_service_command_lines_are_accepted(self):
        config = os.path.join(REPO, "conf", "webhookd.yaml")
        commands = unit_lines("webhookd.service", "ExecStart") + [
            c for c in unit_lines("webhookd.service", "ExecReload") if "webhookd" in c]
        self.assertEqual(len(commands), 2)
        for command in commands:
            argv = command.split()
            self.assertEqual(argv[0], "/usr/local/bin/webhookd")
            argv = [WEBHOOKD] + [config if a.endswith("webhookd.yaml") else a for a in argv[1:]]
            if "--check" not in argv:
                argv.append("--check")
            r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)

    def test_socket_unit_and_service_agree(self):
        self.assertEqual(unit_lines("webhookd.socket", "ListenStream"), ["/run/webhookd/webhookd.sock"])
        self.assertEqual(unit_lines("webhookd.service", "StandardInput"), ["socket"])
        self.assertEqual(unit_lines("webhookd.service", "Type"), ["notify"])


class InstallTest(unittest.TestCase):
    """make install / uninstall into a staging DESTDIR, with other PREFIX and
    SYSCONFDIR than the defaults (the container test covers the defaults)."""

    def make(self, target, destdir):
        return subprocess.run(["make", "-s", "-C", REPO, target, "DESTDIR=" + destdir, "PREFIX=/opt/wh",
                               "SYSCONFDIR=/opt/etc"], capture_output=True, text=True, timeout=600)

    def test_install_puts_everything_in_place_and_uninstall_keeps_the_admins_data(self):
        with tempfile.TemporaryDirectory() as dest:
            r = self.make("install", dest)
            self.assertEqual(r.returncode, 0, r.stderr)
            expected = {
                "opt/wh/bin/webhookd": 0o755, "opt/wh/bin/webhookctl": 0o755,
                "opt/wh/lib/systemd/system/webhookd.service": 0o644, "opt/wh/lib/systemd/system/webhookd.socket": 0o644,
                "opt/wh/lib/systemd/system/webhookd-sync.service": 0o644,
                "opt/wh/lib/systemd/system/webhookd-sync.timer": 0o644,
                "opt/wh/libexec/webhookd/webhookd-sync": 0o755,
                "opt/wh/lib/sysusers.d/webhookd.conf": 0o644, "opt/wh/lib/tmpfiles.d/webhookd.conf": 0o644,
                "opt/etc/nginx/snippets/webhookd.locations.conf": 0o644,
                "opt/etc/nginx/snippets/webhookd.errors.conf": 0o644,
                "opt/etc/nginx/sites-available/webhookd": 0o644,
                "opt/etc/webhookd/webhookd.yaml": 0o640, "opt/wh/share/doc/webhookd/README.md": 0o644,
                "opt/wh/share/webhookd/webhookd.rules.yml": 0o644,
                "opt/wh/share/man/man8/webhookd.8": 0o644, "opt/wh/share/man/man1/webhookctl.1": 0o644,
                "opt/wh/share/man/man5/webhookd.yaml.5": 0o644,
            }
            for rel, mode in expected.items():
                path = os.path.join(dest, rel)
                self.assertTrue(os.path.isfile(path), rel)
                self.assertEqual(os.stat(path).st_mode & 0o777, mode, rel)
            with open(os.path.join(dest, "opt/wh/lib/systemd/system/webhookd.service")) as f:
                unit = f.read()
            self.assertIn("ExecStart=/opt/wh/bin/webhookd --config /opt/etc/webhookd/webhookd.yaml", unit)
            self.assertIn("Documentation=man:webhookd(8) file:///opt/wh/share/doc/webhookd/README.md", unit)
            directives = "\n".join(l for l in unit.splitlines() if not l.startswith("#"))
            self.assertNotIn("/usr/local", directives)
            with open(os.path.join(dest, "opt/wh/lib/systemd/system/webhookd-sync.service")) as f:
                self.assertIn("ExecStart=/opt/wh/libexec/webhookd/webhookd-sync", f.read())
            with open(os.path.join(dest, "opt/wh/libexec/webhookd/webhookd-sync")) as f:
                self.assertIn("webhookctl=${WEBHOOKCTL:-/opt/wh/bin/webhookctl}", f.read())
            with open(os.path.join(dest, "opt/wh/share/man/man8/webhookd.8")) as f:
                # The installed paths written in (scdoc puts a \& after each dot).
                page = f.read().replace("\\&", "")
                self.assertIn("/opt/wh/share/doc/webhookd/README.md", page)
                # The rules where Prometheus reads them, never under doc/ (Debian policy 12.3).
                self.assertIn("/opt/wh/share/webhookd/webhookd.rules.yml", page)
            self.assertFalse(os.path.exists(os.path.join(dest, "opt/wh/share/doc/webhookd/webhookd.rules.yml")))
            # The README and every document it links to, at the same relative
            # paths: its links work from the installed copy too.
            docdir = os.path.join(dest, "opt/wh/share/doc/webhookd")
            for doc in DOCUMENTS:
                path = os.path.join(docdir, doc)
                self.assertEqual(os.stat(path).st_mode & 0o777, 0o644, doc)
                for link in links(path):
                    file_part = link.partition("#")[0]
                    if file_part.endswith(".md"):
                        self.assertTrue(os.path.isfile(os.path.join(os.path.dirname(path), file_part)),
                                        "%s links to %s, not installed" % (doc, link))
            with open(os.path.join(dest, "opt/wh/lib/tmpfiles.d/webhookd.conf")) as f:
                self.assertIn("z /opt/etc/webhookd/webhookd.yaml 0640 root webhookd -", f.read())
            # The installed config is valid and lets nobody in.
            config = os.path.join(dest, "opt/etc/webhookd/webhookd.yaml")
            with open(config) as f:
                text = f.read()
            self.assertRegex(text, r"(?m)^accounts:\s*$")
            self.assertNotIn("auth_token_sha256", text)
            r = subprocess.run([WEBHOOKD, "--config", config, "--state-dir", dest, "--check"], capture_output=True,
                               text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            # An admin's config is never overwritten by a second install.
            with open(config, "a") as f:
                f.write("# the admin's edit\n")
            r = self.make("install", dest)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("keeping", r.stdout)
            with open(config) as f:
                self.assertIn("# the admin's edit", f.read())
            # Uninstall removes what install put, but the config.
            r = self.make("uninstall", dest)
            self.assertEqual(r.returncode, 0, r.stderr)
            left = sorted(os.path.relpath(os.path.join(d, f), dest) for d, _, fs in os.walk(dest) for f in fs)
            self.assertEqual(left, ["opt/etc/webhookd/webhookd.yaml"])
            self.assertFalse(os.path.exists(docdir), "uninstall left the documents' folders")


class DemoFilesTest(unittest.TestCase):
    def test_demo_config_and_state_are_valid(self):
        r = subprocess.run([WEBHOOKD, "--config", os.path.join(REPO, "conf", "webhookd.yaml"), "--check"],
                           stderr=subprocess.PIPE, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(os.path.join(REPO, "state", "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml")))

    def test_state_gitignore_covers_webhookds_own_files_only(self):
        def ignored(name):
            return subprocess.run(["git", "-C", os.path.join(REPO, "state"), "check-ignore", "-q", "--no-index", name]).returncode == 0
        self.assertTrue(ignored(".ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.lock"))
        self.assertTrue(ignored(".ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.tmp.Ab12Cd"))
        self.assertTrue(ignored(".webhookd-applied"))
        self.assertTrue(ignored(".webhookd-apply.lock"))
        self.assertTrue(ignored(".ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.lock"))
        self.assertTrue(ignored(".ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.tmp.Ab12Cd"))
        self.assertFalse(ignored("ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml"))
        self.assertFalse(ignored("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.yaml"))


def readme_session():
    """[(command, expected output)] from the README's "Try it" console block."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    block = re.search(r"## Try it.*?```console\n(.*?)```", text, re.S).group(1)
    steps, command, expected = [], None, []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            if command is not None:
                steps.append((command, "\n".join(expected)))
            command, expected = line[2:], []
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
        else:
            expected.append(line)
        i += 1
    steps.append((command, "\n".join(expected)))
    return steps


class MakeRunTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="webhookd-makerun-")
        os.chmod(self.tmp, 0o755)
        shutil.copytree(os.path.join(REPO, "state"), os.path.join(self.tmp, "state"))
        # The session runs build/webhookctl from the checkout, as a reader would.
        os.symlink(os.path.join(REPO, "build"), os.path.join(self.tmp, "build"))
        self.port = free_port()
        self.proc = subprocess.Popen(["make", "-s", "-C", REPO, "run", "PORT=%d" % self.port,
                                      "STATE_DIR=" + os.path.join(self.tmp, "state")],
                                     cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True)
        self.lines = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(l) for l in self.proc.stdout], daemon=True).start()
        self.output = []
        self.wait_output(lambda l: "curl -s -u" in l, 120)
        self.stack_dir = re.search(r"serving unix:(\S+)/webhookd\.sock", "".join(self.output)).group(1)

    def tearDown(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def wait_output(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                self.assertIsNone(self.proc.poll(), "make run exited: " + "".join(self.output))
                continue
            self.output.append(line)
            if predicate(line):
                return line
        self.fail("make run said nothing useful in %ds: %s" % (timeout, "".join(self.output)))

    def assertNothingLeft(self):
        self.assertFalse(port_open(self.port), "nginx still listens")
        for marker in (self.stack_dir, os.path.join(self.tmp, "state")):
            r = subprocess.run(["pgrep", "-f", marker], stdout=subprocess.PIPE, text=True)
            self.assertEqual(r.stdout, "", "processes left behind for %s" % marker)

    def test_readme_session_answers_as_the_readme_shows(self):
        exports = ""
        for command, expected in readme_session():
            command = command.replace("127.0.0.1:8080", "127.0.0.1:%d" % self.port)
            expected = expected.replace("127.0.0.1:8080", "127.0.0.1:%d" % self.port)
            if command.startswith("export "):
                exports += command + "; "
                continue
            with self.subTest(command[:70]):
                r = subprocess.run(["bash", "-c", exports + command], cwd=self.tmp, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=20)
                self.assertEqual(r.stdout.rstrip("\n"), expected)
        self.proc.send_signal(signal.SIGTERM)  # SIGTERM to make alone
        self.proc.wait(20)  # make re-raises the signal: its status is -15
        time.sleep(0.5)
        self.assertNothingLeft()

    def test_ctrl_c_stops_everything(self):
        os.killpg(self.proc.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
        self.proc.wait(20)
        time.sleep(0.5)
        self.assertNothingLeft()
