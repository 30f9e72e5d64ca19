# 30-paths.sh (sourced by hostile.sh) - an image whose symlinks point at
# the host: `pgimg run` must make its mount points (/run/postgresql,
# /var/lib/postgresql/data) inside the image's root, and a layer that
# writes through such a link is refused.  Nothing may appear in the host
# directories the links name.

paths_dir=$HOSTILE_WORK/paths
mkdir -p "$paths_dir/blobs" "$HOSTILE_WORK/hostdir" "$HOSTILE_WORK/hostdir2" "$HOSTILE_WORK/hostdir3"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -I"$ROOT" -o "$paths_dir/oci-write" "$ROOT/tests/integration/helpers/oci-write.c" \
	"$ROOT/build/libpgimg.a" $(pkg-config --libs libarchive libcrypto libcurl jansson libzstd zlib) -lpthread

# paths_layer DIR [NAME...]: a gzip layer of DIR's contents (or only of
# the NAMEs, without their parents) in the blob directory; prints
# DIGEST,DIFF_ID,SIZE for oci-write.
paths_layer() {
	local dir=$1 tar=$paths_dir/layer.tar
	shift
	if [ $# -gt 0 ]; then set -- --no-recursion "$@"; else set -- .; fi
	tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$tar" "$@"
	paths_blob "$tar"
}

# paths_blob TAR: TAR as a gzip layer blob; prints DIGEST,DIFF_ID,SIZE.
paths_blob() {
	local tar=$1 hex
	gzip -n -1 -c "$tar" > "$paths_dir/layer.gz"
	hex=$(sha256sum < "$paths_dir/layer.gz" | cut -d' ' -f1)
	mv "$paths_dir/layer.gz" "$paths_dir/blobs/$hex"
	echo "sha256:$hex,sha256:$(sha256sum < "$tar" | cut -d' ' -f1),$(stat -c %s "$paths_dir/blobs/$hex")"
}

# paths_image OUT LAYER...: an image tarball of those layers, with the
# config of a server image (an author who wants in forges that too).
paths_image() {
	local out=$1 l args=()
	shift
	for l in "$@"; do args+=(--layer "$l"); done
	"$paths_dir/oci-write" --blobs "$paths_dir/blobs" --out "$out" "${args[@]}" \
		--tag pgimg-test/hostile-paths:1 --created 0 --entrypoint /docker-entrypoint.sh \
		--cmd postgres \
		--env PATH=/usr/local/bin:/usr/bin:/bin --env PGDATA=/var/lib/postgresql/data \
		--volume /var/lib/postgresql/data >/dev/null
}

# paths_host_clean NAME: the host directories the links name are still empty.
paths_host_clean() {
	local left
	left=$(find "$HOSTILE_WORK/hostdir" "$HOSTILE_WORK/hostdir2" -mindepth 1 2>/dev/null)
	if [ -z "$left" ]; then pass "$1: nothing made on the host"; else fail "$1: nothing made on the host" "$left"; fi
}

mkdir -p "$paths_dir/links/tmp" "$paths_dir/through/run/postgresql"
ln -s "$HOSTILE_WORK/hostdir" "$paths_dir/links/run"
ln -s "$HOSTILE_WORK/hostdir2" "$paths_dir/links/var"
echo planted > "$paths_dir/through/run/postgresql/planted"
links_layer=$(paths_layer "$paths_dir/links")
through_layer=$(paths_layer "$paths_dir/through" run/postgresql/planted)
paths_image "$paths_dir/links.tar" "$links_layer"
paths_image "$paths_dir/through.tar" "$links_layer" "$through_layer"

# A cache of its own: the roots these images unpack to are of no use later.
paths_pg() { timeout 120 "$PGIMG" --cache-dir "$paths_dir/cache" "$@" </dev/null; }

# The image has no server: the run fails once the root is ready, after
# the mount points were made.
out=$(paths_pg run --port "$(free_port)" -e POSTGRES_PASSWORD=x "$paths_dir/links.tar" 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then pass "run -> host dir: the run fails (the image has no server)"; else fail "run -> host dir: the run fails" "exit $rc: $out"; fi
one_line "run -> host dir" "$out"
paths_host_clean "run -> host dir"
root=$(find "$paths_dir/cache/rootfs" -mindepth 1 -maxdepth 1 -type d ! -name '.tmp-*' 2>/dev/null | head -1)
if [ -n "$root" ] && [ -d "$root$HOSTILE_WORK/hostdir/postgresql" ] \
	&& [ -d "$root$HOSTILE_WORK/hostdir2/lib/postgresql/data" ]; then
	pass "run -> host dir: the mount points are made inside the root"
else
	fail "run -> host dir: the mount points are made inside the root" "root: ${root:-none}; $out"
fi

# A second layer that writes through the first one's link.
out=$(paths_pg run --port "$(free_port)" -e POSTGRES_PASSWORD=x "$paths_dir/through.tar" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && [[ $out == *run/postgresql* ]]; then
	pass "layer through run -> host dir: refused, naming the entry"
else
	fail "layer through run -> host dir: refused, naming the entry" "exit $rc: $out"
fi
one_line "layer through run -> host dir" "$out"
paths_host_clean "layer through run -> host dir"

# A hard link whose target goes through the link: it would make a name
# in the root for a host file, which later layers could then write.
echo host-secret > "$HOSTILE_WORK/hostdir3/secret"
python3 - "$paths_dir/hardlink.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    i = tarfile.TarInfo("pw")
    i.type, i.linkname = tarfile.LNKTYPE, "run/secret"
    t.addfile(i)
PY
mkdir -p "$paths_dir/link3"
ln -s "$HOSTILE_WORK/hostdir3" "$paths_dir/link3/run"
paths_image "$paths_dir/hardlink.tar.img" "$(paths_layer "$paths_dir/link3")" "$(paths_blob "$paths_dir/hardlink.tar")"
out=$(paths_pg run --port "$(free_port)" -e POSTGRES_PASSWORD=x "$paths_dir/hardlink.tar.img" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && [[ $out == *'`pw`'* ]]; then
	pass "hard link through run -> host dir: refused, naming the entry"
else
	fail "hard link through run -> host dir: refused, naming the entry" "exit $rc: $out"
fi
one_line "hard link through run -> host dir" "$out"
if [ "$(stat -c %h "$HOSTILE_WORK/hostdir3/secret")" = 1 ]; then
	pass "hard link through run -> host dir: the host file has no new name"
else
	fail "hard link through run -> host dir: the host file has no new name"
fi
