use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use tgsh_common::{Artifacts, Pipeline};

/// The page across pipelines: every family's claims in one table, linked to
/// each pipeline's report page.
///
/// Reads: <artifacts>/<pipeline>/analyze/summary/{claims,accuracy}.parquet
/// and report/ of each pipeline given (pipelines not run yet are listed as
/// such). Writes: <artifacts>/index.html and <artifacts>/claims.md (the
/// claims as Markdown). With --check-in-browser, opens the index and every
/// pipeline page in headless Chromium, fails on a missing image, a broken
/// link or an empty table, and keeps a screenshot of each page in
/// <artifacts>/screenshots/. Holds <artifacts>/index.lock while it writes
/// (a second index waits for the first).
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Pipeline files, e.g. pipelines/*.toml.
    #[arg(required = true)]
    pipelines: Vec<PathBuf>,
    /// Root of the artifact tree.
    #[arg(long, default_value = "data")]
    artifacts: PathBuf,
    /// Check the pages in headless Chromium and keep screenshots.
    #[arg(long)]
    check_in_browser: bool,
    /// Print the claims table (Markdown) to stdout.
    #[arg(long)]
    print_claims: bool,
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let pipelines = args
        .pipelines
        .iter()
        .map(|p| Pipeline::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(&args.artifacts)?;
    // One writer of index.html, claims.md and screenshots/ at a time.
    let _lock = tgsh_common::lock::WriterLock::acquire(&args.artifacts.join("index.lock"), "index")?;
    let summary = tgsh_report::index::write_index(&args.artifacts, &pipelines)?;
    eprintln!(
        "index: {} pipeline(s) reported, {} not run yet; {} claims -> {}",
        summary.reported.len(),
        summary.missing.len(),
        summary.claims.len(),
        summary.page.display()
    );
    if args.print_claims {
        print!("{}", std::fs::read_to_string(&summary.markdown)?);
    }
    if args.check_in_browser {
        let mut pages = vec![("index".to_string(), summary.page.clone())];
        for name in &summary.reported {
            pages.push((name.clone(), Artifacts::new(&args.artifacts, name).report_page()));
        }
        tgsh_report::check_in_browser(&pages, &args.artifacts.join("screenshots"))?;
    }
    println!("{}", summary.page.display());
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
