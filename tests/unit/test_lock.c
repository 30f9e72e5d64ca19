#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/lock.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/sha256.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char good_lock[] =
        "{\n"
        "  \"arch\": \"amd64\",\n"
        "  \"lockVersion\": 1,\n"
        "  \"packages\": [\n"
        "    {\"arch\": \"amd64\", \"name\": \"libc6\", \"sha256\": \"" SHA_B "\", \"size\": 2000,\n"
        "     \"urls\": [\"http://m/debian/pool/libc6.deb\", \"https://s/debian/20250101T000000Z/pool/libc6.deb\"],\n"
        "     \"version\": \"2.41-12\"},\n"
        "    {\"arch\": \"amd64\", \"name\": \"bash\", \"sha256\": \"" SHA_A "\", \"size\": 1000,\n"
        "     \"urls\": [\"http://m/debian/pool/bash.deb\"], \"version\": \"5.2.37-2\"}\n"
        "  ],\n"
        "  \"sets\": {\"runtime\": [\"libc6\", \"bash\"], \"build\": [\"libc6\"]},\n"
        "  \"sources\": [{\"date\": \"Sat, 09 Aug 2025 09:12:34 UTC\", \"inrelease_sha256\": \"" SHA_A "\",\n"
        "                \"suite\": \"trixie\"}],\n"
        "  \"suite\": \"trixie\"\n"
        "}\n";

struct fixture {
        char *dir, *path;
};

static int
setup (void **state)
{
        struct fixture *f = calloc (1, sizeof (*f));
        char tmpl[] = "/tmp/pgimg-test-lock-XXXXXX";
        assert_non_null (mkdtemp (tmpl));
        f->dir = strdup (tmpl);
        assert_true (asprintf (&f->path, "%s/test.lock.json", f->dir) > 0);
        *state = f;
        return 0;
}

static int
teardown (void **state)
{
        struct fixture *f = *state;
        pgimg_error_t err = NULL;
        cleanup_free char *gpghome = NULL;
        /* gpg started an agent for the throwaway key: stop it. */
        if (asprintf (&gpghome, "%s/gnupg", f->dir) > 0 && fs_exists (gpghome)) {
                char *cmd = NULL;
                if (asprintf (&cmd, "gpgconf --homedir %s --kill gpg-agent 2>/dev/null", gpghome) > 0
                    && system (cmd) != 0)
                        fprintf (stderr, "# could not stop the test's gpg-agent\n");
                free (cmd);
        }
        fs_rm_rf (f->dir, &err);
        pgimg_error_free (&err);
        free (f->dir);
        free (f->path);
        free (f);
        return 0;
}

static void
write_lock (const struct fixture *f, const char *text)
{
        pgimg_error_t err = NULL;
        assert_int_equal (fs_write_file_atomic (f->path, text, strlen (text), 0644, &err), 0);
}

static void
load_good_lock (void **state)
{
        struct fixture *f = *state;
        pgimg_error_t err = NULL;
        struct lock lock;
        char want[SHA256_HEX_LEN + 1], d1[SHA256_HEX_LEN + 1], d2[SHA256_HEX_LEN + 1];

        write_lock (f, good_lock);
        if (lock_load (f->path, &lock, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_string_equal (lock.path, f->path);
        assert_string_equal (lock.suite, "trixie");
        assert_string_equal (lock.arch, "amd64");
        assert_int_equal (lock.n_pkgs, 2);
        assert_string_equal (lock.pkgs[0].name, "bash");        /* sorted */
        assert_int_equal (sha256_buf_hex (good_lock, strlen (good_lock), want, &err), 0);
        assert_string_equal (lock.digest, want);

        const struct lock_package *libc = lock_find (&lock, "libc6");
        assert_non_null (libc);
        assert_string_equal (libc->version, "2.41-12");
        assert_int_equal (libc->size, 2000);
        assert_string_equal (libc->urls[0], "http://m/debian/pool/libc6.deb");
        assert_string_equal (libc->urls[1], "https://s/debian/20250101T000000Z/pool/libc6.deb");
        assert_null (libc->urls[2]);
        assert_null (lock_find (&lock, "zsh"));

        const struct lock_set *rt = lock_find_set (&lock, "runtime");
        assert_non_null (rt);
        assert_int_equal (rt->n, 2);
        assert_string_equal (rt->packages[0], "bash");
        assert_string_equal (rt->packages[1], "libc6");
        assert_null (rt->packages[2]);
        assert_null (lock_find_set (&lock, "nope"));

        /* The set digest depends on the set's packages only. */
        assert_int_equal (lock_set_digest (&lock, "runtime", d1, &err), 0);
        assert_int_equal (lock_set_digest (&lock, "build", d2, &err), 0);
        assert_string_not_equal (d1, d2);
        assert_int_equal (sha256_buf_hex ("libc6 2.41-12 " SHA_B "\n", strlen ("libc6 2.41-12 " SHA_B "\n"), want,
                                          &err), 0);
        assert_string_equal (d2, want);
        assert_true (lock_set_digest (&lock, "nope", d1, &err) < 0);
        cleanup_free char *msg = NULL;
        assert_true (asprintf (&msg, "`%s` has no set `nope`", f->path) > 0);
        assert_string_equal (err->msg, msg);
        pgimg_error_free (&err);
        lock_free (&lock);
}

static void
expect_refused (const struct fixture *f, const char *text, const char *want_suffix)
{
        pgimg_error_t err = NULL;
        struct lock lock;
        cleanup_free char *want = NULL;

        write_lock (f, text);
        assert_true (lock_load (f->path, &lock, &err) < 0);
        assert_non_null (err);
        assert_true (asprintf (&want, "`%s`%s", f->path, want_suffix) > 0);
        /* jansson words its own messages (want ends in ": "): only the
         * position is ours. */
        size_t n = want[strlen (want) - 1] == ' ' ? strlen (want) : strlen (want) + 1;
        if (strncmp (err->msg, want, n) != 0)
                fail_msg ("got `%s`, want `%s`", err->msg, want);
        pgimg_error_free (&err);
        assert_null (lock.pkgs);
}

/* good_lock with one substring replaced. */
static char *
edited (const char *from, const char *to)
{
        const char *at = strstr (good_lock, from);
        char *out = NULL;
        assert_non_null (at);
        assert_true (asprintf (&out, "%.*s%s%s", (int) (at - good_lock), good_lock, to, at + strlen (from)) > 0);
        return out;
}

static void
refuse_bad_locks (void **state)
{
        struct fixture *f = *state;
        cleanup_free char *bad_sha = edited (SHA_B, "BBBB");
        cleanup_free char *unknown = edited ("[\"libc6\", \"bash\"]", "[\"libc6\", \"ghost\"]");
        cleanup_free char *version = edited ("\"lockVersion\": 1", "\"lockVersion\": 2");
        cleanup_free char *dup = edited ("\"name\": \"bash\"", "\"name\": \"libc6\"");
        cleanup_free char *no_urls = edited ("[\"http://m/debian/pool/bash.deb\"]", "[]");

        expect_refused (f, bad_sha, ": package `libc6` has an invalid sha256 `BBBB`");
        expect_refused (f, unknown, ": set `runtime` names `ghost`, which is not in packages");
        expect_refused (f, version, ": lockVersion is not 1");
        expect_refused (f, dup, ": package `libc6` is listed twice");
        expect_refused (f, no_urls, ": package `bash` has no urls");
        expect_refused (f, "{\"lockVersion\": 1,", ": line 1, column 18: ");
}

static void
release_dates_become_timestamps (void **state)
{
        char ts[17];

        (void) state;
        assert_int_equal (lock_date_timestamp ("Sat, 09 Aug 2025 09:12:34 UTC", ts), 0);
        assert_string_equal (ts, "20250809T091234Z");
        assert_int_equal (lock_date_timestamp ("1 Jan 2024 00:00:00 +0000", ts), 0);
        assert_string_equal (ts, "20240101T000000Z");
        assert_int_equal (lock_date_timestamp ("Sat, 09 Aug 2025 09:12:34 CEST", ts), -1);
        assert_int_equal (lock_date_timestamp ("Sat, 09 Foo 2025 09:12:34 UTC", ts), -1);
        assert_int_equal (lock_date_timestamp ("Sat, 09 Aug 2025 24:00:00 UTC", ts), -1);
        assert_int_equal (lock_date_timestamp ("", ts), -1);
}

static void
refuse_missing_lock (void **state)
{
        struct fixture *f = *state;
        pgimg_error_t err = NULL;
        struct lock lock;
        (void) f;
        assert_true (lock_load ("/nonexistent/x.lock.json", &lock, &err) < 0);
        assert_string_equal (err->msg, "open `/nonexistent/x.lock.json`: No such file or directory");
        pgimg_error_free (&err);
}

static void
update_refuses_bad_input (void **state)
{
        struct fixture *f = *state;
        pgimg_error_t err = NULL;
        cleanup_free char *input = NULL, *out = NULL, *want = NULL;
        static const char no_sources[] = "{\"arch\": \"amd64\", \"keyring\": \"/k.gpg\", \"sources\": [], \"sets\": {}}";

        assert_true (asprintf (&input, "%s/packages.json", f->dir) > 0);
        assert_true (asprintf (&out, "%s/out.lock.json", f->dir) > 0);
        assert_int_equal (fs_write_file_atomic (input, no_sources, strlen (no_sources), 0644, &err), 0);
        assert_true (lock_update (input, NULL, 0, out, f->dir, 1, &err) < 0);
        assert_true (asprintf (&want, "`%s`: sources must be a non-empty array", input) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
        assert_false (fs_exists (out));

        /* update=0 with a broken current lock: say how to get out. */
        write_lock (f, "[]");
        static const char input_ok[] = "{\"arch\": \"amd64\", \"keyring\": \"/k.gpg\", \"sets\": {},"
                                       " \"sources\": [{\"url\": \"file:///nonexistent\", \"suite\": \"s\","
                                       " \"components\": [\"main\"]}]}";
        assert_int_equal (fs_write_file_atomic (input, input_ok, strlen (input_ok), 0644, &err), 0);
        assert_true (lock_update (input, NULL, 0, f->path, f->dir, 0, &err) < 0);
        free (want);
        assert_true (asprintf (&want, "the current lock (use --update to resolve afresh): `%s`: not a JSON object",
                               f->path) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
}

/* "extensions": false keeps the recipes' sets out of a lock; absent,
 * they are in; anything else is an error naming the input. */
static void
input_says_whether_extensions_are_wanted (void **state)
{
        struct fixture *f = *state;
        pgimg_error_t err = NULL;
        cleanup_free char *input = NULL, *want = NULL;
        static const char head[] = "{\"arch\": \"amd64\", \"keyring\": \"/k.gpg\", \"sets\": {},"
                                   " \"sources\": [{\"url\": \"file:///x\", \"suite\": \"s\", \"components\": []}]";
        const char *tails[] = { "}", ", \"extensions\": false}", ", \"extensions\": true}", ", \"extensions\": 0}" };
        const int wanted[] = { 1, 0, 1, -1 };

        assert_true (asprintf (&input, "%s/packages.json", f->dir) > 0);
        for (size_t i = 0; i < 4; i++) {
                cleanup_free char *text = NULL;
                int w = -1;
                assert_true (asprintf (&text, "%s%s", head, tails[i]) > 0);
                assert_int_equal (fs_write_file_atomic (input, text, strlen (text), 0644, &err), 0);
                if (wanted[i] < 0) {
                        assert_true (lock_input_wants_extensions (input, &w, &err) < 0);
                        assert_true (asprintf (&want, "`%s`: extensions must be true or false", input) > 0);
                        assert_string_equal (err->msg, want);
                        pgimg_error_free (&err);
                        continue;
                }
                assert_int_equal (lock_input_wants_extensions (input, &w, &err), 0);
                assert_int_equal (w, wanted[i]);
        }
}

/* ------------------------------------------------------------------ */
/* lock_update against a local archive signed by a throwaway key        */

static int
run (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
static int
run (const char *fmt, ...)
{
        va_list ap;
        char *cmd = NULL;
        int r;
        va_start (ap, fmt);
        r = vasprintf (&cmd, fmt, ap);
        va_end (ap);
        assert_true (r > 0);
        r = system (cmd);
        free (cmd);
        return r;
}

static const char stanza_fmt[] = "Package: %s\nVersion: %s\nArchitecture: amd64\n"
                                 "Filename: pool/main/%s_%s_amd64.deb\nSize: 10\nSHA256: " SHA_A "\n%s\n";

/* Write dists/s/{Release,InRelease} and the Packages.xz they list. */
static void
publish (const char *archive, const char *gpghome, const char *libc_version, const char *date)
{
        cleanup_free char *packages = NULL;
        FILE *f;

        assert_int_equal (run ("mkdir -p %s/dists/s/main/binary-amd64", archive), 0);
        assert_true (asprintf (&packages, "%s/dists/s/main/binary-amd64/Packages", archive) > 0);
        f = fopen (packages, "w");
        assert_non_null (f);
        fprintf (f, stanza_fmt, "app", "1.0", "app", "1.0", "Depends: libc6 (>= 2)\n");
        fprintf (f, stanza_fmt, "libc6", "2.40-1", "libc6", "2.40-1", "");
        if (libc_version)
                fprintf (f, stanza_fmt, "libc6", libc_version, "libc6", libc_version, "");
        fclose (f);
        assert_int_equal (run ("cd %s/dists/s && xz -f main/binary-amd64/Packages && "
                               "{ printf 'Suite: s\\nDate: %s\\nSHA256:\\n'; "
                               "printf ' %%s %%s main/binary-amd64/Packages.xz\\n' "
                               "$(sha256sum main/binary-amd64/Packages.xz | cut -d' ' -f1) "
                               "$(stat -c %%s main/binary-amd64/Packages.xz); } > Release && "
                               "gpg -q --batch --homedir %s --yes --clearsign -o InRelease Release",
                               archive, date, gpghome),
                          0);
}

static void
update_from_signed_archive (void **state)
{
        struct fixture *f = *state;
        cleanup_free char *gpghome = NULL, *archive = NULL, *keyring = NULL, *input = NULL, *input_text = NULL;
        pgimg_error_t err = NULL;
        struct lock lock;

        if (run ("command -v gpg >/dev/null && command -v gpgv >/dev/null && command -v xz >/dev/null") != 0)
                skip ();
        assert_true (asprintf (&gpghome, "%s/gnupg", f->dir) > 0);
        assert_true (asprintf (&archive, "%s/debian", f->dir) > 0);
        assert_true (asprintf (&keyring, "%s/keyring.gpg", f->dir) > 0);
        assert_true (asprintf (&input, "%s/packages.json", f->dir) > 0);
        assert_int_equal (run ("mkdir -m 700 %s && gpg -q --batch --homedir %s --passphrase '' "
                               "--quick-gen-key 'pgimg test <t@example.org>' ed25519 sign never 2>/dev/null && "
                               "gpg -q --batch --homedir %s --export > %s",
                               gpghome, gpghome, gpghome, keyring),
                          0);
        publish (archive, gpghome, NULL, "Sat, 09 Aug 2025 09:12:34 UTC");
        assert_true (asprintf (&input_text,
                               "{\"arch\": \"amd64\", \"keyring\": \"%s\", \"sets\": {\"runtime\": [\"app\"]},"
                               " \"sources\": [{\"url\": \"file://%s\", \"snapshot\": \"https://snap/debian\","
                               " \"suite\": \"s\", \"components\": [\"main\"]}]}",
                               keyring, archive) > 0);
        assert_int_equal (fs_write_file_atomic (input, input_text, strlen (input_text), 0644, &err), 0);

        if (lock_update (input, NULL, 0, f->path, f->dir, 0, &err) < 0)
                fail_msg ("%s", err->msg);
        assert_int_equal (lock_load (f->path, &lock, &err), 0);
        assert_int_equal (lock.n_pkgs, 2);
        assert_string_equal (lock_find (&lock, "libc6")->version, "2.40-1");
        cleanup_free char *snap = NULL;
        assert_true (asprintf (&snap, "https://snap/debian/20250809T091234Z/pool/main/libc6_2.40-1_amd64.deb") > 0);
        assert_string_equal (lock_find (&lock, "libc6")->urls[1], snap);
        lock_free (&lock);

        assert_int_equal (lock_load (f->path, &lock, &err), 0);
        long long first_date = lock.date;
        lock_free (&lock);

        /* A newer libc6 and a recipe's extra root: a re-lock keeps the
         * pinned libc6 and the lock's date (every layer's mtime), adds
         * the root; --update takes the newer libc6 and the newer date. */
        publish (archive, gpghome, "2.41-1", "Mon, 01 Dec 2025 00:00:00 UTC");
        static const char *const extra_roots[] = { "libc6", NULL };
        const struct lock_request extra = { "build", extra_roots };
        assert_int_equal (lock_update (input, &extra, 1, f->path, f->dir, 0, &err), 0);
        assert_int_equal (lock_load (f->path, &lock, &err), 0);
        assert_string_equal (lock_find (&lock, "libc6")->version, "2.40-1");
        assert_non_null (lock_find_set (&lock, "build"));
        assert_true (lock.date == first_date);
        lock_free (&lock);
        assert_int_equal (lock_update (input, NULL, 0, f->path, f->dir, 1, &err), 0);
        assert_int_equal (lock_load (f->path, &lock, &err), 0);
        assert_string_equal (lock_find (&lock, "libc6")->version, "2.41-1");
        assert_true (lock.date > first_date);
        lock_free (&lock);

        /* A Release changed after signing is refused. */
        assert_int_equal (run ("sed -i 's/^Suite: s/Suite: x/' %s/dists/s/InRelease", archive), 0);
        assert_true (lock_update (input, NULL, 0, f->path, f->dir, 1, &err) < 0);
        cleanup_free char *want = NULL;
        assert_true (asprintf (&want, "the signature of file://%s/dists/s/InRelease does not verify with `%s`: ",
                               archive, keyring) > 0);
        if (strncmp (err->msg, want, strlen (want)) != 0)
                fail_msg ("got `%s`", err->msg);
        pgimg_error_free (&err);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown (load_good_lock, setup, teardown),
                cmocka_unit_test_setup_teardown (refuse_bad_locks, setup, teardown),
                cmocka_unit_test (release_dates_become_timestamps),
                cmocka_unit_test_setup_teardown (refuse_missing_lock, setup, teardown),
                cmocka_unit_test_setup_teardown (update_refuses_bad_input, setup, teardown),
                cmocka_unit_test_setup_teardown (input_says_whether_extensions_are_wanted, setup, teardown),
                cmocka_unit_test_setup_teardown (update_from_signed_archive, setup, teardown),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
