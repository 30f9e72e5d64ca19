#!/bin/bash
# The SBOM a user gets with postgres-18 --set default: the SPDX document
# beside the tarball is the one inside the image, it is well-formed SPDX
# 2.3, syft finds exactly its Debian packages (name, version and purl) in
# the tarball, PostgreSQL and the extensions are in it with their
# sources, and an OCI layout given as DIR/ gets DIR.spdx.json.  Building
# the SBOM layer again from the same layers gives the same image.
#
# syft comes from tools/test-servers.sh (built once by make test-deps).
set -u
. "$(dirname "$0")/lib/tap.sh"

syft=$("$ROOT/tools/test-servers.sh" syft 2>/dev/null) || skip_all "syft cannot be built here (tools/test-servers.sh syft)"
work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-sbom-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
export SYFT_CHECK_FOR_APP_UPDATE=false

build() { "$PGIMG" -q --cache-dir "$1" build postgres-18 --set default --json "${@:2}"; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

out=$(build "$TEST_CACHE" -o "$work/pg18.tar") || { echo "Bail out! pgimg build postgres-18 --set default failed"; exit 1; }
manifest=$(field manifest <<<"$out")
ok "the SBOM is written beside the tarball" test -s "$work/pg18.tar.spdx.json"

# The image's top layer, as a user would find it: manifest.json's last.
inside() {
	local layer
	layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["Layers"][-1])' <(tar -xOf "$work/pg18.tar" manifest.json))
	tar -xOf "$work/pg18.tar" "$layer" | tar -xzO usr/share/pgimg/sbom.spdx.json >"$work/inside.json" &&
		cmp -s "$work/inside.json" "$work/pg18.tar.spdx.json"
}
ok "the SBOM beside the tarball is /usr/share/pgimg/sbom.spdx.json of its top layer" inside

spdx_ok() {
	python3 - "$work/pg18.tar.spdx.json" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
assert d["spdxVersion"] == "SPDX-2.3" and d["dataLicense"] == "CC0-1.0", d["spdxVersion"]
assert d["SPDXID"] == "SPDXRef-DOCUMENT" and d["name"] and d["documentNamespace"].startswith("https://")
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", d["creationInfo"]["created"])
assert any(c.startswith("Tool: ") for c in d["creationInfo"]["creators"])
ids = [p["SPDXID"] for p in d["packages"]]
assert len(ids) == len(set(ids)), "duplicate SPDXIDs"
for p in d["packages"]:
    assert re.fullmatch(r"SPDXRef-[A-Za-z0-9.-]+", p["SPDXID"]), p["SPDXID"]
    for k in ("name", "versionInfo", "downloadLocation"):
        assert p.get(k), (p["SPDXID"], k)
    assert p.get("licenseConcluded") or p.get("licenseDeclared"), p["SPDXID"]
refs = set(re.findall(r"LicenseRef-[A-Za-z0-9.-]+", json.dumps([p.get("licenseDeclared") for p in d["packages"]])))
assert refs == {e["licenseId"] for e in d.get("hasExtractedLicensingInfos", [])}, "undeclared LicenseRefs"
known = set(ids) | {"SPDXRef-DOCUMENT"}
rels = d["relationships"]
for r in rels:
    assert r["spdxElementId"] in known and r["relatedSpdxElement"] in known, r
image = [r["relatedSpdxElement"] for r in rels if r["relationshipType"] == "DESCRIBES" and r["spdxElementId"] == "SPDXRef-DOCUMENT"]
assert len(image) == 1, image
contained = {r["relatedSpdxElement"] for r in rels if r["relationshipType"] == "CONTAINS" and r["spdxElementId"] == image[0]}
assert contained == set(ids) - {image[0]}, "a package the image does not CONTAIN"
PY
}
ok "it is SPDX 2.3: required fields, unique SPDXIDs, relationships between existing elements" spdx_ok

postgres_ok() {
	python3 - "$work/pg18.tar.spdx.json" "$ROOT/versions/18.json" "$(field image <<<"$out")" <<'PY'
import json, sys
d, recipe, image = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
version = image.split(":")[1]
pg = [p for p in d["packages"] if p["name"] == "postgresql"]
assert len(pg) == 1 and pg[0]["versionInfo"] == version, pg
pin = recipe["versions"][version]
assert pg[0]["downloadLocation"] == pin["urls"][0], pg[0]["downloadLocation"]
assert pg[0]["checksums"] == [{"algorithm": "SHA256", "checksumValue": pin["sha256"]}]
assert pg[0]["licenseDeclared"] == "PostgreSQL"
names = {p["name"] for p in d["packages"]}
for ext in json.load(open(sys.argv[2].replace("versions/18.json", "images/default.json")))["extensions"]:
    assert ext.split("@")[0] in names, ext
PY
}
ok "PostgreSQL is in it with its source URL, sha256 and licence, and every default extension" postgres_ok

if "$syft" "docker-archive:$work/pg18.tar" -o json >"$work/syft.json" 2>"$work/syft.err"; then
	pass "syft reads the tarball"
else
	fail "syft reads the tarball" "$(tail -3 "$work/syft.err")"
fi
same_debs() {
	python3 - "$work/syft.json" "$work/pg18.tar.spdx.json" <<'PY'
import json, sys
syft = {(a["name"], a["version"], a["purl"]) for a in json.load(open(sys.argv[1]))["artifacts"] if a["type"] == "deb"}
purl = lambda p: p.get("externalRefs", [{}])[0].get("referenceLocator", "")
ours = {(p["name"], p["versionInfo"], purl(p)) for p in json.load(open(sys.argv[2]))["packages"] if purl(p).startswith("pkg:deb/")}
assert len(ours) > 30, len(ours)
assert syft == ours, ("only syft: %s; only the SBOM: %s" % (sorted(syft - ours)[:5], sorted(ours - syft)[:5]))
print("# %d Debian packages" % len(ours))
PY
}
ok "syft lists exactly the SBOM's Debian packages, with the same purls" same_debs

# A layout directory given as DIR/: its SBOM is DIR.spdx.json, beside it.
build "$TEST_CACHE" --format oci-dir -o "$work/layout/" >/dev/null
ok "--format oci-dir -o DIR/ writes DIR.spdx.json, the same document" cmp -s "$work/layout.spdx.json" "$work/pg18.tar.spdx.json"

# Something in the way of the SBOM: one clear line, exit 1, no image.
mkdir -p "$work/blocked.tar.spdx.json"
msg=$(build "$TEST_CACHE" -o "$work/blocked.tar" 2>&1 >/dev/null); rc=$?
check_blocked() { [ "$rc" = 1 ] && [ "$(grep -c . <<<"$msg")" = 1 ] && grep -q 'blocked.tar.spdx.json. is in the way.*choose another -o' <<<"$msg" && [ ! -e "$work/blocked.tar" ]; }
ok "a directory where the SBOM goes: one line that says what to do, and no image" check_blocked

# The SBOM layer made again from the same layers: a cache that has every
# layer entry but the SBOM's (blobs shared, they are content-addressed).
fresh="$work/cache"
mkdir -p "$fresh/layers"
ln -s "$TEST_CACHE/downloads" "$fresh/downloads"
ln -s "$TEST_CACHE/blobs" "$fresh/blobs"
sbom_key=$(python3 -c 'import json,sys; print([l["key"] for l in json.load(open(sys.argv[1]))["layers"] if l["name"] == "sbom"][0])' "$work/pg18.tar.receipt.json")
for f in "$TEST_CACHE"/layers/*.json; do
	[ "$(basename "$f")" = "$sbom_key.json" ] || cp "$f" "$fresh/layers/"
done
again=$(build "$fresh" -o "$work/again.tar")
rebuilt=$(python3 -c 'import json,sys; print(" ".join(l["name"] for l in json.load(sys.stdin)["layers"] if l["built"]))' <<<"$again")
check_again() { [ "$rebuilt" = sbom ] && [ "$(field manifest <<<"$again")" = "$manifest" ]; }
ok "the SBOM layer made again from the same layers gives the same image digest (built: $rebuilt)" check_again
finish
