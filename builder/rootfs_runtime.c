/* rootfs_runtime.c - the files of the runtime base that Debian's
 * maintainer scripts would have made.  The base is unpacked from .debs
 * without running their scripts (rootfs.c); what those scripts do that
 * matters when the image runs is done here, the same way on every build:
 * the files get the layer's fixed mtime and, through the owner map, their
 * owners.  docs/runtime.md lists each step and what is done instead. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/rootfs.h"
#include "builder/rootfs_int.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "sandbox/resolve.h"
#include "sandbox/sandbox.h"

/* Debian's fixed gid of the group that may read /etc/shadow. */
#define SHADOW_GID 42
/* Text files read from the root are small; anything bigger is not one. */
#define MAX_TEXT_BYTES (1u << 20)

/* The "name" field of a colon-separated line (passwd, group). */
static int
first_field (const char *line, size_t len, const char *file, size_t line_no, size_t *name_len,
             pgimg_error_t *err)
{
        const char *colon = memchr (line, ':', len);

        if (colon == NULL || colon == line)
                return pgimg_make_error (err, EINVAL,
                                         "%s line %zu has no name before its first `:`; fix the file the runtime base is assembled from",
                                         file, line_no);
        *name_len = (size_t) (colon - line);
        return 0;
}

/* Calls fn for each line of text that is neither empty nor a comment. */
typedef int (*line_fn) (const char *line, size_t len, size_t line_no, void *ctx, pgimg_error_t *err);

static int
each_line (const char *text, line_fn fn, void *ctx, pgimg_error_t *err)
{
        size_t line_no = 0;

        for (const char *p = text; *p;) {
                const char *nl = strchr (p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen (p);
                line_no++;
                if (len > 0 && p[0] != '#' && fn (p, len, line_no, ctx, err) < 0)
                        return -1;
                p += len + (nl != NULL);
        }
        return 0;
}

struct shadow_ctx {
        struct buf *out;
        int gshadow;
};

static int
shadow_line (const char *line, size_t len, size_t line_no, void *ctx, pgimg_error_t *err)
{
        struct shadow_ctx *c = ctx;
        size_t name_len = 0;
        int r;

        if (first_field (line, len, c->gshadow ? "/etc/group" : "/etc/passwd", line_no, &name_len,
                         err) < 0)
                return -1;
        if (c->gshadow) {
                /* group:password:gid:members -> group:*::members */
                const char *members = line + len;
                int colons = 0;
                for (const char *q = line; q < line + len; q++)
                        if (*q == ':' && ++colons == 3) {
                                members = q + 1;
                                break;
                        }
                r = buf_addf (c->out, "%.*s:*::%.*s\n", (int) name_len, line,
                              (int) (line + len - members), members);
        } else {
                /* Locked, no date of last change (aging off), as an
                 * account made without a password by adduser would be. */
                r = buf_addf (c->out, "%.*s:*::0:99999:7:::\n", (int) name_len, line);
        }
        return r < 0 ? pgimg_make_error_errno (err, ENOMEM, "shadow") : 0;
}

int
rootfs_shadow_text (const char *accounts, int gshadow, struct buf *out, pgimg_error_t *err)
{
        struct shadow_ctx c = { out, gshadow };

        return each_line (accounts, shadow_line, &c, err);
}

struct group_ctx {
        const char *name;
        unsigned gid;
        int found;
};

static int
group_line (const char *line, size_t len, size_t line_no, void *ctx, pgimg_error_t *err)
{
        struct group_ctx *c = ctx;
        char gid_text[32];
        size_t name_len = 0;
        const char *gid_field;
        int same_name, same_gid;

        if (first_field (line, len, "/etc/group", line_no, &name_len, err) < 0)
                return -1;
        same_name = name_len == strlen (c->name) && memcmp (line, c->name, name_len) == 0;
        /* name:password:gid:... */
        gid_field = memchr (line + name_len + 1, ':', len - name_len - 1);
        snprintf (gid_text, sizeof (gid_text), "%u:", c->gid);
        same_gid = gid_field != NULL && (size_t) (line + len - gid_field - 1) >= strlen (gid_text)
                   && strncmp (gid_field + 1, gid_text, strlen (gid_text)) == 0;
        if (same_gid && !same_name)
                return pgimg_make_error (err, EEXIST,
                                         "/etc/group line %zu gives gid %u, which Debian reserves for `%s`, to `%.*s`; give that group another gid",
                                         line_no, c->gid, c->name, (int) name_len, line);
        c->found |= same_name;
        return 0;
}

int
rootfs_group_with (const char *group, const char *name, unsigned gid, struct buf *out,
                   pgimg_error_t *err)
{
        struct group_ctx c = { name, gid, 0 };
        size_t len = strlen (group);

        if (each_line (group, group_line, &c, err) < 0)
                return -1;
        if (buf_adds (out, group) < 0 || (len > 0 && group[len - 1] != '\n' && buf_adds (out, "\n") < 0)
            || (!c.found && buf_addf (out, "%s:x:%u:\n", name, gid) < 0))
                return pgimg_make_error_errno (err, ENOMEM, "/etc/group");
        return 0;
}

static int
shells_add_one (struct buf *shells, const char *path, size_t len, pgimg_error_t *err)
{
        cleanup_free char *needle = NULL;

        if (asprintf (&needle, "\n%.*s\n", (int) len, path) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "/etc/shells");
        if (shells->len > 0 && strstr (shells->data, needle))
                return 0;
        if (buf_add (shells, needle + 1, len + 1) < 0)
                return pgimg_make_error_errno (err, ENOMEM, "/etc/shells");
        return 0;
}

static int
shells_line (const char *line, size_t len, size_t line_no, void *ctx, pgimg_error_t *err)
{
        struct buf *shells = ctx;
        const char *hash = memchr (line, '#', len);
        cleanup_free char *twin = NULL;

        if (hash)
                len = (size_t) (hash - line);
        while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
                len--;
        if (len == 0)
                return 0;
        if (line[0] != '/' || memchr (line, ':', len) || memchr (line, ' ', len))
                return pgimg_make_error (err, EINVAL,
                                         "shells list line %zu is not an absolute path of a shell; fix the package's file in /usr/share/debianutils",
                                         line_no);
        if (shells_add_one (shells, line, len, err) < 0)
                return -1;
        if ((len > 5 && strncmp (line, "/bin/", 5) == 0) || (len > 6 && strncmp (line, "/sbin/", 6) == 0)) {
                if (asprintf (&twin, "/usr%.*s", (int) len, line) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "/etc/shells");
                return shells_add_one (shells, twin, strlen (twin), err);
        }
        return 0;
}

int
rootfs_shells_add (struct buf *shells, const char *text, pgimg_error_t *err)
{
        return each_line (text, shells_line, shells, err);
}

/* A buffer's text; "" for one that never grew. */
static const char *
text_of (const struct buf *b)
{
        return b->data ? b->data : "";
}

static int
compare_names (const void *a, const void *b)
{
        return strcmp (*(char *const *) a, *(char *const *) b);
}

/* root/rel's text into b (NUL-terminated); 0 when it is missing. */
static int
read_in (const char *root, const char *rel, struct buf *b, pgimg_error_t *err)
{
        cleanup_fd int root_fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        cleanup_fd int fd = -1;
        char chunk[8192];
        ssize_t n;

        if (root_fd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", root);
        fd = resolve_open (root_fd, rel, O_RDONLY | O_CLOEXEC, 0);
        if (fd < 0)
                return errno == ENOENT ? 0 : pgimg_make_error_errno (err, errno, "open `%s/%s`", root, rel);
        while ((n = read (fd, chunk, sizeof (chunk))) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return pgimg_make_error_errno (err, errno, "read `%s/%s`", root, rel);
                if (b->len + (size_t) n > MAX_TEXT_BYTES)
                        return pgimg_make_error (err, EFBIG, "`%s/%s` is over %u bytes; it is not the text file it should be",
                                                 root, rel, MAX_TEXT_BYTES);
                if (buf_add (b, chunk, (size_t) n) < 0)
                        return pgimg_make_error_errno (err, ENOMEM, "read `%s/%s`", root, rel);
        }
        return 1;
}

/* tzdata's postinst: /etc/localtime and /etc/timezone name the zone
 * (UTC, as in the official image); the package's own zoneinfo/localtime
 * points at /etc/localtime. */
static int
time_zone (const char *root, pgimg_error_t *err)
{
        static const char zone[] = "Etc/UTC\n";

        if (rootfs_link_if_missing (root, "etc/localtime", "/usr/share/zoneinfo/Etc/UTC", err) < 0)
                return -1;
        return rootfs_write_in (root, "etc/timezone", zone, strlen (zone), 0644, err);
}

/* passwd's and base-passwd's postinst: a shadow group and shadow files
 * that lock every account, readable by root and that group only. */
static int
shadow_files (const char *root, struct owner_map *owners, pgimg_error_t *err)
{
        cleanup_buf struct buf passwd = BUF_INIT;
        cleanup_buf struct buf group = BUF_INIT;
        cleanup_buf struct buf new_group = BUF_INIT;
        cleanup_buf struct buf shadow = BUF_INIT;
        cleanup_buf struct buf gshadow = BUF_INIT;

        if (read_in (root, "etc/passwd", &passwd, err) < 0 || read_in (root, "etc/group", &group, err) < 0)
                return -1;
        if (rootfs_group_with (text_of (&group), "shadow", SHADOW_GID, &new_group, err) < 0
            || rootfs_shadow_text (text_of (&passwd), 0, &shadow, err) < 0
            || rootfs_shadow_text (text_of (&new_group), 1, &gshadow, err) < 0)
                return -1;
        if (rootfs_write_in (root, "etc/group", new_group.data, new_group.len, 0644, err) < 0
            || rootfs_write_in (root, "etc/shadow", shadow.data, shadow.len, 0640, err) < 0
            || rootfs_write_in (root, "etc/gshadow", gshadow.data, gshadow.len, 0640, err) < 0)
                return -1;
        if (owner_map_set (owners, "etc/shadow", 0, SHADOW_GID, 0640, err) < 0
            || owner_map_set (owners, "etc/gshadow", 0, SHADOW_GID, 0640, err) < 0)
                return -1;
        return 0;
}

/* The names in root/rel (a directory), sorted as update-shells' glob in
 * the C locale sorts them; *names NULL-terminated, caller frees. */
static int
dir_names (const char *root, const char *rel, char ***names, pgimg_error_t *err)
{
        cleanup_fd int root_fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fd;
        DIR *d;
        struct dirent *e;
        size_t n = 0;
        char **v = calloc (1, sizeof (*v));

        *names = v;
        if (v == NULL)
                return pgimg_make_error_errno (err, ENOMEM, "read `%s/%s`", root, rel);
        if (root_fd < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", root);
        fd = resolve_open (root_fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0)
                return errno == ENOENT ? 0 : pgimg_make_error_errno (err, errno, "open `%s/%s`", root, rel);
        if ((d = fdopendir (fd)) == NULL) {
                close (fd);
                return pgimg_make_error_errno (err, errno, "read `%s/%s`", root, rel);
        }
        while ((e = readdir (d)) != NULL) {
                char **grown;
                if (e->d_name[0] == '.')
                        continue;
                if ((grown = realloc (v, (n + 2) * sizeof (*v))) == NULL
                    || (grown[n] = strdup (e->d_name)) == NULL) {
                        *names = grown ? grown : v;
                        closedir (d);
                        return pgimg_make_error_errno (err, ENOMEM, "read `%s/%s`", root, rel);
                }
                v = *names = grown;
                v[++n] = NULL;
        }
        closedir (d);
        qsort (v, n, sizeof (*v), compare_names);
        return 0;
}

/* debianutils' update-shells: /etc/shells from its template and the
 * lists the shells' packages put in shells.d. */
static int
shells_file (const char *root, pgimg_error_t *err)
{
        static const char dir[] = "usr/share/debianutils/shells.d";
        cleanup_buf struct buf shells = BUF_INIT;
        cleanup_buf struct buf text = BUF_INIT;
        char **names = NULL;
        int r;

        if (buf_adds (&shells, "# /etc/shells: valid login shells\n") < 0)
                return pgimg_make_error_errno (err, ENOMEM, "/etc/shells");
        r = read_in (root, "usr/share/debianutils/shells", &text, err);
        if (r > 0)
                r = rootfs_shells_add (&shells, text_of (&text), err);
        if (r >= 0)
                r = dir_names (root, dir, &names, err);
        for (size_t i = 0; r >= 0 && names[i]; i++) {
                cleanup_free char *rel = NULL;
                buf_reset (&text);
                if (asprintf (&rel, "%s/%s", dir, names[i]) < 0) {
                        r = pgimg_make_error_errno (err, ENOMEM, "/etc/shells");
                        break;
                }
                if ((r = read_in (root, rel, &text, err)) > 0
                    && (r = rootfs_shells_add (&shells, text_of (&text), err)) < 0)
                        pgimg_error_wrap (err, "`/%s`", rel);
        }
        strv_free (names);
        if (r < 0)
                return -1;
        return rootfs_write_in (root, "etc/shells", shells.data, shells.len, 0644, err);
}

/* update-alternatives, for the alternatives of the runtime set's
 * packages (mawk's awk and nawk, xz-utils' lzma names), made as direct
 * links like the build roots' (no /etc/alternatives to manage). */
static int
alternatives (const char *root, pgimg_error_t *err)
{
        static const struct rootfs_link links[] = {
                { "usr/bin/awk", "mawk" },
                { "usr/bin/nawk", "mawk" },
                { "usr/bin/lzma", "xz" },
                { "usr/bin/unlzma", "unxz" },
                { "usr/bin/lzcat", "xzcat" },
        };
        return rootfs_link_present (root, links, sizeof (links) / sizeof (links[0]), err);
}

/* libc-bin's postinst copies its nsswitch.conf when there is none; the
 * runtime set has no libc-bin copy of it, so this is Debian's default
 * without the NSS modules the base does not have (systemd, nis). */
static int
nsswitch_conf (const char *root, pgimg_error_t *err)
{
        static const char conf[] =
                "# /etc/nsswitch.conf\n"
                "passwd:         files\n"
                "group:          files\n"
                "shadow:         files\n"
                "gshadow:        files\n"
                "\n"
                "hosts:          files dns\n"
                "networks:       files\n"
                "\n"
                "protocols:      db files\n"
                "services:       db files\n"
                "ethers:         db files\n"
                "rpc:            db files\n";
        cleanup_buf struct buf copy = BUF_INIT;
        int r = read_in (root, "usr/share/libc-bin/nsswitch.conf", &copy, err);

        if (r < 0 || (r = rootfs_exists_in (root, "etc/nsswitch.conf", err)) != 0)
                return r < 0 ? -1 : 0;
        if (copy.len > 0)
                return rootfs_write_in (root, "etc/nsswitch.conf", copy.data, copy.len, 0644, err);
        return rootfs_write_in (root, "etc/nsswitch.conf", conf, strlen (conf), 0644, err);
}

/* base-files' postinst: the copies it makes once (profile, root's
 * dot files, motd), the origin link and the directories it installs. */
static int
base_files (const char *root, struct owner_map *owners, pgimg_error_t *err)
{
        static const struct { const char *from, *to; } copies[] = {
                { "usr/share/base-files/profile", "etc/profile" },
                { "usr/share/base-files/dot.bashrc", "root/.bashrc" },
                { "usr/share/base-files/dot.profile", "root/.profile" },
                { "usr/share/base-files/motd", "etc/motd" },
        };
        static const char *const dirs[] = {
                "etc/opt", "media", "mnt", "opt", "srv", "var/opt", "var/local",
                "usr/local/etc", "usr/local/games", "usr/local/include", "usr/local/lib",
                "usr/local/man", "usr/local/sbin", "usr/local/share", "usr/local/src", NULL,
        };
        static const struct rootfs_link origin[] = { { "etc/dpkg/origins/default", "debian" } };

        for (size_t i = 0; i < sizeof (copies) / sizeof (copies[0]); i++) {
                cleanup_buf struct buf text = BUF_INIT;
                int r = rootfs_exists_in (root, copies[i].to, err);
                if (r == 0)
                        r = read_in (root, copies[i].from, &text, err);
                if (r < 0)
                        return -1;
                if (r > 0 && text.len > 0
                    && rootfs_write_in (root, copies[i].to, text.data, text.len, 0644, err) < 0)
                        return -1;
        }
        for (size_t i = 0; dirs[i]; i++)
                if (rootfs_mkdir_in (root, dirs[i], 0755, err) < 0)
                        return -1;
        /* /var/lock points there; a container without an init making
         * /run a tmpfs still finds it, sticky and writable by all. */
        if (rootfs_mkdir_in (root, "run/lock", 01777, err) < 0
            || owner_map_set (owners, "run/lock", 0, 0, 01777, err) < 0)
                return -1;
        return rootfs_link_present (root, origin, 1, err);
}

/* libc-bin's trigger: ldconfig, the base's own, run on the base in a
 * sandbox, writing the cache into a scratch directory (the root stays
 * read-only; -X leaves the packages' library links as they are). */
static int
ld_so_cache (const char *cache_dir, const char *root, pgimg_error_t *err)
{
        static const char *const argv[] = { "/usr/sbin/ldconfig", "-X", "-C", "/tmp/out/ld.so.cache", NULL };
        static const char *const envp[] = { "PATH=/usr/sbin:/usr/bin", "LC_ALL=C", NULL };
        cleanup_free char *work = NULL;
        cleanup_free char *log_path = NULL;
        cleanup_free char *cache_path = NULL;
        cleanup_buf struct buf cache = BUF_INIT;
        cleanup_buf struct buf tail = BUF_INIT;
        cleanup_fd int log = -1;
        int code = 0, r = -1;

        if (fs_work_dir (cache_dir, "ldconfig", &work, err) < 0)
                return -1;
        const struct sandbox_bind binds[] = { { work, "/tmp/out", 1 } };
        struct sandbox_opts opts = {
                .root_dir = root, .binds = binds, .n_binds = 1, .argv = argv, .envp = envp,
                .hostname = "pgimg-build", .stdout_fd = -1, .stderr_fd = -1,
        };
        if (asprintf (&log_path, "%s/log", work) < 0 || asprintf (&cache_path, "%s/ld.so.cache", work) < 0) {
                pgimg_make_error_errno (err, ENOMEM, "ldconfig");
                goto out;
        }
        log = open (log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log < 0) {
                pgimg_make_error_errno (err, errno, "open `%s`", log_path);
                goto out;
        }
        opts.stdout_fd = opts.stderr_fd = log;
        if (sandbox_run (&opts, &code, err) < 0) {
                pgimg_error_wrap (err, "ldconfig");
                goto out;
        }
        if (code != 0) {
                /* One line: its last, which says why. */
                if (build_log_tail (log_path, 1, &tail, err) == 0 && tail.len > 0
                    && tail.data[tail.len - 1] == '\n')
                        tail.data[--tail.len] = '\0';
                pgimg_make_error (err, EIO, "ldconfig failed with exit code %d: %s",
                                  code, text_of (&tail));
                goto out;
        }
        if (fs_read_file (cache_path, 0, &cache, err) < 0)
                goto out;
        r = rootfs_write_in (root, "etc/ld.so.cache", cache.data, cache.len, 0644, err);
out:
        fs_drop_temp_dir (work);
        return r;
}

int
rootfs_runtime_files (const char *cache_dir, const char *root, int native, struct owner_map *owners,
                      pgimg_error_t *err)
{
        if (time_zone (root, err) < 0 || shadow_files (root, owners, err) < 0
            || alternatives (root, err) < 0 || shells_file (root, err) < 0
            || nsswitch_conf (root, err) < 0 || base_files (root, owners, err) < 0
            || (native && ld_so_cache (cache_dir, root, err) < 0))
                return -1;      /* the caller names the runtime base */
        return 0;
}
