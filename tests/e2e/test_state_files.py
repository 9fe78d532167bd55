"""State files through the real stack: hand edits, broken edits, concurrent
writers from several processes."""
import json
import multiprocessing
import os
import subprocess
import urllib.parse

from e2e.support import ACCOUNT, REFERENCE_STATE, SID, TOKEN, StackCase, read, resource_path
from harness.stack import wait_for


def _post_many(base, field, values):
    """One writer process: POSTs its own field, one value after another, with curl."""
    for v in values:
        body = urllib.parse.urlencode([(field, v)])
        out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-u", "%s:%s" % (ACCOUNT, TOKEN),
                              "--data-raw", body, base + resource_path()], stdout=subprocess.PIPE, text=True)
        if out.stdout != "200":
            return "%s=%s answered %s" % (field, v, out.stdout)
    return None


class HandEditTest(StackCase):
    def setUp(self):
        self.write_state(REFERENCE_STATE)

    def test_a_hand_edit_is_seen_by_the_next_request(self):
        self.assertEqual(json.loads(self.curl().body)["method"], "POST")
        self.write_state("# edited by a person\naccount_sid: %s\nmethod: get\nfilters: [onMessageAdded]\n" % ACCOUNT)
        doc = json.loads(self.curl().body)
        self.assertEqual(doc["method"], "GET")
        self.assertEqual(doc["filters"], ["onMessageAdded"])
        self.assertIsNone(doc["pre_webhook_url"])

    def test_same_size_edits_in_quick_succession_are_all_seen(self):
        # Same size, within one clock tick: a cache keyed on mtime and size
        # alone would miss the second and third.
        for method, want in (("POST", "POST"), ("GET ", "GET"), ("POST", "POST")):
            self.write_state("account_sid: %s\nmethod: %s\n" % (ACCOUNT, method))
            self.assertEqual(json.loads(self.curl().body)["method"], want)

    def test_an_invalid_edit_answers_500_and_is_not_overwritten(self):
        broken = REFERENCE_STATE + "method: GET\n"  # a second method: yaml-cpp would silently keep the first
        self.write_state(broken)
        self.assertTwilioError(self.curl(), 500, 20500, "Internal Server Error")
        r = self.curl("--data-raw", "Method=GET")
        self.assertTwilioError(r, 500, 20500, "Internal Server Error")
        self.assertNotIn(b"duplicate", r.body)
        self.assertEqual(read(self.state_file()).decode(), broken)
        # The details went to the log (batched: within milliseconds), naming
        # file, line and problem.
        wanted = "%s.yaml:8:1: duplicate key 'method'" % SID
        wait_for(lambda: wanted in self.stack.webhookd.log(), 5, "the log line")
        self.write_state(REFERENCE_STATE)  # fixed by hand: works again at once
        self.assertEqual(self.curl().status, 200)

    def test_invalid_files_of_every_kind_answer_500(self):
        rows = {"unknown key": "account_sid: %s\nfriendly_name: x\n" % ACCOUNT,
                "anchor": "account_sid: &a %s\n" % ACCOUNT,
                "wrong type": "account_sid: %s\nfilters: onMessageAdded\n" % ACCOUNT,
                "bad value": "account_sid: %s\nmethod: PUT\n" % ACCOUNT,
                "no account": "method: GET\n",
                "not yaml": "account_sid: [\n"}
        for name, text in rows.items():
            with self.subTest(name):
                self.write_state(text)
                self.assertTwilioError(self.curl(), 500, 20500)
                self.assertEqual(read(self.state_file()).decode(), text)

    def test_what_webhookd_writes_is_canonical(self):
        self.write_state("method: get\naccount_sid: %s   # comment\n" % ACCOUNT)
        self.curl("--data-raw", "Filters=onMessageAdded&PreWebhookUrl=https://x/pre")
        self.assertEqual(read(self.state_file()).decode(),
                         "account_sid: %s\npre_webhook_url: https://x/pre\npost_webhook_url: null\n"
                         "filters:\n  - onMessageAdded\nmethod: GET\n" % ACCOUNT)
        names = sorted(os.listdir(self.state_dir))
        self.assertEqual([n for n in names if n.startswith("IS")], sorted(n for n in names if n.startswith("IS") and n.endswith(".yaml")))
        self.assertIn("." + SID + ".lock", names)  # the lock file, hidden and ignored by git


class ConcurrentWritersTest(StackCase):
    workers = 8

    def test_processes_updating_different_fields_lose_nothing(self):
        self.write_state("account_sid: %s\n" % ACCOUNT)
        rounds = 25
        plans = [("PreWebhookUrl", ["https://pre.example/%d" % i for i in range(rounds)]),
                 ("PostWebhookUrl", ["https://post.example/%d" % i for i in range(rounds)]),
                 ("Method", ["GET" if i % 2 else "POST" for i in range(rounds)]),
                 ("Filters", ["onMessageAdded" if i % 2 else "onMessageUpdated" for i in range(rounds)])]
        with multiprocessing.Pool(len(plans)) as pool:
            errors = pool.starmap(_post_many, [(self.base, f, vs) for f, vs in plans])
        self.assertEqual([e for e in errors if e], [])
        doc = json.loads(self.curl().body)
        self.assertEqual(doc["pre_webhook_url"], plans[0][1][-1])
        self.assertEqual(doc["post_webhook_url"], plans[1][1][-1])
        self.assertEqual(doc["method"], plans[2][1][-1])
        self.assertEqual(doc["filters"], [plans[3][1][-1]])
        leftovers = [n for n in os.listdir(self.state_dir) if ".tmp." in n]
        self.assertEqual(leftovers, [])
