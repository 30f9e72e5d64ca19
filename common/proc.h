/* proc.h - run another program (gpgv, docker) and collect its output.
 *
 * The program is looked up in PATH and gets this process's
 * environment; its stdout and stderr are read at once, so neither can
 * block it.  The child is killed and reaped if the caller fails.
 */
#ifndef PGIMG_PROC_H
#define PGIMG_PROC_H

#include "common/buf.h"
#include "common/error.h"

/* Run argv with stdin from stdin_path (NULL: /dev/null), appending its
 * stdout to out and stderr to errout (either may be NULL to drop it).
 * *status is the wait status.  <0 only when it could not be run. */
int proc_run (char *const argv[], const char *stdin_path, struct buf *out, struct buf *errout,
              int *status, pgimg_error_t *err);

#endif
