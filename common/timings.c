#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/jsonw.h"
#include "common/timings.h"

double
timings_now (void)
{
        struct timespec ts;

        /* CLOCK_MONOTONIC cannot fail with a valid clock and pointer;
         * a clock that steps (NTP) would make phases negative. */
        clock_gettime (CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static struct timing *
find_or_add (struct timings *t, const char *step, const char *phase, int cached)
{
        for (size_t i = 0; i < t->n; i++)
                if (strcmp (t->items[i].step, step) == 0 && strcmp (t->items[i].phase, phase) == 0)
                        return &t->items[i];
        /* A build has a few dozen phases: grow by a page of records. */
        if (t->n == t->alloc) {
                struct timing *items = reallocarray (t->items, t->alloc + 64, sizeof (*items));
                if (items == NULL)
                        return NULL;
                t->items = items;
                t->alloc += 64;
        }
        struct timing *r = &t->items[t->n];
        memset (r, 0, sizeof (*r));
        r->cached = cached;
        r->step = strdup (step);
        r->phase = strdup (phase);
        if (r->step == NULL || r->phase == NULL) {
                free (r->step);
                free (r->phase);
                return NULL;
        }
        t->n++;
        return r;
}

static void
record (struct timings *t, const char *step, const char *phase, double seconds, int cached)
{
        struct timing *r;

        if (t == NULL || step == NULL || phase == NULL)
                return;
        if ((r = find_or_add (t, step, phase, cached)) == NULL) {
                t->failed = 1;
                return;
        }
        /* The monotonic clock does not go back; a sum never shows -0.00. */
        r->seconds += seconds > 0 ? seconds : 0;
        /* Cached only when nothing ran: a layer a worker built and its
         * parent then took from the cache was built. */
        r->cached = r->cached && cached;
}

void
timings_add (struct timings *t, const char *step, const char *phase, double seconds)
{
        record (t, step, phase, seconds, 0);
}

double
timings_since (struct timings *t, const char *step, const char *phase, double start)
{
        double now = timings_now ();

        record (t, step, phase, now - start, 0);
        return now;
}

double
timings_cached (struct timings *t, const char *step, const char *phase, double start)
{
        double now = timings_now ();

        record (t, step, phase, now - start, 1);
        return now;
}

void
timings_merge (struct timings *t, const struct timings *from)
{
        for (size_t i = 0; i < from->n; i++)
                record (t, from->items[i].step, from->items[i].phase, from->items[i].seconds,
                        from->items[i].cached);
        if (t && from->failed)
                t->failed = 1;
}

int
timings_format (const struct timings *t, double total_seconds, struct buf *out)
{
        int w_step = 5, w_phase = 5;    /* "total", "phase" */

        if (t->failed) {
                errno = ENOMEM;
                return -1;
        }
        for (size_t i = 0; i < t->n; i++) {
                int ls = (int) strlen (t->items[i].step), lp = (int) strlen (t->items[i].phase);
                w_step = ls > w_step ? (ls < 40 ? ls : 40) : w_step;
                w_phase = lp > w_phase ? (lp < 40 ? lp : 40) : w_phase;
        }
        if (buf_addf (out, "%-*s  %-*s  %9s  %6s\n", w_step, "step", w_phase, "phase", "seconds", "share") < 0)
                return -1;
        for (size_t i = 0; i < t->n; i++) {
                const struct timing *r = &t->items[i];
                if (buf_addf (out, "%-*s  %-*s  %9.2f  %5.1f%%%s\n", w_step, r->step, w_phase, r->phase,
                              r->seconds, total_seconds > 0 ? 100.0 * r->seconds / total_seconds : 0.0,
                              r->cached ? "  cached" : "") < 0)
                        return -1;
        }
        return buf_addf (out, "%-*s  %-*s  %9.2f  %5.1f%%\n", w_step, "total", w_phase, "",
                         total_seconds > 0 ? total_seconds : 0.0, 100.0);
}

int
timings_serialize (const struct timings *t, struct buf *out)
{
        if (t->failed) {
                errno = ENOMEM;
                return -1;
        }
        for (size_t i = 0; i < t->n; i++)
                if (buf_addf (out, "%s\t%s\t%.6f\t%d\n", t->items[i].step, t->items[i].phase,
                              t->items[i].seconds, t->items[i].cached) < 0)
                        return -1;
        return 0;
}

/* One line "step\tphase\tseconds\tcached" (NUL-terminated, modified). */
static void
parse_line (struct timings *t, char *line)
{
        char *step = line, *phase, *secs, *cached, *end;
        double seconds;

        if ((phase = strchr (step, '\t')) == NULL)
                return;
        *phase++ = '\0';
        if ((secs = strchr (phase, '\t')) == NULL)
                return;
        *secs++ = '\0';
        if ((cached = strchr (secs, '\t')) == NULL)
                return;
        *cached++ = '\0';
        errno = 0;
        seconds = strtod (secs, &end);
        if (errno || end == secs || *end || !(seconds >= 0 && seconds < 1e9) || !*step || !*phase
            || (strcmp (cached, "0") != 0 && strcmp (cached, "1") != 0))
                return;
        record (t, step, phase, seconds, cached[0] == '1');
}

void
timings_parse (struct timings *t, const char *text, size_t len)
{
        while (len > 0) {
                const char *nl = memchr (text, '\n', len);
                size_t n = nl ? (size_t) (nl - text) : len;
                char *line = strndup (text, n);
                if (line == NULL) {
                        t->failed = 1;
                        return;
                }
                parse_line (t, line);
                free (line);
                text += nl ? n + 1 : n;
                len -= nl ? n + 1 : n;
        }
}

void
timings_free (struct timings *t)
{
        for (size_t i = 0; i < t->n; i++) {
                free (t->items[i].step);
                free (t->items[i].phase);
        }
        free (t->items);
        memset (t, 0, sizeof (*t));
}

void
timings_json (const struct timings *t, struct jsonw *w)
{
        if (t->failed && !w->failed)
                w->failed = ENOMEM;
        jsonw_array (w);
        for (size_t i = 0; i < t->n; i++) {
                jsonw_object (w);
                jsonw_kv_string (w, "step", t->items[i].step);
                jsonw_kv_string (w, "phase", t->items[i].phase);
                jsonw_kv_fixed (w, "seconds", t->items[i].seconds, 3);
                if (t->items[i].cached)
                        jsonw_kv_bool (w, "cached", 1);
                jsonw_end (w);
        }
        jsonw_end (w);
}
