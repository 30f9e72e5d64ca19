/* ext_times.h - how long each extension layer took to build, kept in
 * the cache beside the layers: <cache_dir>/build-times/NAME@VERSION-pgMAJOR
 * holds the wall milliseconds of the last build of that layer (less
 * its wait for a job slot, which says more of its neighbours), one
 * whole number.  `pgimg list --extensions --slice` weighs extensions by
 * them.  A record is a hint and never part of a key: a missing or
 * unreadable one is unknown, not an error.
 */
#ifndef PGIMG_EXT_TIMES_H
#define PGIMG_EXT_TIMES_H

#include <stddef.h>

#include "common/error.h"

/* Record that the layer of name@version for major took seconds to
 * build (atomically, replacing the last record). */
int ext_times_record (const char *cache_dir, const char *name, const char *version, const char *major,
                      double seconds, pgimg_error_t *err);

/* The seconds of the last build of name@version for major, or -1 when
 * there is no readable record. */
double ext_times_get (const char *cache_dir, const char *name, const char *version, const char *major);

/* The seconds of every record of extension name (each version and
 * major's last build) added up into *seconds: 1 when there was one, 0
 * when none (*seconds 0); <0 only on ENOMEM. */
int ext_times_total (const char *cache_dir, const char *name, double *seconds, pgimg_error_t *err);

/* A record's text ("1234\n") as seconds; -1 when it is not one. */
int ext_times_parse (const char *text, size_t len, double *seconds);

#endif
