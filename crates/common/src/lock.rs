//! One writer per published folder.
//!
//! Every stage that publishes a folder (data, a train or analyze shard, the
//! summary, the report, the index) holds an advisory lock on a file beside
//! it, `<folder>.lock`, from its freshness check to the rename that
//! publishes (std's `File::lock`: `flock(2)` on Unix, `LockFileEx` on
//! Windows). A second writer of the same folder, from another terminal, the
//! justfile beside the Snakemake workflow, or a second job, waits, saying
//! which process it waits for, then finds the folder up to date. The lock
//! dies with its process, so a writer killed with `kill -9` never blocks the
//! next one. The lock file holds the holder's pid and command line and stays
//! in place afterwards: an unlocked file means nobody is writing.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

/// Lock files this process holds, and the thread that took each: a second
/// lock of the same folder from that thread would wait for itself forever,
/// so it is an error instead (another thread waits, as another process does).
static HELD: Mutex<BTreeMap<PathBuf, ThreadId>> = Mutex::new(BTreeMap::new());

/// The lock file of `folder`: `<folder>.lock`, beside it.
pub fn lock_file(folder: &Path) -> PathBuf {
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    folder.with_file_name(format!("{name}.lock"))
}

/// A held writer's lock; released when dropped (or when the process ends,
/// however it ends).
#[derive(Debug)]
pub struct WriterLock {
    file: File,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the lock file `path` for `what` (a stage or shard, e.g. `train
    /// seed-3`, for the messages). When another process holds it, says on
    /// stderr which one and waits for it.
    pub fn acquire(path: &Path, what: &str) -> Result<WriterLock> {
        let me = std::thread::current().id();
        if HELD.lock().unwrap_or_else(|e| e.into_inner()).get(path) == Some(&me) {
            return Err(Error::io(
                path,
                std::io::Error::other(format!(
                    "{what}: this thread already holds this lock (two writers of one folder in one thread)"
                )),
            ));
        }
        let locked = Self::lock(path, what)?;
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_path_buf(), me);
        Ok(locked)
    }

    fn lock(path: &Path, what: &str) -> Result<WriterLock> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = holder(path);
                eprintln!(
                    "{what}: waiting for {holder}, which is writing it (lock file {}); it goes on when that process ends",
                    path.display()
                );
                file.lock().map_err(|e| unsupported(path, e))?;
                eprintln!("{what}: {holder} is done, going on");
            }
            Err(TryLockError::Error(e)) => return Err(unsupported(path, e)),
        }
        // Whoever waits next reads who holds the lock from the file itself.
        let me = format!(
            "pid {}: {}\n",
            std::process::id(),
            std::env::args().collect::<Vec<_>>().join(" ")
        );
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(me.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(|e| Error::io(path, e))?;
        Ok(WriterLock {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
        HELD.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.path);
    }
}

/// Who holds the lock file at `path`, as it wrote itself there: `pid 1234
/// (tgsh-train pipelines/rotation.toml --seed 0)`.
fn holder(path: &Path) -> String {
    // The holder writes its line right after locking: give it a moment.
    for _ in 0..40 {
        let mut text = String::new();
        if File::open(path).and_then(|mut f| f.read_to_string(&mut text)).is_ok() {
            if let Some((pid, command)) = text.trim().split_once(": ") {
                return format!("{pid} ({command})");
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    "another process (it has not written its pid yet)".to_string()
}

fn unsupported(path: &Path, e: std::io::Error) -> Error {
    Error::io(
        path,
        std::io::Error::new(
            e.kind(),
            format!("cannot lock ({e}): the artifact folder must be on a file system with file locks"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_for_the_first_and_names_it() {
        let dir = std::env::temp_dir().join(format!("tgsh-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = lock_file(&dir.join("train").join("seed-0"));
        assert!(path.ends_with("train/seed-0.lock"));
        let first = WriterLock::acquire(&path, "first").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&format!("pid {}: ", std::process::id())), "{text}");
        assert_eq!(
            holder(&path),
            format!(
                "pid {} ({})",
                std::process::id(),
                text.trim().split_once(": ").unwrap().1
            )
        );
        // The same thread again is an error, not a wait for itself.
        let again = WriterLock::acquire(&path, "again").unwrap_err().to_string();
        assert!(again.contains("already holds"), "{again}");
        // Another open file description (as another process has) blocks.
        let other = File::open(&path).unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop(first);
        other.try_lock().unwrap();
        other.unlock().unwrap();
        let second = WriterLock::acquire(&path, "second").unwrap();
        drop(second);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
