/* slice.c - balanced, deterministic slices of weighted items. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/number.h"
#include "common/slice.h"

int
slice_parse (const char *s, struct slice_spec *out, pgimg_error_t *err)
{
        const char *slash = strchr (s, '/');
        cleanup_free char *first = NULL;
        long i, n;

        if (slash == NULL || (first = strndup (s, (size_t) (slash - s))) == NULL
            || number_parse_long (first, 1, SLICE_MAX, &i) < 0 || number_parse_long (slash + 1, 1, SLICE_MAX, &n) < 0
            || i > n)
                return pgimg_make_error (err, EINVAL,
                                         "`%s` is not a slice: write I/N, whole numbers with 1 <= I <= N <= %d (like 2/4)",
                                         s, SLICE_MAX);
        out->index = (unsigned) i;
        out->count = (unsigned) n;
        return 0;
}

struct item {
        const char *name;
        double weight;
        size_t at;
};

/* Heaviest first; equal weights by name. */
static int
heaviest_first (const void *a, const void *b)
{
        const struct item *x = a, *y = b;

        if (x->weight != y->weight)
                return x->weight > y->weight ? -1 : 1;
        return strcmp (x->name, y->name);
}

int
slice_assign (const char *const *names, const double *weights, size_t n, unsigned count,
              unsigned *slice_of, pgimg_error_t *err)
{
        cleanup_free struct item *items = calloc (n + 1, sizeof (*items));
        cleanup_free double *load = calloc (count + 1, sizeof (*load));

        if (count == 0)
                return pgimg_make_error (err, EINVAL, "no slices to share %zu items between", n);
        if (items == NULL || load == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "slices");
        for (size_t i = 0; i < n; i++)
                items[i] = (struct item) { names[i], weights[i] > 0 ? weights[i] : 0, i };
        qsort (items, n, sizeof (*items), heaviest_first);
        for (size_t i = 0; i < n; i++) {
                unsigned least = 0;
                for (unsigned s = 1; s < count; s++)
                        if (load[s] < load[least])
                                least = s;
                load[least] += items[i].weight;
                slice_of[items[i].at] = least;
        }
        return 0;
}
