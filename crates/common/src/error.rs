use std::path::PathBuf;

/// Errors of the shared layer. Every variant names the file involved, so a
/// user can see which artifact or config is at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A pipeline config is malformed or has an invalid value.
    #[error("{}: {message}", path.display())]
    Config {
        /// The config file.
        path: PathBuf,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A Parquet file could not be read or written.
    #[error("{}: {source}", path.display())]
    Parquet {
        /// The Parquet file.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// An Arrow operation failed.
    #[error("{}: {source}", path.display())]
    Arrow {
        /// The file being built or read.
        path: PathBuf,
        /// The underlying error.
        source: arrow_schema::ArrowError,
    },
    /// A file does not follow the artifact contract (ARCHITECTURE.md).
    #[error("{}: {message}", path.display())]
    Schema {
        /// The offending file.
        path: PathBuf,
        /// Which column or key is wrong, and what was expected.
        message: String,
    },
    /// `--seed` named a seed the pipeline does not list.
    #[error("--seed {seed}: {} lists train.seeds = {seeds:?}; add the seed there first", pipeline.display())]
    UnknownSeed {
        /// The seed asked for.
        seed: u64,
        /// The pipeline file.
        pipeline: PathBuf,
        /// The seeds it lists.
        seeds: Vec<u64>,
    },
    /// A stage record could not be (de)serialised.
    #[error("{}: {source}", path.display())]
    Json {
        /// The record file.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn schema(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Schema {
            path: path.into(),
            message: message.into(),
        }
    }
}
