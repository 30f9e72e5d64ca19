/* internal.h - what the files of registry/ share with each other.
 * Nothing outside registry/ includes this header: jansson stays inside
 * (and libcurl in common/http).
 *
 *   auth.c      credentials (environment, ~/.docker/config.json,
 *               ~/.aws/credentials) and WWW-Authenticate challenges
 *   http.c      one request with auth, over common/http
 *   manifest.c  manifests and indexes: the descriptors they hold
 *   source.c    the blobs of an image tarball or layout directory
 *   push.c      registry_push against a registry
 *   pull.c      registry_pull from a registry
 *   s3.c        both against S3 (SigV4)
 *   s3ref.c     S3 locations: "s3://bucket/prefix:tag", checked
 *   sign.c      ECDSA P-256 keys and signatures
 *   cosign.c    signatures and attestations in cosign's format
 *   cache.c     the layer cache as one image: the remote build cache
 *   lease.c     leases on layer keys beside a remote build cache
 */
#ifndef PGIMG_REGISTRY_INTERNAL_H
#define PGIMG_REGISTRY_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/http.h"
#include "common/libjson.h"
#include "common/sha256.h"
#include "layers/store.h"
#include "oci/reference.h"
#include "registry/registry.h"

#define REG_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define REG_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define REG_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define REG_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define REG_MEDIA_SIMPLESIGNING "application/vnd.dev.cosign.simplesigning.v1+json"
#define REG_MEDIA_DSSE "application/vnd.dsse.envelope.v1+json"
#define REG_COSIGN_SIG_ANNOTATION "dev.cosignproject.cosign/signature"

/* Limits on what is read from the network or a file. */
#define REG_MAX_MANIFEST_BYTES (4u << 20)
#define REG_MAX_REPLY_BYTES (1u << 20)
#define REG_MAX_HEADER_BYTES 8192

/* ---- auth.c ---- */

struct reg_creds {
        char *user;
        char *password;
        const char *source;     /* where they came from, for messages; static */
};
/* Credentials for domain: $PGIMG_REGISTRY_USER and $PGIMG_REGISTRY_PASSWORD,
 * else auths.<domain>.auth of $DOCKER_CONFIG/config.json or
 * ~/.docker/config.json.  None found is not an error (c stays empty). */
int reg_creds_lookup (const char *domain, struct reg_creds *c, pgimg_error_t *err);
void reg_creds_free (struct reg_creds *c);

struct reg_challenge {
        int bearer;             /* 0: Basic */
        char *realm;
        char *service;
        char *scope;
};
/* Parse a WWW-Authenticate header value (Basic or Bearer with quoted
 * parameters).  The message never quotes the header. */
int reg_challenge_parse (const char *header, struct reg_challenge *c, pgimg_error_t *err);
void reg_challenge_free (struct reg_challenge *c);

/* The bearer token of a token server's JSON reply ("token", else
 * "access_token") into *token (malloc'ed) and its lifetime into
 * *expires_s (60 when absent, clamped to 0..86400).  A token that cannot
 * go into a header (empty, CR, LF, NUL, over REG_MAX_HEADER_BYTES) is an
 * error; the message never quotes the reply. */
int reg_token_parse (const char *data, size_t len, char **token, long *expires_s, pgimg_error_t *err);
/* 1 when authority ("host[:port]") is in $PGIMG_INSECURE_REGISTRIES
 * (comma-separated): the user named it insecure. */
int reg_named_insecure (const char *authority);
/* 1 when url has the scheme, host and port of base ("https://host:port";
 * a port left out is the scheme's); never for a URL with a user name. */
int reg_same_origin (const char *base, const char *url);
/* 0 when the credentials for a token may be sent to realm: https, or
 * plain http to a host the user named insecure (opts->insecure or
 * $PGIMG_INSECURE_REGISTRIES).  Otherwise one line naming who sent
 * pgimg there, the realm (without its query) and what to do. */
int reg_realm_check (const struct registry_opts *opts, const char *who, const char *realm,
                     pgimg_error_t *err);

/* S3 credentials: $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY and
 * $AWS_SESSION_TOKEN, else the [$AWS_PROFILE] (default) section of
 * $AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials; the region from
 * $AWS_REGION or $AWS_DEFAULT_REGION, else us-east-1.  Slots already
 * set are kept; all malloc'ed.  No key is an error naming bucket. */
int reg_s3_creds_lookup (const char *bucket, char **access_key, char **secret_key, char **session_token,
                         char **region, pgimg_error_t *err);

/* "user:password" in base64, malloc'ed; NULL on ENOMEM. */
char *reg_base64 (const char *data, size_t len);
/* Decode base64 into a malloc'ed NUL-terminated string; -1 when invalid. */
int reg_unbase64 (const char *s, char **out, size_t *out_len);

/* ---- http.c ---- */

struct reg_conn;
struct reg_req;

/* What every connection of one push or pull shares. */
struct reg_client {
        const struct registry_opts *opts;
        char *base;                     /* "https://host:port" */
        const char *what;               /* "registry localhost:5000", "bucket b" */
        const char *host;               /* for messages */
        struct reg_creds creds;
        char *scope;                    /* "repository:p:pull,push" */
        int retries;
        /* S3 signs each request itself instead of the challenge dance. */
        int (*sign) (struct reg_client *c, struct reg_req *q, struct http_headers *headers,
                     pgimg_error_t *err);
        void *sign_ctx;
        pthread_mutex_t lock;           /* guards what follows */
        char *auth_header;              /* "Authorization: ..." or NULL */
        unsigned auth_generation;       /* bumped at each new auth_header */
        time_t auth_expires;            /* 0: never */
        uint64_t bytes_sent;            /* request bodies */
        uint64_t bytes_received;        /* response bodies to files */
};

/* Set up c for the registry of domain; opts is borrowed. */
int reg_client_init (struct reg_client *c, const char *domain, const char *what,
                     const struct registry_opts *opts, pgimg_error_t *err);
void reg_client_free (struct reg_client *c);

/* One per thread: its connection is kept alive between requests. */
int reg_conn_new (struct reg_client *c, struct reg_conn **out, pgimg_error_t *err);
void reg_conn_free (struct reg_conn *k);
static inline void
cleanup_connp (struct reg_conn **k)
{
        if (*k != NULL)
                reg_conn_free (*k);
}
#define cleanup_conn __attribute__ ((cleanup (cleanup_connp)))

struct reg_req {
        const char *method;             /* "GET", "HEAD", "PUT", "POST", "PATCH" */
        const char *url;                /* absolute, or a path below c->base */
        const char *const *headers;     /* extra "Name: value", NULL-terminated */
        /* The body: bytes in memory, or a range of a file. */
        const void *body;
        uint64_t body_len;
        int body_fd;                    /* -1: none */
        uint64_t body_off;
        int has_body;
        /* The response body: into out (at most out->max), or appended to
         * out_fd with out_hash updated; or dropped. */
        struct buf *out;
        int out_fd;                     /* -1: none */
        struct sha256 *out_hash;
        uint64_t out_written;           /* bytes appended to out_fd */
        int no_retry;                   /* the caller resumes (chunked uploads) */
        const char *what;               /* "blob sha256:…", for messages */
};
#define REG_REQ_INIT { .body_fd = -1, .out_fd = -1 }

struct reg_resp {
        long status;
        char *location;                 /* absolute */
        char *digest;                   /* Docker-Content-Digest */
        char *range;                    /* Range */
        char *content_type;
        char *etag;
        char *www_authenticate;
        char *s3_error;                 /* <Code> of an S3 error reply */
};
void reg_resp_free (struct reg_resp *r);

/* Send q, authenticating as the registry asks and retrying 5xx, 429
 * and dropped connections with backoff (not when q->no_retry).  Returns
 * 0 with r->status set for any HTTP answer but 401, which becomes a
 * login error naming the registry; <0 when no answer came. */
int reg_request (struct reg_conn *k, struct reg_req *q, struct reg_resp *r, pgimg_error_t *err);

/* An error for an HTTP status the caller did not expect, naming the
 * registry, what was asked and what to do. */
int reg_status_error (struct reg_client *c, const struct reg_resp *r, const char *doing,
                      pgimg_error_t *err);

/* The sleep before retry number `retry` (0-based): http_backoff. */
void reg_backoff (int retry, long retry_after_s);

/* ---- manifest.c ---- */

struct reg_desc {
        char *media_type;
        char digest[72];
        uint64_t size;
};

struct reg_manifest {
        char *media_type;
        struct reg_desc config;
        struct reg_desc *layers;
        size_t n_layers;
};

/* 1 when media_type names an index or a manifest list. */
int reg_media_is_index (const char *media_type);
/* Parse an image manifest (OCI or Docker v2); *m is filled. */
int reg_manifest_parse (const char *data, size_t len, struct reg_manifest *m, pgimg_error_t *err);
void reg_manifest_free (struct reg_manifest *m);
/* The descriptor of the linux/amd64 manifest of an index (or its only
 * or first manifest when none says a platform). */
int reg_index_pick (const char *data, size_t len, struct reg_desc *out, pgimg_error_t *err);
/* The "mediaType" field of a JSON document, malloc'ed, or NULL. */
char *reg_json_media_type (const char *data, size_t len);
void reg_desc_free (struct reg_desc *d);

/* ---- source.c ---- */

struct reg_blob {
        char digest[72];
        uint64_t size;
        const char *data;               /* in memory, or NULL: read fd */
        int fd;                         /* borrowed from the image, or owned */
        int owns_fd;
        uint64_t offset;
};

struct reg_image {
        char *manifest;
        size_t manifest_len;
        char *manifest_media_type;
        char manifest_digest[72];
        struct reg_blob *blobs;         /* config first, then the layers */
        size_t n_blobs;
        char *sbom_path;                /* <tarball>.spdx.json beside it, or NULL */
        /* An image index: manifest* above are the index's, blobs those of
         * every platform once (borrowed from platforms[i]), and each
         * platform's manifest goes up before the index. */
        struct reg_image *platforms;
        size_t n_platforms;
};
#define REG_IMAGE_INIT { 0 }

/* Open an image tarball (an OCI layout inside a tar, as `pgimg build`
 * and `docker save` write) or an OCI layout directory, through
 * oci_read_index: every blob is put into the store blob_dir, checked,
 * and opened from there.  An image index of several platforms whose
 * manifests the image holds opens as one image per platform under the
 * index (img->platforms). */
int reg_image_open (const char *path, const char *blob_dir, struct reg_image *img, pgimg_error_t *err);
/* The image whose manifest is manifest_digest in the store blob_dir:
 * the manifest read and every blob opened through the store (checked). */
int reg_image_from_store (const char *blob_dir, const char *manifest_digest, struct reg_image *img,
                          pgimg_error_t *err);
void reg_image_close (struct reg_image *img);

/* ---- push.c ---- */

/* Push an image already opened (or made in memory) to dest. */
int reg_push_image (const struct reg_image *img, const char *dest, const struct registry_opts *opts,
                    struct registry_stats *stats, pgimg_error_t *err);

/* ---- cache.c ---- */
/* Pull src into cache_dir's store (as opts says: all of it, or its
 * manifest and config only) and read its config into *config when the
 * manifest says its config is of media_type: 1; 0 when it says another
 * (config untouched); <0 when the pull or a read failed. */
int reg_pull_config (const char *cache_dir, const char *src, const char *media_type, const struct registry_opts *opts,
                     struct registry_stats *stats, struct buf *config, pgimg_error_t *err);
/* The same for src's manifest and config only, through a scratch store
 * below work_dir, removed after. */
int reg_peek_config (const char *src, const char *work_dir, const char *media_type, const struct registry_opts *opts,
                     struct buf *config, pgimg_error_t *err);

/* ---- sign.c ---- */

/* 0 when the file at key_path is a P-256 key pgimg can use (the private
 * half when private_part), else one line naming it and what to do. */
int reg_key_check (const char *key_path, int private_part, pgimg_error_t *err);
/* reg_key_check of every public key of a NULL-terminated list; their
 * number into *n. */
int reg_keys_check (const char *const *pub_paths, int *n, pgimg_error_t *err);
/* The ECDSA-SHA256 signature of data with the PEM private key at
 * key_path, DER in base64 into *sig_b64 (malloc'ed). */
int reg_sign (const char *key_path, const void *data, size_t len, char **sig_b64, pgimg_error_t *err);
/* 1 when sig_b64 is a signature of data by one of the PEM public keys,
 * 0 when by none (a garbled signature included); -1 when a key file
 * cannot be read. */
int reg_verify (const char *const *pub_paths, const void *data, size_t len, const char *sig_b64,
                pgimg_error_t *err);

/* ---- cosign.c ---- */

/* The tags that hold the signatures (.sig) and the attestations (.att)
 * of a manifest in a registry, as cosign names them. */
#define REG_SIGNATURE_TAG_FMT "sha256-%s.sig"
/* A signature payload is a few hundred bytes; more is not read. */
#define REG_MAX_SIG_LAYER_BYTES (64u << 10)

/* The simple-signing payload saying identity ("host/repo") has the
 * manifest digest, malloc'ed; NULL on ENOMEM. */
char *reg_cosign_payload (const char *identity, const char *digest);
/* The manifest digest a simple-signing payload names. */
int reg_cosign_payload_digest (const char *data, size_t len, char digest[72], pgimg_error_t *err);

/* The signatures a .sig manifest carries: its simple-signing layers
 * (at most 64, each at most REG_MAX_SIG_LAYER_BYTES) with their
 * signature annotations; other layers are skipped. */
struct reg_sig_layer {
        struct reg_desc desc;
        char *signature;                /* base64 */
};
struct reg_sig_layers {
        struct reg_sig_layer *v;
        size_t n;
        int old_pgimg;                  /* holds a signature of pgimg before cosign's format */
};
int reg_sig_layers_parse (const char *data, size_t len, struct reg_sig_layers *out, pgimg_error_t *err);
void reg_sig_layers_free (struct reg_sig_layers *s);

/* reg_cosign_check: whether payload with sig_b64 vouches for digest. */
#define REG_SIG_OK 1
#define REG_SIG_OTHER_IMAGE 2   /* a trusted key's, for signed_digest */
/* REG_SIG_OK, REG_SIG_OTHER_IMAGE, 0 when no trusted key made it (or
 * the payload is not cosign's), -1 when a key cannot be read. */
int reg_cosign_check (const char *const *keys, const char *payload, size_t len, const char *sig_b64,
                      const char *digest, char signed_digest[72], pgimg_error_t *err);
/* The error for a reg_cosign_check result r that is not REG_SIG_OK (a
 * negative r is returned as is): where names the signature, for
 * messages; n_keys is how many keys were trusted. */
int reg_cosign_refusal (int r, const char *where, const char *digest, const char *signed_digest, int n_keys,
                        pgimg_error_t *err);
/* The payload for digest and its signature with key_path (base64), as
 * `cosign sign-blob` writes them; both malloc'ed. */
int reg_cosign_sign_blob (const char *identity, const char *digest, const char *key_path, char **payload,
                          char **sig_b64, pgimg_error_t *err);

/* A small image of one layer, in memory: a signature or an attestation. */
struct reg_artifact {
        char *layer, *config, *manifest;
        size_t layer_len, config_len, manifest_len;
        char layer_digest[72], config_digest[72], manifest_digest[72];
        char *signature;                /* base64, of a signature */
};
void reg_artifact_free (struct reg_artifact *a);
/* The .sig image of digest signed with the private key at key_path. */
int reg_cosign_signature (const char *identity, const char *digest, const char *key_path, struct reg_artifact *a,
                          pgimg_error_t *err);
/* The .att image: the SPDX JSON document at sbom_path as an in-toto
 * statement about digest, in a DSSE envelope signed with key_path. */
int reg_cosign_attestation (const char *identity, const char *digest, const char *sbom_path, const char *key_path,
                            struct reg_artifact *a, pgimg_error_t *err);

/* ---- s3ref.c ---- */

/* "s3://bucket[/prefix][:tag]" -> bucket, "" or "a/b/", tag ("latest"
 * when none), all malloc'ed.  The bucket follows S3's naming rules; the
 * prefix is names of [A-Za-z0-9._-] but "." and "..", with no empty or
 * leading component; the tag is an OCI tag.  They become keys in URLs
 * and directories under the cache, so anything else is refused here,
 * before any request, in one line that quotes url. */
int reg_s3_location_parse (const char *url, char **bucket, char **prefix, char **tag,
                           pgimg_error_t *err);

/* ---- s3.c ---- */

int reg_s3_push (const struct reg_image *img, const char *dest, const struct registry_opts *opts,
                 struct registry_stats *stats, pgimg_error_t *err);
int reg_s3_pull (const char *src, const char *cache_dir, const char *out_path,
                 const struct registry_opts *opts, struct registry_stats *stats,
                 pgimg_error_t *err);

/* ---- pull.c, shared with s3.c ---- */

/* Where a pulled blob lands: fetch_fn downloads it into fd (appending
 * from *written), updating h; the blob is renamed into blob_dir only
 * once size and digest check out.  A blob already there and intact is
 * not fetched. */
typedef int (*reg_fetch_fn) (void *ctx, const struct reg_desc *d, int fd, struct sha256 *h,
                             uint64_t *written, pgimg_error_t *err);
int reg_store_blob (const char *blob_dir, const struct reg_desc *d, reg_fetch_fn fetch_fn,
                    void *ctx, pgimg_error_t *err);
/* Store the bytes of a manifest or index into blob_dir under digest. */
int reg_store_bytes (const char *blob_dir, const char *digest, const char *data, size_t len,
                     pgimg_error_t *err);
/* Record ref -> digest in <cache_dir>/refs/<name> (atomic). */
int reg_record_ref (const char *cache_dir, const char *name, const char *digest,
                    pgimg_error_t *err);

/* Run fn (i, ctx) for i in [0, n) on up to jobs threads; the first
 * failure stops the rest from starting and is returned. */
typedef int (*reg_job_fn) (void *ctx, size_t i, pgimg_error_t *err);
int reg_parallel (size_t n, int jobs, reg_job_fn fn, void *ctx, pgimg_error_t *err);

#endif
