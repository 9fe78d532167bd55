"""Hostile input through the shipped nginx configuration: each request gets a
Twilio-shaped 4xx, nothing in the state directory changes, and no answer
echoes a secret."""
import base64
import json
import os
import socket

from e2e.support import (ACCOUNT, FOREIGN_SID, OTHER_KEY, OTHER_KEY_SECRET, OTHER_TOKEN, REFERENCE_STATE, SID,
                         TOKEN, StackCase, resource_path)

LONG_TOKEN = "t" * 10000


def snapshot(directory):
    state = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            state[name] = f.read()
    return state


class HostileInputTest(StackCase):
    def setUp(self):
        self.write_state(REFERENCE_STATE)
        self.curl("--data-raw", "Method=POST")  # creates the service's lock file, as any update would

    def body_file(self, data):
        path = os.path.join(self.tmp, "body-%d" % len(os.listdir(self.tmp)))
        with open(path, "wb") as f:
            f.write(data)
        return "@" + path

    def raw_status(self, request):
        answer = self.raw(request)
        head, _, body = answer.partition(b"\r\n\r\n")
        return int(head.split(b" ")[1]), head.decode("latin-1"), body

    def test_hostile_requests_get_twilio_shaped_4xx_and_write_nothing(self):
        sid_path = resource_path()
        post = ["-X", "POST"]
        rows = [
            # name, curl arguments, path, auth, status, code
            ("traversal ..%2F", ["--path-as-is"], "/v1/Services/..%2F..%2Fetc%2Fpasswd/Configuration/Webhooks", True, 404, 20404),
            ("traversal ../ in path", ["--path-as-is"], sid_path + "/../../../../etc/passwd", True, 404, 20404),
            ("traversal into the sid", ["--path-as-is"], "/v1/Services/../Services/ISx/Configuration/Webhooks", True, 404, 20404),
            ("encoded SID", ["--path-as-is"], "/v1/Services/%49S" + SID[2:] + "/Configuration/Webhooks", True, 404, 20404),
            ("encoded SID, POST", ["--path-as-is"] + post + ["--data-raw", "Method=GET"], "/v1/Services/%49S" + SID[2:] + "/Configuration/Webhooks", True, 404, 20404),
            ("NUL in the sid", ["--path-as-is"], "/v1/Services/IS%00" + "a" * 31 + "/Configuration/Webhooks", True, 400, 400),
            ("very long path", [], "/v1/Services/" + "a" * 9000 + "/Configuration/Webhooks", True, 414, 414),
            ("long sid under the limit", [], "/v1/Services/IS" + "a" * 4000 + "/Configuration/Webhooks", True, 404, 20404),
            ("headers over the limit", ["-H", "X-Big: " + "a" * 9000], sid_path, True, 400, 400),
            ("1 MB body", post + ["--data-binary", self.body_file(b"Method=GET&x=" + b"a" * 1000000)], sid_path, True, 413, 413),
            ("100k repeated Filters", post + ["--data-binary", self.body_file(b"&".join([b"Filters=onMessageAdded"] * 100000))], sid_path, True, 413, 413),
            ("a 10k Filters value", post + ["--data-raw", "Filters=" + "x" * 10000], sid_path, True, 400, 50365),
            ("URL with CR/LF", post + ["--data-raw", "PreWebhookUrl=https://x/%0D%0ALocation:%20evil"], sid_path, True, 400, 50077),
            ("URL with a space", post + ["--data-raw", "PostWebhookUrl=https://x/a+b"], sid_path, True, 400, 50078),
            ("javascript: URL", post + ["--data-raw", "PreWebhookUrl=javascript:alert(1)"], sid_path, True, 400, 50077),
            ("file: URL", post + ["--data-raw", "PostWebhookUrl=file:///etc/passwd"], sid_path, True, 400, 50078),
            ("non-UTF-8 bytes", post + ["--data-raw", "PreWebhookUrl=https://x/%C0%AF"], sid_path, True, 400, 400),
            ("raw non-UTF-8 bytes", post + ["--data-binary", self.body_file(b"Filters=on\xffMessage")], sid_path, True, 400, 400),
            ("JSON body", post + ["-H", "Content-Type: application/json", "--data-raw", '{"Method":"GET"}'], sid_path, True, 415, 415),
            ("Basic auth without a colon", ["-H", "Authorization: Basic " + base64.b64encode(ACCOUNT.encode()).decode()], sid_path, False, 401, 20003),
            ("Basic auth with an empty user", ["-u", ":" + TOKEN], sid_path, False, 401, 20003),
            ("not base64", ["-H", "Authorization: Basic %%%"], sid_path, False, 401, 20003),
            ("a 6 kB token", ["-u", ACCOUNT + ":" + "t" * 6000], sid_path, False, 401, 20003),
            ("a 10 kB token", ["-u", ACCOUNT + ":" + LONG_TOKEN], sid_path, False, 400, 400),
            ("another account's token", ["-u", ACCOUNT + ":" + OTHER_TOKEN], sid_path, False, 401, 20003),
            ("another account's API key", ["-u", OTHER_KEY + ":" + OTHER_KEY_SECRET] + post + ["--data-raw", "Method=GET"], sid_path, False, 404, 20404),
            ("a service of another account", post + ["--data-raw", "Method=POST"], resource_path(FOREIGN_SID), True, 404, 20404),
            ("POST to a made-up SID", post + ["--data-raw", "Method=GET"], resource_path("IS" + "f" * 32), True, 404, 20404),
            ("PUT", ["-X", "PUT", "--data-raw", "Method=GET"], sid_path, True, 405, 20004),
            ("DELETE", ["-X", "DELETE"], sid_path, True, 405, 20004),
            ("PATCH", ["-X", "PATCH", "--data-raw", "Method=GET"], sid_path, True, 405, 20004),
            ("OPTIONS", ["-X", "OPTIONS"], sid_path, True, 405, 20004),
            ("TRACE (nginx refuses it)", ["-X", "TRACE"], sid_path, True, 405, 20004),
            ("outside the API", [], "/etc/passwd", True, 404, 20404),
        ]
        before = snapshot(self.state_dir)
        secrets = [TOKEN, OTHER_TOKEN, OTHER_KEY_SECRET, LONG_TOKEN[:100]]
        for name, args, path, auth, status, code in rows:
            with self.subTest(name):
                r = self.curl(*args, path=path, auth=(ACCOUNT, TOKEN) if auth else None)
                self.assertTwilioError(r, status, code)
                for secret in secrets:
                    self.assertNotIn(secret.encode(), r.body)
                    self.assertNotIn(secret, json.dumps(r.headers))
        self.assertEqual(snapshot(self.state_dir), before)

    def test_malformed_requests_nginx_refuses_are_json(self):
        rows = [("garbage request line", b"GARBAGE\r\n\r\n"),
                ("bad HTTP version", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n"),
                ("space in the header name", b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n")]
        for name, request in rows:
            with self.subTest(name):
                status, head, body = self.raw_status(request)
                self.assertIn(status, (400, 505))
                self.assertIn("application/json", head)
                doc = json.loads(body)
                self.assertEqual((doc["code"], doc["status"]), (doc["status"], status))
