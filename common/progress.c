#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "common/progress.h"

static int quiet;
static int line_drawn;

void
progress_set_quiet (int q)
{
        quiet = q;
}

int
progress_quiet (void)
{
        return quiet;
}

void
progress_note (const char *fmt, ...)
{
        va_list ap;

        if (quiet)
                return;
        progress_done ();
        fputs ("pgimg: ", stderr);
        va_start (ap, fmt);
        vfprintf (stderr, fmt, ap);
        va_end (ap);
        fputc ('\n', stderr);
}

void
progress_update (const char *fmt, ...)
{
        va_list ap;
        char line[128];

        if (quiet || !isatty (STDERR_FILENO))
                return;
        va_start (ap, fmt);
        vsnprintf (line, sizeof (line), fmt, ap);
        va_end (ap);
        fprintf (stderr, "\r\033[K%s", line);
        line_drawn = 1;
}

void
progress_done (void)
{
        if (line_drawn) {
                fputs ("\r\033[K", stderr);
                line_drawn = 0;
        }
}
