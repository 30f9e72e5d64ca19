/* fingerprint.h - what a migration test compares: facts about a cluster
 * taken before and after an upgrade, and the files of the old data
 * directory.
 *
 * A fingerprint is text, one fact a line, tab-separated, as
 * tests/migrations/fingerprint.sql prints it with the database in front:
 *
 *   DB  KIND  NAME  VALUE...      e.g.  migration table public.orders 100000 8731...
 *
 * (DB, KIND, NAME) is the fact's key; the rest its value.  Two
 * fingerprints match when they hold the same keys with the same values,
 * except extension versions, which an upgrade may move forward (they are
 * listed as updates, and checked elsewhere against the new image).  An
 * "index" fact (NAME a query, VALUE its result's hash and "t" when its
 * plan used an index) must also say "t" after the upgrade.
 */
#ifndef PGIMG_FINGERPRINT_H
#define PGIMG_FINGERPRINT_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

struct fp_result {
        size_t n_facts;         /* facts compared */
        size_t n_tables;        /* "table" facts */
        unsigned long long n_rows;      /* rows in the tables, from before */
        size_t n_diffs;         /* differences written to the report */
        size_t n_updates;       /* extension versions that moved */
        size_t n_ext_changed;   /* tables of those extensions changed or added by
                                 * the update, with no row lost */
};

/* Compare two fingerprints; each difference is one line of report
 * ("  table migration.public.orders: 100000 rows, hash 87.. before; 99872 rows, hash 12.. after"),
 * at most max_lines of them (the rest are counted).  Updates go to updates
 * ("vector 0.8.0 -> 0.8.7"), comma-separated. */
int fp_compare (const char *before, size_t before_len, const char *after, size_t after_len,
                size_t max_lines, struct buf *report, struct buf *updates, struct fp_result *res,
                pgimg_error_t *err);

/* Normalize a `pg_dump --schema-only`, or a fingerprint, in place: comments, blank lines,
 * SET lines and \restrict lines are dropped, then masks apply, one a
 * line ('#' comments and blank lines skipped), POSIX extended regular
 * expressions:
 *
 *   REGEX                      lines that match are dropped
 *   s<TAB>REGEX<TAB>REPL       every match replaced by REPL (\1..\9 its groups),
 *                              again until the line no longer changes
 *
 * and the roles of CREATE POLICY lines are sorted.  A bad mask fails
 * naming it. */
int fp_normalize (struct buf *dump, const char *masks, pgimg_error_t *err);

/* Compare two normalized dumps as multisets of lines: a line only in one
 * of them is a difference ("  schema: only before: CREATE INDEX ...").
 * *n_diffs counts them; at most max_lines are written. */
int fp_schema_compare (const char *label, const char *before, const char *after, size_t max_lines,
                       struct buf *report, size_t *n_diffs, pgimg_error_t *err);

/* Every regular file under dir, sorted: "PATH\tSIZE\tSHA256\n", PATH
 * relative to dir; symbolic links as "PATH\t->\tTARGET".  *bytes is the
 * total size hashed. */
int fp_tree_manifest (const char *dir, struct buf *out, unsigned long long *bytes, pgimg_error_t *err);

/* The files a server rewrites whenever it starts and stops, whatever
 * the data: the control file, WAL, statistics, pg_subtrans, the
 * relation cache's init files, options of the last start.  A data directory left "unchanged" may differ in these only. */
int fp_tree_volatile (const char *path);

/* Compare two manifests, skipping paths fp_tree_volatile accepts; one
 * report line per file added, removed or changed.  *n_checked counts the
 * files compared. */
int fp_tree_compare (const char *before, const char *after, size_t max_lines, struct buf *report,
                     size_t *n_diffs, size_t *n_checked, pgimg_error_t *err);

#endif
