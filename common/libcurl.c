#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/libcurl.h"

const char *
pgimg_curl_why (CURLcode code, const char *errbuf)
{
        return errbuf && *errbuf ? errbuf : curl_easy_strerror (code);
}

int
pgimg_error_from_curl (pgimg_error_t *err, CURLcode code, long http_status, const char *errbuf,
                       const char *what)
{
        const char *sep = what ? ": " : "";

        if (what == NULL)
                what = "";
        if (code == CURLE_HTTP_RETURNED_ERROR && http_status > 0)
                return pgimg_make_error (err, EIO, "%s%sHTTP %ld", what, sep, http_status);
        return pgimg_make_error (err, code == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO, "%s%s%s", what, sep,
                                 pgimg_curl_why (code, errbuf));
}
