"""The man pages as built by the Makefile (scdoc, conf/man/*.scd): each
renders with no warning from groff or man, names the version the programs
print, and documents what the programs really have: every webhookctl
command (one section each) with every option its usage names, every
webhookd option, every key the config reader accepts."""
import os
import re
import subprocess
import unittest

from e2e.support import BUILD, WEBHOOKCTL, WEBHOOKD
from harness.stack import REPO

MAN = os.path.join(BUILD, "man")
PAGES = ["man8/webhookd.8", "man1/webhookctl.1", "man5/webhookd.yaml.5"]
OPTION = re.compile(r"--[a-z][a-z-]*")


def page_text(name):
    """The page's roff with font escapes dropped: what a reader sees, near enough."""
    with open(os.path.join(MAN, name)) as f:
        return re.sub(r"\\f[BIRP]|\\&", "", f.read())


def sections(roff, macro):
    """{title: body} of each .SH or .SS section."""
    parts = re.split(r'^\.%s "?([^"\n]+)"?\n' % macro, roff, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def help_blocks():
    """{command: its usage text} from webhookctl's own help: what `webhookctl
    COMMAND --help` prints, or that command's block of the whole list."""
    listing = subprocess.run([WEBHOOKCTL, "--help"], capture_output=True, text=True).stdout
    commands = re.findall(r"^  ([a-z][a-z-]+)\b", listing, re.M)
    blocks = {}
    for command in commands:
        text = subprocess.run([WEBHOOKCTL, command, "--help"], capture_output=True, text=True).stdout
        if not text.startswith("usage: webhookctl %s " % command):  # the whole list: this command's lines
            text = re.search(r"^  %s\b.*?(?=^  [a-z-]+ [\[(A-Z-]|\Z)" % re.escape(command), text, re.M | re.S).group(0)
        blocks[command] = text
    return blocks


class ManPagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for name in PAGES:
            if not os.path.exists(os.path.join(MAN, name)):
                raise unittest.SkipTest("%s is not built (make man)" % name)

    def test_each_page_renders_without_a_warning(self):
        for name in PAGES:
            path = os.path.join(MAN, name)
            with self.subTest(name):
                r = subprocess.run(["groff", "-man", "-ww", "-z", "-Tutf8", path], capture_output=True, text=True)
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                r = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                                   env=dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
                self.assertEqual((r.returncode, r.stderr), (0, ""))
                self.assertIn("NAME", r.stdout)

    def test_the_check_catches_a_warning(self):
        # The check must be able to fail: a page with a character groff has no glyph for.
        bad = os.path.join(MAN, "man1", "broken.1")
        with open(bad, "w") as f:
            f.write('.TH "broken" "1"\n.SH NAME\nbroken \\- a page with \\[nosuchglyph]\n')
        try:
            r = subprocess.run(["groff", "-man", "-ww", "-z", "-Tutf8", bad], capture_output=True, text=True)
            self.assertIn("warning", r.stderr)
        finally:
            os.remove(bad)

    def test_each_page_names_the_version_the_programs_print(self):
        version = subprocess.run([WEBHOOKD, "--version"], capture_output=True, text=True).stdout.split()[1]
        for name in PAGES:
            with self.subTest(name):
                title = re.search(r'^\.TH "([^"]+)" "(\d)" "[^"]*" "([^"]*)"', page_text(name), re.M)
                self.assertEqual(title.group(3), "webhookd " + version)

    def test_webhookctl_has_a_section_per_command_with_each_option(self):
        blocks = help_blocks()
        self.assertGreaterEqual(len(blocks), 9, blocks.keys())
        documented = sections(page_text("man1/webhookctl.1"), "SS")
        self.assertEqual(sorted(documented), sorted(blocks), "one man page section per command, no more")
        for command, usage in blocks.items():
            with self.subTest(command):
                body = documented[command]
                for option in sorted(set(OPTION.findall(usage)) - {"--help"}):
                    self.assertTrue(option in body, "%s's %s is not in webhookctl(1)" % (command, option))
                self.assertIn("Exit status:", body)

    def test_webhookd_page_has_every_option(self):
        usage = subprocess.run([WEBHOOKD, "--help"], capture_output=True, text=True).stdout
        options = sections(page_text("man8/webhookd.8"), "SH")["OPTIONS"]
        found = set(OPTION.findall(usage))
        self.assertGreaterEqual(len(found), 7, usage)
        for option in sorted(found):
            self.assertTrue(option in options, "%s is not under OPTIONS in webhookd(8)" % option)

    def test_config_page_has_every_key_the_reader_accepts(self):
        with open(os.path.join(REPO, "src", "model", "config.cc")) as f:
            source = f.read()
        # The reader names the keys it accepts in each fields(node, {allowed}, {required}, ...) call.
        keys = set()
        for allowed in re.findall(r"fields\([*\w]+, \{([^}]*)\}", source):
            keys.update(re.findall(r'"([a-z0-9_]+)"', allowed))
        self.assertTrue({"state_dir", "accounts", "auth_token_sha256", "secret_sha256"} <= keys, keys)
        documented = sections(page_text("man5/webhookd.yaml.5"), "SH")["KEYS"]
        for key in sorted(keys):
            self.assertTrue(key + ":" in documented, "%s is not under KEYS in webhookd.yaml(5)" % key)


if __name__ == "__main__":
    unittest.main()
