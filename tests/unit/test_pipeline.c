/* test_pipeline.c - the image a build defines (builder/pipeline_image.c):
 * its config fields, env and volume per major, labels and layers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/pipeline_int.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "layers/cache.h"

/* A result as the pipeline leaves it before the image is defined. */
static void
result_init (struct pipeline_result *res, struct recipe_version *v, char *major)
{
        memset (res, 0, sizeof (*res));
        memset (v, 0, sizeof (*v));
        v->version = (char *) (strcmp (major, "18") == 0 ? "18.1" : "17.7");
        memset (v->sha256, 'a', SHA256_HEX_LEN);
        res->recipe.major = major;
        res->recipe.license = (char *) "PostgreSQL";
        res->recipe.homepage = (char *) "https://www.postgresql.org/";
        res->version = v;
        res->source_date_epoch = 86400;
        res->n_layers = 2;
        res->layers[0].name = "base";
        res->layers[0].comment = (char *) "base comment";
        strcpy (res->layers[0].desc.digest, "sha256:0");
        res->layers[1].name = "postgres";
        res->layers[1].comment = (char *) "postgres comment";
        strcpy (res->layers[1].desc.digest, "sha256:1");
}

/* A result of major on the heap (it is large), set up by result_init. */
static struct pipeline_result *
result_new (struct recipe_version *v, char *major)
{
        struct pipeline_result *res = malloc (sizeof (*res));

        assert_non_null (res);
        result_init (res, v, major);
        return res;
}

static void
result_release (struct pipeline_result *res)
{
        for (size_t i = 0; res->env && res->env[i]; i++)
                free (res->env[i]);
        free (res->env);
        for (size_t i = 0; res->tags && res->tags[i]; i++)
                free (res->tags[i]);
        free (res->tags);
        free (res->volume);
}

static void
the_image_of_18 (void **state)
{
        struct pipeline_result *res = malloc (sizeof (*res));
        struct recipe_version v;
        char major[] = "18";
        pgimg_error_t err = NULL;

        (void) state;
        assert_non_null (res);
        result_init (res, &v, major);
        assert_int_equal (pipeline_image_env (res, &err), 0);
        pipeline_image_define (res);

        const struct oci_image *img = &res->image.oci;
        /* Starts as root; the entrypoint steps down to postgres. */
        assert_null (img->user);
        assert_string_equal (img->workdir, "/");
        assert_string_equal (img->stop_signal, "SIGINT");
        assert_string_equal (img->entrypoint[0], "docker-entrypoint.sh");
        assert_null (img->entrypoint[1]);
        assert_string_equal (img->cmd[0], "postgres");
        assert_string_equal (img->exposed_ports[0], "5432/tcp");
        /* 18 keeps its cluster below the major's own directory of the volume. */
        assert_string_equal (img->volumes[0], "/var/lib/postgresql");
        assert_null (img->volumes[1]);
        assert_string_equal (img->env[1], "PG_MAJOR=18");
        assert_string_equal (img->env[2], "PG_VERSION=18.1");
        assert_string_equal (img->env[4], "PGDATA=/var/lib/postgresql/18/docker");
        assert_string_equal (img->tags[0], "pgimg/postgres:18.1");
        assert_string_equal (img->tags[1], "pgimg/postgres:18");
        assert_int_equal (img->created, 86400);
        assert_int_equal (img->n_labels, PIPELINE_N_LABELS);
        assert_string_equal (img->labels[0].key, "org.opencontainers.image.created");
        assert_string_equal (img->labels[0].value, "1970-01-02T00:00:00Z");
        assert_string_equal (img->labels[5].value, "18.1");
        assert_ptr_equal (img->annotations, img->labels);
        assert_int_equal (img->n_layers, 2);
        assert_string_equal (img->layers[1].digest, "sha256:1");
        assert_string_equal (img->layer_comments[0], "base comment");
        result_release (res);
        free (res);
}

static void
the_image_of_17 (void **state)
{
        struct pipeline_result *res = malloc (sizeof (*res));
        struct recipe_version v;
        char major[] = "17";
        pgimg_error_t err = NULL;

        (void) state;
        assert_non_null (res);
        result_init (res, &v, major);
        assert_int_equal (pipeline_image_env (res, &err), 0);
        pipeline_image_define (res);
        assert_string_equal (res->image.oci.volumes[0], "/var/lib/postgresql/data");
        assert_string_equal (res->image.oci.env[4], "PGDATA=/var/lib/postgresql/data");
        result_release (res);
        free (res);
}

/* The jit layer goes on top of the others when asked for, and only
 * then; a server without llvmjit.so is an error naming its recipe. */
static void
the_jit_layer_goes_on_top (void **state)
{
        struct recipe_version v;
        char major[] = "18";
        struct pipeline_result *res = result_new (&v, major);
        pgimg_error_t err = NULL;

        (void) state;
        res->recipe.path = (char *) "versions/18.json";
        res->jit.name = "jit";
        strcpy (res->jit.desc.digest, "sha256:j");

        assert_int_equal (pipeline_jit_layer (res, &err), 0);
        assert_int_equal (res->n_layers, 2);

        res->with_jit = 1;
        assert_true (pipeline_jit_layer (res, &err) < 0);
        assert_non_null (strstr (err->msg, "PostgreSQL 18.1 has no llvmjit.so: add --with-llvm to the configure list of `versions/18.json`"));
        pgimg_error_free (&err);
        assert_int_equal (res->n_layers, 2);

        res->jit_present = 1;
        res->jit.comment = strdup ("jit comment");
        assert_non_null (res->jit.comment);
        assert_int_equal (pipeline_jit_layer (res, &err), 0);
        assert_int_equal (res->n_layers, 3);
        assert_string_equal (res->layers[2].name, "jit");
        assert_string_equal (res->layers[2].desc.digest, "sha256:j");
        /* The image's layers own the comment now. */
        assert_null (res->jit.comment);
        assert_string_equal (res->layers[2].comment, "jit comment");
        free (res->layers[2].comment);
        free (res);
}

/* What pipeline_extension_picks leaves in res. */
static void
picks_release (struct pipeline_result *res)
{
        free (res->picks);
        ext_recipes_free (res->ext_recipes, res->n_ext_recipes);
        strv_free (res->skipped);
}

/* `jit` among --with items or in an image set is no extension. */
static void
jit_is_an_item_not_an_extension (void **state)
{
        const char *with[] = { "jit", NULL };
        const char *sets[] = { "full", NULL };
        struct pipeline_opts o = { .data_dir = ".", .with = with };
        struct recipe_version v;
        char major[] = "17";
        struct pipeline_result *res = result_new (&v, major);
        pgimg_error_t err = NULL;

        (void) state;
        assert_true (pipeline_jit_wanted ("jit", &err));
        assert_false (pipeline_jit_wanted ("jitter", &err));
        assert_false (pipeline_jit_wanted ("pgvector", &err));
        assert_true (pipeline_jit_wanted ("jit@19", &err) < 0);
        assert_string_equal (err->msg, "`jit@19`: the jit layer has no versions (its LLVM is the lock's); write `jit`");
        pgimg_error_free (&err);

        if (pipeline_extension_picks (&o, res, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_true (res->with_jit);
        assert_int_equal (res->n_picks, 0);
        picks_release (res);

        result_init (res, &v, major);
        o.with = NULL;
        o.sets = sets;
        if (pipeline_extension_picks (&o, res, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_true (res->with_jit);
        assert_true (res->n_picks > 10);
        for (size_t i = 0; i < res->n_picks; i++)
                assert_string_not_equal (res->picks[i].recipe->name, "jit");
        picks_release (res);
        free (res);
}

/* A plan of postgres-18 with pgvector against cache_dir, on the heap. */
static struct pipeline_result *
plan_of (const char *cache_dir)
{
        static const char *const with[] = { "pgvector", NULL };
        struct pipeline_result *res = malloc (sizeof (*res));
        struct pipeline_opts o = {
                .cache_dir = cache_dir, .data_dir = ".", .spec = "postgres-18", .compression = LAYER_GZIP,
                .jobs = 1, .source_date_epoch = -1, .pgimg_version = "test", .with = with, .plan = 1,
        };
        pgimg_error_t err = NULL;

        assert_non_null (res);
        if (pipeline_postgres (&o, res, &err) < 0)
                fail_msg ("plan: %s", err->msg);
        return res;
}

/* The steps of a plan as "step name state[/after]" words. */
static char *
plan_words (const struct pipeline_result *res)
{
        cleanup_buf struct buf b = BUF_INIT;

        for (size_t i = 0; i < res->n_plan; i++) {
                const struct pipeline_step *s = &res->plan[i];
                assert_int_equal (s->key[0] == '\0', s->after[0] != '\0');
                buf_addf (&b, "%s%s %s %s%s%s", i ? ", " : "", s->step, s->name, pipeline_state_name (s->state),
                          s->after[0] ? "/" : "", s->after);
        }
        return buf_detach (&b, NULL);
}

/* A plan on an empty cache builds everything and writes nothing; once
 * the cache has the base layer, the plan takes it from there. */
static void
a_plan_looks_up_and_writes_nothing (void **state)
{
        char cache[] = "/tmp/pgimg-test-plan-XXXXXX";
        cleanup_free char *words = NULL, *words2 = NULL, *blobs = NULL, *tree = NULL, *file = NULL;
        struct pipeline_result *res;
        struct layer_opts lo = { .mtime = 1, .compression = LAYER_GZIP };
        struct layer_desc d;
        pgimg_error_t err = NULL;
        char base_key[SHA256_HEX_LEN + 1];
        (void) state;

        assert_non_null (mkdtemp (cache));
        res = plan_of (cache);
        words = plan_words (res);
        assert_string_equal (words, "base base build, postgres postgres build, postgres-dev postgres-dev build, "
                                    "extension pgvector build, entrypoint entrypoint build/base, sbom sbom build/entrypoint");
        assert_string_equal (res->plan[1].version, "18.6");
        assert_int_equal (rmdir (cache), 0);    /* still empty */
        memcpy (base_key, res->plan[0].key, sizeof (base_key));
        pipeline_result_free (res);
        free (res);

        /* Any layer will do: the cache believes an entry whose blob checks out. */
        strcpy (cache + strlen (cache) - 6, "XXXXXX");
        assert_non_null (mkdtemp (cache));
        assert_true (asprintf (&tree, "%s/tree", cache) > 0 && asprintf (&file, "%s/f", tree) > 0);
        assert_int_equal (fs_mkdir_p (tree, 0755, &err), 0);
        assert_int_equal (fs_write_file_atomic (file, "x", 1, 0644, &err), 0);
        assert_int_equal (layer_cache_blob_dir (cache, &blobs, &err), 0);
        assert_int_equal (layer_write (tree, &lo, blobs, &d, &err), 0);
        assert_int_equal (layer_cache_store (cache, base_key, &d, &err), 0);
        res = plan_of (cache);
        words2 = plan_words (res);
        assert_non_null (strstr (words2, "base base cached, postgres postgres build, "));
        assert_non_null (strstr (words2, "entrypoint entrypoint build/postgres, "));
        assert_string_equal (res->layers[0].desc.digest, d.digest);
        pipeline_result_free (res);
        free (res);
        assert_int_equal (fs_rm_rf (cache, &err), 0);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (the_image_of_18),
                cmocka_unit_test (the_image_of_17),
                cmocka_unit_test (the_jit_layer_goes_on_top),
                cmocka_unit_test (jit_is_an_item_not_an_extension),
                cmocka_unit_test (a_plan_looks_up_and_writes_nothing),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
