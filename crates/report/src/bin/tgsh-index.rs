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
/// <artifacts>/screenshots/. With --write-results DIR, copies each
/// pipeline's claims to DIR/<pipeline>/claims.parquet and writes
/// DIR/claims.md (the committed results); with --check-results DIR, fails
/// when a claim's verdict differs from DIR's or its value leaves the
/// interval committed there. Holds <artifacts>/index.lock while it writes
/// (a second index waits for the first).
#[derive(Parser)]
#[command(version, about, long_about)]
struct Args {
    /// Pipeline files or names (default: every pipelines/*.toml).
    pipelines: Vec<PathBuf>,
    /// Root of the artifact tree.
    #[arg(long, default_value = "data")]
    artifacts: PathBuf,
    /// Check the pages in headless Chromium and keep screenshots.
    #[arg(long)]
    check_in_browser: bool,
    /// Only print the pipeline file a name (or path) means, or fail listing
    /// the pipelines; write nothing.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["status", "pipelines"])]
    resolve: Option<String>,
    /// Only write the page comparing two pipelines' settings, claims and
    /// accuracies (<artifacts>/compare-<A>-vs-<B>.html).
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with_all = ["status", "pipelines"])]
    compare: Vec<String>,
    /// Only list the pipelines and the state of each stage (done, not run,
    /// or stale and why); write nothing.
    #[arg(long)]
    status: bool,
    /// Print the claims table (Markdown) to stdout.
    #[arg(long)]
    print_claims: bool,
    /// Replace the committed results in DIR with these pipelines' claims.
    #[arg(long, value_name = "DIR", conflicts_with = "check_results")]
    write_results: Option<PathBuf>,
    /// Compare these pipelines' claims with the results committed in DIR.
    #[arg(long, value_name = "DIR")]
    check_results: Option<PathBuf>,
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(name) = &args.resolve {
        println!("{}", tgsh_report::index::pipeline_file(name.as_ref())?.display());
        return Ok(());
    }
    if let [a, b] = args.compare.as_slice() {
        let load = |name: &String| -> Result<Pipeline, Box<dyn std::error::Error>> {
            Ok(Pipeline::load(&tgsh_report::index::pipeline_file(name.as_ref())?)?)
        };
        let page = tgsh_report::compare::write(&args.artifacts, &load(a)?, &load(b)?)?;
        println!("{}", page.display());
        return Ok(());
    }
    let files = if args.pipelines.is_empty() {
        tgsh_report::index::pipeline_files(std::path::Path::new("pipelines"))?
    } else {
        args.pipelines
            .iter()
            .map(|p| tgsh_report::index::pipeline_file(p))
            .collect::<Result<Vec<_>, _>>()?
    };
    let pipelines = files.iter().map(|p| Pipeline::load(p)).collect::<Result<Vec<_>, _>>()?;
    if args.status {
        print!("{}", tgsh_report::index::status_table(&args.artifacts, &pipelines)?);
        return Ok(());
    }
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
    if let Some(dir) = &args.write_results {
        tgsh_report::committed::write(dir, &args.artifacts, &pipelines)?;
        eprintln!(
            "index: the claims of {} pipeline(s) written to {}",
            pipelines.len(),
            dir.display()
        );
    }
    if let Some(dir) = &args.check_results {
        let report = tgsh_report::committed::check(dir, &args.artifacts, &pipelines)?;
        if !report.changes.is_empty() {
            return Err(format!(
                "{} of {} claims differ from the results committed in {}:\n  {}\n(if the change is meant, `just bless-results` commits the new ones)",
                report.changes.len(),
                report.compared,
                dir.display(),
                report.changes.join("\n  ")
            )
            .into());
        }
        eprintln!(
            "index: all {} claims keep their verdicts and stay inside the intervals committed in {}",
            report.compared,
            dir.display()
        );
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
