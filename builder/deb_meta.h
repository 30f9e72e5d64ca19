/* deb_meta.h - what an installed Debian package says of itself, read
 * back from an image: the fields of its status paragraph
 * (var/lib/dpkg/status.d/<name>), the licences of its copyright file
 * (/usr/share/doc/<name>/copyright, machine-readable DEP-5) and the
 * distribution of os-release.  These are texts from .debs, hence
 * outside input: every parser here is bounded and fuzzed
 * (tests/fuzz/fuzz_deb_meta.c).  Nothing is written or resolved here.
 */
#ifndef PGIMG_DEB_META_H
#define PGIMG_DEB_META_H

#include <stddef.h>

#include "common/error.h"

/* The value of field (case-insensitive, as deb822) in the first
 * paragraph of text, its continuation lines left out; malloc'ed into
 * *out, NULL when absent.  -1 (ENOMEM) only when out of memory. */
int deb_meta_field (const char *text, size_t len, const char *field, char **out, pgimg_error_t *err);

/* The SPDX licence expression of a DEP-5 copyright file: the short
 * names of its License fields, each mapped to its SPDX identifier
 * ("GPL-2+" -> "GPL-2.0-or-later", "Expat" -> "MIT") or made a
 * "LicenseRef-<name>", "or" within a field kept, distinct fields joined
 * by AND in sorted order.  *out malloc'ed; NULL when the file has no
 * License field (not machine-readable): the caller writes NOASSERTION. */
int deb_meta_license (const char *text, size_t len, char **out, pgimg_error_t *err);

/* "debian-13.8" from os-release's ID and the point release of
 * /etc/debian_version (debian_version, may be NULL), or else
 * os-release's VERSION_ID, as syft names the distribution in purls;
 * quotes removed, only [a-z0-9._-] kept.  *out malloc'ed, NULL when
 * the ID or a version is missing. */
int deb_meta_distro (const char *text, size_t len, const char *debian_version, char **out,
                     pgimg_error_t *err);

#endif
