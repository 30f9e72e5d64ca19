/* migrate_internal.h - what the files of the migration test share.
 * Nothing outside runner/migrate*.c includes this header.
 *
 *   migrate.c          mig_run: the order of the steps; the sandboxes the
 *                      steps and servers run in; initializing a cluster
 *   migrate_cluster.c  steps on a cluster: the data set, fingerprints,
 *                      preload libraries, extension updates
 *   migrate_method.c   pg_upgrade, pg_dumpall and restart
 *   migrate_check.c    comparing before and after
 */
#ifndef PGIMG_MIGRATE_INTERNAL_H
#define PGIMG_MIGRATE_INTERNAL_H

#include <errno.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "runner/migrate.h"

#define OLD_PORT 5433
#define STR_(x) #x
#define STR(x) STR_ (x)
#define NEW_PORT 5434
#define READY_MS (300 * 1000)
#define MAX_REPORT_LINES 40

struct sandbox;

struct mig {
        const struct mig_opts *o;
        struct mig_report *r;
        char *clusters, *sock, *in, *out, *log;
        int log_fd;
        struct sandbox *old_srv, *new_srv;
};

static inline double
now_s (void)
{
        struct timespec t;

        clock_gettime (CLOCK_MONOTONIC, &t);
        return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static inline int
oom (pgimg_error_t *err)
{
        return pgimg_make_error_errno (err, ENOMEM, "migration test");
}

/* ---- migrate.c ---- */

/* The signal that asked the test to stop (mig_interrupt), or 0. */
int mig_was_interrupted (void);
/* Run script with bash in img's root (with OLD's root at /tmp/old when
 * bind_old_root); stdout to out_fd (-1: the log).  Fails, with the
 * log's telling line, when it exits non-zero. */
int mig_step (struct mig *m, const struct mig_image *img, int bind_old_root, const char *what,
              const char *const *extra_env, int out_fd, const char *script, pgimg_error_t *err);
/* Start img's server on the old or the new data directory, listening on
 * the socket of port only, and wait until it accepts connections. */
int mig_server_start (struct mig *m, const struct mig_image *img, int on_old_data, int port,
                      struct sandbox **sb, pgimg_error_t *err);
/* Stop the server *sb, if any, and free it (*sb becomes NULL). */
int mig_server_stop (struct mig *m, struct sandbox **sb, const char *label, pgimg_error_t *err);
/* out/<name> into b (never NULL data). */
int mig_read_out (struct mig *m, const char *name, struct buf *b, pgimg_error_t *err);
int mig_init_cluster (struct mig *m, const struct mig_image *img, int is_old, const char *initdb_args,
                      pgimg_error_t *err);

/* ---- migrate_cluster.c ---- */

/* Append to the new cluster's postgresql.conf (fd) the preload libraries
 * of the old one it lacks. */
int mig_carry_preload (struct mig *m, const char *conf, int fd, pgimg_error_t *err);
int mig_load_data (struct mig *m, pgimg_error_t *err);
int mig_fingerprint (struct mig *m, int port, const char *tag, pgimg_error_t *err);
int mig_check_new_has_extensions (struct mig *m, const char *facts, pgimg_error_t *err);
int mig_update_extensions (struct mig *m, int port, pgimg_error_t *err);
/* Shell lines for a loop over the databases ($db): run sql where
 * extension name is installed.  -1 out of memory. */
int mig_ext_sql (struct buf *b, const char *name, const char *sql);
/* "name version" of NEW's extensions in the database `migration`. */
int mig_list_carried (struct mig *m, const char *facts, pgimg_error_t *err);
/* Refuse pg_upgrade where an extension needs OLD's version in NEW. */
/* 1 when the image's PostgreSQL has extension NAME (its control file). */
int mig_has_control (const struct mig_image *img, const char *name);
/* "-c name=value ..." of the recipes' restore settings whose extension
 * img has; "" when none.  -1 out of memory. */
int mig_restore_settings (const struct mig_opts *o, const struct mig_image *img, struct buf *out,
                          pgimg_error_t *err);
int mig_check_same_versions (struct mig *m, const char *facts, pgimg_error_t *err);

/* ---- migrate_method.c ---- */

int mig_run_pg_upgrade (struct mig *m, pgimg_error_t *err);
int mig_run_pg_dumpall (struct mig *m, pgimg_error_t *err);
int mig_run_restart (struct mig *m, pgimg_error_t *err);

/* ---- migrate_check.c ---- */

/* List the old data directory into out/<name>. */
int mig_manifest (struct mig *m, const char *name, pgimg_error_t *err);
int mig_check_old_data (struct mig *m, pgimg_error_t *err);
/* What became of the old data directory after the method: unchanged
 * (copy, pg_dumpall), disabled (--link) or NEW's own (restart); a
 * change that should not be is counted as a difference. */
int mig_judge_old_data (struct mig *m, pgimg_error_t *err);
int mig_compare (struct mig *m, pgimg_error_t *err);

#endif
