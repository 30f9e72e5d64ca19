/* fuzz_s3.c - what an S3 endpoint sends back: an XML reply
 * (InitiateMultipartUploadResult, an <Error> document) from which
 * UploadId and Code are taken.  S3 locations are fuzz_s3ref's.
 *
 * This reader is static, so the file that holds them is compiled in
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

        if (buf_add (&b, data, size) < 0)
                goto out;
        free (xml_value (&b, "UploadId"));
        free (xml_value (&b, "Code"));
out:
        buf_release (&b);
        return 0;
}

#include "tests/fuzz/replay.h"
