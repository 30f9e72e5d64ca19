/* reference.h - image references, the one grammar pgimg reads them in:
 * github.com/distribution/reference, as the Docker Engine and registries
 * do.  "pgimg/postgres:15" names docker.io/pgimg/postgres:15;
 * "localhost:5000/a/b:1" names a registry; "...@sha256:<hex>" names a
 * manifest by digest (only where an image is read, never written).
 */
#ifndef PGIMG_OCI_REFERENCE_H
#define PGIMG_OCI_REFERENCE_H

#include "common/error.h"

struct oci_ref {
        char *domain;           /* "docker.io", "localhost:5000" */
        char *path;             /* "pgimg/postgres", "library/postgres" */
        char *tag;              /* "15.18"; "latest" when neither tag nor digest
                                 * was given; NULL with a digest and no tag */
        char *digest;           /* "sha256:<hex>" or NULL */
};

/* Parse a tag to write an image under ("name:tag"); a digest is
 * refused.  On failure *r is left empty and the message quotes s. */
int oci_ref_parse (const char *s, struct oci_ref *r, pgimg_error_t *err);
/* Parse a reference to read from: HOST[:PORT]/NAME[:TAG][@sha256:HEX]. */
int oci_ref_parse_remote (const char *s, struct oci_ref *r, pgimg_error_t *err);
/* "docker.io/pgimg/postgres:15.18", as containerd names images (the tag
 * "latest" when there is none); malloc'ed. */
char *oci_ref_full (const struct oci_ref *r);
/* "pgimg/postgres" and "postgres" (for docker.io/library/postgres), as
 * `docker save` writes names in manifest.json and repositories; malloc'ed. */
char *oci_ref_familiar_name (const struct oci_ref *r);
void oci_ref_free (struct oci_ref *r);

#endif
