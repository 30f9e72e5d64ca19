#!/bin/bash
# vm-disk.sh - pgimg build postgres-18 --set default --format disk: the
# raw disk has a GPT with an EFI system partition holding a unified
# kernel image and an ext4 root that e2fsck finds clean, with the image's
# entrypoint, the PostgreSQL unit and the owners the layers give; its
# receipt and SBOM beside it list the machine layer's packages; two
# builds give the same bytes (disk, receipt, SBOM) and the second builds
# no layer; qcow2, vmdk and vhd hold the same disk, and two vmdk (or vhd)
# writes give the same bytes; a disk too small, an unknown disk format
# and a lock without the machine set are one line each and leave no
# file.  Then, unless PGIMG_VM_BOOT=0, qemu (TCG) boots the disk with
# OVMF, a NoCloud seed giving the password, an SSH key, a library to
# preload and extensions to create, and an empty second disk: psql from
# the host answers over a forwarded port, pg_cron is preloaded and both
# extensions are there, the key logs in over SSH (another key and
# passwords do not), the data directory is on the second disk, a table
# with pgvector survives a reboot (of the same disk converted to qcow2)
# that mounts that disk by its label, PostgreSQL stops clean on
# an ACPI power-off; booted without a seed or a second disk, it listens
# on localhost only.  Prints TAP; the time from power-on to a server that
# answers is a TAP comment.
set -u
. "$(dirname "$0")/lib/tap.sh"

[ -x "$PGIMG" ] || skip_all "no pgimg binary at $PGIMG (make)"
for t in sfdisk e2fsck debugfs mdir python3; do
	command -v "$t" >/dev/null || skip_all "$t is needed (tools/install-test-deps.sh)"
done
probe=$("$PGIMG" sandbox --root / -- true 2>&1) || case $probe in
	*"namespaces are unavailable"* | *"cannot create mount, pid"*) skip_all "${probe#pgimg: }" ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/pgimg-vm-XXXXXX")
qemu_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

p() { "$PGIMG" -q --cache-dir "$TEST_CACHE" "$@"; }
built_layers() { python3 -c 'import json,sys; print(sum(l["built"] for l in json.load(open(sys.argv[1]))["layers"]))' "$1"; }

# "start size" in sectors of partition N of a disk.
part() { sfdisk --json "$1" | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][int(sys.argv[1])-1]; print(p["start"], p["size"])' "$2"; }
extract() { # disk N out
	local start size
	read -r start size <<<"$(part "$1" "$2")"
	dd if="$1" of="$3" bs=512 skip="$start" count="$size" conv=sparse status=none
}

raw=$work/pg18.raw
if ! p build postgres-18 --set default --format disk -o "$raw" 2>"$work/a.err"; then
	fail "postgres-18 --format disk builds" "$(tail -5 "$work/a.err")"
	finish
fi
pass "postgres-18 --set default --format disk builds"

table=$(sfdisk -d "$raw" 2>&1)
ok "the disk has a GPT" grep -q '^label: gpt' <<<"$table"
ok "partition 1 is an EFI system partition" grep -q 'raw1 : .*type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' <<<"$table"
ok "partition 2 is an x86-64 Linux root" grep -q 'raw2 : .*type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709' <<<"$table"

extract "$raw" 1 "$work/esp.img"
esp_has_uki() { mdir -b -i "$1" ::/EFI/BOOT/BOOTX64.EFI >/dev/null 2>&1; }
ok "the ESP holds EFI/BOOT/BOOTX64.EFI" esp_has_uki "$work/esp.img"
mcopy -i "$work/esp.img" ::/EFI/BOOT/BOOTX64.EFI "$work/uki.efi" 2>/dev/null
root_uuid=$(grep 'raw2 : ' <<<"$table" | sed 's/.*uuid=\([0-9A-F-]*\).*/\1/' | tr 'A-F' 'a-f')
ok "the UKI's command line names the root partition" grep -aq "root=PARTUUID=$root_uuid" "$work/uki.efi"

extract "$raw" 2 "$work/root.img"
fsck=$(e2fsck -fn "$work/root.img" 2>&1)
if [ $? -eq 0 ]; then pass "e2fsck -fn finds the root filesystem clean"; else fail "e2fsck -fn finds the root filesystem clean" "$(tail -5 <<<"$fsck")"; fi
dbg() { debugfs -R "$1" "$work/root.img" 2>/dev/null; }
ok "the root holds the image's entrypoint" grep -q 'Type: regular' <<<"$(dbg 'stat /usr/local/bin/docker-entrypoint.sh')"
ok "the root holds PostgreSQL 18" grep -q 'Type: regular' <<<"$(dbg 'stat /usr/lib/postgresql/18/bin/postgres')"
ok "the PostgreSQL unit is enabled" grep -q 'Type: symlink' <<<"$(dbg 'stat /etc/systemd/system/multi-user.target.wants/postgresql.service')"
kver=$(dbg 'ls -p /usr/lib/modules' | awk -F/ '$6 != "" && $6 != "." && $6 != ".." { print $6 }' | head -n 1)
ok "the kernel's modules are indexed" grep -q 'Type: regular' <<<"$(dbg "stat /usr/lib/modules/$kver/modules.dep")"
ok "/etc/shadow keeps its group (shadow, 42)" grep -q 'Group: *42 ' <<<"$(dbg 'stat /etc/shadow')"

# The receipt and the SBOM beside the disk, the machine layer's packages
# in both.
receipt_ok() {
	python3 - "$raw.receipt.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
names = [l["name"] for l in r["layers"]]
machine = {p["name"] for p in r["disk"]["machinePackages"]}
image = {p["name"] for p in r["packages"]}
assert names[-1] == "machine" and "postgres" in names and "sbom" in names, names
assert r["disk"]["format"] == "raw" and r["disk"]["sizeMiB"] == 4096, r["disk"]
assert {"linux-image-cloud-amd64", "systemd", "openssh-server"} <= machine, sorted(machine)
assert "libc6" in image and not machine & image, sorted(machine & image)
assert r["postgres"]["major"] == "18" and "manifest" not in r
EOF
}
sbom_ok() {
	python3 - "$raw.spdx.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
names = {p["name"] for p in s["packages"]}
assert s["spdxVersion"] == "SPDX-2.3", s["spdxVersion"]
want = {"linux-image-cloud-amd64", "systemd", "openssh-server", "libc6", "postgresql"}
assert want <= names, sorted(want - names)
assert any(p.get("primaryPackagePurpose") == "OPERATING-SYSTEM" for p in s["packages"])
EOF
}
ok "the receipt beside the disk lists the machine layer and its packages" receipt_ok
ok "the SBOM beside the disk lists the kernel, systemd, OpenSSH and PostgreSQL" sbom_ok

raw2=$work/pg18-again.raw
if p build postgres-18 --set default --format disk -o "$raw2" --json >"$work/b.json" 2>"$work/b.err"; then
	ok "a rebuild builds no layer" [ "$(built_layers "$work/b.json")" = 0 ]
	ok "a rebuild gives the same bytes" [ "$(sha256sum <"$raw")" = "$(sha256sum <"$raw2")" ]
	ok "a rebuild gives the same receipt and SBOM" cmp -s <(cat "$raw.receipt.json" "$raw.spdx.json") \
		<(cat "$raw2.receipt.json" "$raw2.spdx.json")
else
	fail "the disk builds again" "$(tail -5 "$work/b.err")"
fi
rm -f "$raw2" "$raw2".*.json

if command -v qemu-img >/dev/null; then
	if p build postgres-18 --set default --format disk --disk-format qcow2 -o "$work/pg18.qcow2" 2>"$work/q.err"; then
		ok "--disk-format qcow2 writes a qcow2" grep -q 'file format: qcow2' <<<"$(qemu-img info "$work/pg18.qcow2")"
		ok "the qcow2 holds the raw disk" qemu-img compare -q "$raw" "$work/pg18.qcow2"
	else
		fail "--disk-format qcow2 builds" "$(tail -5 "$work/q.err")"
	fi
	rm -f "$work/pg18.qcow2"*
	# vmdk and vhd: qemu-img writes a random id (and for vhd the time);
	# pgimg sets them from the layers, so two writes give the same bytes.
	for fmt in vmdk vhd; do
		out=$work/pg18.$fmt
		if p build postgres-18 --set default --format disk --disk-format "$fmt" -o "$out" 2>"$work/$fmt.err" \
			&& p build postgres-18 --set default --format disk --disk-format "$fmt" -o "$out.again" 2>>"$work/$fmt.err"; then
			# A fixed vhd has no header qemu-img would recognize: name its format.
			ok "--disk-format $fmt holds the raw disk" qemu-img compare -q -f raw -F "${fmt/vhd/vpc}" "$raw" "$out"
			ok "two --disk-format $fmt writes give the same bytes" cmp -s "$out" "$out.again"
		else
			fail "--disk-format $fmt builds twice" "$(tail -5 "$work/$fmt.err")"
		fi
		rm -f "$out"*
	done
fi

# Bad input: one line, the status, no file at -o and no temporary left.
expect_bad() { # name status pattern out args...
	local name=$1 want=$2 pattern=$3 out=$4 rc
	shift 4
	msg=$("$PGIMG" -q --cache-dir "$TEST_CACHE" "$@" -o "$out" 2>&1)
	rc=$?
	if [ "$rc" = "$want" ] && [ "$(wc -l <<<"$msg")" = 1 ] && grep -q -e "$pattern" <<<"$msg" \
		&& [ ! -e "$out" ] && [ ! -e "$out.receipt.json" ] && [ ! -e "$out.spdx.json" ] && [ -z "$(find "$(dirname "$out")" -name '*.tmp*' -o -name '.tmp-*' -newer "$raw" 2>/dev/null)" ]; then
		pass "$name"
	else
		fail "$name" "exit $rc, want $want: $msg"
	fi
}
expect_bad "a disk too small is one line saying the size it needs" 1 'disk size 256M is too small.*--disk-size [0-9]*G or more' \
	"$work/small.raw" build postgres-18 --set default --format disk --disk-size 256M
expect_bad "an unknown disk format is one line" 2 'unknown disk format .iso.; use raw, qcow2, vmdk or vhd' \
	"$work/iso.raw" build postgres-18 --format disk --disk-format iso
expect_bad "--disk-size without --format disk is one line" 2 '--disk-size is for disk images; add --format disk' \
	"$work/nodisk.tar" build postgres-18 --disk-size 4G
data=$(data_copy)
python3 - "$data/lock/trixie-amd64.lock.json" <<'EOF'
import json, sys
p = sys.argv[1]; l = json.load(open(p)); del l["sets"]["machine"]; json.dump(l, open(p, "w"), indent=2)
EOF
PGIMG_DATA_DIR=$data expect_bad "a lock without the machine set is one line naming it" 1 'has no set .machine., which a disk image needs; run .pgimg lock.' \
	"$work/nomachine.raw" build postgres-18 --set default --format disk
rm -rf "$data"

# The boot, under qemu without KVM.
if [ "${PGIMG_VM_BOOT:-1}" = 0 ]; then
	finish
fi
ovmf=
for f in /usr/share/ovmf/OVMF.fd /usr/share/qemu/OVMF.fd; do [ -f "$f" ] && ovmf=$f && break; done
for t in qemu-system-x86_64 psql mkfs.vfat ssh ssh-keygen; do
	command -v "$t" >/dev/null || missing="${missing:-} $t"
done
if [ -n "${missing:-}" ] || [ -z "$ovmf" ]; then
	fail "qemu-system-x86_64, OVMF, psql, mkfs.vfat and ssh are here (tools/install-test-deps.sh)" "missing:${missing:-} ${ovmf:-OVMF}"
	finish
fi

# The seed gives the password and one SSH key; another key is not in it.
password=vm-$$-secret
ssh-keygen -q -t ed25519 -N '' -C pgimg-test -f "$work/id" && ssh-keygen -q -t ed25519 -N '' -f "$work/other"
# It asks for pg_cron preloaded and two extensions; a list that is not
# names (it would break out of the SQL) is ignored.
printf '#pgimg-config\npassword=%s\nssh_authorized_key=%s\n%s\nshared_preload_libraries=pg_cron\nextensions=pg_cron,vector\n' \
	"$password" "$(cat "$work/id.pub")" "extensions=vector\"; drop table x; --" >"$work/user-data"
printf 'instance-id: pgimg-test\n' >"$work/meta-data"
mkfs.vfat -C -n CIDATA "$work/seed.img" 2048 >/dev/null
mcopy -i "$work/seed.img" "$work/user-data" "$work/meta-data" ::/
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
ssh_port=$(free_port)
psql_vm() { PGPASSWORD=$password PGCONNECT_TIMEOUT=5 psql -X -At -q "host=127.0.0.1 port=$port user=postgres dbname=postgres" -c "$1" 2>&1; }
# root, the user the machine's sshd lets in with a key (docs/vm.md).
ssh_as() { # key [ssh options...] command
	local key=$1
	shift
	ssh -F /dev/null -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=20 -p "$ssh_port" root@127.0.0.1 "$@" 2>&1
}
ssh_vm() { ssh_as "$work/id" "$@"; }
wait_ssh() { # seconds
	local i
	for ((i = 0; i < $1; i += 5)); do
		ssh_vm true >/dev/null && return 0
		sleep 5
	done
	return 1
}
# The filesystem that holds the data directory: "LABEL FSTYPE MOUNTPOINT".
data_fs() { ssh_vm "findmnt -no LABEL,FSTYPE,TARGET --target '$pgdata'" | awk '{ print $1, $2, $3 }'; }

# Without KVM, TCG runs the two vCPUs in one host thread: with a thread
# each, the guest kernel's live patching of its own code (text_poke)
# can race and panic it early in a boot ("Oops: int3" in
# sched_clock_cpu, seen here once).
if [ -w /dev/kvm ]; then accel=kvm; else accel=tcg,thread=single; fi
boot() { # console-log
	console=$1
	qemu-system-x86_64 -machine q35 -accel "$accel" -m 2048 -smp 2 -bios "$ovmf" -display none -no-reboot \
		-serial "file:$1" -monitor "unix:$work/monitor,server,nowait" \
		-drive "file=$root_file,format=$root_format,if=none,id=root" -device nvme,serial=pgimg-root,drive=root \
		"${seed_drive[@]}" "${data_drive[@]}" \
		-netdev "user,id=net,hostfwd=tcp:127.0.0.1:$port-:5432,hostfwd=tcp:127.0.0.1:$ssh_port-:22" \
		-device virtio-net-pci,netdev=net &
	qemu_pid=$!
}
wait_ready() { # seconds
	local i
	for ((i = 0; i < $1; i += 5)); do
		psql_vm 'select 1' | grep -qx 1 && return 0
		kill -0 "$qemu_pid" 2>/dev/null || return 1
		# A panicked guest never answers: say so now, not at the timeout.
		grep -aq 'Kernel panic' "$console" 2>/dev/null && return 1
		sleep 5
	done
	return 1
}
# An ACPI power-off; 0 when qemu has ended within the time.  The button
# is pressed again every 30 s: a press early in a boot can go unheard
# (once seen about a minute after power-on), and a press during the
# shutdown changes nothing.
power_off() { # seconds
	local i
	for ((i = 0; i < $1; i++)); do
		((i % 30)) || python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"system_powerdown\n")' "$work/monitor"
		kill -0 "$qemu_pid" 2>/dev/null || { wait "$qemu_pid"; local rc=$?; qemu_pid=; return $rc; }
		sleep 1
	done
	return 1
}

cp --sparse=always "$raw" "$work/fresh.raw"     # for the boot without a seed
root_file=$raw root_format=raw
seed_drive=(-drive "file=$work/seed.img,format=raw,if=virtio,readonly=on")
# An empty second disk, as a cloud volume for the data: NVMe, like EBS on
# Nitro.  The first boot formats it, the second mounts it by its label.
truncate -s 512M "$work/data.raw"
data_drive=(-drive "file=$work/data.raw,format=raw,if=none,id=data" -device nvme,serial=pgimg-data,drive=data)
start=$(date +%s)
boot "$work/console1.log"
if wait_ready "${PGIMG_VM_BOOT_TIMEOUT:-900}"; then
	pass "the disk boots under qemu and PostgreSQL answers from the host"
	echo "# boot to ready: $(( $(date +%s) - start )) s (TCG, no KVM)"
else
	fail "the disk boots under qemu and PostgreSQL answers from the host" "last lines of the serial console:" \
		"$(tail -n 25 "$work/console1.log" | tr -d '\r')"
	cp "$work/console1.log" "$TEST_OUT/vm-disk-console1.log" 2>/dev/null
	finish
fi
ok "select version() names PostgreSQL 18" grep -q '^PostgreSQL 18' <<<"$(psql_vm 'select version()')"
ok "the seed's shared_preload_libraries is the server's" [ "$(psql_vm 'show shared_preload_libraries')" = pg_cron ]
ok "the seed's extensions were created with the cluster (pg_cron, vector)" \
	[ "$(psql_vm "select string_agg(extname, ',' order by extname) from pg_extension where extname in ('pg_cron', 'vector')")" = pg_cron,vector ]
ok "a seed's extensions line that is not names is ignored, and said so" grep -q 'pgimg-firstboot: ignoring extensions' "$work/console1.log"
out=$(psql_vm "create table items (id int primary key, v vector(3)); insert into items values (1, '[1,2,3]')")
ok "a table with a pgvector column is created" [ -z "$out" ]
pgdata=$(psql_vm 'show data_directory')

if wait_ssh 120; then
	ok "the seed's SSH key logs in and postgresql.service is active" [ "$(ssh_vm systemctl is-active postgresql)" = active ]
else
	fail "the seed's SSH key logs in and postgresql.service is active" "$(ssh_vm true)"
fi
out=$(ssh_as "$work/other" true)
ok "a key that is not in the seed is refused" grep -q 'Permission denied (publickey)' <<<"$out"
# The server names the methods it would take: publickey alone, so no
# password (nor keyboard-interactive) login is offered.
out=$(ssh_as "$work/id" -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive true)
ok "sshd offers no password login" grep -q 'Permission denied (publickey)\.' <<<"$out"
read -r label fstype data_mnt <<<"$(data_fs)"
ok "the data directory $pgdata is on the second disk (ext4, label pgdata, on ${data_mnt:-?})" \
	[ "$label $fstype" = "pgdata ext4" ]

if power_off 300; then pass "an ACPI power-off ends the machine"; else fail "an ACPI power-off ends the machine"; fi
# The entrypoint stops a temporary server once after initdb: what counts
# is the server's last word before the power-off.
last_log() { grep -a ' LOG: ' "$1" | tail -n 1; }
ok "PostgreSQL shut down clean at power-off" grep -q 'database system is shut down' <<<"$(last_log "$work/console1.log")"
# The cluster's files, read from the data disk by the host.
on_disk=${pgdata#"$data_mnt"}
cluster_on_disk() { [ -n "$data_mnt" ] && [ "$(debugfs -R "cat $on_disk/PG_VERSION" "$work/data.raw" 2>/dev/null)" = 18 ]; }
ok "the data disk holds the cluster ($on_disk/PG_VERSION is 18)" cluster_on_disk

# The second boot runs the same disk, as it is after the first, in
# qcow2: the format a KVM host takes.
if qemu-img convert -O qcow2 "$raw" "$work/booted.qcow2"; then
	root_file=$work/booted.qcow2 root_format=qcow2
else
	fail "the booted disk converts to qcow2"
fi
boot "$work/console2.log"
if wait_ready 900; then
	ok "the disk boots again as qcow2 ($root_format)" [ "$root_format" = qcow2 ]
	ok "the table survives the reboot" grep -qx '\[1,2,3\]' <<<"$(psql_vm 'select v from items where id = 1')"
	ok "the server found its cluster shut down clean" grep -q 'database system was shut down at' "$work/console2.log"
	wait_ssh 120
	ok "the second boot mounts the data disk by its label" [ "$(data_fs)" = "pgdata ext4 $data_mnt" ]
else
	fail "the disk boots a second time" "$(tail -n 25 "$work/console2.log" | tr -d '\r')"
fi
if power_off 300; then pass "the second power-off ends the machine"; else fail "the second power-off ends the machine"; fi
ok "PostgreSQL shut down clean at the second power-off" grep -q 'database system is shut down' <<<"$(last_log "$work/console2.log")"

# Without a seed (and no instance metadata under qemu): no password, so
# the server must listen on localhost only.
cp --sparse=always "$work/fresh.raw" "$raw"
rm -f "$work/booted.qcow2"
root_file=$raw root_format=raw
seed_drive=()
data_drive=()
boot "$work/console3.log"
for ((i = 0; i < 900; i += 5)); do
	# The entrypoint's temporary server after initdb listens on no port.
	grep -aq 'listening on IPv[46] address' "$work/console3.log" 2>/dev/null && break
	sleep 5
done
ok "without a password the server listens on localhost only" grep -aq 'listening on IPv4 address "127.0.0.1"' "$work/console3.log"
ok "without a password the host cannot connect" test -z "$(psql_vm 'select 1' | grep -x 1)"
ok "without a second disk the data directory stays on the root disk" \
	grep -aq 'no empty second disk: the data directory stays on the root disk' "$work/console3.log"
power_off 300 || fail "the third power-off ends the machine"
cp "$work"/console*.log "$TEST_OUT/" 2>/dev/null
finish
