//! The same training step written with candle tensors and candle's autograd,
//! one task at a time.
//!
//! It serves two purposes: the benchmark's baseline (`Input::Images`: the
//! dense `7840 x 784` encoder recomputed for every minibatch, which is what a
//! naive PyTorch implementation runs), and an independent check of the CPU
//! kernels' hand-derived gradients (a test trains both and compares). It
//! reads the loss back after every step, so it is not how the GPU trains:
//! `--device cuda` runs [`crate::batched`], every (seed, task) pair at once.

use crate::kernels::{EpochStats, Hyper, TaskParams};
use candle_core::{DType, Device, Tensor, Var, D};
use rand::seq::SliceRandom;
use rand::Rng;

/// What the network reads for each minibatch.
pub enum Input {
    /// Pre-encoded rows `r(x)`, `n x H` (the fast path).
    Encoded(Tensor),
    /// Normalised images `n x 784` and the dense encoder `H x 784`, applied
    /// anew for every minibatch (the PyTorch formulation).
    Images {
        /// Normalised pixels.
        pixels: Tensor,
        /// `W1`.
        encoder: Tensor,
    },
}

impl Input {
    fn rows(&self, index: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Input::Encoded(rows) => rows.index_select(index, 0),
            Input::Images { pixels, encoder } => {
                let m = pixels.index_select(index, 0)?.matmul(&encoder.t()?)?;
                m.broadcast_sub(&m.mean_keepdim(1)?)?.relu()
            }
        }
    }

    fn len(&self) -> candle_core::Result<usize> {
        match self {
            Input::Encoded(rows) => rows.dim(0),
            Input::Images { pixels, .. } => pixels.dim(0),
        }
    }
}

/// Mean cross-entropy and correct count of `logits` against `labels` (u32).
fn cross_entropy(logits: &Tensor, labels: &Tensor) -> candle_core::Result<(Tensor, usize)> {
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let shifted = logits.broadcast_sub(&max)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    let log_p = shifted.broadcast_sub(&lse)?;
    let loss = log_p.gather(&labels.unsqueeze(1)?, 1)?.neg()?.mean_all()?;
    let correct = logits
        .argmax(D::Minus1)?
        .eq(labels)?
        .to_dtype(DType::U32)?
        .sum_all()?
        .to_scalar::<u32>()? as usize;
    Ok((loss, correct))
}

fn rmsprop(var: &Var, grad: &Tensor, square_avg: &mut Tensor, hyper: &Hyper) -> candle_core::Result<()> {
    *square_avg = ((&*square_avg * hyper.alpha as f64)? + (grad.sqr()? * (1.0 - hyper.alpha as f64))?)?;
    let step = (grad / (square_avg.sqrt()? + hyper.eps as f64)?)?;
    var.set(&(var.as_tensor() - (step * hyper.lr as f64)?)?)
}

/// Trains one task on `device` with candle autograd. Same protocol as
/// `kernels::train_task`; the shuffle draws from `rng` identically.
#[allow(clippy::too_many_arguments)]
pub fn train_task(
    device: &Device,
    train: &Input,
    train_labels: &[u8],
    test: &Input,
    test_labels: &[u8],
    decoder: &[f32],
    params: &mut TaskParams,
    hyper: &Hyper,
    rng: &mut impl Rng,
    mut on_epoch: impl FnMut(usize, EpochStats),
) -> candle_core::Result<()> {
    let h = params.modulation.len();
    let decoder_t = Tensor::from_slice(decoder, (tgsh_common::CLASSES, h), device)?.t()?;
    let modulation = Var::from_slice(&params.modulation, h, device)?;
    let strength = Var::from_slice(&[params.strength], 1, device)?;
    let mut v_m = Tensor::zeros(h, DType::F32, device)?;
    let mut v_s = Tensor::zeros(1, DType::F32, device)?;
    let labels: Vec<u32> = train_labels.iter().map(|&l| l as u32).collect();
    let n = train.len()?;
    let mut order: Vec<u32> = (0..n as u32).collect();
    for epoch in 1..=hyper.epochs {
        order.shuffle(rng);
        let (mut loss_sum, mut correct, mut steps) = (0.0f64, 0usize, 0usize);
        for (step, batch) in order.chunks(hyper.batch_size).enumerate() {
            let index = Tensor::from_slice(batch, batch.len(), device)?;
            let batch_labels: Vec<u32> = batch.iter().map(|&i| labels[i as usize]).collect();
            let batch_labels = Tensor::from_vec(batch_labels, batch.len(), device)?;
            let context = modulation.as_tensor().broadcast_mul(strength.as_tensor())?;
            let logits = train.rows(&index)?.broadcast_mul(&context)?.matmul(&decoder_t)?;
            let (loss, right) = cross_entropy(&logits, &batch_labels)?;
            let value = loss.to_scalar::<f32>()?;
            if !value.is_finite() {
                return Err(candle_core::Error::Msg(format!(
                    "loss became {value} at epoch {epoch}, step {step}: training diverged (lower train.learning_rate)"
                )));
            }
            let grads = loss.backward()?;
            let grad_m = grads.get(modulation.as_tensor()).expect("m is in the graph").clone();
            let grad_s = grads.get(strength.as_tensor()).expect("s is in the graph").clone();
            rmsprop(&modulation, &grad_m, &mut v_m, hyper)?;
            rmsprop(&strength, &grad_s, &mut v_s, hyper)?;
            loss_sum += value as f64;
            correct += right;
            steps += 1;
        }
        let context = modulation.as_tensor().broadcast_mul(strength.as_tensor())?;
        let stats = EpochStats {
            loss: loss_sum / steps.max(1) as f64,
            train_accuracy: correct as f64 / n.max(1) as f64,
            test_accuracy: accuracy(test, test_labels, &context, &decoder_t)?,
        };
        on_epoch(epoch, stats);
    }
    params.modulation = modulation.as_tensor().to_vec1()?;
    params.strength = strength.as_tensor().to_vec1::<f32>()?[0];
    Ok(())
}

fn accuracy(test: &Input, labels: &[u8], context: &Tensor, decoder_t: &Tensor) -> candle_core::Result<f64> {
    let device = context.device();
    let n = test.len()?;
    let mut correct = 0usize;
    for start in (0..n).step_by(1024) {
        let end = (start + 1024).min(n);
        let index = Tensor::arange(start as u32, end as u32, device)?;
        let y: Vec<u32> = labels[start..end].iter().map(|&l| l as u32).collect();
        let y = Tensor::from_vec(y, end - start, device)?;
        let logits = test.rows(&index)?.broadcast_mul(context)?.matmul(decoder_t)?;
        correct += cross_entropy(&logits, &y)?.1;
    }
    Ok(correct as f64 / n.max(1) as f64)
}

/// Opens CUDA device 0, failing clearly when the binary lacks the `cuda`
/// feature or no GPU answers. (candle's `cuda_is_available` only says how
/// the binary was built, so opening the device is the real test.)
pub fn cuda_device() -> candle_core::Result<Device> {
    if !candle_core::utils::cuda_is_available() {
        return Err(candle_core::Error::Msg(
            "this binary was built without CUDA: rebuild with `cargo build --release -p tgsh-train --features cuda` (needs a CUDA toolkit, see docs/CUDA.md), or use --device cpu".into(),
        ));
    }
    Device::new_cuda(0).map_err(|e| {
        candle_core::Error::Msg(format!(
            "no CUDA GPU could be opened ({e}); check that `nvidia-smi` sees a GPU and that the driver's libcuda.so.1 is on the library path, or use --device cpu"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{self, Encoded};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn candle_autograd_and_the_hand_derived_cpu_step_agree() {
        let (n, h) = (96, 48);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let rows: Vec<f32> = (0..n * h).map(|_| (rng.random::<f32>() - 0.4).max(0.0)).collect();
        let labels: Vec<u8> = (0..n).map(|_| rng.random_range(0..10)).collect();
        let decoder: Vec<f32> = (0..10 * h).map(|_| rng.random::<f32>() - 0.5).collect();
        let init = TaskParams {
            modulation: (0..h).map(|_| rng.random::<f32>() - 0.5).collect(),
            strength: 0.8,
        };
        let hyper = Hyper {
            epochs: 2,
            batch_size: 32,
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
        };
        let data = Encoded {
            rows: tgsh_model::Rows::Values {
                values: &rows,
                hidden: h,
            },
            labels: &labels,
        };
        let mut cpu = init.clone();
        let mut cpu_stats = Vec::new();
        kernels::train_task(
            data,
            data,
            &tgsh_model::Decoder::new(&decoder),
            &mut cpu,
            &hyper,
            &mut ChaCha8Rng::seed_from_u64(5),
            |_, s| cpu_stats.push(s),
        )
        .unwrap();

        let device = Device::Cpu;
        let input = Input::Encoded(Tensor::from_slice(&rows, (n, h), &device).unwrap());
        let mut gpu_like = init.clone();
        let mut candle_stats = Vec::new();
        train_task(
            &device,
            &input,
            &labels,
            &input,
            &labels,
            &decoder,
            &mut gpu_like,
            &hyper,
            &mut ChaCha8Rng::seed_from_u64(5),
            |_, s| candle_stats.push(s),
        )
        .unwrap();
        for (a, b) in cpu.modulation.iter().zip(&gpu_like.modulation) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        assert!((cpu.strength - gpu_like.strength).abs() < 1e-4);
        for (a, b) in cpu_stats.iter().zip(&candle_stats) {
            assert!((a.loss - b.loss).abs() < 1e-4, "{a:?} vs {b:?}");
            assert_eq!(a.test_accuracy, b.test_accuracy);
        }
    }
}
