#!/bin/bash
# The integration tests that take a list of majors, on every major
# pgimg builds (versions/*.json) rather than the two `make test` builds
# (15, the layout before 18's, and 18, the latest): each image's
# contract and twin build (build-images), the default set's pgTAP smoke
# tests (extensions), the files PostgreSQL reads at run time
# (runtime-files) and the ways the image is commonly run
# (run-patterns).  Outside `make test` for the two more cold builds of
# PostgreSQL it costs.  PGIMG_MAJORS="13 17" limits the majors; the
# layers go to the shared test cache (PGIMG_TEST_CACHE).
set -eu
cd "$(dirname "$0")/.."
make -s pgimg
PGIMG_MAJORS=${PGIMG_MAJORS:-$(cd versions && ls *.json | sed 's/\.json$//' | sort -n | tr '\n' ' ')}
export PGIMG_MAJORS
PGIMG_TESTS=build-images,extensions,runtime-files,run-patterns exec tests/run-integration.sh
