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

#include "sandbox/sandbox.h"
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

/* Who may connect to a server of pgimg's runtime.  It shares the host's
 * network namespace, so the official image's `host all all 127.0.0.1/32
 * trust` (harmless in a container's own namespace) would let every local
 * user in; and the entrypoint makes /run/postgresql mode 03775.  So, at
 * every start, whatever the data directory's pg_hba.conf says (data
 * made by older pgimg versions has trust lines):
 *   - the server reads pgimg's own pg_hba.conf (runtime_hba_conf), bound
 *     read-only and named by `-c hba_file`: the socket is trusted, TCP
 *     always needs the password (scram-sha-256);
 *   - the socket is mode 0700 in a socket directory of mode 0700 owned by
 *     the caller (runtime_private_dir), so the socket is the caller's
 *     alone;
 *   - passwords are stored as scram-sha-256 (13's default is md5, which
 *     scram-sha-256 in pg_hba.conf cannot check). */
#define RUNTIME_SOCKET_DIR "/run/postgresql"
/* Where the server sees pgimg's pg_hba.conf: in the sandbox's own /tmp,
 * so that no mount point is made in a root other runs share. */
#define RUNTIME_HBA_FILE "/tmp/pgimg/pg_hba.conf"

/* The text of that pg_hba.conf.  Static storage. */
const char *runtime_hba_conf (void);

/* Make dir (mode 0700), or take the one that is there and set its mode
 * to 0700.  Fails, naming it, when it is a symbolic link or not a
 * directory, or belongs to another uid.  Its parent must exist. */
int runtime_private_dir (const char *dir, pgimg_error_t *err);

/* POSTGRES_HOST_AUTH_METHOD in env when it asks for something pgimg's
 * runtime does not do (anything but scram-sha-256: TCP always needs
 * the password; `trust` only relaxes the first start's need for one),
 * for the caller to warn about; else NULL.  Points into env. */
const char *runtime_host_auth_ignored (const char *const *env);

/* The environment runtime_server_start gives the entrypoint: env with
 * POSTGRES_INITDB_ARGS starting with --auth-host=scram-sha-256, so that
 * 13's initdb stores the first password as a scram verifier; the
 * user's own POSTGRES_INITDB_ARGS come after it and win.  *out as for
 * runtime_env_merge. */
int runtime_server_env (const char *const *env, char ***out, pgimg_error_t *err);

struct runtime_server {
        const char *rootfs;
        const char *volume;             /* where data_dir is bound: the image's volume */
        const char *data_dir;           /* host directory, created if missing */
        const char *socket_dir;         /* host directory, bound at /run/postgresql;
                                         * made private (runtime_private_dir) */
        const char *hba_file;           /* host path pgimg writes runtime_hba_conf to,
                                         * in a directory only the caller can enter */
        int port;                       /* on the host's 127.0.0.1 */
        const char *const *env;         /* the merged environment */
        const char *const *args;        /* more postgres arguments; may be NULL */
        int stdout_fd, stderr_fd;       /* -1: /dev/null */
};

/* Start the entrypoint (`docker-entrypoint.sh postgres -c
 * listen_addresses=127.0.0.1 -c port=PORT -c password_encryption=...
 * ARGS -c hba_file=... -c unix_socket_...`: ARGS cannot loosen who may
 * connect).  Fails before anything runs when the port is taken or the
 * socket directory cannot be made private; a missing POSTGRES_PASSWORD
 * is left to the entrypoint, whose message users know from the official
 * image.  The entrypoint sets the socket directory's mode to 03775 (the
 * socket itself stays 0700): call runtime_private_dir on it again once
 * the server is ready.  *out is the caller's. */
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
