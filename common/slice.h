/* slice.h - one of N disjoint slices of a list of weighted items, for
 * spreading work over N machines (a CI matrix): items go longest first,
 * each onto the slice with the least weight so far, so the slices come
 * out about even.  Ties go by name (the smaller first) and then to the
 * lower slice: the same items and weights give the same slices on every
 * machine.  Knows nothing of what the items are.
 */
#ifndef PGIMG_SLICE_H
#define PGIMG_SLICE_H

#include <stddef.h>

#include "common/error.h"

#define SLICE_MAX 1024

/* The I-th (1-based) of count slices. */
struct slice_spec {
        unsigned index;
        unsigned count;
};

/* "I/N" with 1 <= I <= N <= SLICE_MAX, whole decimal numbers and
 * nothing else, into *out; else an error (EINVAL) naming the text and
 * the form wanted, *out untouched. */
int slice_parse (const char *s, struct slice_spec *out, pgimg_error_t *err);

/* The slice (0-based, below count) of each of n items into slice_of[i]:
 * names[i] unique, weights[i] positive (a smaller one counts as 0).
 * Fails only on ENOMEM or a count of 0. */
int slice_assign (const char *const *names, const double *weights, size_t n, unsigned count,
                  unsigned *slice_of, pgimg_error_t *err);

#endif
