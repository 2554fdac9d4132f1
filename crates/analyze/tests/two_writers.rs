//! Two `tgsh-analyze --seed 0` processes on one pipeline and artifact
//! folder, forced to interleave (`crates/common/tests/interleave`): the
//! second waits for the first, naming it, then finds the shard up to date;
//! the shard holds every file its record lists.
#![cfg(unix)]

#[path = "../../common/tests/interleave/mod.rs"]
mod interleave;

mod common;

use std::path::Path;

#[test]
fn a_second_analysis_of_a_shard_waits_for_the_first() {
    let dir = common::temp_dir("two-writers");
    // Enough hidden units that the analysis outlasts the time it takes to
    // stop it (the pseudo-inverse alone takes a while).
    let (pipeline, artifacts) = common::trained_pipeline(&dir, 1568);
    let file = pipeline.path.to_str().unwrap();
    let root = dir.join("artifacts");
    let outcome = interleave::interleave(
        Path::new(env!("CARGO_BIN_EXE_tgsh-analyze")),
        &[file, "--artifacts", root.to_str().unwrap(), "--seed", "0"],
        &artifacts.analyze_shard(0),
    );
    assert!(outcome.first.contains("analyze seed-0: running"), "{}", outcome.first);
    assert!(
        outcome.second.contains("analyze seed-0: up to date"),
        "{}",
        outcome.second
    );
    assert!(artifacts.analysis(0, "cross_task.parquet").is_file());
    std::fs::remove_dir_all(dir).unwrap();
}
