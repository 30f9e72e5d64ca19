#!/bin/sh
# oci-docker-load - an image written by oci_write_image loads and runs in
# the Docker Engine, and OCI tools read the same tarball as an OCI layout.
#
# The image is one layer holding a static "hello" program, made without
# any base image: tar (sorted, mtime 0, root-owned) and gzip -n, digests
# from sha256sum, then tests/integration/helpers/oci-write.c (built here
# against build/libpgimg.a) writes the image.  Prints TAP and a closing
# tally; exits 77 when there is no Docker Engine to talk to.
set -u

cd "$(dirname "$0")/../.." || exit 1
REPO=pgimg-test/hello
MSG="hello from pgimg"
pass=0 fail=0 n=0

ok () { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $1"; }
not_ok () { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/# /'; }
check () {  # check DESCRIPTION COMMAND...
	desc=$1; shift
	if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc" "$out"; fi
}
finish () {
	echo "1..$n"
	echo "oci-docker-load: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
	echo "# skip: no Docker Engine reachable (docker info failed)"
	exit 77
fi
for tool in cc tar gzip sha256sum pkg-config; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "# skip: $tool is not installed"
		exit 77
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-oci-load-XXXXXX") || exit 1
cleanup () {
	docker rmi -f "$REPO:1.0" "$REPO:1" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The library and the helper.
if ! out=$(make build/libpgimg.a 2>&1); then
	not_ok "build/libpgimg.a builds" "$out"; finish
fi
libs="$(pkg-config --libs libarchive libcrypto libcurl jansson libzstd zlib) -lpthread"
if ! out=$(cc -std=c11 -D_GNU_SOURCE -I. -Wall -Wextra -Werror -o "$work/oci-write" \
	tests/integration/helpers/oci-write.c build/libpgimg.a $libs 2>&1); then
	not_ok "oci-write helper builds" "$out"; finish
fi

# A root file system of one static program.
mkdir -p "$work/root" "$work/blobs"
cat > "$work/hello.c" <<'C'
#include <stdio.h>
int main (void) { puts ("hello from pgimg"); return 0; }
C
if ! out=$(cc -static -O2 -o "$work/root/hello" "$work/hello.c" 2>&1); then
	echo "# skip: cannot link a static program (glibc-static missing?): $out"
	exit 77
fi
chmod 0755 "$work/root/hello"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/root" -cf "$work/layer.tar" hello
gzip -n -c "$work/layer.tar" > "$work/layer.tar.gz"
diff_id=sha256:$(sha256sum < "$work/layer.tar" | cut -d' ' -f1)
hex=$(sha256sum < "$work/layer.tar.gz" | cut -d' ' -f1)
size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$work/blobs/$hex"

write () {  # write FORMAT OUT
	"$work/oci-write" --blobs "$work/blobs" --format "$1" --out "$2" \
		--layer "sha256:$hex,$diff_id,$size" --tag "$REPO:1.0" --tag "$REPO:1" \
		--created 1700000000 --user 65534:65534 --env PATH=/ --env GREETING=hello \
		--entrypoint /hello --port 5432/tcp --volume /data --stop-signal SIGINT \
		--workdir / --label org.opencontainers.image.title=hello \
		--annotation org.opencontainers.image.version=1.0
}

check "oci_write_image writes a docker-archive" write docker-archive "$work/img.tar"
if write docker-archive "$work/img2.tar" >/dev/null 2>&1 && cmp -s "$work/img.tar" "$work/img2.tar"; then
	ok "a second write gives the same bytes"
else
	not_ok "a second write gives the same bytes"
fi

docker rmi -f "$REPO:1.0" "$REPO:1" >/dev/null 2>&1
check "docker load accepts the tarball" docker load -i "$work/img.tar"
check "tag $REPO:1.0 exists" docker image inspect "$REPO:1.0"
check "tag $REPO:1 exists" docker image inspect "$REPO:1"

run_out=$(docker run --rm "$REPO:1.0" 2>&1)
if [ "$run_out" = "$MSG" ]; then ok "docker run prints the message"; else not_ok "docker run prints the message" "$run_out"; fi

inspect () { docker image inspect --format "$1" "$REPO:1"; }
expect () {  # expect DESCRIPTION WANT FORMAT
	got=$(inspect "$3" 2>&1)
	if [ "$got" = "$2" ]; then ok "$1"; else not_ok "$1" "want: $2
got:  $got"; fi
}
expect "User is kept" "65534:65534" '{{.Config.User}}'
expect "Env is kept" "[PATH=/ GREETING=hello]" '{{.Config.Env}}'
expect "ExposedPorts is kept" "map[5432/tcp:{}]" '{{.Config.ExposedPorts}}'
expect "StopSignal is kept" "SIGINT" '{{.Config.StopSignal}}'
expect "Volumes is kept" "map[/data:{}]" '{{.Config.Volumes}}'
expect "created is the given time" "2023-11-14T22:13:20Z" '{{.Created}}'
expect "the layer is the one written" "[$diff_id]" '{{.RootFS.Layers}}'
config_hex=$(tar -xOf "$work/img.tar" manifest.json | sed 's/.*"Config":"blobs\/sha256\/\([0-9a-f]*\)".*/\1/')
expect "the image ID is the config digest" "sha256:$config_hex" '{{.Id}}'

if command -v skopeo >/dev/null 2>&1; then
	check "skopeo reads the tarball as an OCI archive" skopeo inspect --raw "oci-archive:$work/img.tar:1.0"
	got=$(skopeo inspect --config "oci-archive:$work/img.tar:1" 2>&1 | grep -c '"User": "65534:65534"')
	if [ "$got" = 1 ]; then ok "skopeo finds tag 1 and its config"; else not_ok "skopeo finds tag 1 and its config"; fi
	check "oci_write_image writes an OCI layout directory" write oci-dir "$work/layout"
	check "skopeo reads the directory as an OCI layout" skopeo inspect --raw "oci:$work/layout:1.0"
	check "skopeo copies the layout (verifying every blob)" \
		skopeo copy --quiet "oci:$work/layout:1.0" "dir:$work/copy"
else
	echo "# skopeo not installed: the OCI layout checks are skipped"
fi
if command -v umoci >/dev/null 2>&1 && [ -d "$work/layout" ]; then
	check "umoci reads the layout" umoci stat --image "$work/layout:1.0"
fi

finish
