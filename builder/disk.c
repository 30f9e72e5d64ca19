/* disk.c - a bootable GPT disk image from a root tree, written by the
 * lock's disk tools in the build sandbox (see disk.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/disk.h"
#include "builder/rootfs.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "common/sha256.h"

#define DISK_TOOLS_SET "disk-tools"
#define DISK_MAX_MIB (64ull << 20)      /* 64 TiB */

static const char *const format_names[] = { "raw", "qcow2", "vmdk", "vhd" };

int
disk_format_parse (const char *s, enum disk_format *out, pgimg_error_t *err)
{
        for (size_t i = 0; i < sizeof (format_names) / sizeof (format_names[0]); i++)
                if (strcmp (s, format_names[i]) == 0) {
                        *out = (enum disk_format) i;
                        return 0;
                }
        return pgimg_make_error (err, EINVAL, "unknown disk format `%.40s`; use raw, qcow2, vmdk or vhd", s);
}

const char *
disk_format_name (enum disk_format f)
{
        return format_names[f];
}

int
disk_size_parse (const char *s, uint64_t *mib, pgimg_error_t *err)
{
        static const struct { const char *unit; unsigned shift; } units[] = {
                { "M", 0 }, { "MiB", 0 }, { "G", 10 }, { "GiB", 10 }, { "T", 20 }, { "TiB", 20 },
        };
        uint64_t n = 0;
        size_t i = 0;

        while (isdigit ((unsigned char) s[i])) {
                if (n > DISK_MAX_MIB)
                        break;
                n = n * 10 + (uint64_t) (s[i++] - '0');
        }
        for (size_t u = 0; i > 0 && n <= DISK_MAX_MIB && u < sizeof (units) / sizeof (units[0]); u++)
                if (strcmp (s + i, units[u].unit) == 0 && (n << units[u].shift) <= DISK_MAX_MIB && n > 0) {
                        *mib = n << units[u].shift;
                        return 0;
                }
        return pgimg_make_error (err, EINVAL,
                                 "disk size `%.40s` is not a size; write a whole number of M or G (like 4G or 6144M), at most 64T",
                                 s);
}

int
disk_guid (const char *seed, const char *name, char out[37], pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        char hex[SHA256_HEX_LEN + 1];
        unsigned char byte[16];

        if (buf_addf (&b, "pgimg disk\n%s\n%s\n", seed, name) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "disk identifiers");
        if (sha256_buf_hex (b.data, b.len, hex, err) < 0)
                return -1;
        for (int i = 0; i < 16; i++)
                sscanf (hex + 2 * i, "%2hhx", &byte[i]);
        byte[6] = (unsigned char) ((byte[6] & 0x0f) | 0x40);       /* version 4 */
        byte[8] = (unsigned char) ((byte[8] & 0x3f) | 0x80);       /* RFC 4122 variant */
        snprintf (out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                  byte[0], byte[1], byte[2], byte[3], byte[4], byte[5], byte[6], byte[7], byte[8], byte[9],
                  byte[10], byte[11], byte[12], byte[13], byte[14], byte[15]);
        return 0;
}

uint64_t
disk_root_need_mib (uint64_t data_bytes, uint64_t n_inodes)
{
        /* Data rounded to blocks plus a twentieth for directories and
         * extent trees, 256-byte inodes with the default one inode per
         * 16 KiB to spare, and 64 MiB of journal and group descriptors. */
        uint64_t bytes = data_bytes + data_bytes / 20 + n_inodes * 256 * 2;

        return bytes / (1024 * 1024) + 64 + 1;
}

/* nftw has no context argument: one walk at a time. */
static __thread uint64_t walk_bytes, walk_inodes;

static int
count_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void) path, (void) type, (void) ftw;
        walk_inodes++;
        if (S_ISREG (st->st_mode) || S_ISDIR (st->st_mode) || (S_ISLNK (st->st_mode) && st->st_size >= 60))
                walk_bytes += ((uint64_t) st->st_size + 4095) / 4096 * 4096;
        return 0;
}

static int
check_size (const struct disk_opts *o, uint64_t *root_mib, pgimg_error_t *err)
{
        uint64_t need, overhead = DISK_ESP_MIB + 2;

        walk_bytes = walk_inodes = 0;
        if (nftw (o->tree, count_entry, 32, FTW_PHYS) != 0)
                return pgimg_make_error_errno (err, errno, "measure `%s`", o->tree);
        need = disk_root_need_mib (walk_bytes, walk_inodes);
        if (o->size_mib < need + overhead) {
                uint64_t want_gib = (need + overhead + 1023) / 1024;
                return pgimg_make_error (err, ENOSPC,
                                         "disk size %lluM is too small: the image's root filesystem needs about %lluM; give --disk-size %lluG or more",
                                         (unsigned long long) o->size_mib, (unsigned long long) (need + overhead),
                                         (unsigned long long) want_gib);
        }
        *root_mib = o->size_mib - overhead;
        return 0;
}

/* debugfs commands that give each path of the owner map its owner and
 * mode in the ext4 image (the tree on disk belongs to the builder). */
static int
owner_commands (const struct disk_opts *o, struct buf *cmds, pgimg_error_t *err)
{
        cleanup_fd int root_fd = open (o->tree, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (root_fd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", o->tree);
        for (size_t i = 0; o->owners && i < o->owners->n; i++) {
                const struct owner_entry *e = &o->owners->v[i];
                struct stat st;
                if (fstatat (root_fd, e->path, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;       /* replaced by a layer above */
                if (strpbrk (e->path, "\"\n\\") != NULL)
                        return pgimg_make_error (err, EINVAL, "`%s`: a path with a quote, backslash or newline cannot be given an owner in the disk image",
                                                 e->path);
                if (buf_addf (cmds, "sif \"/%s\" uid %u\nsif \"/%s\" gid %u\nsif \"/%s\" mode 0%o\n", e->path,
                              (unsigned) e->uid, e->path, (unsigned) e->gid, e->path,
                              (unsigned) ((st.st_mode & S_IFMT) | (e->mode & 07777))) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "disk owners");
        }
        return buf_addf (cmds, "quit\n") < 0 ? pgimg_make_error_errno (err, ENOMEM, "disk owners") : 0;
}

/* The whole disk, in /out of the sandbox; the tree is /tree. */
static const char disk_script[] =
        "cd /out\n"
        "kernel=$(ls /tree/boot/vmlinuz-* | sort | tail -n 1)\n"
        "kver=${kernel#/tree/boot/vmlinuz-}\n"
        "osrel=; [ -f /tree/usr/lib/os-release ] && osrel=--os-release=@/tree/usr/lib/os-release\n"
        "ukify build --linux=\"$kernel\" --uname=\"$kver\" $osrel \\\n"
        "  --cmdline=\"root=PARTUUID=$ROOT_GUID rw rootwait console=tty0 console=ttyS0,115200\" \\\n"
        "  --output=uki.efi >/dev/null\n"
        "touch -d \"@$SOURCE_DATE_EPOCH\" uki.efi\n"
        "mkfs.fat --invariant -F 32 -i \"$ESP_SERIAL\" -n ESP -C esp.img $((ESP_MIB * 1024)) >/dev/null\n"
        "mmd -i esp.img ::/EFI ::/EFI/BOOT\n"
        "mcopy -m -i esp.img uki.efi ::/EFI/BOOT/BOOTX64.EFI\n"
        "mkfs.ext4 -q -F -L pgimg-root -U \"$FS_UUID\" -E \"hash_seed=$FS_UUID,root_owner=0:0\" \\\n"
        "  -I 256 -b 4096 -d /tree root.img \"${ROOT_MIB}M\"\n"
        "debugfs -w -f owners.debugfs root.img >/dev/null\n"
        "e2fsck -fn root.img >/dev/null\n"
        "truncate -s \"${DISK_MIB}M\" disk.raw\n"
        "sfdisk -q --no-reread --no-tell-kernel disk.raw <<EOF\n"
        "label: gpt\n"
        "label-id: $DISK_GUID\n"
        "unit: sectors\n"
        "first-lba: 2048\n"
        "start=2048, size=$((ESP_MIB * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_GUID, name=\"EFI system\"\n"
        "start=$(((ESP_MIB + 1) * 2048)), size=$((ROOT_MIB * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$ROOT_GUID, name=\"pgimg root\"\n"
        "EOF\n"
        "dd if=esp.img of=disk.raw bs=1M seek=1 conv=notrunc,sparse status=none\n"
        "dd if=root.img of=disk.raw bs=1M seek=$((ESP_MIB + 1)) conv=notrunc,sparse status=none\n"
        "rm -f esp.img root.img uki.efi\n"
        "case $FORMAT in\n"
        "raw) mv disk.raw disk.out ;;\n"
        "qcow2) qemu-img convert -f raw -O qcow2 disk.raw disk.out ;;\n"
        "vmdk) qemu-img convert -f raw -O vmdk -o subformat=streamOptimized disk.raw disk.out\n"
        "  python3 -c \"$STAMP\" vmdk disk.out \"$DISK_GUID\" ;;\n"
        "vhd) qemu-img convert -f raw -O vpc -o subformat=fixed,force_size=on disk.raw disk.out\n"
        "  python3 -c \"$STAMP\" vhd disk.out \"$DISK_GUID\" ;;\n"
        "esac\n"
        "rm -f disk.raw\n";

/* qemu-img writes a random content id (CID) into a vmdk's descriptor,
 * and the time and a random UUID into a vhd's footer: both become the
 * disk's GUID (and the vhd's time SOURCE_DATE_EPOCH), so that the same
 * layers give the same bytes in every format.  The file is the one
 * qemu-img has just written in the sandbox; anything unexpected in it
 * fails the build.  Run as `python3 -c STAMP FORMAT FILE GUID`. */
static const char stamp_script[] =
        "import os, re, struct, sys\n"
        "fmt, path, guid = sys.argv[1:4]\n"
        "with open(path, 'r+b') as f:\n"
        "    if fmt == 'vmdk':\n"
        "        head = f.read(512)\n"
        "        if head[:4] != b'KDMV': sys.exit('vmdk: no sparse extent header')\n"
        "        offset, size = struct.unpack_from('<QQ', head, 28)\n"
        "        f.seek(offset * 512); desc = f.read(size * 512)\n"
        "        text, n = re.subn(rb'(?m)^CID=[0-9a-f]+$', b'CID=' + guid[:8].encode(), desc.rstrip(b'\\0'))\n"
        "        if n != 1 or len(text) > len(desc): sys.exit('vmdk: no single CID in the descriptor')\n"
        "        f.seek(offset * 512); f.write(text.ljust(len(desc), b'\\0'))\n"
        "    else:\n"
        "        f.seek(-512, os.SEEK_END); foot = bytearray(f.read(512))\n"
        "        if foot[:8] != b'conectix': sys.exit('vhd: no footer')\n"
        "        seconds = max(0, int(os.environ['SOURCE_DATE_EPOCH']) - 946684800)\n"
        "        struct.pack_into('>I', foot, 24, seconds)\n"
        "        foot[68:84] = bytes.fromhex(guid.replace('-', ''))\n"
        "        struct.pack_into('>I', foot, 64, 0)\n"
        "        struct.pack_into('>I', foot, 64, ~sum(foot) & 0xffffffff)\n"
        "        f.seek(-512, os.SEEK_END); f.write(foot)\n";

/* The script's environment: identifiers and sizes; env[] points into vars. */
static int
script_env (const struct disk_opts *o, uint64_t root_mib, char vars[8][96], const char *env[9],
            pgimg_error_t *err)
{
        static const char *const names[] = { "DISK_GUID", "ESP_GUID", "ROOT_GUID", "FS_UUID" };
        char guid[37];

        for (size_t i = 0; i < 4; i++) {
                if (disk_guid (o->seed, names[i], guid, err) < 0)
                        return -1;
                snprintf (vars[i], sizeof (vars[i]), "%s=%s", names[i], guid);
        }
        if (disk_guid (o->seed, "ESP_SERIAL", guid, err) < 0)
                return -1;
        snprintf (vars[4], sizeof (vars[4]), "ESP_SERIAL=%.8s", guid);
        snprintf (vars[5], sizeof (vars[5]), "ESP_MIB=%llu", DISK_ESP_MIB);
        snprintf (vars[6], sizeof (vars[6]), "ROOT_MIB=%llu", (unsigned long long) root_mib);
        snprintf (vars[7], sizeof (vars[7]), "DISK_MIB=%llu", (unsigned long long) o->size_mib);
        for (size_t i = 0; i < 8; i++)
                env[i] = vars[i];
        env[8] = NULL;
        return 0;
}

static int
run_script (const struct disk_opts *o, const char *work, uint64_t root_mib, pgimg_error_t *err)
{
        cleanup_free char *root = NULL;
        cleanup_free char *logs = NULL;
        cleanup_free char *log = NULL;
        cleanup_free char *format = NULL;
        cleanup_free char *stamp = NULL;
        char vars[8][96];
        const char *env[11];

        if (rootfs_build_root (o->cache_dir, o->lock, DISK_TOOLS_SET, &root, err) < 0)
                return -1;
        if (script_env (o, root_mib, vars, env, err) < 0)
                return -1;
        if (asprintf (&format, "FORMAT=%s", disk_format_name (o->format)) < 0
            || asprintf (&stamp, "STAMP=%s", stamp_script) < 0
            || asprintf (&logs, "%s/logs", o->cache_dir) < 0 || asprintf (&log, "%s/disk.log", logs) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "disk");
        env[8] = format;
        env[9] = stamp;
        env[10] = NULL;
        if (fs_mkdir_p (logs, 0755, err) < 0)
                return -1;
        const struct sandbox_bind binds[] = { { o->tree, "/tree", 0 }, { work, "/out", 1 } };
        struct build_step step = {
                .name = "disk image", .root_dir = root, .binds = binds, .n_binds = 2, .env = env,
                .cwd = "/out", .log_path = log, .source_date_epoch = (time_t) o->source_date_epoch,
                .jobs = 1, .script = disk_script,
        };
        if (build_run (&step, err) < 0) {
                if (o->failed_log)
                        *o->failed_log = strdup (log);
                return -1;
        }
        return 0;
}

int
disk_write (const struct disk_opts *o, pgimg_error_t *err)
{
        cleanup_buf struct buf cmds = BUF_INIT;
        cleanup_free char *dir = fs_dir_of (o->output);
        cleanup_free char *work = NULL;
        cleanup_free char *owners_path = NULL;
        cleanup_free char *result = NULL;
        uint64_t root_mib = 0;
        int r;

        if (dir == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "disk");
        if (lock_find_set (o->lock, DISK_TOOLS_SET) == NULL)
                return pgimg_make_error (err, ENOENT, "the lock `%s` has no set `" DISK_TOOLS_SET "`; run `pgimg lock`",
                                         o->lock->path);
        if (check_size (o, &root_mib, err) < 0 || owner_commands (o, &cmds, err) < 0)
                return -1;
        /* Beside the output, so that the finished disk is renamed, not copied. */
        if (fs_mkdtemp (dir, "disk", &work, err) < 0)
                return -1;
        if (asprintf (&owners_path, "%s/owners.debugfs", work) < 0 || asprintf (&result, "%s/disk.out", work) < 0) {
                fs_drop_temp_dir (work);
                return pgimg_make_error_errno (err, ENOMEM, "disk");
        }
        progress_note ("writing the %s disk (%lluM) to %s", disk_format_name (o->format),
                       (unsigned long long) o->size_mib, o->output);
        r = fs_write_file_atomic (owners_path, cmds.data, cmds.len, 0644, err);
        if (r == 0)
                r = run_script (o, work, root_mib, err);
        if (r == 0) {
                int fd = open (result, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || fsync (fd) < 0 || rename (result, o->output) < 0)
                        r = pgimg_make_error_errno (err, errno, "write `%s`", o->output);
                if (fd >= 0)
                        close (fd);
        }
        fs_drop_temp_dir (work);
        return r;
}
