/* platform.h - running images of another architecture: pgimg's runtime
 * and the Docker Engine run a linux/arm64 image on an amd64 machine
 * only through qemu-user, which the kernel calls for each aarch64
 * program where binfmt_misc has an entry for it (docs/platforms.md).
 */
#ifndef PGIMG_PLATFORM_H
#define PGIMG_PLATFORM_H

#include "common/error.h"

/* The directory of binfmt_misc's entries. */
#define PLATFORM_BINFMT_DIR "/proc/sys/fs/binfmt_misc"

/* Whether the text of a binfmt_misc entry (its file under
 * PLATFORM_BINFMT_DIR) says it is enabled with the F flag: the
 * interpreter opened when it was registered, so that it runs in a root
 * (an image's) that does not hold it. */
int platform_binfmt_usable (const char *entry, size_t len);

/* 0 when images of the Debian architecture arch ("amd64", "arm64") run
 * on this machine: amd64 always, arm64 when binfmt_dir (NULL:
 * PLATFORM_BINFMT_DIR) has a usable qemu-aarch64 entry; else ENOTSUP,
 * one line starting with what (an image's name, or the option) that
 * says how to register qemu. */
int platform_runnable (const char *arch, const char *what, const char *binfmt_dir, pgimg_error_t *err);

#endif
