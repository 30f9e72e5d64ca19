/* cosign.c - signatures and attestations in cosign's format.
 *
 * A signature is the "simple signing" payload naming the manifest
 * digest, signed with ECDSA P-256 (sign.c), as one layer of a small OCI
 * image tagged sha256-<hex>.sig whose annotation
 * dev.cosignproject.cosign/signature holds the signature in base64.  An
 * attestation is an in-toto statement about the image (here its SPDX
 * SBOM) in a signed DSSE envelope, as one layer of an image tagged
 * sha256-<hex>.att.  Both are what `cosign sign --key` and `cosign
 * attest --key` write (cosign v2), so `cosign verify` and `cosign
 * verify-attestation` read what pgimg pushes, and pgimg reads what
 * cosign pushes.  Does no network I/O: push.c and pull.c move the bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/internal.h"

#define COSIGN_TYPE "cosign container image signature"
#define INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"
#define INTOTO_STATEMENT "https://in-toto.io/Statement/v0.1"
#define SPDX_PREDICATE "https://spdx.dev/Document"
#define OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MAX_SBOM_BYTES (64u << 20)
#define MAX_SIG_LAYERS 64
/* The layer of the ed25519 signatures pgimg wrote before cosign's format. */
#define OLD_PGIMG_SIGNATURE "application/vnd.pgimg.signature.v1.ed25519"

char *
reg_cosign_payload (const char *identity, const char *digest)
{
        cleanup_json json_t *j = json_pack ("{s:{s:{s:s},s:{s:s},s:s},s:n}", "critical", "identity",
                                            "docker-reference", identity, "image", "docker-manifest-digest", digest,
                                            "type", COSIGN_TYPE, "optional");

        /* Keys sorted and compact: the bytes cosign's Go marshalling
         * writes for the same payload. */
        return j ? json_dumps (j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
}

int
reg_cosign_payload_digest (const char *data, size_t len, char digest[72], pgimg_error_t *err)
{
        cleanup_json json_t *j = json_loadb (data, len, 0, NULL);
        json_t *critical = json_object_get (j, "critical");
        const char *type = json_string_value (json_object_get (critical, "type"));
        const char *d = json_string_value (json_object_get (json_object_get (critical, "image"), "docker-manifest-digest"));

        if (type == NULL || strcmp (type, COSIGN_TYPE) != 0 || d == NULL || store_digest_hex (d) == NULL)
                return pgimg_make_error (err, EINVAL, "not a cosign signature payload naming a sha256 manifest digest");
        snprintf (digest, 72, "%s", d);
        return 0;
}

void
reg_sig_layers_free (struct reg_sig_layers *s)
{
        for (size_t i = 0; i < s->n; i++) {
                reg_desc_free (&s->v[i].desc);
                free (s->v[i].signature);
        }
        free (s->v);
        memset (s, 0, sizeof (*s));
}

/* One layer of a signature manifest: a simple-signing payload of at
 * most REG_MAX_SIG_LAYER_BYTES with a signature annotation.  0 when it
 * is one (into *out), 1 when it is another kind of layer, to skip. */
static int
sig_layer (json_t *v, struct reg_sig_layer *out)
{
        json_t *mt = json_object_get (v, "mediaType");
        json_t *dg = json_object_get (v, "digest");
        json_t *sz = json_object_get (v, "size");
        const char *sig = json_string_value (json_object_get (json_object_get (v, "annotations"), REG_COSIGN_SIG_ANNOTATION));

        if (!json_is_string (mt) || strcmp (json_string_value (mt), REG_MEDIA_SIMPLESIGNING) != 0 || sig == NULL
            || !json_is_string (dg) || store_digest_hex (json_string_value (dg)) == NULL || !json_is_integer (sz)
            || json_integer_value (sz) < 0 || json_integer_value (sz) > (json_int_t) REG_MAX_SIG_LAYER_BYTES)
                return 1;
        memset (out, 0, sizeof (*out));
        snprintf (out->desc.digest, sizeof (out->desc.digest), "%s", json_string_value (dg));
        out->desc.size = (uint64_t) json_integer_value (sz);
        out->desc.media_type = strdup (REG_MEDIA_SIMPLESIGNING);
        out->signature = strdup (sig);
        return 0;
}

int
reg_sig_layers_parse (const char *data, size_t len, struct reg_sig_layers *out, pgimg_error_t *err)
{
        cleanup_json json_t *j = json_loadb (data, len, 0, NULL);
        json_t *layers = json_object_get (j, "layers"), *v;
        size_t i;

        memset (out, 0, sizeof (*out));
        if (!json_is_array (layers))
                return pgimg_make_error (err, EINVAL, "not an image manifest (no layers)");
        if ((out->v = calloc (MAX_SIG_LAYERS, sizeof (*out->v))) == NULL)
                return pgimg_make_error (err, ENOMEM, "signature: out of memory");
        json_array_foreach (layers, i, v) {
                struct reg_sig_layer *l = &out->v[out->n];
                if (out->n == MAX_SIG_LAYERS)
                        break;
                if (sig_layer (v, l) != 0) {
                        const char *mt = json_string_value (json_object_get (v, "mediaType"));
                        out->old_pgimg |= mt != NULL && strcmp (mt, OLD_PGIMG_SIGNATURE) == 0;
                        continue;
                }
                out->n++;
                if (l->desc.media_type == NULL || l->signature == NULL) {
                        reg_sig_layers_free (out);
                        return pgimg_make_error (err, ENOMEM, "signature: out of memory");
                }
        }
        return 0;
}

int
reg_cosign_check (const char *const *keys, const char *payload, size_t len, const char *sig_b64,
                  const char *digest, char signed_digest[72], pgimg_error_t *err)
{
        int r = reg_verify (keys, payload, len, sig_b64, err);

        if (r <= 0)
                return r;
        /* Made by a trusted key: now what it vouches for counts. */
        if (reg_cosign_payload_digest (payload, len, signed_digest, err) < 0) {
                pgimg_error_free (err);
                return 0;
        }
        return strcmp (signed_digest, digest) == 0 ? REG_SIG_OK : REG_SIG_OTHER_IMAGE;
}

int
reg_cosign_refusal (int r, const char *where, const char *digest, const char *signed_digest, int n_keys,
                    pgimg_error_t *err)
{
        if (r < 0)
                return r;
        if (r == REG_SIG_OTHER_IMAGE)
                return pgimg_make_error (err, EPERM,
                                         "the signature at %s is a trusted key's but for manifest %s, not %s "
                                         "(moved from another image); refused",
                                         where, signed_digest, digest);
        return pgimg_make_error (err, EPERM,
                                 "the signature of manifest %s is not made by any of the %d trusted keys "
                                 "(tampered, or signed by another key); refused",
                                 digest, n_keys);
}

int
reg_cosign_sign_blob (const char *identity, const char *digest, const char *key_path, char **payload, char **sig_b64,
                      pgimg_error_t *err)
{
        if ((*payload = reg_cosign_payload (identity, digest)) == NULL)
                return pgimg_make_error (err, ENOMEM, "signature: out of memory");
        return reg_sign (key_path, *payload, strlen (*payload), sig_b64, err);
}

void
reg_artifact_free (struct reg_artifact *a)
{
        free (a->layer);
        free (a->config);
        free (a->manifest);
        free (a->signature);
        memset (a, 0, sizeof (*a));
}

static int
digest_of (const char *data, size_t len, char out[72], pgimg_error_t *err)
{
        char hex[SHA256_HEX_LEN + 1];

        if (sha256_buf_hex (data, len, hex, err) < 0)
                return -1;
        snprintf (out, 72, "sha256:%s", hex);
        return 0;
}

/* Config and manifest of an image whose one layer is a->layer.  The
 * layer is no filesystem layer, so the config lists no diff ID for it:
 * go-containerregistry's validation (`crane validate`) counts diff IDs
 * of filesystem layers only, and cosign reads the layers from the
 * manifest.  annotations is taken over. */
static int
artifact_wrap (struct reg_artifact *a, const char *media_type, json_t *annotations, pgimg_error_t *err)
{
        cleanup_json json_t *config = NULL, *manifest = NULL;

        if (digest_of (a->layer, a->layer_len, a->layer_digest, err) < 0) {
                json_decref (annotations);
                return -1;
        }
        config = json_pack ("{s:s,s:s,s:s,s:{s:s,s:[]},s:{}}", "architecture", "", "created", "0001-01-01T00:00:00Z",
                            "os", "", "rootfs", "type", "layers", "diff_ids", "config");
        if (config == NULL || (a->config = json_dumps (config, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
                json_decref (annotations);
                return pgimg_make_error (err, ENOMEM, "signature: out of memory");
        }
        a->config_len = strlen (a->config);
        if (digest_of (a->config, a->config_len, a->config_digest, err) < 0) {
                json_decref (annotations);
                return -1;
        }
        manifest = json_pack ("{s:i,s:s,s:{s:s,s:I,s:s},s:[{s:s,s:I,s:s,s:o}]}", "schemaVersion", 2, "mediaType",
                              REG_MEDIA_OCI_MANIFEST, "config", "mediaType", OCI_CONFIG, "size",
                              (json_int_t) a->config_len, "digest", a->config_digest, "layers", "mediaType", media_type,
                              "size", (json_int_t) a->layer_len, "digest", a->layer_digest, "annotations", annotations);
        if (manifest == NULL || (a->manifest = json_dumps (manifest, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
                return pgimg_make_error (err, ENOMEM, "signature: out of memory");
        a->manifest_len = strlen (a->manifest);
        return digest_of (a->manifest, a->manifest_len, a->manifest_digest, err);
}

int
reg_cosign_signature (const char *identity, const char *digest, const char *key_path, struct reg_artifact *a,
                      pgimg_error_t *err)
{
        cleanup_free char *sig = NULL;
        json_t *annotations;

        memset (a, 0, sizeof (*a));
        if (reg_cosign_sign_blob (identity, digest, key_path, &a->layer, &sig, err) < 0)
                return -1;
        a->layer_len = strlen (a->layer);
        if ((a->signature = strdup (sig)) == NULL
            || (annotations = json_pack ("{s:s}", REG_COSIGN_SIG_ANNOTATION, sig)) == NULL)
                return pgimg_make_error (err, ENOMEM, "signature: out of memory");
        return artifact_wrap (a, REG_MEDIA_SIMPLESIGNING, annotations, err);
}

/* The in-toto statement that the image digest has the SBOM at
 * sbom_path as its SPDX document; malloc'ed into *out. */
static int
statement (const char *identity, const char *digest, const char *sbom_path, char **out, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_json json_t *st = NULL;
        json_error_t jerr;
        json_t *sbom;

        if (fs_read_file (sbom_path, MAX_SBOM_BYTES, &b, err) < 0)
                return -1;
        sbom = json_loadb (b.data ? b.data : "", b.len, 0, &jerr);
        if (!json_is_object (sbom) || !json_is_string (json_object_get (sbom, "spdxVersion"))) {
                char why[200];
                if (sbom == NULL)
                        snprintf (why, sizeof (why), "line %d: %s", jerr.line, jerr.text);
                else
                        snprintf (why, sizeof (why), "no spdxVersion");
                json_decref (sbom);
                return pgimg_make_error (err, EINVAL,
                                         "%s: not an SPDX JSON document (%s); rebuild the image to write it again, "
                                         "or remove it to push without an SBOM",
                                         sbom_path, why);
        }
        st = json_pack ("{s:s,s:s,s:[{s:s,s:{s:s}}],s:o}", "_type", INTOTO_STATEMENT, "predicateType", SPDX_PREDICATE,
                        "subject", "name", identity, "digest", "sha256", store_digest_hex (digest), "predicate", sbom);
        if (st == NULL || (*out = json_dumps (st, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
                return pgimg_make_error (err, ENOMEM, "attestation: out of memory");
        return 0;
}

int
reg_cosign_attestation (const char *identity, const char *digest, const char *sbom_path, const char *key_path,
                        struct reg_artifact *a, pgimg_error_t *err)
{
        cleanup_free char *body = NULL, *pae = NULL, *sig = NULL, *body_b64 = NULL;
        cleanup_json json_t *env = NULL;
        json_t *annotations;
        int pae_len;

        memset (a, 0, sizeof (*a));
        if (statement (identity, digest, sbom_path, &body, err) < 0)
                return -1;
        /* DSSE signs the pre-authentication encoding, not the body alone. */
        if ((pae_len = asprintf (&pae, "DSSEv1 %zu %s %zu %s", strlen (INTOTO_PAYLOAD_TYPE), INTOTO_PAYLOAD_TYPE,
                                 strlen (body), body))
            < 0)
                return pgimg_make_error (err, ENOMEM, "attestation: out of memory");
        if (reg_sign (key_path, pae, (size_t) pae_len, &sig, err) < 0)
                return -1;
        if ((body_b64 = reg_base64 (body, strlen (body))) == NULL
            || (env = json_pack ("{s:s,s:s,s:[{s:s,s:s}]}", "payloadType", INTOTO_PAYLOAD_TYPE, "payload", body_b64,
                                 "signatures", "keyid", "", "sig", sig))
                       == NULL
            || (a->layer = json_dumps (env, JSON_COMPACT)) == NULL
            || (annotations = json_pack ("{s:s,s:s}", REG_COSIGN_SIG_ANNOTATION, "", "predicateType", SPDX_PREDICATE))
                       == NULL)
                return pgimg_make_error (err, ENOMEM, "attestation: out of memory");
        a->layer_len = strlen (a->layer);
        return artifact_wrap (a, REG_MEDIA_DSSE, annotations, err);
}
