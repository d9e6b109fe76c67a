#!/bin/bash
# `make bench`: every benchmark, each printing both sides measured in the same
# run and a checksum of the outputs.  Never part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
for b in tests/bench/*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    echo "=== $(basename "$b" .sh)"
    bash "$b"
done
