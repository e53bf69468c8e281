//! Compiles the leadcheck.v1 contract, writes the descriptor set that server reflection
//! serves, and generates the canonical proto3 JSON mapping (pbjson) used by `check` and
//! by `batch --format jsonl`; then the server's stubs again, with its own response type.
use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A vendored protoc: a fresh machine needs no system package to build.
    env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_path = out.join("leadcheck_descriptor.bin");
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptor_path)
        // Well-known types with serde support, so Timestamp maps to RFC 3339 in JSON.
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_protos(&["proto/leadcheck/v1/leadcheck.proto"], &["proto"])?;
    // The server's own stubs (`rpc::wire`): the same service, every message the ones
    // above but `LeadAssessment`, which the server sends already encoded, straight from
    // the domain types, and `AssessLeadRequest`, which it reads from the received bytes
    // (see src/rpc/wire.rs), with a codec whose encode buffer fits a stream's batches.
    let wire = out.join("wire");
    std::fs::create_dir_all(&wire)?;
    tonic_prost_build::configure()
        .out_dir(&wire)
        .build_client(false)
        .codec_path("crate::rpc::wire::Codec")
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .extern_path(".leadcheck.v1", "crate::pb")
        .extern_path(
            ".leadcheck.v1.LeadAssessment",
            "crate::rpc::wire::EncodedAssessment",
        )
        .extern_path(
            ".leadcheck.v1.AssessLeadRequest",
            "crate::rpc::wire::LeadRequest",
        )
        .compile_protos(&["proto/leadcheck/v1/leadcheck.proto"], &["proto"])?;
    let descriptors = std::fs::read(&descriptor_path)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .build(&[".leadcheck.v1"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
