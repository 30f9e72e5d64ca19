/* test_pipeline.c - the image a build defines (builder/pipeline_image.c):
 * its config fields, env and volume per major, labels and layers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "builder/pipeline_int.h"

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

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (the_image_of_18),
                cmocka_unit_test (the_image_of_17),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
