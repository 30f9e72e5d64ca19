/* engine.h - a container engine that runs one pgimg image for the
 * smoke tests, behind one interface with two implementations: the
 * Docker Engine (engine_docker.c: docker load, run, exec) and pgimg's
 * own rootless runtime (engine_pgimg.c, see runtime.h).  The image's
 * entrypoint initializes the cluster as the official image does; an
 * engine's start waits until the server answers on TCP (the temporary
 * server of the first start listens on the socket only), so that the
 * tests start against the final one.
 */
#ifndef PGIMG_ENGINE_H
#define PGIMG_ENGINE_H

#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"
#include "layers/layer.h"

struct engine;

struct engine_ops {
        int (*exec) (struct engine *e, const char *const *argv, const char *stdin_path,
                     struct buf *out, struct buf *errout, int *status, pgimg_error_t *err);
        int (*stop) (struct engine *e, pgimg_error_t *err);
        void (*free) (struct engine *e);
};

struct engine {
        const struct engine_ops *ops;   /* NULL until a start function set it */
        void *impl;
};
#define ENGINE_INIT { NULL, NULL }

/* Docker: load the image tarball (the tag it carries is ref) and start it
 * with --platform linux/ARCH (arch NULL or "amd64": none, the host's)
 * and extra server arguments (NULL-terminated, may be NULL); returns
 * once the server accepts connections or fails with its log's tail.
 * Even on failure, e must be stopped and freed. */
int engine_docker_start (struct engine *e, const char *tarball, const char *ref, const char *arch,
                         const char *const *server_args, int timeout_s, pgimg_error_t *err);

/* What engine_pgimg_start runs: the image's layers (in blob_dir), its
 * Env and volume; a fresh data directory is made in work_dir, which must
 * exist and is the caller's to remove after engine_free. */
struct engine_pgimg_image {
        const char *cache_dir;
        const char *blob_dir;
        const struct layer_desc *layers;
        size_t n_layers;
        const char *const *env;
        const char *volume;
        const char *work_dir;
};

/* pgimg's runtime: the same contract as engine_docker_start, on a free
 * port of 127.0.0.1. */
int engine_pgimg_start (struct engine *e, const struct engine_pgimg_image *img,
                        const char *const *server_args, int timeout_s, pgimg_error_t *err);

/* Run argv in the container as postgres, stdin from stdin_path (NULL:
 * none); output appended; *status a wait status (WIFEXITED ...). */
int engine_exec (struct engine *e, const char *const *argv, const char *stdin_path,
                 struct buf *out, struct buf *errout, int *status, pgimg_error_t *err);

/* Stop the server cleanly, remove what the engine made (container, image). */
int engine_stop (struct engine *e, pgimg_error_t *err);
void engine_free (struct engine *e);

/* For the engines: a random password of 24 hex digits, never printed. */
int engine_random_password (char out[25], pgimg_error_t *err);

#endif
