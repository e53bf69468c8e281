# syntax=docker/dockerfile:1
#
# The leadcheck server image: the release binary on distroless (glibc, CA certificates,
# no shell, no package manager), running as the non-root user 65532.
#
#   docker build -t leadcheck .
#   docker run --rm -p 50051:50051 leadcheck
#
# Everything the binary needs at run time is compiled in (phone metadata, domain lists,
# scoring model), so the image holds the binary alone. List files, a scoring model or a
# config file are mounted and named by flags or LEADCHECK_* variables.

# --- build -----------------------------------------------------------------------------
# rust:1 tracks the latest stable release (the crate needs 1.88 or later). protoc comes
# from the protoc-bin-vendored crate, so no system package is installed.
FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
# The cache mounts (BuildKit) keep the crate registry and target/ between builds, so a
# change to the sources recompiles only leadcheck, not its dependencies. target/ lives in
# the cache, so the binary is copied out of it. The release profile keeps debug info
# (debug = 1, for profiling); the image drops it and keeps the symbol table, so
# backtraces still name functions.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin leadcheck \
    && mkdir -p /out \
    && cp target/release/leadcheck /out/leadcheck \
    && strip --strip-debug /out/leadcheck

# --- run -------------------------------------------------------------------------------
# Debian 12 like the builder, so the glibc the binary was linked against is there.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/leadcheck /usr/local/bin/leadcheck
# distroless's `nonroot` user, given by number so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# 50051: gRPC; 9090: Prometheus /metrics when --metrics-listen 0.0.0.0:9090 is given.
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/leadcheck"]
CMD ["serve", "--listen", "0.0.0.0:50051"]
