#!/usr/bin/env bash
# Copies libphonenumber's metadata, as the rlibphonenumber release in Cargo.lock compiles
# it, into data/phone_metadata.bin, where src/phone/fast/library.rs reads it.
#
# Usage: data/update-phone-metadata.sh
# Run it after every rlibphonenumber update (the phone tests fail until it has run and
# RLIBPHONENUMBER_VERSION and METADATA_VERSION in src/phone/mod.rs name the new release),
# then run the tests: one compares every region's example numbers, and the oracle
# fixture's inputs, between this copy and rlibphonenumber's own.
# Needs cargo and python3; the crate comes from the registry cargo already uses.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."
manifest="$(cargo metadata --format-version 1 | python3 -c '
import json, sys
for package in json.load(sys.stdin)["packages"]:
    if package["name"] == "rlibphonenumber":
        print(package["version"], package["manifest_path"])
')"
version="${manifest%% *}"
source_dir="$(dirname "${manifest#* }")"
cp "$source_dir/src/generated/metadata/metadata.bin" "$here/phone_metadata.bin"
echo "data/phone_metadata.bin: rlibphonenumber $version, sha256 $(sha256sum "$here/phone_metadata.bin" | cut -d' ' -f1)"
