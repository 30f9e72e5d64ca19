/* runtime.h - pgimg's own container runtime: an image's layers unpacked
 * once into a cached read-only root, its entrypoint run in pgimg's
 * rootless sandbox as the image's postgres user (uid 999) with a data
 * directory and a socket directory of the host bound writable, and the
 * image's psql run the same way beside it.
 *
 * It knows the PostgreSQL images' contract (docs/runtime.md) and nothing
 * about the Docker Engine or about how the image was built.
 */
#ifndef PGIMG_RUNTIME_H
#define PGIMG_RUNTIME_H

#include <stddef.h>

#include "builder/sandbox.h"
#include "common/buf.h"
#include "common/error.h"
#include "layers/layer.h"

/* The image's postgres user, which the caller is mapped to inside. */
#define RUNTIME_PG_UID 999u
#define RUNTIME_PG_GID 999u

/* The root of the layers (bottom first, blobs in blob_dir) in
 * <cache_dir>/rootfs/<key>, unpacked the first time into a temporary
 * directory and renamed into place, reused after.  Each blob is opened
 * through the store (size and digest checked) and its uncompressed
 * sha256 checked against its diff_id while it is unpacked; the root is
 * renamed into place only when all match.  The key is the sha256 of the
 * diff_ids so checked: the same files give the same root.  *out is
 * malloc'ed. */
int runtime_rootfs (const char *cache_dir, const char *blob_dir, const struct layer_desc *layers,
                    size_t n_layers, char **out, pgimg_error_t *err);

/* The environment of a run: image_env (NULL-terminated "K=V") with each
 * "K=V" of overrides replacing or adding its key.  An override without
 * '=' or with an empty key fails, quoting it.  *out is malloc'ed,
 * NULL-terminated (strv_free). */
int runtime_env_merge (const char *const *image_env, const char *const *overrides, char ***out,
                       pgimg_error_t *err);
/* The value of key in env, or NULL. */
const char *runtime_env_get (const char *const *env, const char *key);

/* Judge a server's first reply to a startup packet, as pg_isready does:
 * 1 ready (an authentication request, or an error other than "the
 * database system is starting up / shutting down"), 0 not ready yet,
 * -1 when len is too short to tell. */
int runtime_ready_reply (const unsigned char *data, size_t len);

/* One connection to 127.0.0.1:port with a startup packet for user
 * postgres: 1 ready, 0 not yet (refused, no answer within 1 s, or
 * starting up). */
int runtime_probe (int port);
/* The same on a Unix socket (".../.s.PGSQL.5432"). */
int runtime_probe_unix (const char *path);

struct runtime_server {
        const char *rootfs;
        const char *volume;             /* where data_dir is bound: the image's volume */
        const char *data_dir;           /* host directory, created if missing */
        const char *socket_dir;         /* host directory, bound at /run/postgresql */
        int port;                       /* on the host's 127.0.0.1 */
        const char *const *env;         /* the merged environment */
        const char *const *args;        /* more postgres arguments; may be NULL */
        int stdout_fd, stderr_fd;       /* -1: /dev/null */
};

/* Start the entrypoint (`docker-entrypoint.sh postgres -c
 * listen_addresses=127.0.0.1 -c port=PORT ARGS`).  Fails before anything
 * runs when the port is taken; a missing POSTGRES_PASSWORD is left to
 * the entrypoint, whose message users know from the official image.
 * *out is the caller's. */
int runtime_server_start (const struct runtime_server *s, struct sandbox **out, pgimg_error_t *err);

/* Wait until the server answers on 127.0.0.1:port as ready (not the
 * socket-only server of the first start), up to timeout_ms.  Fails when
 * sb ends first (*exit_code then set; sb is reaped). */
int runtime_wait_ready (struct sandbox *sb, int port, int timeout_ms, int *exit_code,
                        pgimg_error_t *err);

/* The same, probing the Unix socket unix_path instead when it is not NULL. */
int runtime_wait_ready_at (struct sandbox *sb, int port, const char *unix_path, int timeout_ms,
                           int *exit_code, pgimg_error_t *err);

/* Send SIGINT (fast shutdown) and wait; *exit_code as for sandbox_wait. */
int runtime_server_stop (struct sandbox *sb, int *exit_code, pgimg_error_t *err);

struct runtime_exec {
        const char *rootfs;
        const char *socket_dir;
        int port;
        const char *const *env;         /* may be NULL: PATH, PGPORT and LANG are set */
        const char *const *argv;
        int stdin_fd;                   /* -1: /dev/null */
        int stdout_fd, stderr_fd;
};

/* Run argv beside a server, as postgres, with its socket directory at
 * /run/postgresql, and wait.  *exit_code as for sandbox_run. */
int runtime_exec (const struct runtime_exec *x, int *exit_code, pgimg_error_t *err);

/* What `pgimg psql` needs of a named run, kept in <cache>/run/NAME/state
 * as lines "port N", "rootfs PATH" and "env K=V" (the image's Env, for
 * its PATH: never the -e values, which may hold a password). */
struct runtime_state {
        int port;
        char *rootfs;           /* owned */
        char **env;             /* owned, NULL-terminated; may be NULL */
};
int runtime_state_format (const struct runtime_state *st, struct buf *out, pgimg_error_t *err);
/* Fails, with st empty, on an unknown line, a bad port or a missing field. */
int runtime_state_parse (const char *text, size_t len, struct runtime_state *st, pgimg_error_t *err);
void runtime_state_free (struct runtime_state *st);

#endif
