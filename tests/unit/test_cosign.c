/* Signatures and attestations in cosign's format (registry/cosign.c and
 * registry/sign.c): the bytes written, and every way a check refuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "registry/internal.h"
#include "registry/registry.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define OTHER "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fixture {
        char dir[64];
        char *priv, *pub, *priv2, *pub2;
};

static char *
path_in (const struct fixture *f, const char *name)
{
        char *p = NULL;
        assert_true (asprintf (&p, "%s/%s", f->dir, name) > 0);
        return p;
}

static int
setup (void **state)
{
        struct fixture *f = calloc (1, sizeof (*f));
        pgimg_error_t err = NULL;

        assert_non_null (f);
        strcpy (f->dir, "/tmp/pgimg-test-cosign-XXXXXX");
        assert_non_null (mkdtemp (f->dir));
        f->priv = path_in (f, "k.key");
        f->pub = path_in (f, "k.pub");
        f->priv2 = path_in (f, "o.key");
        f->pub2 = path_in (f, "o.pub");
        assert_int_equal (registry_key_generate (f->priv, f->pub, &err), 0);
        assert_int_equal (registry_key_generate (f->priv2, f->pub2, &err), 0);
        *state = f;
        return 0;
}

static int
teardown (void **state)
{
        struct fixture *f = *state;
        pgimg_error_t err = NULL;

        assert_int_equal (fs_rm_rf (f->dir, &err), 0);
        free (f->priv);
        free (f->pub);
        free (f->priv2);
        free (f->pub2);
        free (f);
        return 0;
}

static char *
slurp (const char *path)
{
        struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;

        assert_int_equal (fs_read_file (path, 1 << 20, &b, &err), 0);
        return buf_detach (&b, NULL);
}

static void
keys_are_pkcs8_and_pkix_pem (void **state)
{
        struct fixture *f = *state;
        cleanup_free char *priv = slurp (f->priv), *pub = slurp (f->pub);
        struct stat st;

        assert_int_equal (stat (f->priv, &st), 0);
        assert_int_equal (st.st_mode & 0777, 0600);
        assert_non_null (strstr (priv, "-----BEGIN PRIVATE KEY-----\n"));
        assert_non_null (strstr (pub, "-----BEGIN PUBLIC KEY-----\n"));
}

static void
write_text (const struct fixture *f, const char *name, const char *text, char **path)
{
        pgimg_error_t err = NULL;

        *path = path_in (f, name);
        assert_int_equal (fs_write_file_atomic (*path, text, strlen (text), 0600, &err), 0);
}

/* Keys pgimg cannot use: each named, with what to do. */
static void
unusable_keys_say_what_to_do (void **state)
{
        struct fixture *f = *state;
        cleanup_free char *ed = NULL, *enc = NULL, *sig = NULL;
        pgimg_error_t err = NULL;

        write_text (f, "ed.key",
                    "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGQ0Q4dDXGeLFQ0bmhYFKcWEJ6ZC5Q0GHjMeZN0LWUJM\n"
                    "-----END PRIVATE KEY-----\n",
                    &ed);
        assert_true (reg_sign (ed, "x", 1, &sig, &err) < 0);
        assert_non_null (strstr (err->msg, "/ed.key: an ed25519 key of an older pgimg; signatures are now cosign's "
                                           "ECDSA P-256: make a new pair with `pgimg key generate`"));
        pgimg_error_free (&err);

        write_text (f, "cosign.key",
                    "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n"
                    "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
                    &enc);
        assert_true (reg_key_check (enc, 1, &err) < 0);
        assert_non_null (strstr (err->msg, "an encrypted cosign key, which pgimg cannot read; make the key with "
                                           "`pgimg key generate` (or openssl) and give it to cosign with "
                                           "`cosign import-key-pair --key FILE`"));
        pgimg_error_free (&err);

        assert_true (reg_key_check (f->pub, 1, &err) < 0);
        assert_non_null (strstr (err->msg, "/k.pub: not an ECDSA P-256 private key in PEM (make one with "
                                           "`pgimg key generate`)"));
        pgimg_error_free (&err);
        assert_int_equal (reg_key_check (f->pub, 0, &err), 0);
}

static void
payload_is_cosigns_simple_signing (void **state)
{
        cleanup_free char *p = reg_cosign_payload ("127.0.0.1:5000/pg", DIGEST);
        char digest[72];
        pgimg_error_t err = NULL;

        (void) state;
        assert_string_equal (p, "{\"critical\":{\"identity\":{\"docker-reference\":\"127.0.0.1:5000/pg\"},"
                                "\"image\":{\"docker-manifest-digest\":\"" DIGEST "\"},"
                                "\"type\":\"cosign container image signature\"},\"optional\":null}");
        assert_int_equal (reg_cosign_payload_digest (p, strlen (p), digest, &err), 0);
        assert_string_equal (digest, DIGEST);

        static const char *const bad[] = {
                "", "null", "[]", "{\"critical\":{\"type\":\"cosign container image signature\"}}",
                "{\"critical\":{\"image\":{\"docker-manifest-digest\":\"" DIGEST "\"},\"type\":\"other\"}}",
                "{\"critical\":{\"image\":{\"docker-manifest-digest\":\"sha256:12\"},"
                "\"type\":\"cosign container image signature\"}}",
        };
        for (size_t i = 0; i < sizeof (bad) / sizeof (*bad); i++) {
                assert_true (reg_cosign_payload_digest (bad[i], strlen (bad[i]), digest, &err) < 0);
                assert_string_equal (err->msg, "not a cosign signature payload naming a sha256 manifest digest");
                pgimg_error_free (&err);
        }
}

static void
signatures_verify_and_tampering_is_refused (void **state)
{
        struct fixture *f = *state;
        const char *keys[] = { f->pub, NULL }, *wrong[] = { f->pub2, NULL }, *both[] = { f->pub2, f->pub, NULL };
        struct reg_artifact a;
        struct reg_sig_layers sl;
        char signed_digest[72];
        pgimg_error_t err = NULL;

        assert_int_equal (reg_cosign_signature ("localhost:5000/pg", DIGEST, f->priv, &a, &err), 0);
        assert_int_equal (reg_cosign_check (keys, a.layer, a.layer_len, a.signature, DIGEST, signed_digest, &err),
                          REG_SIG_OK);
        assert_int_equal (reg_cosign_check (both, a.layer, a.layer_len, a.signature, DIGEST, signed_digest, &err),
                          REG_SIG_OK);
        /* A trusted signature of another image. */
        assert_int_equal (reg_cosign_check (keys, a.layer, a.layer_len, a.signature, OTHER, signed_digest, &err),
                          REG_SIG_OTHER_IMAGE);
        assert_string_equal (signed_digest, DIGEST);
        assert_int_equal (reg_cosign_check (wrong, a.layer, a.layer_len, a.signature, DIGEST, signed_digest, &err), 0);
        assert_int_equal (reg_cosign_check (keys, a.layer, a.layer_len, "not base64!", DIGEST, signed_digest, &err), 0);
        assert_int_equal (reg_cosign_check (keys, a.layer, a.layer_len, "", DIGEST, signed_digest, &err), 0);
        a.layer[40] ^= 1;
        assert_int_equal (reg_cosign_check (keys, a.layer, a.layer_len, a.signature, DIGEST, signed_digest, &err), 0);
        a.layer[40] ^= 1;
        /* A key file that cannot be read is an error, not a refusal. */
        const char *missing[] = { "/nonexistent/k.pub", NULL };
        assert_true (reg_cosign_check (missing, a.layer, a.layer_len, a.signature, DIGEST, signed_digest, &err) < 0);
        pgimg_error_free (&err);

        /* The manifest: one simple-signing layer with the annotation,
         * and a config that lists no filesystem layer. */
        assert_int_equal (reg_sig_layers_parse (a.manifest, a.manifest_len, &sl, &err), 0);
        assert_int_equal (sl.n, 1);
        assert_string_equal (sl.v[0].desc.digest, a.layer_digest);
        assert_int_equal (sl.v[0].desc.size, a.layer_len);
        assert_string_equal (sl.v[0].signature, a.signature);
        reg_sig_layers_free (&sl);
        assert_non_null (strstr (a.config, "\"rootfs\":{\"diff_ids\":[],\"type\":\"layers\"}"));
        assert_non_null (strstr (a.manifest, "\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\""));
        reg_artifact_free (&a);
}

static void
signature_manifests_are_read_with_care (void **state)
{
        static const char other_layer[] = "{\"layers\":[{\"mediaType\":\"application/octet-stream\",\"digest\":\"" DIGEST
                                          "\",\"size\":3,\"annotations\":{\"dev.cosignproject.cosign/signature\":\"x\"}},"
                                          "{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\","
                                          "\"digest\":\"" DIGEST "\",\"size\":99999999,\"annotations\":"
                                          "{\"dev.cosignproject.cosign/signature\":\"x\"}},"
                                          "{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\","
                                          "\"digest\":\"" DIGEST "\",\"size\":3}]}";
        struct reg_sig_layers sl;
        pgimg_error_t err = NULL;

        (void) state;
        /* Another media type, a payload too big, no signature: skipped. */
        assert_int_equal (reg_sig_layers_parse (other_layer, strlen (other_layer), &sl, &err), 0);
        assert_int_equal (sl.n, 0);
        assert_false (sl.old_pgimg);
        reg_sig_layers_free (&sl);
        /* A signature of pgimg before cosign's format is recognised. */
        static const char old_sig[] = "{\"layers\":[{\"mediaType\":\"application/vnd.pgimg.signature.v1.ed25519\","
                                      "\"digest\":\"" DIGEST "\",\"size\":64}]}";
        assert_int_equal (reg_sig_layers_parse (old_sig, strlen (old_sig), &sl, &err), 0);
        assert_int_equal (sl.n, 0);
        assert_true (sl.old_pgimg);
        reg_sig_layers_free (&sl);
        assert_true (reg_sig_layers_parse ("{}", 2, &sl, &err) < 0);
        assert_string_equal (err->msg, "not an image manifest (no layers)");
        pgimg_error_free (&err);
        assert_true (reg_sig_layers_parse ("{\"layers\":", 10, &sl, &err) < 0);
        pgimg_error_free (&err);
}

/* The attestation is checked the way cosign does: the DSSE signature
 * over the pre-authentication encoding, and the statement's subject. */
static void
attestation_is_a_signed_dsse_envelope (void **state)
{
        struct fixture *f = *state;
        const char *keys[] = { f->pub, NULL };
        cleanup_free char *sbom = NULL, *bad = NULL, *body = NULL, *pae = NULL;
        cleanup_json json_t *env = NULL;
        struct reg_artifact a;
        size_t body_len;
        pgimg_error_t err = NULL;

        write_text (f, "img.tar.spdx.json", "{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"pg\",\"packages\":[]}", &sbom);
        assert_int_equal (reg_cosign_attestation ("localhost:5000/pg", DIGEST, sbom, f->priv, &a, &err), 0);
        assert_non_null (strstr (a.manifest, "\"mediaType\":\"application/vnd.dsse.envelope.v1+json\""));
        assert_non_null (strstr (a.manifest, "\"predicateType\":\"https://spdx.dev/Document\""));
        env = json_loadb (a.layer, a.layer_len, 0, NULL);
        assert_non_null (env);
        assert_string_equal (json_string_value (json_object_get (env, "payloadType")), "application/vnd.in-toto+json");
        assert_int_equal (reg_unbase64 (json_string_value (json_object_get (env, "payload")), &body, &body_len), 0);
        assert_non_null (strstr (body, "\"predicateType\":\"https://spdx.dev/Document\""));
        assert_non_null (strstr (body, "\"subject\":[{\"digest\":{\"sha256\":\"0123456789abcdef0123456789abcdef"
                                       "0123456789abcdef0123456789abcdef\"},\"name\":\"localhost:5000/pg\"}]"));
        assert_non_null (strstr (body, "\"spdxVersion\":\"SPDX-2.3\""));
        assert_true (asprintf (&pae, "DSSEv1 28 application/vnd.in-toto+json %zu %s", body_len, body) > 0);
        const char *sig = json_string_value (
                json_object_get (json_array_get (json_object_get (env, "signatures"), 0), "sig"));
        assert_int_equal (reg_verify (keys, pae, strlen (pae), sig, &err), 1);
        assert_int_equal (reg_verify (keys, body, body_len, sig, &err), 0);
        reg_artifact_free (&a);

        write_text (f, "bad.spdx.json", "{\"bomFormat\":\"CycloneDX\"}", &bad);
        assert_true (reg_cosign_attestation ("localhost:5000/pg", DIGEST, bad, f->priv, &a, &err) < 0);
        assert_non_null (strstr (err->msg, "/bad.spdx.json: not an SPDX JSON document (no spdxVersion); "
                                           "rebuild the image to write it again, or remove it to push without an "
                                           "SBOM"));
        pgimg_error_free (&err);
        reg_artifact_free (&a);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown (keys_are_pkcs8_and_pkix_pem, setup, teardown),
                cmocka_unit_test_setup_teardown (unusable_keys_say_what_to_do, setup, teardown),
                cmocka_unit_test (payload_is_cosigns_simple_signing),
                cmocka_unit_test_setup_teardown (signatures_verify_and_tampering_is_refused, setup, teardown),
                cmocka_unit_test (signature_manifests_are_read_with_care),
                cmocka_unit_test_setup_teardown (attestation_is_a_signed_dsse_envelope, setup, teardown),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
