/* test_runtime.c - the parsers of pgimg's runtime: -e values merged over
 * the image's Env, a server's reply judged as pg_isready does, and the
 * state file of a named run; and who may connect to its servers: the
 * private socket directory, pgimg's pg_hba.conf, the environment that
 * makes 13 store a scram verifier. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/platform.h"
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

/* A scratch directory for the private-directory tests; *dir malloc'ed. */
static char *
scratch (void)
{
        char tmpl[] = "/tmp/pgimg-test-runtime-XXXXXX";

        assert_non_null (mkdtemp (tmpl));
        return strdup (tmpl);
}

static mode_t
mode_of (const char *path)
{
        struct stat st;

        assert_int_equal (lstat (path, &st), 0);
        return st.st_mode & 07777;
}

/* binfmt_misc's entry as the kernel prints it: enabled with F, or not. */
static void
binfmt_entry_needs_enabled_and_f (void **state)
{
        static const char good[] = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\n"
                                   "offset 0\nmagic 7f454c46\n";
        static const char no_f[] = "enabled\ninterpreter /usr/bin/qemu-aarch64\nflags: \noffset 0\n";
        static const char off[] = "disabled\ninterpreter /usr/bin/qemu-aarch64\nflags: F\n";
        static const char unended[] = "flags: OCF\nenabled";

        (void) state;
        assert_int_equal (platform_binfmt_usable (good, strlen (good)), 1);
        assert_int_equal (platform_binfmt_usable (no_f, strlen (no_f)), 0);
        assert_int_equal (platform_binfmt_usable (off, strlen (off)), 0);
        assert_int_equal (platform_binfmt_usable (unended, strlen (unended)), 1);
        assert_int_equal (platform_binfmt_usable ("", 0), 0);
}

/* amd64 always runs; arm64 only with a usable qemu-aarch64 entry, and
 * the refusal names the entry and how to register it. */
static void
arm64_runs_only_with_binfmt (void **state)
{
        cleanup_free char *dir = scratch ();
        cleanup_free char *entry = NULL;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (platform_runnable ("amd64", "x", dir, &err), 0);
        assert_int_equal (platform_runnable (NULL, "x", dir, &err), 0);
        assert_true (platform_runnable ("arm64", "`img.tar`", dir, &err) < 0);
        assert_int_equal (err->status, ENOTSUP);
        assert_non_null (strstr (err->msg, "`img.tar`: linux/arm64 images run here only through qemu-user"));
        assert_non_null (strstr (err->msg, "/qemu-aarch64` is not an enabled binfmt_misc entry with the F flag"));
        assert_non_null (strstr (err->msg, "update-binfmts --enable qemu-aarch64"));
        pgimg_error_free (&err);
        assert_true (platform_runnable ("riscv64", "`img.tar`", dir, &err) < 0);
        assert_non_null (strstr (err->msg, "an image for linux/riscv64; pgimg runs linux/amd64 and linux/arm64"));
        pgimg_error_free (&err);
        assert_true (asprintf (&entry, "%s/qemu-aarch64", dir) > 0);
        assert_int_equal (fs_write_file_atomic (entry, "enabled\nflags: F\n", 17, 0644, &err), 0);
        assert_int_equal (platform_runnable ("arm64", "x", dir, &err), 0);
        assert_int_equal (unlink (entry), 0);
        assert_int_equal (rmdir (dir), 0);
}

static void
private_dir_is_made_and_kept_0700 (void **state)
{
        cleanup_free char *top = scratch ();
        cleanup_free char *dir = NULL;
        pgimg_error_t err = NULL;

        (void) state;
        assert_true (asprintf (&dir, "%s/socket", top) > 0);
        assert_int_equal (runtime_private_dir (dir, &err), 0);
        assert_int_equal (mode_of (dir), 0700);
        /* What the entrypoint does to /var/run/postgresql, or an older pgimg left. */
        assert_int_equal (chmod (dir, 03777), 0);
        assert_int_equal (runtime_private_dir (dir, &err), 0);
        assert_int_equal (mode_of (dir), 0700);
        assert_int_equal (rmdir (dir), 0);
        assert_int_equal (rmdir (top), 0);
}

static void
private_dir_refuses_links_and_files (void **state)
{
        cleanup_free char *top = scratch ();
        cleanup_free char *target = NULL;
        cleanup_free char *link = NULL;
        cleanup_free char *file = NULL;
        cleanup_free char *want = NULL;
        pgimg_error_t err = NULL;
        FILE *f;

        (void) state;
        assert_true (asprintf (&target, "%s/elsewhere", top) > 0 && asprintf (&link, "%s/socket", top) > 0
                     && asprintf (&file, "%s/file", top) > 0);
        assert_int_equal (mkdir (target, 0755), 0);
        assert_int_equal (symlink (target, link), 0);
        assert_true (runtime_private_dir (link, &err) < 0);
        assert_true (asprintf (&want, "%s is not a directory (a symbolic link?): remove it", link) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
        assert_int_equal (mode_of (target), 0755); /* the link's target is left alone */
        assert_non_null (f = fopen (file, "w"));
        fclose (f);
        assert_true (runtime_private_dir (file, &err) < 0);
        assert_int_equal (err->status, ENOTDIR);
        pgimg_error_free (&err);
        unlink (file);
        unlink (link);
        rmdir (target);
        rmdir (top);
}

static void
private_dir_refuses_another_owner (void **state)
{
        cleanup_free char *top = scratch ();
        cleanup_free char *dir = NULL;
        cleanup_free char *want = NULL;
        pgimg_error_t err = NULL;

        (void) state;
        assert_true (asprintf (&dir, "%s/socket", top) > 0);
        assert_int_equal (mkdir (dir, 0700), 0);
        assert_int_equal (chmod (dir, 0777), 0);
        /* Only root can give a directory away; elsewhere there is nothing to try. */
        if (geteuid () == 0 && chown (dir, 65534, 65534) == 0) {
                assert_true (runtime_private_dir (dir, &err) < 0);
                assert_true (asprintf (&want, "%s belongs to uid 65534, not to you (uid 0): remove it", dir) > 0);
                assert_string_equal (err->msg, want);
                pgimg_error_free (&err);
                assert_int_equal (mode_of (dir), 0777);
        }
        rmdir (dir);
        rmdir (top);
}

static void
hba_trusts_only_the_socket (void **state)
{
        const char *p = runtime_hba_conf ();
        int host_lines = 0, local_lines = 0;

        (void) state;
        while (*p) {
                const char *nl = strchr (p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen (p);
                char line[256];

                assert_true (n < sizeof (line));
                memcpy (line, p, n);
                line[n] = '\0';
                if (strncmp (line, "host", 4) == 0) {
                        host_lines++;
                        assert_non_null (strstr (line, " scram-sha-256"));
                        assert_string_equal (line + n - strlen (" scram-sha-256"), " scram-sha-256");
                } else if (strncmp (line, "local", 5) == 0) {
                        local_lines++;
                } else {
                        assert_true (line[0] == '#' || line[0] == '\0');
                }
                p += n + (nl != NULL);
        }
        assert_int_equal (host_lines, 2);
        assert_int_equal (local_lines, 2);
}

static void
host_auth_method_other_than_scram_is_named (void **state)
{
        const char *const trust[] = { "PATH=/bin", "POSTGRES_HOST_AUTH_METHOD=trust", NULL };
        const char *const md5[] = { "POSTGRES_HOST_AUTH_METHOD=md5", NULL };
        const char *const scram[] = { "POSTGRES_HOST_AUTH_METHOD=scram-sha-256", NULL };
        const char *const empty[] = { "POSTGRES_HOST_AUTH_METHOD=", NULL };

        (void) state;
        assert_string_equal (runtime_host_auth_ignored (trust), "trust");
        assert_string_equal (runtime_host_auth_ignored (md5), "md5");
        assert_null (runtime_host_auth_ignored (scram));
        assert_null (runtime_host_auth_ignored (empty));
        assert_null (runtime_host_auth_ignored (NULL));
}

static void
initdb_is_told_scram_before_the_users_arguments (void **state)
{
        const char *const none[] = { "PATH=/bin", NULL };
        const char *const user[] = { "POSTGRES_INITDB_ARGS=--data-checksums --auth-host=md5", NULL };
        cleanup_strv char **a = NULL;
        cleanup_strv char **b = NULL;
        pgimg_error_t err = NULL;

        (void) state;
        assert_int_equal (runtime_server_env (none, &a, &err), 0);
        assert_string_equal (runtime_env_get ((const char *const *) a, "POSTGRES_INITDB_ARGS"),
                             "--auth-host=scram-sha-256");
        assert_string_equal (runtime_env_get ((const char *const *) a, "PATH"), "/bin");
        assert_int_equal (runtime_server_env (user, &b, &err), 0);
        assert_string_equal (runtime_env_get ((const char *const *) b, "POSTGRES_INITDB_ARGS"),
                             "--auth-host=scram-sha-256 --data-checksums --auth-host=md5");
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
                cmocka_unit_test (private_dir_is_made_and_kept_0700),
                cmocka_unit_test (private_dir_refuses_links_and_files),
                cmocka_unit_test (private_dir_refuses_another_owner),
                cmocka_unit_test (hba_trusts_only_the_socket),
                cmocka_unit_test (host_auth_method_other_than_scram_is_named),
                cmocka_unit_test (initdb_is_told_scram_before_the_users_arguments),
                cmocka_unit_test (binfmt_entry_needs_enabled_and_f),
                cmocka_unit_test (arm64_runs_only_with_binfmt),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
