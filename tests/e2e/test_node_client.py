"""The official node helper library (twilio-node 5.13.1 and every package it
pulls in, pinned with their checksums by tests/e2e/node/package-lock.json,
installed by `npm ci` into build/npm/ when that is not there yet), pointed
at the stack as the README tells users to, on the account's global
webhooks (client.conversations.v1.configuration.webhooks()): a never-set
account, an update, a fetch again, an invalid Target, onUserAdded accepted
here and refused on the service path, and another account's credentials
seeing their own settings only. No node or npm, or no package, is a failure,
never a skip: the issue asks for this client."""
import filecmp
import json
import os
import shutil
import subprocess

from e2e.support import ACCOUNT, OTHER_ACCOUNT, OTHER_TOKEN, SID, TOKEN, StackCase
from harness.stack import REPO

VERSION = "5.13.1"
PINNED = os.path.join(REPO, "tests", "e2e", "node")  # package.json + package-lock.json, committed
PREFIX = os.path.join(REPO, "build", "npm", "node-client")
# Each step's outcome as one JSON line: the resource's fields, or the error
# the client raised (status, code, message).
SCRIPT = r"""
const twilio = require("twilio");
const [base, sid, account, token, other, otherToken] = JSON.parse(process.env.WEBHOOKD_NODE_ARGS);
function client(user, secret) {
  const c = twilio(user, secret);
  c.conversations.baseUrl = base;
  return c;
}
const mine = client(account, token), theirs = client(other, otherToken);
const globalHooks = (c) => c.conversations.v1.configuration.webhooks();
const fields = (w) => ({account_sid: w.accountSid, pre_webhook_url: w.preWebhookUrl, post_webhook_url: w.postWebhookUrl,
                        method: w.method, filters: w.filters, target: w.target, url: w.url});
async function step(name, f) {
  try {
    console.log(JSON.stringify({step: name, ok: fields(await f())}));
  } catch (e) {
    console.log(JSON.stringify({step: name, error: {status: e.status, code: e.code, message: e.message}}));
  }
}
(async () => {
  await step("fetch never set", () => globalHooks(mine).fetch());
  await step("update", () => globalHooks(mine).update({target: "flex", filters: ["onConversationUpdated", "onUserAdded"],
                                                  method: "GET", preWebhookUrl: "https://example.com/pre",
                                                  postWebhookUrl: "http://example.com/post"}));
  await step("fetch again", () => globalHooks(mine).fetch());
  await step("invalid target", () => globalHooks(mine).update({target: "studio"}));
  await step("onUserAdded here", () => globalHooks(mine).update({filters: ["onUserAdded"]}));
  await step("onUserAdded on the service path",
             () => mine.conversations.v1.services(sid).configuration.webhooks().update({filters: ["onUserAdded"]}));
  await step("another account", () => globalHooks(theirs).fetch());
})();
"""


def installed():
    """What `npm ci` put under PREFIX is the committed lock's, whole."""
    if not os.path.exists(os.path.join(PREFIX, ".installed")):
        return False
    return all(filecmp.cmp(os.path.join(PINNED, n), os.path.join(PREFIX, n), shallow=False)
               for n in ("package.json", "package-lock.json"))


def ensure_twilio_node():
    """twilio-node VERSION and its dependencies under PREFIX, exactly as the
    lock pins them (npm ci: versions and integrity checksums; it refuses a
    lock that disagrees with package.json). Done again when the lock changes."""
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            raise AssertionError("%s is not installed (make deps-test installs it)" % tool)
    if installed():
        return
    shutil.rmtree(PREFIX, ignore_errors=True)
    os.makedirs(PREFIX)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(os.path.join(PINNED, name), os.path.join(PREFIX, name))
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PREFIX, capture_output=True, text=True,
                       timeout=600)
    package = os.path.join(PREFIX, "node_modules", "twilio", "package.json")
    if r.returncode != 0 or not os.path.exists(package):
        raise AssertionError("npm ci could not install %s:\n%s%s" % (PINNED, r.stdout, r.stderr))
    with open(package) as f:
        version = json.load(f).get("version")
    if version != VERSION:
        raise AssertionError("the lock in %s installs twilio %s, not %s" % (PINNED, version, VERSION))
    open(os.path.join(PREFIX, ".installed"), "w").close()


class NodeClientGlobalWebhooksTest(StackCase):
    @classmethod
    def setUpClass(cls):
        ensure_twilio_node()
        super().setUpClass()

    def run_script(self):
        env = {k: v for k, v in os.environ.items() if k not in ("TWILIO_EDGE", "TWILIO_REGION")}
        env["NODE_PATH"] = os.path.join(PREFIX, "node_modules")
        env["WEBHOOKD_NODE_ARGS"] = json.dumps([self.base, SID, ACCOUNT, TOKEN, OTHER_ACCOUNT, OTHER_TOKEN])
        r = subprocess.run(["node", "-e", SCRIPT],
                           capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return {s["step"]: s for s in map(json.loads, r.stdout.splitlines())}

    def test_every_package_is_the_one_the_lock_pins(self):
        """Review 19, finding 6: `npm install twilio@5.13.1` at test time
        left its dependencies to whatever the registry had that day. Each
        package installed is now the lock's version, and the lock names a
        checksum for each."""
        with open(os.path.join(PINNED, "package-lock.json")) as f:
            lock = json.load(f)["packages"]
        self.assertEqual(lock["node_modules/twilio"]["version"], VERSION)
        found = set()
        for root, _, files in os.walk(os.path.join(PREFIX, "node_modules")):
            parts = os.path.relpath(root, PREFIX).split(os.sep)
            # A package's own directory: node_modules/NAME or node_modules/@SCOPE/NAME, nested or not.
            package_dir = (len(parts) >= 2 and parts[-2] == "node_modules") or \
                (len(parts) >= 3 and parts[-3] == "node_modules" and parts[-2].startswith("@"))
            if package_dir and "package.json" in files:
                with open(os.path.join(root, "package.json")) as f:
                    found.add(("/".join(parts), json.load(f)["version"]))
        pinned = {(name, entry["version"]) for name, entry in lock.items() if name}
        self.assertGreater(len(pinned), 1)
        self.assertEqual(found, pinned)
        self.assertEqual([name for name, entry in lock.items() if name and not entry.get("integrity")], [])

    def test_fetch_update_and_errors(self):
        account_file = os.path.join(self.state_dir, ACCOUNT + ".yaml")
        self.assertFalse(os.path.exists(account_file))
        steps = self.run_script()
        url = self.base + "/v1/Configuration/Webhooks"
        self.assertEqual(steps["fetch never set"]["ok"], {
            "account_sid": ACCOUNT, "pre_webhook_url": None, "post_webhook_url": None, "method": "POST",
            "filters": [], "target": "webhook", "url": url})
        updated = {"account_sid": ACCOUNT, "pre_webhook_url": "https://example.com/pre",
                   "post_webhook_url": "http://example.com/post", "method": "GET",
                   "filters": ["onConversationUpdated", "onUserAdded"], "target": "flex", "url": url}
        self.assertEqual(steps["update"]["ok"], updated)
        self.assertEqual(steps["fetch again"]["ok"], updated)
        self.assertEqual(steps["invalid target"]["error"],
                         {"status": 400, "code": 20001, "message": "Invalid Target: studio"})
        self.assertEqual(steps["onUserAdded here"]["ok"]["filters"], ["onUserAdded"])
        self.assertEqual(steps["onUserAdded on the service path"]["error"],
                         {"status": 400, "code": 50365, "message": "Invalid filter: onUserAdded"})
        self.assertEqual(steps["another account"]["ok"], {
            "account_sid": OTHER_ACCOUNT, "pre_webhook_url": None, "post_webhook_url": None, "method": "POST",
            "filters": [], "target": "webhook", "url": url})
        with open(account_file) as f:
            self.assertIn("target: flex\n", f.read())
        self.assertFalse(os.path.exists(os.path.join(self.state_dir, OTHER_ACCOUNT + ".yaml")))


if __name__ == "__main__":
    import unittest
    unittest.main()
