/* test_runtime.c - the parsers of pgimg's runtime: -e values merged over
 * the image's Env, a server's reply judged as pg_isready does, and the
 * state file of a named run. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "runner/runtime.h"

static void
env_overrides_replace_and_add (void **state)
{
        const char *const image[] = { "PATH=/usr/bin", "PGDATA=/var/lib/postgresql/data", NULL };
        const char *const over[] = { "PGDATA=/elsewhere", "POSTGRES_PASSWORD=a=b", NULL };
        cleanup_strv char **env = NULL;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (runtime_env_merge (image, over, &env, &err), 0);
        assert_string_equal (env[0], "PATH=/usr/bin");
        assert_string_equal (env[1], "PGDATA=/elsewhere");
        assert_string_equal (env[2], "POSTGRES_PASSWORD=a=b");
        assert_null (env[3]);
        assert_string_equal (runtime_env_get ((const char *const *) env, "POSTGRES_PASSWORD"), "a=b");
        assert_null (runtime_env_get ((const char *const *) env, "POSTGRES"));
}

static void
env_override_must_be_key_value (void **state)
{
        const char *const bad[][2] = { { "NOEQUALS", NULL }, { "=value", NULL } };
        (void) state;
        for (size_t i = 0; i < 2; i++) {
                char **env = NULL;
                pgimg_error_t err = NULL;
                char want[64];
                assert_true (runtime_env_merge (NULL, bad[i], &env, &err) < 0);
                snprintf (want, sizeof (want), "environment `%s` is not KEY=VALUE", bad[i][0]);
                assert_string_equal (err->msg, want);
                assert_null (env);
                pgimg_error_free (&err);
        }
}

/* An ErrorResponse with severity and SQLSTATE fields. */
static size_t
error_reply (unsigned char *out, const char *sqlstate)
{
        size_t n = 5;
        uint32_t len;

        memcpy (out + n, "SFATAL\0", 7);
        n += 7;
        out[n++] = 'C';
        memcpy (out + n, sqlstate, 6);
        n += 6;
        memcpy (out + n, "Mthe database system is starting up\0", 37);
        n += 37;
        out[n++] = 0;
        out[0] = 'E';
        len = htonl ((uint32_t) (n - 1));
        memcpy (out + 1, &len, 4);
        return n;
}

static void
ready_reply_as_pg_isready (void **state)
{
        unsigned char r[128];
        const unsigned char auth[] = { 'R', 0, 0, 0, 12, 0, 0, 0, 10 };
        size_t n;

        (void) state;
        assert_int_equal (runtime_ready_reply (auth, 1), 1);
        n = error_reply (r, "57P03");
        assert_int_equal (runtime_ready_reply (r, n), 0);
        assert_int_equal (runtime_ready_reply (r, n - 10), -1); /* not all read yet */
        assert_int_equal (runtime_ready_reply (r, 3), -1);
        n = error_reply (r, "28000"); /* no such role: but up */
        assert_int_equal (runtime_ready_reply (r, n), 1);
        assert_int_equal (runtime_ready_reply (r, 0), -1);
}

static void
state_round_trips (void **state)
{
        const char *env[] = { "PATH=/usr/lib/postgresql/18/bin:/usr/bin", NULL };
        struct runtime_state st = { 5433, (char *) "/cache/rootfs/abc", (char **) env }, back;
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (runtime_state_format (&st, &b, &err), 0);
        assert_string_equal (b.data, "port 5433\nrootfs /cache/rootfs/abc\nenv PATH=/usr/lib/postgresql/18/bin:/usr/bin\n");
        assert_int_equal (runtime_state_parse (b.data, b.len, &back, &err), 0);
        assert_int_equal (back.port, 5433);
        assert_string_equal (back.rootfs, "/cache/rootfs/abc");
        assert_string_equal (back.env[0], env[0]);
        assert_null (back.env[1]);
        runtime_state_free (&back);
}

static void
state_rejects_what_it_does_not_know (void **state)
{
        const char *const bad[] = { "port 0\nrootfs /r\n", "port 70000\nrootfs /r\n", "port 5432\n",
                                    "rootfs /r\n", "port 5432\nrootfs /r\nuser x\n", "port 12x\nrootfs /r\n",
                                    "port 5432\nrootfs /r\nenv NOEQ\n" };
        (void) state;
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
                struct runtime_state st;
                pgimg_error_t err = NULL;
                assert_true (runtime_state_parse (bad[i], strlen (bad[i]), &st, &err) < 0);
                assert_string_equal (err->msg, "malformed run state (want `port N`, `rootfs PATH` and `env K=V` lines)");
                assert_null (st.rootfs);
                pgimg_error_free (&err);
        }
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (env_overrides_replace_and_add),
                cmocka_unit_test (env_override_must_be_key_value),
                cmocka_unit_test (ready_reply_as_pg_isready),
                cmocka_unit_test (state_round_trips),
                cmocka_unit_test (state_rejects_what_it_does_not_know),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
