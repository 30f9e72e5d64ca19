/* engine.h - a container engine that runs one pgimg image: the Docker
 * Engine (docker load, run, exec) for now.  The image's entrypoint
 * initializes the cluster as the official image does; the engine waits
 * until the server answers on TCP (the temporary server of the first
 * start listens on the socket only), so that the tests start against
 * the final one.
 */
#ifndef PGIMG_ENGINE_H
#define PGIMG_ENGINE_H

#include "common/buf.h"
#include "common/error.h"

struct engine {
        char *image_ref;        /* what the engine knows the image as */
        char *container;        /* its container's name */
        char *password;         /* POSTGRES_PASSWORD, random, never printed */
        int loaded;
};
#define ENGINE_INIT { NULL, NULL, NULL, 0 }

/* Load the image tarball (the tag it carries is ref) and start it with
 * extra server arguments (NULL-terminated, may be NULL); returns once
 * the server accepts connections or fails with its log's tail. */
int engine_docker_start (struct engine *e, const char *tarball, const char *ref,
                         const char *const *server_args, int timeout_s, pgimg_error_t *err);

/* Run argv in the container as postgres, stdin from stdin_path (NULL:
 * none); output appended; *status the wait status of `docker exec`. */
int engine_exec (struct engine *e, const char *const *argv, const char *stdin_path,
                 struct buf *out, struct buf *errout, int *status, pgimg_error_t *err);

/* Stop the server cleanly, remove the container and the image. */
int engine_stop (struct engine *e, pgimg_error_t *err);
void engine_free (struct engine *e);

#endif
