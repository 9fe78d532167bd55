"""The official python helper library (Debian's python3-twilio), pointed at the
stack exactly as the README tells users to: a service's webhooks, and the
account's global webhooks (client.conversations.v1.configuration.webhooks())."""
import os

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from e2e.support import (ACCOUNT, EMPTY_SID, KEY, KEY_SECRET, MISSING_SID, OTHER_ACCOUNT, OTHER_KEY, OTHER_KEY_SECRET,
                         OTHER_TOKEN, REFERENCE_STATE, SID, TOKEN, StackCase)


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


class PythonClientGlobalWebhooksTest(StackCase):
    """client.conversations.v1.configuration.webhooks(): fetch and update."""

    def setUp(self):
        for var in ("TWILIO_EDGE", "TWILIO_REGION"):
            os.environ.pop(var, None)
        for account in (ACCOUNT, OTHER_ACCOUNT):
            path = os.path.join(self.state_dir, account + ".yaml")
            if os.path.exists(path):
                os.remove(path)

    def webhooks(self, user=ACCOUNT, secret=TOKEN, account=ACCOUNT):
        client = Client(user, secret, account_sid=account)
        client.conversations.base_url = self.base
        return client.conversations.v1.configuration.webhooks()

    def test_fetch_update_fetch(self):
        w = self.webhooks().fetch()  # never set: the defaults
        self.assertEqual((w.account_sid, w.pre_webhook_url, w.post_webhook_url, w.method, w.filters, w.target),
                         (ACCOUNT, None, None, "POST", [], "webhook"))
        self.assertEqual(w.url, self.base + "/v1/Configuration/Webhooks")
        u = self.webhooks().update(target="flex", filters=["onConversationUpdated", "onUserAdded"], method="GET",
                                   pre_webhook_url="https://example.com/pre",
                                   post_webhook_url="http://example.com/post")
        self.assertEqual((u.pre_webhook_url, u.post_webhook_url, u.method, u.filters, u.target),
                         ("https://example.com/pre", "http://example.com/post", "GET",
                          ["onConversationUpdated", "onUserAdded"], "flex"))
        again = self.webhooks().fetch()
        self.assertEqual((again.filters, again.target, again.method), (u.filters, "flex", "GET"))
        partial = self.webhooks().update(target="webhook")
        self.assertEqual((partial.target, partial.filters), ("webhook", u.filters))

    def test_errors(self):
        with self.assertRaises(TwilioRestException) as caught:
            self.webhooks().update(target="studio")
        self.assertEqual((caught.exception.status, caught.exception.code), (400, 20001))
        self.assertIn("Invalid Target: studio", caught.exception.msg)
        with self.assertRaises(TwilioRestException) as caught:
            self.webhooks(secret="wrong").fetch()
        self.assertEqual((caught.exception.status, caught.exception.code), (401, 20003))
        self.assertFalse(os.path.exists(os.path.join(self.state_dir, ACCOUNT + ".yaml")))

    def test_on_user_added_here_and_refused_on_the_service_path(self):
        self.assertEqual(self.webhooks().update(filters=["onUserAdded"]).filters, ["onUserAdded"])
        service = Client(ACCOUNT, TOKEN)
        service.conversations.base_url = self.base
        with self.assertRaises(TwilioRestException) as caught:
            service.conversations.v1.services(SID).configuration.webhooks().update(filters=["onUserAdded"])
        self.assertEqual((caught.exception.status, caught.exception.code), (400, 50365))

    def test_another_accounts_credentials_see_their_own_settings_only(self):
        self.webhooks().update(target="flex", post_webhook_url="https://example.com/mine")
        theirs = self.webhooks(OTHER_ACCOUNT, OTHER_TOKEN, OTHER_ACCOUNT).fetch()
        self.assertEqual((theirs.account_sid, theirs.target, theirs.post_webhook_url), (OTHER_ACCOUNT, "webhook", None))
        by_key = self.webhooks(OTHER_KEY, OTHER_KEY_SECRET, OTHER_ACCOUNT).update(method="GET")
        self.assertEqual((by_key.account_sid, by_key.method), (OTHER_ACCOUNT, "GET"))
        mine = self.webhooks(KEY, KEY_SECRET).fetch()
        self.assertEqual((mine.account_sid, mine.target, mine.method), (ACCOUNT, "flex", "POST"))
