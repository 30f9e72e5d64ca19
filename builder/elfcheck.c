#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/elfcheck.h"
#include "common/cleanup.h"
#include "common/fsutil.h"

/* Where the dynamic loader (and PostgreSQL's rpath) finds libraries. */
static const char *const lib_dirs[] = {
        "usr/lib/x86_64-linux-gnu", "usr/lib/aarch64-linux-gnu", "usr/lib", "lib/x86_64-linux-gnu",
        "usr/local/lib", NULL,
};

/* The same directories for one architecture. */
static const char *const amd64_dirs[] = {
        "usr/lib/x86_64-linux-gnu", "usr/lib", "lib/x86_64-linux-gnu", "usr/local/lib", NULL,
};
static const char *const arm64_dirs[] = {
        "usr/lib/aarch64-linux-gnu", "usr/lib", "lib/aarch64-linux-gnu", "usr/local/lib", NULL,
};

static int
in_file (uint64_t off, uint64_t len, size_t size)
{
        return off <= size && len <= size - off;
}

/* The dynamic section's string table offset: the file offset of the
 * PT_LOAD segment holding vaddr. */
static int
vaddr_to_off (const Elf64_Phdr *ph, size_t n, uint64_t vaddr, uint64_t *off)
{
        for (size_t i = 0; i < n; i++)
                if (ph[i].p_type == PT_LOAD && vaddr >= ph[i].p_vaddr
                    && vaddr - ph[i].p_vaddr < ph[i].p_filesz) {
                        *off = ph[i].p_offset + (vaddr - ph[i].p_vaddr);
                        return 0;
                }
        return -1;
}

static int
parse_needed (const unsigned char *m, size_t size, const char *path, struct buf *out,
              struct buf *runpath, pgimg_error_t *err)
{
        const Elf64_Ehdr *eh = (const void *) m;
        const Elf64_Phdr *ph;
        const Elf64_Dyn *dyn = NULL;
        size_t n_dyn = 0;
        uint64_t strtab = 0, strsz = 0, stroff;

        if (size < sizeof (*eh) || memcmp (m, ELFMAG, SELFMAG) != 0)
                return 0;
        if (m[EI_CLASS] != ELFCLASS64 || m[EI_DATA] != ELFDATA2LSB)
                return 0;
        if (eh->e_phentsize != sizeof (Elf64_Phdr)
            || !in_file (eh->e_phoff, (uint64_t) eh->e_phnum * sizeof (Elf64_Phdr), size))
                return pgimg_make_error (err, EINVAL, "`%s`: bad ELF program headers", path);
        ph = (const void *) (m + eh->e_phoff);
        for (size_t i = 0; i < eh->e_phnum; i++)
                if (ph[i].p_type == PT_DYNAMIC) {
                        if (!in_file (ph[i].p_offset, ph[i].p_filesz, size))
                                return pgimg_make_error (err, EINVAL, "`%s`: bad ELF dynamic section", path);
                        dyn = (const void *) (m + ph[i].p_offset);
                        n_dyn = ph[i].p_filesz / sizeof (Elf64_Dyn);
                }
        for (size_t i = 0; i < n_dyn && dyn[i].d_tag != DT_NULL; i++) {
                if (dyn[i].d_tag == DT_STRTAB)
                        strtab = dyn[i].d_un.d_ptr;
                else if (dyn[i].d_tag == DT_STRSZ)
                        strsz = dyn[i].d_un.d_val;
        }
        if (n_dyn == 0 || strtab == 0)
                return 0;       /* static */
        if (vaddr_to_off (ph, eh->e_phnum, strtab, &stroff) < 0 || !in_file (stroff, strsz, size))
                return pgimg_make_error (err, EINVAL, "`%s`: bad ELF string table", path);
        for (size_t i = 0; i < n_dyn && dyn[i].d_tag != DT_NULL; i++) {
                const char *s;
                size_t len;
                struct buf *dest = dyn[i].d_tag == DT_NEEDED ? out
                                   : dyn[i].d_tag == DT_RUNPATH || dyn[i].d_tag == DT_RPATH ? runpath : NULL;
                if (dest == NULL || dyn[i].d_un.d_val >= strsz)
                        continue;
                s = (const char *) m + stroff + dyn[i].d_un.d_val;
                len = strnlen (s, strsz - dyn[i].d_un.d_val);
                if ((dest == runpath && dest->len && buf_add (dest, ":", 1) < 0)
                    || buf_add (dest, s, len) < 0 || (dest == out && buf_add (out, "", 1) < 0))
                        return pgimg_make_error_errno (err, ENOMEM, "`%s`", path);
        }
        return 0;
}

/* *machine: the file's e_machine, or 0 when it is not ELF. */
static int
read_dynamic (const char *path, struct buf *out, struct buf *runpath, int *machine, pgimg_error_t *err)
{
        cleanup_fd int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        void *m;
        int rc;

        if (fd < 0 || fstat (fd, &st) < 0)
                return pgimg_make_error_errno (err, errno, "open `%s`", path);
        if (!S_ISREG (st.st_mode) || st.st_size < (off_t) sizeof (Elf64_Ehdr))
                return 0;
        m = mmap (NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
                return pgimg_make_error_errno (err, errno, "map `%s`", path);
        /* e_machine is at the same offset in ELF32 and ELF64. */
        if (machine != NULL && memcmp (m, ELFMAG, SELFMAG) == 0) {
                const unsigned char *h = m;
                *machine = h[EI_DATA] == ELFDATA2MSB ? (h[18] << 8) | h[19] : h[18] | (h[19] << 8);
        }
        rc = parse_needed (m, (size_t) st.st_size, path, out, runpath, err);
        munmap (m, (size_t) st.st_size);
        return rc;
}

int
elfcheck_needed (const char *path, struct buf *out, pgimg_error_t *err)
{
        cleanup_buf struct buf runpath = BUF_INIT;
        return read_dynamic (path, out, &runpath, NULL, err);
}

/* name in root's library directories, or in a directory of the file's
 * RUNPATH (origin: the file's directory inside the image, for $ORIGIN). */
static int
found_in (const char *const *dirs, const char *root, const char *runpath, const char *origin, const char *name)
{
        char p[4096];

        for (size_t i = 0; dirs[i]; i++) {
                snprintf (p, sizeof (p), "%s/%s/%s", root, dirs[i], name);
                if (access (p, F_OK) == 0)
                        return 1;
        }
        while (runpath && *runpath) {
                size_t n = strcspn (runpath, ":");
                if (n >= 7 && strncmp (runpath, "$ORIGIN", 7) == 0)
                        snprintf (p, sizeof (p), "%s%s%.*s/%s", root, origin, (int) (n - 7), runpath + 7, name);
                else if (n > 0 && runpath[0] == '/')
                        snprintf (p, sizeof (p), "%s%.*s/%s", root, (int) n, runpath, name);
                else
                        p[0] = '\0';
                if (p[0] && access (p, F_OK) == 0)
                        return 1;
                runpath += n + (runpath[n] == ':');
        }
        return 0;
}

static const char *
machine_name (int machine)
{
        return machine == EM_X86_64 ? "x86-64" : machine == EM_AARCH64 ? "aarch64" : machine == EM_386 ? "i386"
               : "another machine's";
}

/* nftw has no user pointer. */
static struct {
        const char *tree;
        const char *const *roots;
        const char *const *dirs;        /* where libraries are looked up */
        int machine;                    /* every ELF file's e_machine; 0: any */
        const char *arch;
        pgimg_error_t *err;
} walk;

static int
check_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        cleanup_buf struct buf needed = BUF_INIT;
        cleanup_buf struct buf runpath = BUF_INIT;
        cleanup_free char *origin = NULL;

        (void) ftw;
        if (type != FTW_F || !S_ISREG (st->st_mode))
                return 0;
        int machine = 0;

        if (read_dynamic (path, &needed, &runpath, &machine, walk.err) < 0)
                return -1;
        if (walk.machine && machine && machine != walk.machine)
                return pgimg_make_error (walk.err, EINVAL,
                                         "`/%s` is %s machine code; an image for %s cannot run it",
                                         path + strlen (walk.tree) + 1, machine_name (machine), walk.arch);
        if (needed.len == 0)
                return 0;
        if ((origin = strdup (path + strlen (walk.tree))) == NULL)
                return pgimg_make_error_errno (walk.err, ENOMEM, "`%s`", path);
        *strrchr (origin, '/') = '\0';
        for (size_t off = 0; off < needed.len; off += strlen (needed.data + off) + 1) {
                const char *name = needed.data + off;
                int ok = found_in (walk.dirs, walk.tree, runpath.data, origin, name);
                for (size_t i = 0; !ok && walk.roots[i]; i++)
                        ok = found_in (walk.dirs, walk.roots[i], runpath.data, origin, name);
                if (!ok) {
                        pgimg_make_error (walk.err, ENOENT,
                                          "`/%s` needs `%s`, which is not in the image; add the Debian package that ships it to the recipe's runtime_packages and run `pgimg lock`",
                                          path + strlen (walk.tree) + 1, name);
                        return -1;
                }
        }
        return 0;
}

static int
check_tree (const char *tree, const char *const *roots, pgimg_error_t *err)
{
        int rc;

        walk.tree = tree;
        walk.roots = roots;
        walk.err = err;
        rc = nftw (tree, check_entry, 32, FTW_PHYS);
        if (rc < 0 && (err == NULL || *err == NULL))
                return pgimg_make_error_errno (err, errno, "check the libraries of `%s`", tree);
        return rc < 0 ? -1 : 0;
}

int
elfcheck_tree (const char *tree, const char *const *roots, pgimg_error_t *err)
{
        walk.dirs = lib_dirs;
        walk.machine = 0;
        walk.arch = NULL;
        return check_tree (tree, roots, err);
}

int
elfcheck_tree_arch (const char *tree, const char *const *roots, const char *arch, pgimg_error_t *err)
{
        if (strcmp (arch, "amd64") == 0) {
                walk.dirs = amd64_dirs;
                walk.machine = EM_X86_64;
        } else if (strcmp (arch, "arm64") == 0) {
                walk.dirs = arm64_dirs;
                walk.machine = EM_AARCH64;
        } else {
                return pgimg_make_error (err, EINVAL, "no ELF check for architecture `%s`", arch);
        }
        walk.arch = arch;
        return check_tree (tree, roots, err);
}
