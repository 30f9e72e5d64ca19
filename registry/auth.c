/* auth.c - registry credentials and WWW-Authenticate challenges.
 *
 * Nothing here puts a user name, a password or a token into a message:
 * errors say where credentials came from, never what they are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "registry/internal.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *
reg_base64 (const char *data, size_t len)
{
        const unsigned char *p = (const unsigned char *) data;
        char *out = malloc ((len + 2) / 3 * 4 + 1), *o = out;

        if (out == NULL)
                return NULL;
        for (size_t i = 0; i < len; i += 3) {
                unsigned v = (unsigned) p[i] << 16;
                if (i + 1 < len)
                        v |= (unsigned) p[i + 1] << 8;
                if (i + 2 < len)
                        v |= p[i + 2];
                *o++ = b64[(v >> 18) & 63];
                *o++ = b64[(v >> 12) & 63];
                *o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
                *o++ = i + 2 < len ? b64[v & 63] : '=';
        }
        *o = '\0';
        return out;
}

int
reg_unbase64 (const char *s, char **out, size_t *out_len)
{
        size_t len = strlen (s), n = 0;
        unsigned v = 0;
        int bits = 0;
        cleanup_free char *r = malloc (len / 4 * 3 + 4);

        if (r == NULL)
                return -1;
        for (size_t i = 0; i < len; i++) {
                const char *c;
                if (s[i] == '=')
                        break;
                if ((c = strchr (b64, s[i])) == NULL || s[i] == '\0')
                        return -1;
                v = (v << 6) | (unsigned) (c - b64);
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        r[n++] = (char) ((v >> bits) & 0xff);
                }
        }
        r[n] = '\0';
        if (out_len)
                *out_len = n;
        *out = steal_pointer (&r);
        return 0;
}

static char *
docker_config_path (void)
{
        const char *dir = getenv ("DOCKER_CONFIG");
        const char *home = getenv ("HOME");
        char *p = NULL;

        if (dir && *dir)
                return asprintf (&p, "%s/config.json", dir) < 0 ? NULL : p;
        if (home && *home)
                return asprintf (&p, "%s/.docker/config.json", home) < 0 ? NULL : p;
        return NULL;
}

/* auths.<key>.auth, where key is the domain as `docker login` writes it
 * (bare, or as a URL for Docker Hub and older clients). */
static const char *
find_auth (json_t *auths, const char *domain)
{
        const char *key;
        json_t *v;

        json_object_foreach (auths, key, v) {
                const char *k = key;
                size_t n;
                if (strncmp (k, "https://", 8) == 0)
                        k += 8;
                else if (strncmp (k, "http://", 7) == 0)
                        k += 7;
                n = strcspn (k, "/");
                if ((strlen (domain) == n && strncmp (k, domain, n) == 0)
                    || (strcmp (domain, "docker.io") == 0 && strncmp (k, "index.docker.io", n) == 0)) {
                        json_t *a = json_object_get (v, "auth");
                        if (json_is_string (a))
                                return json_string_value (a);
                }
        }
        return NULL;
}

static int
from_docker_config (const char *domain, struct reg_creds *c, pgimg_error_t *err)
{
        cleanup_free char *path = docker_config_path ();
        cleanup_buf struct buf b = BUF_INIT;
        cleanup_json json_t *root = NULL;
        cleanup_free char *plain = NULL;
        json_error_t jerr;
        const char *auth;
        char *colon;

        if (path == NULL || !fs_exists (path))
                return 0;
        if (fs_read_file (path, REG_MAX_REPLY_BYTES, &b, err) < 0)
                return -1;
        root = json_loadb (b.data ? b.data : "", b.len, 0, &jerr);
        if (root == NULL)
                return pgimg_make_error (err, EINVAL, "%s: line %d: %s", path, jerr.line, jerr.text);
        auth = find_auth (json_object_get (root, "auths"), domain);
        if (auth == NULL || *auth == '\0')
                return 0;
        if (reg_unbase64 (auth, &plain, NULL) < 0 || (colon = strchr (plain, ':')) == NULL)
                return pgimg_make_error (err, EINVAL,
                                         "%s: the auth of %s is not base64 of user:password; "
                                         "run `docker login %s` again",
                                         path, domain, domain);
        *colon = '\0';
        c->user = strdup (plain);
        c->password = strdup (colon + 1);
        c->source = "~/.docker/config.json";
        if (c->user == NULL || c->password == NULL) {
                reg_creds_free (c);
                return pgimg_make_error (err, ENOMEM, "credentials: out of memory");
        }
        return 0;
}

int
reg_creds_lookup (const char *domain, struct reg_creds *c, pgimg_error_t *err)
{
        const char *user = getenv ("PGIMG_REGISTRY_USER");
        const char *password = getenv ("PGIMG_REGISTRY_PASSWORD");

        memset (c, 0, sizeof (*c));
        if (user && *user) {
                c->user = strdup (user);
                c->password = strdup (password ? password : "");
                c->source = "PGIMG_REGISTRY_USER and PGIMG_REGISTRY_PASSWORD";
                if (c->user == NULL || c->password == NULL) {
                        reg_creds_free (c);
                        return pgimg_make_error (err, ENOMEM, "credentials: out of memory");
                }
                return 0;
        }
        return from_docker_config (domain, c, err);
}

void
reg_creds_free (struct reg_creds *c)
{
        if (c->password)
                explicit_bzero (c->password, strlen (c->password));
        free (c->user);
        free (c->password);
        memset (c, 0, sizeof (*c));
}

/* One name=value or name="value" parameter at *p; advances past it and
 * the comma after.  Returns 1 with *name and *value malloc'ed, 0 at the
 * end, -1 when malformed or out of memory. */
static int
next_param (const char **p, char **name, char **value)
{
        const char *s = *p, *eq;
        struct buf v = BUF_INIT_MAX (REG_MAX_HEADER_BYTES);

        s += strspn (s, " \t,");
        if (*s == '\0')
                return 0;
        eq = strchr (s, '=');
        if (eq == NULL || eq == s)
                return -1;
        if ((*name = strndup (s, (size_t) (eq - s))) == NULL)
                return -1;
        s = eq + 1;
        if (*s == '"') {
                for (s++; *s && *s != '"'; s++) {
                        if (*s == '\\' && s[1])
                                s++;
                        if (buf_add (&v, s, 1) < 0)
                                goto fail;
                }
                if (*s != '"')
                        goto fail;
                s++;
        } else {
                size_t n = strcspn (s, ", \t");
                if (buf_add (&v, s, n) < 0)
                        goto fail;
                s += n;
        }
        if ((*value = buf_detach (&v, NULL)) == NULL)
                goto fail;
        *p = s;
        return 1;
fail:
        buf_release (&v);
        free (*name);
        *name = NULL;
        return -1;
}

int
reg_challenge_parse (const char *header, struct reg_challenge *c, pgimg_error_t *err)
{
        const char *p = header + strspn (header, " \t");
        int r;

        memset (c, 0, sizeof (*c));
        if (strncasecmp (p, "basic", 5) == 0 && (p[5] == '\0' || p[5] == ' ')) {
                c->bearer = 0;
                p += 5;
        } else if (strncasecmp (p, "bearer", 6) == 0 && (p[6] == '\0' || p[6] == ' ')) {
                c->bearer = 1;
                p += 6;
        } else {
                return pgimg_make_error (err, ENOTSUP, "an authentication scheme other than Basic and Bearer");
        }
        for (;;) {
                char *name = NULL, *value = NULL;
                char **slot = NULL;
                if ((r = next_param (&p, &name, &value)) <= 0)
                        break;
                if (strcasecmp (name, "realm") == 0)
                        slot = &c->realm;
                else if (strcasecmp (name, "service") == 0)
                        slot = &c->service;
                else if (strcasecmp (name, "scope") == 0)
                        slot = &c->scope;
                if (slot != NULL) {
                        free (*slot);
                        *slot = value;
                        value = NULL;
                }
                free (name);
                free (value);
        }
        if (r < 0 || (c->bearer && (c->realm == NULL || *c->realm == '\0'))) {
                reg_challenge_free (c);
                return pgimg_make_error (err, EINVAL, "a malformed WWW-Authenticate challenge");
        }
        return 0;
}

void
reg_challenge_free (struct reg_challenge *c)
{
        free (c->realm);
        free (c->service);
        free (c->scope);
        memset (c, 0, sizeof (*c));
}

int
reg_token_parse (const char *data, size_t len, char **token, long *expires_s, pgimg_error_t *err)
{
        cleanup_json json_t *j = json_loadb (data, len, 0, NULL);
        json_t *tok = json_object_get (j, "token"), *exp = json_object_get (j, "expires_in");
        const char *t;

        if (!json_is_string (tok))
                tok = json_object_get (j, "access_token");
        if (!json_is_string (tok))
                return pgimg_make_error (err, EPROTO, "no token in its reply");
        t = json_string_value (tok);
        /* It goes into an Authorization header: a CR or LF would add
         * headers of the server's choosing to every request. */
        if (*t == '\0' || strlen (t) != json_string_length (tok) || t[strcspn (t, "\r\n")] != '\0'
            || strlen (t) > REG_MAX_HEADER_BYTES)
                return pgimg_make_error (err, EPROTO,
                                         "a token that cannot be sent in an HTTP header (empty, too long, "
                                         "or holding CR, LF or NUL); nothing was sent with it");
        if ((*token = strdup (t)) == NULL)
                return pgimg_make_error (err, ENOMEM, "out of memory");
        /* A day at most: time (NULL) + expires_in must not overflow. */
        *expires_s = 60;
        if (json_is_integer (exp))
                *expires_s = json_integer_value (exp) < 0 ? 0
                        : json_integer_value (exp) > 86400 ? 86400 : (long) json_integer_value (exp);
        return 0;
}

/* ---- where credentials may go ---- */

int
reg_named_insecure (const char *authority)
{
        const char *list = getenv ("PGIMG_INSECURE_REGISTRIES");
        size_t n = strlen (authority);

        while (list && *list) {
                size_t len = strcspn (list, ",");
                if (len == n && strncmp (list, authority, n) == 0)
                        return 1;
                list += len + (list[len] == ',');
        }
        return 0;
}

/* The length of "scheme://host[:port]" at the start of url, 0 when url
 * is not absolute http(s). */
static size_t
origin_len (const char *url)
{
        size_t skip;

        if (strncasecmp (url, "https://", 8) == 0)
                skip = 8;
        else if (strncasecmp (url, "http://", 7) == 0)
                skip = 7;
        else
                return 0;
        return skip + strcspn (url + skip, "/?#");
}

/* The scheme, host and port of an absolute http(s) URL, the port
 * defaulting to the scheme's; -1 when url is not one or carries a user
 * name (which is never the registry's own origin). */
static int
origin_parts (const char *url, int *https, const char **host, size_t *host_len, long *port)
{
        size_t n = origin_len (url), skip;
        const char *a, *end, *colon;

        if (n == 0)
                return -1;
        *https = strncasecmp (url, "https://", 8) == 0;
        skip = *https ? 8 : 7;
        a = url + skip;
        end = url + n;
        if (memchr (a, '@', (size_t) (end - a)) != NULL)
                return -1;
        if (*a == '[') {
                const char *close = memchr (a, ']', (size_t) (end - a));
                if (close == NULL)
                        return -1;
                colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
        } else {
                colon = memchr (a, ':', (size_t) (end - a));
        }
        *host = a;
        *host_len = (size_t) ((colon ? colon : end) - a);
        *port = *https ? 443 : 80;
        if (colon != NULL && colon + 1 < end) {
                /* Digits only: strtol would take " 5000" and "05000" too. */
                size_t digits = (size_t) (end - colon - 1);
                if (digits > 5 || colon[1] == '0' || strspn (colon + 1, "0123456789") < digits)
                        return -1;
                *port = strtol (colon + 1, NULL, 10);
                if (*port > 65535)
                        return -1;
        }
        return *host_len > 0 ? 0 : -1;
}

int
reg_same_origin (const char *base, const char *url)
{
        const char *h1, *h2;
        size_t n1, n2;
        long p1, p2;
        int s1, s2;

        if (origin_parts (base, &s1, &h1, &n1, &p1) < 0 || origin_parts (url, &s2, &h2, &n2, &p2) < 0)
                return 0;
        return s1 == s2 && p1 == p2 && n1 == n2 && strncasecmp (h1, h2, n1) == 0;
}

int
reg_realm_check (const struct registry_opts *opts, const char *who, const char *realm, pgimg_error_t *err)
{
        size_t n = origin_len (realm);
        size_t skip = strncasecmp (realm, "https://", 8) == 0 ? 8 : 7;
        size_t shown = n + strcspn (realm + n, "?#");
        cleanup_free char *authority = NULL;

        if (n == 0)
                return pgimg_make_error (err, EPROTO, "%s names a token realm that is not an http(s) URL; refused", who);
        if (memchr (realm + skip, '@', n - skip) != NULL)
                return pgimg_make_error (err, EPROTO, "%s names a token realm with a user name in it; refused", who);
        if (skip == 8 || opts->insecure)
                return 0;
        if ((authority = strndup (realm + skip, n - skip)) == NULL)
                return pgimg_make_error (err, ENOMEM, "%s: out of memory", who);
        if (reg_named_insecure (authority))
                return 0;
        /* Only the origin and path: a query may carry state. */
        return pgimg_make_error (err, EPERM,
                                 "%s sends its login to %.*s, which is plain HTTP; credentials are not sent "
                                 "unencrypted: serve the token realm over https, or name %s in "
                                 "PGIMG_INSECURE_REGISTRIES (or use --insecure) on a trusted network",
                                 who, (int) shown, realm, authority);
}

/* ---- S3 credentials ---- */

/* aws_access_key_id and friends from the [profile] of an ini file. */
static int
ini_lookup (const char *path, const char *profile, char **access_key, char **secret_key, char **session_token,
            pgimg_error_t *err)
{
        cleanup_buf struct buf b = BUF_INIT;
        char *line, *save = NULL;
        int in_profile = 0;

        if (!fs_exists (path))
                return 0;
        if (fs_read_file (path, REG_MAX_REPLY_BYTES, &b, err) < 0)
                return -1;
        for (line = strtok_r (b.data, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
                char *eq, *k, *v, **slot = NULL;
                line += strspn (line, " \t");
                if (*line == '[') {
                        char *end = strchr (line, ']');
                        in_profile = end && (size_t) (end - line - 1) == strlen (profile)
                                     && strncmp (line + 1, profile, strlen (profile)) == 0;
                        continue;
                }
                if (!in_profile || (eq = strchr (line, '=')) == NULL)
                        continue;
                *eq = '\0';
                k = line;
                v = eq + 1;
                for (char *e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
                        e[-1] = '\0';
                v += strspn (v, " \t");
                v[strcspn (v, " \t\r")] = '\0';
                if (strcmp (k, "aws_access_key_id") == 0)
                        slot = access_key;
                else if (strcmp (k, "aws_secret_access_key") == 0)
                        slot = secret_key;
                else if (strcmp (k, "aws_session_token") == 0)
                        slot = session_token;
                if (slot && *slot == NULL && (*slot = strdup (v)) == NULL)
                        return pgimg_make_error (err, ENOMEM, "S3 credentials: out of memory");
        }
        return 0;
}

static int
dup_env (char **slot, const char *name)
{
        const char *v = getenv (name);

        if (v == NULL || *v == '\0' || *slot != NULL)
                return 0;
        return (*slot = strdup (v)) == NULL ? -1 : 0;
}

int
reg_s3_creds_lookup (const char *bucket, char **access_key, char **secret_key, char **session_token, char **region,
                     pgimg_error_t *err)
{
        const char *home = getenv ("HOME"), *file = getenv ("AWS_SHARED_CREDENTIALS_FILE");
        const char *profile = getenv ("AWS_PROFILE");
        cleanup_free char *path = NULL;

        if (dup_env (access_key, "AWS_ACCESS_KEY_ID") < 0 || dup_env (secret_key, "AWS_SECRET_ACCESS_KEY") < 0
            || dup_env (session_token, "AWS_SESSION_TOKEN") < 0 || dup_env (region, "AWS_REGION") < 0
            || dup_env (region, "AWS_DEFAULT_REGION") < 0)
                return pgimg_make_error (err, ENOMEM, "S3 credentials: out of memory");
        if (*access_key == NULL || *secret_key == NULL) {
                if (file && *file)
                        path = strdup (file);
                else if (home && asprintf (&path, "%s/.aws/credentials", home) < 0)
                        path = NULL;
                if (path && ini_lookup (path, profile && *profile ? profile : "default", access_key, secret_key, session_token, err) < 0)
                        return -1;
        }
        if (*access_key == NULL || *secret_key == NULL)
                return pgimg_make_error (err, EACCES,
                                         "bucket %s: no credentials: set AWS_ACCESS_KEY_ID and "
                                         "AWS_SECRET_ACCESS_KEY, or write them in ~/.aws/credentials",
                                         bucket);
        if (*region == NULL && (*region = strdup ("us-east-1")) == NULL)
                return pgimg_make_error (err, ENOMEM, "S3: out of memory");
        return 0;
}
