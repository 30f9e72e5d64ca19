/* pipeline_machine.c - the machine layer of a disk image: what a
 * container image leaves to its host and a virtual machine must bring
 * itself.  The packages of the lock's set `machine` that the runtime
 * base lacks (Debian's cloud kernel, systemd, udev, OpenSSH), the index
 * of the kernel's modules (depmod, run in the sandbox over the set
 * `disk-tools`: no maintainer script runs, and theirs would have made
 * it), and the files of image/machine/: the PostgreSQL unit that runs
 * the image's entrypoint as postgres, the first-boot reader of a NoCloud
 * seed or EC2's metadata, DHCP on every Ethernet interface, the fstab.
 * The layer lies over the image's own and is never part of the OCI
 * image, so a disk costs the container image nothing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/pipeline_int.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/progress.h"
#include "common/sha256.h"
#include "layers/cache.h"
#include "layers/store.h"

#define MACHINE_SET "machine"
#define DISK_TOOLS_SET "disk-tools"
/* Bumped whenever this file changes what the machine layer holds. */
#define MACHINE_LOGIC_VERSION "1"

/* image/machine/<source> goes to <path> with mode. */
static const struct machine_file {
        const char *source, *path;
        mode_t mode;
} machine_files[] = {
        { "postgresql.service", "etc/systemd/system/postgresql.service", 0644 },
        { "pgimg-firstboot.service", "etc/systemd/system/pgimg-firstboot.service", 0644 },
        { "pgimg-firstboot", "usr/local/sbin/pgimg-firstboot", 0755 },
        { "80-pgimg-dhcp.network", "etc/systemd/network/80-pgimg-dhcp.network", 0644 },
        { "sshd_config", "etc/ssh/sshd_config", 0644 },
        { "sshd-pgimg.conf", "etc/ssh/sshd_config.d/pgimg.conf", 0644 },
        { "fstab", "etc/fstab", 0644 },
};
#define N_MACHINE_FILES (sizeof (machine_files) / sizeof (machine_files[0]))

/* What `systemctl enable` and the packages' postinst would have linked. */
static const struct { const char *path, *target; } machine_links[] = {
        { "etc/systemd/system/multi-user.target.wants/postgresql.service", "/etc/systemd/system/postgresql.service" },
        { "etc/systemd/system/multi-user.target.wants/pgimg-firstboot.service", "/etc/systemd/system/pgimg-firstboot.service" },
        { "etc/systemd/system/multi-user.target.wants/systemd-networkd.service", "/usr/lib/systemd/system/systemd-networkd.service" },
        { "etc/systemd/system/sockets.target.wants/systemd-networkd.socket", "/usr/lib/systemd/system/systemd-networkd.socket" },
        /* network-online.target waits for DHCP: EC2's metadata needs it. */
        { "etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service",
          "/usr/lib/systemd/system/systemd-networkd-wait-online.service" },
        { "etc/systemd/system/sysinit.target.wants/systemd-resolved.service", "/usr/lib/systemd/system/systemd-resolved.service" },
        { "etc/systemd/system/multi-user.target.wants/ssh.service", "/usr/lib/systemd/system/ssh.service" },
        { "etc/systemd/system/default.target", "/usr/lib/systemd/system/multi-user.target" },
        { "etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf" },
};

/* Documentation stays out, licences stay (the SBOM of the disk reads them). */
static const char *const machine_exclude[] = {
        "usr/share/doc/*/*", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian", NULL,
};
static const char *const machine_keep[] = { "usr/share/doc/*/copyright", NULL };

/* depmod for every kernel of the tree; ld.so's cache for the tree's
 * new libraries is not needed (they lie in the default paths). */
static const char depmod_script[] =
        "for d in /tree/usr/lib/modules/*/; do\n"
        "  k=$(basename \"$d\")\n"
        "  depmod -b /tree/usr \"$k\" || depmod -b /tree \"$k\"\n"
        "done\n"
        "ls /tree/usr/lib/modules/*/modules.dep >/dev/null\n";

struct machine_inputs {
        struct buf files[N_MACHINE_FILES];
        struct buf env;                 /* /etc/pgimg/image.env */
};

static void
machine_inputs_release (struct machine_inputs *in)
{
        for (size_t i = 0; i < N_MACHINE_FILES; i++)
                buf_release (&in->files[i]);
        buf_release (&in->env);
}

static int
read_inputs (const struct pipeline_opts *o, const struct pipeline_result *res, struct machine_inputs *in,
             pgimg_error_t *err)
{
        for (size_t i = 0; i < N_MACHINE_FILES; i++) {
                cleanup_free char *p = NULL;
                if (asprintf (&p, "%s/image/machine/%s", o->data_dir, machine_files[i].source) < 0)
                        return pipeline_oom (err, "machine layer");
                if (fs_read_file (p, 1 << 20, &in->files[i], err) < 0)
                        return pgimg_error_wrap (err, "machine layer");
        }
        /* The image's environment for the unit; localhost until the first
         * boot says otherwise; the image's volume, where the first boot
         * mounts a second disk. */
        for (size_t i = 0; res->env[i]; i++)
                if (buf_addf (&in->env, "%s\n", res->env[i]) < 0)
                        return pipeline_oom (err, "machine layer");
        if (buf_addf (&in->env, "PGIMG_LISTEN=localhost\nPGIMG_VOLUME=%s\n", res->volume) < 0)
                return pipeline_oom (err, "machine layer");
        return 0;
}

static int
machine_key (const struct pipeline_opts *o, struct pipeline_result *res, const struct machine_inputs *in,
             pgimg_error_t *err)
{
        struct pipeline_layer *l = &res->machine;
        struct layer_key k = LAYER_KEY_INIT;
        char set_digest[SHA256_HEX_LEN + 1], base_digest[SHA256_HEX_LEN + 1], tools_digest[SHA256_HEX_LEN + 1];
        char epoch[32];
        int r;

        l->name = "machine";
        for (const char *const *s = (const char *const[]) { MACHINE_SET, DISK_TOOLS_SET, NULL }; *s; s++)
                if (lock_find_set (&res->lock, *s) == NULL)
                        return pgimg_make_error (err, ENOENT,
                                                 "the lock `%s` has no set `%s`, which a disk image needs; run `pgimg lock`",
                                                 res->lock.path, *s);
        if (lock_set_digest (&res->lock, MACHINE_SET, set_digest, err) < 0
            || lock_set_digest (&res->lock, "runtime", base_digest, err) < 0
            || lock_set_digest (&res->lock, DISK_TOOLS_SET, tools_digest, err) < 0 || layer_key_init (&k, err) < 0)
                return -1;
        snprintf (epoch, sizeof (epoch), "%lld", res->source_date_epoch);
        r = layer_key_add (&k, "layer", "machine", err);
        if (r == 0)
                r = layer_key_add (&k, "logic", PIPELINE_LOGIC_VERSION "/" ROOTFS_LOGIC_VERSION "/" MACHINE_LOGIC_VERSION, err);
        if (r == 0)
                r = layer_key_add (&k, "set", set_digest, err);
        if (r == 0)
                r = layer_key_add (&k, "base-set", base_digest, err);
        if (r == 0)
                r = layer_key_add (&k, "tools-set", tools_digest, err);
        for (size_t i = 0; r == 0 && i < N_MACHINE_FILES; i++)
                r = layer_key_add (&k, machine_files[i].path, in->files[i].data, err);
        if (r == 0)
                r = layer_key_add (&k, "env", in->env.data, err);
        if (r == 0)
                r = layer_key_add (&k, "dpkg-status", ROOTFS_STATUS_VERSION, err);
        if (r == 0)
                r = layer_key_add (&k, "mtime", epoch, err);
        if (r == 0)
                r = layer_key_add (&k, "compression", layer_media_type (o->compression), err);
        if (r < 0 || layer_key_final (&k, l->key, err) < 0) {
                layer_key_free (&k);
                return -1;
        }
        if (asprintf (&l->comment, "pgimg: machine of the disk image (kernel, systemd, units; set " MACHINE_SET ")") < 0) {
                l->comment = NULL;
                return pipeline_oom (err, "machine layer");
        }
        return 0;
}

static int
link_in (const char *root, const char *rel, const char *target, pgimg_error_t *err)
{
        cleanup_free char *p = NULL;

        if (pipeline_path_in (root, rel, &p, err) < 0)
                return -1;
        if (unlink (p) < 0 && errno != ENOENT)
                return pgimg_make_error_errno (err, errno, "machine layer: replace `%s`", rel);
        if (symlink (target, p) < 0)
                return pgimg_make_error_errno (err, errno, "machine layer: symlink `%s`", rel);
        return 0;
}

/* Run depmod over the tree, in the sandbox, with the tools of the lock. */
static int
index_modules (const struct pipeline_opts *o, struct pipeline_result *res, const char *tree, pgimg_error_t *err)
{
        cleanup_free char *root = NULL;
        cleanup_free char *logs = NULL;
        cleanup_free char *log = NULL;

        if (rootfs_build_root (o->cache_dir, &res->lock, DISK_TOOLS_SET, &root, err) < 0)
                return -1;
        if (asprintf (&logs, "%s/logs", o->cache_dir) < 0 || asprintf (&log, "%s/machine-depmod.log", logs) < 0)
                return pipeline_oom (err, "machine layer");
        if (fs_mkdir_p (logs, 0755, err) < 0)
                return -1;
        const struct sandbox_bind binds[] = { { tree, "/tree", 1 } };
        struct build_step step = {
                .name = "depmod of the machine layer", .root_dir = root, .binds = binds, .n_binds = 1,
                .log_path = log, .source_date_epoch = (time_t) res->source_date_epoch, .jobs = 1,
                .script = depmod_script, .timings = o->timings, .timing_step = "machine", .timing_phase = "depmod",
        };
        if (build_run (&step, err) < 0) {
                res->failed_log = strdup (log);
                return -1;
        }
        return 0;
}

static int
machine_tree (const struct pipeline_opts *o, struct pipeline_result *res, const struct machine_inputs *in,
              const char *tmp, struct owner_map *owners, pgimg_error_t *err)
{
        if (rootfs_unpack_extra (o->cache_dir, &res->lock, MACHINE_SET, "runtime", tmp, owners, err) < 0)
                return -1;
        for (size_t i = 0; i < N_MACHINE_FILES; i++)
                if (pipeline_write_in (tmp, machine_files[i].path, in->files[i].data, in->files[i].len,
                                       machine_files[i].mode, err) < 0)
                        return -1;
        if (pipeline_write_in (tmp, "etc/pgimg/image.env", in->env.data, in->env.len, 0644, err) < 0
            || pipeline_write_in (tmp, "etc/hostname", "pgimg\n", 6, 0644, err) < 0
            /* Empty: systemd makes the machine's own id at its first boot. */
            || pipeline_write_in (tmp, "etc/machine-id", "", 0, 0444, err) < 0)
                return -1;
        for (size_t i = 0; i < sizeof (machine_links) / sizeof (machine_links[0]); i++)
                if (link_in (tmp, machine_links[i].path, machine_links[i].target, err) < 0)
                        return -1;
        return index_modules (o, res, tmp, err);
}

int
pipeline_machine_layer (const struct pipeline_opts *o, struct pipeline_result *res, pgimg_error_t *err)
{
        __attribute__ ((cleanup (machine_inputs_release))) struct machine_inputs in = { 0 };
        cleanup_owner_map struct owner_map owners = OWNER_MAP_INIT;
        struct pipeline_layer *l = &res->machine;
        cleanup_free char *tmp = NULL;
        struct layer_opts lo;
        int r;

        if (read_inputs (o, res, &in, err) < 0 || machine_key (o, res, &in, err) < 0)
                return -1;
        if ((r = pipeline_lookup (o->cache_dir, l, err)) != 0)
                return r < 0 ? -1 : 0;
        progress_note ("building the machine layer (kernel, systemd)");
        if (fs_work_dir (o->cache_dir, "machine", &tmp, err) < 0)
                return -1;
        pipeline_layer_opts (o, res, &lo);
        lo.owners = &owners;
        lo.exclude = machine_exclude;
        lo.keep = machine_keep;
        r = machine_tree (o, res, &in, tmp, &owners, err);
        if (r == 0)
                r = layer_write (tmp, &lo, res->blob_dir, &l->desc, err);
        fs_drop_temp_dir (tmp);
        if (r < 0)
                return pgimg_error_wrap (err, "machine layer");
        return pipeline_store (o->cache_dir, l, err);
}

static int
unpack_layer (const char *blob_dir, const struct layer_desc *d, const char *dest, struct owner_map *owners,
              struct buf *ids, pgimg_error_t *err)
{
        cleanup_fd int fd = -1;

        if (store_open (blob_dir, d->digest, d->size, &fd, err) < 0
            || layer_extract_fd (fd, d->digest, d->diff_id, dest, owners, err) < 0)
                return -1;
        return buf_addf (ids, "%s\n", d->diff_id) < 0 ? pipeline_oom (err, "disk root") : 0;
}

int
pipeline_disk_tree (const struct pipeline_opts *o, const struct pipeline_result *res, const char *dest,
                    struct owner_map *owners, char seed[SHA256_HEX_LEN + 1], pgimg_error_t *err)
{
        cleanup_buf struct buf ids = BUF_INIT;
        const struct oci_image *img = &res->image.oci;

        (void) o;
        for (size_t i = 0; i < img->n_layers; i++)
                if (unpack_layer (res->blob_dir, &img->layers[i], dest, owners, &ids, err) < 0)
                        return pgimg_error_wrap (err, "disk root: layer %zu", i + 1);
        if (unpack_layer (res->blob_dir, &res->machine.desc, dest, owners, &ids, err) < 0)
                return pgimg_error_wrap (err, "disk root: machine layer");
        return sha256_buf_hex (ids.data, ids.len, seed, err);
}
