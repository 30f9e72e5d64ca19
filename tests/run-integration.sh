#!/bin/bash
# Run every integration test (tests/integration/*.sh) and tally them.
# A test exits 0 (passed), 77 (cannot run here: skipped, with its reason)
# or anything else (failed).  PGIMG_TESTS=name1,name2 runs a subset.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0 failed=
for t in tests/integration/*.sh; do
	name=$(basename "$t" .sh)
	if [ -n "${PGIMG_TESTS:-}" ] && [[ ",$PGIMG_TESTS," != *",$name,"* ]]; then
		continue
	fi
	echo "# integration: $name"
	start=$(date +%s)
	bash "$t"
	rc=$?
	echo "# integration: $name exit $rc after $(( $(date +%s) - start )) s"
	case $rc in
	0) pass=$((pass + 1)) ;;
	77) skip=$((skip + 1)) ;;
	*) fail=$((fail + 1)); failed="$failed $name" ;;
	esac
done
[ -n "$failed" ] && echo "# failed:$failed"
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
