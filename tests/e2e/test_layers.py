"""The layers of src/ only look down: base -> model -> store -> api -> edge ->
programs. The programs are src/main.cc (webhookd: any layer) and src/ctl/
(webhookctl, one file per command: api, store, model and base, never the
edge). Every quoted include is read and must name a layer below its own (or
its own folder); third-party headers stay where they belong (libfcgi in the
edge, RapidJSON in the API and webhookctl, yaml-cpp in the model's YAML
reader, libcurl in fire's sender, prometheus-cpp in the edge). And the
store links without the API and the edge; webhookctl links neither libfcgi
nor prometheus-cpp."""
import os
import re
import subprocess
import tempfile
import unittest

from e2e.support import BUILD
from harness.stack import REPO

LAYERS = ["base", "model", "store", "api", "edge"]
# Each program (a top-level file or a folder) and the layers it may include.
PROGRAMS = {
    "main.cc": LAYERS,                       # webhookd
    "ctl": ["base", "model", "store", "api"],  # webhookctl: never the edge
}
# Third-party headers and the only folders (or files) allowed to include them.
CONFINED = {
    "fcgiapp.h": ["edge/fcgi_server.cc"],
    "fcgi_stdio.h": [],
    "rapidjson/": ["api/", "ctl/"],
    "yaml-cpp/": ["model/strict_yaml.cc"],
    "curl/": ["ctl/webhook_sender.cc"],
    # prometheus-cpp: the edge's metrics (and webhookd's main); the store
    # reports through its own StoreObserver, webhookctl counts nothing.
    "prometheus/": ["edge/", "main.cc"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def unit_of(relpath):
    """The layer or program a path under src/ belongs to ('model/x.h' -> 'model',
    'main.cc' -> 'main.cc', 'ctl/fire.cc' -> 'ctl'), or None."""
    top = relpath.split("/", 1)[0]
    if "/" not in relpath:
        return relpath if relpath in PROGRAMS else None
    return top if top in LAYERS or top in PROGRAMS else None


def may_include(mine, theirs):
    if mine == theirs:
        return True
    if mine in PROGRAMS:
        return theirs in PROGRAMS[mine]
    return theirs in LAYERS and LAYERS.index(theirs) < LAYERS.index(mine)


def violations(src):
    """Every include in src/ that points up or sideways, or a confined header out of place."""
    found = []
    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".h", ".cc")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)
            mine = unit_of(rel)
            if mine is None:
                found.append("%s: not in a layer (%s) or a program (%s)" % (rel, ", ".join(LAYERS), ", ".join(PROGRAMS)))
                continue
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for kind, target in INCLUDE.findall(text):
                if kind == '"':
                    theirs = unit_of(target)
                    if theirs is None:
                        found.append("%s includes %s: not a layer" % (rel, target))
                    elif not may_include(mine, theirs):
                        found.append("%s (%s) includes %s (%s): %s" % (
                            rel, mine, target, theirs, "not allowed" if mine in PROGRAMS else "points up"))
                for header, allowed in CONFINED.items():
                    if target == header or (header.endswith("/") and target.startswith(header)):
                        if not any(rel == a or rel.startswith(a) for a in allowed):
                            found.append("%s includes <%s>: only %s may" % (rel, target, allowed or "nothing"))
    return found


class Layers(unittest.TestCase):
    def test_no_include_points_up(self):
        self.assertEqual(violations(os.path.join(REPO, "src")), [])

    def test_the_check_catches_an_upward_include(self):
        # The check itself must be able to fail: a tree with each kind of fault.
        with tempfile.TemporaryDirectory() as tmp:
            for folder in ("store", "model", "resource", "ctl", "edge"):
                os.makedirs(os.path.join(tmp, folder))
            with open(os.path.join(tmp, "store", "s.h"), "w") as f:
                f.write('#include "model/m.h"\n#include "api/handler.h"\n#include <fcgiapp.h>\n'
                        '#include <prometheus/counter.h>\n')
            with open(os.path.join(tmp, "model", "m.h"), "w") as f:
                f.write('#include "base/result.h"\n#include <rapidjson/writer.h>\n')
            with open(os.path.join(tmp, "resource", "r.h"), "w") as f:
                f.write("\n")
            # webhookctl: its own folder, the API and rapidjson are fine; the
            # edge, libcurl outside the sender and webhookd's main are not.
            with open(os.path.join(tmp, "ctl", "fire.cc"), "w") as f:
                f.write('#include "ctl/options.h"\n#include "api/handler.h"\n#include <rapidjson/writer.h>\n'
                        '#include "edge/fcgi_server.h"\n#include <curl/curl.h>\n')
            # Nothing below the programs includes webhookctl's files; the
            # edge may include prometheus-cpp, webhookctl may not.
            with open(os.path.join(tmp, "edge", "e.cc"), "w") as f:
                f.write('#include "ctl/options.h"\n#include <prometheus/registry.h>\n')
            with open(os.path.join(tmp, "ctl", "show.cc"), "w") as f:
                f.write('#include <prometheus/counter.h>\n')
            with open(os.path.join(tmp, "main.cc"), "w") as f:
                f.write('#include "edge/e.h"\n#include "ctl/options.h"\n')
            found = violations(tmp)
            self.assertIn("store/s.h (store) includes api/handler.h (api): points up", found)
            self.assertTrue(any("store/s.h includes <fcgiapp.h>" in v for v in found), found)
            self.assertTrue(any("model/m.h includes <rapidjson/writer.h>" in v for v in found), found)
            self.assertTrue(any("resource/r.h: not in a layer" in v for v in found), found)
            self.assertIn("ctl/fire.cc (ctl) includes edge/fcgi_server.h (edge): not allowed", found)
            self.assertTrue(any("ctl/fire.cc includes <curl/curl.h>" in v for v in found), found)
            self.assertIn("edge/e.cc (edge) includes ctl/options.h (ctl): points up", found)
            self.assertIn("main.cc (main.cc) includes ctl/options.h (ctl): not allowed", found)
            self.assertTrue(any("store/s.h includes <prometheus/counter.h>" in v for v in found), found)
            self.assertTrue(any("ctl/show.cc includes <prometheus/counter.h>" in v for v in found), found)
            self.assertEqual(len(found), 10, found)

    def test_each_webhookctl_command_is_a_file_of_its_own(self):
        # git's builtin/ layout: the command NAME lives in src/ctl/NAME.cc
        # (dashes as underscores) and nowhere else; main.cc only dispatches.
        binary = os.path.join(BUILD, "webhookctl")
        listing = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
        names = re.findall(r"^  ([a-z][a-z-]+) ", listing, re.M)
        self.assertGreaterEqual(len(names), 9, listing)
        ctl = os.path.join(REPO, "src", "ctl")
        for name in names:
            defined_in = []
            for f in sorted(os.listdir(ctl)):
                with open(os.path.join(ctl, f), encoding="utf-8") as source:
                    if re.search(r'^const Command k\w+ = \{\s*"%s",' % name, source.read(), re.M):
                        defined_in.append(f)
            self.assertEqual(defined_in, [name.replace("-", "_") + ".cc"], name)

    def test_webhookctl_never_links_the_edge(self):
        binary = os.path.join(BUILD, "webhookctl")
        if not os.path.exists(binary):
            binary = os.path.join(REPO, "build", "webhookctl")
        self.assertTrue(os.path.exists(binary), "make test builds build/webhookctl")
        libs = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        self.assertNotIn("libfcgi", libs)
        self.assertNotIn("libprometheus", libs)
        symbols = subprocess.run(["nm", "-C", binary], capture_output=True, text=True).stdout
        self.assertNotIn("FcgiServer", symbols)
        self.assertNotIn("prometheus::", symbols)

    def test_the_store_links_without_api_edge_or_libfcgi(self):
        binary = os.path.join(BUILD, "store_link_check")
        if not os.path.exists(binary):
            binary = os.path.join(REPO, "build", "store_link_check")
        self.assertTrue(os.path.exists(binary), "make test builds build/store_link_check")
        libs = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        self.assertNotIn("libfcgi", libs)
        self.assertNotIn("libprometheus", libs)
        with tempfile.TemporaryDirectory() as state:
            sid = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            with open(os.path.join(state, sid + ".yaml"), "w") as f:
                f.write("account_sid: ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n")
            got = subprocess.run([binary, state, sid], capture_output=True, text=True)
            self.assertEqual(got.returncode, 0, got.stderr)
            self.assertRegex(got.stdout.strip(), r'^"[0-9a-f]{32}"$')
            missing = subprocess.run([binary, state, "ISbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"], capture_output=True, text=True)
            self.assertEqual(missing.returncode, 1)
            self.assertIn("no such file", missing.stderr)


if __name__ == "__main__":
    unittest.main()
