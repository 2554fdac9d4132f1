//! Loading the MNIST IDX files, verified against their published SHA-256.
//!
//! Each file may be gzip-compressed (`*.gz`, as carried in `data/mnist/`) or
//! raw. The checksum is of the decompressed bytes, so both forms verify the
//! same way. Nothing is returned from a file that fails any check.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use tgsh_common::plan::MNIST_FILES;

/// SHA-256 of the four canonical, decompressed MNIST files (named in
/// `tgsh_common::plan::MNIST_FILES`, which the data stage's plan lists).
pub const CHECKSUMS: [(&str, &str); 4] = [
    (
        MNIST_FILES[0],
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    (
        MNIST_FILES[1],
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    (
        MNIST_FILES[2],
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    (
        MNIST_FILES[3],
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
];

/// Why an MNIST file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    /// Neither `<name>` nor `<name>.gz` exists.
    #[error("{}: MNIST file not found (looked for `{name}` and `{name}.gz`); point --mnist-dir (or data.mnist_dir) at the folder holding the four MNIST IDX files", dir.display())]
    Missing {
        /// The folder searched.
        dir: PathBuf,
        /// The file's base name.
        name: String,
    },
    /// Reading or decompressing failed (a truncated gzip stream lands here).
    #[error("{}: cannot read: {source} (the file may be truncated or not gzip; restore it from the MNIST distribution)", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O or gzip error.
        source: std::io::Error,
    },
    /// The decompressed bytes are not the canonical file.
    #[error("{}: SHA-256 of the decompressed bytes is {actual}, expected {expected}: the file is corrupt, truncated or not the canonical MNIST; restore it from the MNIST distribution", path.display())]
    Checksum {
        /// The file.
        path: PathBuf,
        /// What it hashed to.
        actual: String,
        /// What MNIST hashes to.
        expected: String,
    },
    /// The bytes are not a well-formed IDX file of the expected kind.
    #[error("{}: not a valid IDX file: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The images and labels of a split disagree in count.
    #[error("{split}: {images} images but {labels} labels")]
    Mismatch {
        /// `train` or `test`.
        split: &'static str,
        /// Image count.
        images: usize,
        /// Label count.
        labels: usize,
    },
}

/// One MNIST split: `n` images of 784 bytes, row-major, and their labels.
#[derive(Debug, Clone)]
pub struct Split {
    /// Concatenated images.
    pub images: Vec<u8>,
    /// Digit of each image.
    pub labels: Vec<u8>,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Image `i` as a fixed-size array.
    pub fn image(&self, i: usize) -> &[u8; tgsh_common::PIXELS] {
        self.images[i * tgsh_common::PIXELS..(i + 1) * tgsh_common::PIXELS]
            .try_into()
            .expect("slice of one image")
    }

    /// Keeps the first `n` images (all when `n` is `None` or larger).
    pub fn truncate(&mut self, n: Option<usize>) {
        if let Some(n) = n {
            let n = n.min(self.len());
            self.labels.truncate(n);
            self.images.truncate(n * tgsh_common::PIXELS);
        }
    }
}

/// Both MNIST splits, verified, with the checksums that were checked.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// 60,000 training images.
    pub train: Split,
    /// 10,000 test images.
    pub test: Split,
    /// File name -> verified SHA-256.
    pub checksums: Vec<(String, String)>,
}

/// The four MNIST files in `dir` (whichever of `<name>.gz` or `<name>`
/// exists), or the error naming the first one missing.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, MnistError> {
    CHECKSUMS
        .iter()
        .map(|(name, _)| {
            let gz = dir.join(format!("{name}.gz"));
            let raw = dir.join(name);
            if gz.exists() {
                Ok(gz)
            } else if raw.exists() {
                Ok(raw)
            } else {
                Err(MnistError::Missing {
                    dir: dir.to_path_buf(),
                    name: name.to_string(),
                })
            }
        })
        .collect()
}

/// Loads and verifies the four MNIST files in `dir`.
pub fn load(dir: &Path) -> Result<Mnist, MnistError> {
    let [train_images, train_labels, test_images, test_labels] =
        CHECKSUMS.map(|(name, sha)| read_verified(dir, name, sha));
    let train = split("train", dir, train_images?, train_labels?)?;
    let test = split("test", dir, test_images?, test_labels?)?;
    Ok(Mnist {
        train,
        test,
        checksums: CHECKSUMS.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect(),
    })
}

fn split(name: &'static str, dir: &Path, images: Vec<u8>, labels: Vec<u8>) -> Result<Split, MnistError> {
    let (img_name, lbl_name) = if name == "train" {
        (CHECKSUMS[0].0, CHECKSUMS[1].0)
    } else {
        (CHECKSUMS[2].0, CHECKSUMS[3].0)
    };
    let images = parse_idx(&dir.join(img_name), &images, 0x0803, &[28, 28])?;
    let labels = parse_idx(&dir.join(lbl_name), &labels, 0x0801, &[])?;
    if images.len() != labels.len() * tgsh_common::PIXELS {
        return Err(MnistError::Mismatch {
            split: name,
            images: images.len() / tgsh_common::PIXELS,
            labels: labels.len(),
        });
    }
    Ok(Split {
        images: images.to_vec(),
        labels: labels.to_vec(),
    })
}

/// The largest MNIST file, decompressed (`train-images-idx3-ubyte`: a
/// 16-byte header and 60,000 images of 784 bytes). Nothing larger is read,
/// so a small gzip file that inflates without end is refused, not
/// decompressed into all of memory.
pub const LARGEST_FILE: u64 = 16 + 60_000 * 784;

/// The bytes of an IDX file, decompressed when its name ends in `.gz`;
/// refused beyond [`LARGEST_FILE`] bytes.
pub fn read_file(path: &Path) -> Result<Vec<u8>, MnistError> {
    let read_error = |source| MnistError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    let limit = LARGEST_FILE + 1;
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file)
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
    } else {
        file.take(limit).read_to_end(&mut bytes).map_err(read_error)?;
    }
    if bytes.len() as u64 > LARGEST_FILE {
        return Err(MnistError::Format {
            path: path.to_path_buf(),
            message: format!("more than {LARGEST_FILE} bytes (decompressed), larger than any MNIST file"),
        });
    }
    Ok(bytes)
}

/// Reads `<dir>/<name>` or `<dir>/<name>.gz`, decompresses, and checks the hash.
fn read_verified(dir: &Path, name: &str, expected: &str) -> Result<Vec<u8>, MnistError> {
    let raw = dir.join(name);
    let gz = dir.join(format!("{name}.gz"));
    let (path, bytes) = if gz.exists() {
        let bytes = read_file(&gz)?;
        (gz, bytes)
    } else if raw.exists() {
        let bytes = read_file(&raw)?;
        (raw, bytes)
    } else {
        return Err(MnistError::Missing {
            dir: dir.to_path_buf(),
            name: name.to_string(),
        });
    };
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != expected {
        return Err(MnistError::Checksum {
            path,
            actual,
            expected: expected.to_string(),
        });
    }
    Ok(bytes)
}

/// Parses an IDX file of unsigned bytes: magic `0x0000_08_NN` (NN = number
/// of dimensions), big-endian u32 sizes, then the data. `inner` are the
/// expected sizes after the first dimension.
pub fn parse_idx<'a>(path: &Path, bytes: &'a [u8], magic: u32, inner: &[u32]) -> Result<&'a [u8], MnistError> {
    let fail = |message: String| MnistError::Format {
        path: path.to_path_buf(),
        message,
    };
    let dims = 1 + inner.len();
    let header = 4 + 4 * dims;
    if bytes.len() < header {
        return Err(fail(format!(
            "{} bytes is shorter than the {header}-byte header",
            bytes.len()
        )));
    }
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    if word(0) != magic {
        return Err(fail(format!("magic number {:#010x}, expected {magic:#010x}", word(0))));
    }
    for (k, &want) in inner.iter().enumerate() {
        if word(2 + k) != want {
            return Err(fail(format!("dimension {} is {}, expected {want}", k + 1, word(2 + k))));
        }
    }
    let count = word(1) as usize;
    let expected = inner
        .iter()
        .try_fold(count, |n, &d| n.checked_mul(d as usize))
        .ok_or_else(|| fail(format!("header promises {count} items, more than memory can address")))?;
    let data = &bytes[header..];
    if data.len() != expected {
        return Err(fail(format!(
            "header promises {expected} data bytes, file has {} (truncated or padded)",
            data.len()
        )));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        out.extend(data);
        out
    }

    #[test]
    fn parses_a_hand_made_idx_file() {
        let bytes = idx(0x0801, &[3], &[4, 5, 6]);
        assert_eq!(parse_idx(Path::new("x"), &bytes, 0x0801, &[]).unwrap(), &[4, 5, 6]);
    }

    #[test]
    fn rejects_wrong_magic_dims_and_truncation() {
        let p = Path::new("labels.idx");
        let e = parse_idx(p, &idx(0x0803, &[3], &[1, 2, 3]), 0x0801, &[]).unwrap_err();
        assert!(
            e.to_string().contains("labels.idx") && e.to_string().contains("magic"),
            "{e}"
        );
        let e = parse_idx(p, &idx(0x0801, &[4], &[1, 2, 3]), 0x0801, &[]).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        let e = parse_idx(p, &idx(0x0803, &[1, 27, 28], &[0; 756]), 0x0803, &[28, 28]).unwrap_err();
        assert!(e.to_string().contains("dimension 1 is 27"), "{e}");
        let e = parse_idx(p, &[0, 0], 0x0801, &[]).unwrap_err();
        assert!(e.to_string().contains("header"), "{e}");
    }

    fn carried() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist")
    }

    #[test]
    fn the_carried_mnist_verifies_and_has_the_published_shape() {
        let mnist = load(&carried()).unwrap();
        assert_eq!(mnist.train.len(), 60_000);
        assert_eq!(mnist.test.len(), 10_000);
        // Published facts: the first training digit is a 5, the first test digit a 7.
        assert_eq!(mnist.train.labels[0], 5);
        assert_eq!(mnist.test.labels[0], 7);
    }

    fn copy_carried(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tgsh-mnist-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(carried()).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        dir
    }

    #[test]
    fn a_corrupt_file_fails_its_checksum_and_names_the_file() {
        let dir = copy_carried("corrupt");
        // Re-compress a modified label file: valid gzip, wrong content.
        let path = dir.join("t10k-labels-idx1-ubyte.gz");
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        bytes[100] ^= 1;
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &bytes).unwrap();
        enc.finish().unwrap();
        let e = load(&dir).unwrap_err().to_string();
        assert!(e.contains("t10k-labels-idx1-ubyte.gz") && e.contains("SHA-256"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_truncated_gzip_names_the_file() {
        let dir = copy_carried("truncated");
        let path = dir.join("train-labels-idx1-ubyte.gz");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let e = load(&dir).unwrap_err().to_string();
        assert!(e.contains("train-labels-idx1-ubyte.gz"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_that_inflates_past_any_mnist_file_is_refused_without_reading_it_all() {
        let dir = std::env::temp_dir().join(format!("tgsh-mnist-bomb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("train-images-idx3-ubyte.gz");
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(LARGEST_FILE >> 20) + 2 {
            std::io::Write::write_all(&mut enc, &zeros).unwrap();
        }
        enc.finish().unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20, "a small file");
        let e = read_file(&path).unwrap_err().to_string();
        assert!(
            e.contains("train-images-idx3-ubyte.gz") && e.contains("larger than any MNIST file"),
            "{e}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_folder_says_how_to_fix_it() {
        let e = load(Path::new("/nonexistent/mnist")).unwrap_err().to_string();
        assert!(e.contains("--mnist-dir"), "{e}");
    }
}
