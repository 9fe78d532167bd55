#!/usr/bin/python3
"""A real nginx + webhookd on a loopback port, in a temp prefix.

Used by the end-to-end tests (start/stop per test class) and by `make run`
(run as a script: serve until Ctrl-C or SIGTERM). Both render the shipped
conf/nginx.conf.template, which includes the shipped conf/webhookd.locations.conf,
with Debian's stock fastcgi_params: what is tested is what ships.
"""
import argparse
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONF_DIR = os.path.join(REPO, "conf")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # PR_SET_PDEATHSIG: if the test runner or `make run` is killed outright,
    # its nginx and webhookd go too, instead of lingering on the port.
    _libc.prctl(1, signal.SIGTERM)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise RuntimeError("timed out waiting for " + what)


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def stop_process(proc, sig=signal.SIGTERM, timeout=20):
    """Sends sig and waits for the exit; killed if it takes longer than timeout."""
    if proc and proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def held_socket(tmp):
    """The listening socket held as systemd holds it (webhookd.socket), for
    each webhookd started on it as fd 0 (StandardInput=socket): tmp/held.sock,
    backlog 1024 (Backlog=), tmp and the socket open to nginx's workers
    (nobody, under a root master). Yields (listener, path); closed on leaving."""
    os.chmod(tmp, 0o755)
    path = os.path.join(tmp, "held.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        os.chmod(path, 0o666)
        listener.listen(1024)
        yield listener, path
    finally:
        listener.close()


def read_log(path):
    """A log file's text so far ("" before it exists), bytes that are not UTF-8 replaced."""
    if not path or not os.path.exists(path):
        return ""
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


class Webhookd:
    """One webhookd process on a unix socket (or on fd 0 via spawn-fcgi)."""

    def __init__(self, binary, config, socket_path, workers=4, state_dir=None, log_path=None, extra=(), wrap=()):
        self.binary, self.config, self.socket_path = binary, config, socket_path
        self.workers, self.state_dir, self.log_path, self.extra = workers, state_dir, log_path, list(extra)
        self.wrap = list(wrap)  # a command the process runs under (the fleet's: nsenter into a host's network)
        self.proc = None

    def argv(self):
        argv = self.wrap + [self.binary, "--config", self.config, "--listen", "unix:" + self.socket_path,
                "--workers", str(self.workers)]
        if self.state_dir:
            argv += ["--state-dir", self.state_dir]
        return argv + self.extra

    def start(self):
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        log = open(self.log_path, "ab") if self.log_path else None
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     preexec_fn=_die_with_parent)
        if log:
            log.close()
        wait_for(lambda: self.listening() or self.proc.poll() is not None, 10, "webhookd socket")
        if self.proc.poll() is not None:
            raise RuntimeError("webhookd exited with %s: %s" % (self.proc.returncode, self.log()))
        return self

    def listening(self):
        """The socket takes connections. Its path exists from bind() on, and a
        connect() before the listen() that follows is refused (ECONNREFUSED,
        seen in a test on a loaded machine): look for the listening flag
        (__SO_ACCEPTCON) in the process's own view of unix sockets, which
        is its network namespace's (the fleet's webhookd runs in another)."""
        try:
            with open("/proc/%d/net/unix" % self.proc.pid) as f:
                for line in f:
                    fields = line.split()
                    if len(fields) >= 8 and fields[7] == self.socket_path and int(fields[3], 16) & 0x10000:
                        return True
        except (OSError, ValueError):
            return os.path.exists(self.socket_path)
        return False

    def log(self):
        return read_log(self.log_path)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        stop_process(self.proc, sig, timeout)
        return self.proc.returncode if self.proc else None


class Nginx:
    def __init__(self, prefix, port, socket_paths, extra="", keepalive=64, listen="127.0.0.1", wrap=()):
        self.prefix, self.port, self.socket_paths, self.extra = prefix, port, list(socket_paths), extra
        self.keepalive = keepalive  # kept FastCGI connections per nginx worker; 0: one connection per request
        self.listen, self.wrap = listen, list(wrap)
        self.proc = None

    def make_dirs(self):
        """The prefix and nginx's temp directories in it."""
        for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(self.prefix, d), exist_ok=True)

    def render(self):
        self.make_dirs()
        shutil.copy("/etc/nginx/fastcgi_params", os.path.join(self.prefix, "fastcgi_params"))
        with open(os.path.join(CONF_DIR, "nginx.conf.template")) as f:
            text = f.read()
        # One upstream server line per webhookd (several share one state dir).
        servers = "\n        ".join("server unix:%s;" % p for p in self.socket_paths)
        text = text.replace("server unix:@SOCKET@;", servers)
        text = text.replace("# @EXTRA@", self.extra)
        if self.keepalive:
            text = text.replace("@KEEPALIVE@", str(self.keepalive))
        else:
            text = re.sub(r"\n\s*keepalive @KEEPALIVE@;", "", text)
        for key, value in (("@PREFIX@", self.prefix), ("@LISTEN@", self.listen), ("@PORT@", str(self.port)),
                           ("@CONF_DIR@", CONF_DIR)):
            text = text.replace(key, value)
        path = os.path.join(self.prefix, "nginx.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self):
        conf = self.render()
        self.proc = subprocess.Popen(self.wrap + [NGINX, "-p", self.prefix + "/", "-c", conf, "-e", os.path.join(self.prefix, "error.log")],
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        wait_for(lambda: port_open(self.port, self.listen) or self.proc.poll() is not None, 10, "nginx port")
        if self.proc.poll() is not None:
            raise RuntimeError("nginx exited with %s: %s" % (self.proc.returncode, self.error_log()))
        return self

    def error_log(self):
        try:
            with open(os.path.join(self.prefix, "error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        stop_process(self.proc, signal.SIGQUIT, 10)  # graceful: finish open requests


class Stack:
    """nginx on a free loopback port in front of one webhookd (or several,
    each on its own socket, sharing one state directory)."""

    def __init__(self, config, state_dir=None, port=None, workers=4, build=None, tmp=None, instances=1):
        self.build = build or os.path.join(REPO, "build")
        self.tmp = tmp or tempfile.mkdtemp(prefix="webhookd-stack-")
        # nginx's workers run as another user when the master is root: they
        # must be able to reach the socket inside this directory.
        os.chmod(self.tmp, 0o755)
        self.port = port or free_port()
        names = ["webhookd"] + ["webhookd-%d" % i for i in range(1, instances)]
        self.instances = [Webhookd(os.path.join(self.build, "webhookd"), config, os.path.join(self.tmp, n + ".sock"),
                                   workers, state_dir, os.path.join(self.tmp, n + ".log")) for n in names]
        self.webhookd = self.instances[0]
        self.socket_path = self.webhookd.socket_path
        self.nginx = Nginx(os.path.join(self.tmp, "nginx"), self.port, [w.socket_path for w in self.instances])

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        try:
            for w in self.instances:
                w.start()
            self.nginx.start()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self, remove=True):
        self.nginx.stop()
        for w in self.instances:
            w.stop()
        if remove:
            shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description="serve webhookd through nginx until Ctrl-C")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--config", default=os.path.join(CONF_DIR, "webhookd.yaml"))
    parser.add_argument("--state-dir")
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    if port_open(args.port):
        sys.exit("port %d is already in use; try: make run PORT=8081" % args.port)
    stack = Stack(os.path.abspath(args.config), os.path.abspath(args.state_dir) if args.state_dir else None,
                  args.port, args.workers)
    stack.webhookd.log_path = None  # the request log goes to this terminal

    stopping = []

    def on_signal(signum, _frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        stack.start()
        url = stack.base_url + "/v1/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks"
        print("webhookd is serving through nginx on %s (Ctrl-C stops everything)" % stack.base_url, flush=True)
        print("try:\n  curl -s -u ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:token123 %s" % url, flush=True)
        while not stopping:
            if stack.webhookd.proc.poll() is not None or stack.nginx.proc.poll() is not None:
                print("a process of the stack exited; stopping", file=sys.stderr)
                break
            time.sleep(0.2)
    finally:
        stack.stop()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
