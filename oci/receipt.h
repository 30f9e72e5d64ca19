/* receipt.h - what an image was made of, as JSON: PostgreSQL's version
 * and source, the lock's digest, the Debian packages of the base and
 * every layer.  One copy lives inside the image (listing the layers
 * below the one that holds it), one beside the output (listing all
 * layers and the manifest digest, or for a disk image the machine layer,
 * the packages it adds, the disk's format and size).
 */
#ifndef PGIMG_RECEIPT_H
#define PGIMG_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "layers/layer.h"

struct receipt_layer {
        const char *name;
        const char *key;                /* cache key (input hash) */
        const struct layer_desc *desc;
};

struct receipt_package {
        const char *name;
        const char *version;
};

struct receipt {
        const char *pgimg_version;
        const char *image;              /* "pgimg/postgres" */
        const char *const *tags;
        const char *pg_major;
        const char *pg_version;
        const char *source_sha256;
        const char *const *source_urls;
        const char *lock_path;          /* relative to the data directory */
        const char *lock_digest;
        long long source_date_epoch;
        const struct receipt_package *packages;
        size_t n_packages;
        const struct receipt_layer *layers;
        size_t n_layers;
        const char *manifest_digest;    /* may be NULL */
        struct {                        /* a disk image's: format NULL for an OCI image */
                const char *format;     /* "raw", "qcow2", ... */
                uint64_t size_mib;
                const struct receipt_package *machine_packages;        /* those the machine layer adds */
                size_t n_machine_packages;
        } disk;
};

/* Append the receipt as JSON (sorted keys, indented, trailing newline). */
int receipt_format (const struct receipt *r, struct buf *out, pgimg_error_t *err);

#endif
