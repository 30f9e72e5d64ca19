/* error.h - pgimg's one error type.
 *
 * Library code never prints and never exits: a function that can fail
 * returns a negative int and fills the error passed last.  Only cli/
 * turns an error into a line on stderr.  Errors from libraries are
 * converted where they enter pgimg (see the _from_ helpers).
 */
#ifndef PGIMG_ERROR_H
#define PGIMG_ERROR_H

#include <stdarg.h>

typedef struct pgimg_error_s {
        int status;             /* errno when the cause was a system call, else 0 */
        char *msg;
} *pgimg_error_t;

/* Fill *err (which must be NULL) with a formatted message.  Returns
 * -status - 1, so `return pgimg_make_error (...)` is always negative. */
int pgimg_make_error (pgimg_error_t *err, int status, const char *fmt, ...)
        __attribute__ ((format (printf, 3, 4)));

/* Like pgimg_make_error, appending ": strerror(errno)". */
int pgimg_make_error_errno (pgimg_error_t *err, int errno_, const char *fmt, ...)
        __attribute__ ((format (printf, 3, 4)));

/* pgimg_make_error_errno with a va_list, for helpers that take a
 * message format from their caller. */
int pgimg_make_error_errnov (pgimg_error_t *err, int errno_, const char *fmt, va_list ap)
        __attribute__ ((format (printf, 3, 0)));
/* Prefix the message in *err with "context: ".  Returns the same
 * negative value as the original error. */
int pgimg_error_wrap (pgimg_error_t *err, const char *fmt, ...)
        __attribute__ ((format (printf, 2, 3)));

void pgimg_error_free (pgimg_error_t *err);

#endif
