#!/usr/bin/python3
"""A webhookd fleet on one machine, for `make fleet` and the fleet tests.

One GlusterFS volume of three bricks (replica 3) in local directories, served
by a glusterd of our own in a "storage" network namespace; three hosts, each
in its own network namespace with its own FUSE mount of the volume, webhookd
and nginx; a front nginx on 127.0.0.1 balancing across them. The volume
options, the mount options and the front's nginx site are the shipped files
in conf/fleet/: what is tested is what a user copies. Needs root.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from harness.stack import REPO, Nginx, Webhookd, _die_with_parent, free_port, port_open, wait_for  # noqa: E402

FLEET_CONF = os.path.join(REPO, "conf", "fleet")
VOLUME = "webhookd"
HOST_PORT = 8080
PREFIX = "whf"  # of every namespace and link made here: whf<pid>-...


def sh(argv, check=True, timeout=120):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv), proc.returncode, proc.stdout.strip()))
    return proc.stdout


def volume_options():
    """(key, value) from conf/fleet/volume.options, in order."""
    options = []
    with open(os.path.join(FLEET_CONF, "volume.options")) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if line:
                options.append((line[0], line[1]))
    return options


def mount_options():
    """The options of conf/fleet/fstab's line, less those that only mean
    something with several storage servers or to the boot sequence."""
    with open(os.path.join(FLEET_CONF, "fstab")) as f:
        for line in f:
            fields = line.split()
            if fields and not fields[0].startswith("#"):
                keep = [o for o in fields[3].split(",")
                        if o not in ("defaults", "_netdev") and not o.startswith("backup-volfile-servers=")]
                return ",".join(keep)
    raise RuntimeError("conf/fleet/fstab has no mount line")


def in_netns(name):
    """The command prefix that runs a program in network namespace `name`,
    and in nothing else of it: `ip netns exec` would also give the program a
    mount namespace of its own, and a FUSE mount made there would be
    invisible to the host's webhookd."""
    return ["nsenter", "--net=/run/netns/" + name, "--"]


def netns_pids(name):
    out = sh(["ip", "netns", "pids", name], check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def signal_all(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def task_states(pid):
    """The state letters (R, S, D, T, ...) of the threads of `pid`."""
    states = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                states.append(f.read().rsplit(")", 1)[1].split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return states


def freeze(pids, timeout=5):
    """Stops every process of `pids` before any of them is killed, and waits
    until none runs user code: a thread stopped (T), or asleep in the kernel
    (S, D), can no longer act, since a pending SIGSTOP is taken on the way
    back to user space. Killing one after another instead leaves each process
    alive for a moment while the earlier ones are already dead: a webhookd
    whose FUSE client went first reads "Transport endpoint is not connected"
    and answers 500, which a powered-off host never does."""
    signal_all(pids, signal.SIGSTOP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any("R" in task_states(p) for p in pids):
        time.sleep(0.005)


def power_cut(pids):
    freeze(pids)
    signal_all(pids, signal.SIGKILL)


def kill_netns_processes(name):
    power_cut(netns_pids(name))


def is_mounted(path):
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


def unmount(path):
    if is_mounted(path):
        # Lazy: a FUSE mount whose client was killed can no longer answer a
        # plain umount ("Transport endpoint is not connected").
        if subprocess.run(["umount", path], stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["umount", "-l", path], stderr=subprocess.DEVNULL)


def clean_stale():
    """Removes what a fleet of a process that no longer exists left behind
    (its runner killed outright): mounts, namespaces, links, temp dirs."""
    def dead(pid):
        return not os.path.exists("/proc/%d" % pid)
    with open("/proc/self/mounts") as f:
        for line in f:
            m = re.search(r"/webhookd-fleet-(\d+)-", line.split()[1])
            if m and dead(int(m.group(1))):
                unmount(line.split()[1])
    for name in sh(["ip", "netns", "list"], check=False).split():
        m = re.match(PREFIX + r"(\d+)-", name)
        if m and dead(int(m.group(1))):
            kill_netns_processes(name)
            sh(["ip", "netns", "del", name], check=False)
    for line in sh(["ip", "-o", "link", "show"], check=False).splitlines():
        m = re.match(r"\d+: (%s(\d+)-[^:@]+)" % PREFIX, line)
        if m and dead(int(m.group(2))):
            sh(["ip", "link", "del", m.group(1)], check=False)
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        m = re.match(r"webhookd-fleet-(\d+)-", entry)
        if m and dead(int(m.group(1))):
            shutil.rmtree(os.path.join(tmp, entry), ignore_errors=True)
    remove_dead_gluster_sockets()


class Host:
    """One fleet host: a network namespace with its address, a FUSE mount of
    the volume, webhookd on that mount, and nginx on ADDRESS:8080."""

    def __init__(self, fleet, index):
        self.fleet, self.index = fleet, index
        self.name = "h%d" % index
        self.netns = "%s-%s" % (fleet.tag, self.name)
        self.address = "%s.%d" % (fleet.subnet, 10 + index)
        self.dir = os.path.join(fleet.tmp, self.name)
        self.mount = os.path.join(self.dir, "state")
        self.wrap = in_netns(self.netns)
        self.webhookd = Webhookd(fleet.webhookd_binary, fleet.config, os.path.join(self.dir, "webhookd.sock"),
                                 fleet.workers, self.mount, os.path.join(self.dir, "webhookd.log"), wrap=self.wrap)
        self.nginx = Nginx(os.path.join(self.dir, "nginx"), HOST_PORT, [self.webhookd.socket_path],
                           listen=self.address, wrap=self.wrap)

    @property
    def url(self):
        return "http://%s:%d" % (self.address, HOST_PORT)

    def mount_volume(self):
        os.makedirs(self.mount, exist_ok=True)
        options = mount_options() + ",log-file=" + os.path.join(self.dir, "mount.log")
        sh(self.wrap + ["mount", "-t", "glusterfs", "-o", options,
                        "%s:/%s" % (self.fleet.storage_address, VOLUME), self.mount])
        wait_for(lambda: is_mounted(self.mount), 10, "the volume mounted on " + self.name)

    def start(self):
        self.webhookd.start()
        self.nginx.start()

    def kill(self):
        """Everything of the host at once, as a power cut would: webhookd,
        nginx and the FUSE client."""
        kill_netns_processes(self.netns)
        for p in (self.webhookd.proc, self.nginx.proc):
            if p:
                p.wait()
        unmount(self.mount)

    def restart(self):
        self.mount_volume()
        self.start()

    def fuse_client_pid(self):
        """The glusterfs client process serving this host's mount (it runs in
        the host's network namespace, beside webhookd and nginx)."""
        for pid in netns_pids(self.netns):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    argv = f.read().rstrip(b"\0").split(b"\0")
            except OSError:
                continue
            if os.path.basename(argv[0]) == b"glusterfs" and argv[-1] == self.mount.encode():
                return pid
        return None

    def kill_fuse_client(self):
        """The FUSE client alone dies (SIGKILL); webhookd and nginx live on,
        and every access to the mount fails: "Transport endpoint is not
        connected" (ENOTCONN)."""
        pid = self.fuse_client_pid()
        if pid is None:
            raise RuntimeError("no glusterfs client serves " + self.mount)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid) or task_states(pid) in ([], ["Z"]), 10,
                 "the FUSE client of %s to die" % self.name)

    def remount(self):
        """The volume mounted again where it was, under the running webhookd."""
        unmount(self.mount)
        self.mount_volume()

    def stop(self):
        self.nginx.stop()
        self.webhookd.stop()
        kill_netns_processes(self.netns)
        unmount(self.mount)


class FrontNginx(Nginx):
    """The front: nginx serving the shipped conf/fleet/front.site with this
    fleet's hosts and port; started and stopped as any nginx of the tests."""

    def __init__(self, prefix, port, host_addresses):
        super().__init__(prefix, port, [])
        self.host_addresses = host_addresses

    def render(self):
        self.make_dirs()
        with open(os.path.join(FLEET_CONF, "front.site")) as f:
            site = f.read()
        # The example server lines replaced, everything else as shipped.
        server = r"^(\s*)server \d+\.\d+\.\d+\.\d+:\d+(.*);\n"
        first = re.search(server, site, re.M)
        if not first:
            raise RuntimeError("conf/fleet/front.site has no upstream server lines")
        indent, params = first.groups()
        site = re.sub("(?:%s)+" % server, "".join("%sserver %s:%d%s;\n" % (indent, a, HOST_PORT, params)
                                                  for a in self.host_addresses), site, count=1, flags=re.M)
        site = re.sub(r"^\s*listen \[::\]:80;\n", "", site, flags=re.M)
        site = site.replace("listen 80;", "listen %s:%d;" % (self.listen, self.port))
        with open(os.path.join(self.prefix, "front.site"), "w") as f:
            f.write(site)
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write("worker_processes 1;\ndaemon off;\npid %(p)s/nginx.pid;\nerror_log %(p)s/error.log warn;\n"
                    "events { worker_connections 4096; }\nhttp {\n    access_log %(p)s/access.log;\n"
                    "    client_body_temp_path %(p)s/client_body;\n    proxy_temp_path %(p)s/proxy;\n"
                    "    fastcgi_temp_path %(p)s/fastcgi;\n    uwsgi_temp_path %(p)s/uwsgi;\n"
                    "    scgi_temp_path %(p)s/scgi;\n    include %(p)s/front.site;\n}\n" % {"p": self.prefix})
        return conf


class Fleet:
    def __init__(self, config, state_dir, port=None, hosts=3, workers=4, build=None, quiet=False):
        self.build = build or os.path.join(REPO, "build")
        self.webhookd_binary = os.path.join(self.build, "webhookd")
        self.config, self.state_dir, self.workers, self.quiet = config, state_dir, workers, quiet
        self.port = port or free_port()
        self.tag = "%s%d" % (PREFIX, os.getpid())
        self.tmp = None
        self.subnet = None
        self.bridge = self.tag + "-br"
        self.storage_netns = self.tag + "-s"
        self.links = []
        self.hosts = []
        self.host_count = hosts
        self.glusterd = None
        self.front = None

    # -- progress --------------------------------------------------------
    def say(self, text):
        if not self.quiet:
            print("fleet: " + text, flush=True)

    # -- network ---------------------------------------------------------
    def pick_subnet(self):
        used = sh(["ip", "-4", "-o", "addr", "show"])
        for n in range(os.getpid() % 200, os.getpid() % 200 + 200):
            subnet = "10.213.%d" % (n % 200 + 20)
            if (" %s." % subnet) not in used:
                return subnet
        raise RuntimeError("no free 10.213.x.0/24 subnet")

    def add_netns(self, netns, name, address):
        """A network namespace on the fleet's bridge, with `address`."""
        sh(["ip", "netns", "add", netns])
        sh(["ip", "-n", netns, "link", "set", "lo", "up"])
        inside, outside = "%s-%si" % (self.tag, name), "%s-%so" % (self.tag, name)
        sh(["ip", "link", "add", inside, "type", "veth", "peer", "name", outside])
        self.links.append(outside)
        sh(["ip", "link", "set", outside, "master", self.bridge])
        sh(["ip", "link", "set", outside, "up"])
        sh(["ip", "link", "set", inside, "netns", netns])
        sh(["ip", "-n", netns, "addr", "add", address + "/24", "dev", inside])
        sh(["ip", "-n", netns, "link", "set", inside, "up"])

    # -- storage ---------------------------------------------------------
    @property
    def storage_address(self):
        return self.subnet + ".2"

    def gluster(self, *args, check=True, timeout=120):
        # In the storage namespace: `heal info` runs glfsheal, which fetches
        # the volume's layout from glusterd at localhost:24007.
        return sh(in_netns(self.storage_netns) + ["gluster", "--mode=script", "--glusterd-sock=" + self.glusterd_sock,
                                                  "--log-file=" + os.path.join(self.tmp, "glusterd", "cli.log")]
                  + list(args), check=check, timeout=timeout)

    def brick_path(self, i):
        return os.path.join(self.tmp, "bricks", "b%d" % i)

    def start_storage(self):
        d = os.path.join(self.tmp, "glusterd")
        for sub in ("wd", "run", "log"):
            os.makedirs(os.path.join(d, sub))
        self.glusterd_sock = os.path.join(d, "run", "glusterd.socket")
        # glusterd of our own: its own working and run directories and socket,
        # in its own network namespace (port 24007 and the brick ports are
        # then free whatever else runs on the machine).
        vol = os.path.join(d, "glusterd.vol")
        with open(vol, "w") as f:
            f.write("volume management\n    type mgmt/glusterd\n"
                    "    option working-directory %s/wd\n    option run-directory %s/run\n"
                    "    option glusterd-sockfile %s\n    option transport-type socket\n"
                    "    option transport.socket.listen-port 24007\n    option ping-timeout 0\n"
                    "    option event-threads 1\n    option max-port 60999\nend-volume\n"
                    % (d, d, self.glusterd_sock))
        self.add_netns(self.storage_netns, "s", self.storage_address)
        self.glusterd = subprocess.Popen(in_netns(self.storage_netns) + [
                                          "glusterd", "-N", "-f", vol, "-p", os.path.join(d, "glusterd.pid"),
                                          "-l", os.path.join(d, "log", "glusterd.log"), "--log-level=WARNING"],
                                         stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        wait_for(lambda: os.path.exists(self.glusterd_sock) or self.glusterd.poll() is not None, 20, "glusterd")
        if self.glusterd.poll() is not None:
            raise RuntimeError("glusterd exited with %s" % self.glusterd.returncode)
        bricks = []
        for i in range(1, 4):
            os.makedirs(self.brick_path(i))
            bricks.append("%s:%s" % (self.storage_address, self.brick_path(i)))
        # force: the bricks are plain directories on the root file system,
        # which gluster refuses unless told (fine here; use own disks for real).
        wait_for(lambda: self.gluster("volume", "list", check=False).strip() in ("No volumes present in cluster", ""),
                 20, "glusterd to answer")
        self.gluster("volume", "create", VOLUME, "replica", "3", *bricks, "force")
        for key, value in volume_options():
            self.gluster("volume", "set", VOLUME, key, value)
        self.gluster("volume", "start", VOLUME)
        wait_for(lambda: len(self.online_bricks()) == 3, 30, "three bricks online")

    def brick_pids(self):
        """{brick number: pid} of the bricks gluster says are online."""
        pids = {}
        out = self.gluster("volume", "status", VOLUME, "--xml", check=False)
        try:
            nodes = ET.fromstring(out).iter("node")
        except ET.ParseError:
            return pids
        for node in nodes:
            path, status, pid = node.findtext("path"), node.findtext("status"), node.findtext("pid")
            for i in range(1, 4):
                if path == self.brick_path(i) and status == "1" and pid and pid.isdigit():
                    pids[i] = int(pid)
        return pids

    def online_bricks(self):
        return sorted(self.brick_pids())

    def kill_brick(self, i):
        pid = self.brick_pids()[i]
        os.kill(pid, signal.SIGKILL)
        # glusterd takes a brick whose pid file names a living process for
        # running, and a zombie is one: "start force" would then start nothing.
        # The brick daemonized, so init reaps it; where init is slow to, the
        # pid file goes instead.
        deadline = time.monotonic() + 10
        while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if os.path.exists("/proc/%d" % pid):
            run = os.path.join(self.tmp, "glusterd", "run")
            for root, _, files in os.walk(run):
                for name in files:
                    path = os.path.join(root, name)
                    if name.endswith(".pid"):
                        with open(path) as f:
                            named = f.read().strip()
                        if named == str(pid):
                            os.unlink(path)

    def restart_bricks(self):
        # "start force" starts the bricks that are down and leaves the others.
        self.gluster("volume", "start", VOLUME, "force")
        wait_for(lambda: len(self.online_bricks()) == 3, 30, "three bricks online")

    def heal_entries(self):
        """Entries waiting for self-heal, summed over the bricks (None when
        gluster cannot tell, e.g. a brick is down). What `gluster volume heal
        VOLUME info` prints, from the program it runs (glfsheal), told where
        our glusterd's socket is: the CLI would send it to the default one."""
        glfsheal = "/usr/lib/x86_64-linux-gnu/glusterfs/glfsheal"
        out = sh(in_netns(self.storage_netns) + [glfsheal, VOLUME, "glusterd-sock", self.glusterd_sock], check=False)
        counts = re.findall(r"Number of entries: (\S+)", out)
        if len(counts) != 3 or not all(c.isdigit() for c in counts):
            return None
        return sum(int(c) for c in counts)

    # -- front -------------------------------------------------------------
    def start_front(self):
        self.front = FrontNginx(os.path.join(self.tmp, "front"), self.port, [h.address for h in self.hosts]).start()

    @property
    def front_url(self):
        return "http://127.0.0.1:%d" % self.port

    # -- whole -------------------------------------------------------------
    def start(self):
        for tool in ("glusterd", "gluster", "mount.glusterfs", "nsenter", "ip"):
            if not shutil.which(tool) and not os.path.exists("/sbin/" + tool):
                raise RuntimeError("%s is missing (Debian: glusterfs-server glusterfs-client util-linux iproute2)" % tool)
        if os.geteuid() != 0:
            raise RuntimeError("a fleet needs root: glusterd, FUSE mounts and network namespaces")
        clean_stale()
        self.tmp = tempfile.mkdtemp(prefix="webhookd-fleet-%d-" % os.getpid())
        os.chmod(self.tmp, 0o755)  # nginx's workers reach the sockets below it
        try:
            self.subnet = self.pick_subnet()
            sh(["ip", "link", "add", self.bridge, "type", "bridge"])
            sh(["ip", "addr", "add", self.subnet + ".1/24", "dev", self.bridge])
            sh(["ip", "link", "set", self.bridge, "up"])
            self.say("starting glusterd and the volume %s (replica 3) at %s" % (VOLUME, self.storage_address))
            self.start_storage()
            self.hosts = [Host(self, i) for i in range(1, self.host_count + 1)]
            for h in self.hosts:
                self.add_netns(h.netns, h.name, h.address)
                h.mount_volume()
                os.chmod(h.dir, 0o755)
            copied = self.seed_state()
            self.say("copied %d state file(s) into the volume" % copied)
            for h in self.hosts:
                self.say("starting %s at %s (nginx + webhookd on its own mount)" % (h.name, h.address))
                h.start()
            self.start_front()
        except BaseException:
            self.stop()
            raise
        return self

    def seed_state(self):
        """The state files (and nothing else) of state_dir, into the volume."""
        if not self.state_dir:
            return 0
        n = 0
        for name in sorted(os.listdir(self.state_dir)):
            if re.match(r"^IS[0-9a-f]{32}\.yaml$", name):
                shutil.copyfile(os.path.join(self.state_dir, name), os.path.join(self.hosts[0].mount, name))
                n += 1
        return n

    def stop(self):
        if self.front:
            self.front.stop()
        for h in self.hosts:
            h.stop()
        if self.glusterd and self.glusterd.poll() is None:
            self.gluster("volume", "stop", VOLUME, check=False, timeout=60)
        if self.tmp:
            for i in range(1, 4):  # glusterd names a brick's log after its path
                log = "/var/log/glusterfs/bricks/%s.log" % self.brick_path(i).strip("/").replace("/", "-")
                if os.path.exists(log):
                    os.unlink(log)
        # Whatever is left in the namespaces: bricks, the self-heal daemon, glusterd.
        for ns in [h.netns for h in self.hosts] + [self.storage_netns]:
            kill_netns_processes(ns)
        if self.glusterd:
            try:
                self.glusterd.wait(10)
            except subprocess.TimeoutExpired:
                pass
        for ns in [h.netns for h in self.hosts] + [self.storage_netns]:
            sh(["ip", "netns", "del", ns], check=False)
        for link in self.links + [self.bridge]:
            sh(["ip", "link", "del", link], check=False)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
        remove_dead_gluster_sockets()


def bound_unix_paths():
    """The paths of unix sockets bound by any living process, in every
    network namespace (each namespace has its own /proc/net/unix)."""
    seen_ns, bound = set(), set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            ns = os.readlink("/proc/%s/ns/net" % pid)
            if ns in seen_ns:
                continue
            with open("/proc/%s/net/unix" % pid) as f:
                lines = f.read().splitlines()[1:]
            seen_ns.add(ns)
        except OSError:
            continue
        bound.update(l.split()[-1] for l in lines if l.split()[-1].startswith("/"))
    return bound


def remove_dead_gluster_sockets():
    """The bricks and the self-heal daemon make sockets in /var/run/gluster
    whatever glusterd's run-directory says, and leave them when killed.
    Removed: those no living process has bound (a system glusterd's and
    another fleet's are bound), older than this look, so none is taken
    between its bind and our reading of /proc."""
    run = "/var/run/gluster"
    if not os.path.isdir(run):
        return
    now = time.time()
    bound = bound_unix_paths()
    for name in os.listdir(run):
        path = os.path.join(run, name)
        try:
            if name.endswith(".socket") and path not in bound and os.stat(path).st_mtime < now:
                os.unlink(path)
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser(description="a webhookd fleet on one machine until Ctrl-C")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--config", default=os.path.join(REPO, "conf", "webhookd.yaml"))
    parser.add_argument("--state-dir")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    if port_open(args.port):
        sys.exit("port %d is already in use; try: make fleet PORT=8081" % args.port)
    config = os.path.abspath(args.config)
    state_dir = args.state_dir
    if not state_dir:  # the config's own, as webhookd would take it
        with open(config) as f:
            m = re.search(r"^state_dir:\s*(\S+)", f.read(), re.M)
        state_dir = os.path.join(os.path.dirname(config), m.group(1)) if m else None
    fleet = Fleet(config, os.path.abspath(state_dir) if state_dir else None, args.port, workers=args.workers)

    stopping = []
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda signum, _frame: stopping.append(signum))
    try:
        fleet.start()
        print("front: %s" % fleet.front_url, flush=True)
        for h in fleet.hosts:
            print("%s: %s" % (h.name, h.url), flush=True)
        print("try:\n  curl -s -u ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:token123 "
              "%s/v1/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Configuration/Webhooks" % fleet.front_url, flush=True)
        print("Ctrl-C stops everything", flush=True)
        while not stopping:
            if fleet.front.proc.poll() is not None:
                print("the front nginx exited; stopping", file=sys.stderr)
                break
            time.sleep(0.2)
    finally:
        fleet.say("stopping: processes, mounts, volume, namespaces")
        fleet.stop()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
