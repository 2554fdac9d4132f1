//! Bounded-time fuzzing of the parsers the stages use: the pipeline file
//! (TOML), the MNIST IDX files (raw and gzip), the Parquet artifacts (the
//! shared Arrow readers and the report's reader into polars frames) and the model files
//! (safetensors). No input may panic, hang or allocate without bound: every
//! rejection must be an error value with a message.
//!
//! The engine is a small mutation fuzzer that runs in the normal test build
//! (stable Rust; cargo-fuzz needs a nightly compiler): each target starts
//! from valid files ([`seeds`]), stacks random mutations (bit flips,
//! interesting integers, insertions, deletions, splices, dictionary tokens)
//! and keeps an input that is rejected with a message not seen before, so
//! the search walks past the first checks. A panic is a finding; a run
//! longer than [`HANG_SECONDS`] or an allocation beyond [`alloc::LIMIT`]
//! ([`alloc::PARQUET_LIMIT`] for Parquet) aborts the process naming the
//! input. Findings are written to
//! `target/fuzz-findings/<target>/`; the ones that found bugs are kept in
//! `crates/fuzz/corpus/<target>/` and replayed on every run.
//!
//! `TGSH_FUZZ_SECONDS` sets the time per target (default 3 s, the short pass
//! of `./x test`; `just fuzz` runs a minute each) and `TGSH_FUZZ_SEED` the
//! generator's seed (default 0, so the short pass repeats itself).
#![deny(missing_docs)]

pub mod alloc;
pub mod seeds;
pub mod targets;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

/// One input running longer than this is a hang.
pub const HANG_SECONDS: u64 = 20;

/// Inputs are kept at most this long (the seeds are far smaller).
const MAX_INPUT: usize = 1 << 20;

/// A fuzz target: what it starts from and what it feeds an input to.
pub struct Target {
    /// Its name (and its corpus folder's).
    pub name: &'static str,
    /// Valid inputs to start from.
    pub seeds: Vec<Vec<u8>>,
    /// Tokens worth inserting (keywords, numbers at the edges).
    pub dictionary: Vec<Vec<u8>>,
    /// Feeds one input to the parser: `Err` is a rejection, with its
    /// message (fine); a panic is a finding.
    pub run: fn(&[u8]) -> Result<(), String>,
    /// The largest single allocation an input may cause ([`alloc::LIMIT`]
    /// unless the format allows more).
    pub allocation_limit: usize,
}

/// What a run of one target did.
#[derive(Debug, Default)]
pub struct Report {
    /// Inputs run (corpus, seeds and mutations).
    pub executions: u64,
    /// Inputs the parser accepted.
    pub accepted: u64,
    /// Distinct rejection messages (digits ignored).
    pub messages: usize,
    /// Inputs that panicked: the file the input was saved to, and the message.
    pub findings: Vec<(PathBuf, String)>,
}

/// Seconds per target: `TGSH_FUZZ_SECONDS`, default 3.
pub fn budget() -> Duration {
    let seconds = std::env::var("TGSH_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(seconds.max(0.0))
}

/// The generator's seed: `TGSH_FUZZ_SEED`, default 0.
pub fn rng_seed() -> u64 {
    std::env::var("TGSH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// `crates/fuzz/corpus/<target>/`: inputs that once found a bug.
pub fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target)
}

/// `target/fuzz-findings/<target>/`: where this run saves what it finds.
pub fn findings_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/fuzz-findings")
        .join(target)
}

/// The input each fuzzing thread is running, for the hang watchdog and the
/// allocation bound to name.
struct Running {
    target: &'static str,
    started: Instant,
    input: Vec<u8>,
}

static RUNNING: Mutex<Vec<(ThreadId, Running)>> = Mutex::new(Vec::new());

/// Saves `input` as a finding of `target` and returns the file.
fn save(target: &str, input: &[u8]) -> PathBuf {
    let dir = findings_dir(target);
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{}.bin", &hex::encode(Sha256::digest(input))[..16]));
    let _ = std::fs::write(&file, input);
    file
}

/// Called by [`alloc`] when this thread asks for more than the bound:
/// saves the running input and says so (the process then aborts).
pub(crate) fn report_allocation(size: usize, bound: usize) {
    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let me = std::thread::current().id();
    if let Some((_, r)) = running.iter().find(|(id, _)| *id == me) {
        let file = save(r.target, &r.input);
        // Straight to stderr: the test harness's capture is lost on abort.
        let _ = writeln!(
            std::io::stderr(),
            "fuzz {}: an input asked for one allocation of {size} bytes (bound {bound}): saved to {}\n{}",
            r.target,
            file.display(),
            std::backtrace::Backtrace::force_capture()
        );
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "fuzz: an allocation of {size} bytes outside any input (bound {bound})"
        );
    }
}

thread_local! {
    /// Where the last panic of this thread happened (the hook records it).
    static PANIC_AT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn start_watchdog() {
    static WATCHDOG: OnceLock<()> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        // A panicking input is reported once per kind, by `fuzz`: keep the
        // hook quiet while an input runs, but note where it panicked.
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if alloc::watching() {
                let at = info.location().map(|l| l.to_string()).unwrap_or_default();
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                default(info);
            }
        }));
        std::thread::spawn(|| loop {
            std::thread::sleep(Duration::from_millis(250));
            let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
            for (_, r) in running.iter() {
                if r.started.elapsed() > Duration::from_secs(HANG_SECONDS) {
                    let file = save(r.target, &r.input);
                    let _ = writeln!(
                        std::io::stderr(),
                        "fuzz {}: an input has run for more than {HANG_SECONDS} s (a hang): saved to {}",
                        r.target,
                        file.display()
                    );
                    std::process::abort();
                }
            }
        });
    });
}

/// Runs one input; `Some(message)` if it panicked.
fn execute(target: &Target, input: &[u8]) -> (Option<String>, Result<(), String>) {
    let me = std::thread::current().id();
    RUNNING.lock().unwrap_or_else(|e| e.into_inner()).push((
        me,
        Running {
            target: target.name,
            started: Instant::now(),
            input: input.to_vec(),
        },
    ));
    alloc::watch(target.allocation_limit);
    let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    alloc::watch(0);
    RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(id, _)| *id != me);
    match outcome {
        Ok(result) => (None, result),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_string());
            let at = PANIC_AT.with(|p| std::mem::take(&mut *p.borrow_mut()));
            (Some(format!("{message} (at {at})")), Ok(()))
        }
    }
}

/// A rejection message with its numbers blurred (every word holding a
/// digit), first and last line only (parsers quote the input in between),
/// so inputs that fail the same check count once.
fn message_kind(message: &str) -> String {
    let blur = |line: &str| {
        // Quoted names (`foo`) are the input's words: blurred too.
        let unquoted: String = line
            .split('`')
            .enumerate()
            .map(|(k, part)| if k % 2 == 1 { "?" } else { part })
            .collect();
        unquoted
            .split_whitespace()
            .map(|w| if w.chars().any(|c| c.is_ascii_digit()) { "#" } else { w })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let first = message.lines().next().unwrap_or_default();
    let last = message.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let mut kind = blur(first);
    if last != first {
        kind.push_str(" / ");
        kind.push_str(&blur(last));
    }
    kind.chars().take(200).collect()
}

/// Runs `target` for `budget`: first its corpus, then its seeds, then
/// mutations of what it has seen, from generator seed `seed`.
pub fn fuzz(target: &Target, budget: Duration, seed: u64) -> Report {
    start_watchdog();
    let mut report = Report::default();
    let mut kinds = BTreeSet::new();
    let mut found = BTreeSet::new();
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let mut corpus: Vec<PathBuf> = std::fs::read_dir(corpus_dir(target.name))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    corpus.sort();
    let mut first: Vec<Vec<u8>> = corpus.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    first.extend(target.seeds.iter().cloned());
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ hash_name(target.name));
    let deadline = Instant::now() + budget;
    let mut queue = first.into_iter();
    loop {
        let (input, given) = match queue.next() {
            Some(input) => (input, true),
            None if Instant::now() >= deadline || pool.is_empty() => break,
            None => (mutate(&pool, &target.dictionary, &mut rng), false),
        };
        report.executions += 1;
        let (panicked, result) = execute(target, &input);
        if let Some(message) = panicked {
            if found.insert(message_kind(&message)) {
                report.findings.push((save(target.name, &input), message));
            }
            continue;
        }
        let kind = match result {
            Ok(()) => {
                report.accepted += 1;
                "accepted".to_string()
            }
            Err(message) => message_kind(&message),
        };
        if kinds.insert(kind) || given {
            if pool.len() >= 4096 {
                let at = rng.random_range(0..pool.len());
                pool[at] = input;
            } else {
                pool.push(input);
            }
        }
    }
    report.messages = kinds.len();
    report
}

fn hash_name(name: &str) -> u64 {
    u64::from_le_bytes(Sha256::digest(name.as_bytes())[..8].try_into().expect("8 bytes"))
}

const INTERESTING: [u64; 16] = [
    0,
    1,
    2,
    7,
    8,
    28,
    255,
    256,
    784,
    7840,
    65_535,
    65_536,
    0x7fff_ffff,
    0xffff_ffff,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// A mutation of a pool entry: 1 to 8 stacked edits.
fn mutate(pool: &[Vec<u8>], dictionary: &[Vec<u8>], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut data = pool[rng.random_range(0..pool.len())].clone();
    let edits = 1 << rng.random_range(0..4);
    for _ in 0..edits {
        let len = data.len();
        let at = if len == 0 { 0 } else { rng.random_range(0..len) };
        match rng.random_range(0..11) {
            0 if len > 0 => data[at] ^= 1 << rng.random_range(0..8),
            1 if len > 0 => data[at] = rng.random(),
            2 if len > 0 => data[at] = [0, 1, 0x7f, 0x80, 0xff][rng.random_range(0..5)],
            3 if len > 0 => data[at] = data[at].wrapping_add(rng.random_range(1..=4)).wrapping_sub(2),
            4 => {
                // An interesting integer, 2, 4 or 8 bytes, either byte order.
                let value = INTERESTING[rng.random_range(0..INTERESTING.len())];
                let width = [2, 4, 8][rng.random_range(0..3)];
                let bytes = if rng.random() {
                    value.to_le_bytes()[..width].to_vec()
                } else {
                    value.to_be_bytes()[8 - width..].to_vec()
                };
                overwrite(&mut data, at, &bytes);
            }
            5 => {
                let n = rng.random_range(1..=16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                data.splice(at..at, bytes);
            }
            6 if len > 0 => {
                let end = (at + rng.random_range(1..=len.min(64))).min(len);
                data.drain(at..end);
            }
            7 if len > 0 => {
                let end = (at + rng.random_range(1..=len.min(256))).min(len);
                let chunk = data[at..end].to_vec();
                let to = rng.random_range(0..=len);
                data.splice(to..to, chunk);
            }
            8 if len > 0 => data.truncate(at),
            9 => {
                let other = &pool[rng.random_range(0..pool.len())];
                if !other.is_empty() {
                    let from = rng.random_range(0..other.len());
                    data.truncate(at);
                    data.extend_from_slice(&other[from..]);
                }
            }
            _ if !dictionary.is_empty() => {
                let token = &dictionary[rng.random_range(0..dictionary.len())];
                if rng.random() {
                    data.splice(at..at, token.iter().copied());
                } else {
                    overwrite(&mut data, at, token);
                }
            }
            _ => {}
        }
    }
    data.truncate(MAX_INPUT);
    data
}

fn overwrite(data: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    let end = at + bytes.len();
    if data.len() < end {
        data.resize(end, 0);
    }
    data[at..end].copy_from_slice(bytes);
}

/// Runs `target` for [`budget`] from [`rng_seed`], prints what it did, and
/// fails naming every finding.
pub fn check(target: &Target) {
    let (budget, seed) = (budget(), rng_seed());
    let start = Instant::now();
    let report = fuzz(target, budget, seed);
    eprintln!(
        "fuzz {}: {} inputs in {:.1} s (seed {seed}): {} accepted, {} distinct rejections, {} panic(s); \
         corpus {}",
        target.name,
        report.executions,
        start.elapsed().as_secs_f64(),
        report.accepted,
        report.messages,
        report.findings.len(),
        corpus_dir(target.name).display()
    );
    assert!(
        report.accepted > 0,
        "fuzz {}: no input was accepted, not even a seed: the target is broken",
        target.name
    );
    if !report.findings.is_empty() {
        let list: Vec<String> = report
            .findings
            .iter()
            .map(|(file, message)| format!("  {}: {message}", file.display()))
            .collect();
        panic!(
            "fuzz {}: {} input(s) panicked (copy each into {} once fixed, as a regression test):\n{}",
            target.name,
            list.len(),
            corpus_dir(target.name).display(),
            list.join("\n")
        );
    }
}
