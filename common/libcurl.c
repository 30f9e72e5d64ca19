#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/libcurl.h"

const char *
pgimg_curl_why (CURLcode code, const char *errbuf)
{
        return errbuf && *errbuf ? errbuf : curl_easy_strerror (code);
}

int
pgimg_error_from_curl (pgimg_error_t *err, CURLcode code, long http_status, const char *errbuf,
                       const char *fmt, ...)
{
        cleanup_free char *what = NULL;
        va_list ap;

        va_start (ap, fmt);
        if (vasprintf (&what, fmt, ap) < 0)
                what = NULL;
        va_end (ap);
        if (code == CURLE_HTTP_RETURNED_ERROR && http_status > 0)
                return pgimg_make_error (err, EIO, "%s: HTTP %ld", what ? what : "HTTP", http_status);
        return pgimg_make_error (err, code == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO, "%s: %s",
                                 what ? what : "HTTP", pgimg_curl_why (code, errbuf));
}
