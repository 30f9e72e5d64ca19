/* sbom.c - the SPDX 2.3 JSON document of an image. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/libjson.h"
#include "oci/sbom.h"

#define NOASSERTION "NOASSERTION"
#define IMAGE_ID "SPDXRef-Image"

/* Percent-encoding as the purl spec asks; keep lists what stays. */
static int
purl_escape (struct buf *b, const char *s, const char *keep)
{
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;
                if (isalnum (c) || strchr (keep, c) ? buf_add (b, s, 1) : buf_addf (b, "%%%02X", c))
                        return -1;
        }
        return 0;
}

/* What syft writes for a Debian package (qualifiers sorted by name,
 * "+" and ":" of versions escaped):
 * pkg:deb/debian/libc6@2.41-12%2Bdeb13u5?arch=amd64&distro=debian-13.8&upstream=glibc */
static char *
deb_purl (const struct sbom *s, const struct sbom_package *p)
{
        cleanup_buf struct buf b = BUF_INIT;
        int r = buf_adds (&b, "pkg:deb/debian/");

        r |= purl_escape (&b, p->name, ".-_~");
        r |= buf_adds (&b, "@");
        r |= purl_escape (&b, p->version, ".-_~");
        r |= buf_adds (&b, "?arch=");
        r |= purl_escape (&b, p->arch ? p->arch : "", ".-_~");
        if (s->distro) {
                r |= buf_adds (&b, "&distro=");
                r |= purl_escape (&b, s->distro, ".-_~");
        }
        if (p->source) {
                cleanup_free char *up = NULL;
                if (asprintf (&up, "%s%s%s", p->source, p->source_version ? "@" : "",
                              p->source_version ? p->source_version : "") < 0)
                        return NULL;
                r |= buf_adds (&b, "&upstream=");
                r |= purl_escape (&b, up, ".-_~");
        }
        return r ? NULL : buf_detach (&b, NULL);
}

static char *
generic_purl (const struct sbom_package *p)
{
        cleanup_buf struct buf b = BUF_INIT;
        int r = buf_adds (&b, "pkg:generic/");

        r |= purl_escape (&b, p->name, ".-_~");
        r |= buf_adds (&b, "@");
        r |= purl_escape (&b, p->version, ".-_~");
        if (p->download_url) {
                r |= buf_adds (&b, "?download_url=");
                r |= purl_escape (&b, p->download_url, ".-_~");
        }
        return r ? NULL : buf_detach (&b, NULL);
}

/* SPDXRef-Package-<kind>-<name>-<version>, with what an SPDX
 * identifier does not allow made "-", and "-<i>" if taken already. */
static char *
package_id (const struct sbom *s, size_t i)
{
        const struct sbom_package *p = &s->packages[i];
        char *id = NULL;

        if (asprintf (&id, "SPDXRef-Package-%s-%s-%s", p->kind == SBOM_DEB ? "deb" : "source", p->name,
                      p->version) < 0)
                return NULL;
        for (char *c = id; *c; c++)
                if (!isalnum ((unsigned char) *c) && *c != '.' && *c != '-')
                        *c = '-';
        for (size_t j = 0; j < i; j++)
                if (strcmp (s->packages[j].name, p->name) == 0 && strcmp (s->packages[j].version, p->version) == 0
                    && s->packages[j].kind == p->kind) {
                        char *unique = NULL;
                        if (asprintf (&unique, "%s-%zu", id, i) < 0)
                                unique = NULL;
                        free (id);
                        return unique;
                }
        return id;
}

static int
set_str (json_t *o, const char *key, const char *v)
{
        return v ? json_object_set_new (o, key, json_string (v)) : 0;
}

static json_t *
package_json (const struct sbom *s, const struct sbom_package *p, const char *id)
{
        cleanup_free char *purl = p->kind == SBOM_DEB ? deb_purl (s, p) : generic_purl (p);
        cleanup_free char *info = NULL;
        json_t *o = json_object ();
        int r = 0;

        /* Debian's Source field is left out when it is the package's own
         * name, its version when it is the package's. */
        if (p->kind == SBOM_DEB
            && asprintf (&info, "Debian package for %s, built from the source package %s %s",
                         p->arch ? p->arch : "an unknown architecture", p->source ? p->source : p->name,
                         p->source_version ? p->source_version : p->version) < 0)
                info = NULL;
        else if (p->kind != SBOM_DEB)
                info = strdup (p->origin ? p->origin : "built from its source by pgimg");
        if (o == NULL || purl == NULL || info == NULL) {
                json_decref (o);
                return NULL;
        }
        r |= set_str (o, "name", p->name);
        r |= set_str (o, "SPDXID", id);
        r |= set_str (o, "versionInfo", p->version);
        r |= set_str (o, "downloadLocation", p->download_url ? p->download_url : NOASSERTION);
        r |= json_object_set_new (o, "filesAnalyzed", json_false ());
        if (p->sha256)
                r |= json_object_set_new (o, "checksums", json_pack ("[{s:s,s:s}]", "algorithm", "SHA256",
                                                                     "checksumValue", p->sha256));
        r |= set_str (o, "homepage", p->homepage);
        r |= set_str (o, "sourceInfo", info);
        r |= set_str (o, "licenseConcluded", NOASSERTION);
        r |= set_str (o, "licenseDeclared", p->license ? p->license : NOASSERTION);
        r |= set_str (o, "copyrightText", NOASSERTION);
        r |= set_str (o, "summary", p->summary);
        r |= json_object_set_new (o, "externalRefs",
                                  json_pack ("[{s:s,s:s,s:s}]", "referenceCategory", "PACKAGE-MANAGER",
                                             "referenceType", "purl", "referenceLocator", purl));
        if (r) {
                json_decref (o);
                return NULL;
        }
        return o;
}

static int
cmp_str (const void *a, const void *b)
{
        return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Every LicenseRef-x of the expressions into *ids (malloc'ed). */
static int
license_refs (const struct sbom *s, char ***ids, size_t *n)
{
        static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-";

        *ids = NULL;
        *n = 0;
        for (size_t i = 0; i < s->n_packages; i++)
                for (const char *l = s->packages[i].license; l && (l = strstr (l, "LicenseRef-")); ) {
                        size_t len = 11 + strspn (l + 11, id_chars);
                        char **v = realloc (*ids, (*n + 1) * sizeof (char *));
                        if (v == NULL)
                                return -1;
                        *ids = v;
                        if ((v[*n] = strndup (l, len)) == NULL)
                                return -1;
                        (*n)++;
                        l += len;
                }
        if (*n > 0)
                qsort (*ids, *n, sizeof (char *), cmp_str);
        return 0;
}

/* hasExtractedLicensingInfos: each LicenseRef once, sorted. */
static json_t *
extracted_licenses (const struct sbom *s)
{
        json_t *a = json_array ();
        char **ids = NULL;
        size_t n = 0;
        int r = a ? license_refs (s, &ids, &n) : -1;

        for (size_t i = 0; r == 0 && i < n; i++) {
                if (i > 0 && strcmp (ids[i], ids[i - 1]) == 0)
                        continue;
                json_t *e = json_pack ("{s:s,s:s,s:s}", "licenseId", ids[i], "name", ids[i] + 11, "extractedText",
                                       "A licence that a Debian copyright file of the image names by this short "
                                       "name, which has no SPDX identifier; its text is in that file.");
                r = e == NULL ? -1 : json_array_append_new (a, e);
        }
        for (size_t i = 0; i < n; i++)
                free (ids[i]);
        free (ids);
        if (r < 0) {
                json_decref (a);
                return NULL;
        }
        return a;
}

static json_t *
image_json (const struct sbom *s)
{
        return json_pack ("{s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:s,s:s}", "name", s->image_name, "SPDXID", IMAGE_ID,
                          "versionInfo", s->image_version, "downloadLocation", NOASSERTION, "filesAnalyzed", 0,
                          "licenseConcluded", NOASSERTION, "licenseDeclared", NOASSERTION, "copyrightText",
                          NOASSERTION, "primaryPackagePurpose", s->disk ? "OPERATING-SYSTEM" : "CONTAINER",
                          "summary", s->disk ? "a bootable disk image of PostgreSQL built by pgimg"
                                             : "a PostgreSQL image built by pgimg");
}

static json_t *
relationship (const char *from, const char *type, const char *to)
{
        return json_pack ("{s:s,s:s,s:s}", "spdxElementId", from, "relationshipType", type, "relatedSpdxElement", to);
}

/* The packages (image first) and their relationships. */
static int
add_packages (const struct sbom *s, json_t *packages, json_t *rels)
{
        if (json_array_append_new (packages, image_json (s)) < 0
            || json_array_append_new (rels, relationship ("SPDXRef-DOCUMENT", "DESCRIBES", IMAGE_ID)) < 0)
                return -1;
        for (size_t i = 0; i < s->n_packages; i++) {
                cleanup_free char *id = package_id (s, i);
                if (id == NULL || json_array_append_new (packages, package_json (s, &s->packages[i], id)) < 0
                    || json_array_append_new (rels, relationship (IMAGE_ID, "CONTAINS", id)) < 0)
                        return -1;
        }
        return 0;
}

int
sbom_format (const struct sbom *s, struct buf *out, pgimg_error_t *err)
{
        cleanup_json json_t *doc = NULL;
        cleanup_free char *text = NULL;
        json_t *packages = json_array ();
        json_t *rels = json_array ();
        json_t *licenses = extracted_licenses (s);

        doc = json_pack ("{s:s,s:s,s:s,s:s,s:s,s:{s:s,s:[s]},s:o*,s:o*,s:o*}", "spdxVersion", "SPDX-2.3",
                         "dataLicense", "CC0-1.0", "SPDXID", "SPDXRef-DOCUMENT", "name", s->name,
                         "documentNamespace", s->doc_namespace, "creationInfo", "created", s->created,
                         "creators", s->creator, "packages", packages, "relationships", rels,
                         "hasExtractedLicensingInfos", licenses);
        if (doc == NULL || packages == NULL || rels == NULL || licenses == NULL
            || add_packages (s, packages, rels) < 0)
                return pgimg_make_error (err, ENOMEM, "SBOM: cannot build the SPDX document");
        if (json_array_size (licenses) == 0)
                json_object_del (doc, "hasExtractedLicensingInfos");
        text = json_dumps (doc, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        if (text == NULL || buf_adds (out, text) < 0 || buf_adds (out, "\n") < 0)
                return pgimg_make_error (err, ENOMEM, "SBOM: cannot format the SPDX document");
        return 0;
}
