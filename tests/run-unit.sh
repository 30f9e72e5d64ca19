#!/bin/sh
# Run each cmocka binary with TAP output; print a closing tally.
set -u
pass=0 fail=0
for t in "$@"; do
	if CMOCKA_MESSAGE_OUTPUT=TAP "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "not ok - $t"; fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
