//! Two processes writing one shard, forced to interleave (shared by the
//! train and analyze crates' `two_writers` tests through `#[path]`): the
//! first is stopped (SIGSTOP) while it holds the shard's writer lock, the
//! second is started and must wait for it, naming it; then the first is
//! resumed. Both must succeed and the published shard must hold every file
//! its record lists, with the recorded hashes.
#![cfg(unix)]

use std::fs::{File, TryLockError};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};
use tgsh_common::lock::lock_file;
use tgsh_common::record::verify_published;

/// What the two writers printed on stderr.
pub struct Outcome {
    pub first: String,
    pub second: String,
}

/// A started writer; killed (after a SIGCONT) if the test fails midway.
struct Writer {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Writer {
    fn start(binary: &Path, args: &[&str]) -> Writer {
        let mut child = Command::new(binary)
            .args(args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let (tx, lines) = channel();
        let stderr = child.stderr.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Writer {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (at most `limit`) for a stderr line containing `text`.
    fn expect_line(&mut self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.seen.iter().any(|l| l.contains(text)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "no line with `{text}` within {limit:?}; stderr so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn finish(mut self) -> String {
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.iter());
        let text = self.seen.join("\n");
        assert!(status.success(), "exit {status}:\n{text}");
        text
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            signal("CONT", self.pid());
            let _ = self.child.kill();
        }
    }
}

/// Every file of `shard`, `shard.partial` and `shard.old`, with its size.
fn listing(shard: &Path) -> Vec<(std::path::PathBuf, u64)> {
    fn walk(dir: &Path, out: &mut Vec<(std::path::PathBuf, u64)>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(meta) = entry.metadata() {
                out.push((path, meta.len()));
            }
        }
    }
    let mut out = Vec::new();
    for dir in [
        shard.to_path_buf(),
        shard.with_extension("partial"),
        shard.with_extension("old"),
    ] {
        walk(&dir, &mut out);
    }
    out.sort();
    out
}

fn signal(name: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} {pid}");
}

/// Runs `binary args` twice on `shard` as described in the module docs.
pub fn interleave(binary: &Path, args: &[&str], shard: &Path) -> Outcome {
    let lock = lock_file(shard);
    let mut first = Writer::start(binary, args);
    let mine = format!("pid {}:", first.pid());
    let deadline = Instant::now() + Duration::from_secs(120);
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.starts_with(&mine)) {
        if let Some(status) = first.child.try_wait().unwrap() {
            panic!(
                "the first writer ended ({status}) before it took the lock {}",
                lock.display()
            );
        }
        assert!(
            Instant::now() < deadline,
            "the first writer never took {}",
            lock.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    signal("STOP", first.pid());
    // Stopped while holding the lock, somewhere between its freshness check
    // and its publish: the lock is still taken.
    let probe = File::open(&lock).unwrap();
    assert!(
        matches!(probe.try_lock(), Err(TryLockError::WouldBlock)),
        "the first writer finished before it was stopped: give it more work"
    );
    drop(probe);

    let before = listing(shard);
    let mut second = Writer::start(binary, args);
    second.expect_line(&format!("waiting for pid {}", first.pid()), Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        second.child.try_wait().unwrap().is_none(),
        "the second writer did not wait"
    );
    assert_eq!(
        listing(shard),
        before,
        "the second writer touched the shard or its partial folder while the first held the lock"
    );

    signal("CONT", first.pid());
    let first = first.finish();
    let second = second.finish();
    verify_published(shard).unwrap_or_else(|e| panic!("after two writers: {e}"));
    Outcome { first, second }
}
