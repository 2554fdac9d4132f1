//! Stage 3, `analyze`: what the trained context vectors say.
//!
//! For now: the cosine similarity between every pair of context vectors
//! `c_i, c_j`, before and after training, for every seed (the paper's
//! Figs. 1b, 4b, 5b). Inputs are the train stage's safetensors files, read by
//! tensor name ([`read_contexts`]), so a model written by any trainer that
//! follows ARCHITECTURE.md works here.
#![deny(missing_docs)]

use arrow::array::{ArrayRef, Float64Array, StringArray, UInt16Array, UInt64Array};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tgsh_common::schema;
use tgsh_common::{Artifacts, Pipeline, Stage, StageRun};

/// Errors of the analyze stage.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// Reading inputs or writing artifacts failed.
    #[error(transparent)]
    Common(#[from] tgsh_common::Error),
    /// A model file is unreadable or lacks a tensor.
    #[error("{path}: {message}")]
    Model {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// `cos(a, b) = a·b / (|a| |b|)`, accumulated in f64; NaN when either is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x as f64, y as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    let d = (aa * bb).sqrt();
    if d == 0.0 {
        f64::NAN
    } else {
        (ab / d).clamp(-1.0, 1.0)
    }
}

/// The `n x n` cosine-similarity matrix (row-major) of `n` vectors of length `h`.
pub fn similarity_matrix(vectors: &[f32], h: usize) -> Vec<f64> {
    let rows: Vec<&[f32]> = vectors.chunks_exact(h).collect();
    let n = rows.len();
    let mut out = vec![0f64; n * n];
    for i in 0..n {
        for j in i..n {
            let c = cosine(rows[i], rows[j]);
            out[i * n + j] = c;
            out[j * n + i] = c;
        }
    }
    out
}

/// A `[T, H]` f32 tensor from a model file.
pub struct Matrix {
    /// Row-major values.
    pub values: Vec<f32>,
    /// Rows (tasks).
    pub rows: usize,
    /// Columns (hidden units).
    pub cols: usize,
}

/// Reads `context.before` and `context.after` from a model file.
pub fn read_contexts(path: &Path) -> Result<(Matrix, Matrix), AnalyzeError> {
    let fail = |message: String| AnalyzeError::Model {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let tensors =
        safetensors::SafeTensors::deserialize(&bytes).map_err(|e| fail(format!("not a safetensors file: {e}")))?;
    let get = |name: &str| -> Result<Matrix, AnalyzeError> {
        let view = tensors.tensor(name).map_err(|_| {
            fail(format!(
                "tensor `{name}` is missing (ARCHITECTURE.md lists the tensors a model must have)"
            ))
        })?;
        if view.dtype() != safetensors::Dtype::F32 || view.shape().len() != 2 {
            return Err(fail(format!(
                "tensor `{name}` is {:?} {:?}, expected F32 [tasks, hidden]",
                view.dtype(),
                view.shape()
            )));
        }
        let values = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        Ok(Matrix {
            values,
            rows: view.shape()[0],
            cols: view.shape()[1],
        })
    };
    Ok((get("context.before")?, get("context.after")?))
}

/// Runs the analyze stage.
pub fn run(pipeline: &Pipeline, artifacts: &Artifacts, force: bool) -> Result<(), AnalyzeError> {
    let seeds = &pipeline.train.seeds;
    let inputs = seeds.iter().map(|&s| artifacts.model(s)).collect();
    let stage = StageRun::new(Stage::Analyze, artifacts, &(&pipeline.analyze, seeds), inputs)?;
    if !stage.should_run(force)? {
        return Ok(());
    }
    let dir = stage.begin()?;
    let (mut seed_col, mut state_col, mut i_col, mut j_col, mut cos_col) = (vec![], vec![], vec![], vec![], vec![]);
    for &seed in seeds {
        let (before, after) = read_contexts(&artifacts.model(seed))?;
        for (state, m) in [("before", &before), ("after", &after)] {
            let sim = similarity_matrix(&m.values, m.cols);
            for i in 0..m.rows {
                for j in 0..m.rows {
                    seed_col.push(seed);
                    state_col.push(state);
                    i_col.push(i as u16);
                    j_col.push(j as u16);
                    cos_col.push(sim[i * m.rows + j]);
                }
            }
        }
    }
    let path = dir.join("similarity.parquet");
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(seed_col)),
        Arc::new(StringArray::from(state_col)),
        Arc::new(UInt16Array::from(i_col)),
        Arc::new(UInt16Array::from(j_col)),
        Arc::new(Float64Array::from(cos_col)),
    ];
    let batch = schema::batch(&path, schema::similarity_schema(), columns)?;
    let meta = BTreeMap::from([("tgsh_version".to_string(), tgsh_common::VERSION.to_string())]);
    schema::write_parquet(&path, &batch, &meta)?;
    stage.commit()?;
    eprintln!("analyze: wrote {}", artifacts.similarity().display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_cosines() {
        assert!((cosine(&[1.0, 0.0], &[0.0, 1.0])).abs() < 1e-12);
        assert!((cosine(&[1.0, 1.0], &[1.0, 0.0]) - 0.5f64.sqrt()).abs() < 1e-12);
        assert!((cosine(&[1.0, 2.0], &[-2.0, -4.0]) + 1.0).abs() < 1e-12);
        assert!(cosine(&[0.0, 0.0], &[1.0, 0.0]).is_nan());
    }

    #[test]
    fn matrix_is_symmetric_with_unit_diagonal() {
        let v = [1.0, 0.0, 1.0, 1.0, 0.0, 2.0];
        let m = similarity_matrix(&v, 2);
        assert_eq!(m.len(), 9);
        for i in 0..3 {
            assert!((m[i * 3 + i] - 1.0).abs() < 1e-12);
        }
        assert!((m[1] - m[3]).abs() < 1e-15);
        assert!((m[2]).abs() < 1e-12); // (1,0) vs (0,2)
    }

    proptest! {
        #[test]
        fn cosine_is_bounded_symmetric_and_scale_invariant(
            a in proptest::collection::vec(-100f32..100.0, 8),
            b in proptest::collection::vec(-100f32..100.0, 8),
            scale in 0.01f32..100.0,
        ) {
            let c = cosine(&a, &b);
            prop_assume!(!c.is_nan());
            prop_assert!((-1.0..=1.0).contains(&c));
            prop_assert!((c - cosine(&b, &a)).abs() < 1e-12);
            let scaled: Vec<f32> = a.iter().map(|x| x * scale).collect();
            prop_assert!((c - cosine(&scaled, &b)).abs() < 1e-5);
        }
    }
}
