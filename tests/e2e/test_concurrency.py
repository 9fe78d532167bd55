"""No lost updates under concurrency, through nginx: N processes x M threads
doing read-modify-write with If-Match (each owning one filter name), against
one webhookd and against two webhookd processes on two sockets that share one
state directory."""
import http.client
import json
import multiprocessing
import threading

from e2e.support import ACCOUNT, BASIC_AUTH, StackCase, resource_path

FILTERS = ["onParticipantAdd", "onParticipantAdded", "onDeliveryUpdated", "onConversationUpdated",
           "onConversationRemove", "onParticipantRemove", "onConversationUpdate", "onMessageAdd",
           "onMessageRemoved", "onParticipantUpdated", "onConversationAdded", "onMessageAdded",
           "onConversationAdd", "onConversationRemoved", "onParticipantUpdate", "onMessageRemove",
           "onMessageUpdated", "onParticipantRemoved", "onMessageUpdate", "onConversationStateUpdated"]
PROCESSES, THREADS, TOGGLES = 4, 5, 6


def _toggle(port, name, toggles):
    """Takes `name` out of the filter list and puts it back, `toggles` times,
    each time as GET + POST with If-Match, retrying on 412."""
    conflicts = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(toggles):
        want = i % 2 == 1  # out, in, out, ..., ends in
        while True:
            conn.request("GET", resource_path(), headers={"Authorization": BASIC_AUTH})
            r = conn.getresponse()
            doc, etag = json.loads(r.read()), r.getheader("ETag")
            filters = [f for f in doc["filters"] if f != name] + ([name] if want else [])
            body = "&".join("Filters=" + f for f in filters) if filters else "Filters="
            conn.request("POST", resource_path(), body, {"Authorization": BASIC_AUTH, "If-Match": etag,
                                                         "Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                break
            if r.status != 412:
                return "%s: status %d" % (name, r.status), conflicts
            conflicts += 1
    conn.close()
    return None, conflicts


def _process(port, names, toggles):
    results = [None] * len(names)

    def run(i):
        results[i] = _toggle(port, names[i], toggles)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


class Writers(StackCase):
    """The shared workload; no tests of its own, so it starts no stack."""
    workers = 8

    def run_writers(self):
        self.write_state("account_sid: %s\nfilters: []\n" % ACCOUNT)
        groups = [FILTERS[p * THREADS:(p + 1) * THREADS] for p in range(PROCESSES)]
        with multiprocessing.Pool(PROCESSES) as pool:
            results = pool.starmap(_process, [(self.stack.port, g, TOGGLES) for g in groups])
        flat = [r for group in results for r in group]
        self.assertEqual([e for e, _ in flat if e], [])
        doc = json.loads(self.curl().body)
        self.assertEqual(sorted(doc["filters"]), sorted(FILTERS))
        self.assertEqual(len(doc["filters"]), len(FILTERS))
        return sum(c for _, c in flat)


class OneWebhookdTest(Writers):
    def test_processes_and_threads_through_one_webhookd(self):
        conflicts = self.run_writers()
        print("\n  %d x %d writers, %d conflicts answered 412 and retried" % (PROCESSES, THREADS, conflicts))


class TwoWebhookdOneStateDirTest(Writers):
    instances = 2

    def test_two_webhookd_processes_share_the_state_dir(self):
        conflicts = self.run_writers()
        for w in self.stack.instances:
            w.stop()  # flushes its request log
        served = [sum(1 for l in w.log().splitlines() if l.startswith("POST ")) for w in self.stack.instances]
        self.assertTrue(all(n > 0 for n in served), "nginx should have used both: %s" % served)
        print("\n  two webhookd processes served %s POSTs, %d conflicts retried" % (served, conflicts))
