#!/bin/bash
# What signing adds to a push: the same image pushed again and again to
# a local registry (its blobs already there, so what is timed is reading
# the tarball, the requests, and the signing), unsigned, with --sign-key,
# and with --sign-key and an SBOM beside the tarball (the attestation),
# interleaved so that the machine's load falls on all three alike.
# Prints the median and the best of N runs of each, and the difference.
#
#   bench/sign.sh [IMAGE.tar] [N]   default build/test-out/pg18.tar, 15
set -eu
cd "$(dirname "$0")/.."
image=${1:-build/test-out/pg18.tar}
n=${2:-15}
command -v docker-registry >/dev/null || { echo "bench/sign.sh: needs docker-registry (make test-deps)" >&2; exit 1; }
[ -s "$image" ] || { echo "bench/sign.sh: no $image (make it with pgimg build postgres-18 -o $image)" >&2; exit 1; }
make -s pgimg
. tests/integration/lib/servers.sh
work=$(mktemp -d)
reg_pid=
trap '[ -n "$reg_pid" ] && kill "$reg_pid" 2>/dev/null; rm -rf "$work"' EXIT
start_plain_registry "$work" || { echo "bench/sign.sh: the registry did not start" >&2; exit 1; }
dest=127.0.0.1:$reg_port/bench/pg:1
cp "$image" "$work/img.tar"
printf '{"spdxVersion":"SPDX-2.3","name":"bench","packages":[]}' > "$work/sbom.json"
./pgimg -q key generate -o "$work/ci"
push() { ./pgimg -q --cache-dir "$work/cache" push --insecure "$@" "$work/img.tar" "$dest" >/dev/null; }
ms() { local s; s=$(date +%s%N); "$@"; echo $(( ($(date +%s%N) - s) / 1000000 )); }
push
for _ in $(seq "$n"); do
	rm -f "$work/img.tar.spdx.json"
	echo "plain $(ms push)"
	echo "signed $(ms push --sign-key "$work/ci.key")"
	cp "$work/sbom.json" "$work/img.tar.spdx.json"
	echo "attested $(ms push --sign-key "$work/ci.key")"
done > "$work/times"
stat() { grep "^$1 " "$work/times" | cut -d' ' -f2 | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)], a[1]}'; }
read -r pm pb <<<"$(stat plain)"
read -r sm sb <<<"$(stat signed)"
read -r am ab <<<"$(stat attested)"
echo "push again, median (best) of $n: unsigned $pm ms ($pb), signed $sm ms ($sb), signed with SBOM $am ms ($ab)"
echo "signing adds $((sm - pm)) ms (best: $((sb - pb))), the SBOM attestation $((am - sm)) ms more (best: $((ab - sb)))"
