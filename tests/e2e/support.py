"""Shared fixtures of the end-to-end tests: accounts, seeded state, a stack
per test class, and curl / raw HTTP helpers that return (status, headers, body)."""
import base64
import collections
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import fcgi_client
from harness.stack import REPO, Stack, Webhookd, read_log, wait_for

BUILD = os.environ.get("WEBHOOKD_BUILD", os.path.join(REPO, "build"))
WEBHOOKD = os.path.join(BUILD, "webhookd")
WEBHOOKCTL = os.path.join(BUILD, "webhookctl")

ACCOUNT, TOKEN = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "token123"
OTHER_ACCOUNT, OTHER_TOKEN = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "other-token"
KEY, KEY_SECRET = "SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "key-secret"
OTHER_KEY, OTHER_KEY_SECRET = "SKbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "other-key-secret"

SID = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"          # configured, ACCOUNT's
EMPTY_SID = "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"    # never configured, ACCOUNT's
FOREIGN_SID = "IScccccccccccccccccccccccccccccccc"  # OTHER_ACCOUNT's
MISSING_SID = "ISeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"  # no state file

REFERENCE_STATE = (
    "account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
    "pre_webhook_url: https://www.example.com/pre\n"
    "post_webhook_url: https://www.example.com/post\n"
    "filters:\n  - onMessageRemove\n  - onParticipantAdd\n"
    "method: POST\n")

# The Authorization header of ACCOUNT (its token is also the demo's, conf/webhookd.yaml).
BASIC_AUTH = "Basic " + base64.b64encode(("%s:%s" % (ACCOUNT, TOKEN)).encode()).decode()

REQUEST_ID = re.compile(r"^RQ[0-9a-f]{32}$")
RESOURCE_KEYS = ["account_sid", "chat_service_sid", "pre_webhook_url", "post_webhook_url", "filters", "method", "url"]
ERROR_KEYS = ["code", "message", "more_info", "status"]

Response = collections.namedtuple("Response", "status headers body")


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def write_config(directory, state_dir, public_base_url=None, api_writes=None):
    lines = ["state_dir: %s" % state_dir]
    if api_writes:
        lines.append("api_writes: %s" % api_writes)
    if public_base_url:
        lines.append("public_base_url: %s" % public_base_url)
    lines += ["accounts:",
              "  - sid: %s" % ACCOUNT, "    auth_token_sha256: %s" % sha(TOKEN),
              "  - sid: %s" % OTHER_ACCOUNT, "    auth_token_sha256: %s" % sha(OTHER_TOKEN),
              "api_keys:",
              "  - sid: %s" % KEY, "    account_sid: %s" % ACCOUNT, "    secret_sha256: %s" % sha(KEY_SECRET),
              "  - sid: %s" % OTHER_KEY, "    account_sid: %s" % OTHER_ACCOUNT,
              "    secret_sha256: %s" % sha(OTHER_KEY_SECRET)]
    path = os.path.join(directory, "webhookd.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def seed_state(state_dir):
    os.makedirs(state_dir, exist_ok=True)
    files = {SID: REFERENCE_STATE, EMPTY_SID: "account_sid: %s\n" % ACCOUNT,
             FOREIGN_SID: "account_sid: %s\nmethod: GET\n" % OTHER_ACCOUNT}
    for sid, text in files.items():
        with open(os.path.join(state_dir, sid + ".yaml"), "w") as f:
            f.write(text)


def seeded_dir(prefix, public_base_url=None, api_writes=None):
    """A new temporary directory with the seeded state in state/ and a
    config for it: (tmp, state_dir, config). The caller removes tmp."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    state_dir = os.path.join(tmp, "state")
    seed_state(state_dir)
    return tmp, state_dir, write_config(tmp, state_dir, public_base_url, api_writes)


def seed_services(state_dir, sids):
    """One more service of ACCOUNT's per sid, with no webhook configured."""
    for sid in sids:
        with open(os.path.join(state_dir, sid + ".yaml"), "w") as f:
            f.write("account_sid: %s\n" % ACCOUNT)


def start_on_held_socket(listener, config, log_path, binary=WEBHOOKD, workers=4, append=False):
    """webhookd on a held socket (harness.stack.held_socket) as fd 0, as
    systemd starts it; its output goes to log_path."""
    with open(log_path, "ab" if append else "wb") as out:
        return subprocess.Popen([binary, "--config", config, "--workers", str(workers)], stdin=listener.fileno(),
                                stdout=out, stderr=out)


def wait_until_serving(proc, log_path, what="webhookd"):
    """Until its log says "serving" (or it exits)."""
    wait_for(lambda: "serving" in read_log(log_path) or proc.poll() is not None, 10, what)


def resource_path(sid=SID):
    return "/v1/Services/%s/Configuration/Webhooks" % sid


def fcgi_params(method="GET", body=b"", sid=SID, path=None):
    """What nginx sends webhookd for a request of ACCOUNT's (the parts webhookd reads)."""
    p = {"REQUEST_METHOD": method, "DOCUMENT_URI": path or resource_path(sid), "REQUEST_SCHEME": "http",
         "HTTP_HOST": "api.example", "SERVER_PORT": "80", "HTTP_AUTHORIZATION": BASIC_AUTH,
         "CONTENT_LENGTH": str(len(body))}
    if body:
        p["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    return p


def readme_steps(marker):
    """The commands of the block after <!-- marker --> in the README, or in
    conf/debian/README.md, where the package's finer points moved."""
    block = None
    for doc in ("README.md", os.path.join("conf", "debian", "README.md")):
        with open(os.path.join(REPO, doc)) as f:
            block = block or re.search(r"<!-- %s -->\s*```sh\n(.*?)```" % marker, f.read(), re.S)
    assert block, "no document has a %s block" % marker
    return [l.strip() for l in block.group(1).splitlines() if l.strip() and not l.strip().startswith("#")]


def read(path):
    with open(path, "rb") as f:
        return f.read()


class StackCase(unittest.TestCase):
    """A fresh state dir, config and nginx + webhookd stack per test class."""
    workers = 4
    instances = 1  # webhookd processes behind nginx, sharing the state dir
    public_base_url = None
    api_writes = None

    @classmethod
    def setUpClass(cls):
        cls.tmp, cls.state_dir, cls.config = seeded_dir("webhookd-e2e-", cls.public_base_url, cls.api_writes)
        cls.stack = Stack(cls.config, workers=cls.workers, build=BUILD, instances=cls.instances).start()
        cls.base = cls.stack.base_url

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tearDown(self):
        for w in self.stack.instances:
            assert_no_sanitizer_report(self, w.log())

    def state_file(self, sid=SID):
        return os.path.join(self.state_dir, sid + ".yaml")

    def write_state(self, text, sid=SID):
        with open(self.state_file(sid), "w") as f:
            f.write(text)

    def curl(self, *args, path=None, auth=(ACCOUNT, TOKEN)):
        """curl as a user runs it; returns Response(status, {lower-name: value}, body bytes)."""
        with tempfile.TemporaryDirectory() as tmp:
            head, body = os.path.join(tmp, "h"), os.path.join(tmp, "b")
            argv = ["curl", "-sS", "-o", body, "-D", head, "-w", "%{http_code}"]
            if auth:
                argv += ["-u", "%s:%s" % auth]
            argv += list(args) + [self.base + (path if path is not None else resource_path())]
            out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True, text=True)
            # curl writes no body file at all for an empty body (304, HEAD)
            return Response(int(out.stdout), parse_headers(read(head).decode("latin-1")),
                            read(body) if os.path.exists(body) else b"")

    def raw(self, data):
        """Sends exact bytes on one connection and returns what comes back until it closes."""
        with socket.create_connection(("127.0.0.1", self.stack.port), timeout=10) as s:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)

    # Assertions every answer must pass.
    def assertTwilioHeaders(self, r):
        self.assertRegex(r.headers.get("twilio-request-id", ""), REQUEST_ID)
        self.assertEqual(r.headers.get("content-type"), "application/json; charset=utf-8")

    def assertTwilioError(self, r, status, code, message=None):
        self.assertEqual(r.status, status, r.body)
        self.assertTwilioHeaders(r)
        doc = json.loads(r.body)
        self.assertEqual(list(doc.keys()), ERROR_KEYS)
        self.assertEqual(doc["code"], code)
        self.assertEqual(doc["status"], status)
        self.assertEqual(doc["more_info"], "https://www.twilio.com/docs/errors/%d" % code)
        if message is not None:
            self.assertEqual(doc["message"], message)
        return doc


class RawCase(unittest.TestCase):
    """A webhookd per test on its own socket, no nginx: the tests speak FastCGI to it."""
    workers = 2
    extra = ()  # more webhookd options
    wrap = ()  # a command webhookd runs under
    stop_signal = signal.SIGKILL  # at tearDown

    def setUp(self):
        self.tmp, self.state_dir, self.config = seeded_dir("webhookd-raw-")
        self.sock = os.path.join(self.tmp, "w.sock")
        self.daemon = Webhookd(WEBHOOKD, self.config, self.sock, self.workers,
                               log_path=os.path.join(self.tmp, "webhookd.log"), extra=self.extra,
                               wrap=self.wrap).start()

    def tearDown(self):
        self.daemon.stop(self.stop_signal)
        assert_no_sanitizer_report(self, self.daemon.log())
        shutil.rmtree(self.tmp, ignore_errors=True)

    def connect(self):
        return fcgi_client.Connection(self.sock)

    def get_on(self, conn, keep=True, request_id=1):
        status, _, body = fcgi_client.parse(conn.request(fcgi_params(), request_id=request_id, keep=keep))
        return status, body

    def assert_served_at_once(self):
        """A fresh connection gets its answer within a second: no worker is stuck."""
        started = time.monotonic()
        conn = self.connect()
        try:
            status, body = self.get_on(conn, keep=False)
        finally:
            conn.close()
        self.assertEqual(status, 200, body)
        self.assertLess(time.monotonic() - started, 1.0)


SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error:")


def assert_no_sanitizer_report(test, log):
    """When the tests run against a sanitizer build of webhookd, its reports land in its log."""
    match = SANITIZER_REPORT.search(log)
    if match:
        test.fail("sanitizer report in webhookd's log:\n" + log[max(0, match.start() - 200):match.start() + 3000])


def parse_headers(text):
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    headers = {}
    for line in blocks[-1].split("\n")[1:] if blocks else []:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return headers
