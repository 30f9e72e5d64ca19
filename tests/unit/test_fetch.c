/* The fetcher against a tiny HTTP server running in a thread of this
 * test on 127.0.0.1: canned answers for success, 404, 500-then-200, a
 * wrong body, a redirect and a stalled transfer. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "builder/fetch.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fsutil.h"
#include "common/sha256.h"

#define BODY_LEN (256 * 1024)
#define WHAT "postgresql 15.18"

enum route { R_GOOD, R_MISSING, R_FLAKY, R_BAD, R_STALL, R_REDIRECT, R_ALWAYS_500, R_OTHER, N_ROUTES };
static const char *const route_paths[] = { "/good", "/missing", "/flaky", "/bad",
                                           "/stall", "/redirect", "/always500" };

static struct server {
        int listen_fd;
        int stop[2];
        unsigned short port;
        pthread_t thread;
        pthread_mutex_t lock;
        int hits[N_ROUTES];
} srv;

static char body[BODY_LEN];
static char body_sha[SHA256_HEX_LEN + 1];

static const char wrong[] = "this is not the tarball you are looking for";

static int
hits (enum route r)
{
        int n;
        pthread_mutex_lock (&srv.lock);
        n = srv.hits[r];
        pthread_mutex_unlock (&srv.lock);
        return n;
}

static int
total_hits (void)
{
        int n = 0;
        for (int r = 0; r < N_ROUTES; r++)
                n += hits (r);
        return n;
}

static void
send_all (int fd, const void *data, size_t len)
{
        const char *p = data;
        while (len > 0) {
                ssize_t n = send (fd, p, len, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return; /* the client went away */
                p += n;
                len -= (size_t) n;
        }
}

static void
respond (int fd, int status, const char *reason, const void *data, size_t len, const char *extra)
{
        char head[512];
        int n = snprintf (head, sizeof (head),
                          "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                          reason, len, extra ? extra : "");
        send_all (fd, head, (size_t) n);
        send_all (fd, data, len);
}

/* Read the request head; returns its route. */
static enum route
read_request (int fd)
{
        char req[4096];
        size_t len = 0;

        while (len < sizeof (req) - 1) {
                ssize_t n = recv (fd, req + len, sizeof (req) - 1 - len, 0);
                if (n <= 0)
                        break;
                len += (size_t) n;
                req[len] = '\0';
                if (strstr (req, "\r\n\r\n"))
                        break;
        }
        req[len] = '\0';
        for (int r = 0; r < R_OTHER; r++) {
                size_t pl = strlen (route_paths[r]);
                if (strncmp (req, "GET ", 4) == 0 && strncmp (req + 4, route_paths[r], pl) == 0
                    && req[4 + pl] == ' ')
                        return r;
        }
        return R_OTHER;
}

/* Send the head and a little of the body, then nothing, until the
 * client gives up (or the server stops). */
static void
stall (int fd)
{
        char head[128];
        int n = snprintf (head, sizeof (head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BODY_LEN);
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = srv.stop[0], .events = POLLIN } };
        char sink[256];

        send_all (fd, head, (size_t) n);
        send_all (fd, body, 100);
        while (poll (p, 2, 10000) > 0 && !(p[1].revents & POLLIN))
                if (recv (fd, sink, sizeof (sink), 0) <= 0)
                        break;
}

static void
serve (int fd)
{
        enum route r = read_request (fd);
        int n;

        pthread_mutex_lock (&srv.lock);
        n = ++srv.hits[r];
        pthread_mutex_unlock (&srv.lock);
        switch (r) {
        case R_GOOD:
                respond (fd, 200, "OK", body, BODY_LEN, NULL);
                break;
        case R_FLAKY:
                if (n == 1)
                        respond (fd, 500, "Internal Server Error", "oops", 4, NULL);
                else
                        respond (fd, 200, "OK", body, BODY_LEN, NULL);
                break;
        case R_BAD:
                respond (fd, 200, "OK", wrong, sizeof (wrong) - 1, NULL);
                break;
        case R_STALL:
                stall (fd);
                break;
        case R_REDIRECT:
                respond (fd, 302, "Found", "", 0, "Location: /good\r\n");
                break;
        case R_ALWAYS_500:
                respond (fd, 503, "Service Unavailable", "busy", 4, NULL);
                break;
        default:
                respond (fd, 404, "Not Found", "no", 2, NULL);
                break;
        }
}

static void *
server_main (void *arg)
{
        struct pollfd p[2] = { { .fd = srv.listen_fd, .events = POLLIN },
                               { .fd = srv.stop[0], .events = POLLIN } };
        (void) arg;
        for (;;) {
                if (poll (p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return NULL;
                }
                if (p[1].revents & POLLIN)
                        return NULL;
                int fd = accept4 (srv.listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        continue;
                serve (fd);
                close (fd);
        }
}

static int
server_start (void **state)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
        socklen_t alen = sizeof (a);
        pgimg_error_t err = NULL;
        (void) state;

        for (size_t i = 0; i < BODY_LEN; i++)
                body[i] = (char) (i * 7 + i / 251);
        if (sha256_buf_hex (body, BODY_LEN, body_sha, &err) < 0)
                return -1;
        pthread_mutex_init (&srv.lock, NULL);
        srv.listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (srv.listen_fd < 0 || bind (srv.listen_fd, (struct sockaddr *) &a, sizeof (a)) < 0
            || listen (srv.listen_fd, 16) < 0
            || getsockname (srv.listen_fd, (struct sockaddr *) &a, &alen) < 0
            || pipe2 (srv.stop, O_CLOEXEC) < 0)
                return -1;
        srv.port = ntohs (a.sin_port);
        return pthread_create (&srv.thread, NULL, server_main, NULL) == 0 ? 0 : -1;
}

static int
server_stop (void **state)
{
        (void) state;
        if (write (srv.stop[1], "x", 1) != 1)
                return -1;
        pthread_join (srv.thread, NULL);
        close (srv.listen_fd);
        close (srv.stop[0]);
        close (srv.stop[1]);
        return 0;
}

/* Per test: an empty cache directory, fresh counters, fast limits. */
struct t {
        char cache[64];
        char *downloads;        /* <cache>/downloads/sha256 */
        char *urls[N_ROUTES];
};

static int
test_setup (void **state)
{
        struct t *t = calloc (1, sizeof (*t));
        if (t == NULL)
                return -1;
        strcpy (t->cache, "/tmp/pgimg-test-fetch-XXXXXX");
        if (mkdtemp (t->cache) == NULL || asprintf (&t->downloads, "%s/downloads/sha256", t->cache) < 0)
                return -1;
        for (int r = 0; r < R_OTHER; r++)
                if (asprintf (&t->urls[r], "http://127.0.0.1:%u%s", srv.port, route_paths[r]) < 0)
                        return -1;
        pthread_mutex_lock (&srv.lock);
        memset (srv.hits, 0, sizeof (srv.hits));
        pthread_mutex_unlock (&srv.lock);
        fetch_set_limits (2, 1);
        fetch_set_quiet (1);
        *state = t;
        return 0;
}

static int
test_teardown (void **state)
{
        struct t *t = *state;
        pgimg_error_t err = NULL;
        fs_rm_rf (t->cache, &err);
        pgimg_error_free (&err);
        for (int r = 0; r < R_OTHER; r++)
                free (t->urls[r]);
        free (t->downloads);
        free (t);
        return 0;
}

/* The names in <cache>/downloads/sha256, space-separated ("" if none). */
static char *
downloads_listing (struct t *t)
{
        cleanup_dir DIR *d = opendir (t->downloads);
        struct buf b = BUF_INIT;
        struct dirent *de;

        assert_non_null (d);
        buf_adds (&b, "");
        while ((de = readdir (d)) != NULL)
                if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
                        buf_addf (&b, "%s%s", b.len ? " " : "", de->d_name);
        return buf_detach (&b, NULL);
}

static void
assert_cached_body (struct t *t, const char *path)
{
        cleanup_free char *want = NULL;
        cleanup_buf struct buf got = BUF_INIT;
        pgimg_error_t err = NULL;
        cleanup_free char *listing = downloads_listing (t);

        assert_true (asprintf (&want, "%s/%s", t->downloads, body_sha) > 0);
        assert_string_equal (path, want);
        assert_int_equal (fs_read_file (path, 0, &got, &err), 0);
        assert_int_equal (got.len, BODY_LEN);
        assert_memory_equal (got.data, body, BODY_LEN);
        assert_string_equal (listing, body_sha); /* no temporary file left */
}

static int
fetch (struct t *t, const enum route *routes, size_t n, const char *sha, char **path, pgimg_error_t *err)
{
        const char *urls[8];
        for (size_t i = 0; i < n; i++)
                urls[i] = routes[i] == R_OTHER ? "http://127.0.0.1:1/refused" : t->urls[routes[i]];
        return fetch_cached (t->cache, urls, n, sha, WHAT, path, err);
}

static void
success_lands_in_cache (void **state)
{
        struct t *t = *state;
        static const enum route r[] = { R_GOOD };
        cleanup_free char *path = NULL;
        pgimg_error_t err = NULL;

        assert_int_equal (fetch (t, r, 1, body_sha, &path, &err), 0);
        assert_cached_body (t, path);
        assert_int_equal (hits (R_GOOD), 1);
}

static void
cache_hit_does_not_download (void **state)
{
        struct t *t = *state;
        static const enum route r[] = { R_GOOD };
        cleanup_free char *p1 = NULL;
        cleanup_free char *p2 = NULL;
        pgimg_error_t err = NULL;

        assert_int_equal (fetch (t, r, 1, body_sha, &p1, &err), 0);
        assert_int_equal (fetch (t, r, 1, body_sha, &p2, &err), 0);
        assert_string_equal (p1, p2);
        assert_int_equal (total_hits (), 1);
}

static void
corrupt_cache_is_fetched_again (void **state)
{
        struct t *t = *state;
        static const enum route r[] = { R_GOOD };
        cleanup_free char *path = NULL;
        cleanup_free char *again = NULL;
        pgimg_error_t err = NULL;

        assert_int_equal (fetch (t, r, 1, body_sha, &path, &err), 0);
        /* flip the content behind the cache's back */
        assert_int_equal (fs_write_file_atomic (path, "rot", 3, 0644, &err), 0);
        assert_int_equal (fetch (t, r, 1, body_sha, &again, &err), 0);
        assert_int_equal (hits (R_GOOD), 2);
        assert_cached_body (t, again);
}

static void
falls_back_from_404 (void **state)
{
        struct t *t = *state;
        static const enum route r[] = { R_MISSING, R_GOOD };
        cleanup_free char *path = NULL;
        pgimg_error_t err = NULL;

        assert_int_equal (fetch (t, r, 2, body_sha, &path, &err), 0);
        assert_cached_body (t, path);
        assert_int_equal (hits (R_MISSING), 1); /* a 404 is not retried */
        assert_int_equal (hits (R_GOOD), 1);
}

static void
retries_after_500 (void **state)
{
        struct t *t = *state;
        static const enum route r[] = { R_FLAKY };
        cleanup_free char *path = NULL;
        pgimg_error_t err = NULL;

        assert_int_equal (fetch (t, r, 1, body_sha, &path, &err), 0);
        assert_cached_body (t, path);
        assert_int_equal (hits (R_FLAKY), 2);
}

static void
follows_redirects (void **state)
{
        struct t *t = *state;
        static const enum route r[] = { R_REDIRECT };
        cleanup_free char *path = NULL;
        pgimg_error_t err = NULL;

        assert_int_equal (fetch (t, r, 1, body_sha, &path, &err), 0);
        assert_cached_body (t, path);
        assert_int_equal (hits (R_GOOD), 1);
}

static void
mismatch_removes_download (void **state)
{
        struct t *t = *state;
        static const enum route r[] = { R_BAD };
        char *path = NULL;
        pgimg_error_t err = NULL;
        cleanup_free char *want = NULL;
        cleanup_free char *listing = NULL;
        char got[SHA256_HEX_LEN + 1];

        /* the hash of the wrong body, computed rather than trusted */
        assert_int_equal (sha256_buf_hex (wrong, sizeof (wrong) - 1, got, &err), 0);
        assert_true (fetch (t, r, 1, body_sha, &path, &err) < 0);
        assert_null (path);
        assert_true (asprintf (&want, "sha256 mismatch (want %s, got %s) from %s; the download was removed",
                               body_sha, got, t->urls[R_BAD]) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
        listing = downloads_listing (t);
        assert_string_equal (listing, ""); /* neither the file nor a .tmp-* */
        assert_int_equal (hits (R_BAD), 1); /* a mismatch is not retried on the same mirror */
}

static void
mismatch_tries_next_mirror (void **state)
{
        struct t *t = *state;
        static const enum route ok[] = { R_BAD, R_GOOD };
        static const enum route ko[] = { R_BAD, R_MISSING };
        cleanup_free char *path = NULL;
        char *none = NULL;
        pgimg_error_t err = NULL;
        cleanup_free char *tail = NULL;

        assert_int_equal (fetch (t, ok, 2, body_sha, &path, &err), 0);
        assert_cached_body (t, path);
        assert_int_equal (unlink (path), 0);

        /* the mismatch is reported even though the last mirror failed otherwise */
        assert_true (fetch (t, ko, 2, body_sha, &none, &err) < 0);
        assert_true (strncmp (err->msg, "sha256 mismatch (want ", 22) == 0);
        assert_true (asprintf (&tail, "; the download was removed; " WHAT ": all 2 mirrors failed (last: %s: HTTP 404)",
                               t->urls[R_MISSING]) > 0);
        assert_non_null (strstr (err->msg, tail));
        pgimg_error_free (&err);
}

static void
all_mirrors_dead (void **state)
{
        struct t *t = *state;
        static const enum route r[] = { R_OTHER, R_MISSING };
        static const enum route r2[] = { R_MISSING, R_OTHER };
        char *path = NULL;
        pgimg_error_t err = NULL;
        cleanup_free char *want = NULL;
        cleanup_free char *listing = NULL;

        assert_true (fetch (t, r, 2, body_sha, &path, &err) < 0);
        assert_true (asprintf (&want, WHAT ": all 2 mirrors failed (last: %s: HTTP 404)", t->urls[R_MISSING]) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);

        assert_true (fetch (t, r2, 2, body_sha, &path, &err) < 0);
        assert_true (strncmp (err->msg, WHAT ": all 2 mirrors failed (last: http://127.0.0.1:1/refused: ",
                              strlen (WHAT ": all 2 mirrors failed (last: http://127.0.0.1:1/refused: "))
                     == 0);
        pgimg_error_free (&err);
        listing = downloads_listing (t);
        assert_string_equal (listing, "");
}

static void
transient_errors_are_retried_a_bounded_number_of_times (void **state)
{
        struct t *t = *state;
        static const enum route r[] = { R_ALWAYS_500 };
        char *path = NULL;
        pgimg_error_t err = NULL;
        cleanup_free char *want = NULL;

        fetch_set_limits (1, 1);
        assert_true (fetch (t, r, 1, body_sha, &path, &err) < 0);
        assert_true (asprintf (&want, WHAT ": download failed (%s: HTTP 503)", t->urls[R_ALWAYS_500]) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
        assert_int_equal (hits (R_ALWAYS_500), 2);
}

static void
stalled_transfer_is_abandoned (void **state)
{
        struct t *t = *state;
        static const enum route r[] = { R_STALL, R_GOOD };
        cleanup_free char *path = NULL;
        pgimg_error_t err = NULL;
        struct timespec t0, t1;

        fetch_set_limits (0, 1);
        clock_gettime (CLOCK_MONOTONIC, &t0);
        assert_int_equal (fetch (t, r, 2, body_sha, &path, &err), 0);
        clock_gettime (CLOCK_MONOTONIC, &t1);
        assert_true (t1.tv_sec - t0.tv_sec < 8);
        assert_int_equal (hits (R_STALL), 1);
        assert_cached_body (t, path);

        free (path);
        path = NULL;
        assert_true (fetch (t, r, 1, "0000000000000000000000000000000000000000000000000000000000000000",
                            &path, &err) < 0);
        assert_non_null (strstr (err->msg, "Operation too slow"));
        assert_true (strncmp (err->msg, WHAT ": download failed (http://127.0.0.1:", 36) == 0);
        pgimg_error_free (&err);
}

static void
bad_arguments (void **state)
{
        struct t *t = *state;
        char *path = NULL;
        pgimg_error_t err = NULL;
        const char *urls[] = { t->urls[R_GOOD] };

        assert_true (fetch_cached (t->cache, urls, 1, "11DF", WHAT, &path, &err) < 0);
        assert_string_equal (err->msg, WHAT ": `11DF` is not a sha256 (64 lowercase hex digits)");
        pgimg_error_free (&err);
        assert_true (fetch_cached (t->cache, urls, 0, body_sha, WHAT, &path, &err) < 0);
        assert_string_equal (err->msg, WHAT ": no URL to download it from");
        pgimg_error_free (&err);
        assert_int_equal (total_hits (), 0);
}

static void
to_buf_is_bounded (void **state)
{
        struct t *t = *state;
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_buf struct buf small = BUF_INIT_MAX (1000);
        pgimg_error_t err = NULL;
        cleanup_free char *want = NULL;

        buf_adds (&b, "head:");
        assert_int_equal (fetch_to_buf (t->urls[R_FLAKY], 0, &b, &err), 0);
        assert_int_equal (b.len, 5 + BODY_LEN);
        assert_memory_equal (b.data + 5, body, BODY_LEN);

        buf_reset (&b);
        buf_adds (&b, "keep");
        assert_true (fetch_to_buf (t->urls[R_GOOD], 100, &b, &err) < 0);
        assert_true (asprintf (&want, "%s: larger than 100 bytes", t->urls[R_GOOD]) > 0);
        assert_string_equal (err->msg, want);
        assert_string_equal (b.data, "keep");
        pgimg_error_free (&err);

        free (want);
        assert_true (fetch_to_buf (t->urls[R_GOOD], 0, &small, &err) < 0);
        assert_true (asprintf (&want, "%s: larger than 1000 bytes", t->urls[R_GOOD]) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);

        free (want);
        assert_true (fetch_to_buf (t->urls[R_MISSING], 0, &b, &err) < 0);
        assert_true (asprintf (&want, "%s: HTTP 404", t->urls[R_MISSING]) > 0);
        assert_string_equal (err->msg, want);
        pgimg_error_free (&err);
}

static void
to_file_hashes (void **state)
{
        struct t *t = *state;
        cleanup_free char *path = NULL;
        cleanup_buf struct buf got = BUF_INIT;
        char hex[SHA256_HEX_LEN + 1];
        pgimg_error_t err = NULL;

        assert_true (asprintf (&path, "%s/file", t->cache) > 0);
        assert_int_equal (fetch_to_file (t->urls[R_GOOD], path, hex, &err), 0);
        assert_string_equal (hex, body_sha);
        assert_int_equal (fs_read_file (path, 0, &got, &err), 0);
        assert_int_equal (got.len, BODY_LEN);
        assert_true (fetch_to_file (t->urls[R_MISSING], path, NULL, &err) < 0);
        pgimg_error_free (&err);
        assert_true (fs_exists (path)); /* a failed download leaves the old file */
}

static int
write_proc (const char *path, const char *text)
{
        cleanup_fd int fd = open (path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        return write (fd, text, strlen (text)) == (ssize_t) strlen (text) ? 0 : -1;
}

/* In a child with a 64 KiB tmpfs over the cache: the download fills it.
 * Exits 0 when the error is the one expected, 77 when the machine
 * cannot mount (no user namespaces). */
static int
disk_full_child (struct t *t)
{
        char *path = NULL;
        pgimg_error_t err = NULL;
        const char *urls[] = { t->urls[R_GOOD], t->urls[R_GOOD] };
        cleanup_free char *want = NULL;
        DIR *d;

        if (unshare (CLONE_NEWNS) < 0) {
                /* not root: a user namespace where we are */
                char uid_map[32], gid_map[32];
                snprintf (uid_map, sizeof (uid_map), "0 %u 1", (unsigned) getuid ());
                snprintf (gid_map, sizeof (gid_map), "0 %u 1", (unsigned) getgid ());
                if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0
                    || write_proc ("/proc/self/setgroups", "deny") < 0
                    || write_proc ("/proc/self/uid_map", uid_map) < 0
                    || write_proc ("/proc/self/gid_map", gid_map) < 0)
                        return 77;
        }
        if (mount ("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0
            || mount ("tmpfs", t->cache, "tmpfs", 0, "size=64k") < 0)
                return 77;
        if (fetch_cached (t->cache, urls, 2, body_sha, WHAT, &path, &err) == 0)
                return 1;
        if (asprintf (&want, "no space left in the cache directory `%s` while downloading %s; free some "
                             "space or choose another --cache-dir",
                      t->downloads, t->urls[R_GOOD]) < 0)
                return 1;
        if (strcmp (err->msg, want) != 0) {
                fprintf (stderr, "# got: %s\n", err->msg);
                return 1;
        }
        d = opendir (t->downloads);
        if (d == NULL)
                return 1;
        for (struct dirent *de; (de = readdir (d)) != NULL;)
                if (de->d_name[0] != '.' || strncmp (de->d_name, ".tmp-", 5) == 0)
                        return 1; /* the partial download must be gone */
        closedir (d);
        return 0;
}

static void
disk_full_names_cache_dir (void **state)
{
        struct t *t = *state;
        int status;
        pid_t pid = fork ();

        assert_true (pid >= 0);
        if (pid == 0)
                _exit (disk_full_child (t));
        assert_int_equal (waitpid (pid, &status, 0), pid);
        assert_true (WIFEXITED (status));
        if (WEXITSTATUS (status) == 77)
                skip ();
        assert_int_equal (WEXITSTATUS (status), 0);
        assert_int_equal (hits (R_GOOD), 1); /* a full disk is not retried nor sent to the next mirror */
}

int
main (void)
{
#define T(f) cmocka_unit_test_setup_teardown (f, test_setup, test_teardown)
        const struct CMUnitTest tests[] = {
                T (success_lands_in_cache),
                T (cache_hit_does_not_download),
                T (corrupt_cache_is_fetched_again),
                T (falls_back_from_404),
                T (retries_after_500),
                T (follows_redirects),
                T (mismatch_removes_download),
                T (mismatch_tries_next_mirror),
                T (all_mirrors_dead),
                T (transient_errors_are_retried_a_bounded_number_of_times),
                T (stalled_transfer_is_abandoned),
                T (bad_arguments),
                T (to_buf_is_bounded),
                T (to_file_hashes),
                T (disk_full_names_cache_dir),
        };
#undef T
        return cmocka_run_group_tests (tests, server_start, server_stop);
}
