#!/usr/bin/python3
"""`make deb`: webhookd's Debian package, built the Debian way in a clean root.

The source tree is assembled under build/deb/ from the checkout (Makefile,
README.md, src, conf, systemd) with debian/ copied from conf/debian/, and
dpkg-buildpackage builds it inside a bookworm root holding build-essential
and the Build-Depends of debian/control, nothing else (mmdebstrap, cached by
harness.container), booted with no network: a missing Build-Depends fails
the build. The package and its .buildinfo/.changes land in build/deb/; the
.deb's path is printed. A tree that has not changed since the last build is
not built again. Needs root (the root is unpacked and entered as root).

The lifecycle test builds rebuilds of the same sources with a higher version
(a changelog entry added to its copy) that change shipped conffiles as a
release might (lines appended to their sources): build(..., entry=, append=)."""
import argparse
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness.container import root_tarball  # noqa: E402
from harness.stack import REPO  # noqa: E402

OUT = os.path.join(REPO, "build", "deb")


def installed_documents():
    """The Makefile's DOCS: the README and the documents `make install` puts
    beside it. The one list; the package's sources and the docs' tests read it."""
    with open(os.path.join(REPO, "Makefile")) as f:
        text = f.read().replace("\\\n", " ")
    return re.search(r"^DOCS = (.*)$", text, re.M).group(1).split()


# What the source package holds: the project less its tests and demo state,
# but with every document `make install` installs beside the README.
SOURCES = ("Makefile", "src", "conf", "systemd", *installed_documents())


def build_depends(control):
    """The Build-Depends field of a debian/control, as written."""
    field = re.search(r"^Build-Depends:(.*?)(?=^\S|^$)", control, re.M | re.S)
    return " ".join(field.group(1).split())


def build_root():
    """bookworm's buildd set (build-essential) plus the Build-Depends,
    installed by apt-get build-dep from a control file that has just them."""
    with open(os.path.join(REPO, "conf", "debian", "control")) as f:
        control = "Source: webhookd\nBuild-Depends: %s\n\nPackage: webhookd\nArchitecture: any\n" % build_depends(f.read())
    return root_tarball("deb-build", [], variant="buildd", hooks=[
        'mkdir -p "$1/tmp/bd/debian" && printf %%s %s > "$1/tmp/bd/debian/control"' % shlex.quote(control),
        'chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -q --no-install-recommends /tmp/bd',
        'rm -rf "$1/tmp/bd"',
    ])


def source_files():
    """The checkout's files under SOURCES, as git sees the work tree (tracked
    or new, never ignored; every file in a tree that is no git checkout),
    conf/debian/ apart but for an installed document (its README)."""
    r = subprocess.run(["git", "-C", REPO, "ls-files", "-co", "--exclude-standard", "-z", "--"] + list(SOURCES),
                       capture_output=True, text=True)
    if r.returncode == 0:
        listed = r.stdout.split("\0")
    else:
        listed = [os.path.relpath(os.path.join(d, f), REPO) for s in SOURCES
                  for d, _, fs in os.walk(os.path.join(REPO, s)) for f in fs] + [s for s in SOURCES if os.path.isfile(os.path.join(REPO, s))]
    return sorted(p for p in set(listed)
                  if p and (not p.startswith("conf/debian/") or p in SOURCES)
                  and os.path.isfile(os.path.join(REPO, p)))


def assemble(tree, entry=None, append=None):
    """The source tree in `tree`: the sources, with `append` ({path: text})
    added to the end of those files, and debian/ from conf/debian/ with
    `entry` (a changelog entry) on top of its changelog."""
    for rel in source_files():
        os.makedirs(os.path.dirname(os.path.join(tree, rel)), exist_ok=True)
        shutil.copy2(os.path.join(REPO, rel), os.path.join(tree, rel))
    for rel, text in (append or {}).items():
        with open(os.path.join(tree, rel), "a") as f:
            f.write(text)
    shutil.copytree(os.path.join(REPO, "conf", "debian"), os.path.join(tree, "debian"))
    if entry:
        path = os.path.join(tree, "debian", "changelog")
        with open(path) as f:
            old = f.read()
        with open(path, "w") as f:
            f.write(entry.rstrip("\n") + "\n\n" + old)


def digest(tree):
    h = hashlib.sha256()
    for root, dirs, files in os.walk(tree):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                h.update(b"%s %o\0" % (os.path.relpath(path, tree).encode(), os.stat(path).st_mode) + f.read())
    return h.hexdigest()


def changelog_version(tree):
    with open(os.path.join(tree, "debian", "changelog")) as f:
        return re.match(r"\S+ \(([^)]+)\)", f.readline()).group(1)


def build(out=OUT, entry=None, append=None, quiet=False):
    """Builds (or finds up to date) the package; returns the .deb's path."""
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    os.makedirs(out, exist_ok=True)
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="work-", dir=out)
    try:
        staged = os.path.join(work, "tree")
        assemble(staged, entry, append)
        version = changelog_version(staged)
        upstream = version.rsplit("-", 1)[0]
        deb = os.path.join(out, "webhookd_%s_%s.deb" % (version, arch))
        root = build_root()
        stamp = os.path.join(out, ".webhookd_%s.digest" % version)
        mark = digest(staged) + " " + os.path.basename(root)
        if os.path.exists(deb) and os.path.exists(stamp) and open(stamp).read() == mark:
            say("webhookd %s: up to date" % version)
            return deb
        say("building webhookd %s in a clean bookworm root (%s)" % (version, os.path.basename(root)))
        rootdir = os.path.join(work, "root")
        os.mkdir(rootdir)
        subprocess.run(["tar", "-xf", root, "-C", rootdir], check=True)
        os.makedirs(os.path.join(rootdir, "build"))
        os.rename(staged, os.path.join(rootdir, "build", "webhookd-" + upstream))
        log_path = os.path.join(out, "webhookd_%s_%s.build" % (version, arch))
        with open(log_path, "w") as log:
            r = subprocess.run(
                ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--private-network", "--as-pid2",
                 "-D", rootdir, "--chdir=/build/webhookd-" + upstream,
                 "--setenv=DEB_BUILD_OPTIONS=parallel=%d" % (os.cpu_count() or 1), "--setenv=LC_ALL=C.UTF-8",
                 "dpkg-buildpackage", "-us", "-uc", "-b"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, timeout=3600)
        if r.returncode != 0:
            with open(log_path) as f:
                tail = f.read()[-6000:]
            raise RuntimeError("dpkg-buildpackage failed (exit %d); the log is %s:\n%s" % (r.returncode, log_path, tail))
        made = [n for n in os.listdir(os.path.join(rootdir, "build")) if n.endswith((".deb", ".buildinfo", ".changes"))]
        for name in made:
            shutil.move(os.path.join(rootdir, "build", name), os.path.join(out, name))
        if not os.path.exists(deb):
            raise RuntimeError("dpkg-buildpackage made %s, not %s" % (made, os.path.basename(deb)))
        with open(stamp, "w") as f:
            f.write(mark)
        return deb
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("make deb needs root: it unpacks a Debian root and builds inside it")
    deb = build()
    print(os.path.relpath(deb, os.getcwd()) if deb.startswith(os.getcwd() + os.sep) else deb)


if __name__ == "__main__":
    main()
