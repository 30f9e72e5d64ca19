/* registry.h - push and pull images through OCI registries and S3.
 *
 * Speaks the OCI distribution spec over libcurl: blobs are checked with
 * HEAD and skipped when present, mounted from another repository of the
 * same registry when asked, uploaded in one PUT when small and in
 * PATCH chunks (resumed after a dropped connection) when large, several
 * at a time; then the manifest, then the tags.  A tag is written only
 * after every blob it needs is in place, so a failed push never leaves
 * a half-written tag.  S3 destinations ("s3://bucket/prefix") hold the
 * same blobs under blobs/sha256/ and one small index per tag under
 * manifests/.  With a signing key, a cosign signature (and the SBOM's
 * attestation) goes up beside the image, and a pull with trusted keys
 * checks it first.  Does not build images: cli/ hands it a written image.
 * Credentials never appear in messages.
 */
#ifndef PGIMG_REGISTRY_H
#define PGIMG_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "layers/layer.h"

struct registry_opts {
        const char *ca_file;            /* NULL: the system CAs */
        int insecure;                   /* plain HTTP to every registry */
        int jobs;                       /* blobs moved at once; 0: 4 */
        uint64_t chunk_bytes;           /* chunked upload above; 0: 16 MiB */
        int retries;                    /* per request on 5xx, 429, drops; <0: 4 */
        uint64_t rate_bytes_per_s;      /* cap on each transfer's speed; 0: none */
        const char *const *mount_from;  /* repositories to mount blobs from, NULL-terminated */
        const char *const *extra_tags;  /* tags to point at the manifest as well */
        const char *s3_endpoint;        /* "http://127.0.0.1:9000"; NULL: AWS */
        const char *sign_key;           /* PEM P-256 private key: sign as cosign does */
        const char *const *trusted_keys; /* PEM public keys: a pull must be signed by one */
        int config_only;                /* a pull takes the manifest and config, no layer */
};

struct registry_stats {
        unsigned blobs;                 /* blobs the image has */
        unsigned blobs_present;         /* already there (HEAD) */
        unsigned blobs_mounted;         /* mounted from another repository */
        unsigned blobs_uploaded;
        uint64_t bytes_uploaded;        /* body bytes sent for blobs, retries included */
        uint64_t bytes_downloaded;
        char manifest_digest[LAYER_DIGEST_LEN];
};

/* 1 when dest names an S3 location ("s3://bucket[/prefix][:tag]"). */
int registry_is_s3 (const char *dest);

/* Push the image at image_path (a tarball that is an OCI layout, as
 * `pgimg build` writes, or an OCI layout directory) to dest, a
 * reference "host[:port]/path[:tag]" or an S3 location.  The image is
 * read first into a store of its own below cache_dir/work
 * (oci_read_image: every blob checked), its blobs sent from there, and
 * that store removed.  Nothing is tagged unless every blob made it.
 * stats may be NULL. */
int registry_push (const char *image_path, const char *cache_dir, const char *dest,
                   const struct registry_opts *opts, struct registry_stats *stats, pgimg_error_t *err);

/* Push the image whose manifest (config and layers) is already in the
 * store blob_dir, as a build leaves it, to dest: nothing is read but
 * the store, and sbom_path (may be NULL), the image's SPDX document,
 * attested with opts->sign_key as a tarball's beside it would be. */
int registry_push_stored (const char *blob_dir, const char *manifest_digest, const char *sbom_path,
                          const char *dest, const struct registry_opts *opts, struct registry_stats *stats,
                          pgimg_error_t *err);

/* Pull src into cache_dir's blob store (<cache_dir>/blobs/sha256),
 * checking every digest; a blob lands only once it checks out.  The
 * reference is recorded in <cache_dir>/refs/.  When out_path is not
 * NULL the image is also written there as a tarball that is an OCI
 * layout and a docker-archive (atomically).  stats may be NULL. */
int registry_pull (const char *src, const char *cache_dir, const char *out_path,
                   const struct registry_opts *opts, struct registry_stats *stats,
                   pgimg_error_t *err);

/* The remote build cache.  Push every verified entry of cache_dir's
 * layer cache (layers/<key>.json and its blob) to dest as one cache
 * image: a config that lists key -> layer, and the layers; signed with
 * opts->sign_key.  Fails when the cache has no entry. */
int registry_cache_push (const char *cache_dir, const char *dest, const struct registry_opts *opts,
                         struct registry_stats *stats, pgimg_error_t *err);

/* Pull the cache image src into cache_dir (every digest checked, and
 * the signature against opts->trusted_keys when set), then record its
 * entries, so that a build finds those layers and builds none of them.
 * *n_entries (may be NULL) is how many were recorded. */
int registry_cache_pull (const char *cache_dir, const char *src, const struct registry_opts *opts,
                         struct registry_stats *stats, unsigned *n_entries, pgimg_error_t *err);

/* The entries a cache image src lists (*out sorted by key; free out->v),
 * read from its manifest and config only: no layer is downloaded, and
 * nothing is written but a scratch store below work_dir, removed after
 * (the signature is checked as by a pull). */
struct layer_cache_entries;
int registry_cache_entries (const char *src, const char *work_dir, const struct registry_opts *opts,
                            struct layer_cache_entries *out, pgimg_error_t *err);

/* Leases on layer keys, beside a remote build cache (docs/farm.md):
 * before building a layer no cache has, a builder publishes a lease on
 * its key as a tiny image tagged lease-<key> in the repository of its
 * --cache-to, naming itself, the cache where the layer will appear and
 * when the lease ends.  A lease never goes into an image; it only says
 * who builds.  A registry has no compare-and-swap, so a lease is taken
 * by writing it and reading it back. */
#define REGISTRY_LEASE_TAG_PREFIX "lease-"
struct registry_lease {
        char key[65];                   /* the layer key, hex */
        char holder[128];               /* "host pid" */
        char cache[512];                /* the holder's --cache-to: a tag of the lease's repository */
        long long expires;              /* Unix seconds; 0: ended (its cache was pushed) */
};

/* The lease reference for key beside the cache reference cache_ref
 * ("host/repo:tag" or "s3://bucket/prefix:tag"): its tag replaced by
 * lease-<key>, into *out (malloc'ed).  A digest reference is an error. */
int registry_lease_ref (const char *cache_ref, const char *key, char **out, pgimg_error_t *err);

/* Parse a lease document (outside input: every field checked, at most
 * 4 KiB) into *out. */
int registry_lease_parse (const char *data, size_t len, struct registry_lease *out, pgimg_error_t *err);

/* Read the lease at ref (from registry_lease_ref for key) into *out,
 * through a scratch store below work_dir, removed after: 1 when there
 * is one, 0 when there is none; <0 when it cannot be read or is
 * malformed (for another key, or naming a cache outside its
 * repository).  Unsigned: opts' keys are not used. */
int registry_lease_read (const char *ref, const char *key, const char *work_dir, const struct registry_opts *opts,
                         struct registry_lease *out, pgimg_error_t *err);

/* Write lease l at ref (replacing what is there).  Unsigned. */
int registry_lease_write (const char *ref, const struct registry_lease *l, const struct registry_opts *opts,
                          pgimg_error_t *err);

/* Write a new ECDSA P-256 key pair, the kind cosign uses: priv_path
 * (PKCS#8 PEM, mode 0600) and pub_path (PKIX PEM), each atomically. */
int registry_key_generate (const char *priv_path, const char *pub_path, pgimg_error_t *err);

#endif
