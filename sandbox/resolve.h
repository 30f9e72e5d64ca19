/* resolve.h - open and create paths inside a root directory as if it
 * were "/".
 *
 * Every path that pgimg opens or creates inside an image root, a build
 * root or a sandbox goes through here: "..", absolute symlinks and
 * symlinks that climb out all stay below root_fd, so that a hostile
 * image (`run -> /home/you`) cannot make pgimg write on the host.  The
 * kernel does the walk (openat2 with RESOLVE_IN_ROOT) where it can;
 * before Linux 5.6, or where a seccomp filter hides openat2, the walk is
 * done by hand one component at a time, holding a descriptor for each
 * directory and never letting the kernel follow a symlink.
 *
 * Nothing here allocates or takes a lock: the sandbox calls these
 * functions between clone and exec.  Each returns a descriptor (owned
 * by the caller, O_CLOEXEC) or -1 with errno set; no pgimg_error_t, so
 * that the caller names the path in its own message.
 */
#ifndef PGIMG_RESOLVE_H
#define PGIMG_RESOLVE_H

#include <limits.h>
#include <sys/types.h>

/* Open path (absolute or relative, it makes no difference) below
 * root_fd with openat's flags and mode.  O_NOFOLLOW leaves a final
 * symlink unfollowed, as openat does; O_CREAT creates the final entry
 * in the directory it resolves to, inside the root. */
int resolve_open (int root_fd, const char *path, int flags, mode_t mode);

/* mkdir -p inside the root: each missing directory is created with
 * mkdirat relative to its already resolved parent; a dangling symlink
 * on the way has its target created inside the root.  Returns an
 * O_PATH | O_DIRECTORY descriptor of the directory path names. */
int resolve_mkdir_p (int root_fd, const char *path, mode_t mode);

/* Open the directory that holds path's last component (created as by
 * resolve_mkdir_p when create is set; O_PATH | O_DIRECTORY) and copy
 * that component to name, for the caller's *at calls.  A path with no
 * last name ("", "/", "x/..") fails with EINVAL. */
int resolve_open_parent (int root_fd, const char *path, int create, mode_t mode,
                         char name[static NAME_MAX + 1]);

/* Copy path into buf without leading, trailing or repeated slashes
 * ("//a/./b/" becomes "a/./b"; "." and ".." stay, for the walk to
 * judge).  Fails with ENAMETOOLONG when it does not fit. */
int resolve_normalise (char buf[static PATH_MAX], const char *path);

/* Tests only: 0 makes resolve_open walk by hand even where openat2
 * works, so that both ways are tested; 1 (the default) uses openat2. */
void resolve_use_openat2 (int use);

#endif
