#!/bin/bash
# What the SBOM costs a build, measured in one run on a warm cache:
#   - a no-op rebuild (the SBOM read back from its cached layer), and a
#     build that has every layer but the SBOM's, which reads the status
#     and copyright files out of every layer and writes the SBOM layer:
#     the delta is what making the SBOM costs when any layer changed;
#   - the bytes it adds: the SBOM layer, and the dpkg status files in the
#     other layers, against the whole image.
# Usage: bench/sbom.sh [MAJOR] (default 18, with --set default).
set -eu
cd "$(dirname "$0")/.."
m=${1:-18}
cache=${PGIMG_BENCH_CACHE:-build/test-cache}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make -s pgimg
build() { ./pgimg -q --cache-dir "$1" build "postgres-$m" --set default --json -o "$work/$2.tar" >"$work/$2.json"; }
build "$cache" warm         # builds what is missing
sbom_key=$(python3 -c 'import json,sys; print([l["key"] for l in json.load(open(sys.argv[1]))["layers"] if l["name"] == "sbom"][0])' "$work/warm.tar.receipt.json")

# A cache with every layer entry but the SBOM's; blobs and downloads shared.
fresh() {
	rm -rf "$work/cache" && mkdir -p "$work/cache/layers"
	ln -s "$(realpath "$cache")/downloads" "$work/cache/downloads"
	ln -s "$(realpath "$cache")/blobs" "$work/cache/blobs"
	find "$(realpath "$cache")/layers" -name '*.json' ! -name "$sbom_key.json" -exec cp -t "$work/cache/layers/" {} +
}
best() {        # best of 5 wall seconds of "$@", run after each prepare
	local b= s e t
	for _ in 1 2 3 4 5; do
		$prepare
		s=$(date +%s.%N); "$@"; e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
prepare=true; noop=$(best build "$cache" noop)
prepare=fresh; make_sbom=$(best build "$work/cache" remade)
built=$(python3 -c 'import json,sys; print(" ".join(l["name"] for l in json.load(open(sys.argv[1]))["layers"] if l["built"]))' "$work/remade.json")

sizes=$(python3 - "$work/warm.json" "$work/warm.tar" <<'PY'
import json, sys, tarfile
layers = json.load(open(sys.argv[1]))["layers"]
image = sum(l["size"] for l in layers)
sbom = [l["size"] for l in layers if l["name"] == "sbom"][0]
status = 0
with tarfile.open(sys.argv[2]) as img:
    for l in layers:
        with tarfile.open(fileobj=img.extractfile("blobs/sha256/" + l["digest"].split(":")[1])) as t:
            status += sum(m.size for m in t if m.name.startswith("var/lib/dpkg/status.d/"))
print(image, sbom, status)
PY
)
read -r image sbom status <<<"$sizes"
printf 'postgres-%s --set default: no-op rebuild %.3f s; with the SBOM made again from the layers %.3f s (built: %s)\n' \
	"$m" "$noop" "$make_sbom" "$built"
printf 'making the SBOM adds %.3f s to a build whose layers changed (best of 5 each); ratio %.2f to a no-op rebuild\n' \
	"$(echo "$make_sbom - $noop" | bc)" "$(echo "scale=4; $make_sbom / $noop" | bc)"
printf 'bytes: SBOM layer %s (compressed), dpkg status files %s (uncompressed), image %s (compressed): the SBOM layer is %.4f %% of the image\n' \
	"$sbom" "$status" "$image" "$(echo "scale=6; 100 * $sbom / $image" | bc)"
