"""The package builds with its own backend (what `pip install ./python`
runs) into a wheel that imports on its own."""

import os
import subprocess
import re
import sys
import tarfile
import tempfile
import unittest
import zipfile

import support

sys.path.insert(0, os.path.join(support.PACKAGE_DIR, "_build"))
import logfanin_build  # noqa: E402


class TestPackaging(unittest.TestCase):
    def test_wheel(self):
        with tempfile.TemporaryDirectory() as d:
            name = logfanin_build.build_wheel(d)
            self.assertRegex(name, r"^logfanin-[0-9.]+-py3-none-any\.whl$")
            with zipfile.ZipFile(os.path.join(d, name)) as z:
                names = z.namelist()
                self.assertIn("logfanin/__init__.py", names)
                (meta,) = [n for n in names if n.endswith(".dist-info/METADATA")]
                self.assertMetadataIsPyproject(z.read(meta).decode())
                self.assertFalse([n for n in names if "__pycache__" in n or "tests" in n])
                z.extractall(os.path.join(d, "site"))
            out = subprocess.run([sys.executable, "-c", "import logfanin; print(logfanin.Handler.__module__, logfanin.__file__)"],
                                 env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.path.join(d, "site")},
                                 cwd=d, capture_output=True, text=True, check=True).stdout
            self.assertIn(os.path.join(d, "site"), out)

    def test_sdist(self):
        with tempfile.TemporaryDirectory() as d:
            name = logfanin_build.build_sdist(d)
            base = name[:-len(".tar.gz")]
            with tarfile.open(os.path.join(d, name)) as t:
                names = t.getnames()
                for want in ("pyproject.toml", "_build/logfanin_build.py", "logfanin/__init__.py", "PKG-INFO"):
                    self.assertIn(base + "/" + want, names)
                self.assertMetadataIsPyproject(t.extractfile(base + "/PKG-INFO").read().decode())

    def assertMetadataIsPyproject(self, metadata):
        """The backend writes the metadata itself: what it writes must be
        what pyproject.toml says."""
        with open(os.path.join(support.PACKAGE_DIR, "pyproject.toml"), encoding="utf-8") as f:
            project = dict(re.findall(r'(?m)^(version|description|requires-python) = "(.*)"$', f.read()))
        self.assertEqual(len(project), 3, project)
        self.assertIn("\nVersion: %s\n" % project["version"], metadata)
        self.assertIn("\nSummary: %s\n" % project["description"], metadata)
        self.assertIn("\nRequires-Python: %s\n" % project["requires-python"], metadata)


if __name__ == "__main__":
    unittest.main()
