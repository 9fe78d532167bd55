"""The Debian package (issue 20). The version has one source, the top entry
of conf/debian/changelog: the Makefile, the programs' --version and the
package all read it there."""
import os
import re
import subprocess
import tempfile
import unittest

from e2e.support import BUILD, WEBHOOKCTL, WEBHOOKD
from harness.stack import REPO

CHANGELOG = os.path.join(REPO, "conf", "debian", "changelog")


def changelog_version(path=CHANGELOG):
    """(package version, upstream version) as dpkg reads the top entry."""
    full = subprocess.run(["dpkg-parsechangelog", "-l", path, "-S", "Version"], capture_output=True, text=True,
                          check=True).stdout.strip()
    return full, full.rsplit("-", 1)[0]


class VersionTest(unittest.TestCase):
    def test_make_reads_the_version_dpkg_reads(self):
        r = subprocess.run(["make", "-s", "--no-print-directory", "-C", REPO, "version"], capture_output=True,
                           text=True, check=True)
        self.assertEqual(r.stdout.split(), list(changelog_version()))

    def test_the_programs_print_the_changelogs_version(self):
        _, upstream = changelog_version()
        for program, name in ((WEBHOOKD, "webhookd"), (WEBHOOKCTL, "webhookctl")):
            r = subprocess.run([program, "--version"], capture_output=True, text=True)
            self.assertEqual(r.stdout, "%s %s\n" % (name, upstream), "%s was built from another version" % program)

    def test_no_version_number_is_written_in_the_sources(self):
        # A number in a header would be a second truth that the changelog cannot move.
        found = []
        for root, _, files in os.walk(os.path.join(REPO, "src")):
            for name in files:
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    for n, line in enumerate(f, 1):
                        if re.search(r'"\d+\.\d+\.\d+', line):
                            found.append("%s:%d: %s" % (os.path.relpath(os.path.join(root, name), REPO), n, line))
        self.assertEqual(found, [])

    def test_a_new_changelog_entry_is_the_new_version(self):
        # What a release does: a new top entry. The header the programs are
        # compiled with follows it (the whole rebuild is the upgrade test's).
        with tempfile.TemporaryDirectory() as tmp:
            changelog = os.path.join(tmp, "changelog")
            with open(CHANGELOG) as f:
                old = f.read()
            with open(changelog, "w") as f:
                f.write("webhookd (9.8.7-3) bookworm; urgency=medium\n\n  * A test.\n\n"
                        " -- T <t@example.org>  Tue, 01 Dec 2026 15:00:00 +0000\n\n" + old)
            header = os.path.join(tmp, "gen", "base", "version_number.h")
            subprocess.run(["make", "-s", "-C", REPO, "BUILD=" + tmp, "CHANGELOG=" + changelog, header], check=True)
            with open(header) as f:
                self.assertIn('#define WEBHOOKD_VERSION "9.8.7"\n', f.read())


if __name__ == "__main__":
    unittest.main()
