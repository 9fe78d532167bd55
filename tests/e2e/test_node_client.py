"""The official node helper library (twilio-node 5.13.1 from the npm
registry, installed by this test into build/npm/ when it is not there yet),
pointed at the stack as the README tells users to, on the account's global
webhooks (client.conversations.v1.configuration.webhooks()): a never-set
account, an update, a fetch again, an invalid Target, onUserAdded accepted
here and refused on the service path, and another account's credentials
seeing their own settings only. No node or npm, or no package, is a failure,
never a skip: the issue asks for this client."""
import json
import os
import shutil
import subprocess

from e2e.support import ACCOUNT, OTHER_ACCOUNT, OTHER_TOKEN, SID, TOKEN, StackCase
from harness.stack import REPO

VERSION = "5.13.1"
PREFIX = os.path.join(REPO, "build", "npm", "twilio-" + VERSION)

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


def ensure_twilio_node():
    """twilio-node VERSION under PREFIX, installed with npm on first use."""
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            raise AssertionError("%s is not installed (make deps-test installs it)" % tool)
    package = os.path.join(PREFIX, "node_modules", "twilio", "package.json")
    if os.path.exists(package):
        with open(package) as f:
            if json.load(f).get("version") == VERSION:
                return
    os.makedirs(PREFIX, exist_ok=True)
    r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", PREFIX,
                        "twilio@" + VERSION], capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or not os.path.exists(package):
        raise AssertionError("npm could not install twilio@%s:\n%s%s" % (VERSION, r.stdout, r.stderr))


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
