/* Fuzz the recipe loaders, PostgreSQL's (versions/) and the extensions'
 * (extensions/), each on every input: any bytes must give either a
 * recipe that keeps the loader's promises or an error, never a crash or
 * a leak.
 *
 *   make fuzz CC=clang && build-fuzz/fuzz/fuzz_recipe -dict=... corpus/
 *   make build/tests/fuzz/fuzz_recipe && build/tests/fuzz/fuzz_recipe versions/15.json
 *
 * Built without libFuzzer (no PGIMG_LIBFUZZER), main replays the files
 * named on the command line, e.g. a crash input saved by libFuzzer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/recipe.h"
#include "common/buf.h"
#include "common/fsutil.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* An extension recipe, then what a build asks of it for each major. */
static void
extension (const uint8_t *data, size_t size)
{
        struct ext_recipe r;
        pgimg_error_t err = NULL;

        if (ext_recipe_load_buf ((const char *) data, size, "extensions/fuzz.json", &r, &err) < 0) {
                if (err == NULL || err->msg == NULL)
                        abort ();
                pgimg_error_free (&err);
                return;
        }
        ext_build_name (r.build);
        for (size_t i = 0; r.majors && r.majors[i]; i++) {
                const struct ext_version *v = NULL;
                if (ext_recipe_pick (&r, NULL, r.majors[i], &v, &err) == 0) {
                        if (v == NULL || !ext_version_supports (v, r.majors[i]))
                                abort ();
                        ext_version_deb (v, r.majors[i]);
                }
                pgimg_error_free (&err);
        }
        for (size_t i = 0; i < r.n_versions; i++)
                if (ext_recipe_find (&r, r.versions[i].version) == NULL)
                        abort ();
        ext_recipe_free (&r);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        struct recipe r;
        pgimg_error_t err = NULL;
        int found = 0;

        extension (data, size);
        if (recipe_load_buf ((const char *) data, size, "fuzz.json", &r, &err) < 0) {
                if (err == NULL || err->msg == NULL || r.name != NULL)
                        abort ();
                pgimg_error_free (&err);
                return 0;
        }
        if (r.n_versions == 0 || r.canonical == NULL || r.configure_args == NULL)
                abort ();
        for (size_t i = 0; i < r.n_versions; i++) {
                const struct recipe_version *v = &r.versions[i];
                if (v->n_urls == 0 || v->urls[v->n_urls] != NULL || !sha256_hex_valid (v->sha256)
                    || v->canonical == NULL)
                        abort ();
                found |= strcmp (v->version, r.default_version) == 0;
        }
        if (!found)
                abort ();
        recipe_free (&r);
        return 0;
}

#include "tests/fuzz/replay.h"
