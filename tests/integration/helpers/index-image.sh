#!/bin/bash
# index-image.sh OUT SIZE_MIB - write an image tarball that is an OCI
# image index of two images of random data, linux/amd64 then
# linux/arm64 (each from random-image.sh, a layer of SIZE_MIB), laid
# out as `pgimg build --platform linux/amd64,linux/arm64` lays one out:
# index.json names the index, the index each manifest with its platform.
set -eu
out=$1 size=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-index-image-XXXXXX")
trap 'rm -rf "$dir"' EXIT
for arch in amd64 arm64; do
	"$here/random-image.sh" "$dir/$arch.tar" "$size" "pgimg-test/random:1-$arch" "$arch"
	mkdir -p "$dir/$arch" && tar -xf "$dir/$arch.tar" -C "$dir/$arch"
done
python3 - "$dir" <<'PY'
import hashlib, json, os, shutil, sys
d = sys.argv[1]
os.makedirs(f"{d}/out/blobs/sha256")
manifests = []
for arch in ("amd64", "arm64"):
    top = json.load(open(f"{d}/{arch}/index.json"))["manifests"][0]
    for name in os.listdir(f"{d}/{arch}/blobs/sha256"):
        shutil.copyfile(f"{d}/{arch}/blobs/sha256/{name}", f"{d}/out/blobs/sha256/{name}")
    manifests.append({"mediaType": top["mediaType"], "digest": top["digest"], "size": top["size"],
                      "platform": {"architecture": arch, "os": "linux"}})
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": manifests}, separators=(",", ":"), sort_keys=True).encode()
hexd = hashlib.sha256(index).hexdigest()
open(f"{d}/out/blobs/sha256/{hexd}", "wb").write(index)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
           "digest": "sha256:" + hexd, "size": len(index),
           "annotations": {"org.opencontainers.image.ref.name": "1"}}]}, open(f"{d}/out/index.json", "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(f"{d}/out/oci-layout", "w"))
PY
tar --sort=name -C "$dir/out" -cf "$out.tmp" oci-layout index.json blobs && mv "$out.tmp" "$out"
