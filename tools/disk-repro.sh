#!/bin/bash
# Two builds of the VM disk of postgres-MAJOR (default 18) with the default
# set, each from an empty cache directory, compared byte for byte: the
# raw disk, its receipt and its SBOM.  The two caches share nothing but
# their downloads (every file there is checked against its sha256 before
# use; PGIMG_REPRO_DOWNLOADS, default a fresh directory that the first
# build fills), so every layer, the build roots and the machine layer are
# made twice.  Prints each build's wall time and exits 1 on any
# difference.  Outside `make test`: two cold builds of PostgreSQL.
set -u
cd "$(dirname "$0")/.."
m=${1:-18}
[ -x ./pgimg ] || make -s pgimg || exit 1
work=$(mktemp -d /var/tmp/pgimg-disk-repro-XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
downloads=${PGIMG_REPRO_DOWNLOADS:-$work/downloads}
mkdir -p "$downloads"
status=0
for side in a b; do
	mkdir -p "$work/$side"
	ln -s "$(realpath "$downloads")" "$work/$side/downloads"
	s=$(date +%s)
	if ! ./pgimg -q --cache-dir "$work/$side" build "postgres-$m" --set default --format disk \
		-o "$work/$side.raw" >"$work/$side.log" 2>&1; then
		echo "build $side failed:"
		tail -5 "$work/$side.log"
		exit 1
	fi
	echo "build $side: $(( $(date +%s) - s )) s from an empty cache"
done
for f in raw raw.receipt.json raw.spdx.json; do
	if cmp -s "$work/a.$f" "$work/b.$f"; then
		echo "same bytes: $f ($(sha256sum <"$work/a.$f" | cut -c1-16)…)"
	else
		echo "DIFFERENT: $f"
		status=1
	fi
done
du -h --apparent-size "$work/a.raw" | cut -f1 | sed 's/^/disk size (apparent): /'
du -h "$work/a.raw" | cut -f1 | sed 's/^/disk size (allocated): /'
exit $status
