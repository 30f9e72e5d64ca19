/* cmd_key.c - pgimg key generate: an ECDSA P-256 key pair for signing pushes. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/progress.h"
#include "registry/registry.h"

static void
help (void)
{
        printf ("usage: pgimg key generate [-o PREFIX]\n"
                "\n"
                "Write a new ECDSA P-256 key pair, the kind cosign uses: PREFIX.key\n"
                "(PKCS#8 PEM, mode 0600) signs images on `pgimg push --sign-key`,\n"
                "PREFIX.pub (PKIX PEM) checks them on `pgimg pull --trusted-key` and\n"
                "on `cosign verify --key`.  `cosign import-key-pair --key PREFIX.key`\n"
                "gives the key to cosign.  PREFIX defaults to pgimg-signing.\n"
                "\n"
                "Example:\n"
                "  pgimg key generate -o ci && pgimg push pg17.tar reg:5000/pg:17 --sign-key ci.key\n"
                "  cosign verify --key ci.pub --insecure-ignore-tlog reg:5000/pg:17\n");
}

int
cmd_key (struct pgimg_ctx *ctx, int argc, char **argv, pgimg_error_t *err)
{
        static const struct option opts[] = {
                { "help", no_argument, NULL, 'h' },
                { "output", required_argument, NULL, 'o' },
                { NULL, 0, NULL, 0 },
        };
        cleanup_free char *priv = NULL, *pub = NULL;
        const char *prefix = "pgimg-signing";
        int c;

        while ((c = cli_getopt (ctx, argc, argv, "ho:", opts)) != -1) {
                switch (c) {
                case 'h':
                        help ();
                        return 0;
                case 'o':
                        prefix = optarg;
                        break;
                default:
                        return cli_option_error (err, "key");
                }
        }
        if (argc - optind != 1 || strcmp (argv[optind], "generate") != 0)
                return cli_usage_error (err, "key", "expected `generate`");
        if (asprintf (&priv, "%s.key", prefix) < 0 || asprintf (&pub, "%s.pub", prefix) < 0)
                return pgimg_make_error (err, ENOMEM, "key: out of memory");
        if (registry_key_generate (priv, pub, err) < 0)
                return pgimg_error_wrap (err, "key generate");
        progress_set_quiet (ctx->quiet);
        progress_note ("wrote %s (keep it secret) and %s", priv, pub);
        return 0;
}
