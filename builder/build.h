/* build.h - one build step: a shell script run in the sandbox over a
 * build root, its output captured in a log kept after a failure.
 */
#ifndef PGIMG_BUILD_H
#define PGIMG_BUILD_H

#include <stddef.h>
#include <time.h>

#include "builder/jobserver.h"
#include "sandbox/sandbox.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/timings.h"

struct build_step {
        const char *name;               /* "postgres 15.18", for messages */
        const char *root_dir;           /* the build root, read-only */
        const char *script;             /* run as `sh -euc SCRIPT` */
        const struct sandbox_bind *binds;
        size_t n_binds;
        const char *const *env;         /* extra "K=V", NULL-terminated, may be NULL */
        const char *cwd;
        const char *log_path;           /* created (truncated); kept */
        int append_log;                 /* add to the log rather than truncate it */
        time_t source_date_epoch;
        int jobs;
        /* A pool shared with the steps running beside this one (may be
         * NULL): the step holds one of its tokens while its sandbox
         * runs, sees its fifo and gets MAKEFLAGS naming it; its make
         * and cmake drop their -jN (jobserver.h). */
        const struct jobserver *jobserver;
        double *waited;                 /* the wait for the token is added here (may be NULL) */
        /* Where the step's wall time goes (may be NULL): the sandbox's
         * set-up and tear-down to (timing_step, "sandbox set-up"), the
         * script to (timing_step, timing_phase). */
        struct timings *timings;
        const char *timing_step, *timing_phase;
};

/* Run the step with a clean environment: PATH, HOME=/tmp, TZ=UTC,
 * LC_ALL=C, SOURCE_DATE_EPOCH, JOBS, MAKEFLAGS with a jobserver, then
 * step->env.  The wait for a token is the phase "wait for a job slot".  A non-zero exit
 * is an error naming the step, the exit code and the log. */
int build_run (const struct build_step *step, pgimg_error_t *err);

/* The last `lines` lines of a log, appended to out. */
int build_log_tail (const char *log_path, int lines, struct buf *out, pgimg_error_t *err);

/* The line of a failed step's log that says why: the first holding
 * "error:", else ": not found", "No such file" or make's "*** ", trimmed
 * and cut to size - 1 bytes, control characters made spaces.  Returns
 * its length, 0 (out "") when the log is missing or holds none. */
int build_log_error (const char *log_path, char *out, size_t size);

/* Number of CPUs this process may use (at least 1). */
int build_jobs (void);

#endif
