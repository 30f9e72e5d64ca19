/* extension_cross.c - extension layers of a cross-built image
 * (--platform linux/arm64): which Debian builds, and what the build root
 * adds to a layer's key.  See docs/platforms.md. */
#include <string.h>

#include "builder/extension_int.h"
#include "builder/rootfs.h"

int
extension_is_cross (const struct extension_env *env)
{
        return env->arch != NULL && strcmp (env->arch, "amd64") != 0;
}

size_t
extension_arch_debs (const struct extension_env *env, const struct ext_version *v, const struct ext_deb **debs)
{
        *debs = extension_is_cross (env) ? v->debs_arm64 : v->debs;
        return extension_is_cross (env) ? v->n_debs_arm64 : v->n_debs;
}

int
extension_cross_key (const struct extension_env *env, struct layer_key *k, pgimg_error_t *err)
{
        char digest[SHA256_HEX_LEN + 1];

        if (lock_set_digest (env->host_lock, "build", digest, err) < 0
            || layer_key_add (k, "build-set", digest, err) < 0
            || lock_set_digest (env->lock, ROOTFS_CROSS_TARGET_SET, digest, err) < 0
            || layer_key_add (k, "build-target-set", digest, err) < 0)
                return -1;
        return 0;
}
