//! A CRWN: the fixed encoder and decoder drawn from a seed, each task's
//! learned parameters, and the model file (`model.safetensors`) that carries
//! them between stages.
//!
//! Randomness is a pure function of the seed ([`seeded`]): stream 0 draws
//! the encoder, stream 1 the decoder, task `t` its initial values from
//! stream `2 + 2t` and its shuffles from `3 + 2t`. Models trained on many
//! tasks at once (context manifolds and their baselines) draw from
//! [`MANIFOLD_STREAMS`] and above; analyses from [`ANALYSIS_STREAMS`] and
//! above, so they never reuse a training stream.

use crate::encoder::Encoder;
use crate::manifold_file::TensorFile;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal, Uniform};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use tgsh_common::config::{EncoderKind, TrainConfig};
use tgsh_common::{CLASSES, PIXELS};

/// First stream of the analyses (far above any task's training streams).
pub const ANALYSIS_STREAMS: u64 = 1 << 40;

/// First stream of jointly trained models: their shared initial context,
/// then task `t`'s shuffles at `MANIFOLD_STREAMS + 1 + t`.
pub const MANIFOLD_STREAMS: u64 = 1 << 39;

/// The generator of `stream` for `seed`.
pub fn seeded(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A task's learned parameters: local modulation `m` and global strength `s`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskParams {
    /// `m_t`, length `H`.
    pub modulation: Vec<f32>,
    /// `s_t`.
    pub strength: f32,
}

impl TaskParams {
    /// The context vector `c_t = s_t m_t`.
    pub fn context(&self) -> Vec<f32> {
        self.modulation.iter().map(|&m| m * self.strength).collect()
    }
}

/// How far a model file's `context.*` may be from `strength × modulation`:
/// `|c - s m| <= CONTEXT_TOLERANCE * max |s m|` over the task's units, a
/// hundred times the rounding of one f32 product, so a trainer that
/// multiplies on another device or in another precision passes and one whose
/// contexts disagree with its factors does not.
pub const CONTEXT_TOLERANCE: f32 = 1e-5;

/// A CRWN: fixed encoder and decoder, and each task's parameters.
#[derive(Debug, Clone)]
pub struct Model {
    /// The seed everything was drawn from.
    pub seed: u64,
    /// `W1`.
    pub encoder: Encoder,
    /// `W2`, `10 x H`, row-major.
    pub decoder: Vec<f32>,
    /// Each task's parameters at initialisation.
    pub before: Vec<TaskParams>,
    /// Each task's parameters after training (filled as tasks finish).
    pub after: Vec<TaskParams>,
    /// The contexts `[before, after]` as a model file stores them
    /// (`context.before`, `context.after`), the source of truth of a loaded
    /// model; `None` for a model drawn here, whose contexts are `s m`.
    file_contexts: Option<[Vec<Vec<f32>>; 2]>,
}

/// A model file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ModelFileError {
    /// The file.
    pub path: String,
    /// What is wrong, and what a model file must hold.
    pub message: String,
}

impl Model {
    /// Draws encoder and decoder for `seed`.
    pub fn new(config: &TrainConfig, seed: u64) -> Model {
        let h = config.hidden;
        let mut rng = seeded(seed, 0);
        let encoder = match config.encoder {
            EncoderKind::Flyhash => Encoder::flyhash(h, config.inputs_per_unit, &mut rng),
            EncoderKind::Dense => Encoder::dense(h, config.inputs_per_unit, &mut rng),
        };
        // PyTorch's default init of a 1x1 convolution without bias: U(-1/sqrt(H), 1/sqrt(H)).
        let bound = 1.0 / (h as f32).sqrt();
        let uniform = Uniform::new(-bound, bound).expect("valid bounds");
        let mut rng = seeded(seed, 1);
        let decoder = (0..CLASSES * h).map(|_| uniform.sample(&mut rng)).collect();
        Model {
            seed,
            encoder,
            decoder,
            before: Vec::new(),
            after: Vec::new(),
            file_contexts: None,
        }
    }

    /// Hidden units `H`.
    pub fn hidden(&self) -> usize {
        self.encoder.hidden()
    }

    /// Task `t`'s initial parameters: `m ~ N(0, 2/(H+1))`, `s ~ N(0, 1)`.
    pub fn init_task(&self, task: usize) -> TaskParams {
        let h = self.encoder.hidden();
        let mut rng = seeded(self.seed, 2 + 2 * task as u64);
        let normal = Normal::new(0.0f32, (2.0 / (h as f32 + 1.0)).sqrt()).expect("valid std");
        let modulation = (0..h).map(|_| normal.sample(&mut rng)).collect();
        let strength = Normal::new(0.0f32, 1.0).expect("valid std").sample(&mut rng);
        TaskParams { modulation, strength }
    }

    /// The generator task `t` shuffles with.
    pub fn shuffle_rng(&self, task: usize) -> ChaCha8Rng {
        seeded(self.seed, 3 + 2 * task as u64)
    }

    /// The context every jointly trained model of this seed starts from,
    /// drawn as a CRWN task's (`c = s m`, `m ~ N(0, 2/(H+1))`, `s ~ N(0,
    /// 1)`) from its own stream, so every method starts at the same point.
    pub fn init_shared_context(&self) -> Vec<f32> {
        let h = self.encoder.hidden();
        let mut rng = seeded(self.seed, MANIFOLD_STREAMS);
        let normal = Normal::new(0.0f32, (2.0 / (h as f32 + 1.0)).sqrt()).expect("valid std");
        let modulation: Vec<f32> = (0..h).map(|_| normal.sample(&mut rng)).collect();
        let strength = Normal::new(0.0f32, 1.0).expect("valid std").sample(&mut rng);
        TaskParams { modulation, strength }.context()
    }

    /// The generator task `t` shuffles with in joint training (the same
    /// for every jointly trained method, so they see the same minibatches).
    pub fn joint_shuffle_rng(&self, task: usize) -> ChaCha8Rng {
        seeded(self.seed, MANIFOLD_STREAMS + 1 + task as u64)
    }

    /// Task `t`'s trained context vector `c_t`.
    pub fn context_after(&self, task: usize) -> Vec<f32> {
        match &self.file_contexts {
            Some([_, after]) => after[task].clone(),
            None => self.after[task].context(),
        }
    }

    /// Every task's context vector before training: for a loaded model the
    /// file's `context.before`, otherwise `s m`.
    pub fn contexts_before(&self) -> Vec<Vec<f32>> {
        match &self.file_contexts {
            Some([before, _]) => before.clone(),
            None => self.before.iter().map(TaskParams::context).collect(),
        }
    }

    /// Every task's trained context vector: for a loaded model the file's
    /// `context.after` (what a replacement trainer wrote is what gets
    /// analysed), otherwise `s m`.
    pub fn contexts_after(&self) -> Vec<Vec<f32>> {
        match &self.file_contexts {
            Some([_, after]) => after.clone(),
            None => self.after.iter().map(TaskParams::context).collect(),
        }
    }

    /// The safetensors tensors of this model (names in ARCHITECTURE.md).
    pub fn tensors(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let h = self.encoder.hidden();
        let t = self.after.len();
        let stack = |params: &[TaskParams], f: &dyn Fn(&TaskParams) -> Vec<f32>| -> Vec<f32> {
            params.iter().flat_map(f).collect()
        };
        let strengths = |params: &[TaskParams]| params.iter().map(|p| p.strength).collect();
        vec![
            ("encoder.weight".into(), vec![h, PIXELS], self.encoder.dense_weight()),
            ("decoder.weight".into(), vec![CLASSES, h], self.decoder.clone()),
            (
                "modulation.before".into(),
                vec![t, h],
                stack(&self.before, &|p| p.modulation.clone()),
            ),
            (
                "modulation.after".into(),
                vec![t, h],
                stack(&self.after, &|p| p.modulation.clone()),
            ),
            ("strength.before".into(), vec![t], strengths(&self.before)),
            ("strength.after".into(), vec![t], strengths(&self.after)),
            ("context.before".into(), vec![t, h], self.contexts_before().concat()),
            ("context.after".into(), vec![t, h], self.contexts_after().concat()),
        ]
    }

    /// Writes the model as safetensors with `metadata`.
    pub fn save(&self, path: &Path, metadata: &BTreeMap<String, String>) -> Result<(), ModelFileError> {
        write_safetensors(path, &self.tensors(), metadata).map_err(|e| ModelFileError {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// [`Model::save`] without the encoder and decoder, which the network
    /// file `network` in the same folder holds
    /// ([`crate::manifold_file::write_network`]); [`Model::load`] reads
    /// them from there.
    pub fn save_sharing_network(
        &self,
        path: &Path,
        metadata: &BTreeMap<String, String>,
        network: &str,
    ) -> Result<(), ModelFileError> {
        crate::manifold_file::write_sharing_network(path, self.tensors(), metadata, network)
    }

    /// Reads a model file written by [`Model::save`] (or by any trainer that
    /// follows ARCHITECTURE.md), with its metadata. Every tensor must be
    /// finite, and `context.*` within [`CONTEXT_TOLERANCE`] of `strength ×
    /// modulation`; the file's contexts are then what the model is
    /// evaluated with. A 0/1 encoder with the same number of ones in every
    /// row is read back as a fly hash, so it is evaluated by the same exact
    /// integer sums as in training.
    pub fn load(path: &Path) -> Result<(Model, BTreeMap<String, String>), ModelFileError> {
        let file = TensorFile::read(path)?;
        let (encoder, decoder) = file.encoder_decoder()?;
        let h = encoder.hidden();
        let state = |state: &str| -> Result<(Vec<TaskParams>, Vec<Vec<f32>>), ModelFileError> {
            let (m_shape, m) = file.get(&format!("modulation.{state}"), &[None, Some(h)], &["task", "unit"])?;
            let t = m_shape[0];
            let (_, s) = file.get(&format!("strength.{state}"), &[Some(t)], &["task"])?;
            let (_, c) = file.get(&format!("context.{state}"), &[Some(t), Some(h)], &["task", "unit"])?;
            let params: Vec<TaskParams> = m
                .chunks_exact(h)
                .zip(s)
                .map(|(m, s)| TaskParams {
                    modulation: m.to_vec(),
                    strength: s,
                })
                .collect();
            let contexts: Vec<Vec<f32>> = c.chunks_exact(h).map(<[f32]>::to_vec).collect();
            for (task, (p, c)) in params.iter().zip(&contexts).enumerate() {
                let product = p.context();
                let scale = product.iter().fold(0.0f32, |a, v| a.max(v.abs()));
                let worst = product
                    .iter()
                    .zip(c)
                    .enumerate()
                    .map(|(unit, (sm, c))| (unit, (sm - c).abs()))
                    .fold((0, 0.0f32), |a, b| if b.1 > a.1 { b } else { a });
                if worst.1 > CONTEXT_TOLERANCE * scale {
                    let unit = worst.0;
                    return Err(file.fail(format!(
                        "tensor `context.{state}` disagrees with `strength.{state}` × `modulation.{state}` at task \
                         {task}, unit {unit}: {} vs {} × {} = {} (allowed: {CONTEXT_TOLERANCE} × {scale}, the \
                         largest |s m| of the task); a model file's contexts must be its strength times its \
                         modulation (ARCHITECTURE.md)",
                        c[unit], p.strength, p.modulation[unit], product[unit]
                    )));
                }
            }
            Ok((params, contexts))
        };
        let (before, contexts_before) = state("before")?;
        let (after, contexts_after) = state("after")?;
        if before.len() != after.len() {
            return Err(file.fail(format!(
                "`modulation.before` has {} tasks and `modulation.after` {}: expected the same",
                before.len(),
                after.len()
            )));
        }
        let seed = file
            .metadata
            .get("seed")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| file.fail("metadata key `seed` is missing or not an integer".into()))?;
        Ok((
            Model {
                seed,
                encoder,
                decoder,
                before,
                after,
                file_contexts: Some([contexts_before, contexts_after]),
            },
            file.metadata,
        ))
    }
}

/// Writes F32 tensors in the safetensors format: an 8-byte little-endian
/// header length, a JSON header (keys sorted, `__metadata__` included, padded
/// with spaces to 8 bytes) and the raw data in the given order. Written by
/// hand because the `safetensors` crate serialises metadata from a `HashMap`,
/// whose order changes run to run; this way equal models are equal bytes.
pub fn write_safetensors(
    path: &Path,
    tensors: &[(String, Vec<usize>, Vec<f32>)],
    metadata: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::to_value(metadata).expect("strings"));
    let mut offset = 0usize;
    for (name, shape, values) in tensors {
        assert_eq!(
            shape.iter().product::<usize>(),
            values.len(),
            "{name}: shape and data disagree"
        );
        let end = offset + 4 * values.len();
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, end]}),
        );
        offset = end;
    }
    let mut json = serde_json::to_string(&header).expect("serialisable");
    while !json.len().is_multiple_of(8) {
        json.push(' ');
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(&(json.len() as u64).to_le_bytes())?;
    out.write_all(json.as_bytes())?;
    for (_, _, values) in tensors {
        for v in values {
            out.write_all(&v.to_le_bytes())?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_model_loads_back_identically_and_encodes_the_same() {
        let config = TrainConfig {
            hidden: 64,
            ..TrainConfig::default()
        };
        let mut model = Model::new(&config, 5);
        for t in 0..3 {
            model.before.push(model.init_task(t));
            let mut after = model.init_task(t);
            after.strength *= 2.0;
            model.after.push(after);
        }
        let dir = std::env::temp_dir().join(format!("tgsh-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("model.safetensors");
        let meta = BTreeMap::from([("seed".to_string(), "5".to_string())]);
        model.save(&path, &meta).unwrap();
        let (back, meta_back) = Model::load(&path).unwrap();
        assert_eq!(meta_back, meta);
        assert_eq!(back.seed, 5);
        assert_eq!(back.decoder, model.decoder);
        assert_eq!(back.before, model.before);
        assert_eq!(back.after, model.after);
        assert!(matches!(back.encoder, Encoder::FlyHash { k: 7, .. }));
        let images: Vec<u8> = (0..2 * PIXELS).map(|i| (i * 13 % 256) as u8).collect();
        assert_eq!(back.encoder.encode(&images), model.encoder.encode(&images));
        // The same bytes again: saving is deterministic.
        let again = dir.join("again.safetensors");
        back.save(&again, &meta).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&again).unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }

    type Tensors = Vec<(String, Vec<usize>, Vec<f32>)>;

    /// A 3-task model's tensors, and a folder to write them in.
    fn tensors_of_a_model(name: &str) -> (Tensors, std::path::PathBuf) {
        let config = TrainConfig {
            hidden: 16,
            ..TrainConfig::default()
        };
        let mut model = Model::new(&config, 2);
        for t in 0..3 {
            model.before.push(model.init_task(t));
            model.after.push(model.init_task(t));
        }
        let dir = std::env::temp_dir().join(format!("tgsh-model-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        (model.tensors(), dir)
    }

    fn write_with(
        dir: &Path,
        tensors: &[(String, Vec<usize>, Vec<f32>)],
        change: impl Fn(&str, &mut Vec<f32>),
    ) -> std::path::PathBuf {
        let mut tensors = tensors.to_vec();
        for (name, _, values) in &mut tensors {
            change(name, values);
        }
        let path = dir.join("model.safetensors");
        let meta = BTreeMap::from([("seed".to_string(), "2".to_string())]);
        write_safetensors(&path, &tensors, &meta).unwrap();
        path
    }

    #[test]
    fn a_non_finite_value_is_refused_naming_file_tensor_task_and_unit() {
        let (tensors, dir) = tensors_of_a_model("nan");
        for (tensor, at, words) in [
            ("modulation.after", 16 + 7, "task 1, unit 7"),
            ("strength.before", 2, "task 2"),
            ("context.after", 2 * 16, "task 2, unit 0"),
            ("decoder.weight", 3 * 16 + 1, "class 3, unit 1"),
            ("encoder.weight", 784 + 5, "unit 1, pixel 5"),
        ] {
            let path = write_with(&dir, &tensors, |name, values| {
                if name == tensor {
                    values[at] = f32::NAN;
                }
            });
            let err = Model::load(&path).unwrap_err().to_string();
            assert!(
                err.contains("model.safetensors") && err.contains(&format!("`{tensor}` holds NaN at {words}")),
                "{err}"
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn contexts_are_read_from_the_file_and_must_equal_strength_times_modulation() {
        let (tensors, dir) = tensors_of_a_model("contexts");
        // Within the tolerance: the file's contexts are what the model holds.
        let path = write_with(&dir, &tensors, |name, values| {
            if name == "context.after" {
                values[5] = f32::from_bits(values[5].to_bits() + 1); // one ulp away
            }
        });
        let (model, _) = Model::load(&path).unwrap();
        let stored = &tensors.iter().find(|t| t.0 == "context.after").unwrap().2;
        assert_eq!(model.contexts_after()[0][5], f32::from_bits(stored[5].to_bits() + 1));
        assert_ne!(model.contexts_after()[0][5], model.after[0].context()[5]);
        assert_eq!(model.context_after(0), model.contexts_after()[0]);
        // A trainer whose contexts disagree with its factors is refused.
        let path = write_with(&dir, &tensors, |name, values| {
            if name == "context.after" {
                values[16 + 3] += 1.0;
            }
        });
        let err = Model::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("model.safetensors")
                && err.contains("`context.after` disagrees")
                && err.contains("task 1, unit 3"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_model_file_without_a_tensor_names_it() {
        let dir = std::env::temp_dir().join(format!("tgsh-model-missing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("partial.safetensors");
        let tensors = vec![("encoder.weight".to_string(), vec![2, PIXELS], vec![0.0; 2 * PIXELS])];
        write_safetensors(&path, &tensors, &BTreeMap::new()).unwrap();
        let err = Model::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("partial.safetensors") && err.contains("decoder.weight"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
