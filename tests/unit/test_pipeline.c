/* test_pipeline.c - the image a build defines (builder/pipeline_image.c):
 * its config fields, env and volume per major, labels and layers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/pipeline_int.h"
#include "common/cleanup.h"

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

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (the_image_of_18),
                cmocka_unit_test (the_image_of_17),
                cmocka_unit_test (the_jit_layer_goes_on_top),
                cmocka_unit_test (jit_is_an_item_not_an_extension),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
