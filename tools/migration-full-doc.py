#!/usr/bin/env python3
"""The full set's section of docs/upgrades.md, from the results of
`PGIMG_SET=full tools/migration-matrix.sh` (pgimg migration-test --results
lines): usage: migration-full-doc.py RESULTS.tsv "13 15 17 18" VERSIONS.json PAGE.
The section sits between the page's markers <!-- full set --> and
<!-- end of full set -->; it is put before the page's last line when the
page has none.  Every ordered pair of the majors gets a row; a cell
without a result says "not run"."""
import json
import sys
import time

BEGIN, END = "<!-- full set -->", "<!-- end of full set -->"


def load(path):
    cells = {}
    for line in open(path):
        if not line.strip():
            continue
        r = (line.rstrip("\n").split("\t") + [""] * 15)[:15]
        old, new, method = r[0], r[1], r[2]
        cells[(old.split(".")[0], new.split(".")[0], method)] = dict(
            old=old, new=new, result=r[4], secs=float(r[5] or 0), up=float(r[6] or 0),
            rows=int(r[7] or 0), tables=int(r[8] or 0), updates=r[9], reason=r[10],
            carried=r[11], only_old=r[12], only_new=r[13], fixtures=r[14])
    return cells


def listed(s):
    return [] if s in ("", "-") else [x.strip() for x in s.split(", ") if x.strip()]


def cell(c):
    if c is None:
        return "not run"
    if c["result"] == "passed":
        return "passed: %s rows in %d tables, %d extensions, %.0f s (%.0f s the upgrade)" % (
            format(c["rows"], ","), c["tables"], len(listed(c["carried"])), c["secs"], c["up"])
    return "**failed**: %s" % c["reason"].replace("|", "\\|")[:400]


def section(cells, majors, versions):
    pairs = [(a, b) for a in majors for b in majors if int(a) < int(b)]
    ran = [c for c in cells.values() if c["result"]]
    failed = sum(1 for c in ran if c["result"] != "passed")
    missing = sum(1 for a, b in pairs for m in ("pg_upgrade", "pg_dumpall") if (a, b, m) not in cells)
    out = [BEGIN, "## The whole catalogue: `--set full`", ""]
    out.append("Written by `PGIMG_SET=full tools/migration-matrix.sh` from real runs of `pgimg migration-test OLD NEW "
               "METHOD --set full` (%d runs, %d failed, %d not run; last written %s). Both images have every recipe "
               "of `images/full.json` that their major builds, and the jit layer. OLD gets every extension "
               "`tests/prime.sql` can create, `tests/migrations/data.sql`, and the fixture of each extension in "
               "`tests/migrations/extensions/` (rows of its types, its indexes with a query that must still use them, "
               "its own catalog rows: a TimescaleDB hypertable, a pglogical node). An extension NEW's major cannot "
               "have is not created in OLD and is named, with its recipe's reason; one only NEW has is named too. "
               "A cell that says \"not run\" was not run for this page."
               % (len(ran), failed, missing, time.strftime("%Y-%m-%d", time.gmtime())))
    out += ["", "| OLD → NEW | pg_upgrade (copy) | pg_dumpall |", "|---|---|---|"]
    for a, b in pairs:
        va = versions.get(a, a)
        vb = versions.get(b, b)
        up, dump = cells.get((a, b, "pg_upgrade")), cells.get((a, b, "pg_dumpall"))
        for c in (up, dump):
            if c:
                va, vb = c["old"], c["new"]
        out.append("| %s → %s | %s | %s |" % (va, vb, cell(up), cell(dump)))
    out += ["", "### Extensions carried", "",
            "The extensions installed in NEW's database `migration` after the upgrade, at their versions there "
            "(every one at NEW's default version: updated by `ALTER EXTENSION … UPDATE`, the recipe's `update: "
            "recreate` or its `migration` steps), those only OLD's major has (not created in OLD, with the reason) "
            "and those only NEW's has (not tried).", "",
            "| OLD → NEW | method | extensions in NEW after the upgrade | only in OLD (not created) | only in NEW | "
            "fixtures loaded |", "|---|---|---|---|---|---|"]
    for a, b in pairs:
        for m in ("pg_upgrade", "pg_dumpall"):
            c = cells.get((a, b, m))
            if c is None:
                out.append("| %s → %s | %s | not run | | | |" % (a, b, m))
                continue
            esc = lambda s: ("-" if s in ("", "-") else s).replace("|", "\\|")
            carried = c["carried"] if c["result"] == "passed" else "(failed: see above)"
            out.append("| %s → %s | %s | %s | %s | %s | %s |" % (c["old"], c["new"], m, esc(carried),
                       esc(c["only_old"]), esc(c["only_new"]), esc(c["fixtures"])))
    out.append(END)
    return "\n".join(out)


def main():
    results, majors, versions_json, page_path = sys.argv[1:5]
    cells = load(results)
    versions = {}
    try:
        for v in json.load(open(versions_json)):
            versions[v["major"]] = v["default_version"]
    except (OSError, ValueError, KeyError):
        pass
    text = section(cells, majors.split(), versions)
    page = open(page_path).read()
    a, b = page.find(BEGIN), page.find(END)
    if a >= 0 and b > a:
        page = page[:a] + text + page[b + len(END):]
    else:
        lines = page.rstrip("\n").split("\n")
        page = "\n".join(lines[:-1]) + "\n" + text + "\n\n" + lines[-1] + "\n"
    with open(page_path + ".tmp", "w") as f:
        f.write(page)
    import os
    os.replace(page_path + ".tmp", page_path)


if __name__ == "__main__":
    main()
