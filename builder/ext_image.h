/* ext_image.h - a standalone extension image: one extension version of
 * one major, FROM scratch, laid out as CloudNativePG's image volumes
 * expect (/lib, /share/extension, /system, /licenses) and run as user
 * 65532.  Its one layer is made from the extension's cached layer, so
 * it costs nothing when that is cached; the same inputs give the same
 * digest.  Only for PostgreSQL 18 and later, which have
 * extension_control_path.  Writing the image is oci/'s job.
 */
#ifndef PGIMG_EXT_IMAGE_H
#define PGIMG_EXT_IMAGE_H

#include <stddef.h>

#include "builder/pipeline.h"
#include "common/buf.h"
#include "common/error.h"

/* Bumped whenever the layout of the image's layer changes. */
#define EXT_IMAGE_LOGIC_VERSION "4"

#define EXT_IMAGE_N_LABELS 15

struct ext_image {
        struct pipeline_result res;     /* the build it comes from */
        const struct extension_pick *pick;      /* points into res */
        struct layer_desc layer;
        int built;                      /* 0: taken from the cache */
        char key[SHA256_HEX_LEN + 1];
        char *sql_version;              /* the control file's default_version */
        char **rewritten;               /* files whose `$libdir/` was taken out */
        char *strings[8];               /* what the labels point to */
        char created[32];
        struct oci_kv labels[EXT_IMAGE_N_LABELS];
        char *comment;
        char *tags[3];
        struct oci_image oci;           /* points into this struct: do not copy it */
        struct pipeline_step step;      /* o->plan: what the plan says of the image's layer */
};

/* The image of item ("pgvector" or "pgvector@0.8.7") for o->spec
 * ("postgres-18"): the pipeline builds (or takes from the cache) that
 * extension's layer, then its layer is laid out, or taken from the
 * cache too.  With o->plan nothing is built or written: img->res.plan
 * lists the steps below and img->step the image's own layer (its key
 * is made from the extension layer's diff_id: unknown when that layer
 * would be built), and img has no image.  A major before 18 fails before anything is built.  img
 * is filled even on failure: free it with ext_image_free either way. */
int ext_image_build (const struct pipeline_opts *o, const char *item, struct ext_image *img,
                     pgimg_error_t *err);
void ext_image_free (struct ext_image *img);

/* 0 when major has extension_control_path (18 and later), else an
 * error saying why there is no extension image for it. */
int ext_image_check_major (const char *major, pgimg_error_t *err);

/* data (a control or SQL file) with every `$libdir/` taken out into
 * out, so that '$libdir/vector' becomes 'vector', found through
 * dynamic_library_path.  Returns how many were taken out, <0 on ENOMEM. */
int ext_image_strip_libdir (const char *data, size_t len, struct buf *out);

/* The default_version of a control file ("default_version = '0.8.7'"),
 * malloc'ed into *out; *out NULL when it has none.  <0 only on ENOMEM. */
int ext_image_control_version (const char *data, size_t len, char **out);

/* The tree of an extension layer unpacked at src, for major, laid out
 * into dst (which must not exist) as the image holds it; the entries
 * of licenses (a directory, may be NULL or missing) go to licenses/.  Names of the
 * files whose `$libdir/` was taken out are appended to *rewritten
 * (NULL-terminated, relative to dst); the default_version of the
 * control file of control_name into *sql_version (may stay NULL). */
int ext_image_tree (const char *src, const char *major, const char *control_name, const char *licenses,
                    const char *dst, char ***rewritten, char **sql_version, pgimg_error_t *err);

#endif
