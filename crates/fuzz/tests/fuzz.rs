//! The fuzz targets for [`tgsh_fuzz::budget`] each (3 s in `./x test`, a
//! minute in `just fuzz`), every regression input of `crates/fuzz/corpus/`
//! first. A panic fails the test naming the saved input; a hang or an
//! unbounded allocation aborts the test binary naming it.

use tgsh_fuzz::{check, targets};

#[test]
fn pipeline_toml() {
    check(&targets::pipeline_toml());
}

#[test]
fn idx() {
    check(&targets::idx());
}

#[test]
fn mnist_gzip() {
    check(&targets::mnist_gzip());
}

#[test]
fn parquet() {
    check(&targets::parquet());
}

#[test]
fn parquet_polars() {
    check(&targets::parquet_polars());
}

#[test]
fn safetensors() {
    check(&targets::safetensors());
}

#[test]
fn every_target_is_tested_here() {
    let names: Vec<&str> = targets::all().iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "pipeline_toml",
            "idx",
            "mnist_gzip",
            "parquet",
            "parquet_polars",
            "safetensors"
        ]
    );
}
