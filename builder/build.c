#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "builder/build.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

int
build_jobs (void)
{
        cpu_set_t set;

        if (sched_getaffinity (0, sizeof (set), &set) == 0 && CPU_COUNT (&set) > 0)
                return CPU_COUNT (&set);
        long n = sysconf (_SC_NPROCESSORS_ONLN);
        return n > 0 ? (int) n : 1;
}

/* Run the step's sandbox and wait for it; *code its exit code. */
static int
run_sandbox (const struct build_step *step, const struct sandbox_opts *opts, int *code, pgimg_error_t *err)
{
        cleanup_sandbox struct sandbox *sb = NULL;
        double t = timings_now ();
        int r;

        if (sandbox_start (opts, &sb, err) < 0)
                return pgimg_error_wrap (err, "build %s", step->name);
        t = timings_since (step->timings, step->timing_step, "sandbox set-up", t);
        /* An interruption kills the step before removing its directories. */
        fs_register_child (sandbox_pid (sb));
        r = sandbox_wait (sb, code, err);
        fs_register_child (0);
        if (r < 0)
                return pgimg_error_wrap (err, "build %s", step->name);
        t = timings_since (step->timings, step->timing_step, step->timing_phase, t);
        sandbox_free (steal_pointer (&sb));
        timings_since (step->timings, step->timing_step, "sandbox set-up", t);
        return 0;
}

/* The same with a token of step->jobserver held throughout: the
 * script gets the prelude, the fifo its bind. */
static int
run_with_token (const struct build_step *step, struct sandbox_opts *opts, int *code, pgimg_error_t *err)
{
        const struct jobserver *js = step->jobserver;
        cleanup_free struct sandbox_bind *binds = calloc (step->n_binds + 1, sizeof (*binds));
        cleanup_free char *script = NULL;
        const char *argv[] = { "/bin/sh", "-euc", NULL, "build-step", NULL };
        double t = timings_now ();
        char token;
        int r;

        if (binds == NULL || asprintf (&script, "%s%s", jobserver_script_prelude (), step->script) < 0) {
                script = NULL;
                return pgimg_make_error_errno (err, ENOMEM, "build %s", step->name);
        }
        for (size_t i = 0; i < step->n_binds; i++)
                binds[i] = step->binds[i];
        binds[step->n_binds] = (struct sandbox_bind) { js->fifo, JOBSERVER_SANDBOX_PATH, 0 };
        argv[2] = script;
        opts->binds = binds;
        opts->n_binds = step->n_binds + 1;
        opts->argv = argv;
        if (jobserver_take (js, &token, err) < 0)
                return pgimg_error_wrap (err, "build %s", step->name);
        if (step->waited)
                *step->waited += timings_now () - t;
        timings_since (step->timings, step->timing_step, "wait for a job slot", t);
        r = run_sandbox (step, opts, code, err);
        if (jobserver_give (js, token, r < 0 ? NULL : err) < 0 && r == 0)
                r = -1;
        return r;
}

int
build_run (const struct build_step *step, pgimg_error_t *err)
{
        char *envp[32];
        char sde[64], jobs[32];
        size_t n = 0;
        cleanup_fd int log = -1;
        int code = 0, r;
        const char *argv[] = { "/bin/sh", "-euc", step->script, "build-step", NULL };

        /* The environment is built from nothing: nothing of the caller's
         * (locale, PATH, proxies, credentials) reaches a build. */
        envp[n++] = (char *) "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
        envp[n++] = (char *) "HOME=/tmp";
        envp[n++] = (char *) "TZ=UTC";
        envp[n++] = (char *) "LC_ALL=C";
        envp[n++] = (char *) "LANG=C";
        envp[n++] = (char *) "TMPDIR=/tmp";
        snprintf (sde, sizeof (sde), "SOURCE_DATE_EPOCH=%lld", (long long) step->source_date_epoch);
        envp[n++] = sde;
        snprintf (jobs, sizeof (jobs), "JOBS=%d", step->jobs > 0 ? step->jobs : 1);
        envp[n++] = jobs;
        if (step->jobserver)
                envp[n++] = (char *) step->jobserver->makeflags;
        for (size_t i = 0; step->env && step->env[i]; i++) {
                if (n >= sizeof (envp) / sizeof (envp[0]) - 1)
                        return pgimg_make_error (err, E2BIG, "build %s: too many environment variables",
                                                 step->name);
                envp[n++] = (char *) step->env[i];
        }
        envp[n] = NULL;

        log = open (step->log_path, O_WRONLY | O_CREAT | O_CLOEXEC | (step->append_log ? O_APPEND : O_TRUNC),
                    0644);
        if (log < 0)
                return pgimg_make_error_errno (err, errno, "build %s: open log `%s`", step->name,
                                               step->log_path);

        struct sandbox_opts opts = {
                .root_dir = step->root_dir,
                .binds = step->binds,
                .n_binds = step->n_binds,
                .argv = argv,
                .envp = (const char *const *) envp,
                .cwd = step->cwd ? step->cwd : "/",
                .hostname = "pgimg-build",
                .stdout_fd = log,
                .stderr_fd = log,
        };
        r = step->jobserver ? run_with_token (step, &opts, &code, err) : run_sandbox (step, &opts, &code, err);
        if (r < 0)
                return -1;
        if (code != 0) {
                char why[256];
                if (build_log_error (step->log_path, why, sizeof (why)) > 0)
                        return pgimg_make_error (err, EIO, "build %s failed with exit code %d: %s; log: %s",
                                                 step->name, code, why, step->log_path);
                return pgimg_make_error (err, EIO, "build %s failed with exit code %d; log: %s",
                                         step->name, code, step->log_path);
        }
        return 0;
}

/* The first line of text[0..len) holding needle (case-insensitive), or NULL. */
static const char *
line_with (const char *text, size_t len, const char *needle, size_t *n)
{
        const char *p = text, *end = text + len;
        size_t k = strlen (needle);

        while (p < end) {
                const char *nl = memchr (p, '\n', (size_t) (end - p));
                size_t m = nl ? (size_t) (nl - p) : (size_t) (end - p);
                for (size_t i = 0; i + k <= m; i++)
                        if (strncasecmp (p + i, needle, k) == 0) {
                                *n = m;
                                return p;
                        }
                p += m + 1;
        }
        return NULL;
}

int
build_log_error (const char *log_path, char *out, size_t size)
{
        /* In order: a compiler's or a tool's "error:", a missing command
         * ("sh: 1: autoreconf: not found"), a missing file, make's "***". */
        static const char *const needles[] = { "error:", ": not found", "No such file", "*** " };
        cleanup_buf struct buf b = BUF_INIT;
        pgimg_error_t ignored = NULL;
        const char *line = NULL;
        size_t n = 0;

        if (size == 0)
                return 0;
        out[0] = '\0';
        if (fs_read_file (log_path, 0, &b, &ignored) < 0) {
                pgimg_error_free (&ignored);
                return 0;
        }
        for (size_t i = 0; b.data && line == NULL && i < sizeof (needles) / sizeof (needles[0]); i++)
                line = line_with (b.data, b.len, needles[i], &n);
        if (line == NULL)
                return 0;
        while (n > 0 && (*line == ' ' || *line == '\t')) {
                line++;
                n--;
        }
        if (n >= size)
                n = size - 1;
        memcpy (out, line, n);
        out[n] = '\0';
        for (char *p = out; *p; p++)
                if (*p == '\t' || *p == '\r' || (unsigned char) *p < 0x20)
                        *p = ' ';
        return (int) n;
}

int
build_log_tail (const char *log_path, int lines, struct buf *out, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        size_t i;
        int seen = 0;

        if (fs_read_file (log_path, 0, &b, err) < 0)
                return -1;
        if (b.len == 0)
                return 0;
        i = b.len;
        if (b.data[i - 1] == '\n')
                i--;
        while (i > 0) {
                if (b.data[i - 1] == '\n' && ++seen == lines)
                        break;
                i--;
        }
        if (buf_add (out, b.data + i, b.len - i) < 0)
                return pgimg_make_error_errno (err, errno, "read `%s`", log_path);
        return 0;
}
