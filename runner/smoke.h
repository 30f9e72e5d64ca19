/* smoke.h - the smoke tests of an image's extensions, run inside a
 * container: for each extension, tests/smoke/<name>.sql (pgTAP) in a
 * fresh database where pgTAP is installed, its TAP output judged.
 *
 * The container is an engine's business (runner/engine.h); this module
 * only runs psql through it and reads what comes back.
 */
#ifndef PGIMG_SMOKE_H
#define PGIMG_SMOKE_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"
#include "runner/engine.h"

struct smoke_tap {
        int planned;            /* -1: no plan line */
        int passed;
        int failed;
        int skipped;            /* "ok N # SKIP" */
        struct buf failures;    /* the "not ok" lines with their diagnostics */
};

/* Judge TAP text: fills t (release t->failures with buf_release). */
void smoke_tap_parse (const char *text, size_t len, struct smoke_tap *t);

/* 1 when the TAP run passed: a plan, no failures, as many tests as planned. */
int smoke_tap_ok (const struct smoke_tap *t);

/* The line of psql's stderr text that says why it failed: the start of
 * the first line with ERROR:, FATAL:, PANIC: or psql's " error: ", else
 * text itself.  Points into text. */
const char *smoke_error_line (const char *text);

struct smoke_case {
        const char *name;       /* "pgvector@0.8.0" */
        const char *file;       /* tests/smoke/pgvector.sql */
        const char *not_built;  /* why it is not in the image (a failed build), or NULL */
        /* Filled by smoke_run: */
        int passed;
        char reason[400];       /* why it failed, one line */
};

/* An update between two versions of one extension in the image, in
 * database smoke: CREATE EXTENSION ext VERSION 'from' and every C
 * function of it loaded; ALTER EXTENSION ext UPDATE TO 'to', and the
 * installed version must be `to`; every C function loaded again, each
 * step in a session of its own.  Where the image versions the module
 * (NAME-VERSION.so, docs/extension-recipes.md), the old version's
 * functions must have named and loaded the old module, the updated ones
 * must name and load the new one only.  Then file, the smoke test of the
 * extension, runs on the updated extension. */
struct smoke_update {
        const char *name;       /* "pgtap 1.3.3 -> 1.3.4" */
        const char *ext;
        const char *from;
        const char *to;
        const char *file;       /* tests/smoke/<recipe>.sql, or NULL */
        int passed;
};

struct smoke_report {
        size_t passed;
        size_t failed;
};

/* Run every case against the running container of eng; prints one TAP
 * line per case on stdout (with the failing test's diagnostics), and
 * counts.  <0 only when the engine itself fails. */
int smoke_run (struct engine *eng, struct smoke_case *cases, size_t n,
               struct smoke_update *updates, size_t n_updates, struct smoke_report *rep,
               pgimg_error_t *err);

#endif
