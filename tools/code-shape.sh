#!/bin/bash
# code-shape.sh - the shape limits of pgimg's C: no file over 800 lines,
# no function over 80 lines (tables aside), no include cycle between
# modules (top-level folders).  Prints each breach and a tally; exits 1
# when there is one.  Reads the tracked C files outside tests/.
set -u
cd "$(dirname "$0")/.."
max_file=800 max_fn=80
files=$(git ls-files '*.c' '*.h' | grep -v '^tests/')
bad=0
for f in $files; do
	n=$(wc -l < "$f")
	if [ "$n" -gt "$max_file" ]; then echo "file $f: $n lines (limit $max_file)"; bad=$((bad + 1)); fi
done
# A function: a line that starts a name and "(" at column 0 after a line
# holding its return type, up to the "}" at column 0.  Initialised tables
# ("= {") are not functions.
for f in $(git ls-files '*.c' | grep -v '^tests/'); do
	awk -v max="$max_fn" -v file="$f" '
	/^[A-Za-z_][A-Za-z0-9_]* \(/ && prev !~ /=/ { name = $1; start = NR; infn = 1 }
	infn && /^}/ { len = NR - start + 1; if (len > max) printf "function %s:%d %s: %d lines (limit %d)\n", file, start, name, len, max; infn = 0 }
	{ prev = $0 }' "$f"
done > "${TMPDIR:-/tmp}/code-shape.$$"
cat "${TMPDIR:-/tmp}/code-shape.$$"
bad=$((bad + $(wc -l < "${TMPDIR:-/tmp}/code-shape.$$")))
rm -f "${TMPDIR:-/tmp}/code-shape.$$"
# Module edges from #include "dir/x.h" in dir2/*.c|h, then cycles by a
# transitive closure over the few modules there are.
edges=$(for f in $files; do
	from=${f%%/*}
	grep -o '^#include "[a-z_]*/' "$f" | sed 's/#include "//; s/\/$//' | while read -r to; do
		[ "$to" != "$from" ] && echo "$from $to"
	done
done | sort -u)
cycles=$(python3 - "$edges" <<'PY'
import sys
edges = [l.split() for l in sys.argv[1].splitlines() if l.strip()]
g = {}
for a, b in edges:
    g.setdefault(a, set()).add(b)
def reach(a):
    seen, todo = set(), [a]
    while todo:
        for n in g.get(todo.pop(), ()):
            if n not in seen:
                seen.add(n); todo.append(n)
    return seen
out = set()
for a in sorted(g):
    for b in sorted(g[a]):
        if a in reach(b):
            out.add(tuple(sorted((a, b))))
for a, b in sorted(out):
    print(f"include cycle: {a} <-> {b} (through {a} -> {b} and back)")
PY
)
[ -n "$cycles" ] && { echo "$cycles"; bad=$((bad + $(echo "$cycles" | wc -l))); }
echo "code-shape: $bad breaches"
[ "$bad" -eq 0 ]
