/* migrate.h - prove that an upgrade loses nothing.
 *
 * An OLD cluster is initialized as the OLD image's entrypoint does
 * (docker-ensure-initdb.sh), gets tests/postgresql.conf, every extension
 * that can be created (tests/prime.sql) and the data set
 * (tests/migrations/data.sql), and is fingerprinted
 * (tests/migrations/fingerprint.sql and pg_dump --schema-only, both with
 * NEW's client programs).  Then it is moved to NEW by one method:
 *
 *   pg_upgrade  pg_upgrade --check, then pg_upgrade (copy, --link or
 *               --clone; --jobs) with the old image's binaries beside the
 *               new ones, the new server started, statistics rebuilt
 *               and extensions updated as the pg_upgrade docs say;
 *   pg_dumpall  both servers running, NEW's pg_dumpall piped into NEW's psql;
 *   restart     two minors of one major: NEW's binaries on OLD's data.
 *
 * The new cluster is fingerprinted again; every fact must match (extension
 * versions may move forward, to NEW's default), and the old data directory
 * must be as it was, apart from the files any start and stop rewrites
 * (fingerprint.h).  Every program runs in pgimg's rootless sandbox as
 * the images' postgres user, over the images' own roots; the servers
 * listen on a Unix socket only, in a network namespace of their own.
 */
#ifndef PGIMG_MIGRATE_H
#define PGIMG_MIGRATE_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"

struct mig_image {
        const char *label;              /* "postgres-15.18", for messages */
        const char *rootfs;             /* runtime_rootfs */
        const char *const *env;         /* the image's Env */
        int major;
        const char *version;            /* "15.18" */
};

/* What the recipes say about one extension (a CREATE EXTENSION name). */
struct mig_ext {
        const char *name;
        /* The recipe's "migration" SQL (its first extension only), NULL
         * when it says nothing: run in a database being restored from a
         * dump right after the dump creates the extension; in each
         * database that has it after the restore; after pg_upgrade or a
         * restart.  same_version: why pg_upgrade needs OLD's installed
         * version in NEW too. */
        const char *before_restore, *after_restore, *after_upgrade, *same_version;
        /* Tables a dump leaves empty by design ("schema.table", NULL-ended,
         * or NULL), and why: pg_dumpall's comparison leaves them out and
         * the report names them. */
        const char *const *dump_loses;
        const char *dump_loses_why;
        /* "name=value" settings (NULL-ended, or NULL) of the session that
         * restores a dump into NEW. */
        const char *const *restore_settings;
        /* Why pg_upgrade must not carry the planner statistics (its
         * type's input needs data not there yet), or NULL. */
        const char *no_statistics;
        /* Why a dump must be restored at OLD's installed version (where
         * NEW has its script) and then updated, or NULL: PoWA's config
         * tables are marked for pg_dump with a filter that changed. */
        const char *restore_old_version;
        /* Why NEW's major cannot have it (no version of the recipe builds
         * for it), or NULL: such an extension of OLD is not created, and
         * the report names it as OLD's only. */
        const char *not_in_new;
};

enum mig_method { MIG_PG_UPGRADE, MIG_PG_DUMPALL, MIG_RESTART };
enum mig_mode { MIG_COPY, MIG_LINK, MIG_CLONE };

struct mig_opts {
        struct mig_image old_img, new_img;
        enum mig_method method;
        enum mig_mode mode;             /* pg_upgrade only */
        int jobs;                       /* pg_upgrade --jobs, vacuumdb --jobs */
        int scale;                      /* the data set's psql variable */
        int check_only;                 /* stop after pg_upgrade --check */
        const char *work_dir;           /* exists; the caller removes it */
        /* Extensions an upgrade drops and creates again when no update
         * path leads to NEW's version (their recipes' "update": "recreate"). */
        const char *const *recreate;
        const struct mig_ext *exts;     /* every recipe's extensions, n_exts of them */
        size_t n_exts;
        /* tests/migrations/extensions/: NAME.sql is loaded after the data
         * set into the database `migration` when extension NAME is there. */
        const char *fixtures_dir;
        /* Host paths of the inputs. */
        const char *conf_file;          /* tests/postgresql.conf */
        const char *prime_file;         /* tests/prime.sql */
        const char *data_file;          /* tests/migrations/data.sql */
        const char *fingerprint_file;   /* tests/migrations/fingerprint.sql */
        const char *masks_file;         /* tests/migrations/schema-masks.txt, or NULL */
        const char *fact_masks_file;    /* tests/migrations/fact-masks.txt, or NULL */
};

struct mig_report {
        double seconds;                 /* the whole test */
        double load_seconds;            /* prime and data set */
        double upgrade_seconds;         /* the method itself, with its follow-up steps */
        double fingerprint_seconds;     /* the first fingerprint */
        unsigned long long db_bytes;    /* the databases' size, before */
        unsigned long long rows;
        size_t tables, facts, diffs, old_files;
        struct buf differences;         /* one line a difference */
        struct buf updates;             /* "vector 0.8.0 -> 0.8.7, ..." */
        struct buf check_output;        /* pg_upgrade --check's report when it failed */
        struct buf skipped;             /* extensions prime.sql was told to skip, and why */
        struct buf not_preloaded;       /* OLD's preload libraries NEW lacks (their extensions only OLD has) */
        struct buf only_new;            /* extensions NEW has and OLD lacks */
        struct buf carried;             /* "vector 0.8.7, postgis 3.6.4": installed in NEW after the upgrade */
        struct buf fixtures;            /* extensions whose fixture was loaded */
        struct buf no_statistics;       /* "unit: why": statistics left to ANALYZE */
        size_t ext_changed;             /* tables an extension's update changed, no row lost */
        struct buf old_version;         /* "powa 5.0.2 (why)": a dump restored at OLD's version, then updated */
        struct buf dump_lost;           /* "pglogical: pglogical.node, ... (why)": left empty by a dump, as recipes say */
        const char *old_data;           /* what became of the old data directory */
        int interrupted;                /* the signal that stopped the test, or 0 */
};

void mig_report_free (struct mig_report *r);

/* Refuse what cannot work before anything runs: a downgrade, restart
 * across majors, pg_upgrade within a major. */
int mig_validate (const struct mig_opts *o, pgimg_error_t *err);

/* Run the test.  0 when every fact matched (r->diffs == 0); -1 with *err
 * when a step failed or a difference was found (r says which). */
int mig_run (const struct mig_opts *o, struct mig_report *r, pgimg_error_t *err);

/* For a SIGINT/SIGTERM handler: forward sig to the running steps and
 * make mig_run stop after the current one. */
void mig_interrupt (int sig);

const char *mig_method_name (enum mig_method m);
const char *mig_mode_name (enum mig_mode m);

#endif
