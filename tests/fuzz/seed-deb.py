#!/usr/bin/env python3
"""Write the .deb seeds of fuzz_deb into CORPUS_ROOT/fuzz_deb/ (archives are
not kept in the repository, this script is), and fuzz_packages's
compressed copies of corpus/fuzz_packages/Packages:
data.tar members that try to leave the root (a ".." name, an absolute
name, a file written through a symlink or a hard link that points out).
Their targets are below /nonexistent-pgimg-fuzz, so that even a broken
unpacker writes nothing that matters.  Deterministic."""
import gzip, io, lzma, os, shutil, subprocess, sys, tarfile

# The corpus root to write into: argv[1], else tests/fuzz/corpus.
here = os.path.dirname(os.path.abspath(__file__))
root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
out = os.path.join(root, "fuzz_deb")
OUTSIDE = "/nonexistent-pgimg-fuzz"
tarfile.RECORDSIZE = tarfile.BLOCKSIZE  # no padding to 10 KiB


def tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, kind, arg in entries:
            ti = tarfile.TarInfo(name)
            if kind == "file":
                ti.size, ti.mode = len(arg), 0o644
                t.addfile(ti, io.BytesIO(arg))
            elif kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.type, ti.linkname = (tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE), arg
                t.addfile(ti)
    return buf.getvalue()


def ar_member(name, data):
    head = b"%-16s%-12d%-6d%-6d%-8o%-10d`\n" % (name.encode(), 0, 0, 0, 0o100644, len(data))
    return head + data + (b"\n" if len(data) % 2 else b"")


def deb(data_entries, control_entries=None):
    control = tar(control_entries or [("./control", "file", b"Package: evil\nVersion: 1\nArchitecture: all\n")])
    return (b"!<arch>\n" + ar_member("debian-binary", b"2.0\n") + ar_member("control.tar", control)
            + ar_member("data.tar", tar(data_entries)))


seeds = {
    "hostile-dotdot.deb": [("./usr/", "dir", None), ("./usr/../../escape", "file", b"x\n")],
    "hostile-absolute.deb": [(OUTSIDE + "/abs", "file", b"x\n")],
    "hostile-symlink-dir.deb": [("./usr/", "dir", None), ("./usr/share", "symlink", OUTSIDE),
                                ("./usr/share/through", "file", b"x\n")],
    "hostile-symlink-file.deb": [("./etc/", "dir", None), ("./etc/passwd", "symlink", OUTSIDE + "/passwd"),
                                 ("./etc/passwd", "file", b"root::0:0::/:/bin/sh\n")],
    "hostile-hardlink-out.deb": [("./etc/", "dir", None), ("./etc/shadow", "hardlink", OUTSIDE + "/shadow")],
    "merged-usr.deb": [("./bin/", "dir", None), ("./bin/sh", "file", b"#!/bin/sh\n"),
                       ("./lib/", "dir", None), ("./lib/x.so", "symlink", "../usr/lib/x.so.1")],
}
os.makedirs(out, exist_ok=True)
for name, entries in seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(deb(entries))
# The dpkg status file an image's layer records: with md5sums, and with a
# Package name that tries to leave var/lib/dpkg/status.d.
status_seeds = {
    "status-md5sums.deb": [("./control", "file", b"Package: ok\nSource: src (1-1)\nVersion: 1-1+b1\nArchitecture: all\n"),
                           ("./md5sums", "file", b"d41d8cd98f00b204e9800998ecf8427e  usr/bin/sh\n")],
    "status-hostile-name.deb": [("./control", "file", b"Package: ../../../etc/evil\nVersion: 1\n")],
}
for name, control_entries in status_seeds.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(deb(seeds["merged-usr.deb"], control_entries))
# As Debian builds them: control.tar.xz and data.tar.xz.
with open(os.path.join(out, "merged-usr-xz.deb"), "wb") as f:
    control = tar([("./control", "file", b"Package: ok\nVersion: 1\nArchitecture: all\n")])
    f.write(b"!<arch>\n" + ar_member("debian-binary", b"2.0\n")
            + ar_member("control.tar.xz", lzma.compress(control))
            + ar_member("data.tar.xz", lzma.compress(tar(seeds["merged-usr.deb"]))))

# The Packages index as Debian serves it: gzip, xz and (with the zstd tool) zstd.
os.makedirs(os.path.join(root, "fuzz_packages"), exist_ok=True)
with open(os.path.join(here, "corpus", "fuzz_packages", "Packages"), "rb") as f:
    packages = f.read()
compressed = {"Packages.gz": gzip.compress(packages, mtime=0), "Packages.xz": lzma.compress(packages)}
if shutil.which("zstd"):
    compressed["Packages.zst"] = subprocess.run(["zstd", "-q", "-c", "-19"], input=packages,
                                                capture_output=True, check=True).stdout
for name, data in compressed.items():
    with open(os.path.join(root, "fuzz_packages", name), "wb") as f:
        f.write(data)
