/* fuzz_s3.c - what an S3 endpoint sends back, through the S3 client's
 * readers: the first byte picks one, the rest is its input.
 *   0: an XML reply (InitiateMultipartUploadResult, an <Error> document)
 *      from which UploadId and Code are taken
 *   1: an s3://BUCKET[/PREFIX][:TAG] location
 *
 * These readers are static, so the file that holds them is compiled in
 * here; when they move, change the #include.
 *
 *   tools/fuzz.sh 60 fuzz_s3
 *   make build/tests/fuzz/fuzz_s3 && build/tests/fuzz/fuzz_s3 crash-file
 */
#include "registry/s3.c"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
        struct buf b = BUF_INIT;        /* NUL-terminated, as replies are */
        pgimg_error_t err = NULL;

        if (size < 1 || buf_add (&b, data + 1, size - 1) < 0)
                goto out;
        if (data[0] % 2 == 0) {
                free (xml_value (&b, "UploadId"));
                free (xml_value (&b, "Code"));
        } else {
                struct s3 s = { 0 };
                cleanup_free char *url = NULL;
                if (asprintf (&url, "s3://%s", b.data) >= 0 && s3_parse (url, &s, &err) == 0
                    && (s.bucket[0] == '\0' || s.tag[0] == '\0'))
                        abort ();
                pgimg_error_free (&err);
                s3_free (&s);
        }
out:
        buf_release (&b);
        return 0;
}

#include "tests/fuzz/replay.h"
