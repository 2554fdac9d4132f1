//! The committed results (`results/` in the repository): the claims of a
//! finished reproduction, kept so that a later run can be checked against
//! them and the README's results table can be generated from them.
//!
//! - [`write`] copies each pipeline's `analyze/summary/claims.parquet` to
//!   `results/<pipeline>/claims.parquet` and writes `results/claims.md`
//!   (`just bless-results`, after a change meant to move the results).
//! - [`check`] compares a fresh run with them (`just check-results`): every
//!   claim must still be there with the same verdict, and its value must lie
//!   inside the interval that was committed. A value that moves within its
//!   interval is run-to-run noise the interval already allows for; one that
//!   leaves it, or a verdict that flips, is a change someone must look at.
//! - [`readme_table`] renders the README's table of claims by family from
//!   the committed files (a test keeps the README equal to it).

use crate::ReportError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tgsh_common::schema::analysis::ClaimRow;
use tgsh_common::schema::Table;
use tgsh_common::{Artifacts, Pipeline};

/// The committed claims file of `pipeline`.
pub fn claims_file(results: &Path, pipeline: &str) -> PathBuf {
    results.join(pipeline).join(ClaimRow::FILE)
}

/// The committed Markdown table of every claim.
pub const CLAIMS_MD: &str = "claims.md";

/// Copies the claims of `pipelines` from the artifact tree under `root`
/// into `results`, and writes `results/claims.md`.
pub fn write(results: &Path, root: &Path, pipelines: &[Pipeline]) -> Result<(), ReportError> {
    let mut markdown_rows = Vec::new();
    for pipeline in pipelines {
        let (rows, metadata) =
            ClaimRow::read_with_metadata(&Artifacts::new(root, &pipeline.name).summary(ClaimRow::FILE))?;
        let target = claims_file(results, &pipeline.name);
        create_dir(target.parent().expect("a pipeline folder"))?;
        ClaimRow::write(&target, &rows, &metadata)?;
        markdown_rows.extend(
            crate::results::claims(&target)?
                .into_iter()
                .map(|r| (pipeline.name.clone(), r)),
        );
    }
    let rows: Vec<(&str, &crate::results::ClaimRow)> = markdown_rows.iter().map(|(p, c)| (p.as_str(), c)).collect();
    let text = crate::html::claims_markdown(&rows);
    let path = results.join(CLAIMS_MD);
    std::fs::write(&path, text).map_err(|source| ReportError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "–".into()
    }
}

/// What [`check`] found: one line per claim that changed.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Claims compared.
    pub compared: usize,
    /// Changes that fail the check, in words.
    pub changes: Vec<String>,
}

/// Compares the claims of `pipelines` under `root` with the committed ones.
pub fn check(results: &Path, root: &Path, pipelines: &[Pipeline]) -> Result<CheckReport, ReportError> {
    let mut report = CheckReport::default();
    for pipeline in pipelines {
        let committed_path = claims_file(results, &pipeline.name);
        if !committed_path.is_file() {
            report.changes.push(format!(
                "{}: nothing committed ({} is missing; `just bless-results` writes it)",
                pipeline.name,
                committed_path.display()
            ));
            continue;
        }
        let committed = ClaimRow::read(&committed_path)?;
        let fresh = ClaimRow::read(&Artifacts::new(root, &pipeline.name).summary(ClaimRow::FILE))?;
        let fresh: BTreeMap<&str, &ClaimRow> = fresh.iter().map(|c| (c.id.as_str(), c)).collect();
        for old in &committed {
            report.compared += 1;
            let name = format!("{} {}", pipeline.name, old.id);
            let Some(new) = fresh.get(old.id.as_str()) else {
                report.changes.push(format!("{name}: the claim is no longer measured"));
                continue;
            };
            if new.verdict != old.verdict {
                report
                    .changes
                    .push(format!("{name}: verdict {} -> {}", old.verdict, new.verdict));
            }
            if !within(new.mean, old) {
                report.changes.push(format!(
                    "{name}: {} left the committed interval [{}, {}] (committed mean {})",
                    number(new.mean),
                    number(old.ci_low),
                    number(old.ci_high),
                    number(old.mean)
                ));
            }
        }
        for id in fresh.keys() {
            if !committed.iter().any(|c| c.id == *id) {
                report.changes.push(format!(
                    "{} {id}: a new claim, not in the committed results",
                    pipeline.name
                ));
            }
        }
    }
    Ok(report)
}

/// Whether `value` lies in `committed`'s interval (or, where it has none,
/// equals its mean to rounding).
fn within(value: f64, committed: &ClaimRow) -> bool {
    let (lo, hi) = (committed.ci_low, committed.ci_high);
    if lo.is_finite() && hi.is_finite() {
        (lo..=hi).contains(&value)
    } else if committed.mean.is_finite() {
        (value - committed.mean).abs() <= 1e-9 * committed.mean.abs().max(1.0)
    } else {
        value.is_nan()
    }
}

/// The README's results table: one row per claim (by id, the papers'
/// claims first, then this project's own questions, each in the order the
/// families list them), one column per pipeline, each cell the mean with its
/// interval across seeds and a verdict mark, rendered from the committed
/// claims of `pipelines` (`(name, column heading)`).
pub fn readme_table(results: &Path, pipelines: &[(&str, &str)]) -> Result<String, ReportError> {
    let mut order: Vec<(String, String, bool)> = Vec::new();
    let mut cells: BTreeMap<(String, usize), String> = BTreeMap::new();
    for (column, (name, _)) in pipelines.iter().enumerate() {
        for c in ClaimRow::read(&claims_file(results, name))? {
            if !order.iter().any(|(id, _, _)| *id == c.id) {
                order.push((c.id.clone(), c.claim.clone(), c.section == "beyond"));
            }
            let mark = match c.verdict.as_str() {
                "pass" => "✓",
                "untrained" => "○",
                "fail" => "✗",
                _ => "?",
            };
            cells.insert(
                (c.id.clone(), column),
                format!(
                    "{} {mark}",
                    crate::html::with_interval(c.mean, c.ci_low, c.ci_high, &c.unit)
                ),
            );
        }
    }
    // The papers' claims first; sort is stable, so each keeps its order.
    order.sort_by_key(|(_, _, beyond)| *beyond);
    let mut out = format!(
        "| claim | {} |\n|---|{}\n",
        pipelines
            .iter()
            .map(|(_, heading)| *heading)
            .collect::<Vec<_>>()
            .join(" | "),
        "---|".repeat(pipelines.len())
    );
    for (id, claim, beyond) in &order {
        let row: Vec<String> = (0..pipelines.len())
            .map(|k| cells.get(&(id.clone(), k)).cloned().unwrap_or_else(|| "–".into()))
            .collect();
        let claim = if *beyond {
            format!("*beyond the papers:* {claim}")
        } else {
            claim.clone()
        };
        out.push_str(&format!("| {} | {} |\n", claim.replace('|', "\\|"), row.join(" | ")));
    }
    Ok(out)
}

/// The README's results table for the reproduction pipelines: the table
/// [`readme_table`] renders from `results/reproduction/`, between the
/// README's `<!-- results: reproduction -->` and `<!-- /results -->`
/// markers. `root` is the repository; `pipelines` the reproduction's names
/// (the justfile's `reproduction`).
pub fn readme_results(root: &Path, pipelines: &[&str]) -> Result<String, ReportError> {
    let mut columns = Vec::new();
    for name in pipelines {
        let pipeline = Pipeline::load(&root.join("pipelines").join(format!("{name}.toml")))?;
        columns.push((name.to_string(), pipeline.data.family.name.clone()));
    }
    let columns: Vec<(&str, &str)> = columns.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    readme_table(&root.join("results/reproduction"), &columns)
}

fn create_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(id: &str, mean: f64, interval: (f64, f64), verdict: &str) -> ClaimRow {
        ClaimRow {
            id: id.into(),
            claim: format!("claim {id}"),
            figure: "Fig. 1".into(),
            statistic: "s".into(),
            mean,
            ci_low: interval.0,
            ci_high: interval.1,
            seeds: 5,
            threshold: 0.5,
            direction: ">".into(),
            verdict: verdict.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_flipped_verdict_or_a_value_outside_the_committed_interval_fails() {
        let dir = std::env::temp_dir().join(format!("tgsh-committed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let text = "[data.family]\nname = \"R\"\nsweep = { transform = \"rotate\", count = 4, step = 90.0 }\n";
        let pipeline = Pipeline::parse(Path::new("pipelines/p.toml"), text).unwrap();
        let (results, root) = (dir.join("results"), dir.join("data"));
        let fresh = Artifacts::new(&root, "p").summary(ClaimRow::FILE);
        std::fs::create_dir_all(fresh.parent().unwrap()).unwrap();
        let meta = BTreeMap::new();
        std::fs::create_dir_all(results.join("p")).unwrap();
        let committed = vec![
            claim("a", 0.8, (0.7, 0.9), "pass"),
            claim("b", 0.6, (0.55, 0.65), "pass"),
            claim("c", 0.2, (0.1, 0.3), "fail"),
            claim("one-seed", 0.4, (f64::NAN, f64::NAN), "inconclusive"),
        ];
        ClaimRow::write(&claims_file(&results, "p"), &committed, &meta).unwrap();

        // Noise inside the intervals passes.
        let same = vec![
            claim("a", 0.85, (0.8, 0.9), "pass"),
            claim("b", 0.56, (0.5, 0.6), "pass"),
            claim("c", 0.25, (0.2, 0.3), "fail"),
            claim("one-seed", 0.4, (f64::NAN, f64::NAN), "inconclusive"),
        ];
        ClaimRow::write(&fresh, &same, &meta).unwrap();
        let report = check(&results, &root, std::slice::from_ref(&pipeline)).unwrap();
        assert_eq!((report.compared, report.changes.len()), (4, 0), "{:?}", report.changes);

        // A value outside its interval, a flipped verdict, a lost and a new claim fail, each named.
        let moved = vec![
            claim("a", 0.95, (0.9, 1.0), "pass"),
            claim("b", 0.6, (0.55, 0.65), "inconclusive"),
            claim("new", 0.1, (0.0, 0.2), "fail"),
            claim("one-seed", 0.41, (f64::NAN, f64::NAN), "inconclusive"),
        ];
        ClaimRow::write(&fresh, &moved, &meta).unwrap();
        let changes = check(&results, &root, &[pipeline]).unwrap().changes.join("\n");
        for needle in [
            "p a: 0.950 left the committed interval [0.700, 0.900]",
            "p b: verdict pass -> inconclusive",
            "p c: the claim is no longer measured",
            "p new: a new claim",
            "p one-seed: 0.410 left",
        ] {
            assert!(changes.contains(needle), "{needle} not in:\n{changes}");
        }
        let table = readme_table(&results, &[("p", "P")]).unwrap();
        assert!(
            table.starts_with("| claim | P |\n|---|---|\n| claim a | 0.800 [0.700, 0.900] ✓ |"),
            "{table}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The README's results table is the one the committed reproduction
    /// gives (`TGSH_BLESS=1 cargo test --release --workspace readme_results`
    /// rewrites it after `just bless-results`).
    #[test]
    fn readme_results_are_the_committed_ones() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let justfile = std::fs::read_to_string(root.join("justfile")).unwrap();
        let names: Vec<&str> = justfile
            .lines()
            .find_map(|l| l.strip_prefix("reproduction := "))
            .expect("the justfile names the reproduction pipelines")
            .trim_matches('"')
            .split_whitespace()
            .collect();
        if !root.join("results/reproduction").exists() {
            panic!("results/reproduction/ is missing: run `just bless-results`");
        }
        let table = readme_results(&root, &names).unwrap();
        let readme_path = root.join("README.md");
        let readme = std::fs::read_to_string(&readme_path).unwrap();
        let (open, close) = ("<!-- results: reproduction -->\n", "<!-- /results -->");
        let start = readme.find(open).expect("README.md has the results markers") + open.len();
        let end = start + readme[start..].find(close).expect("a closing marker");
        if std::env::var_os("TGSH_BLESS").is_some() {
            let updated = format!("{}{table}{}", &readme[..start], &readme[end..]);
            std::fs::write(&readme_path, updated).unwrap();
        } else {
            assert_eq!(
                readme[start..end],
                table,
                "README.md's results table differs from results/reproduction/: \
                 TGSH_BLESS=1 cargo test --release --workspace readme_results"
            );
        }
    }
}
