/* child.h - the child of a sandbox: everything from the clone to the
 * exec, in the new namespaces, with no allocation and no lock (see
 * child.c).  Only sandbox.c, the parent's side, uses this header.
 */
#ifndef PGIMG_CHILD_H
#define PGIMG_CHILD_H

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "sandbox/sandbox.h"

/* The setup steps the child reports.  The parent turns (step, index,
 * errno) into a message, since the child cannot allocate one. */
enum setup_step {
        STEP_SIGNALS = 1,
        STEP_STDIO,
        STEP_MAKE_PRIVATE,
        STEP_BIND_ROOT,
        STEP_MOUNT_POINT,       /* index: a target, see target_path */
        STEP_MOUNT_PROC,
        STEP_MOUNT_DEV,
        STEP_DEV_NODE,          /* index into dev_nodes */
        STEP_DEV_LINK,          /* index into dev_links */
        STEP_MOUNT_SHM,
        STEP_DEV_READ_ONLY,
        STEP_MOUNT_TMP,
        STEP_BIND,              /* index into opts->binds */
        STEP_BIND_READ_ONLY,
        STEP_ROOT_READ_ONLY,
        STEP_PIVOT_ROOT,
        STEP_CWD,
        STEP_HOSTNAME,
        STEP_LOOPBACK,
        STEP_NO_NEW_PRIVS,
        STEP_FORK,
        STEP_EXEC,
};

struct child_error {
        int32_t step;
        int32_t index;
        int32_t errno_;
};

/* Mount targets other than binds, numbered below 0 so that one index
 * names any target. */
enum { TARGET_PROC = -1, TARGET_DEV = -2, TARGET_TMP = -3 };

struct child_ctx {
        const struct sandbox_opts *opts;
        const unsigned char *bind_is_dir;
        const char *cwd;
        const char *hostname;
        int sync_fd;            /* the parent writes one byte once the maps are written */
        int error_fd;           /* write end, CLOEXEC */
        int stdio[3];           /* >= 3, CLOEXEC; become 0, 1, 2 */
};

/* clone(2) without libc's wrapper: no fork handlers, no locks; returns
 * 0 in the child, as fork does. */
pid_t child_clone (unsigned long flags);

/* Build the root described by c->opts, pivot into it and run the
 * command as the step's PID 1.  Never returns: the step's status is the
 * exit status, a setup failure is written to c->error_fd. */
_Noreturn void child_main (const struct child_ctx *c);

/* The exit code a caller sees for a wait status: the status, or 128 +
 * the signal. */
int child_exit_code (int status);

/* The child's report e (a step, an index and an errno) as an error
 * naming the step and the path: "sandbox: bind /x on /root/y: ...". */
int child_describe_error (const struct sandbox_opts *o, const struct child_error *e,
                          pgimg_error_t *err);

#endif
