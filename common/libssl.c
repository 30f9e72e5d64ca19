#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "common/cleanup.h"
#include "common/libssl.h"

int
pgimg_error_from_ssl (pgimg_error_t *err, const char *fmt, ...)
{
        cleanup_free char *what = NULL;
        unsigned long e = ERR_get_error ();
        char text[256] = "unknown OpenSSL error";
        va_list ap;

        if (e != 0)
                ERR_error_string_n (e, text, sizeof (text));
        ERR_clear_error ();
        va_start (ap, fmt);
        if (vasprintf (&what, fmt, ap) < 0)
                what = NULL;
        va_end (ap);
        return pgimg_make_error (err, EIO, "%s: %s", what ? what : "OpenSSL", text);
}
