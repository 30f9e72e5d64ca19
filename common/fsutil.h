/* fsutil.h - file helpers: whole-file reads, crash-safe writes, trees.
 *
 * Everything that lands in a cache or an output is written through
 * struct fs_atomic: a temporary file in the destination's directory,
 * fsync'ed, then renamed into place.  Temporary files still open when
 * pgimg is interrupted (SIGINT, SIGTERM, SIGHUP) are unlinked by the
 * handler that fs_install_signal_cleanup installs.
 */
#ifndef PGIMG_FSUTIL_H
#define PGIMG_FSUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/error.h"

/* Create dir and its parents (like mkdir -p). */
int fs_mkdir_p (const char *path, mode_t mode, pgimg_error_t *err);

/* Read a whole file into b (appending); fails past max_bytes (0: none). */
int fs_read_file (const char *path, size_t max_bytes, struct buf *b, pgimg_error_t *err);

/* Called with each piece fs_read_chunks reads: returns 0 to go on, a
 * positive value to stop there, or <0 with *err set to fail. */
typedef int (*fs_chunk_fn) (void *ctx, const void *data, size_t len, pgimg_error_t *err);

/* Read fd to its end through the caller's chunk (chunk_bytes long),
 * handing each piece read to fn; EINTR is retried.  Returns 0 at the end
 * of the file, fn's positive value when fn stopped it, or <0: fn's
 * error, or a failed read, whose message is read_fmt's followed by
 * ": strerror". */
int fs_read_chunks (int fd, void *chunk, size_t chunk_bytes, fs_chunk_fn fn, void *ctx,
                    pgimg_error_t *err, const char *read_fmt, ...)
        __attribute__ ((format (printf, 7, 8)));

/* write(2) all of data, retrying EINTR and short writes; -1 and errno. */
int fs_write_all (int fd, const void *data, size_t len);

struct fs_atomic {
        int fd;
        char *tmp_path;         /* owned */
};
#define FS_ATOMIC_INIT { -1, NULL }

/* Open a temporary file beside final_path (which names the directory;
 * the file name itself may be decided later by fs_atomic_commit).  The
 * first one a process opens in a directory sweeps it (fs_sweep_temps). */
int fs_atomic_open (struct fs_atomic *a, const char *final_path, mode_t mode,
                    pgimg_error_t *err);
/* fsync, close and rename the temporary file to final_path, then fsync
 * the directory.  On failure the temporary file is removed. */
int fs_atomic_commit (struct fs_atomic *a, const char *final_path, pgimg_error_t *err);
/* Close and remove the temporary file; safe after commit and twice. */
void fs_atomic_abort (struct fs_atomic *a);
static inline void
cleanup_atomicp (struct fs_atomic *a)
{
        fs_atomic_abort (a);
}
#define cleanup_atomic __attribute__ ((cleanup (cleanup_atomicp)))

/* "<path><suffix>" with path's trailing slashes left out, so that the
 * file beside a directory given as "pg17/" is "pg17<suffix>", next to
 * it; malloc'ed, NULL when out of memory. */
char *fs_path_beside (const char *path, const char *suffix);

/* Write data to path atomically. */
int fs_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode,
                          pgimg_error_t *err);

/* Make a fresh temporary directory "<parent>/.tmp-<pid>-<tag>-XXXXXX" and
 * register it for removal on interruption (sweeping parent first, as
 * fs_atomic_open).  Returns a malloc'ed path. */
/* The directory holding path, as dirname(3) says ("a/b/" -> "a"), newly
 * allocated; NULL when out of memory. */
char *fs_dir_of (const char *path);
int fs_mkdtemp (const char *parent, const char *tag, char **out, pgimg_error_t *err);
/* Unregister a path given to fs_mkdtemp (after a rename or removal). */
void fs_forget_temp (const char *path);
/* Remove a directory from fs_mkdtemp and unregister it; NULL is allowed.
 * A failure to remove it is ignored: the next run sweeps it. */
void fs_drop_temp_dir (const char *path);
/* A fresh scratch directory <cache_dir>/work/.tmp-<pid>-<tag>-XXXXXX,
 * sweeping the leftovers of runs that are gone; *out malloc'ed. */
int fs_work_dir (const char *cache_dir, const char *tag, char **out, pgimg_error_t *err);

/* Remove a tree (like rm -rf), making directories writable first.
 * A missing path is not an error. */
int fs_rm_rf (const char *path, pgimg_error_t *err);

/* Remove leftovers ".tmp-<pid>-*" directly inside dir whose process is
 * gone (a run killed with SIGKILL, or a crash).  A leftover stays while
 * its pid is alive, unless that process started more than ten minutes
 * after the leftover was last changed (the pid was reused).  Other names, ".tmp-" names without
 * a pid included, are never touched.  A leftover that cannot be removed
 * (another user's, a read-only file system) is skipped: the next run
 * tries again.  A missing dir is not an error. */
int fs_sweep_temps (const char *dir, pgimg_error_t *err);
/* The same for the directory that holds path (an -o output): a path
 * without a slash means the current directory. */
int fs_sweep_temps_beside (const char *path, pgimg_error_t *err);
/* 1 when name is a leftover of a process that is gone: exposed for
 * the tests.  dir_fd is the directory holding it. */
int fs_temp_is_stale (int dir_fd, const char *name);

/* 1 when a failed write's errno says the disk is full (ENOSPC, EDQUOT). */
int fs_is_disk_full (int errno_);
/* The error of a failed write to path.  A full disk says so, names
 * path and what to do: "no space left on the disk holding `PATH`: free
 * space or point --cache-dir / -o elsewhere"; any other errno gives
 * "write `PATH`: strerror".  Returns <0 as pgimg_make_error. */
int fs_write_error (pgimg_error_t *err, int errno_, const char *path);
/* The same for a write into fd, named by the directory that holds the
 * file fd has open (a temporary file's name means nothing to a user). */
int fs_write_error_fd (pgimg_error_t *err, int errno_, int fd);

/* The running child (a build step) to kill before the interruption
 * handler removes temporary paths; 0 when none. */
void fs_register_child (pid_t pid);

/* Install the SIGINT/SIGTERM/SIGHUP handler that removes registered
 * temporary files and directories, then dies of the same signal. */
int fs_install_signal_cleanup (pgimg_error_t *err);

/* Copy a file, preserving its mode. */
int fs_copy_file (const char *src, const char *dst, pgimg_error_t *err);

int fs_exists (const char *path);

/* Make dst (which must not exist) a copy of the tree src whose regular
 * files are hard links to src's: directories are created with src's
 * modes, symbolic links copied.  Cheap, but whoever writes into dst
 * must replace files (unlink, then create), never write them in place. */
int fs_link_tree (const char *src, const char *dst, pgimg_error_t *err);

#endif
