/* sandbox.h - run one build step in new user, mount, pid, network, ipc
 * and uts namespaces.
 *
 * The caller's uid and gid are mapped to root inside (a single-uid
 * mapping, so it works without privileges); root_dir becomes / read-only,
 * only the binds marked writable can be written, /proc is the new pid
 * namespace's, /dev holds only null, zero, full, random, urandom and tty,
 * /tmp is a fresh tmpfs, the network is a new namespace with only
 * loopback up, the hostname is fixed, the environment is exactly envp.
 * Every process of the step is killed when it ends or when the caller
 * dies, and no mount is left behind (they live in the step's namespace).
 */
#ifndef PGIMG_SANDBOX_H
#define PGIMG_SANDBOX_H

#include <stddef.h>

#include "common/error.h"

struct sandbox_bind {
        const char *host_path;
        const char *sandbox_path;       /* absolute; created in a tmpfs if missing */
        int writable;
};

struct sandbox_opts {
        const char *root_dir;
        const struct sandbox_bind *binds;
        size_t n_binds;
        const char *const *argv;        /* argv[0] is looked up in the sandbox's PATH */
        const char *const *envp;
        const char *cwd;                /* inside; default "/" */
        const char *hostname;           /* default "pgimg" */
        int stdout_fd;                  /* -1: /dev/null */
        int stderr_fd;                  /* -1: /dev/null */
};

/* 0 when this process can create the namespaces; otherwise an error that
 * says why and what to do (e.g. sysctl kernel.unprivileged_userns_clone). */
int sandbox_check (pgimg_error_t *err);

/* Run the step and wait for it.  *exit_code is its exit status, or
 * 128 + signal when it was killed.  Returns <0 only when the sandbox
 * itself could not be set up (the error says which step). */
int sandbox_run (const struct sandbox_opts *opts, int *exit_code, pgimg_error_t *err);

#endif
