/* sandbox.h - run one build step in new user, mount, pid, network, ipc
 * and uts namespaces.
 *
 * The caller's uid and gid are mapped to root inside, or to the
 * uid_inside and gid_inside the caller asks for (a single-uid
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
#include <sys/types.h>

#include "common/error.h"

struct sandbox_bind {
        const char *host_path;          /* a directory or a file */
        /* Absolute.  A missing mount point is created in the sandbox's
         * view before the root turns read-only: in root_dir on disk (and
         * removed again when the step has ended), or in /tmp's tmpfs or
         * a writable bind when it lies there. */
        const char *sandbox_path;
        int writable;
};

struct sandbox_opts {
        const char *root_dir;
        const struct sandbox_bind *binds;
        size_t n_binds;
        const char *const *argv;        /* argv[0] is looked up in the sandbox's PATH */
        const char *const *envp;        /* NULL: empty environment */
        const char *cwd;                /* inside; default "/" */
        const char *hostname;           /* default "pgimg" */
        int stdout_fd;                  /* -1: /dev/null */
        int stderr_fd;                  /* -1: /dev/null */
        /* 0 (zero-initialized): /dev/null, as a build step wants.  A
         * caller that means its own stdin passes stdin_fd and sets
         * use_stdin (descriptor 0 is a valid one). */
        int stdin_fd;
        int use_stdin;
        /* The uid and gid the caller is mapped to inside; 0: root.  A
         * server that refuses root (PostgreSQL) runs as its own user
         * directly.  The mounts are made before the exec with the
         * capabilities the new user namespace gives its creator whatever
         * its uid; the exec as a non-zero uid drops them. */
        unsigned uid_inside;
        unsigned gid_inside;
        /* Keep the caller's network namespace instead of a new one with
         * only loopback.  Only for `pgimg run`, whose server must listen
         * on the host's 127.0.0.1; a build step never shares it. */
        int share_net;
};

/* 0 when this process can create the namespaces; otherwise an error that
 * says why and what to do (e.g. sysctl kernel.unprivileged_userns_clone). */
int sandbox_check (pgimg_error_t *err);

/* Run the step and wait for it.  *exit_code is its exit status, or
 * 128 + signal when it was killed.  Returns <0 only when the sandbox
 * itself could not be set up (the error says which step). */
int sandbox_run (const struct sandbox_opts *opts, int *exit_code, pgimg_error_t *err);

/* The same in steps, for a caller that must act while the step runs
 * (`pgimg run`: stop a server with SIGINT, join its network namespace).
 * sandbox_start returns once the command has been executed, so a setup
 * error or a command that cannot be executed ("exec `foo`: No such
 * file or directory") is reported here.  *out is owned by the caller;
 * opts need not outlive the call. */
struct sandbox;
int sandbox_start (const struct sandbox_opts *opts, struct sandbox **out, pgimg_error_t *err);
/* PID 1 of the step, as the caller sees it (/proc/<pid>/ns/net); 0 once reaped. */
pid_t sandbox_pid (const struct sandbox *sb);
/* PID 1 forwards SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2
 * to the command; SIGKILL ends the whole step. */
int sandbox_kill (struct sandbox *sb, int sig, pgimg_error_t *err);
/* Wait for the step to end (retrying EINTR); *exit_code as for sandbox_run. */
int sandbox_wait (struct sandbox *sb, int *exit_code, pgimg_error_t *err);
/* Kill and reap the step if it still runs, remove the mount points that
 * were created in root_dir, free sb.  NULL is allowed. */
void sandbox_free (struct sandbox *sb);

static inline void
cleanup_sandboxp (struct sandbox **sb)
{
        sandbox_free (*sb);
}
#define cleanup_sandbox __attribute__ ((cleanup (cleanup_sandboxp)))

#endif
