# 60-store.sh (sourced by hostile.sh) - a blob in the store that has a
# layer's name but other bytes of the same size (damaged on disk, or put
# there by someone who can write the cache) must not survive writing
# that layer again: pgimg stores what it hashed, not what it found.

store_dir=$HOSTILE_WORK/store
mkdir -p "$store_dir/tree/etc" "$store_dir/blobs"
printf 'layer content\n' > "$store_dir/tree/etc/file"
store_layer() { "$PGIMG" layer "$store_dir/tree" --blob-dir "$store_dir/blobs" --mtime 0 --json; }
store_hex=$(store_layer | python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"][7:])')
store_blob=$store_dir/blobs/$store_hex
# The same size, other bytes: only a hash tells them apart.
python3 - "$store_blob" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(bytes(b))
PY
store_rewrite() { store_layer >/dev/null; }
ok "store: a damaged blob of a layer's name: the layer is written again" store_rewrite
store_intact() { [[ "$(sha256sum < "$store_blob" | cut -d' ' -f1)" == "$store_hex" ]]; }
ok "store: the blob holds its digest again" store_intact
store_alone() { [[ "$(ls -A "$store_dir/blobs" | wc -l)" -eq 1 ]]; }
ok "store: nothing half-written beside it" store_alone
