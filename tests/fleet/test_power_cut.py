"""The fleet harness's power cut (harness/fleet.py: freeze, power_cut), which
the host-killing tests rely on: once a host is cut, none of its processes may
act on another's death. Modelled with two processes: a "client" blocked on a
pipe only the "FUSE process" holds, which acts (writes a file) when the pipe
closes, as webhookd answers 500 when its FUSE client dies first."""
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from harness.fleet import freeze, power_cut

WAITER = r"""
import os, sys
fd, mark = int(sys.argv[1]), sys.argv[2]
print("ready", flush=True)
os.read(fd, 1)                      # returns b"" when the holder dies
with open(mark, "w") as f:
    f.write("acted on the other's death")
"""
HOLDER = "import time; time.sleep(60)"


class Pair:
    """A holder and a waiter on its pipe, the holder first (as the FUSE
    client, mounted before webhookd starts, has the lower pid)."""

    def __init__(self, tmp):
        self.mark = os.path.join(tmp, "acted")
        r, w = os.pipe()
        self.holder = subprocess.Popen([sys.executable, "-c", HOLDER], pass_fds=(w,))
        self.waiter = subprocess.Popen([sys.executable, "-c", WAITER, str(r), self.mark],
                                       pass_fds=(r,), stdout=subprocess.PIPE, text=True)
        os.close(r)
        os.close(w)
        self.ready = self.waiter.stdout.readline().strip() == "ready"
        self.pids = [self.holder.pid, self.waiter.pid]

    def kill_one_by_one(self, pause):
        # `pause`: the runner preempted between two kills on a busy machine.
        for pid in self.pids:
            os.kill(pid, signal.SIGKILL)
            time.sleep(pause)
        return [p.wait(10) for p in (self.holder, self.waiter)]

    def acted(self):
        return os.path.exists(self.mark)

    def close(self):
        for p in (self.holder, self.waiter):
            if p.poll() is None:
                p.kill()
            p.wait()
        self.waiter.stdout.close()
        if self.acted():
            os.unlink(self.mark)


KILLED = [-signal.SIGKILL, -signal.SIGKILL]


class PowerCutTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="webhookd-power-cut-")
        self.addCleanup(os.rmdir, self.tmp)

    def pair(self):
        pair = Pair(self.tmp)
        self.addCleanup(pair.close)
        self.assertTrue(pair.ready)
        return pair

    def test_killed_one_by_one_the_waiter_acts(self):
        # What the harness did before; shows this test sees the failure.
        pair = self.pair()
        pair.kill_one_by_one(0.3)
        self.assertTrue(pair.acted())  # and exited on its own, before its kill

    def test_frozen_first_the_waiter_never_acts_whatever_the_delays(self):
        # (pause after the freeze, pause between the kills)
        for after_freeze, between in [(0, 0), (0.3, 0), (0, 0.3), (0.3, 0.3)]:
            with self.subTest(after_freeze=after_freeze, between=between):
                pair = self.pair()
                freeze(pair.pids)
                time.sleep(after_freeze)
                self.assertEqual(pair.kill_one_by_one(between), KILLED)
                self.assertFalse(pair.acted())

    def test_power_cut_kills_all_and_none_acts(self):
        pair = self.pair()
        power_cut(pair.pids)
        self.assertEqual([p.wait(10) for p in (pair.holder, pair.waiter)], KILLED)
        self.assertFalse(pair.acted())


if __name__ == "__main__":
    unittest.main()
