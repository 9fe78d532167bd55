"""webhookctl fire against a receiver on loopback that checks every request
with Twilio's own twilio.request_validator.RequestValidator (Debian's
python3-twilio): POST and GET events, URLs with a port, a path and a query
of their own; invalid with the wrong token. The parameters of each event
type against a table from Twilio's Conversations Webhooks documentation.
The effective hooks: a service with no URL fires its account's global
webhook; a service with a URL, its own; an account routed to Flex is refused.
Refusals: an event not in the filters, an unset URL, a token that does not
match the digest, an endpoint that refuses or does not answer in time."""
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from twilio.request_validator import RequestValidator

from e2e.support import ACCOUNT, SID, TOKEN, WEBHOOKCTL, write_config
from harness.stack import free_port

COMMON = {"EventType", "AccountSid", "ChatServiceSid", "Source"}
# Twilio's Conversations Webhooks page: what each event carries beyond the
# common parameters (optional ones such as Media and ClientIdentity left out).
CONVERSATION = {"ConversationSid", "MessagingServiceSid", "FriendlyName", "UniqueName", "Attributes", "DateCreated",
                "DateUpdated", "State"}
MESSAGE = {"ConversationSid", "MessageSid", "MessagingServiceSid", "Index", "Author", "Body", "Attributes",
           "DateCreated", "DateUpdated", "ParticipantSid"}
PARTICIPANT = {"ConversationSid", "ParticipantSid", "MessagingServiceSid", "DateCreated", "DateUpdated", "Identity",
               "RoleSid", "Attributes", "LastReadMessageIndex", "MessagingBinding.Address",
               "MessagingBinding.ProxyAddress"}
DOCUMENTED = {
    "onConversationAdd": {"MessagingServiceSid", "FriendlyName", "UniqueName", "Attributes", "DateCreated", "State",
                          "MessagingBinding.Address", "MessagingBinding.ProxyAddress"},
    "onConversationAdded": {"ConversationSid", "MessagingServiceSid", "FriendlyName", "UniqueName", "Attributes",
                            "DateCreated", "State", "MessagingBinding.Address", "MessagingBinding.ProxyAddress"},
    "onConversationUpdate": CONVERSATION, "onConversationUpdated": CONVERSATION,
    "onConversationRemove": CONVERSATION, "onConversationRemoved": CONVERSATION,
    "onConversationStateUpdated": {"ConversationSid", "MessagingServiceSid", "StateFrom", "StateTo", "Reason",
                                   "DateCreated", "DateUpdated"},
    "onMessageAdd": {"ConversationSid", "MessagingServiceSid", "Author", "Body", "Attributes", "ParticipantSid"},
    "onMessageAdded": {"ConversationSid", "MessageSid", "MessagingServiceSid", "Index", "Author", "Body", "Attributes",
                       "DateCreated", "ParticipantSid"},
    "onMessageUpdate": MESSAGE, "onMessageUpdated": MESSAGE, "onMessageRemove": MESSAGE, "onMessageRemoved": MESSAGE,
    "onParticipantAdd": {"ConversationSid", "MessagingServiceSid", "Identity", "RoleSid", "Attributes",
                         "MessagingBinding.Address", "MessagingBinding.ProxyAddress"},
    "onParticipantAdded": {"ConversationSid", "ParticipantSid", "MessagingServiceSid", "DateCreated", "Identity",
                           "RoleSid", "Attributes", "MessagingBinding.Address", "MessagingBinding.ProxyAddress"},
    "onParticipantUpdate": PARTICIPANT, "onParticipantUpdated": PARTICIPANT,
    "onParticipantRemove": PARTICIPANT, "onParticipantRemoved": PARTICIPANT,
    "onDeliveryUpdated": {"ConversationSid", "MessageSid", "MessageIndex", "DeliveryReceiptSid", "ParticipantSid",
                          "Status", "ErrorCode", "DateCreated", "DateUpdated"},
}
PRE_EVENTS = {e for e in DOCUMENTED if not e.endswith("ed")}


class Receiver:
    """An HTTP server on loopback that records each request and answers as told."""

    def __init__(self):
        self.requests, self.status, self.delay, self.location = [], 200, 0, None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                receiver.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                          "body": body})
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Type", "application/json")
                answer = b'{"body": "modified by the endpoint"}'
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = handle_one

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def valid(self, request, token):
        """Twilio's own validator on what arrived, as the endpoint sees it."""
        url = "http://127.0.0.1:%d%s" % (self.port, request["path"])
        params = dict(urllib.parse.parse_qsl(request["body"], keep_blank_values=True)) if request["method"] == "POST" else {}
        return RequestValidator(token).validate(url, params, request["headers"].get("X-Twilio-Signature", ""))

    def params(self, request):
        text = request["body"] if request["method"] == "POST" else urllib.parse.urlsplit(request["path"]).query
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


class FireTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="webhookd-fire-")
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(self.state)
        self.config = write_config(self.tmp, self.state)
        self.receiver = Receiver()
        self.token_file = os.path.join(self.tmp, "token")
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")

    def tearDown(self):
        self.receiver.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def configure(self, method="POST", filters=None, pre="/pre?tenant=a&x=1", post="/hooks/post?tenant=a"):
        base = "http://127.0.0.1:%d" % self.receiver.port
        lines = ["account_sid: %s" % ACCOUNT,
                 "pre_webhook_url: %s" % (json.dumps(base + pre) if pre else "null"),
                 "post_webhook_url: %s" % (json.dumps(base + post) if post else "null"),
                 "filters: [%s]" % ", ".join(filters if filters is not None else DOCUMENTED), "method: %s" % method]
        with open(os.path.join(self.state, SID + ".yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def configure_account(self, method="POST", filters=("onMessageAdded",), pre=None, post="/global/post?g=1",
                          target="webhook"):
        """The account's global webhooks (AC….yaml), pointed at the receiver."""
        base = "http://127.0.0.1:%d" % self.receiver.port
        lines = ["pre_webhook_url: %s" % (json.dumps(base + pre) if pre else "null"),
                 "post_webhook_url: %s" % (json.dumps(base + post) if post else "null"),
                 "filters: [%s]" % ", ".join(filters), "method: %s" % method, "target: %s" % target]
        with open(os.path.join(self.state, ACCOUNT + ".yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def fire(self, *args, token=TOKEN):
        return subprocess.run([WEBHOOKCTL, "fire", SID, "--config", self.config] + list(args), input=token + "\n",
                              capture_output=True, text=True, timeout=60)

    def test_post_event_is_signed_as_twilio_signs(self):
        self.configure("POST")
        r = self.fire("--event", "onMessageAdded", "--param", "Body=hello & welcome")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(self.receiver.requests), 1)
        req = self.receiver.requests[0]
        self.assertEqual((req["method"], req["path"]), ("POST", "/hooks/post?tenant=a"))
        self.assertTrue(self.receiver.valid(req, TOKEN), "Twilio's validator refused the signature")
        self.assertFalse(self.receiver.valid(req, "not-the-token"), "a wrong token must not validate")
        self.assertEqual(req["headers"]["User-Agent"], "TwilioProxy/1.1")
        self.assertEqual(req["headers"]["Content-Type"], "application/x-www-form-urlencoded")
        params = self.receiver.params(req)
        self.assertEqual(params["Body"], "hello & welcome")
        self.assertEqual(params["EventType"], "onMessageAdded")
        self.assertRegex(params["MessageSid"], r"^IM[0-9a-f]{32}$")
        self.assertIn("<- 200 in", r.stdout)
        self.assertIn("Twilio would count the event delivered", r.stdout)
        self.assertNotIn(TOKEN, r.stdout + r.stderr)

    def test_get_event_is_signed_with_its_query_string(self):
        self.configure("GET")
        r = self.fire("--event", "onMessageAdd", "--token-file", self.token_file, token="")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        req = self.receiver.requests[0]
        self.assertEqual(req["method"], "GET")
        self.assertTrue(req["path"].startswith("/pre?tenant=a&x=1&EventType=onMessageAdd&"), req["path"])
        self.assertEqual(req["body"], "")
        self.assertTrue(self.receiver.valid(req, TOKEN), "Twilio's validator refused the signature")
        self.assertFalse(self.receiver.valid(req, "not-the-token"))
        self.assertIn("Twilio would let the action go ahead", r.stdout)

    def test_a_fragment_is_neither_sent_nor_signed(self):
        # No HTTP client sends a #fragment (curl drops it): the event's GET
        # parameters must go before it, and the signature must cover the URL
        # the receiver actually sees.
        for method, url, event, path in (("GET", "/pre?tenant=a#section", "onMessageAdd", "/pre?tenant=a&"),
                                         ("GET", "/pre#a?b=1", "onMessageAdd", "/pre?EventType="),
                                         ("POST", "/hooks/post?tenant=a#section", "onMessageAdded", None)):
            with self.subTest(method=method, url=url):
                self.configure(method, pre=url, post=url)
                r = self.fire("--event", event, "--json")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                req = self.receiver.requests[-1]
                self.assertEqual(req["method"], method)
                self.assertTrue(self.receiver.valid(req, TOKEN), "Twilio's validator refused the signature")
                params = self.receiver.params(req)
                self.assertEqual(params.get("EventType"), event, req)
                self.assertEqual(params.get("ChatServiceSid"), SID)
                if path:
                    self.assertTrue(req["path"].startswith(path), req["path"])
                else:
                    self.assertEqual(req["path"], "/hooks/post?tenant=a")
                self.assertNotIn("#", json.loads(r.stdout)["url"])  # what it says it sent is what it sent

    def test_parameters_of_every_event_match_the_documentation(self):
        self.configure("POST")
        for event, documented in sorted(DOCUMENTED.items()):
            with self.subTest(event):
                r = self.fire("--event", event, "--json")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                out = json.loads(r.stdout)
                self.assertTrue(out["ok"])
                req = self.receiver.requests[-1]
                self.assertEqual(set(self.receiver.params(req)), COMMON | documented)
                self.assertTrue(self.receiver.valid(req, TOKEN))
                expected = "/pre?tenant=a&x=1" if event in PRE_EVENTS else "/hooks/post?tenant=a"
                self.assertEqual(req["path"], expected)

    def test_a_rejecting_pre_event_endpoint_is_reported(self):
        self.configure("POST")
        self.receiver.status = 403
        r = self.fire("--event", "onParticipantAdd")
        self.assertEqual(r.returncode, 1)
        self.assertIn("<- 403", r.stdout)
        self.assertIn("Twilio would reject the action", r.stdout)

    def test_redirects_are_not_followed(self):
        self.configure("POST")
        self.receiver.status, self.receiver.location = 302, "/elsewhere"
        r = self.fire("--event", "onMessageAdded")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(self.receiver.requests), 1)
        self.assertIn("<- 302", r.stdout)

    def test_refusals(self):
        self.configure("POST", filters=["onMessageAdded"], post="/hooks/post")
        r = self.fire("--event", "onMessageUpdated")
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s: onMessageUpdated is not in the service's filters" % SID, r.stderr)
        self.assertIn("--anyway", r.stderr)
        r = self.fire("--event", "onMessageUpdated", "--anyway")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.configure("POST", pre=None)
        r = self.fire("--event", "onMessageAdd", "--anyway")
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s: pre_webhook_url is not set at the service level" % SID, r.stderr)
        self.configure("POST")
        sent = len(self.receiver.requests)
        r = self.fire("--event", "onMessageAdded", token="a-typo")
        self.assertEqual(r.returncode, 1)
        self.assertIn("does not match account %s's digest" % ACCOUNT, r.stderr)
        self.assertNotIn("a-typo", r.stdout + r.stderr)
        self.assertEqual(len(self.receiver.requests), sent, "nothing may be sent with a wrong token")
        self.assertEqual(self.fire("--event", "onNothing").returncode, 2)
        # Review 19, finding 5: an account's SID was read as a service and
        # failed with "not a service or account SID: " (an empty SID). It is
        # bad usage, as for show, with the usage printed; nothing is sent.
        for sid in (ACCOUNT, "ISnot-a-sid"):
            with self.subTest(sid):
                r = subprocess.run([WEBHOOKCTL, "fire", sid, "--event", "onMessageAdded", "--config", self.config],
                                   input=TOKEN + "\n", capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("webhookctl: SID must be IS followed by 32 hex digits: events happen in a service",
                              r.stderr)
                self.assertIn("usage: webhookctl fire SID", r.stderr)
                self.assertNotIn("not a service or account SID", r.stderr)
        self.assertEqual(len(self.receiver.requests), sent)
        self.assertEqual(subprocess.run([WEBHOOKCTL, "fire", SID, "--event", "onMessageAdded", "--state-dir",
                                         self.state], capture_output=True, text=True).returncode, 2)

    def test_a_service_without_urls_fires_its_accounts_global_webhook(self):
        # The service sets filters but no URL: the account's global webhook
        # is the one in effect, signed with the account's token as any other.
        self.configure("POST", filters=["onMessageUpdated"], pre=None, post=None)
        self.configure_account("GET", filters=["onMessageAdded", "onUserAdded"])
        r = self.fire("--event", "onMessageAdded")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(self.receiver.requests), 1)
        req = self.receiver.requests[0]
        self.assertEqual(req["method"], "GET")
        self.assertTrue(req["path"].startswith("/global/post?g=1&EventType=onMessageAdded&"), req["path"])
        self.assertTrue(self.receiver.valid(req, TOKEN), "Twilio's validator refused the signature")
        self.assertFalse(self.receiver.valid(req, "not-the-token"))
        self.assertEqual(self.receiver.params(req)["ChatServiceSid"], SID)
        self.assertIn("# from the account's global webhooks (%s): %s sets no URL of its own" % (ACCOUNT, SID), r.stdout)
        out = json.loads(self.fire("--event", "onMessageAdded", "--json").stdout)
        self.assertEqual((out["source"], out["method"]), ("account", "GET"))
        # The account's filters are the ones in effect, not the service's.
        r = self.fire("--event", "onMessageUpdated")
        self.assertEqual(r.returncode, 1)
        self.assertIn("onMessageUpdated is not in the account's filters", r.stderr)
        # A URL on the service takes over: the account's never fire for it.
        self.configure("POST", filters=["onMessageAdded"], pre=None, post="/hooks/post")
        r = self.fire("--event", "onMessageAdded", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["source"], "service")
        self.assertEqual(self.receiver.requests[-1]["path"], "/hooks/post")
        self.assertEqual(self.receiver.requests[-1]["method"], "POST")

    def test_flex_and_no_url_anywhere_are_refused_naming_why(self):
        self.configure("POST", pre=None, post=None)
        self.configure_account(target="flex")
        for extra in ((), ("--anyway",)):
            r = self.fire("--event", "onMessageAdded", *extra)
            self.assertEqual(r.returncode, 1)
            self.assertIn("the account's target is flex: Twilio routes its events to Flex and sends no webhook",
                          r.stderr)
        os.remove(os.path.join(self.state, ACCOUNT + ".yaml"))  # never set: no URL at either level
        r = self.fire("--event", "onMessageAdded", "--anyway")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no webhook URL is set, neither on the service nor on the account", r.stderr)
        self.assertEqual(self.receiver.requests, [], "nothing may be sent")
        # A service with its own URL is not routed to Flex by its account.
        self.configure("POST", filters=["onMessageAdded"], pre=None, post="/hooks/post")
        self.configure_account(target="flex")
        r = self.fire("--event", "onMessageAdded")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.receiver.requests[-1]["path"], "/hooks/post")

    def test_an_endpoint_that_is_down_or_slow(self):
        closed = free_port()
        self.configure("POST", post="/x")
        with open(os.path.join(self.state, SID + ".yaml")) as f:
            text = f.read()
        with open(os.path.join(self.state, SID + ".yaml"), "w") as f:
            f.write(text.replace(":%d/x" % self.receiver.port, ":%d/x" % closed))
        r = self.fire("--event", "onMessageAdded")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no answer from", r.stderr)
        self.assertIn("Couldn't connect to server", r.stderr)
        self.configure("POST")
        self.receiver.delay = 3
        started = time.monotonic()
        r = self.fire("--event", "onMessageAdded", "--timeout", "1")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Timeout was reached", r.stderr)
        self.assertLess(time.monotonic() - started, 2.5)


if __name__ == "__main__":
    unittest.main()
