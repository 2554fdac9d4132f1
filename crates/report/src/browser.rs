//! Opening pages in a real browser: headless Chromium loads a page from
//! disk, as a reader would, and reports images that did not load and tables
//! with no rows; the page's links are checked against the files on disk (and
//! must not need the network); a screenshot is kept.
//!
//! The page is not changed: a copy beside it (so relative paths resolve)
//! gets a small script that writes what the browser saw into the DOM, which
//! Chromium's `--dump-dom` prints once the page has loaded.

use crate::ReportError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the browser found on one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCheck {
    /// The page.
    pub page: PathBuf,
    /// Images on the page.
    pub images: usize,
    /// Tables on the page.
    pub tables: usize,
    /// Everything wrong, one line each; empty when the page is whole.
    pub problems: Vec<String>,
}

/// The Chromium binary: `$TGSH_CHROMIUM`, else `chromium` or
/// `chromium-browser` on the PATH; an error says how to install it.
pub fn find_chromium() -> Result<PathBuf, ReportError> {
    if let Some(path) = std::env::var_os("TGSH_CHROMIUM") {
        return Ok(PathBuf::from(path));
    }
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&dirs) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(ReportError::Browser(
        "no Chromium found: install Debian's `chromium` package (`sudo apt-get install -y chromium`; `./x` does this when run as \
         root), or set TGSH_CHROMIUM to a Chromium binary"
            .into(),
    ))
}

const PROBE: &str = r#"<script>
window.addEventListener('load', () => {
  const images = [...document.images];
  const tables = [...document.querySelectorAll('table')];
  const result = {
    images: images.length,
    broken: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    tables: tables.length,
    empty: tables.filter(t => t.querySelectorAll('tr').length < 2).length,
  };
  const out = document.createElement('pre');
  out.id = 'tgsh-browser-check';
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
});
</script>"#;

fn chromium(binary: &Path, profile: &Path, args: &[String]) -> Result<String, ReportError> {
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| ReportError::Browser(format!("{}: could not start: {e}", binary.display())))?;
    // Read stdout while Chromium runs: a DOM larger than the pipe's buffer
    // (64 KiB) would otherwise block it until the deadline.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut out).map(|_| out)
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| ReportError::Browser(e.to_string()))? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ReportError::Browser(format!(
                "{} did not finish within 60 s on {}",
                binary.display(),
                args.last().map_or("", |a| a.as_str())
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = reader
        .join()
        .map_err(|_| ReportError::Browser("reading Chromium's output failed".into()))?
        .map_err(|e| ReportError::Browser(e.to_string()))?;
    let output = std::process::Output {
        status,
        stdout,
        stderr: Vec::new(),
    };
    if !output.status.success() {
        return Err(ReportError::Browser(format!(
            "{} exited with {}",
            binary.display(),
            output.status
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn file_url(path: &Path) -> Result<String, ReportError> {
    let absolute = std::fs::canonicalize(path).map_err(|source| ReportError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(format!("file://{}", absolute.display()))
}

/// Every `href` and `src` value of an HTML page.
pub fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attribute in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].replace("&amp;", "&"));
                rest = &rest[end..];
            }
        }
    }
    out
}

/// Links and image sources that do not resolve to a file beside the page,
/// anchors that name no element, and anything that needs the network.
pub fn broken_links(page: &Path, html: &str) -> Vec<String> {
    let dir = page.parent().unwrap_or(Path::new("."));
    let mut problems = Vec::new();
    for reference in references(html) {
        if reference.starts_with("http://") || reference.starts_with("https://") || reference.starts_with("//") {
            problems.push(format!("{reference}: needs the network (pages must open from disk)"));
            continue;
        }
        let (file, anchor) = match reference.split_once('#') {
            Some((f, a)) => (f, Some(a)),
            None => (reference.as_str(), None),
        };
        if file.is_empty() {
            if let Some(anchor) = anchor.filter(|a| !html.contains(&format!("id=\"{a}\""))) {
                problems.push(format!("#{anchor}: no element has this id"));
            }
            continue;
        }
        let target = dir.join(file);
        if !target.is_file() {
            problems.push(format!("{reference}: {} does not exist", target.display()));
        } else if let Some(anchor) = anchor {
            let text = std::fs::read_to_string(&target).unwrap_or_default();
            if !text.contains(&format!("id=\"{anchor}\"")) {
                problems.push(format!(
                    "{reference}: {} has no element with id \"{anchor}\"",
                    target.display()
                ));
            }
        }
    }
    // Many claims link to one section: name each broken reference once.
    let mut seen = std::collections::HashSet::new();
    problems.retain(|p| seen.insert(p.clone()));
    problems
}

/// Opens `page` in headless Chromium: finds images that did not load,
/// tables without rows and broken links, and saves a screenshot to
/// `screenshot`.
pub fn check_page(binary: &Path, page: &Path, screenshot: &Path) -> Result<PageCheck, ReportError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ReportError::Io { path, source }
    };
    let html = std::fs::read_to_string(page).map_err(io(page))?;
    let mut problems = broken_links(page, &html);

    let probe_page = page.with_file_name(format!(".browser-check-{}.html", std::process::id()));
    let probed = match html.rfind("</body>") {
        Some(end) => format!("{}{PROBE}{}", &html[..end], &html[end..]),
        None => format!("{html}{PROBE}"),
    };
    std::fs::write(&probe_page, probed).map_err(io(&probe_page))?;
    let profile = std::env::temp_dir().join(format!("tgsh-chromium-{}", std::process::id()));
    let dom = chromium(
        binary,
        &profile,
        &[
            "--virtual-time-budget=10000".into(),
            "--dump-dom".into(),
            file_url(&probe_page)?,
        ],
    );
    let _ = std::fs::remove_file(&probe_page);
    let dom = dom?;
    let result = dom
        .split_once("<pre id=\"tgsh-browser-check\">")
        .and_then(|(_, rest)| rest.split_once("</pre>"))
        .map(|(json, _)| json.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
        .ok_or_else(|| {
            ReportError::Browser(format!(
                "{}: the page did not finish loading in the browser",
                page.display()
            ))
        })?;
    let result: serde_json::Value = serde_json::from_str(&result)
        .map_err(|e| ReportError::Browser(format!("{}: unreadable check result: {e}", page.display())))?;
    let count = |key: &str| result[key].as_u64().unwrap_or(0) as usize;
    for src in result["broken"].as_array().into_iter().flatten() {
        problems.push(format!("image {} did not load", src.as_str().unwrap_or("?")));
    }
    if count("empty") > 0 {
        problems.push(format!("{} table(s) have no rows", count("empty")));
    }

    if let Some(parent) = screenshot.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    chromium(
        binary,
        &profile,
        &[
            "--window-size=1280,2400".into(),
            format!("--screenshot={}", screenshot.display()),
            file_url(page)?,
        ],
    )?;
    let _ = std::fs::remove_dir_all(&profile);
    if !screenshot.is_file() {
        problems.push(format!("no screenshot was written to {}", screenshot.display()));
    }
    Ok(PageCheck {
        page: page.to_path_buf(),
        images: count("images"),
        tables: count("tables"),
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_checked_against_files_and_ids() {
        let dir = std::env::temp_dir().join(format!("tgsh-links-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("a.png"), b"x").unwrap();
        std::fs::write(dir.join("sub/page.html"), "<h2 id=\"there\">x</h2>").unwrap();
        let html = r##"<a href="#here">x</a><a href="#nowhere">y</a><img src="a.png"><img src="b.png">
            <a href="sub/page.html#there">ok</a><a href="sub/page.html#gone">no</a><a href="https://example.org">net</a><p id="here"></p>"##;
        let problems = broken_links(&dir.join("index.html"), html);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("#nowhere")));
        assert!(problems.iter().any(|p| p.contains("b.png")));
        assert!(problems.iter().any(|p| p.contains("#gone")));
        assert!(problems.iter().any(|p| p.contains("network")));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
