"""The official python helper library (Debian's python3-twilio), pointed at the
stack exactly as the README tells users to."""
import os

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from e2e.support import ACCOUNT, EMPTY_SID, KEY, KEY_SECRET, MISSING_SID, REFERENCE_STATE, SID, TOKEN, StackCase


class PythonClientTest(StackCase):
    def setUp(self):
        for var in ("TWILIO_EDGE", "TWILIO_REGION"):  # they would rewrite the host
            os.environ.pop(var, None)
        self.write_state(REFERENCE_STATE)

    def client(self, user=ACCOUNT, secret=TOKEN):
        client = Client(user, secret, account_sid=ACCOUNT)
        client.conversations.base_url = self.base
        return client

    def webhooks(self, sid=SID, **auth):
        return self.client(**auth).conversations.v1.services(sid).configuration.webhooks()

    def test_fetch(self):
        w = self.webhooks().fetch()
        self.assertEqual(w.account_sid, ACCOUNT)
        self.assertEqual(w.chat_service_sid, SID)
        self.assertEqual(w.pre_webhook_url, "https://www.example.com/pre")
        self.assertEqual(w.post_webhook_url, "https://www.example.com/post")
        self.assertEqual(w.filters, ["onMessageRemove", "onParticipantAdd"])
        self.assertEqual(w.method, "POST")
        self.assertEqual(w.url, self.base + "/v1/Services/%s/Configuration/Webhooks" % SID)

    def test_fetch_never_configured(self):
        w = self.webhooks(EMPTY_SID).fetch()
        self.assertIsNone(w.pre_webhook_url)
        self.assertIsNone(w.filters)
        self.assertIsNone(w.method)

    def test_update_as_in_the_reference_page(self):
        w = self.webhooks().update(filters=["onConversationUpdated", "onMessageRemoved"], method="POST",
                                   post_webhook_url="https://example.com/archive-every-action",
                                   pre_webhook_url="https://example.com/filtering-and-permissions")
        self.assertEqual(w.filters, ["onConversationUpdated", "onMessageRemoved"])
        self.assertEqual(w.pre_webhook_url, "https://example.com/filtering-and-permissions")
        self.assertEqual(w.post_webhook_url, "https://example.com/archive-every-action")
        again = self.webhooks().fetch()
        self.assertEqual(again.filters, w.filters)

    def test_partial_update_and_clearing(self):
        w = self.webhooks().update(method="get")
        self.assertEqual(w.method, "GET")
        self.assertEqual(w.filters, ["onMessageRemove", "onParticipantAdd"])
        w = self.webhooks().update(pre_webhook_url="")
        self.assertIsNone(w.pre_webhook_url)

    def test_update_with_an_empty_list_is_an_empty_update(self):
        # python sends this one as a POST with no body headers at all.
        w = self.webhooks().update(filters=[])
        self.assertEqual(w.filters, ["onMessageRemove", "onParticipantAdd"])

    def test_api_key(self):
        self.assertEqual(self.webhooks(user=KEY, secret=KEY_SECRET).fetch().method, "POST")

    def test_errors_arrive_as_twilio_rest_exceptions(self):
        rows = [("unknown service", dict(sid=MISSING_SID), 404, 20404),
                ("malformed sid", dict(sid="ISnotfound"), 404, 20404),
                ("bad token", dict(secret="wrong"), 401, 20003)]
        for name, kw, status, code in rows:
            with self.subTest(name):
                with self.assertRaises(TwilioRestException) as caught:
                    self.webhooks(**kw).fetch()
                self.assertEqual(caught.exception.status, status)
                self.assertEqual(caught.exception.code, code)
        with self.assertRaises(TwilioRestException) as caught:
            self.webhooks().update(filters=["onBogus"])
        self.assertEqual((caught.exception.status, caught.exception.code), (400, 50365))
        with self.assertRaises(TwilioRestException) as caught:
            self.webhooks().update(pre_webhook_url="not a url")
        self.assertEqual(caught.exception.code, 50077)
