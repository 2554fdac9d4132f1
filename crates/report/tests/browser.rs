//! The report as a reader opens it: the index and a pipeline page loaded
//! from disk in headless Chromium, failing on a missing image, a broken
//! link or an empty table. Needs Chromium (`./x` installs Debian's
//! `chromium`); without it this test fails and says how to install it.

mod common;

use common::{heldout_smoke_pipeline, run_all, temp_dir, tiny_pipeline};
use tgsh_common::Artifacts;

#[test]
fn the_index_and_a_pipeline_page_load_whole_in_chromium() {
    let dir = temp_dir("browser");
    let pipeline = tiny_pipeline(&dir);
    let root = dir.join("artifacts");
    let artifacts = Artifacts::new(&root, &pipeline.name);
    run_all(&pipeline, &artifacts, None);
    // A held-out pipeline too: the index links its claims into that page.
    let heldout = heldout_smoke_pipeline();
    let heldout_artifacts = Artifacts::new(&root, &heldout.name);
    run_all(&heldout, &heldout_artifacts, None);
    let summary = tgsh_report::index::write_index(&root, &[pipeline.clone(), heldout.clone()]).unwrap();
    assert_eq!(summary.reported, vec![pipeline.name.clone(), heldout.name.clone()]);
    assert!(!summary.claims.is_empty());
    let markdown = std::fs::read_to_string(&summary.markdown).unwrap();
    assert!(markdown.contains("| tiny |") && markdown.contains("**"), "{markdown}");

    let chromium = tgsh_report::browser::find_chromium().unwrap();
    let shots = dir.join("screenshots");
    for (name, page) in [
        ("index", summary.page.clone()),
        ("tiny", artifacts.report_page()),
        ("heldout", heldout_artifacts.report_page()),
    ] {
        let check = tgsh_report::browser::check_page(&chromium, &page, &shots.join(format!("{name}.png"))).unwrap();
        assert!(check.problems.is_empty(), "{}: {:?}", page.display(), check.problems);
        assert!(check.images > 0 && check.tables > 0, "{check:?}");
        assert!(std::fs::metadata(shots.join(format!("{name}.png"))).unwrap().len() > 1000);
    }

    // The check is not vacuous: a missing figure and a broken link are found.
    std::fs::remove_file(artifacts.stage_dir(tgsh_common::Stage::Report).join("cross_task.png")).unwrap();
    let check =
        tgsh_report::browser::check_page(&chromium, &artifacts.report_page(), &shots.join("broken.png")).unwrap();
    assert!(
        check.problems.iter().any(|p| p.contains("cross_task.png")),
        "{:?}",
        check.problems
    );
    assert!(
        check.problems.iter().any(|p| p.contains("did not load")),
        "{:?}",
        check.problems
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A page whose DOM is larger than a pipe's buffer (64 KiB) loads like any
/// other: Chromium's output is read while it runs (the full reproduction's
/// index is about 80 KB).
#[test]
fn a_page_larger_than_the_pipe_buffer_is_checked() {
    let dir = temp_dir("browser-large");
    std::fs::create_dir_all(&dir).unwrap();
    let rows: String = (0..3000)
        .map(|i| format!("<tr><td>row {i}</td><td>{}</td></tr>\n", "x".repeat(40)))
        .collect();
    let page = dir.join("large.html");
    std::fs::write(
        &page,
        format!("<!doctype html><html><head><title>t</title></head><body><table>{rows}</table></body></html>"),
    )
    .unwrap();
    assert!(std::fs::metadata(&page).unwrap().len() > 128 * 1024);
    let chromium = tgsh_report::browser::find_chromium().unwrap();
    let check = tgsh_report::browser::check_page(&chromium, &page, &dir.join("large.png")).unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
    assert_eq!(check.tables, 1);
    std::fs::remove_dir_all(dir).unwrap();
}
