#!/bin/bash
# Install the Debian packages plantfit needs to build, test, benchmark and
# demo, but only those missing: silent and quick when all are there.
set -euo pipefail
PKGS=(
  # build
  gcc make pkg-config git libopenblas-dev liblapacke-dev libhdf5-dev libcjson-dev libcsv-dev
  zlib1g-dev libssl-dev
  # fuzzing (libFuzzer ships with clang's runtime)
  clang libclang-rt-14-dev
  # tests: sanitizers' companion, references, HDF5 tools
  valgrind r-base-core r-cran-mgcv python3 python3-sklearn python3-pandas python3-numpy
  python3-h5py hdf5-tools python3-jsonschema
  # bench references
  r-cran-data.table
)
missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "make deps: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
  echo "make deps: need root to apt-get install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
