#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* Out of memory while reporting an error: keep a static message so that
 * the caller still sees a failure. */
static char oom_msg[] = "out of memory";

static char *vformat (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

static char *
vformat (const char *fmt, va_list ap)
{
        char *s = NULL;
        if (vasprintf (&s, fmt, ap) < 0)
                return NULL;
        return s;
}

static int
set_error (pgimg_error_t *err, int status, char *msg)
{
        struct pgimg_error_s *e;

        if (err == NULL) {
                if (msg != oom_msg)
                        free (msg);
                return -status - 1;
        }
        e = calloc (1, sizeof (*e));
        if (e == NULL) {
                if (msg != oom_msg)
                        free (msg);
                *err = NULL;
                return -ENOMEM - 1;
        }
        e->status = status;
        e->msg = msg ? msg : oom_msg;
        pgimg_error_free (err);
        *err = e;
        return -status - 1;
}

int
pgimg_make_error (pgimg_error_t *err, int status, const char *fmt, ...)
{
        va_list ap;
        char *msg;

        va_start (ap, fmt);
        msg = vformat (fmt, ap);
        va_end (ap);
        return set_error (err, status, msg);
}

int
pgimg_make_error_errnov (pgimg_error_t *err, int errno_, const char *fmt, va_list ap)
{
        char *head = vformat (fmt, ap), *msg = NULL;

        if (head != NULL && asprintf (&msg, "%s: %s", head, strerror (errno_)) < 0)
                msg = NULL;
        free (head);
        return set_error (err, errno_, msg);
}

int
pgimg_make_error_errno (pgimg_error_t *err, int errno_, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start (ap, fmt);
        r = pgimg_make_error_errnov (err, errno_, fmt, ap);
        va_end (ap);
        return r;
}

int
pgimg_error_wrap (pgimg_error_t *err, const char *fmt, ...)
{
        va_list ap;
        char *head, *msg = NULL;

        if (err == NULL || *err == NULL)
                return -1;
        va_start (ap, fmt);
        head = vformat (fmt, ap);
        va_end (ap);
        if (head != NULL && asprintf (&msg, "%s: %s", head, (*err)->msg) < 0)
                msg = NULL;
        free (head);
        if (msg != NULL) {
                if ((*err)->msg != oom_msg)
                        free ((*err)->msg);
                (*err)->msg = msg;
        }
        return -(*err)->status - 1;
}

void
pgimg_error_free (pgimg_error_t *err)
{
        if (err == NULL || *err == NULL)
                return;
        if ((*err)->msg != oom_msg)
                free ((*err)->msg);
        free (*err);
        *err = NULL;
}
