#!/usr/bin/env python3
"""Write the seed inputs of fuzz_image into CORPUS_ROOT/fuzz_image/ (make
fuzz-replay writes them below the build directory; archives are not
kept in the repository, this script is):
a tiny image tarball laid out as pgimg writes one (OCI layout and
docker-archive), the same gzip-compressed, one whose config blob is a
symbolic link out of the tarball, and one whose pax header holds a
record length of -4 (a tar reader that trusts it walks back and forth
for ever).  Also the seeds of fuzz_layer in corpus/fuzz_layer/: a
small layer, gzip- and zstd-compressed copies (zstd when the zstd tool
is there), and layers whose entries try to leave the root, aimed below
a path that does not exist.  Deterministic: run it again and nothing
changes."""
import gzip, hashlib, io, json, os, shutil, subprocess, sys, tarfile

# The corpus root to write into: argv[1], else tests/fuzz/corpus.
root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
out = os.path.join(root, "fuzz_image")


def dumps(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()


def add(tar, name, data=None, link=None):
    ti = tarfile.TarInfo(name)
    ti.mtime = 0
    if link is not None:
        ti.type, ti.linkname = tarfile.SYMTYPE, link
        tar.addfile(ti)
    elif data is None:
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(ti)
    else:
        ti.size, ti.mode = len(data), 0o644
        tar.addfile(ti, io.BytesIO(data))


def layer_tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as lt:
        for name, data, link in entries:
            add(lt, name, data, link)
    return buf.getvalue()


def hardlink(tar, name, target):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mtime = tarfile.LNKTYPE, target, 0
    tar.addfile(ti)


SMALL_LAYER = [("etc/", None, None), ("etc/os-release", b"ID=debian\n", None)]


def image(config_link=None):
    layer = layer_tar(SMALL_LAYER)
    layer_hex = hashlib.sha256(layer).hexdigest()
    config = dumps({"architecture": "amd64", "os": "linux",
                    "config": {"Env": ["PATH=/usr/bin:/bin", "PGDATA=/var/lib/postgresql/data"],
                               "Volumes": {"/var/lib/postgresql/data": {}}},
                    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer_hex]}})
    config_hex = hashlib.sha256(config).hexdigest()
    manifest = dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": "sha256:" + config_hex, "size": len(config)},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                  "digest": "sha256:" + layer_hex, "size": len(layer)}]})
    manifest_hex = hashlib.sha256(manifest).hexdigest()
    index = dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": "sha256:" + manifest_hex, "size": len(manifest)}]})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        add(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add(t, "index.json", index)
        add(t, "manifest.json", dumps([{"Config": "blobs/sha256/" + config_hex,
                                        "RepoTags": ["pgimg/postgres:18"],
                                        "Layers": ["blobs/sha256/" + layer_hex]}]))
        add(t, "blobs/")
        add(t, "blobs/sha256/")
        add(t, "blobs/sha256/" + manifest_hex, manifest)
        if config_link:
            add(t, "blobs/sha256/" + config_hex, link=config_link)
        else:
            add(t, "blobs/sha256/" + config_hex, config)
        add(t, "blobs/sha256/" + layer_hex, layer)
    return buf.getvalue()


tarfile.RECORDSIZE = tarfile.BLOCKSIZE  # no padding to 10 KiB
os.makedirs(out, exist_ok=True)
plain = image()
with open(os.path.join(out, "layout.tar"), "wb") as f:
    f.write(plain)
with open(os.path.join(out, "layout.tar.gz"), "wb") as f:
    f.write(gzip.compress(plain, mtime=0))
with open(os.path.join(out, "config-symlink-out.tar"), "wb") as f:
    f.write(image(config_link="/etc/passwd"))


# "4 x\n" steps 4 bytes on, "-4 y\n" 4 bytes back.
records = b"4 x\n-4 y\n"
pax = tarfile.TarInfo("PaxHeader")
pax.type, pax.size = tarfile.XHDTYPE, len(records)
index = tarfile.TarInfo("index.json")
index.size = 2
with open(os.path.join(out, "hostile-pax-length-minus-4.tar"), "wb") as f:
    f.write(pax.tobuf(format=tarfile.USTAR_FORMAT) + records + bytes(512 - len(records))
            + index.tobuf(format=tarfile.USTAR_FORMAT) + b"{}" + bytes(510) + bytes(1024))

OUTSIDE = "/nonexistent-pgimg-fuzz"
layers = os.path.join(os.path.dirname(out), "fuzz_layer")
os.makedirs(layers, exist_ok=True)
small = layer_tar(SMALL_LAYER)
seeds = {
    "small.tar": small,
    "small.tar.gz": gzip.compress(small, mtime=0),
    "hostile-dotdot.tar": layer_tar([("usr/", None, None), ("usr/../../escape", b"x\n", None)]),
    "hostile-absolute.tar": layer_tar([(OUTSIDE + "/abs", b"x\n", None)]),
    "hostile-symlink-dir.tar": layer_tar([("run", None, OUTSIDE), ("run/postgresql/", None, None),
                                          ("run/postgresql/through", b"x\n", None)]),
}
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    add(t, "etc/")
    hardlink(t, "etc/shadow", OUTSIDE + "/shadow")
seeds["hostile-hardlink-out.tar"] = buf.getvalue()
for name, data in seeds.items():
    with open(os.path.join(layers, name), "wb") as f:
        f.write(data)
if shutil.which("zstd"):
    with open(os.path.join(layers, "small.tar.zst"), "wb") as f:
        f.write(subprocess.run(["zstd", "-q", "-c", "-19"], input=small, capture_output=True, check=True).stdout)
