#!/bin/bash
# What CI does after the tests pass: build the image of every major with
# the default extensions for linux/amd64 and linux/arm64, push each as
# one image index under its version and major (and the release tag on a
# tag), check with crane that every tag is an index naming both
# platforms, then push the layer cache, so that the next machine builds
# none of these layers.  The same script runs in .github/workflows/ci.yml
# and, against a local registry, in tests/integration/publish.sh.
#
# A platform whose plan for a major's image is refused is left out of
# that major, saying so: its tags then hold the linux/amd64 image alone.
# Extensions of the set that are not built for arm64 yet, and a set's
# jit layer, are left out of the arm64 image only, and named here; the
# index still carries both platforms (docs/platforms.md).
#
#   PGIMG_PUBLISH_REPO      registry repository, e.g. ghcr.io/org/pgimg/postgres (required)
#   PGIMG_PUBLISH_CACHE     where the layer cache goes: a registry reference or
#                           s3://bucket/prefix:tag (optional)
#   PGIMG_PUBLISH_MAJORS    majors to publish (default: every versions/*.json)
#   PGIMG_PUBLISH_SET       image set (default: default)
#   PGIMG_PUBLISH_TAG       an extra tag for each image, as "<major>-TAG" (a release)
#   PGIMG_PUBLISH_PLATFORMS linux/amd64,linux/arm64 (default) or linux/amd64
#   PGIMG_CRANE             crane, to check the tags (default: crane on PATH, else
#                           tools/test-servers.sh crane builds it)
#   PGIMG_SIGN_KEY          P-256 key (pgimg key generate) that signs images and
#                           cache in cosign's format (optional)
#   PGIMG_PUSH_ARGS         more `pgimg push` options (--insecure, --endpoint URL …)
# Credentials: PGIMG_REGISTRY_USER/PGIMG_REGISTRY_PASSWORD (given to crane
# too, in a Docker config of its own), else ~/.docker/config.json; AWS_* for S3.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PGIMG_PUBLISH_REPO:?set PGIMG_PUBLISH_REPO to the registry repository to push to}"
majors=${PGIMG_PUBLISH_MAJORS:-$(cd versions && ls *.json | sed 's/\.json$//' | sort -n)}
set_name=${PGIMG_PUBLISH_SET:-default}
platforms=${PGIMG_PUBLISH_PLATFORMS:-linux/amd64,linux/arm64}
case "$platforms" in
linux/amd64 | linux/amd64,linux/arm64 | linux/arm64,linux/amd64) ;;
*)
	echo "publish: PGIMG_PUBLISH_PLATFORMS=$platforms: use linux/amd64,linux/arm64 or linux/amd64" >&2
	exit 2
	;;
esac
out=${PGIMG_PUBLISH_OUT:-build/publish}
mkdir -p "$out"
sign=()
[ -n "${PGIMG_SIGN_KEY:-}" ] && sign=(--sign-key "$PGIMG_SIGN_KEY")
# shellcheck disable=SC2206
extra=(${PGIMG_PUSH_ARGS:-})
crane=${PGIMG_CRANE:-$(command -v crane || tools/test-servers.sh crane)}
crane_args=()
[[ " ${extra[*]} " == *" --insecure "* ]] && crane_args=(--insecure)
# The credentials pgimg takes from the environment, for crane too, in a
# Docker config of its own (the user's is left alone).
if [ -n "${PGIMG_REGISTRY_USER:-}" ] && [ -n "${PGIMG_REGISTRY_PASSWORD:-}" ]; then
	DOCKER_CONFIG=$(mktemp -d)
	export DOCKER_CONFIG
	trap 'rm -rf "$DOCKER_CONFIG"' EXIT
	"$crane" auth login "${crane_args[@]}" "${PGIMG_PUBLISH_REPO%%/*}" -u "$PGIMG_REGISTRY_USER" \
		--password-stdin <<<"$PGIMG_REGISTRY_PASSWORD" >/dev/null
fi

# The platforms postgres-$1 is published for: arm64 unless its plan is
# refused for arm64 (the reason is printed); the extensions the arm64
# image leaves out are printed.
platforms_of() {
	local m=$1 plan
	if [ "$platforms" = linux/amd64 ]; then
		echo linux/amd64
		return
	fi
	if ! plan=$(./pgimg build "postgres-$m" --set "$set_name" --platform linux/arm64 --plan 2>&1 >/dev/null); then
		# Only a refusal for arm64 leaves the platform out; any other
		# failure stops the publication.
		if ! tail -1 <<<"$plan" | grep -q 'for arm64'; then
			echo "publish: postgres-$m: $(tail -1 <<<"$plan" | sed 's/^pgimg: //')" >&2
			return 1
		fi
		echo "publish: postgres-$m: no linux/arm64 image, its tags hold linux/amd64 alone: $(tail -1 <<<"$plan" | sed 's/^pgimg: //')" >&2
		echo linux/amd64
		return
	fi
	grep '^pgimg: leaving out ' <<<"$plan" | sed "s/^pgimg: /publish: postgres-$m linux\/arm64: /" >&2 || true
	echo linux/amd64,linux/arm64
}

# The tag must be what was pushed: an index of both platforms, or one
# linux/amd64 image.
check_tag() {
	local ref=$1 want=$2 got
	got=$("$crane" manifest "${crane_args[@]}" "$ref" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if "manifests" in d:
    print(",".join(sorted(m["platform"]["os"] + "/" + m["platform"]["architecture"] for m in d["manifests"])))
else:
    print("image")')
	[ "$got" = image ] && got="one image"
	[ "$got" = "$want" ] && return 0
	[ "$want" = linux/amd64 ] && [ "$got" = "one image" ] && return 0
	[ "$got" = "one image" ] || got="an index of $got"
	echo "publish: $ref is $got, not $([ "$want" = linux/amd64 ] && echo "one linux/amd64 image" || echo "an index of $want")" >&2
	return 1
}

published=()
for m in $majors; do
	plat=$(platforms_of "$m")
	./pgimg build "postgres-$m" --set "$set_name" --platform "$plat" -o "$out/pg$m.tar" --json > "$out/pg$m.json"
	version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"].split(":")[1])' "$out/pg$m.json")
	tags=(-t "$m")
	[ -n "${PGIMG_PUBLISH_TAG:-}" ] && tags+=(-t "$m-$PGIMG_PUBLISH_TAG")
	./pgimg push "${extra[@]}" "${sign[@]}" "${tags[@]}" "$out/pg$m.tar" "$PGIMG_PUBLISH_REPO:$version"
	for t in "$version" "$m" ${PGIMG_PUBLISH_TAG:+"$m-$PGIMG_PUBLISH_TAG"}; do
		check_tag "$PGIMG_PUBLISH_REPO:$t" "$plat"
	done
	published+=("$m ($plat)")
done
if [ -n "${PGIMG_PUBLISH_CACHE:-}" ]; then
	./pgimg push --cache "${extra[@]}" "${sign[@]}" "$PGIMG_PUBLISH_CACHE"
fi
echo "publish: ${published[*]} pushed to $PGIMG_PUBLISH_REPO${PGIMG_PUBLISH_CACHE:+, cache to $PGIMG_PUBLISH_CACHE}"
