/* libcurl.h - where libcurl meets pgimg: its errors and its cleanup.
 *
 * Include this (and so <curl/curl.h>) only in a module that makes HTTP
 * requests; no CURLcode travels past that module.
 */
#ifndef PGIMG_LIBCURL_H
#define PGIMG_LIBCURL_H

#include <curl/curl.h>

#include "common/error.h"

static inline void
cleanup_curlp (CURL **c)
{
        if (*c != NULL)
                curl_easy_cleanup (*c);
}
#define cleanup_curl __attribute__ ((cleanup (cleanup_curlp)))

static inline void
cleanup_curl_slistp (struct curl_slist **l)
{
        curl_slist_free_all (*l);
}
#define cleanup_curl_slist __attribute__ ((cleanup (cleanup_curl_slistp)))

/* Why a transfer failed: errbuf (CURLOPT_ERRORBUFFER) when curl filled
 * it, else curl's text for code.  Never NULL. */
const char *pgimg_curl_why (CURLcode code, const char *errbuf);

/* "<what>: HTTP <status>" when code is CURLE_HTTP_RETURNED_ERROR and
 * http_status is known, else "<what>: <pgimg_curl_why>"; without
 * "<what>: " when what is NULL (a caller that names the server itself,
 * or whose URL carries state that must not be shown).  Status ETIMEDOUT
 * for a time-out, else EIO.  Returns a negative value. */
int pgimg_error_from_curl (pgimg_error_t *err, CURLcode code, long http_status, const char *errbuf,
                           const char *what);

#endif
