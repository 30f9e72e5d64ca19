/* disk.h - a bootable disk image from a root tree: a GPT disk with an
 * EFI system partition holding one unified kernel image (the tree's
 * kernel, its command line naming the root partition) and an ext4 root
 * made from the tree with `mkfs.ext4 -d`, owners set from an owner map.
 * No loop device, no mount, no privilege: every tool (e2fsprogs,
 * mtools, sfdisk, ukify, qemu-img) is the lock's set `disk-tools`, run
 * in the build sandbox.  Every identifier (disk and partition GUIDs,
 * the filesystem's UUID and hash seed, the FAT serial) comes from a
 * seed, every time stamp from SOURCE_DATE_EPOCH: the same tree gives
 * the same bytes.
 */
#ifndef PGIMG_DISK_H
#define PGIMG_DISK_H

#include <stdint.h>

#include "builder/lock.h"
#include "common/error.h"
#include "common/owners.h"

enum disk_format {
        DISK_RAW,
        DISK_QCOW2,
        DISK_VMDK,              /* streamOptimized, as EC2's import takes it */
        DISK_VHD,               /* fixed */
};

/* The default size of a disk, and what its layout takes besides the
 * root filesystem: 1 MiB before the ESP (the GPT), the ESP, 1 MiB at
 * the end (the backup GPT). */
#define DISK_DEFAULT_SIZE_MIB 4096ull
#define DISK_ESP_MIB 64ull

/* "raw", "qcow2", "vmdk" or "vhd"; anything else is an error listing
 * those. */
int disk_format_parse (const char *s, enum disk_format *out, pgimg_error_t *err);
const char *disk_format_name (enum disk_format f);

/* A size with a unit, "4G", "4096M", "4GiB", "512MiB" (powers of 1024),
 * into MiB; at most 64 TiB, a whole number of MiB.  An error (naming
 * the text and saying how to write it) otherwise. */
int disk_size_parse (const char *s, uint64_t *mib, pgimg_error_t *err);

/* The GUID that seed and name give ("8-4-4-4-12" hex, a version 4
 * UUID), into out[37]. */
int disk_guid (const char *seed, const char *name, char out[37], pgimg_error_t *err);

/* MiB the root filesystem needs for a tree of data_bytes in n_inodes
 * files, with room for ext4's metadata and journal. */
uint64_t disk_root_need_mib (uint64_t data_bytes, uint64_t n_inodes);

struct disk_opts {
        const char *cache_dir;          /* build roots, logs */
        const struct lock *lock;
        const char *tree;               /* the machine's /, read only */
        struct owner_map *owners;       /* owners and modes in the tree (may be NULL) */
        const char *seed;               /* identifiers derive from it */
        uint64_t size_mib;
        enum disk_format format;
        long long source_date_epoch;
        const char *output;             /* written once complete, renamed into place */
        char **failed_log;              /* the log of a failed step, malloc'ed, when not NULL */
};

/* Write the disk.  A size too small for the tree is an error saying
 * what size it needs; on any failure nothing is left at o->output. */
int disk_write (const struct disk_opts *o, pgimg_error_t *err);

#endif
