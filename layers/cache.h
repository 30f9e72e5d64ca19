/* cache.h - the layer cache: input key -> layer, content-addressed blobs.
 *
 * A key is the sha256 of every input of a layer, added as labelled
 * values (recipe, source hashes, lock digest, parent keys, the build
 * logic's version), so a build whose inputs did not change builds
 * nothing.  Layout under cache_dir:
 *     blobs/sha256/<hex>     the blobs (layers, configs, manifests)
 *     layers/<key>.json      {"digest","diffID","size","mediaType"}
 * An entry is trusted only after its blob's digest checks out.
 */
#ifndef PGIMG_CACHE_H
#define PGIMG_CACHE_H

#include "common/error.h"
#include "common/sha256.h"
#include "layers/layer.h"

struct layer_key {
        struct sha256 h;
};
#define LAYER_KEY_INIT { SHA256_INIT }

int layer_key_init (struct layer_key *k, pgimg_error_t *err);
/* Adds "name=<len>:value\n" so that no two sequences of inputs collide. */
int layer_key_add (struct layer_key *k, const char *name, const char *value, pgimg_error_t *err);
int layer_key_final (struct layer_key *k, char hex[SHA256_HEX_LEN + 1], pgimg_error_t *err);
void layer_key_free (struct layer_key *k);

/* Malloc'ed "<cache_dir>/blobs/sha256"; created when missing. */
int layer_cache_blob_dir (const char *cache_dir, char **out, pgimg_error_t *err);

/* 1 and *out filled on a verified hit, 0 on a miss (a corrupt or
 * missing blob counts as a miss and its entry is removed), <0 on error. */
int layer_cache_lookup (const char *cache_dir, const char *key, struct layer_desc *out,
                        pgimg_error_t *err);
/* The same check, but the entry is left as it is: a stale entry is a
 * miss and stays, for the build to drop (a plan writes no entry; a
 * blob whose bytes are corrupt is still dropped by the store). */
int layer_cache_peek (const char *cache_dir, const char *key, struct layer_desc *out, pgimg_error_t *err);

/* Entries of a cache held elsewhere (a remote cache's list), sorted by
 * key. */
struct layer_cache_entry {
        char key[SHA256_HEX_LEN + 1];
        struct layer_desc desc;
};
struct layer_cache_entries {
        struct layer_cache_entry *v;
        size_t n;
};
/* 1 and *out filled when es (may be NULL) has key, else 0. */
int layer_cache_entries_find (const struct layer_cache_entries *es, const char *key, struct layer_desc *out);
/* Add the entries of from (sorted) that into (sorted, or empty with v
 * NULL) lacks, keeping it sorted by key; where both have a key, into's
 * entry stays.  into->v is reallocated (the caller frees it); on ENOMEM
 * into is unchanged. */
int layer_cache_entries_merge (struct layer_cache_entries *into, const struct layer_cache_entries *from,
                               pgimg_error_t *err);

/* Record key -> desc (the blob must already be in blobs/). Atomic. */
int layer_cache_store (const char *cache_dir, const char *key, const struct layer_desc *desc,
                       pgimg_error_t *err);

/* Take the build lock of key (<cache_dir>/locks/<key>), waiting while
 * another process builds the same layer, so that two builds never make
 * one layer at once; what names it in the note printed while waiting.
 * *fd holds the lock until closed; the kernel drops it when the holder
 * dies, so a killed build leaves no stale lock.  After taking it, look
 * the key up again: the other build may have stored it. */
int layer_cache_lock (const char *cache_dir, const char *key, const char *what, int *fd,
                      pgimg_error_t *err);

#endif
