#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/owners.h"

static const char *
strip_root (const char *path)
{
        while (path[0] == '.' && path[1] == '/')
                path += 2;
        while (*path == '/')
                path++;
        return path;
}

static int
cmp_entry (const void *a, const void *b)
{
        const struct owner_entry *x = a, *y = b;
        return strcmp (x->path, y->path);
}

static void
sort_map (struct owner_map *m)
{
        if (!m->sorted) {
                qsort (m->v, m->n, sizeof (*m->v), cmp_entry);
                m->sorted = 1;
        }
}

const struct owner_entry *
owner_map_get (struct owner_map *m, const char *path)
{
        struct owner_entry key;

        if (m == NULL || m->n == 0)
                return NULL;
        sort_map (m);
        key.path = (char *) strip_root (path);
        return bsearch (&key, m->v, m->n, sizeof (*m->v), cmp_entry);
}

int
owner_map_set (struct owner_map *m, const char *path, uint32_t uid, uint32_t gid,
               uint32_t mode, pgimg_error_t *err)
{
        struct owner_entry *e = (struct owner_entry *) owner_map_get (m, path);

        if (e == NULL) {
                if (m->n == m->alloc) {
                        size_t alloc = m->alloc ? m->alloc * 2 : 64;
                        struct owner_entry *v = realloc (m->v, alloc * sizeof (*v));
                        if (v == NULL)
                                return pgimg_make_error_errno (err, ENOMEM, "owner of `%s`", path);
                        m->v = v;
                        m->alloc = alloc;
                }
                e = &m->v[m->n];
                e->path = strdup (strip_root (path));
                if (e->path == NULL)
                        return pgimg_make_error_errno (err, ENOMEM, "owner of `%s`", path);
                m->n++;
                m->sorted = m->n < 2 || (m->sorted && strcmp (m->v[m->n - 2].path, e->path) < 0);
        }
        e->uid = uid;
        e->gid = gid;
        e->mode = mode & 07777;
        return 0;
}

int
owner_map_load (struct owner_map *m, const char *file, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        char *line, *save = NULL;
        size_t lineno = 0;

        if (!fs_exists (file))
                return 0;
        if (fs_read_file (file, 0, &b, err) < 0)
                return -1;
        for (line = strtok_r (b.data, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
                unsigned mode, uid, gid;
                int off = 0;
                lineno++;
                if (sscanf (line, "%o\t%u\t%u\t%n", &mode, &uid, &gid, &off) != 3 || off == 0
                    || line[off] == '\0')
                        return pgimg_make_error (err, EINVAL, "`%s` line %zu: malformed owner entry",
                                                 file, lineno);
                if (owner_map_set (m, line + off, uid, gid, mode, err) < 0)
                        return -1;
        }
        return 0;
}

int
owner_map_save (struct owner_map *m, const char *file, pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;

        sort_map (m);
        for (size_t i = 0; i < m->n; i++)
                if (buf_addf (&b, "%04o\t%u\t%u\t%s\n", m->v[i].mode, m->v[i].uid, m->v[i].gid,
                              m->v[i].path) < 0)
                        return pgimg_make_error_errno (err, errno, "write `%s`", file);
        return fs_write_file_atomic (file, b.data ? b.data : "", b.len, 0644, err);
}

void
owner_map_free (struct owner_map *m)
{
        for (size_t i = 0; i < m->n; i++)
                free (m->v[i].path);
        free (m->v);
        m->v = NULL;
        m->n = m->alloc = 0;
        m->sorted = 1;
}
