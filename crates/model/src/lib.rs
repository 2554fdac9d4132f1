//! The CRWN's math, written once and shared by the train and analyze stages.
//!
//! The model (docs/METHOD.md, "The model"): a fixed sparse random encoder `W1` (the fly
//! hash, [`Encoder`]) gives `r(x) = relu(W1 x - mean(W1 x))`; a fixed random
//! decoder `W2` (`10 x H`) reads the representation `c_t ⊙ r(x)`, where the
//! context vector `c_t = s_t m_t` is the only thing a task learns:
//! `logits = W2 (c_t ⊙ r(x))` ([`forward`]).
//!
//! - [`encoder`]: `W1`, evaluated as exact integer sums over non-zero pixels.
//! - [`kernel`]: the forward and backward passes on encoded rows (compact
//!   integer sums), AVX2/FMA kernels that give the same bits as the portable
//!   code.
//! - [`forward`]: logits, softmax cross-entropy and accuracy on top of the
//!   kernels. Training's recorded accuracy and analysis' cross-task accuracy
//!   are the same function.
//! - [`model`]: a [`Model`] drawn from a seed, each task's [`TaskParams`],
//!   and the model file (`model.safetensors`) read and written by tensor name.
//! - [`manifold`]: contexts as smooth functions of a task variable `s`
//!   (bases, Gram matrices, `c(s)`), input conditioning, and points served
//!   on unseen tasks; [`manifold_file`]: their model files
//!   ([`ManifoldModel`]).
//! - [`torus`]: bases of two periodic task variables (a torus family):
//!   products of Fourier terms and the additive two-circle basis.
//!
//! ```
//! use tgsh_model::{forward, Model};
//! use tgsh_common::config::TrainConfig;
//! let config = TrainConfig { hidden: 100, ..TrainConfig::default() };
//! let model = Model::new(&config, 0);
//! let image = vec![0u8; 784];
//! let encoded = model.encoder.encode_rows(&image, None);
//! let context = model.init_task(0).context();
//! let data = forward::Encoded { rows: encoded.rows(), labels: &[0] };
//! let decoder = tgsh_model::Decoder::new(&model.decoder);
//! let accuracy = forward::accuracy(data, &context, &decoder);
//! assert!(accuracy == 0.0 || accuracy == 1.0);
//! ```
#![deny(missing_docs)]

pub mod encoder;
pub mod forward;
pub mod kernel;
pub mod manifold;
pub mod manifold_file;
pub mod model;
pub mod torus;

pub use encoder::{EncodedImages, Encoder};
pub use forward::{Encoded, Readout};
pub use kernel::{Decoder, Rows};
pub use manifold::{Basis, Conditioned, InputEncoding};
pub use manifold_file::ManifoldModel;
pub use model::{seeded, Model, ModelFileError, TaskParams};
