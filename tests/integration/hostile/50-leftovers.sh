# 50-leftovers.sh - what a killed run leaves behind is swept, a full
# disk says so, a typo costs no download, and the options every command
# shares work after the command too.  Sourced by hostile.sh.
#
# Leftovers are made by hand: ".tmp-PID-*" names, as pgimg's temporary
# files have, of a pid that is gone (as after kill -9) and of one that
# runs (another pgimg writing there right now, which must keep its file).
# The image is written from the warm test cache, so no case builds.

lo_dir=$HOSTILE_WORK/leftovers
lo_out=$lo_dir/out
mkdir -p "$lo_out"

# A pid that was in use a moment ago and is gone now.
sh -c 'exit 0' &
lo_dead=$!
wait "$lo_dead"
# A pid that runs until the end of the test.
sleep 600 &
lo_live=$!
HOSTILE_CLEANUPS+=("kill $lo_live")

# In the cache: the blob store, the downloads, the layer entries and the
# cache itself (where a killed `pgimg push` leaves its scratch directory).
lo_blobs=$TEST_CACHE/blobs/sha256
lo_where=("$lo_blobs" "$TEST_CACHE/downloads/sha256" "$TEST_CACHE/layers" "$TEST_CACHE" "$lo_out")
lo_names=(".tmp-$lo_dead-hostile50" ".tmp-$lo_live-hostile50" ".tmp-hostile50-no-pid")
for where in "${lo_where[@]}"; do
	mkdir -p "$where"
	for n in "${lo_names[@]}"; do
		printf 'half-written\n' > "$where/$n"
		HOSTILE_CLEANUPS+=("rm -f '$where/$n'")
	done
done
mkdir -p "$lo_out/.tmp-$lo_dead-oci-hostile50/blobs" "$TEST_CACHE/.tmp-$lo_dead-push-hostile50"
HOSTILE_CLEANUPS+=("rm -rf '$TEST_CACHE/.tmp-$lo_dead-push-hostile50'")

out=$(pg -q build postgres-18 --set default -o "$lo_out/x.tar" 2>&1)
lo_rc=$?
check_rc() { if [ "$1" -eq "$2" ]; then pass "$3"; else fail "$3" "exit $1, want $2" "$4"; fi; }
check_rc $lo_rc 0 "leftovers: the image is written" "$out"
for where in "${lo_where[@]}"; do
	if [ ! -e "$where/.tmp-$lo_dead-hostile50" ]; then pass "leftovers: a dead run's temporary is swept from $where"
	else fail "leftovers: a dead run's temporary is swept from $where"; fi
	if [ -e "$where/.tmp-$lo_live-hostile50" ]; then pass "leftovers: a running pid's temporary stays in $where"
	else fail "leftovers: a running pid's temporary stays in $where"; fi
	if [ -e "$where/.tmp-hostile50-no-pid" ]; then pass "leftovers: a name without a pid stays in $where"
	else fail "leftovers: a name without a pid stays in $where"; fi
done
if [ ! -e "$lo_out/.tmp-$lo_dead-oci-hostile50" ] && [ ! -e "$TEST_CACHE/.tmp-$lo_dead-push-hostile50" ]; then
	pass "leftovers: a dead run's temporary directories are swept"
else
	fail "leftovers: a dead run's temporary directories are swept"
fi
for where in "${lo_where[@]}"; do rm -f "$where/.tmp-$lo_live-hostile50" "$where/.tmp-hostile50-no-pid"; done

# Any directory pgimg writes a file into is swept first: a layer's
# --blob-dir, for one.
lo_store=$lo_dir/store
mkdir -p "$lo_store" "$lo_dir/small"
printf 'x\n' > "$lo_dir/small/f"
printf 'half-written\n' > "$lo_store/.tmp-$lo_dead-hostile50"
printf 'half-written\n' > "$lo_store/.tmp-$lo_live-hostile50"
out=$("$PGIMG" layer "$lo_dir/small" --blob-dir "$lo_store" 2>&1)
if [ ! -e "$lo_store/.tmp-$lo_dead-hostile50" ] && [ -e "$lo_store/.tmp-$lo_live-hostile50" ]; then
	pass "leftovers: pgimg layer sweeps its --blob-dir, keeping a running pid's"
else
	fail "leftovers: pgimg layer sweeps its --blob-dir, keeping a running pid's" "$out" "$(ls -a "$lo_store")"
fi

# A full disk: a 2 MB tmpfs cannot hold the image.
lo_full=$lo_dir/full
mkdir -p "$lo_full"
if mount -t tmpfs -o size=2m tmpfs "$lo_full" 2>/dev/null; then
	HOSTILE_CLEANUPS+=("umount '$lo_full'")
	out=$(pg -q build postgres-18 --set default -o "$lo_full/x.tar" 2>&1)
	check_rc $? 1 "full disk: build -o fails" "$out"
	one_line "full disk" "$out"
	if [[ $out == *"no space left on the disk holding \`$lo_full/x.tar\`"*"free space or point --cache-dir / -o elsewhere"* ]]; then
		pass "full disk: says the disk is full, names the path and what to do"
	else
		fail "full disk: says the disk is full, names the path and what to do" "got: $out"
	fi
	no_temps "full disk" "$lo_full"
	out=$(pg -q build postgres-18 --set default --format oci-dir -o "$lo_full/layout" 2>&1)
	if [[ $out == *"no space left on the disk holding \`$lo_full/"* ]]; then pass "full disk: an OCI layout says so too"
	else fail "full disk: an OCI layout says so too" "got: $out"; fi
	no_temps "full disk, OCI layout" "$lo_full"
	# a layer into a blob store on the full disk: 3 MB that do not compress
	mkdir -p "$lo_dir/big"
	head -c 3000000 /dev/urandom > "$lo_dir/big/noise"
	for comp in gzip zstd none; do
		out=$("$PGIMG" layer "$lo_dir/big" --compression $comp --blob-dir "$lo_full/blobs" 2>&1)
		if [[ $out == *"no space left on the disk holding \`$lo_full/blobs\`"* ]]; then
			pass "full disk: a $comp layer into the blob store says so"
		else
			fail "full disk: a $comp layer into the blob store says so" "got: $out"
		fi
	done
	one_line "full disk, layer" "$out"
	no_temps "full disk, layer" "$lo_full"
	umount "$lo_full"
else
	pass "full disk # SKIP cannot mount a tmpfs here"
fi

# A typo in an extension name is named before anything is downloaded.
lo_empty=$lo_dir/empty-cache
out=$("$PGIMG" --cache-dir "$lo_empty" build postgres-18 --with nosuchext 2>&1)
check_rc $? 1 "unknown extension: fails" "$out"
one_line "unknown extension" "$out"
if [[ $out == *nosuchext* ]]; then pass "unknown extension: names it"; else fail "unknown extension: names it" "got: $out"; fi
lo_files=$(find "$lo_empty" -type f 2>/dev/null)
if [ -z "$lo_files" ]; then pass "unknown extension: nothing downloaded"
else fail "unknown extension: nothing downloaded" "$lo_files"; fi
out=$("$PGIMG" --cache-dir "$lo_empty" build postgres-18 --with pgvector@0.0.0 2>&1)
if [[ $out == *pgvector* && $out == *0.0.0* ]] && [ -z "$(find "$lo_empty" -type f)" ]; then
	pass "unknown extension version: named, nothing downloaded"
else
	fail "unknown extension version: named, nothing downloaded" "got: $out"
fi
out=$("$PGIMG" --cache-dir "$lo_empty" build postgres-18 --set nosuchset 2>&1)
if [[ $out == *nosuchset* ]] && [ -z "$(find "$lo_empty" -type f)" ]; then
	pass "unknown image set: named, nothing downloaded"
else
	fail "unknown image set: named, nothing downloaded" "got: $out"
fi

# Global options after the command.
out=$("$PGIMG" build --cache-dir "$lo_dir/c1" postgres-18 --help 2>&1)
check_rc $? 0 "build --cache-dir DIR ... --help" "$out"
out=$("$PGIMG" build postgres-18 --with nosuchext --cache-dir "$lo_dir/c2" -q 2>&1)
if [[ $out == *nosuchext* ]] && [ -d "$lo_dir/c2" ]; then pass "--cache-dir after the operand is the cache"
else fail "--cache-dir after the operand is the cache" "got: $out"; fi
out=$("$PGIMG" list --cache-dir "$lo_dir/c3" --quiet 2>&1)
check_rc $? 0 "list --cache-dir DIR --quiet" "$out"

# Numbers are whole numbers in range, or one line naming option and value.
out=$("$PGIMG" --cache-dir "$lo_empty" build --jobs 4x postgres-18 2>&1)
check_rc $? 2 "--jobs 4x: a usage error" "$out"
one_line "--jobs 4x" "$out"
if [[ $out == *--jobs*4x* ]]; then pass "--jobs 4x: names the option and the value"
else fail "--jobs 4x: names the option and the value" "got: $out"; fi
out=$("$PGIMG" push --chunk-size 1e3 x.tar localhost:1/x 2>&1)
check_rc $? 2 "push --chunk-size 1e3: a usage error" "$out"
one_line "push --chunk-size 1e3" "$out"
out=$("$PGIMG" build --frob postgres-18 2>&1)
one_line "unknown option" "$out"
if [[ $out == *--frob* ]]; then pass "unknown option: named"; else fail "unknown option: named" "got: $out"; fi
