/* elfcheck.h - every ELF file of a layer must find its libraries in the
 * image: each DT_NEEDED name of a shared object or executable below
 * tree is looked up, as the dynamic loader would, in the standard
 * library directories and the file's RUNPATH, within tree and within
 * the given roots (the runtime base, PostgreSQL, the layers below).  A
 * missing one fails the build here instead of the server at CREATE
 * EXTENSION.  Reads ELF64 little-endian (x86-64, arm64) only.
 */
#ifndef PGIMG_ELFCHECK_H
#define PGIMG_ELFCHECK_H

#include "common/buf.h"
#include "common/error.h"

/* The DT_NEEDED names of the ELF file at path, appended to out as
 * NUL-separated strings; 0 with nothing appended when it is not ELF. */
int elfcheck_needed (const char *path, struct buf *out, pgimg_error_t *err);

/* Check every ELF file below tree; roots is NULL-terminated. */
int elfcheck_tree (const char *tree, const char *const *roots, pgimg_error_t *err);

/* The same for an image of the Debian architecture arch ("amd64",
 * "arm64"): every ELF file below tree must be of that machine (an
 * x86-64 file in an arm64 image is an error naming it), and libraries
 * are looked up in that architecture's directories only. */
int elfcheck_tree_arch (const char *tree, const char *const *roots, const char *arch, pgimg_error_t *err);

#endif
