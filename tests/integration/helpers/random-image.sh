#!/bin/bash
# random-image.sh OUT SIZE_MIB [TAG [ARCH]] - write an image tarball (as pgimg
# build writes them, through tests/integration/helpers/oci-write.c) whose
# one layer is SIZE_MIB of random data: big enough to be sent in chunks
# and to stop a server in the middle.  Needs cc and build/libpgimg.a.
set -eu
out=$1 size=$2 tag=${3:-pgimg-test/random:1} arch=${4:-amd64}
root=$(cd "$(dirname "$0")/../../.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-random-image-XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/root" "$dir/blobs"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -I"$root" -o "$dir/oci-write" "$root/tests/integration/helpers/oci-write.c" \
	"$root/build/libpgimg.a" $(pkg-config --libs libarchive libcrypto libcurl jansson libzstd zlib) -lpthread
head -c $((size << 20)) /dev/urandom > "$dir/root/data"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir/root" -cf "$dir/layer.tar" data
gzip -n -1 -c "$dir/layer.tar" > "$dir/layer.gz"
diff_id=sha256:$(sha256sum < "$dir/layer.tar" | cut -d' ' -f1)
hex=$(sha256sum < "$dir/layer.gz" | cut -d' ' -f1)
mv "$dir/layer.gz" "$dir/blobs/$hex"
"$dir/oci-write" --blobs "$dir/blobs" --out "$out" --layer "sha256:$hex,$diff_id,$(stat -c %s "$dir/blobs/$hex")" \
	--tag "$tag" --created 0 --entrypoint /data --arch "$arch" >/dev/null
