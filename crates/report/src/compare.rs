//! Two runs side by side (`just compare <a> <b>`): the settings that differ,
//! every claim of both with its value, interval and verdict, and the
//! accuracies. Written to `<artifacts>/compare-<a>-vs-<b>.html`, beside the
//! index, linking both pipelines' pages.

use crate::html::{self, escape, Place};
use crate::ReportError;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use tgsh_common::schema::analysis::{AccuracySummaryRow, ClaimRow, HeldoutSummaryRow};
use tgsh_common::schema::Table;
use tgsh_common::{Artifacts, Pipeline};

/// The page comparing `a` and `b`.
pub fn page_path(root: &Path, a: &Pipeline, b: &Pipeline) -> PathBuf {
    root.join(format!("compare-{}-vs-{}.html", a.name, b.name))
}

/// Writes the comparison page of `a` and `b` under `root`; returns its path.
pub fn write(root: &Path, a: &Pipeline, b: &Pipeline) -> Result<PathBuf, ReportError> {
    let body = [settings(a, b), claims(root, a, b)?, accuracy(root, a, b)?].concat();
    let path = page_path(root, a, b);
    html::write_page(&path, Place::Index, &format!("{} against {}", a.name, b.name), &body)?;
    Ok(path)
}

fn settings(a: &Pipeline, b: &Pipeline) -> String {
    let (ka, kb): (BTreeMap<_, _>, BTreeMap<_, _>) = (
        a.resolved_keys().into_iter().collect(),
        b.resolved_keys().into_iter().collect(),
    );
    let mut keys: Vec<&String> = ka.keys().chain(kb.keys()).collect();
    keys.sort();
    keys.dedup();
    let missing = "<i>not set</i>".to_string();
    let mut rows = String::new();
    for key in keys {
        let (va, vb) = (ka.get(key), kb.get(key));
        if va != vb {
            let _ = writeln!(
                rows,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape(key),
                va.map_or(missing.clone(), |v| format!("<code>{}</code>", escape(v))),
                vb.map_or(missing.clone(), |v| format!("<code>{}</code>", escape(v))),
            );
        }
    }
    let table = if rows.is_empty() {
        "<p>Every setting is the same.</p>\n".to_string()
    } else {
        format!(
            "<table>\n<tr><th>setting</th><th><a href=\"{a}/report/index.html\">{a}</a></th><th><a href=\"{b}/report/index.html\">{b}</a></th></tr>\n{rows}</table>\n",
            a = escape(&a.name),
            b = escape(&b.name)
        )
    };
    format!("<h2>Settings that differ</h2>\n{table}")
}

fn cell(c: Option<&ClaimRow>) -> String {
    let number = |v: f64| if v.is_finite() { format!("{v:.3}") } else { "–".into() };
    c.map_or("<td>–</td>".to_string(), |c| {
        format!(
            "<td class=\"num {v}\">{} [{}, {}] <b>{v}</b></td>",
            number(c.mean),
            number(c.ci_low),
            number(c.ci_high),
            v = escape(&c.verdict)
        )
    })
}

fn claims(root: &Path, a: &Pipeline, b: &Pipeline) -> Result<String, ReportError> {
    let read = |p: &Pipeline| -> Result<Vec<ClaimRow>, ReportError> {
        let path = Artifacts::new(root, &p.name).summary(ClaimRow::FILE);
        if !path.is_file() {
            return Err(ReportError::Usage(format!(
                "{} has no claims yet ({} is missing): run `just run {}` first",
                p.name,
                path.display(),
                p.name
            )));
        }
        Ok(ClaimRow::read(&path)?)
    };
    let (ca, cb) = (read(a)?, read(b)?);
    let mut ids: Vec<&ClaimRow> = ca.iter().collect();
    ids.extend(cb.iter().filter(|c| !ca.iter().any(|x| x.id == c.id)));
    let mut table = format!(
        "<table>\n<tr><th>claim</th><th>{}: mean [95 % interval] verdict</th><th>{}: mean [95 % interval] verdict</th></tr>\n",
        escape(&a.name),
        escape(&b.name)
    );
    for c in ids {
        let _ = writeln!(
            table,
            "<tr><td>{}</td>{}{}</tr>",
            escape(&c.claim),
            cell(ca.iter().find(|x| x.id == c.id)),
            cell(cb.iter().find(|x| x.id == c.id))
        );
    }
    table.push_str("</table>\n");
    Ok(format!("<h2>Claims</h2>\n{table}"))
}

/// Mean test accuracy over tasks (family pipelines) or per method and split
/// (held-out pipelines), mean and interval across seeds.
fn accuracy(root: &Path, a: &Pipeline, b: &Pipeline) -> Result<String, ReportError> {
    let summary = |p: &Pipeline| -> Result<BTreeMap<String, String>, ReportError> {
        let artifacts = Artifacts::new(root, &p.name);
        let mut out = BTreeMap::new();
        let family = artifacts.summary(AccuracySummaryRow::FILE);
        if family.is_file() {
            let rows = AccuracySummaryRow::read(&family)?;
            let mean = rows.iter().map(|r| r.mean).sum::<f64>() / rows.len().max(1) as f64;
            let worst = rows.iter().map(|r| r.mean).fold(f64::INFINITY, f64::min);
            out.insert("mean over tasks".to_string(), format!("{:.2} %", 100.0 * mean));
            out.insert("weakest task".to_string(), format!("{:.2} %", 100.0 * worst));
        }
        let heldout = artifacts.summary(HeldoutSummaryRow::FILE);
        if heldout.is_file() {
            for r in HeldoutSummaryRow::read(&heldout)? {
                out.insert(
                    format!("{} on {} tasks", r.method, r.split),
                    format!(
                        "{:.2} % [{:.2}, {:.2}]",
                        100.0 * r.mean,
                        100.0 * r.ci_low,
                        100.0 * r.ci_high
                    ),
                );
            }
        }
        Ok(out)
    };
    let (sa, sb) = (summary(a)?, summary(b)?);
    let mut keys: Vec<&String> = sa.keys().chain(sb.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut table = format!(
        "<table>\n<tr><th>test accuracy</th><th>{}</th><th>{}</th></tr>\n",
        escape(&a.name),
        escape(&b.name)
    );
    for key in keys {
        let get = |m: &BTreeMap<String, String>| m.get(key).cloned().unwrap_or_else(|| "–".into());
        let _ = writeln!(
            table,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(key),
            get(&sa),
            get(&sb)
        );
    }
    table.push_str("</table>\n");
    Ok(format!(
        "<h2>Accuracy</h2>\n<p>Mean across seeds of the final test accuracy.</p>\n{table}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(id: &str, mean: f64, verdict: &str) -> ClaimRow {
        ClaimRow {
            id: id.into(),
            claim: format!("claim {id}"),
            figure: String::new(),
            statistic: String::new(),
            mean,
            ci_low: mean - 0.1,
            ci_high: mean + 0.1,
            seeds: 5,
            threshold: 0.5,
            direction: ">".into(),
            verdict: verdict.into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_page_shows_the_differing_settings_and_both_runs_claims() {
        let root = std::env::temp_dir().join(format!("tgsh-compare-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let family = "[data.family]\nname = \"R\"\nsweep = { transform = \"rotate\", count = 4, step = 90.0 }\n";
        let a = Pipeline::parse(Path::new("pipelines/a.toml"), &format!("{family}[train]\nepochs = 1\n")).unwrap();
        let b = Pipeline::parse(Path::new("pipelines/b.toml"), &format!("{family}[train]\nepochs = 3\n")).unwrap();
        for (p, claims) in [
            (&a, vec![claim("x", 0.7, "pass"), claim("only-a", 0.2, "fail")]),
            (&b, vec![claim("x", 0.4, "fail")]),
        ] {
            let path = Artifacts::new(&root, &p.name).summary(ClaimRow::FILE);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            ClaimRow::write(&path, &claims, &Default::default()).unwrap();
        }
        let page = std::fs::read_to_string(write(&root, &a, &b).unwrap()).unwrap();
        assert!(
            page.contains("<td><code>train.epochs</code></td><td><code>1</code></td><td><code>3</code></td>"),
            "{page}"
        );
        assert!(!page.contains("train.batch_size"), "equal settings are not listed");
        assert!(
            page.contains(
                "claim x</td><td class=\"num pass\">0.700 [0.600, 0.800] <b>pass</b></td><td class=\"num fail\">0.400"
            ),
            "{page}"
        );
        assert!(
            page.contains("claim only-a</td><td class=\"num fail\">0.200 [0.100, 0.300] <b>fail</b></td><td>–</td>"),
            "{page}"
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}
