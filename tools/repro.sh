#!/bin/bash
# Two builds of postgres-MAJOR (default 18) with the default set, each
# from an empty cache directory, compared byte for byte: the output, its
# receipt and its SBOM.  KIND says which output:
#   disk   the VM disk (--format disk, raw; docs/vm.md)
#   arm64  the linux/arm64 image tarball (--platform linux/arm64,
#          cross-built; docs/platforms.md)
# The two caches share nothing but their downloads (every file there is
# checked against its sha256 before use; PGIMG_REPRO_DOWNLOADS, default
# a fresh directory that the first build fills), so every layer and
# build root (and the machine layer of a disk) is made twice.  Prints
# each build's wall time and exits 1 on any difference.  Outside `make
# test`: two cold builds of PostgreSQL.
#   tools/repro.sh disk|arm64 [MAJOR]
set -u
cd "$(dirname "$0")/.."
kind=${1:-}
m=${2:-18}
case $kind in
disk) args=(--format disk) ext=raw ;;
arm64) args=(--platform linux/arm64) ext=tar ;;
*) echo "usage: tools/repro.sh disk|arm64 [MAJOR]" >&2; exit 2 ;;
esac
[ -x ./pgimg ] || make -s pgimg || exit 1
work=$(mktemp -d "/var/tmp/pgimg-$kind-repro-XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
downloads=${PGIMG_REPRO_DOWNLOADS:-$work/downloads}
mkdir -p "$downloads"
status=0
for side in a b; do
	mkdir -p "$work/$side"
	ln -s "$(realpath "$downloads")" "$work/$side/downloads"
	s=$(date +%s)
	if ! ./pgimg -q --cache-dir "$work/$side" build "postgres-$m" --set default "${args[@]}" \
		-o "$work/$side.$ext" >"$work/$side.log" 2>&1; then
		echo "build $side failed:"
		tail -5 "$work/$side.log"
		exit 1
	fi
	echo "build $side: $(( $(date +%s) - s )) s from an empty cache"
done
for f in $ext $ext.receipt.json $ext.spdx.json; do
	if cmp -s "$work/a.$f" "$work/b.$f"; then
		echo "same bytes: $f ($(sha256sum <"$work/a.$f" | cut -c1-16)…)"
	else
		echo "DIFFERENT: $f"
		status=1
	fi
done
if [ "$kind" = disk ]; then
	du -h --apparent-size "$work/a.raw" | cut -f1 | sed 's/^/disk size (apparent): /'
	du -h "$work/a.raw" | cut -f1 | sed 's/^/disk size (allocated): /'
fi
exit $status
