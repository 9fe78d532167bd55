"""`make fleet` as a person runs it: the program it execs prints the front's
URL and each host's, serves through all of them, and on SIGTERM removes every
process, mount, namespace, link and temp directory; a run killed outright
(SIGKILL: no clean-up of its own) is cleaned by the next one."""
import os
import re
import signal
import subprocess
import sys
import unittest
import urllib.request

from e2e.support import BASIC_AUTH, BUILD, REPO, SID
from harness.fleet import bound_unix_paths, clean_stale
from harness.stack import free_port

FLEET = os.path.join(REPO, "tests", "harness", "fleet.py")


def leftovers(pid):
    """Everything on the machine that names the fleet of runner `pid`, found
    on its own terms (not with the harness's clean-up code it checks)."""
    found = []
    tag = "whf%d-" % pid
    found += [n for n in subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, text=True).stdout.split()
              if n.startswith(tag)]
    found += [l.split(":")[1].strip().split("@")[0] for l in
              subprocess.run(["ip", "-o", "link", "show"], stdout=subprocess.PIPE, text=True).stdout.splitlines()
              if l.split(":")[1].strip().startswith(tag)]
    with open("/proc/self/mounts") as f:
        found += [l.split()[1] for l in f if "/webhookd-fleet-%d-" % pid in l.split()[1]]
    found += [e for e in os.listdir("/tmp") if e.startswith("webhookd-fleet-%d-" % pid)]
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/cmdline" % p, "rb") as f:
                    if b"/webhookd-fleet-%d-" % pid in f.read():
                        found.append("process %s" % p)
            except OSError:
                pass
    return found


@unittest.skipUnless(os.geteuid() == 0, "a fleet needs root: glusterd, FUSE mounts, network namespaces (CI runs as root)")
class MakeFleetTest(unittest.TestCase):
    def start(self):
        port = free_port()
        proc = subprocess.Popen([sys.executable, FLEET, "--port", str(port), "--workers", "2",
                                 "--config", os.path.join(REPO, "conf", "webhookd.yaml"),
                                 "--state-dir", os.path.join(REPO, "state")],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=dict(os.environ, WEBHOOKD_BUILD=BUILD))
        self.procs.append(proc)
        urls, seen = {}, []
        for line in proc.stdout:
            seen.append(line)
            m = re.match(r"^(front|h\d): (http://\S+)$", line.strip())
            if m:
                urls[m.group(1)] = m.group(2)
            if line.startswith("Ctrl-C stops everything"):
                break
        self.assertEqual(sorted(urls), ["front", "h1", "h2", "h3"], "".join(seen))
        self.assertEqual(urls["front"], "http://127.0.0.1:%d" % port)
        return proc, urls

    def get(self, base):
        req = urllib.request.Request(base + "/v1/Services/%s/Configuration/Webhooks" % SID,
                                     headers={"Authorization": BASIC_AUTH})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status

    def setUp(self):
        self.procs = []

    def tearDown(self):
        # Also when a test failed: a runner still up is stopped as a person
        # would (SIGTERM: it removes its fleet), and what a killed one left
        # is removed the way the next run would.
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.communicate(timeout=120)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.communicate()
        clean_stale()

    def test_prints_its_urls_serves_and_leaves_nothing_even_after_a_sigkill(self):
        first, urls = self.start()
        for name in ("front", "h1", "h2", "h3"):
            self.assertEqual(self.get(urls[name]), 200, name)
        self.assertNotEqual(leftovers(first.pid), [])
        first.kill()  # no clean-up of its own: mounts, namespaces, links stay
        first.wait()
        self.assertNotEqual(leftovers(first.pid), [], "a SIGKILLed runner cannot have cleaned up")

        second, urls = self.start()
        self.assertEqual(leftovers(first.pid), [], "the next fleet removes what a killed one left")
        self.assertEqual(self.get(urls["front"]), 200)
        second.send_signal(signal.SIGTERM)
        out, _ = second.communicate(timeout=120)
        self.assertEqual(second.returncode, 0, out)
        self.assertIn("stopped", out)
        self.assertEqual(leftovers(second.pid), [])
        # The bricks' sockets (both runs'), which name no run: none unbound.
        bound = bound_unix_paths()
        run = "/var/run/gluster"
        self.assertEqual([n for n in os.listdir(run) if n.endswith(".socket") and os.path.join(run, n) not in bound], [])


if __name__ == "__main__":
    unittest.main()
