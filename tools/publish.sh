#!/bin/bash
# What CI does after the tests pass: build the image of every major with
# the default extensions, push each to the registry under its version and
# major (and the release tag on a tag), then push the layer cache, so
# that the next machine builds none of these layers.  The same script
# runs in .github/workflows/ci.yml and, against a local registry, in
# tests/integration/publish.sh.
#
#   PGIMG_PUBLISH_REPO   registry repository, e.g. ghcr.io/org/pgimg/postgres (required)
#   PGIMG_PUBLISH_CACHE  where the layer cache goes: a registry reference or
#                        s3://bucket/prefix:tag (optional)
#   PGIMG_PUBLISH_MAJORS majors to publish (default: every versions/*.json)
#   PGIMG_PUBLISH_SET    image set (default: default)
#   PGIMG_PUBLISH_TAG    an extra tag for each image, as "<major>-TAG" (a release)
#   PGIMG_SIGN_KEY       P-256 key (pgimg key generate) that signs images and
#                        cache in cosign's format (optional)
#   PGIMG_PUSH_ARGS      more `pgimg push` options (--insecure, --endpoint URL …)
# Credentials: PGIMG_REGISTRY_USER/PGIMG_REGISTRY_PASSWORD, AWS_* for S3.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PGIMG_PUBLISH_REPO:?set PGIMG_PUBLISH_REPO to the registry repository to push to}"
majors=${PGIMG_PUBLISH_MAJORS:-$(cd versions && ls *.json | sed 's/\.json$//' | sort -n)}
set_name=${PGIMG_PUBLISH_SET:-default}
out=${PGIMG_PUBLISH_OUT:-build/publish}
mkdir -p "$out"
sign=()
[ -n "${PGIMG_SIGN_KEY:-}" ] && sign=(--sign-key "$PGIMG_SIGN_KEY")
# shellcheck disable=SC2206
extra=(${PGIMG_PUSH_ARGS:-})
for m in $majors; do
	./pgimg build "postgres-$m" --set "$set_name" -o "$out/pg$m.tar" --json > "$out/pg$m.json"
	version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"].split(":")[1])' "$out/pg$m.json")
	tags=(-t "$m")
	[ -n "${PGIMG_PUBLISH_TAG:-}" ] && tags+=(-t "$m-$PGIMG_PUBLISH_TAG")
	./pgimg push "${extra[@]}" "${sign[@]}" "${tags[@]}" "$out/pg$m.tar" "$PGIMG_PUBLISH_REPO:$version"
done
if [ -n "${PGIMG_PUBLISH_CACHE:-}" ]; then
	./pgimg push --cache "${extra[@]}" "${sign[@]}" "$PGIMG_PUBLISH_CACHE"
fi
echo "publish: ${majors//$'\n'/ } pushed to $PGIMG_PUBLISH_REPO${PGIMG_PUBLISH_CACHE:+, cache to $PGIMG_PUBLISH_CACHE}"
