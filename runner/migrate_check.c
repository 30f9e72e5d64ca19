/* migrate_check.c - what the migration test compares: the fingerprints
 * and schemas before and after, and the old data directory against its
 * listing from before the upgrade (see migrate.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "runner/fingerprint.h"
#include "runner/migrate_internal.h"

int
mig_manifest (struct mig *m, const char *name, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_free char *dir = NULL;
        cleanup_free char *path = NULL;

        if (asprintf (&dir, "%s/old", m->clusters) < 0 || asprintf (&path, "%s/%s", m->out, name) < 0)
                return oom (err);
        if (fp_tree_manifest (dir, &b, NULL, err) < 0)
                return pgimg_error_wrap (err, "list the old data directory");
        return fs_write_file_atomic (path, b.data, b.len, 0644, err);
}

/* The old data directory against its listing from before the upgrade. */
int
mig_check_old_data (struct mig *m, pgimg_error_t *err)
{
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        size_t n_diffs, n_checked;

        if (mig_manifest (m, "old-after.txt", err) < 0 || mig_read_out (m, "old-before.txt", &a, err) < 0
            || mig_read_out (m, "old-after.txt", &b, err) < 0)
                return -1;
        if (fp_tree_compare (a.data, b.data, MAX_REPORT_LINES, &m->r->differences, &n_diffs, &n_checked, err) < 0)
                return -1;
        m->r->diffs += n_diffs;
        m->r->old_files = n_checked;
        m->r->old_data = n_diffs ? "changed" : "unchanged";
        return 0;
}

/* For pg_dumpall: a mask dropping the facts of each table that a
 * recipe says a dump leaves empty, where OLD's fingerprint has rows in it; the
 * report names them, with the recipe's reason. */
static int
dump_loss_masks (struct mig *m, const char *before, struct buf *masks, pgimg_error_t *err)
{
        for (size_t i = 0; i < m->o->n_exts; i++) {
                const struct mig_ext *e = &m->o->exts[i];
                size_t n = 0;
                if (e->dump_loses == NULL)
                        continue;
                for (size_t j = 0; e->dump_loses[j]; j++) {
                        cleanup_free char *fact = NULL;
                        const char *hit;
                        if (asprintf (&fact, "\ttable\t%s\t", e->dump_loses[j]) < 0)
                                return oom (err);
                        /* Only a table that had rows: an empty one loses nothing. */
                        if ((hit = strstr (before, fact)) == NULL || strncmp (hit + strlen (fact), "0\t", 2) == 0)
                                continue;
                        /* Names are [a-z0-9_.]: only the dot needs escaping. */
                        if (buf_adds (masks, "\n^[^\t]+\ttable\t") < 0)
                                return oom (err);
                        for (const char *p = e->dump_loses[j]; *p; p++)
                                if ((*p == '.' && buf_adds (masks, "\\") < 0) || buf_addf (masks, "%c", *p) < 0)
                                        return oom (err);
                        if (buf_adds (masks, "\t\n") < 0)
                                return oom (err);
                        if ((n == 0 && buf_addf (&m->r->dump_lost, "%s%s: ", m->r->dump_lost.len ? "; " : "", e->name) < 0)
                            || (n > 0 && buf_adds (&m->r->dump_lost, ", ") < 0)
                            || buf_adds (&m->r->dump_lost, e->dump_loses[j]) < 0)
                                return oom (err);
                        n++;
                }
                if (n && buf_addf (&m->r->dump_lost, " (%s)", e->dump_loses_why) < 0)
                        return oom (err);
        }
        return 0;
}

int
mig_compare (struct mig *m, pgimg_error_t *err)
{
        cleanup_buf struct buf a = BUF_INIT;
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_buf struct buf masks = BUF_INIT;
        struct fp_result res;
        size_t n;

        if (mig_read_out (m, "fp-before.txt", &a, err) < 0 || mig_read_out (m, "fp-after.txt", &b, err) < 0)
                return -1;
        if (m->o->fact_masks_file && fs_read_file (m->o->fact_masks_file, 1 << 20, &masks, err) < 0)
                return pgimg_error_wrap (err, "fact masks");
        if (m->o->method == MIG_PG_DUMPALL && dump_loss_masks (m, a.data ? a.data : "", &masks, err) < 0)
                return -1;
        if (fp_normalize (&a, masks.data, err) < 0 || fp_normalize (&b, masks.data, err) < 0)
                return -1;
        buf_reset (&masks);
        if (fp_compare (a.data, a.len, b.data, b.len, MAX_REPORT_LINES, &m->r->differences, &m->r->updates, &res,
                        err) < 0)
                return -1;
        m->r->rows = res.n_rows;
        m->r->tables = res.n_tables;
        m->r->facts = res.n_facts;
        m->r->ext_changed = res.n_ext_changed;
        m->r->diffs += res.n_diffs;
        if (m->o->masks_file && fs_read_file (m->o->masks_file, 1 << 20, &masks, err) < 0)
                return pgimg_error_wrap (err, "schema masks");
        if (mig_read_out (m, "schema-before.sql", &a, err) < 0 || mig_read_out (m, "schema-after.sql", &b, err) < 0
            || fp_normalize (&a, masks.data, err) < 0 || fp_normalize (&b, masks.data, err) < 0)
                return -1;
        if (fp_schema_compare ("the databases", a.data, b.data, MAX_REPORT_LINES, &m->r->differences, &n, err) < 0)
                return -1;
        m->r->diffs += n;
        return 0;
}

int
mig_judge_old_data (struct mig *m, pgimg_error_t *err)
{
        const struct mig_opts *o = m->o;

        if (o->method == MIG_RESTART) {
                m->r->old_data = "now NEW's (restart runs the new binaries on it)";
        } else if (o->method == MIG_PG_UPGRADE && o->mode == MIG_LINK) {
                cleanup_free char *disabled = NULL;
                if (asprintf (&disabled, "%s/old/global/pg_control.old", m->clusters) < 0)
                        return oom (err);
                m->r->old_data = fs_exists (disabled) ? "disabled by --link (global/pg_control.old), as pg_upgrade documents"
                                                      : "still startable after --link";
                if (!fs_exists (disabled)) {
                        m->r->diffs++;
                        if (buf_adds (&m->r->differences, "  old data directory: global/pg_control.old missing after --link\n") < 0)
                                return oom (err);
                }
        } else if (mig_check_old_data (m, err) < 0) {
                return -1;
        }
        return 0;
}
