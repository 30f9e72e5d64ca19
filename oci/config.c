#include <errno.h>

#include "common/cleanup.h"
#include "oci/internal.h"

/* Set obj[key] to a string when value is given; 0 or -1 (out of memory). */
static int
set_string (json_t *obj, const char *key, const char *value)
{
        if (value == NULL)
                return 0;
        return json_object_set_new (obj, key, json_string (value));
}

static int
set_strv (json_t *obj, const char *key, const char *const *v)
{
        if (v == NULL)
                return 0;
        return json_object_set_new (obj, key, oci_json_strv (v));
}

/* ExposedPorts and Volumes are sets, which the config writes as objects
 * whose values are all {}. */
static int
set_set (json_t *obj, const char *key, const char *const *v)
{
        cleanup_json json_t *set = NULL;

        if (v == NULL || v[0] == NULL)
                return 0;
        if ((set = json_object ()) == NULL)
                return -1;
        for (; *v != NULL; v++)
                if (json_object_set_new (set, *v, json_object ()) < 0)
                        return -1;
        return json_object_set_new (obj, key, steal_pointer (&set));
}

static int
set_kv (json_t *obj, const char *key, const struct oci_kv *kv, size_t n)
{
        cleanup_json json_t *map = NULL;

        if (n == 0)
                return 0;
        if ((map = json_object ()) == NULL)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (json_object_set_new (map, kv[i].key, json_string (kv[i].value)) < 0)
                        return -1;
        return json_object_set_new (obj, key, steal_pointer (&map));
}

/* The "config" member: how a container of this image runs. */
static json_t *
runtime_config (const struct oci_image *img)
{
        cleanup_json json_t *c = json_object ();

        if (c == NULL
            || set_string (c, "User", img->user) < 0
            || set_strv (c, "Env", img->env) < 0
            || set_strv (c, "Entrypoint", img->entrypoint) < 0
            || set_strv (c, "Cmd", img->cmd) < 0
            || set_string (c, "WorkingDir", img->workdir) < 0
            || set_set (c, "ExposedPorts", img->exposed_ports) < 0
            || set_set (c, "Volumes", img->volumes) < 0
            || set_string (c, "StopSignal", img->stop_signal) < 0
            || set_kv (c, "Labels", img->labels, img->n_labels) < 0)
                return NULL;
        return steal_pointer (&c);
}

static json_t *
rootfs (const struct oci_image *img)
{
        cleanup_json json_t *r = json_object ();
        cleanup_json json_t *ids = json_array ();

        if (r == NULL || ids == NULL)
                return NULL;
        for (size_t i = 0; i < img->n_layers; i++)
                if (json_array_append_new (ids, json_string (img->layers[i].diff_id)) < 0)
                        return NULL;
        if (json_object_set_new (r, "type", json_string ("layers")) < 0
            || json_object_set_new (r, "diff_ids", steal_pointer (&ids)) < 0)
                return NULL;
        return steal_pointer (&r);
}

/* One entry per layer, all at the image's time: the build is
 * reproducible, so the wall clock has no place in it. */
static json_t *
history (const struct oci_image *img, const char *created)
{
        cleanup_json json_t *h = json_array ();

        if (h == NULL)
                return NULL;
        for (size_t i = 0; i < img->n_layers; i++) {
                cleanup_json json_t *e = json_object ();
                if (e == NULL || json_object_set_new (e, "created", json_string (created)) < 0)
                        return NULL;
                if (img->layer_comments != NULL
                    && set_string (e, "created_by", img->layer_comments[i]) < 0)
                        return NULL;
                if (json_array_append_new (h, steal_pointer (&e)) < 0)
                        return NULL;
        }
        return steal_pointer (&h);
}

int
oci_config_json (const struct oci_image *img, struct buf *out, pgimg_error_t *err)
{
        cleanup_json json_t *c = json_object ();
        char created[32];

        oci_rfc3339 (img->created, created);
        if (c == NULL
            || json_object_set_new (c, "architecture", json_string (img->architecture)) < 0
            || json_object_set_new (c, "os", json_string ("linux")) < 0
            || json_object_set_new (c, "created", json_string (created)) < 0
            || json_object_set_new (c, "config", runtime_config (img)) < 0
            || json_object_set_new (c, "rootfs", rootfs (img)) < 0
            || json_object_set_new (c, "history", history (img, created)) < 0)
                return pgimg_make_error (err, ENOMEM, "out of memory");
        return oci_json_dump (c, out, err);
}
