//! The model file of a conditioned CRWN (`train/seed-<S>/<method>.safetensors`,
//! format `tgsh-manifold/1`): the fixed encoder and decoder, the manifold's
//! coefficients `P` before and after training, and, for input
//! conditioning, `U`. The basis, topology, update rule and training tasks
//! are in the metadata, so a reader rebuilds `c(s)` from the file alone.
//!
//! | tensor | shape | meaning |
//! |---|---|---|
//! | `encoder.weight` | `[H, 784]` | `W1` |
//! | `decoder.weight` | `[10, H]` | `W2` |
//! | `manifold.before`, `manifold.after` | `[K, H]` | `P_k`, row `k` multiplies `φ_k(s)` |
//! | `input.before`, `input.after` | `[H, E]` | `U` (input conditioning only) |

use crate::encoder::Encoder;
use crate::manifold::{Basis, Conditioned, InputEncoding};
use crate::model::{write_safetensors, ModelFileError};
use std::collections::BTreeMap;
use std::path::Path;
use tgsh_common::{CLASSES, PIXELS};

/// The `format` metadata value of these files.
pub const FORMAT: &str = "tgsh-manifold/1";

/// The `format` of a network file: the fixed encoder and decoder of a seed
/// (`encoder.weight`, `decoder.weight`), shared by the model files that
/// name it.
pub const NETWORK_FORMAT: &str = "tgsh-network/1";

/// The metadata key by which a model file names its network file.
pub const NETWORK_KEY: &str = "network";

pub use tgsh_common::plan::NETWORK_FILE;

/// Writes a network file: `encoder.weight` (`[H, 784]`) and
/// `decoder.weight` (`[10, H]`) with `metadata` and `format`.
pub fn write_network(
    path: &Path,
    encoder: &Encoder,
    decoder: &[f32],
    metadata: &BTreeMap<String, String>,
) -> Result<(), ModelFileError> {
    let h = encoder.hidden();
    let mut meta = metadata.clone();
    meta.insert("format".into(), NETWORK_FORMAT.into());
    let tensors = vec![
        ("encoder.weight".to_string(), vec![h, PIXELS], encoder.dense_weight()),
        ("decoder.weight".to_string(), vec![CLASSES, h], decoder.to_vec()),
    ];
    write_safetensors(path, &tensors, &meta).map_err(|e| ModelFileError {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Writes `tensors` without the encoder and decoder, naming the network
/// file `network` (in the same folder) that holds them instead.
pub fn write_sharing_network(
    path: &Path,
    tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
    metadata: &BTreeMap<String, String>,
    network: &str,
) -> Result<(), ModelFileError> {
    let mut meta = metadata.clone();
    meta.insert(NETWORK_KEY.into(), network.into());
    let tensors: Vec<_> = tensors
        .into_iter()
        .filter(|(name, _, _)| name != "encoder.weight" && name != "decoder.weight")
        .collect();
    write_safetensors(path, &tensors, &meta).map_err(|e| ModelFileError {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// A conditioned CRWN as stored: fixed encoder and decoder, and the
/// learned [`Conditioned`] part before and after training.
#[derive(Debug, Clone)]
pub struct ManifoldModel {
    /// The seed the encoder and decoder were drawn from.
    pub seed: u64,
    /// `W1`.
    pub encoder: Encoder,
    /// `W2`, `10 x H`.
    pub decoder: Vec<f32>,
    /// At initialisation.
    pub before: Conditioned,
    /// After training.
    pub after: Conditioned,
}

/// The tensors of a safetensors file by name, with their metadata.
pub(crate) struct TensorFile {
    path: String,
    /// Metadata strings.
    pub metadata: BTreeMap<String, String>,
    tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl TensorFile {
    /// Reads every F32 tensor of `path`.
    pub fn read(path: &Path) -> Result<TensorFile, ModelFileError> {
        let name = path.display().to_string();
        let fail = |message: String| ModelFileError {
            path: name.clone(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| fail(format!("not a safetensors file: {e}")))?;
        let metadata = header
            .metadata()
            .as_ref()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let file =
            safetensors::SafeTensors::deserialize(&bytes).map_err(|e| fail(format!("not a safetensors file: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (key, view) in file.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(fail(format!("tensor `{key}` is {:?}, expected F32", view.dtype())));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect();
            tensors.insert(key, (view.shape().to_vec(), values));
        }
        Ok(TensorFile {
            path: name,
            metadata,
            tensors,
        })
    }

    pub fn fail(&self, message: String) -> ModelFileError {
        ModelFileError {
            path: self.path.clone(),
            message,
        }
    }

    /// Tensor `name` with the shape `expected` (`None` in a dimension: any
    /// size), every value finite (the contract's tensors all are). `dims`
    /// name the dimensions (`["task", "unit"]`) for the error that names the
    /// first non-finite value.
    pub fn get(
        &self,
        name: &str,
        expected: &[Option<usize>],
        dims: &[&str],
    ) -> Result<(Vec<usize>, Vec<f32>), ModelFileError> {
        let (shape, values) = self.tensors.get(name).ok_or_else(|| {
            self.fail(format!(
                "tensor `{name}` is missing (ARCHITECTURE.md lists the tensors of each model file)"
            ))
        })?;
        let fits = shape.len() == expected.len() && shape.iter().zip(expected).all(|(&d, e)| e.is_none_or(|e| e == d));
        if !fits {
            return Err(self.fail(format!("tensor `{name}` has shape {shape:?}, expected {expected:?}")));
        }
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            return Err(self.fail(format!(
                "tensor `{name}` holds {} at {}: every value of a model file must be finite (a diverged or \
                 damaged trainer's output; retrain with `tgsh-train --force`)",
                values[at],
                index_of(at, shape, dims)
            )));
        }
        Ok((shape.clone(), values.clone()))
    }

    /// Metadata value `key`.
    pub fn meta(&self, key: &str) -> Result<&str, ModelFileError> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| self.fail(format!("metadata key `{key}` is missing")))
    }

    /// The encoder and decoder, checked against each other: the file's
    /// own, or, when its metadata names a network file (`network`, a file
    /// name in the same folder: the held-out pipelines store the fixed
    /// encoder and decoder once per seed), that file's.
    pub fn encoder_decoder(&self) -> Result<(Encoder, Vec<f32>), ModelFileError> {
        if let Some(name) = self.metadata.get(NETWORK_KEY) {
            let path = Path::new(&self.path).parent().unwrap_or(Path::new(".")).join(name);
            let network = TensorFile::read(&path)
                .map_err(|e| self.fail(format!("the network file it names (`{NETWORK_KEY}` = `{name}`): {e}")))?;
            if network.metadata.contains_key(NETWORK_KEY) {
                return Err(network.fail(format!(
                    "a network file must hold its own tensors, not name another (`{NETWORK_KEY}`)"
                )));
            }
            return network.encoder_decoder();
        }
        let (shape, enc) = self.get("encoder.weight", &[None, Some(PIXELS)], &["unit", "pixel"])?;
        let h = shape[0];
        if h == 0 {
            return Err(self.fail("tensor `encoder.weight` has no rows: a model needs at least one hidden unit".into()));
        }
        let (_, decoder) = self.get("decoder.weight", &[Some(CLASSES), Some(h)], &["class", "unit"])?;
        Ok((Encoder::from_dense_weight(enc, h), decoder))
    }
}

/// Flat index `at` of a tensor of `shape` in words: `task 3, unit 17`
/// (`dims` name the dimensions; unnamed ones are `index`).
fn index_of(at: usize, shape: &[usize], dims: &[&str]) -> String {
    let mut rest = at;
    let mut parts = Vec::with_capacity(shape.len());
    for (k, _) in shape.iter().enumerate().rev() {
        let size = shape[k].max(1);
        parts.push(format!("{} {}", dims.get(k).copied().unwrap_or("index"), rest % size));
        rest /= size;
    }
    parts.reverse();
    parts.join(", ")
}

impl ManifoldModel {
    /// Hidden units `H`.
    pub fn hidden(&self) -> usize {
        self.encoder.hidden()
    }

    /// The tensors of this model (names in the module docs).
    pub fn tensors(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let h = self.hidden();
        let k = self.after.basis.len();
        let mut out = vec![
            ("encoder.weight".into(), vec![h, PIXELS], self.encoder.dense_weight()),
            ("decoder.weight".into(), vec![CLASSES, h], self.decoder.clone()),
            ("manifold.before".into(), vec![k, h], self.before.coefficients.clone()),
            ("manifold.after".into(), vec![k, h], self.after.coefficients.clone()),
        ];
        let e = self.after.encoding.len();
        if e > 0 {
            out.push(("input.before".into(), vec![h, e], self.before.input.clone()));
            out.push(("input.after".into(), vec![h, e], self.after.input.clone()));
        }
        out
    }

    /// [`ManifoldModel::save`] without the encoder and decoder, which the
    /// network file `network` in the same folder holds ([`write_network`]).
    pub fn save_sharing_network(
        &self,
        path: &Path,
        metadata: &BTreeMap<String, String>,
        network: &str,
    ) -> Result<(), ModelFileError> {
        let meta = self.metadata(metadata);
        write_sharing_network(path, self.tensors(), &meta, network)
    }

    /// Writes the model with `metadata`, to which it adds `format`, `seed`,
    /// `basis`, `basis_points` (the one-hot basis' points or the piecewise-linear basis' knots), `topology`,
    /// `input_encoding`, `gram` and `parameters`.
    pub fn save(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<(), ModelFileError> {
        let meta = self.metadata(metadata);
        write_safetensors(path, &self.tensors(), &meta).map_err(|e| ModelFileError {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// `metadata` with the file's own keys added.
    fn metadata(&self, metadata: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut meta = metadata.clone();
        let basis = &self.after.basis;
        let points = basis.points().to_vec();
        let json = |v: &[f64]| serde_json::to_string(v).expect("numbers");
        meta.insert("format".into(), FORMAT.into());
        meta.insert("seed".into(), self.seed.to_string());
        meta.insert("basis".into(), basis.name());
        meta.insert("basis_points".into(), json(&points));
        meta.insert("topology".into(), basis.topology().into());
        meta.insert("input_encoding".into(), self.after.encoding.name().into());
        meta.insert("gram".into(), json(&basis.gram()));
        meta.insert("parameters".into(), self.after.parameter_count().to_string());
        meta
    }

    /// Reads a file written by [`ManifoldModel::save`], with its metadata.
    pub fn load(path: &Path) -> Result<(ManifoldModel, BTreeMap<String, String>), ModelFileError> {
        let file = TensorFile::read(path)?;
        let format = file.meta("format")?;
        if format != FORMAT {
            return Err(file.fail(format!("format is `{format}`, expected `{FORMAT}`")));
        }
        let points: Vec<f64> = serde_json::from_str(file.meta("basis_points")?)
            .map_err(|e| file.fail(format!("metadata `basis_points` is not a list of numbers: {e}")))?;
        let basis_name = file.meta("basis")?;
        let basis =
            Basis::from_name(basis_name, &points).ok_or_else(|| file.fail(format!("unknown basis `{basis_name}`")))?;
        let encoding_name = file.meta("input_encoding")?;
        let encoding = InputEncoding::from_name(encoding_name)
            .ok_or_else(|| file.fail(format!("unknown input_encoding `{encoding_name}`")))?;
        let seed = file
            .meta("seed")?
            .parse()
            .map_err(|_| file.fail("metadata `seed` is not an integer".into()))?;
        let (encoder, decoder) = file.encoder_decoder()?;
        let h = encoder.hidden();
        let state = |state: &str| -> Result<Conditioned, ModelFileError> {
            let (_, coefficients) = file.get(
                &format!("manifold.{state}"),
                &[Some(basis.len()), Some(h)],
                &["coefficient", "unit"],
            )?;
            let input = if encoding.is_empty() {
                Vec::new()
            } else {
                file.get(
                    &format!("input.{state}"),
                    &[Some(h), Some(encoding.len())],
                    &["unit", "encoding"],
                )?
                .1
            };
            Ok(Conditioned {
                basis: basis.clone(),
                coefficients,
                encoding,
                input,
            })
        };
        let model = ManifoldModel {
            seed,
            before: state("before")?,
            after: state("after")?,
            encoder,
            decoder,
        };
        Ok((model, file.metadata))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;
    use tgsh_common::config::TrainConfig;

    #[test]
    fn a_saved_manifold_loads_back_identically() {
        let config = TrainConfig {
            hidden: 32,
            ..TrainConfig::default()
        };
        let base = Model::new(&config, 3);
        let c0: Vec<f32> = (0..32).map(|h| h as f32 * 0.01 - 0.1).collect();
        let dir = std::env::temp_dir().join(format!("tgsh-manifold-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (basis, encoding) in [
            (Basis::Fourier { order: 1 }, InputEncoding::None),
            (Basis::Constant, InputEncoding::Circle),
            (Basis::OneHot { points: vec![0.0, 0.5] }, InputEncoding::None),
        ] {
            let before = Conditioned::constant(basis.clone(), &c0, encoding);
            let mut after = before.clone();
            after.coefficients.iter_mut().for_each(|p| *p += 0.5);
            after.input.iter_mut().for_each(|u| *u -= 0.25);
            let model = ManifoldModel {
                seed: 3,
                encoder: base.encoder.clone(),
                decoder: base.decoder.clone(),
                before,
                after,
            };
            let path = dir.join(format!("{}.safetensors", basis.name()));
            let meta = BTreeMap::from([("method".to_string(), "test".to_string())]);
            model.save(&path, &meta).unwrap();
            let (back, meta) = ManifoldModel::load(&path).unwrap();
            assert_eq!(back.before, model.before);
            assert_eq!(back.after, model.after);
            assert_eq!(back.decoder, model.decoder);
            assert_eq!(meta["method"], "test");
            assert_eq!(meta["topology"], basis.topology());
        }
        // A CRWN file is not a manifold file, and the error says so.
        let crwn = dir.join("crwn.safetensors");
        base.save(
            &crwn,
            &BTreeMap::from([("format".to_string(), "tgsh-crwn/1".to_string())]),
        )
        .unwrap();
        let err = ManifoldModel::load(&crwn).unwrap_err().to_string();
        assert!(
            err.contains("crwn.safetensors") && err.contains("tgsh-manifold/1"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_non_finite_coefficient_is_refused_naming_tensor_and_index() {
        let config = TrainConfig {
            hidden: 16,
            ..TrainConfig::default()
        };
        let base = Model::new(&config, 3);
        let before = Conditioned::constant(Basis::Fourier { order: 1 }, &[0.1; 16], InputEncoding::None);
        let mut after = before.clone();
        after.coefficients[2 * 16 + 5] = f32::INFINITY;
        let model = ManifoldModel {
            seed: 3,
            encoder: base.encoder.clone(),
            decoder: base.decoder.clone(),
            before,
            after,
        };
        let dir = std::env::temp_dir().join(format!("tgsh-manifold-inf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("circle.safetensors");
        model.save(&path, &BTreeMap::new()).unwrap();
        let err = ManifoldModel::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("circle.safetensors") && err.contains("`manifold.after` holds inf at coefficient 2, unit 5"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
