/* pipeline_parallel.c - extension layers built side by side in worker
 * processes, each pick once the picks it requires are done; with leases
 * (opts->lease), a pick whose lease another builder holds waits until
 * nothing else can be built, then until its layer appears or the lease
 * is taken over. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/ext_times.h"
#include "builder/jobserver.h"
#include "builder/pipeline_int.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"

/* Independent extension layers build at the same time, each in a
 * worker process of its own (the cache is safe to share: every entry is
 * renamed into place whole).  A worker builds its layer into the cache
 * and reports on a pipe: "B" built or "C" cached, followed by the wall
 * time of its phases (timings_serialize), or "F<message>".  The
 * parent then takes each layer from the cache as usual.  A worker dies
 * with its parent (PR_SET_PDEATHSIG), cleaning up as on Ctrl-C.  The
 * workers' build steps share one jobserver (worker_count). */
struct worker {
        pid_t pid;
        int fd;
        size_t pick;
};

static int
start_worker (const struct extension_env *env, struct pipeline_result *res, size_t i,
              const struct extension_layer *below, size_t n_below, struct worker *w, pgimg_error_t *err)
{
        int fds[2];

        if (pipe2 (fds, O_CLOEXEC) < 0)
                return pgimg_make_error_errno (err, errno, "pipe");
        fflush (NULL);
        w->pid = fork ();
        if (w->pid < 0) {
                close (fds[0]);
                close (fds[1]);
                return pgimg_make_error_errno (err, errno, "fork");
        }
        if (w->pid == 0) {
                struct extension_layer l;
                struct timings times = TIMINGS_INIT;
                struct extension_env wenv = *env;
                cleanup_buf struct buf report = BUF_INIT;
                pgimg_error_t e = NULL;
                int rc;
                close (fds[0]);
                prctl (PR_SET_PDEATHSIG, SIGTERM);
                if (env->timings)
                        wenv.timings = &times;
                rc = extension_layer (&wenv, &res->picks[i], below, n_below, &l, &e);
                if (rc < 0) {
                        if (fs_write_all (fds[1], "F", 1) < 0 || fs_write_all (fds[1], e->msg, strlen (e->msg)) < 0)
                                _exit (3);
                        if (l.failed_log && (fs_write_all (fds[1], "\n", 1) < 0
                                             || fs_write_all (fds[1], l.failed_log, strlen (l.failed_log)) < 0))
                                _exit (3);
                        _exit (1);
                }
                /* Lost timings are only a shorter table. */
                if (buf_adds (&report, l.built ? "B" : "C") < 0 || timings_serialize (&times, &report) < 0)
                        report.len = 1;
                _exit (report.data == NULL || fs_write_all (fds[1], report.data, report.len) < 0 ? 3 : 0);
        }
        close (fds[1]);
        w->fd = fds[0];
        w->pick = i;
        return 0;
}

/* Wait for w; 1 when its layer was built, 0 when cached, its phases
 * added to times (may be NULL); on failure <0 with *err and *log
 * (malloc'ed, may stay NULL). */
static int
finish_worker (struct worker *w, const char *name, struct timings *times, char **log, pgimg_error_t *err)
{
        cleanup_buf struct buf out = BUF_INIT_MAX (1 << 16);
        cleanup_fd int fd = w->fd;
        char block[4096];
        int status;
        ssize_t n;

        while ((n = read (fd, block, sizeof (block))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 || buf_add (&out, block, (size_t) n) < 0)
                        break;
        }
        while (waitpid (w->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return pgimg_make_error_errno (err, errno, "wait for a build worker");
        if (out.len > 0 && out.data[0] == 'F') {
                char *nl = memchr (out.data, '\n', out.len);
                if (nl) {
                        *nl = '\0';
                        *log = strdup (nl + 1);
                }
                return pgimg_make_error (err, EIO, "%s", out.data + 1);
        }
        if (out.len == 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
                return pgimg_make_error (err, EIO, "extension `%s`: its build worker died (status %d)",
                                         name, status);
        if (times)
                timings_parse (times, out.data + 1, out.len - 1);
        return out.data[0] == 'B';
}

/* Index j of the picks that pick i requires, or -1 past the last. */
static int
requirement (const struct pipeline_result *res, size_t i, size_t *cursor)
{
        char **q = res->picks[i].recipe->requires;

        for (; q && q[*cursor]; (*cursor)++)
                for (size_t j = 0; j < res->n_picks; j++)
                        if (j != i && strcmp (res->picks[j].recipe->name, q[*cursor]) == 0) {
                                (*cursor)++;
                                return (int) j;
                        }
        return -1;
}

/* Where the build of the picks stands. */
struct schedule {
        const struct extension_env *env;        /* for the layers below a pick */
        const struct extension_env *wenv;       /* for the workers */
        struct pipeline_result *res;
        char *state;                            /* 0 waiting, 1 running, 2 done, 3 leased elsewhere */
        int *outcome;
        char **msgs;
        const struct pipeline_lease *lease;     /* may be NULL */
        char *leased;                           /* 1: its lease is held here */
};

/* The layers below pick i, from the cache (one level: a requirement
 * that itself requires is built here); free each, even on failure. */
static int
layers_below (struct schedule *p, size_t i, struct extension_layer below[16], size_t *n_below,
              pgimg_error_t *err)
{
        size_t cursor = 0;
        int j;

        *n_below = 0;
        while ((j = requirement (p->res, i, &cursor)) >= 0 && *n_below < 16) {
                if (extension_layer (p->env, &p->res->picks[j], NULL, 0, &below[*n_below], err) < 0)
                        return -1;
                (*n_below)++;
        }
        return 0;
}

/* Pick i's layer name and key into *l (free it either way). */
static int
pick_key (struct schedule *p, size_t i, struct extension_layer *l, pgimg_error_t *err)
{
        struct extension_layer below[16];
        size_t n_below;
        int r = layers_below (p, i, below, &n_below, err);

        if (r == 0)
                r = extension_layer_key (p->env, &p->res->picks[i], below, n_below, l, err);
        for (size_t k = 0; k < n_below; k++)
                extension_layer_free (&below[k]);
        return r;
}

/* With leases: 1 when pick i may be built here now, 0 when another
 * builder holds its lease (it waits in state 3). */
static int
lease_pick (struct schedule *p, size_t i, pgimg_error_t *err)
{
        struct extension_layer l = { 0 };
        struct layer_desc d;
        int r;

        if (p->lease == NULL || p->leased[i])
                return 1;
        r = pick_key (p, i, &l, err);
        if (r == 0 && (r = layer_cache_lookup (p->env->cache_dir, l.key, &d, err)) == 0)
                r = p->lease->take (p->lease->ctx, l.key, l.name, err);
        extension_layer_free (&l);
        if (r == 0)
                p->state[i] = 3;
        else if (r > 0)
                p->leased[i] = 1;
        return r;
}

/* Nothing else can be built: poll the picks whose lease another builder
 * holds, every few seconds (1, 2, 4, then 8), until one of them is in
 * the cache or taken over; it then waits again (state 0). */
static int
wait_for_leases (struct schedule *p, pgimg_error_t *err)
{
        struct pipeline_result *res = p->res;
        unsigned delay_s = 1;

        for (;;) {
                int moved = 0;
                sleep (delay_s);
                for (size_t i = 0; i < res->n_picks; i++) {
                        struct extension_layer l = { 0 };
                        int r;
                        if (p->state[i] != 3)
                                continue;
                        r = pick_key (p, i, &l, err);
                        if (r == 0)
                                r = p->lease->poll (p->lease->ctx, l.key, l.name, err);
                        extension_layer_free (&l);
                        if (r < 0)
                                return -1;
                        if (r > 0) {
                                p->state[i] = 0;
                                p->leased[i] = r == 2;
                                moved = 1;
                        }
                }
                if (moved)
                        return 0;
                delay_s = delay_s < 8 ? delay_s * 2 : 8;
        }
}

/* Start a worker for pick i into *w when it waits and what it requires
 * is done; when what it requires failed, it is done and failed too. */
static int
try_start (struct schedule *p, size_t i, struct worker *w, size_t *n_running, size_t *n_done,
           pgimg_error_t *err)
{
        struct pipeline_result *res = p->res;
        struct extension_layer below[16];
        size_t n_below = 0, cursor = 0;
        int j, rc, ready = p->state[i] == 0;

        while (ready && (j = requirement (res, i, &cursor)) >= 0) {
                if (p->state[j] != 2)
                        ready = 0;
                else if (p->outcome[j] < 0)
                        ready = -1;
        }
        if (ready < 0) {        /* what it needs failed */
                p->state[i] = 2;
                p->outcome[i] = -1;
                (*n_done)++;
                if (asprintf (&p->msgs[i], "extension `%s`: a recipe it requires failed to build",
                              res->picks[i].recipe->name) < 0)
                        return pipeline_oom (err, "extensions");
                return 0;
        }
        if (!ready)
                return 0;
        if ((rc = lease_pick (p, i, err)) <= 0)
                return rc;
        rc = layers_below (p, i, below, &n_below, err);
        if (rc == 0)
                rc = start_worker (p->wenv, res, i, below, n_below, w, err);
        for (size_t k = 0; k < n_below; k++)
                extension_layer_free (&below[k]);
        if (rc == 0) {
                p->state[i] = 1;
                (*n_running)++;
        }
        return rc;
}

/* Wait until one of the n workers has ended (its pipe is at its end or
 * holds its report) and return its index; the oldest when poll fails. */
static size_t
next_done (const struct worker *running, size_t n)
{
        struct pollfd fds[64];
        size_t m = n < 64 ? n : 64;

        for (size_t k = 0; k < m; k++)
                fds[k] = (struct pollfd) { .fd = running[k].fd, .events = POLLIN };
        while (poll (fds, (nfds_t) m, -1) < 0)
                if (errno != EINTR)
                        return 0;
        for (size_t k = 0; k < m; k++)
                if (fds[k].revents)
                        return k;
        return 0;
}

/* How many workers run at once, and the JOBS of each.  With a jobserver
 * (the default; PGIMG_JOBSERVER=0 turns it off) its tokens bound the
 * build steps, so twice as many workers as cores can run: one's build
 * root, unpacking or layer then overlaps another's compile, and a last
 * step alone gets every core.  Without it each worker has a fixed share
 * of the cores. */
static size_t
worker_count (const struct pipeline_opts *o, size_t n, int use_jobserver, int *jobs)
{
        size_t max = (size_t) o->jobs * (use_jobserver ? 2 : 1);

        if (max > n)
                max = n;
        if (max > 64)
                max = 64;
        *jobs = use_jobserver ? o->jobs : (o->jobs / (int) max > 0 ? o->jobs / (int) max : 1);
        return max;
}

struct by_time {
        double seconds;
        size_t pick;
};

static int
longer_first (const void *a, const void *b)
{
        const struct by_time *x = a, *y = b;

        if (x->seconds != y->seconds)
                return x->seconds < y->seconds ? 1 : -1;
        return x->pick < y->pick ? -1 : x->pick > y->pick;
}

/* order[]: the picks in the order workers take them, the one whose last
 * build took longest first (ext_times; a pick never built counts as the
 * mean of the others), so that no long build starts last and runs on
 * alone.  Only the order changes: a pick still waits for what it
 * requires.  Without a jobserver, the order of the picks, as before.
 * NULL on ENOMEM. */
static size_t *
start_order (const struct extension_env *env, const struct pipeline_result *res)
{
        size_t n = res->n_picks, n_known = 0;
        struct by_time *t = calloc (n, sizeof (*t));
        size_t *order = calloc (n, sizeof (*order));
        double known = 0;

        if (t == NULL || order == NULL) {
                free (t);
                free (order);
                return NULL;
        }
        for (size_t i = 0; i < n; i++) {
                const struct extension_pick *pk = &res->picks[i];
                const char *version = pk->recipe->build == EXT_BUILD_POSTGRES ? env->pg_version : pk->version->version;
                t[i] = (struct by_time) { env->jobserver ? ext_times_get (env->cache_dir, pk->recipe->name, version,
                                                                          env->major) : 0, i };
                if (t[i].seconds >= 0)
                        known += t[i].seconds, n_known++;
        }
        for (size_t i = 0; i < n; i++)
                if (t[i].seconds < 0)
                        t[i].seconds = n_known ? known / (double) n_known : 0;
        qsort (t, n, sizeof (*t), longer_first);
        for (size_t i = 0; i < n; i++)
                order[i] = t[i].pick;
        free (t);
        return order;
}

int
pipeline_build_in_parallel (const struct pipeline_opts *o, const struct extension_env *env,
                   struct pipeline_result *res, int *outcome, char **msgs, char **logs,
                   pgimg_error_t *err)
{
        const char *off = getenv ("PGIMG_JOBSERVER");
        int use_jobserver = !(off && strcmp (off, "0") == 0);
        size_t n = res->n_picks, n_done = 0, n_running = 0;
        struct extension_env wenv = *env, penv = *env;
        size_t max = worker_count (o, n, use_jobserver, &wenv.jobs);
        cleanup_free struct worker *running = calloc (max, sizeof (*running));
        cleanup_free char *state = calloc (n, 1);    /* 0 waiting, 1 running, 2 done, 3 leased elsewhere */
        cleanup_free char *leased = calloc (n, 1);
        cleanup_free size_t *order = NULL;
        struct jobserver js = JOBSERVER_INIT;
        struct schedule p = { &penv, &wenv, res, state, outcome, msgs, o->lease, leased };
        int rc = 0;

        if (running == NULL || state == NULL || leased == NULL)
                return pipeline_oom (err, "extensions");
        /* A cache on a file system without fifos only loses the pool:
         * the build goes on with the scheduler of before. */
        if (use_jobserver) {
                pgimg_error_t e = NULL;
                if (jobserver_open (o->cache_dir, o->jobs, &js, &e) < 0) {
                        pgimg_error_free (&e);
                        use_jobserver = 0;
                        max = worker_count (o, n, 0, &wenv.jobs);
                } else {
                        wenv.jobserver = penv.jobserver = &js;
                }
        }
        if ((order = start_order (&wenv, res)) == NULL) {
                jobserver_close (&js);
                return pipeline_oom (err, "extensions");
        }
        while (n_done < n && rc == 0) {
                for (size_t i = 0; i < n && n_running < max && rc == 0; i++)
                        rc = try_start (&p, order[i], &running[n_running], &n_running, &n_done, err);
                if (n_running == 0 && memchr (state, 3, n) != NULL) {
                        rc = wait_for_leases (&p, err);
                        continue;
                }
                if (n_running == 0)
                        break;
                /* Wait for whichever worker ends first (without a jobserver,
                 * the oldest, as before: PGIMG_JOBSERVER=0 is the scheduler
                 * that was, kept whole to measure against); the others go on. */
                size_t k = use_jobserver ? next_done (running, n_running) : 0;
                struct worker w = running[k];
                memmove (running + k, running + k + 1, (n_running - k - 1) * sizeof (*running));
                n_running--;
                pgimg_error_t e = NULL;
                int r = finish_worker (&w, res->picks[w.pick].recipe->name, o->timings, &logs[w.pick], &e);
                outcome[w.pick] = r < 0 ? -1 : r;
                if (r < 0) {
                        msgs[w.pick] = steal_pointer (&e->msg);
                        pgimg_error_free (&e);
                }
                state[w.pick] = 2;
                n_done++;
        }
        for (size_t k = 0; k < n_running; k++) {
                char *ignored_log = NULL;
                pgimg_error_t e = NULL;
                finish_worker (&running[k], res->picks[running[k].pick].recipe->name, NULL, &ignored_log, &e);
                pgimg_error_free (&e);
                free (ignored_log);
        }
        jobserver_close (&js);
        return rc;
}
