/* timings.h - where a command's wall time went: records of (step,
 * phase, seconds), kept in the order they were first made, as a table
 * for people and a JSON array for machines.
 *
 * Recording only reads the monotonic clock: it never changes what is
 * built, a cache key or an output byte.  It never fails the work it
 * measures either: an allocation that fails is remembered and reported
 * once, by timings_format and timings_json, like jsonw's errors.
 */
#ifndef PGIMG_TIMINGS_H
#define PGIMG_TIMINGS_H

#include <stddef.h>

#include "common/buf.h"

struct timing {
        char *step;             /* "postgres", "pgvector@0.8.0", "image" */
        char *phase;            /* "configure", "layer postgres-dev" */
        double seconds;         /* wall */
        int cached;             /* taken from a cache: nothing ran */
};

struct timings {
        struct timing *items;
        size_t n, alloc;
        int failed;             /* an allocation failed: the records are incomplete */
};
#define TIMINGS_INIT { NULL, 0, 0, 0 }

/* Seconds on the monotonic clock, from an arbitrary origin. */
double timings_now (void);

/* Add seconds to the record (step, phase), made at its first use: a
 * phase that runs several times (a sandbox set up for each part of a
 * build) is one record of their sum.  t may be NULL: nothing is kept. */
void timings_add (struct timings *t, const char *step, const char *phase, double seconds);
/* The time from start to now added to (step, phase); returns now, the
 * start of the next phase. */
double timings_since (struct timings *t, const char *step, const char *phase, double start);
/* The same for a (step, phase) taken from a cache (the time it took to
 * find it there), marked so: nothing was built. */
double timings_cached (struct timings *t, const char *step, const char *phase, double start);

/* Every record of from added to t (the records of a worker process). */
void timings_merge (struct timings *t, const struct timings *from);

/* The records as a table appended to out: one line a record with its
 * seconds and its share of total_seconds (the whole command's wall
 * time), "cached" for cached ones, then the total.  Phases that ran at
 * the same time (extension builds side by side) can add up to more than
 * the total.  -1 (errno ENOMEM) when out could not grow or a record was
 * lost (t->failed). */
int timings_format (const struct timings *t, double total_seconds, struct buf *out);

/* The records as lines "step<TAB>phase<TAB>seconds<TAB>cached", and
 * back: how a worker process hands its records to its parent.
 * timings_parse adds the records of text to t; a malformed line is
 * skipped (records are for information only). */
int timings_serialize (const struct timings *t, struct buf *out);
void timings_parse (struct timings *t, const char *text, size_t len);

void timings_free (struct timings *t);

struct jsonw;
/* The records as a JSON array of {"step", "phase", "seconds"} (and
 * "cached": true for cached ones) at w's current position.  A lost
 * record (t->failed) makes w fail with ENOMEM. */
void timings_json (const struct timings *t, struct jsonw *w);

#endif
