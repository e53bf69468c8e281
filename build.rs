//! Compiles the leadcheck.v1 contract, writes the descriptor set that server reflection
//! serves, and generates the canonical proto3 JSON mapping (pbjson) used by `check` and
//! by `batch --format jsonl`; then the server's stubs again, with its own response type,
//! and the field numbers of every message, which the server's encoder writes with.
use std::fmt::Write as _;
use std::{env, path::PathBuf};

use prost::Message as _;

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
    // the domain types (see src/rpc/wire.rs), with a codec whose encode buffer fits a
    // stream's batches.
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
        .compile_protos(&["proto/leadcheck/v1/leadcheck.proto"], &["proto"])?;
    let descriptors = std::fs::read(&descriptor_path)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .build(&[".leadcheck.v1"])?;
    std::fs::write(out.join("leadcheck_tags.rs"), field_numbers(&descriptors)?)?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}

/// A module of constants for each message of the contract, one a field, named after it:
/// `lead_assessment::REQUEST_ID` is 1. Taken from the descriptor set, so that a field
/// renumbered in the proto is renumbered in the encoder, and one renamed or removed does
/// not build.
fn field_numbers(descriptors: &[u8]) -> Result<String, Box<dyn std::error::Error>> {
    let set = prost_types::FileDescriptorSet::decode(descriptors)?;
    let mut out = String::new();
    for file in set.file.iter().filter(|f| f.package() == "leadcheck.v1") {
        for message in &file.message_type {
            writeln!(
                out,
                "/// The field numbers of `leadcheck.v1.{}`.",
                message.name()
            )?;
            writeln!(out, "#[allow(dead_code)]")?;
            writeln!(out, "pub mod {} {{", snake(message.name()))?;
            for field in &message.field {
                writeln!(
                    out,
                    "    pub const {}: u32 = {};",
                    field.name().to_uppercase(),
                    field.number()
                )?;
            }
            writeln!(out, "}}")?;
        }
    }
    Ok(out)
}

/// `LeadAssessment` as `lead_assessment`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
