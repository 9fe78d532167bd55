"""The layers of src/ only look down: base -> model -> store -> api -> edge ->
programs (src/main.cc, src/webhookctl*). Every quoted include is read and
must name a layer at or below its own; third-party headers stay where they
belong (libfcgi in the edge, RapidJSON in the API, yaml-cpp in the model's
YAML reader). And the store links without the API and the edge."""
import os
import re
import subprocess
import tempfile
import unittest

from e2e.support import BUILD
from harness.stack import REPO

LAYERS = ["base", "model", "store", "api", "edge"]
PROGRAMS_RANK = len(LAYERS)
# Third-party headers and the only folders (or files) allowed to include them.
CONFINED = {
    "fcgiapp.h": ["edge/fcgi_server.cc"],
    "fcgi_stdio.h": [],
    "rapidjson/": ["api/", "programs"],
    "yaml-cpp/": ["model/strict_yaml.cc"],
    "curl/": ["programs"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def rank_of(relpath):
    """Layer rank of a file under src/ ('model/x.h' -> 1); programs are top."""
    top = relpath.split("/", 1)[0]
    if "/" not in relpath:
        return PROGRAMS_RANK
    return LAYERS.index(top) if top in LAYERS else None


def violations(src):
    """Every include in src/ that points up, or a confined header out of place."""
    found = []
    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".h", ".cc")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)
            mine = rank_of(rel)
            if mine is None:
                found.append("%s: not in a layer (%s)" % (rel, ", ".join(LAYERS)))
                continue
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for kind, target in INCLUDE.findall(text):
                if kind == '"':
                    theirs = rank_of(target)
                    if theirs is None:
                        found.append("%s includes %s: not a layer" % (rel, target))
                    elif theirs > mine:
                        found.append("%s (%s) includes %s (%s): points up" % (
                            rel, LAYERS[mine] if mine < PROGRAMS_RANK else "programs", target,
                            LAYERS[theirs] if theirs < PROGRAMS_RANK else "programs"))
                for header, allowed in CONFINED.items():
                    if target == header or (header.endswith("/") and target.startswith(header)):
                        where = "programs" if mine == PROGRAMS_RANK else rel
                        if not any(where == a or where.startswith(a) for a in allowed):
                            found.append("%s includes <%s>: only %s may" % (rel, target, allowed or "nothing"))
    return found


class Layers(unittest.TestCase):
    def test_no_include_points_up(self):
        self.assertEqual(violations(os.path.join(REPO, "src")), [])

    def test_the_check_catches_an_upward_include(self):
        # The check itself must be able to fail: a tree with each kind of fault.
        with tempfile.TemporaryDirectory() as tmp:
            for folder in ("store", "model", "resource"):
                os.makedirs(os.path.join(tmp, folder))
            with open(os.path.join(tmp, "store", "s.h"), "w") as f:
                f.write('#include "model/m.h"\n#include "api/handler.h"\n#include <fcgiapp.h>\n')
            with open(os.path.join(tmp, "model", "m.h"), "w") as f:
                f.write('#include "base/result.h"\n#include <rapidjson/writer.h>\n')
            with open(os.path.join(tmp, "resource", "r.h"), "w") as f:
                f.write("\n")
            found = violations(tmp)
            self.assertIn("store/s.h (store) includes api/handler.h (api): points up", found)
            self.assertTrue(any("store/s.h includes <fcgiapp.h>" in v for v in found), found)
            self.assertTrue(any("model/m.h includes <rapidjson/writer.h>" in v for v in found), found)
            self.assertTrue(any("resource/r.h: not in a layer" in v for v in found), found)
            self.assertEqual(len(found), 4, found)

    def test_webhookctl_never_links_the_edge(self):
        binary = os.path.join(BUILD, "webhookctl")
        if not os.path.exists(binary):
            binary = os.path.join(REPO, "build", "webhookctl")
        self.assertTrue(os.path.exists(binary), "make test builds build/webhookctl")
        self.assertNotIn("libfcgi", subprocess.run(["ldd", binary], capture_output=True, text=True).stdout)
        symbols = subprocess.run(["nm", "-C", binary], capture_output=True, text=True).stdout
        self.assertNotIn("FcgiServer", symbols)

    def test_the_store_links_without_api_edge_or_libfcgi(self):
        binary = os.path.join(BUILD, "store_link_check")
        if not os.path.exists(binary):
            binary = os.path.join(REPO, "build", "store_link_check")
        self.assertTrue(os.path.exists(binary), "make test builds build/store_link_check")
        libs = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        self.assertNotIn("libfcgi", libs)
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
