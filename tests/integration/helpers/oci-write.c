/* oci-write - write an image from layer blobs already in a blob
 * directory, through oci_write_image.  For the integration tests only.
 *
 *   oci-write --blobs DIR --out PATH [--format docker-archive|oci-dir]
 *             --layer DIGEST,DIFF_ID,SIZE ... --tag NAME:TAG ...
 *             [--user U] [--env K=V ...] [--entrypoint ARG ...] [--cmd ARG ...]
 *             [--port 5432/tcp ...] [--volume /path ...] [--stop-signal SIG]
 *             [--workdir DIR] [--label K=V ...] [--annotation K=V ...]
 *             [--created EPOCH] [--arch amd64]
 *
 * Prints the manifest digest on stdout.  Exit 0, 1 on failure, 2 on
 * bad usage.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/image.h"

#define MAX_ITEMS 32

struct list {
        const char *v[MAX_ITEMS + 1];
        size_t n;
};

static void
push (struct list *l, const char *s)
{
        if (l->n == MAX_ITEMS) {
                fprintf (stderr, "oci-write: more than %d values for one option\n", MAX_ITEMS);
                exit (2);
        }
        l->v[l->n++] = s;
}

static void
usage (void)
{
        fprintf (stderr, "usage: oci-write --blobs DIR --out PATH --layer DIGEST,DIFF_ID,SIZE ... --tag NAME:TAG ... [options]\n");
        exit (2);
}

/* "DIGEST,DIFF_ID,SIZE" of a gzip layer. */
static void
parse_layer (char *s, struct layer_desc *l)
{
        char *diff_id = strchr (s, ',');
        char *size = diff_id ? strchr (diff_id + 1, ',') : NULL;

        if (size == NULL)
                usage ();
        *diff_id++ = '\0';
        *size++ = '\0';
        memset (l, 0, sizeof (*l));
        snprintf (l->digest, sizeof (l->digest), "%s", s);
        snprintf (l->diff_id, sizeof (l->diff_id), "%s", diff_id);
        l->size = strtoull (size, NULL, 10);
        l->compression = LAYER_GZIP;
}

static void
parse_kv (char *s, struct oci_kv *kv)
{
        char *eq = strchr (s, '=');

        if (eq == NULL)
                usage ();
        *eq = '\0';
        kv->key = s;
        kv->value = eq + 1;
}

int
main (int argc, char **argv)
{
        static const struct option opts[] = {
                { "annotation", required_argument, NULL, 'a' },
                { "arch", required_argument, NULL, 'A' },
                { "blobs", required_argument, NULL, 'b' },
                { "cmd", required_argument, NULL, 'c' },
                { "created", required_argument, NULL, 'C' },
                { "entrypoint", required_argument, NULL, 'E' },
                { "env", required_argument, NULL, 'e' },
                { "format", required_argument, NULL, 'f' },
                { "label", required_argument, NULL, 'L' },
                { "layer", required_argument, NULL, 'l' },
                { "out", required_argument, NULL, 'o' },
                { "port", required_argument, NULL, 'p' },
                { "stop-signal", required_argument, NULL, 's' },
                { "tag", required_argument, NULL, 't' },
                { "user", required_argument, NULL, 'u' },
                { "volume", required_argument, NULL, 'V' },
                { "workdir", required_argument, NULL, 'w' },
                { NULL, 0, NULL, 0 },
        };
        struct list env = { 0 }, entrypoint = { 0 }, cmd = { 0 }, ports = { 0 }, volumes = { 0 }, tags = { 0 };
        struct layer_desc layers[MAX_ITEMS];
        struct oci_kv labels[MAX_ITEMS], annotations[MAX_ITEMS];
        size_t n_layers = 0, n_labels = 0, n_annotations = 0;
        const char *blobs = NULL, *out = NULL, *format = "docker-archive";
        struct oci_image img = { .architecture = "amd64" };
        enum oci_format fmt;
        char digest[LAYER_DIGEST_LEN];
        pgimg_error_t err = NULL;
        int c;

        while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'a':
                        if (n_annotations == MAX_ITEMS)
                                usage ();
                        parse_kv (optarg, &annotations[n_annotations++]);
                        break;
                case 'A': img.architecture = optarg; break;
                case 'b': blobs = optarg; break;
                case 'c': push (&cmd, optarg); break;
                case 'C': img.created = (time_t) strtoll (optarg, NULL, 10); break;
                case 'E': push (&entrypoint, optarg); break;
                case 'e': push (&env, optarg); break;
                case 'f': format = optarg; break;
                case 'L':
                        if (n_labels == MAX_ITEMS)
                                usage ();
                        parse_kv (optarg, &labels[n_labels++]);
                        break;
                case 'l':
                        if (n_layers == MAX_ITEMS)
                                usage ();
                        parse_layer (optarg, &layers[n_layers++]);
                        break;
                case 'o': out = optarg; break;
                case 'p': push (&ports, optarg); break;
                case 's': img.stop_signal = optarg; break;
                case 't': push (&tags, optarg); break;
                case 'u': img.user = optarg; break;
                case 'V': push (&volumes, optarg); break;
                case 'w': img.workdir = optarg; break;
                default: usage ();
                }
        }
        if (optind != argc || blobs == NULL || out == NULL || n_layers == 0 || tags.n == 0)
                usage ();
        if (oci_format_parse (format, &fmt, &err) < 0) {
                fprintf (stderr, "oci-write: %s\n", err->msg);
                return 2;
        }
        img.env = env.n ? env.v : NULL;
        img.entrypoint = entrypoint.n ? entrypoint.v : NULL;
        img.cmd = cmd.n ? cmd.v : NULL;
        img.exposed_ports = ports.v;
        img.volumes = volumes.v;
        img.tags = tags.v;
        img.layers = layers;
        img.n_layers = n_layers;
        img.labels = labels;
        img.n_labels = n_labels;
        img.annotations = annotations;
        img.n_annotations = n_annotations;
        if (oci_write_image (blobs, &img, fmt, out, digest, &err) < 0) {
                fprintf (stderr, "oci-write: %s\n", err->msg);
                pgimg_error_free (&err);
                return 1;
        }
        printf ("%s\n", digest);
        return 0;
}
