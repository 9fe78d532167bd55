"""Crash safety: concurrent POST load through nginx on several services while
webhookd is killed with SIGKILL at random moments, then restarted. After every
kill: every state file parses, each holds the last update answered 200 or a
later one that was in flight, and no temp file is ever taken for state;
leftover temp files are removed when webhookd starts again."""
import http.client
import json
import os
import random
import re
import signal
import threading
import time

from e2e.support import ACCOUNT, BASIC_AUTH, StackCase, resource_path

SERVICES = ["IS%032x" % (0xc0ffee00 + i) for i in range(4)]
KILLS = int(os.environ.get("WEBHOOKD_CRASH_KILLS", "50"))


def canonical(sid, n):
    if n == 0:
        return "account_sid: %s\n" % ACCOUNT  # as seeded
    return ("account_sid: %s\npre_webhook_url: https://crash.example/%s/%d\npost_webhook_url: null\n"
            "filters: null\nmethod: null\n" % (ACCOUNT, sid, n))


class Writer(threading.Thread):
    """Sequential updates of one service: value n is sent only after n-1 was answered or failed."""

    def __init__(self, port, sid, stop):
        super().__init__(daemon=True)
        self.port, self.sid, self.stop = port, sid, stop
        self.sent = self.acked = 0
        self.lock = threading.Lock()
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            with self.lock:
                self.sent += 1
                n = self.sent
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("POST", resource_path(self.sid), "PreWebhookUrl=https://crash.example/%s/%d" % (self.sid, n),
                             {"Authorization": BASIC_AUTH, "Content-Type": "application/x-www-form-urlencoded"})
                r = conn.getresponse()
                body = r.read()
                conn.close()
            except OSError:
                time.sleep(0.01)
                continue
            if r.status == 200:
                if json.loads(body)["pre_webhook_url"] != "https://crash.example/%s/%d" % (self.sid, n):
                    self.errors.append("200 for %d answered %s" % (n, body))
                with self.lock:
                    self.acked = n
            elif r.status != 503:  # 503: webhookd is down (nginx's JSON answer)
                self.errors.append("status %d: %s" % (r.status, body[:200]))
                time.sleep(0.01)
            else:
                time.sleep(0.005)


class CrashSafetyTest(StackCase):
    workers = 8

    def test_sigkill_under_load_loses_no_acknowledged_update(self):
        for sid in SERVICES:
            self.write_state(canonical(sid, 0), sid)
        stop = threading.Event()
        writers = [Writer(self.stack.port, sid, stop) for sid in SERVICES]
        for w in writers:
            w.start()
        rng = random.Random(int(os.environ.get("WEBHOOKD_CRASH_SEED", "20261126")))
        leftovers_seen = 0
        try:
            for kill in range(KILLS):
                time.sleep(rng.uniform(0.05, 0.25))
                daemon = self.stack.webhookd
                daemon.proc.send_signal(signal.SIGKILL)
                daemon.proc.wait()
                time.sleep(0.05)  # answers already on their way are counted
                snapshot = {}
                for w in writers:
                    with w.lock:
                        snapshot[w.sid] = (w.acked, w.sent)
                leftovers = {n for n in os.listdir(self.state_dir) if ".tmp." in n}
                leftovers_seen += len(leftovers)
                for sid in SERVICES:
                    acked, sent = snapshot[sid]
                    with open(self.state_file(sid)) as f:
                        text = f.read()
                    m = re.search(r"/crash\.example/%s/(\d+)\n" % sid, text)
                    n = int(m.group(1)) if m else 0
                    self.assertEqual(text, canonical(sid, n), "kill %d: %s is not a whole state file" % (kill, sid))
                    self.assertGreaterEqual(n, acked, "kill %d: %s lost update %d answered 200" % (kill, sid, acked))
                    self.assertLessEqual(n, sent, "kill %d: %s holds %d, never sent" % (kill, sid, n))
                daemon.start()
                # Tidied by a thread right after start (the scan must not delay
                # start-up). The writers go on at once, making temp files of
                # their own: only the ones the crash left must be gone.
                deadline = time.monotonic() + 5
                while leftovers & set(os.listdir(self.state_dir)) and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.assertEqual(leftovers & set(os.listdir(self.state_dir)), set(),
                                 "kill %d: leftover temp files survived the restart" % kill)
        finally:
            stop.set()
            for w in writers:
                w.join(10)
        for w in writers:
            self.assertEqual(w.errors, [])
            self.assertGreater(w.acked, KILLS, "too little load to mean anything")
            self.assertEqual(json.loads(self.curl(path=resource_path(w.sid)).body)["pre_webhook_url"],
                             "https://crash.example/%s/%d" % (w.sid, w.acked))
        print("\n  crash safety: %d SIGKILLs survived, %d updates answered 200, %d leftover temp files "
              "found and cleaned at restart" % (KILLS, sum(w.acked for w in writers), leftovers_seen), flush=True)
