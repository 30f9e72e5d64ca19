#!/bin/bash
# The arm64 upgrade check that `make test` leaves out for its minutes:
# tests/integration/arm64.sh with its last part, `pgimg migration-test
# 15 18 pg_upgrade --platform linux/arm64` (a cross build of PostgreSQL
# 15 and a cluster moved under qemu-user, every row compared).  Needs
# what arm64.sh needs (qemu-user-static, binfmt_misc); the layers go to
# the shared test cache (PGIMG_TEST_CACHE).
set -eu
cd "$(dirname "$0")/.."
make -s pgimg
PGIMG_ARM64_MIGRATION=1 exec bash tests/integration/arm64.sh
