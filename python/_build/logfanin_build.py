"""A build backend (PEP 517, PEP 660) for the package logfanin, standard
library only, so that `pip install ./python` needs nothing from a package
index: the package is pure Python, and a wheel is a zip file."""

import base64
import io
import hashlib
import os
import tarfile
import zipfile

NAME = "logfanin"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _version():
    with open(os.path.join(ROOT, NAME, "__init__.py"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
    raise RuntimeError("no __version__ in %s/__init__.py" % NAME)


def _metadata(version):
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
            "Summary: A logging handler for logfanin: many processes, one log, every record whole\n"
            "Requires-Python: >=3.9\nDescription-Content-Type: text/markdown\n\n%s" % (NAME, version, readme))


def _sources():
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, NAME)):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for fn in sorted(filenames):
            if fn.endswith(".py"):
                full = os.path.join(dirpath, fn)
                yield full, os.path.relpath(full, ROOT).replace(os.sep, "/")


def _wheel(directory, files):
    """Write a wheel holding files (archive name -> bytes)."""
    version = _version()
    dist = "%s-%s.dist-info" % (NAME, version)
    files = dict(files)
    files[dist + "/METADATA"] = _metadata(version).encode()
    files[dist + "/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: logfanin_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    record.append(dist + "/RECORD,,")
    files[dist + "/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = "%s-%s-py3-none-any.whl" % (NAME, version)
    with zipfile.ZipFile(os.path.join(directory, wheel), "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return wheel


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_sdist = get_requires_for_build_wheel
get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {}
    for full, arc in _sources():
        with open(full, "rb") as f:
            files[arc] = f.read()
    return _wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """An editable install: a .pth file that puts this directory on the path."""
    return _wheel(wheel_directory, {"_%s_editable.pth" % NAME: (ROOT + "\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (NAME, _version())
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ("pyproject.toml", "README.md", "_build/logfanin_build.py"):
            t.add(os.path.join(ROOT, rel), arcname=base + "/" + rel)
        for full, arc in _sources():
            t.add(full, arcname=base + "/" + arc)
        info = tarfile.TarInfo(base + "/PKG-INFO")
        data = _metadata(_version()).encode()
        info.size = len(data)

        t.addfile(info, io.BytesIO(data))
    return name
