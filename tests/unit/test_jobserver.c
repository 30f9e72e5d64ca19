/* test_jobserver.c - the token pool of concurrent build steps
 * (builder/jobserver.c): its tokens, and a real GNU make drawing from it
 * through the script prelude, whose -jN must not give make a pool of its
 * own.  The host's make may predate fifos (4.4), so the test hands make
 * the pool as descriptors, the same pipe under another name. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/jobserver.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

/* Two jobs that leave `overlap` behind when they ran at the same time. */
static const char makefile[] =
        "all: a b\n"
        "a b:\n"
        "\t@touch $@.start; sleep 0.4; other=$(if $(filter a,$@),b,a); "
        "if [ -e $$other.start ] && [ ! -e $$other.done ]; then touch overlap; fi; touch $@.done\n";

/* Run `make -j9 all` in dir under the prelude with the pool in
 * MAKEFLAGS, holding one token as a build step does; 1 when the two
 * jobs overlapped. */
static int
make_overlaps (const struct jobserver *js, const char *dir)
{
        cleanup_free char *cmd = NULL, *mk = NULL, *overlap = NULL;
        char token;
        int fd = dup (js->fd);  /* without CLOEXEC, for make */
        int rc;

        assert_true (fd >= 0);
        assert_int_equal (asprintf (&mk, "%s/Makefile", dir) > 0, 1);
        assert_int_equal (fs_write_file_atomic (mk, makefile, strlen (makefile), 0644, NULL), 0);
        assert_int_equal (asprintf (&cmd, "cd '%s' && rm -f *.start *.done overlap && "
                                    "MAKEFLAGS='-j%d --jobserver-auth=%d,%d' sh -euc '%s make -j9 -s all'",
                                    dir, js->tokens, fd, fd, jobserver_script_prelude ()) > 0, 1);
        assert_int_equal (jobserver_take (js, &token, NULL), 0);
        rc = system (cmd);
        assert_int_equal (jobserver_give (js, token, NULL), 0);
        close (fd);
        assert_int_equal (rc, 0);
        assert_int_equal (asprintf (&overlap, "%s/overlap", dir) > 0, 1);
        return access (overlap, F_OK) == 0;
}

static void
tokens_are_taken_and_given_back (void **state)
{
        cleanup_free char *dir = NULL;
        struct jobserver js = JOBSERVER_INIT;
        char a, b;
        (void) state;

        assert_int_equal (fs_mkdtemp ("/tmp", "js", &dir, NULL), 0);
        assert_int_equal (jobserver_open (dir, 2, &js, NULL), 0);
        assert_int_equal (jobserver_free_tokens (&js, NULL), 2);
        assert_non_null (strstr (js.makeflags, "--jobserver-auth=fifo:" JOBSERVER_SANDBOX_PATH));
        assert_int_equal (jobserver_take (&js, &a, NULL), 0);
        assert_int_equal (jobserver_take (&js, &b, NULL), 0);
        assert_int_equal (jobserver_free_tokens (&js, NULL), 0);
        assert_int_equal (jobserver_give (&js, a, NULL), 0);
        assert_int_equal (jobserver_give (&js, b, NULL), 0);
        assert_int_equal (jobserver_free_tokens (&js, NULL), 2);
        jobserver_close (&js);
        assert_int_equal (js.fd, -1);
        fs_drop_temp_dir (dir);     /* removed, and no longer on the list to clean up */
        assert_int_equal (access (dir, F_OK), -1);
}

/* Two tokens: the step's and one for make, so both jobs run at once;
 * one token: the step's only, so make runs them one after the other
 * whatever its -j9 said, and every token is back afterwards. */
static void
make_draws_from_the_pool (void **state)
{
        cleanup_free char *dir = NULL;
        struct jobserver two = JOBSERVER_INIT, one = JOBSERVER_INIT;
        (void) state;

        if (system ("make --version >/dev/null 2>&1") != 0)
                skip ();
        assert_int_equal (fs_mkdtemp ("/tmp", "js", &dir, NULL), 0);
        assert_int_equal (jobserver_open (dir, 2, &two, NULL), 0);
        assert_int_equal (make_overlaps (&two, dir), 1);
        assert_int_equal (jobserver_free_tokens (&two, NULL), 2);
        assert_int_equal (jobserver_open (dir, 1, &one, NULL), 0);
        assert_int_equal (make_overlaps (&one, dir), 0);
        assert_int_equal (jobserver_free_tokens (&one, NULL), 1);
        jobserver_close (&two);
        jobserver_close (&one);
        fs_drop_temp_dir (dir);     /* removed, and no longer on the list to clean up */
        assert_int_equal (access (dir, F_OK), -1);
}

int
main (void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test (tokens_are_taken_and_given_back),
                cmocka_unit_test (make_draws_from_the_pool),
        };
        return cmocka_run_group_tests (tests, NULL, NULL);
}
