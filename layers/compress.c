/* compress.c - hashing and compressing a layer's tar as it is produced.
 *
 * The thread that walks the tree and writes the tar hashes it (diff_id)
 * and hands it on.  Compression is the slow part, so it runs elsewhere:
 *
 *  - gzip: the tar is cut into 128 KiB blocks that a pool of workers
 *    deflates independently, each primed with the 32 KiB before it, every
 *    block but the last ending in a sync flush so that the pieces join
 *    into one deflate stream (pigz's scheme).  The producer writes the
 *    finished blocks out in order and combines their CRCs for the gzip
 *    trailer.  Block size and level alone decide the bytes, never the
 *    number of workers.
 *  - zstd: libzstd's own workers (ZSTD_c_nbWorkers >= 1: its output is
 *    the same for any number of workers, but differs from nbWorkers = 0,
 *    so we never use 0).
 *  - none: the tar goes out as it is.
 * What comes out goes into a store writer, which hashes it (the digest)
 * and names the blob after it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "common/cleanup.h"
#include "layers/compress.h"
#include "layers/store.h"

#define GZ_BLOCK_BYTES (128 * 1024)
#define GZ_DICT_BYTES (32 * 1024)
#define GZ_DEFAULT_LEVEL 6
#define ZSTD_DEFAULT_LEVEL 3
#define MAX_THREADS 64

enum job_state { JOB_FREE, JOB_QUEUED, JOB_WORKING, JOB_DONE };

/* One block of the gzip stream.  in holds GZ_DICT_BYTES of room for the
 * dictionary (the tail of the previous block), then the block itself. */
struct gz_job {
        enum job_state state;
        int last;
        unsigned char *in;
        size_t dict_len;
        size_t in_len;
        unsigned char *out;
        size_t out_len;
        size_t out_alloc;
        uLong crc;
        int zret;               /* Z_OK, or zlib's complaint */
};

struct gz_pool {
        pthread_mutex_t lock;
        pthread_cond_t work;    /* a job was queued, or stop was set */
        pthread_cond_t done;    /* a job is done */
        struct gz_job *jobs;
        size_t njobs;
        /* Sequence numbers: job s lives in jobs[s % njobs]. */
        uint64_t queued;        /* jobs handed to the workers */
        uint64_t taken;         /* jobs a worker picked up */
        uint64_t written;       /* jobs written out, in order */
        int stop;
        int level;
        struct gz_worker *workers;
        size_t nslots;          /* workers allocated */
        size_t nworkers;        /* threads running */
        uLong crc;
        uint64_t isize;
};

struct gz_worker {
        struct gz_pool *pool;
        pthread_t thread;
        z_stream z;
        int z_ready;
};

struct compress_stream {
        enum layer_compression c;
        struct store_writer *out;
        struct sha256 in_hash;
        int pool_ready;
        struct gz_pool gz;
        ZSTD_CCtx *zstd;
        unsigned char *zbuf;
        size_t zbuf_len;
};

static size_t
thread_count (void)
{
        const char *env = getenv ("PGIMG_LAYER_THREADS");
        long n;

        if (env && *env) {
                n = strtol (env, NULL, 10);
                if (n >= 1 && n <= MAX_THREADS)
                        return (size_t) n;
        }
        n = sysconf (_SC_NPROCESSORS_ONLN);
        if (n < 1)
                return 1;
        return n > MAX_THREADS ? MAX_THREADS : (size_t) n;
}

/* Compressed bytes leave here, into the store writer. */
static int
emit (struct compress_stream *s, const void *data, size_t len, pgimg_error_t *err)
{
        if (len == 0)
                return 0;
        return store_writer_write (s->out, data, len, err);
}

/* gzip */

static int
gz_grow_out (struct gz_job *job, size_t want)
{
        unsigned char *p;

        if (job->out_alloc >= want)
                return 0;
        p = realloc (job->out, want);
        if (p == NULL)
                return -1;
        job->out = p;
        job->out_alloc = want;
        return 0;
}

static int
gz_deflate_job (z_stream *z, struct gz_job *job)
{
        int flush = job->last ? Z_FINISH : Z_SYNC_FLUSH;
        int ret;

        job->out_len = 0;
        if (deflateReset (z) != Z_OK)
                return Z_STREAM_ERROR;
        if (job->dict_len
            && deflateSetDictionary (z, job->in + GZ_DICT_BYTES - job->dict_len,
                                     (uInt) job->dict_len) != Z_OK)
                return Z_STREAM_ERROR;
        /* The sync flush marker and a final empty block are not in the bound. */
        if (gz_grow_out (job, deflateBound (z, job->in_len) + 64) < 0)
                return Z_MEM_ERROR;
        z->next_in = job->in + GZ_DICT_BYTES;
        z->avail_in = (uInt) job->in_len;
        for (;;) {
                z->next_out = job->out + job->out_len;
                z->avail_out = (uInt) (job->out_alloc - job->out_len);
                ret = deflate (z, flush);
                job->out_len = job->out_alloc - z->avail_out;
                if (ret == Z_STREAM_END || (ret == Z_OK && !job->last && z->avail_out > 0))
                        break;
                if (ret != Z_OK && ret != Z_BUF_ERROR)
                        return ret;
                if (gz_grow_out (job, job->out_alloc * 2) < 0)
                        return Z_MEM_ERROR;
        }
        job->crc = crc32 (0L, job->in + GZ_DICT_BYTES, (uInt) job->in_len);
        return Z_OK;
}

static void *
gz_worker_main (void *arg)
{
        struct gz_worker *w = arg;
        struct gz_pool *p = w->pool;

        pthread_mutex_lock (&p->lock);
        for (;;) {
                while (!p->stop && p->taken == p->queued)
                        pthread_cond_wait (&p->work, &p->lock);
                if (p->stop)
                        break;
                struct gz_job *job = &p->jobs[p->taken % p->njobs];
                p->taken++;
                job->state = JOB_WORKING;
                pthread_mutex_unlock (&p->lock);
                int ret = gz_deflate_job (&w->z, job);
                pthread_mutex_lock (&p->lock);
                job->zret = ret;
                job->state = JOB_DONE;
                pthread_cond_broadcast (&p->done);
        }
        pthread_mutex_unlock (&p->lock);
        return NULL;
}

static int
gz_write_header (struct compress_stream *s, pgimg_error_t *err)
{
        /* No name, no timestamp, OS fixed to Unix; the extra flags as
         * zlib sets them for this level. */
        unsigned char h[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
        int level = s->gz.level;

        h[8] = level == 9 ? 2 : level < 2 ? 4 : 0;
        return emit (s, h, sizeof (h), err);
}

static int
gz_write_trailer (struct compress_stream *s, pgimg_error_t *err)
{
        unsigned char t[8];
        uint32_t crc = (uint32_t) s->gz.crc;
        uint32_t isize = (uint32_t) s->gz.isize;

        for (int i = 0; i < 4; i++) {
                t[i] = (unsigned char) (crc >> (8 * i));
                t[4 + i] = (unsigned char) (isize >> (8 * i));
        }
        return emit (s, t, sizeof (t), err);
}

static int
gz_pool_start (struct compress_stream *s, int level, pgimg_error_t *err)
{
        struct gz_pool *p = &s->gz;
        size_t n = thread_count ();

        p->level = level ? level : GZ_DEFAULT_LEVEL;
        if (p->level < 1 || p->level > 9)
                return pgimg_make_error (err, EINVAL, "gzip level %d is not between 1 and 9", level);
        if (pthread_mutex_init (&p->lock, NULL) != 0)
                return pgimg_make_error (err, ENOMEM, "gzip: cannot create a mutex");
        pthread_cond_init (&p->work, NULL);
        pthread_cond_init (&p->done, NULL);
        s->pool_ready = 1;
        p->crc = crc32 (0L, Z_NULL, 0);
        /* Enough jobs that every worker has one queued behind the one it
         * is compressing, while the producer fills another. */
        p->njobs = 2 * n + 2;
        p->jobs = calloc (p->njobs, sizeof (*p->jobs));
        p->workers = calloc (n, sizeof (*p->workers));
        if (p->jobs == NULL || p->workers == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "gzip");
        p->nslots = n;
        for (size_t i = 0; i < p->njobs; i++) {
                p->jobs[i].in = malloc (GZ_DICT_BYTES + GZ_BLOCK_BYTES);
                if (p->jobs[i].in == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "gzip");
        }
        for (size_t i = 0; i < n; i++) {
                struct gz_worker *w = &p->workers[i];
                w->pool = p;
                if (deflateInit2 (&w->z, p->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                        return pgimg_make_error (err, ENOMEM, "gzip: deflateInit2 failed");
                w->z_ready = 1;
                int e = pthread_create (&w->thread, NULL, gz_worker_main, w);
                if (e != 0)
                        return pgimg_make_error_errno (err, e, "gzip: start a thread");
                p->nworkers++;
        }
        return gz_write_header (s, err);
}

static void
gz_pool_stop (struct gz_pool *p)
{
        pthread_mutex_lock (&p->lock);
        p->stop = 1;
        pthread_cond_broadcast (&p->work);
        pthread_mutex_unlock (&p->lock);
        for (size_t i = 0; i < p->nworkers; i++)
                pthread_join (p->workers[i].thread, NULL);
        p->nworkers = 0;
}

static void
gz_pool_free (struct gz_pool *p)
{
        gz_pool_stop (p);
        for (size_t i = 0; i < p->nslots; i++)
                if (p->workers[i].z_ready)
                        deflateEnd (&p->workers[i].z);
        free (p->workers);
        if (p->jobs)
                for (size_t i = 0; i < p->njobs; i++) {
                        free (p->jobs[i].in);
                        free (p->jobs[i].out);
                }
        free (p->jobs);
        pthread_cond_destroy (&p->work);
        pthread_cond_destroy (&p->done);
        pthread_mutex_destroy (&p->lock);
}

/* Write out the oldest job in flight, waiting for it to be done. */
static int
gz_write_oldest (struct compress_stream *s, pgimg_error_t *err)
{
        struct gz_pool *p = &s->gz;
        struct gz_job *job = &p->jobs[p->written % p->njobs];

        pthread_mutex_lock (&p->lock);
        while (job->state != JOB_DONE)
                pthread_cond_wait (&p->done, &p->lock);
        pthread_mutex_unlock (&p->lock);
        if (job->zret != Z_OK)
                return pgimg_make_error (err, EIO, "gzip: deflate failed (zlib error %d)", job->zret);
        if (emit (s, job->out, job->out_len, err) < 0)
                return -1;
        p->crc = crc32_combine (p->crc, job->crc, (z_off_t) job->in_len);
        p->isize += job->in_len;
        p->written++;
        pthread_mutex_lock (&p->lock);
        job->state = JOB_FREE;
        pthread_mutex_unlock (&p->lock);
        return 0;
}

/* Write out the jobs at the head of the line that are already done. */
static int
gz_write_done (struct compress_stream *s, pgimg_error_t *err)
{
        struct gz_pool *p = &s->gz;

        while (p->written < p->queued) {
                struct gz_job *job = &p->jobs[p->written % p->njobs];
                pthread_mutex_lock (&p->lock);
                enum job_state state = job->state;
                pthread_mutex_unlock (&p->lock);
                if (state != JOB_DONE)
                        break;
                if (gz_write_oldest (s, err) < 0)
                        return -1;
        }
        return 0;
}

/* Hand the job being filled to the workers and prepare the next one,
 * primed with the tail of this one. */
static int
gz_submit (struct compress_stream *s, int last, pgimg_error_t *err)
{
        struct gz_pool *p = &s->gz;
        struct gz_job *job = &p->jobs[p->queued % p->njobs];

        pthread_mutex_lock (&p->lock);
        job->last = last;
        job->state = JOB_QUEUED;
        p->queued++;
        pthread_cond_signal (&p->work);
        pthread_mutex_unlock (&p->lock);
        if (last)
                return 0;
        /* The next slot still holds job queued - njobs until written. */
        while (p->written + p->njobs <= p->queued)
                if (gz_write_oldest (s, err) < 0)
                        return -1;
        if (gz_write_done (s, err) < 0)
                return -1;
        struct gz_job *next = &p->jobs[p->queued % p->njobs];
        next->dict_len = GZ_DICT_BYTES;
        next->in_len = 0;
        /* The last GZ_DICT_BYTES of a full block end at in + GZ_DICT_BYTES + GZ_BLOCK_BYTES. */
        memcpy (next->in, job->in + GZ_BLOCK_BYTES, GZ_DICT_BYTES);
        return 0;
}

static int
gz_write (struct compress_stream *s, const unsigned char *data, size_t len, pgimg_error_t *err)
{
        struct gz_pool *p = &s->gz;

        while (len > 0) {
                struct gz_job *job = &p->jobs[p->queued % p->njobs];
                size_t n = GZ_BLOCK_BYTES - job->in_len;
                if (n > len)
                        n = len;
                memcpy (job->in + GZ_DICT_BYTES + job->in_len, data, n);
                job->in_len += n;
                data += n;
                len -= n;
                if (job->in_len == GZ_BLOCK_BYTES && gz_submit (s, 0, err) < 0)
                        return -1;
        }
        return 0;
}

static int
gz_finish (struct compress_stream *s, pgimg_error_t *err)
{
        struct gz_pool *p = &s->gz;

        if (gz_submit (s, 1, err) < 0)
                return -1;
        while (p->written < p->queued)
                if (gz_write_oldest (s, err) < 0)
                        return -1;
        return gz_write_trailer (s, err);
}

/* zstd */

static int
zstd_check (size_t r, pgimg_error_t *err)
{
        if (ZSTD_isError (r))
                return pgimg_make_error (err, EIO, "zstd: %s", ZSTD_getErrorName (r));
        return 0;
}

static int
zstd_start (struct compress_stream *s, int level, pgimg_error_t *err)
{
        s->zstd = ZSTD_createCCtx ();
        s->zbuf_len = ZSTD_CStreamOutSize ();
        s->zbuf = malloc (s->zbuf_len);
        if (s->zstd == NULL || s->zbuf == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "zstd");
        if (zstd_check (ZSTD_CCtx_setParameter (s->zstd, ZSTD_c_compressionLevel,
                                                level ? level : ZSTD_DEFAULT_LEVEL), err) < 0
            || zstd_check (ZSTD_CCtx_setParameter (s->zstd, ZSTD_c_checksumFlag, 1), err) < 0)
                return -1;
        /* Fails when libzstd was built without threads: the output would
         * then differ from every other machine's, so do not fall back. */
        if (zstd_check (ZSTD_CCtx_setParameter (s->zstd, ZSTD_c_nbWorkers, (int) thread_count ()),
                        err) < 0)
                return pgimg_error_wrap (err, "zstd needs multithreading support");
        return 0;
}

static int
zstd_run (struct compress_stream *s, const void *data, size_t len, ZSTD_EndDirective mode,
          pgimg_error_t *err)
{
        ZSTD_inBuffer in = { data, len, 0 };

        for (;;) {
                ZSTD_outBuffer out = { s->zbuf, s->zbuf_len, 0 };
                size_t left = ZSTD_compressStream2 (s->zstd, &out, &in, mode);
                if (zstd_check (left, err) < 0 || emit (s, s->zbuf, out.pos, err) < 0)
                        return -1;
                if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size)
                        return 0;
        }
}

/* The stream */

int
compress_stream_new (enum layer_compression c, int level, struct store_writer *w,
                     struct compress_stream **out, pgimg_error_t *err)
{
        struct compress_stream *s = calloc (1, sizeof (*s));

        if (s == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "layer stream");
        s->c = c;
        s->out = w;
        if (sha256_init (&s->in_hash, err) < 0)
                goto fail;
        switch (c) {
        case LAYER_GZIP:
                if (gz_pool_start (s, level, err) < 0)
                        goto fail;
                break;
        case LAYER_ZSTD:
                if (zstd_start (s, level, err) < 0)
                        goto fail;
                break;
        case LAYER_UNCOMPRESSED:
                break;
        default:
                pgimg_make_error (err, EINVAL, "unknown layer compression %d", (int) c);
                goto fail;
        }
        *out = s;
        return 0;
fail:
        compress_stream_free (s);
        return -1;
}

int
compress_stream_write (struct compress_stream *s, const void *data, size_t len,
                       pgimg_error_t *err)
{
        if (sha256_update (&s->in_hash, data, len, err) < 0)
                return -1;
        switch (s->c) {
        case LAYER_GZIP:
                return gz_write (s, data, len, err);
        case LAYER_ZSTD:
                return zstd_run (s, data, len, ZSTD_e_continue, err);
        default:
                return emit (s, data, len, err);
        }
}

int
compress_stream_finish (struct compress_stream *s, char diff_id[SHA256_HEX_LEN + 1],
                        pgimg_error_t *err)
{
        int ret = 0;

        if (s->c == LAYER_GZIP)
                ret = gz_finish (s, err);
        else if (s->c == LAYER_ZSTD)
                ret = zstd_run (s, NULL, 0, ZSTD_e_end, err);
        if (ret < 0 || sha256_final_hex (&s->in_hash, diff_id, err) < 0)
                return -1;
        return 0;
}

void
compress_stream_free (struct compress_stream *s)
{
        if (s == NULL)
                return;
        if (s->pool_ready)
                gz_pool_free (&s->gz);
        ZSTD_freeCCtx (s->zstd);
        free (s->zbuf);
        sha256_free (&s->in_hash);
        free (s);
}
