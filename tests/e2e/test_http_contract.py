"""The contract's HTTP tables, row by row, with curl through the real nginx:
a service's webhooks, and the account's global webhooks
(/v1/Configuration/Webhooks, contract section 8)."""
import base64
import json
import os

from e2e.support import (ACCOUNT, EMPTY_SID, FOREIGN_SID, KEY, KEY_SECRET, MISSING_SID, OTHER_ACCOUNT,
                         OTHER_KEY, OTHER_KEY_SECRET, OTHER_TOKEN, REFERENCE_STATE, RESOURCE_KEYS, SID, TOKEN,
                         StackCase, read, resource_path)


def not_found(sid):
    return "The requested resource /Services/%s/Configuration/Webhooks was not found" % sid


class FetchTest(StackCase):
    def test_get_answers_the_resource_in_twilio_order(self):
        r = self.curl()
        self.assertEqual(r.status, 200)
        self.assertTwilioHeaders(r)
        self.assertEqual(r.body.decode(), (
            '{"account_sid":"%s","chat_service_sid":"%s","pre_webhook_url":"https://www.example.com/pre",'
            '"post_webhook_url":"https://www.example.com/post","filters":["onMessageRemove","onParticipantAdd"],'
            '"method":"POST","url":"%s%s"}') % (ACCOUNT, SID, self.base, resource_path()))
        self.assertRegex(r.headers["etag"], r'^"[0-9a-f]{32}"$')

    def test_never_configured_service_answers_nulls(self):
        doc = json.loads(self.curl(path=resource_path(EMPTY_SID)).body)
        self.assertEqual(list(doc.keys()), RESOURCE_KEYS)
        for key in ("pre_webhook_url", "post_webhook_url", "filters", "method"):
            self.assertIsNone(doc[key], key)

    def test_head_is_get_without_a_body(self):
        get = self.curl()
        head = self.curl("-I")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.headers["content-length"], str(len(get.body)))
        self.assertEqual(head.headers["etag"], get.headers["etag"])
        self.assertTwilioHeaders(head)
        # On the wire: nothing after the header block.
        answer = self.raw(b"HEAD %s HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\nConnection: close\r\n\r\n" % (
            resource_path().encode(), base64.b64encode(b"%s:%s" % (ACCOUNT.encode(), TOKEN.encode()))))
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer)
        self.assertTrue(answer.endswith(b"\r\n\r\n"), answer)

    def test_request_ids_are_fresh(self):
        ids = {self.curl().headers["twilio-request-id"] for _ in range(5)}
        self.assertEqual(len(ids), 5)

    def test_api_key_acts_for_its_account(self):
        self.assertEqual(self.curl(auth=(KEY, KEY_SECRET)).status, 200)
        self.assertTwilioError(self.curl(auth=(OTHER_KEY, OTHER_KEY_SECRET)), 404, 20404, not_found(SID))
        self.assertEqual(self.curl(path=resource_path(FOREIGN_SID), auth=(OTHER_KEY, OTHER_KEY_SECRET)).status, 200)

    def test_url_follows_the_request_host(self):
        r = self.curl("-H", "Host: conversations.example.org")
        self.assertEqual(json.loads(r.body)["url"], "http://conversations.example.org:%d%s" % (self.stack.port, resource_path()))

    def test_only_the_canonical_path_names_the_resource(self):
        # nginx decodes and resolves the path before its location matches;
        # webhookd routes on that string (DOCUMENT_URI) but answers only a
        # request that named the resource as it is: the rest get the JSON 404.
        for path in ("/v1/Services/%49Saaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks",
                     "/x/../v1/Services/%s/Configuration/Webhooks" % SID,
                     "//v1/Services/%s/Configuration/Webhooks" % SID):
            with self.subTest(path=path):
                self.assertTwilioError(self.curl("--path-as-is", path=path), 404, 20404, not_found(SID))
        self.assertEqual(self.curl(path=resource_path() + "?x=1").status, 200)  # a query string is fine


class NotFoundAndMethodTest(StackCase):
    def test_404_rows(self):
        rows = [("malformed sid", "ISnotfound"), ("lower-case prefix", "is" + SID[2:]), ("33 digits", SID + "a"),
                ("docs placeholder", "ISXXXXXXXXXXXXXXXXXXXXXX"), ("no state file", MISSING_SID),
                ("another account's", FOREIGN_SID)]
        for name, sid in rows:
            with self.subTest(name):
                self.assertTwilioError(self.curl(path=resource_path(sid)), 404, 20404, not_found(sid))
        # nginx decodes %2F and resolves "..": the message names what it resolved to.
        self.assertTwilioError(self.curl(path=resource_path("IS..%2F..%2Fetc")), 404, 20404, not_found("etc"))
        # A foreign service and a missing one answer the very same body.
        a, b = self.curl(path=resource_path(FOREIGN_SID)), self.curl(path=resource_path(MISSING_SID))
        self.assertEqual(a.body.replace(FOREIGN_SID.encode(), b"X"), b.body.replace(MISSING_SID.encode(), b"X"))

    def test_405_rows(self):
        for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
            with self.subTest(method):
                r = self.curl("-X", method)
                self.assertTwilioError(r, 405, 20004, "The requested resource /Services/%s/Configuration/Webhooks "
                                       "does not support the attempted HTTP method %s" % (SID, method))
                self.assertEqual(r.headers["allow"], "GET, POST")

    def test_401_rows(self):
        rows = [("no credentials", None), ("wrong token", (ACCOUNT, "wrong")),
                ("another account's token", (ACCOUNT, OTHER_TOKEN)), ("unknown account", ("AC" + "f" * 32, "token123")),
                ("key with account token", (KEY, "token123"))]
        for name, auth in rows:
            with self.subTest(name):
                r = self.curl(auth=auth)
                self.assertTwilioError(r, 401, 20003, "Authenticate")
                self.assertEqual(r.headers["www-authenticate"], 'Basic realm="Twilio API"')
        self.assertEqual(self.curl(auth=(OTHER_ACCOUNT, OTHER_TOKEN), path=resource_path(FOREIGN_SID)).status, 200)


class UpdateTest(StackCase):
    def setUp(self):
        self.write_state(REFERENCE_STATE)

    def post(self, *fields, extra=()):
        args = ["-X", "POST"]
        for f in fields:
            args += ["--data-raw", f]
        return self.curl(*(args + list(extra)))

    def test_update_as_in_the_reference_page(self):
        r = self.curl("-X", "POST", "--data-urlencode", "Filters=onConversationUpdated",
                      "--data-urlencode", "Filters=onMessageRemoved", "--data-urlencode", "Method=POST",
                      "--data-urlencode", "PostWebhookUrl=https://example.com/archive-every-action",
                      "--data-urlencode", "PreWebhookUrl=https://example.com/filtering-and-permissions")
        self.assertEqual(r.status, 200, r.body)
        self.assertTwilioHeaders(r)
        doc = json.loads(r.body)
        self.assertEqual(list(doc.keys()), RESOURCE_KEYS)
        self.assertEqual(doc["filters"], ["onConversationUpdated", "onMessageRemoved"])
        self.assertEqual(doc["pre_webhook_url"], "https://example.com/filtering-and-permissions")
        self.assertEqual(doc["post_webhook_url"], "https://example.com/archive-every-action")
        self.assertEqual(json.loads(self.curl().body), doc)

    def test_partial_update_keeps_what_is_not_sent(self):
        doc = json.loads(self.post("Method=get").body)
        self.assertEqual(doc["method"], "GET")
        self.assertEqual(doc["pre_webhook_url"], "https://www.example.com/pre")
        self.assertEqual(doc["filters"], ["onMessageRemove", "onParticipantAdd"])

    def test_empty_values_clear(self):
        doc = json.loads(self.post("PreWebhookUrl=&Filters=").body)
        self.assertIsNone(doc["pre_webhook_url"])
        self.assertEqual(doc["filters"], [])
        self.assertEqual(doc["post_webhook_url"], "https://www.example.com/post")

    def test_repeated_filters_deduplicated_in_order(self):
        doc = json.loads(self.post("Filters=onMessageUpdated&Filters=onMessageAdd&Filters=onMessageUpdated").body)
        self.assertEqual(doc["filters"], ["onMessageUpdated", "onMessageAdd"])

    def test_unknown_parameters_are_ignored(self):
        self.assertEqual(self.post("FriendlyName=x&Method=GET").status, 200)

    def test_no_op_update_does_not_rewrite_the_file(self):
        before = os.stat(self.state_file())
        self.assertEqual(self.post("Method=POST").status, 200)
        self.assertEqual(self.post().status, 200)
        after = os.stat(self.state_file())
        self.assertEqual((before.st_ino, before.st_mtime_ns), (after.st_ino, after.st_mtime_ns))

    def test_validation_rows_write_nothing(self):
        rows = [("PreWebhookUrl=not-a-url", 400, 50077, "Invalid pre-webhook url"),
                ("PreWebhookUrl=javascript:alert(1)", 400, 50077, None),
                ("PreWebhookUrl=https://x/a%20b", 400, 50077, None),
                ("PreWebhookUrl=https://x/%0D%0ASet-Cookie:a", 400, 50077, None),
                ("PreWebhookUrl=https://x/" + "a" * 2040, 400, 50077, None),
                ("PostWebhookUrl=file:///etc/passwd", 400, 50078, "Invalid post-webhook url"),
                ("PreWebhookUrl=https://hooks.example.com:0/pre", 400, 50077, "Invalid pre-webhook url"),
                ("PostWebhookUrl=https://hooks.example.com:65536/post", 400, 50078, "Invalid post-webhook url"),
                ("PostWebhookUrl=https://u:p@hooks.example.com:/post", 400, 50078, None),
                ("PreWebhookUrl=https://hooks.example.com:8o/pre", 400, 50077, None),
                ("Method=PUT", 400, 50055, "Invalid webhook method"),
                ("Method=", 400, 50055, None),
                ("Filters=onMessageAdded&Filters=onBogus", 400, 50365, None),
                ("Method=GET&Filters=bad", 400, 50365, None),
                ("Method=%G1", 400, 400, "Malformed request body: bad percent escape"),
                ("PreWebhookUrl=%FF", 400, 400, "Malformed request body: not UTF-8")]
        for body, status, code, message in rows:
            with self.subTest(body[:40]):
                doc = self.assertTwilioError(self.post(body), status, code, message)
                if code == 50365:
                    self.assertIn("bad" if "=bad" in body else "onBogus", doc["message"])
        self.assertEqual(read(self.state_file()).decode(), REFERENCE_STATE)

    def test_userinfo_is_kept_and_a_hand_edited_port_0_is_an_invalid_file(self):
        # Twilio documents https://user:pass@host/ for a webhook's Basic auth.
        url = "https://user:pass@hooks.example.com:65535/pre"
        r = self.post("PreWebhookUrl=" + url.replace(":", "%3A").replace("/", "%2F").replace("@", "%40"))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(json.loads(r.body)["pre_webhook_url"], url)
        # The same rule for a person's edit: a port the API refuses makes the file invalid.
        broken = REFERENCE_STATE.replace("https://www.example.com/post", "https://www.example.com:0/post")
        self.write_state(broken)
        self.assertTwilioError(self.curl(), 500, 20500, "Internal Server Error")
        self.assertTwilioError(self.post("Method=GET"), 500, 20500, "Internal Server Error")
        self.assertEqual(read(self.state_file()).decode(), broken)

    def test_body_that_is_not_a_form(self):
        r = self.post('{"Method":"GET"}', extra=["-H", "Content-Type: application/json"])
        self.assertTwilioError(r, 415, 415)
        self.assertEqual(read(self.state_file()).decode(), REFERENCE_STATE)

    def test_body_over_64k_is_refused_by_nginx_as_json(self):
        r = self.post("Method=GET&x=" + "a" * (65 * 1024))
        self.assertTwilioError(r, 413, 413)
        self.assertEqual(read(self.state_file()).decode(), REFERENCE_STATE)

    def test_chunked_body(self):
        r = self.post("Method=GET", extra=["-H", "Transfer-Encoding: chunked"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(json.loads(r.body)["method"], "GET")

    def test_python_bodiless_post_is_an_empty_update(self):
        # The bytes of shared/reference/wire-twilio-python-empty-filters.txt (our
        # token in place of the capture's): no Content-Length, no Transfer-Encoding,
        # then a stray "0\r\n\r\n" that nginx reads as a second, bad request.
        capture = (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                   b"User-Agent: twilio-python/7.7.1 (Python 3.11.2)\r\nAccept-Encoding: gzip, deflate\r\n"
                   b"Accept: application/json\r\nConnection: keep-alive\r\nX-Twilio-Client: python-7.7.1\r\n"
                   b"Accept-Charset: utf-8\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                   b"Authorization: Basic %s\r\n\r\n0\r\n\r\n") % (
                       resource_path().encode(), self.stack.port, base64.b64encode(b"%s:%s" % (ACCOUNT.encode(), TOKEN.encode())))
        answer = self.raw(capture)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer[:200])
        self.assertIn(b'"account_sid":"ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"', answer)
        self.assertEqual(answer.count(b"HTTP/1.1 "), 2)  # then nginx's 400 for the stray bytes
        self.assertEqual(read(self.state_file()).decode(), REFERENCE_STATE)


class ConditionalRequestTest(StackCase):
    def setUp(self):
        self.write_state(REFERENCE_STATE)

    def test_etag_is_stable_and_follows_the_configuration(self):
        etag = self.curl().headers["etag"]
        self.write_state("# reformatted by hand\n" + REFERENCE_STATE.replace("method: POST", "method: post"))
        self.assertEqual(self.curl().headers["etag"], etag)  # same configuration, same ETag
        changed = self.curl("--data-raw", "Method=GET")
        self.assertNotEqual(changed.headers["etag"], etag)
        self.assertEqual(self.curl().headers["etag"], changed.headers["etag"])

    def test_if_none_match_answers_304(self):
        etag = self.curl().headers["etag"]
        r = self.curl("-H", "If-None-Match: " + etag)
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b"")
        self.assertRegex(r.headers.get("twilio-request-id", ""), r"^RQ[0-9a-f]{32}$")
        self.assertEqual(r.headers.get("etag"), etag)
        # RFC 9110 15.4.5: no Content-Length on a 304 but the 200's; webhookd sends none.
        self.assertNotIn("content-length", r.headers)
        self.assertEqual(self.curl("-H", 'If-None-Match: "other"').status, 200)

    def test_if_none_match_compares_weakly_and_if_match_strongly(self):
        etag = self.curl().headers["etag"]
        self.assertEqual(self.curl("-H", "If-None-Match: W/" + etag).status, 304)
        self.assertEqual(self.curl("-H", 'If-None-Match: "x", W/' + etag).status, 304)
        self.assertTwilioError(self.curl("-H", "If-Match: W/" + etag, "--data-raw", "Method=GET"), 412, 412)
        self.assertEqual(read(self.state_file()).decode(), REFERENCE_STATE)

    def test_if_match_guards_updates(self):
        etag = self.curl().headers["etag"]
        self.assertTwilioError(self.curl("-H", 'If-Match: "stale"', "--data-raw", "Method=GET"), 412, 412)
        self.assertEqual(read(self.state_file()).decode(), REFERENCE_STATE)
        r = self.curl("-H", "If-Match: " + etag, "--data-raw", "Method=GET")
        self.assertEqual(r.status, 200)
        self.assertTwilioError(self.curl("-H", "If-Match: " + etag, "--data-raw", "Method=POST"), 412, 412)
        self.assertEqual(self.curl("-H", "If-Match: *", "--data-raw", "Method=POST").status, 200)

    def test_if_none_match_guards_updates(self):
        # RFC 9110 13.1.2: a POST whose If-None-Match matches (weakly), or is *
        # on an existing service, fails with 412 and changes nothing.
        etag = self.curl().headers["etag"]
        message = "Precondition Failed: If-None-Match matches the current ETag"
        for value in (etag, "W/" + etag, '"x", ' + etag, "*"):
            with self.subTest(value):
                r = self.curl("-H", "If-None-Match: " + value, "--data-raw", "Method=GET")
                self.assertTwilioError(r, 412, 412, message)
                self.assertEqual(read(self.state_file()).decode(), REFERENCE_STATE)
        self.assertTwilioError(self.curl("-H", "If-None-Match: *", "--data-raw", "Method=GET",
                                         path=resource_path(MISSING_SID)), 404, 20404)
        r = self.curl("-H", 'If-None-Match: "other"', "--data-raw", "Method=GET")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(json.loads(r.body)["method"], "GET")
        # GET keeps its meaning: a matching If-None-Match is a 304.
        self.assertEqual(self.curl("-H", "If-None-Match: *").status, 304)


GLOBAL = "/v1/Configuration/Webhooks"
GLOBAL_KEYS = ["account_sid", "pre_webhook_url", "post_webhook_url", "method", "filters", "target", "url"]


class GlobalWebhooksTest(StackCase):
    """The account's global webhooks through the shipped nginx snippet."""

    def setUp(self):
        for account in (ACCOUNT, OTHER_ACCOUNT):
            path = os.path.join(self.state_dir, account + ".yaml")
            if os.path.exists(path):
                os.remove(path)
        self.write_state(REFERENCE_STATE)

    def account_file(self, account=ACCOUNT):
        return os.path.join(self.state_dir, account + ".yaml")

    def defaults(self, account=ACCOUNT):
        return ('{"account_sid":"%s","pre_webhook_url":null,"post_webhook_url":null,"method":"POST","filters":[],'
                '"target":"webhook","url":"%s%s"}') % (account, self.base, GLOBAL)

    def test_a_never_set_account_answers_the_defaults(self):
        r = self.curl(path=GLOBAL)
        self.assertEqual(r.status, 200, r.body)
        self.assertTwilioHeaders(r)
        self.assertEqual(r.body.decode(), self.defaults())
        self.assertRegex(r.headers["etag"], r'^"[0-9a-f]{32}"$')
        head = self.curl("-I", path=GLOBAL)
        self.assertEqual((head.status, head.headers["content-length"], head.headers["etag"]),
                         (200, str(len(r.body)), r.headers["etag"]))
        self.assertFalse(os.path.exists(self.account_file()), "a read creates no file")

    def test_update_in_twilios_order_persisted_and_read_back(self):
        r = self.curl("-X", "POST", "--data-urlencode", "PreWebhookUrl=https://example.com/pre",
                      "--data-urlencode", "PostWebhookUrl=http://example.com/post", "--data-urlencode", "Method=GET",
                      "--data-urlencode", "Filters=onConversationUpdated", "--data-urlencode", "Filters=onUserAdded",
                      "--data-urlencode", "Target=flex", path=GLOBAL)
        self.assertEqual(r.status, 200, r.body)
        doc = json.loads(r.body)
        self.assertEqual(list(doc.keys()), GLOBAL_KEYS)
        self.assertEqual(doc, {"account_sid": ACCOUNT, "pre_webhook_url": "https://example.com/pre",
                               "post_webhook_url": "http://example.com/post", "method": "GET",
                               "filters": ["onConversationUpdated", "onUserAdded"], "target": "flex",
                               "url": self.base + GLOBAL})
        self.assertEqual(read(self.account_file()).decode(),
                         "pre_webhook_url: https://example.com/pre\npost_webhook_url: http://example.com/post\n"
                         "filters:\n  - onConversationUpdated\n  - onUserAdded\nmethod: GET\ntarget: flex\n")
        again = self.curl(path=GLOBAL)
        self.assertEqual(json.loads(again.body), doc)
        self.assertEqual(again.headers["etag"], r.headers["etag"])
        # The service's webhooks are another resource: untouched.
        self.assertEqual(read(self.state_file()).decode(), REFERENCE_STATE)

    def test_validation_rows_write_nothing(self):
        rows = [("Target=studio", 400, 20001, "Invalid Target: studio"),
                ("Target=Flex", 400, 20001, "Invalid Target: Flex"),
                ("Filters=onUserRemoved", 400, 50365, "Invalid filter: onUserRemoved"),
                ("PreWebhookUrl=nope", 400, 50077, "Invalid pre-webhook url"),
                ("PostWebhookUrl=ftp%3A%2F%2Fx", 400, 50078, "Invalid post-webhook url"),
                ("Method=PUT", 400, 50055, "Invalid webhook method")]
        for body, status, code, message in rows:
            with self.subTest(body):
                self.assertTwilioError(self.curl("--data-raw", body, path=GLOBAL), status, code, message)
        self.assertFalse(os.path.exists(self.account_file()))

    def test_user_events_are_global_filters_only(self):
        r = self.curl("--data-raw", "Filters=onUserAdded&Filters=onUserUpdate&Filters=onUserUpdated", path=GLOBAL)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(json.loads(r.body)["filters"], ["onUserAdded", "onUserUpdate", "onUserUpdated"])
        self.assertTwilioError(self.curl("--data-raw", "Filters=onUserAdded"), 400, 50365, "Invalid filter: onUserAdded")
        # Target on the service path is an unknown parameter: ignored, as Twilio ignores them.
        self.assertEqual(self.curl("--data-raw", "Target=studio").status, 200)
        self.assertEqual(read(self.state_file()).decode(), REFERENCE_STATE)

    def test_each_account_sees_its_own_settings_only(self):
        self.assertEqual(self.curl("--data-raw", "Target=flex", path=GLOBAL).status, 200)
        theirs = self.curl(path=GLOBAL, auth=(OTHER_ACCOUNT, OTHER_TOKEN))
        self.assertEqual(theirs.body.decode(), self.defaults(OTHER_ACCOUNT))
        by_their_key = self.curl("--data-raw", "Method=GET", path=GLOBAL, auth=(OTHER_KEY, OTHER_KEY_SECRET))
        self.assertEqual(json.loads(by_their_key.body)["account_sid"], OTHER_ACCOUNT)
        self.assertTrue(os.path.exists(self.account_file(OTHER_ACCOUNT)))
        mine = json.loads(self.curl(path=GLOBAL, auth=(KEY, KEY_SECRET)).body)
        self.assertEqual((mine["account_sid"], mine["target"], mine["method"]), (ACCOUNT, "flex", "POST"))

    def test_405_401_and_paths_nginx_does_not_route(self):
        for method in ("PUT", "DELETE", "PATCH"):
            with self.subTest(method):
                r = self.curl("-X", method, path=GLOBAL)
                self.assertTwilioError(r, 405, 20004, "The requested resource /Configuration/Webhooks does not support "
                                       "the attempted HTTP method %s" % method)
                self.assertEqual(r.headers["allow"], "GET, POST")
        r = self.curl(path=GLOBAL, auth=None)
        self.assertTwilioError(r, 401, 20003, "Authenticate")
        self.assertEqual(r.headers["www-authenticate"], 'Basic realm="Twilio API"')
        self.assertTwilioError(self.curl(path=GLOBAL, auth=(ACCOUNT, "wrong")), 401, 20003, "Authenticate")
        # Only exactly /v1/Configuration/Webhooks reaches webhookd; nginx
        # answers anything else under /v1/Configuration/ with its JSON 404.
        for path in ("/v1/Configuration/Webhook", GLOBAL + "/", "/v1/Configuration/Webhooks/x", "/v1/Configuration"):
            with self.subTest(path):
                self.assertTwilioError(self.curl(path=path), 404, 20404, "The requested resource was not found")

    def test_the_service_path_never_reaches_an_accounts_file(self):
        """Review 19, finding 6: the store takes AC SIDs, so the service path
        must not: /v1/Services/AC…/Configuration/Webhooks is a 404 for
        GET, HEAD and POST (the service path's not-found, as for any SID
        that is not a service's), for the account's own credentials and
        another's, and the account file stays byte for byte."""
        with open(self.account_file(), "w") as f:
            f.write("# by hand\ntarget: flex\n")
        before = read(self.account_file())
        for auth in ((ACCOUNT, TOKEN), (KEY, KEY_SECRET), (OTHER_ACCOUNT, OTHER_TOKEN)):
            for args in ((), ("--data-raw", "Target=webhook"), ("--data-raw", "PreWebhookUrl=https://x.example/p"),
                         ("-X", "POST")):
                with self.subTest(auth=auth[0], args=args):
                    r = self.curl(*args, path=resource_path(ACCOUNT), auth=auth)
                    self.assertTwilioError(r, 404, 20404, not_found(ACCOUNT))
            with self.subTest(auth=auth[0], method="HEAD"):
                self.assertEqual(self.curl("-I", path=resource_path(ACCOUNT), auth=auth).status, 404)
        self.assertEqual(read(self.account_file()), before)
        self.assertEqual(json.loads(self.curl(path=GLOBAL).body)["target"], "flex")

    def test_conditional_requests(self):
        defaults_etag = self.curl(path=GLOBAL).headers["etag"]
        self.assertEqual(self.curl("-H", "If-None-Match: " + defaults_etag, path=GLOBAL).status, 304)
        # Another never-set account: the same defaults in its file, another
        # body at the same URL, so another ETag (review 19, finding 4).
        theirs = self.curl(path=GLOBAL, auth=(OTHER_ACCOUNT, OTHER_TOKEN)).headers["etag"]
        self.assertNotEqual(theirs, defaults_etag)
        self.assertEqual(self.curl("-H", "If-None-Match: " + theirs, path=GLOBAL).status, 200)
        # A never-set account has a representation: If-None-Match: * fails a POST.
        self.assertTwilioError(self.curl("-H", "If-None-Match: *", "--data-raw", "Target=flex", path=GLOBAL), 412, 412)
        self.assertTwilioError(self.curl("-H", 'If-Match: "stale"', "--data-raw", "Target=flex", path=GLOBAL), 412, 412)
        self.assertFalse(os.path.exists(self.account_file()))
        r = self.curl("-H", "If-Match: *", "--data-raw", "Target=flex", path=GLOBAL)
        self.assertEqual(r.status, 200, r.body)
        r = self.curl("-H", "If-Match: " + r.headers["etag"], "--data-raw", "Target=webhook", path=GLOBAL)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers["etag"], defaults_etag)  # the same configuration, the same ETag

    def test_two_accounts_with_the_same_canonical_file_have_their_own_etags(self):
        # The same bytes in both files (what webhookd writes for these
        # settings, so read as canonical views): one body each, at one URL,
        # so one ETag each; a 304 only for the account whose ETag it is.
        same = ("pre_webhook_url: https://example.com/pre\npost_webhook_url: http://example.com/post\n"
                "filters:\n  - onConversationUpdated\n  - onUserAdded\nmethod: GET\ntarget: flex\n")
        for account in (ACCOUNT, OTHER_ACCOUNT):
            with open(self.account_file(account), "w") as f:
                f.write(same)
        auths = {ACCOUNT: (ACCOUNT, TOKEN), OTHER_ACCOUNT: (OTHER_ACCOUNT, OTHER_TOKEN)}
        # Past the compact cache's first read and the store's hot threshold
        # (8): the ETag must stay each account's on every path.
        etags = {}
        for i in range(10):
            for account, auth in auths.items():
                r = self.curl(path=GLOBAL, auth=auth)
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(json.loads(r.body)["account_sid"], account)
                etags.setdefault(account, r.headers["etag"])
                self.assertEqual(r.headers["etag"], etags[account], "read %d" % i)
        self.assertNotEqual(etags[ACCOUNT], etags[OTHER_ACCOUNT])
        for account, auth in auths.items():
            for whose, etag in etags.items():
                with self.subTest(account=account, etag_of=whose):
                    r = self.curl("-H", "If-None-Match: " + etag, path=GLOBAL, auth=auth)
                    self.assertEqual(r.status, 304 if whose == account else 200, r.body)
        for account in auths:
            self.assertEqual(read(self.account_file(account)).decode(), same)  # only read

    def test_hand_edits_are_seen_and_an_invalid_file_is_never_overwritten(self):
        with open(self.account_file(), "w") as f:
            f.write("# by hand\ntarget: flex\nmethod: get\n")
        doc = json.loads(self.curl(path=GLOBAL).body)
        self.assertEqual((doc["target"], doc["method"], doc["filters"]), ("flex", "GET", []))
        broken = "target: flex\ntarget: webhook\n"
        with open(self.account_file(), "w") as f:
            f.write(broken)
        self.assertTwilioError(self.curl(path=GLOBAL), 500, 20500, "Internal Server Error")
        self.assertTwilioError(self.curl("--data-raw", "Target=webhook", path=GLOBAL), 500, 20500)
        self.assertEqual(read(self.account_file()).decode(), broken)


class GlobalWebhooksDenyTest(StackCase):
    api_writes = "deny"

    def test_posts_are_403_and_reads_unchanged(self):
        self.assertTwilioError(self.curl("--data-raw", "Target=flex", path=GLOBAL), 403, 20403,
                               "Forbidden: this configuration is managed in git")
        self.assertFalse(os.path.exists(os.path.join(self.state_dir, ACCOUNT + ".yaml")))
        self.assertEqual(self.curl(path=GLOBAL).status, 200)
        self.assertEqual(self.curl("-I", path=GLOBAL).status, 200)


class ResponderDownTest(StackCase):
    def test_nginx_answers_503_json_with_retry_after(self):
        self.stack.webhookd.stop()
        try:
            r = self.curl()
            self.assertTwilioError(r, 503, 20503, "Service Unavailable")
            self.assertEqual(r.headers["retry-after"], "1")
        finally:
            self.stack.webhookd.start()
        self.assertEqual(self.curl().status, 200)
