/* sbom.h - an image's SPDX 2.3 JSON document: the image, each Debian
 * package in it (with the purl syft gives it, so that scanners and pgimg
 * agree), PostgreSQL and each extension with its source and checksum;
 * DESCRIBES from the document to the image, CONTAINS from the image to
 * each package.  Deterministic: the same struct gives the same bytes.
 * What goes in is builder/pipeline_sbom.c's business.
 */
#ifndef PGIMG_SBOM_H
#define PGIMG_SBOM_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

enum sbom_kind {
        SBOM_DEB = 0,           /* a Debian package of the image */
        SBOM_SOURCE,            /* built from a source tarball (PostgreSQL, an extension) */
};

struct sbom_package {
        enum sbom_kind kind;
        const char *name;
        const char *version;
        const char *arch;               /* SBOM_DEB */
        const char *source;             /* SBOM_DEB: its source package, or NULL ... */
        const char *source_version;     /* ... and version when not the binary's, or NULL */
        const char *license;            /* an SPDX expression; NULL: NOASSERTION */
        const char *download_url;       /* NULL: NOASSERTION */
        const char *sha256;             /* of what download_url holds, or NULL */
        const char *homepage;           /* or NULL */
        const char *summary;            /* or NULL */
        const char *origin;             /* SBOM_SOURCE: how pgimg made it (sourceInfo) */
};

struct sbom {
        const char *name;               /* "pgimg/postgres:18.6" */
        const char *doc_namespace;      /* a URI unique to the image's content */
        const char *created;            /* "2025-08-09T09:12:34Z" */
        const char *creator;            /* "pgimg-0.3.0" */
        const char *image_name;         /* "pgimg/postgres" */
        const char *image_version;      /* "18.6" */
        const char *distro;             /* "debian-13" for the purls, or NULL */
        int disk;                       /* a bootable disk image, not a container image */
        const struct sbom_package *packages;
        size_t n_packages;
};

/* The document as indented JSON, appended to out. */
int sbom_format (const struct sbom *s, struct buf *out, pgimg_error_t *err);

#endif
