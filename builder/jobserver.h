/* jobserver.h - one pool of job tokens for every build step of a pgimg
 * run that builds several at once: a GNU make (4.4) jobserver whose fifo
 * each step's sandbox sees read-only at JOBSERVER_SANDBOX_PATH.
 *
 * The pool holds one token per core.  A step takes one before its
 * sandbox starts and gives it back when the sandbox has ended: that is
 * its make's implicit job (and its configure's, its tar's); make draws
 * any further job from the same fifo.  So the steps together never run
 * more make jobs than there are cores, while pgimg's own work between
 * steps (build roots, layers) overlaps theirs.  It changes when things
 * run, never what a step makes: it enters no cache key and no output.
 */
#ifndef PGIMG_JOBSERVER_H
#define PGIMG_JOBSERVER_H

#include "common/error.h"

#define JOBSERVER_SANDBOX_PATH "/tmp/pgimg-jobserver"

struct jobserver {
        char *dir;              /* the scratch directory holding the fifo */
        char *fifo;             /* <dir>/fifo */
        int fd;                 /* read and write, open for the run's life */
        int tokens;
        char makeflags[64];     /* "MAKEFLAGS=-jN --jobserver-auth=fifo:..." */
};
#define JOBSERVER_INIT { NULL, NULL, -1, 0, "" }

/* A pool of `tokens` (1 to 256) in a fifo under cache_dir's scratch
 * directory.  Forked workers share it through js->fd.  On failure
 * nothing is left behind and js is as JOBSERVER_INIT. */
int jobserver_open (const char *cache_dir, int tokens, struct jobserver *js, pgimg_error_t *err);

/* Take a token (waiting for one, EINTR retried) into *token. */
int jobserver_take (const struct jobserver *js, char *token, pgimg_error_t *err);

/* Give a token taken with jobserver_take back to the pool. */
int jobserver_give (const struct jobserver *js, char token, pgimg_error_t *err);

/* How many tokens the pool holds now (FIONREAD), or <0 with *err. */
int jobserver_free_tokens (const struct jobserver *js, pgimg_error_t *err);

/* The sh lines a step's script starts with so that its make and cmake
 * draw from the pool: their `-jN` (`-j N` for `cmake --build`), which
 * would give make a pool of its own, is dropped.  Static storage. */
const char *jobserver_script_prelude (void);

/* Close and remove the fifo and its directory.  JOBSERVER_INIT is allowed. */
void jobserver_close (struct jobserver *js);

#endif
