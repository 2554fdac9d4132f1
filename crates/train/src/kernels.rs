//! The CPU trainer: one task's context vector, with hand-derived gradients.
//!
//! For a minibatch of encoded rows `r_b` and the task's context
//! `c = s * m`, the network is `logits_b = W2 (c ⊙ r_b)`. With
//! `g_b = (softmax(logits_b) - onehot(y_b)) / B` (the gradient of the mean
//! cross-entropy), the gradients are
//!
//! ```text
//! dL/dc_h = Σ_b r_bh · (W2ᵀ g_b)_h        dL/dm = s · dL/dc       dL/ds = m · dL/dc
//! ```
//!
//! so a step is two thin products with the `10 x H` decoder per sample and
//! no autograd. A bias `b` added to the hidden pre-activation before the
//! ReLU (input conditioning, `r = relu(u + b)`) has
//! `dL/db_h = c_h Σ_b 1[r_bh > 0] (W2ᵀ g_b)_h`: the same product with the
//! ReLU's gate in place of `r` ([`context_gradient`] computes both). The batch is cut into fixed chunks of [`CHUNK`] samples whose
//! partial gradients are summed in a fixed order: results are bit-identical
//! whatever the number of threads. `candle_trainer` computes the same step
//! with candle's autograd; a test checks the two agree.

use rand::seq::SliceRandom;
use rand::Rng;
use rayon::prelude::*;
use tgsh_common::CLASSES;
pub use tgsh_model::forward::{accuracy, dot, Encoded};
use tgsh_model::forward::{logits_pair, logits_row, modulated_decoder, modulated_decoder_into, softmax_ce, LANES};
pub use tgsh_model::TaskParams;

/// Samples per chunk of a minibatch (the unit of parallel work).
pub const CHUNK: usize = 16;

/// Optimiser and loop settings.
#[derive(Debug, Clone, Copy)]
pub struct Hyper {
    /// Epochs.
    pub epochs: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// RMSprop learning rate.
    pub lr: f32,
    /// RMSprop smoothing constant.
    pub alpha: f32,
    /// RMSprop epsilon.
    pub eps: f32,
}

/// One epoch's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// Mean training loss over the epoch's minibatches.
    pub loss: f64,
    /// Accuracy on the minibatches before each step.
    pub train_accuracy: f64,
    /// Test accuracy after the epoch.
    pub test_accuracy: f64,
}

/// Training stopped on a non-finite loss.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("loss became {loss} at epoch {epoch}, step {step}: training diverged (lower train.learning_rate)")]
pub struct Diverged {
    /// The loss value.
    pub loss: f32,
    /// 1-based epoch.
    pub epoch: usize,
    /// 0-based step within the epoch.
    pub step: usize,
}

struct Workspace {
    grad: Vec<f32>,
    g: Vec<[f32; CLASSES]>,
    loss: f64,
    correct: usize,
    /// `Σ_b 1[r_b > 0] ⊙ (W2ᵀ g_b)`, only when asked for.
    grad_gate: Vec<f32>,
}

impl Workspace {
    fn new(h: usize) -> Workspace {
        Workspace {
            grad: vec![0.0; h],
            g: Vec::with_capacity(CHUNK),
            loss: 0.0,
            correct: 0,
            grad_gate: Vec::new(),
        }
    }
}

/// `grad_h += Σ_s r_sh (W2ᵀ g_s)_h` over the rows of one chunk. Portable
/// version; [`avx2::backward_rows`] keeps the decoder slice in registers.
fn backward_rows_portable(rows: &[&[f32]], g: &[[f32; CLASSES]], decoder: &[f32], grad: &mut [f32]) {
    backward_from(rows, g, decoder, grad, 0)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The backward pass with AVX2 + FMA intrinsics. `_mm256_fmadd_ps` is a
    //! fused multiply-add per lane, exactly what the portable `mul_add`
    //! computes, in the same order: results are bit-identical.
    use super::{CLASSES, LANES};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must support AVX2 and FMA; every row must hold `grad.len()`
    /// values and `decoder` `10 * grad.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn backward_rows(rows: &[&[f32]], g: &[[f32; CLASSES]], decoder: &[f32], grad: &mut [f32]) {
        let h = grad.len();
        assert!(decoder.len() >= CLASSES * h && rows.iter().all(|r| r.len() >= h) && g.len() >= rows.len());
        let d = decoder.as_ptr();
        for i in 0..h / LANES {
            let w: [__m256; CLASSES] = std::array::from_fn(|k| _mm256_loadu_ps(d.add(k * h + i * LANES)));
            let mut acc = _mm256_loadu_ps(grad.as_ptr().add(i * LANES));
            for (row, gs) in rows.iter().zip(g) {
                let mut t = _mm256_setzero_ps();
                for k in 0..CLASSES {
                    t = _mm256_fmadd_ps(_mm256_set1_ps(gs[k]), w[k], t);
                }
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(row.as_ptr().add(i * LANES)), t, acc);
            }
            _mm256_storeu_ps(grad.as_mut_ptr().add(i * LANES), acc);
        }
        super::backward_from(rows, g, decoder, grad, h / LANES * LANES);
    }

    /// # Safety
    /// As [`backward_rows`]; `gate` has `grad.len()` values.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn backward_rows_gated(
        rows: &[&[f32]],
        g: &[[f32; CLASSES]],
        decoder: &[f32],
        grad: &mut [f32],
        gate: &mut [f32],
    ) {
        let h = grad.len();
        assert!(
            gate.len() == h
                && decoder.len() >= CLASSES * h
                && rows.iter().all(|r| r.len() >= h)
                && g.len() >= rows.len()
        );
        let d = decoder.as_ptr();
        let zero = _mm256_setzero_ps();
        for i in 0..h / LANES {
            let w: [__m256; CLASSES] = std::array::from_fn(|k| _mm256_loadu_ps(d.add(k * h + i * LANES)));
            let mut acc = _mm256_loadu_ps(grad.as_ptr().add(i * LANES));
            let mut acc_gate = _mm256_loadu_ps(gate.as_ptr().add(i * LANES));
            for (row, gs) in rows.iter().zip(g) {
                let mut t = _mm256_setzero_ps();
                for k in 0..CLASSES {
                    t = _mm256_fmadd_ps(_mm256_set1_ps(gs[k]), w[k], t);
                }
                let r = _mm256_loadu_ps(row.as_ptr().add(i * LANES));
                acc = _mm256_fmadd_ps(r, t, acc);
                // t where r > 0, else +0: the portable `if r > 0 { t } else { 0 }`.
                let open = _mm256_cmp_ps::<_CMP_GT_OQ>(r, zero);
                acc_gate = _mm256_add_ps(acc_gate, _mm256_and_ps(open, t));
            }
            _mm256_storeu_ps(grad.as_mut_ptr().add(i * LANES), acc);
            _mm256_storeu_ps(gate.as_mut_ptr().add(i * LANES), acc_gate);
        }
        super::backward_gated_from(rows, g, decoder, grad, gate, h / LANES * LANES);
    }
}

/// The backward pass, one element at a time, from element `from` on: the
/// portable path, and the tail past the AVX2 path's last full lane chunk.
fn backward_from(rows: &[&[f32]], g: &[[f32; CLASSES]], decoder: &[f32], grad: &mut [f32], from: usize) {
    let h = grad.len();
    for j in from..h {
        let mut acc = grad[j];
        for (row, gs) in rows.iter().zip(g) {
            let mut t = 0f32;
            for k in 0..CLASSES {
                t = gs[k].mul_add(decoder[k * h + j], t);
            }
            acc = row[j].mul_add(t, acc);
        }
        grad[j] = acc;
    }
}

/// [`backward_rows`] and, in the same pass, `gate_h += Σ_s 1[r_sh > 0]
/// (W2ᵀ g_s)_h`: the product `W2ᵀ g_s` is formed once for both.
fn backward_rows_gated(rows: &[&[f32]], g: &[[f32; CLASSES]], decoder: &[f32], grad: &mut [f32], gate: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if tgsh_model::forward::avx2_available() {
        // SAFETY: AVX2 and FMA were detected; shapes are checked inside.
        return unsafe { avx2::backward_rows_gated(rows, g, decoder, grad, gate) };
    }
    backward_gated_from(rows, g, decoder, grad, gate, 0)
}

/// The gated backward pass, one element at a time, from element `from` on.
fn backward_gated_from(
    rows: &[&[f32]],
    g: &[[f32; CLASSES]],
    decoder: &[f32],
    grad: &mut [f32],
    gate: &mut [f32],
    from: usize,
) {
    let h = grad.len();
    for j in from..h {
        let (mut acc, mut acc_gate) = (grad[j], gate[j]);
        for (row, gs) in rows.iter().zip(g) {
            let mut t = 0f32;
            for k in 0..CLASSES {
                t = gs[k].mul_add(decoder[k * h + j], t);
            }
            acc = row[j].mul_add(t, acc);
            acc_gate += if row[j] > 0.0 { t } else { 0.0 };
        }
        grad[j] = acc;
        gate[j] = acc_gate;
    }
}

fn backward_rows(rows: &[&[f32]], g: &[[f32; CLASSES]], decoder: &[f32], grad: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if tgsh_model::forward::avx2_available() {
        // SAFETY: AVX2 and FMA were detected; shapes are checked inside.
        return unsafe { avx2::backward_rows(rows, g, decoder, grad) };
    }
    backward_rows_portable(rows, g, decoder, grad)
}

/// Forward, loss and backward for one chunk of a minibatch; with `gate`,
/// also the gradient through the ReLU's gates into `w.grad_gate`.
fn chunk_step(
    data: Encoded<'_>,
    samples: &[usize],
    mt: &[f32],
    decoder: &[f32],
    scale: f32,
    gate: bool,
    w: &mut Workspace,
) {
    let h = w.grad.len();
    w.grad.fill(0.0);
    w.g.clear();
    w.loss = 0.0;
    w.correct = 0;
    let mut rows: [&[f32]; CHUNK] = [&[]; CHUNK];
    for (slot, &i) in samples.iter().enumerate() {
        rows[slot] = data.row(i, h);
    }
    let rows = &rows[..samples.len()];
    let mut logits = Vec::with_capacity(CHUNK);
    for pair in rows.chunks(2) {
        match pair {
            [a, b] => logits.extend(logits_pair(a, b, mt)),
            [a] => logits.push(logits_row(a, mt)),
            _ => unreachable!("chunks of two"),
        }
    }
    for (l, &i) in logits.iter().zip(samples) {
        let (p, loss, right) = softmax_ce(l, data.labels[i]);
        w.loss += loss as f64;
        w.correct += right as usize;
        let mut g = p;
        g[data.labels[i] as usize] -= 1.0;
        w.g.push(g.map(|v| v * scale));
    }
    if gate {
        w.grad_gate.clear();
        w.grad_gate.resize(h, 0.0);
        backward_rows_gated(rows, &w.g, decoder, &mut w.grad, &mut w.grad_gate);
    } else {
        backward_rows(rows, &w.g, decoder, &mut w.grad);
    }
}

/// Mean cross-entropy of `params` on the given rows (used by tests and the
/// gradient check).
pub fn mean_loss(data: Encoded<'_>, batch: &[usize], params: &TaskParams, decoder: &[f32]) -> f64 {
    let context = params.context();
    let mt = modulated_decoder(&context, decoder);
    let total: f64 = batch
        .iter()
        .map(|&i| softmax_ce(&logits_row(data.row(i, context.len()), &mt), data.labels[i]).1 as f64)
        .sum();
    total / batch.len() as f64
}

/// Gradients of the mean cross-entropy over `batch` w.r.t. `m` and `s`,
/// plus the summed loss and correct count.
pub fn gradients(
    data: Encoded<'_>,
    batch: &[usize],
    params: &TaskParams,
    decoder: &[f32],
) -> (Vec<f32>, f32, f64, usize) {
    let mut spaces: Vec<Workspace> = Vec::new();
    let context = params.context();
    let grad_c = batch_grad(data, batch, &context, decoder, &mut spaces);
    let (loss, correct) = spaces
        .iter()
        .take(batch.len().div_ceil(CHUNK))
        .fold((0.0, 0), |(l, c), w| (l + w.loss, c + w.correct));
    let grad_m: Vec<f32> = grad_c.iter().map(|&g| g * params.strength).collect();
    let grad_s = dot(&params.modulation, &grad_c);
    (grad_m, grad_s, loss, correct)
}

/// dL/dc for one minibatch into `grad` (and, with `gate`, the gated
/// product into `grad_gate`); `spaces` are reused chunk buffers and `mt` the
/// reused `c ⊙ W2` buffer (fresh ~300 KB buffers every step would go back
/// to the OS and cost a page fault per 4 KB).
#[allow(clippy::too_many_arguments)]
fn batch_grad_into(
    data: Encoded<'_>,
    batch: &[usize],
    context: &[f32],
    decoder: &[f32],
    spaces: &mut Vec<Workspace>,
    mt: &mut Vec<f32>,
    grad: &mut Vec<f32>,
    grad_gate: Option<&mut Vec<f32>>,
) {
    let h = context.len();
    let chunks = batch.len().div_ceil(CHUNK);
    while spaces.len() < chunks {
        spaces.push(Workspace::new(h));
    }
    let scale = 1.0 / batch.len() as f32;
    let gate = grad_gate.is_some();
    modulated_decoder_into(context, decoder, mt);
    let mt = &mt[..];
    spaces[..chunks]
        .par_iter_mut()
        .zip(batch.par_chunks(CHUNK))
        .for_each(|(w, samples)| chunk_step(data, samples, mt, decoder, scale, gate, w));
    // Partial sums in chunk order: the same bits on any number of threads.
    let reduce = |out: &mut Vec<f32>, part: fn(&Workspace) -> &[f32]| {
        out.clear();
        out.extend_from_slice(part(&spaces[0]));
        for w in &spaces[1..chunks] {
            for (a, &b) in out.iter_mut().zip(part(w)) {
                *a += b;
            }
        }
    };
    reduce(grad, |w| &w.grad);
    if let Some(grad_gate) = grad_gate {
        reduce(grad_gate, |w| &w.grad_gate);
    }
}

/// Reused buffers for [`context_gradient`].
#[derive(Default)]
pub struct GradientScratch {
    spaces: Vec<Workspace>,
    mt: Vec<f32>,
    batch: Vec<usize>,
}

/// Summed loss and correct count of a minibatch (before the step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchFigures {
    /// Sum of the samples' cross-entropies.
    pub loss_sum: f64,
    /// Samples classified right.
    pub correct: usize,
}

/// The gradient of the mean cross-entropy over every row of `data` with
/// respect to the context, `dL/dc = mean_b r_b ⊙ (W2ᵀ g_b)`, into `grad`.
/// With `grad_gate`, also `mean_b 1[r_b > 0] ⊙ (W2ᵀ g_b)` into it: times
/// `c`, the gradient w.r.t. a bias added to the pre-activation before the
/// ReLU. The same kernels and chunking as the CRWN trainer, so the result
/// does not depend on the number of threads.
pub fn context_gradient(
    data: Encoded<'_>,
    context: &[f32],
    decoder: &[f32],
    scratch: &mut GradientScratch,
    grad: &mut Vec<f32>,
    grad_gate: Option<&mut Vec<f32>>,
) -> BatchFigures {
    let n = data.labels.len();
    scratch.batch.clear();
    scratch.batch.extend(0..n);
    batch_grad_into(
        data,
        &scratch.batch,
        context,
        decoder,
        &mut scratch.spaces,
        &mut scratch.mt,
        grad,
        grad_gate,
    );
    let used = &scratch.spaces[..n.div_ceil(CHUNK)];
    BatchFigures {
        loss_sum: used.iter().map(|w| w.loss).sum(),
        correct: used.iter().map(|w| w.correct).sum(),
    }
}

/// dL/dc for one minibatch.
fn batch_grad(
    data: Encoded<'_>,
    batch: &[usize],
    context: &[f32],
    decoder: &[f32],
    spaces: &mut Vec<Workspace>,
) -> Vec<f32> {
    let (mut mt, mut grad) = (Vec::new(), Vec::new());
    batch_grad_into(data, batch, context, decoder, spaces, &mut mt, &mut grad, None);
    grad
}

/// PyTorch's RMSprop (no momentum, not centred): `v = αv + (1-α)g²`,
/// `p -= lr · g / (√v + ε)`.
pub fn rmsprop(param: &mut [f32], grad: &[f32], square_avg: &mut [f32], hyper: &Hyper) {
    for ((p, &g), v) in param.iter_mut().zip(grad).zip(square_avg.iter_mut()) {
        *v = hyper.alpha * *v + (1.0 - hyper.alpha) * g * g;
        *p -= hyper.lr * g / (v.sqrt() + hyper.eps);
    }
}

/// Trains one task's parameters in place for `hyper.epochs` epochs on
/// shuffled minibatches; calls `on_epoch` after each epoch with its figures.
pub fn train_task(
    train: Encoded<'_>,
    test: Encoded<'_>,
    decoder: &[f32],
    params: &mut TaskParams,
    hyper: &Hyper,
    rng: &mut impl Rng,
    mut on_epoch: impl FnMut(usize, EpochStats),
) -> Result<(), Diverged> {
    let n = train.labels.len();
    let h = params.modulation.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut spaces = Vec::new();
    let (mut v_m, mut v_s) = (vec![0f32; h], [0f32]);
    let (mut context, mut mt, mut grad_c, mut grad_m) = (vec![0f32; h], Vec::new(), Vec::new(), vec![0f32; h]);
    for epoch in 1..=hyper.epochs {
        order.shuffle(rng);
        let (mut loss_sum, mut correct, mut steps) = (0.0f64, 0usize, 0usize);
        for (step, batch) in order.chunks(hyper.batch_size).enumerate() {
            for (c, &m) in context.iter_mut().zip(&params.modulation) {
                *c = m * params.strength;
            }
            batch_grad_into(train, batch, &context, decoder, &mut spaces, &mut mt, &mut grad_c, None);
            let chunks = batch.len().div_ceil(CHUNK);
            let batch_loss: f64 = spaces[..chunks].iter().map(|w| w.loss).sum();
            correct += spaces[..chunks].iter().map(|w| w.correct).sum::<usize>();
            let mean = (batch_loss / batch.len() as f64) as f32;
            if !mean.is_finite() {
                return Err(Diverged {
                    loss: mean,
                    epoch,
                    step,
                });
            }
            loss_sum += mean as f64;
            steps += 1;
            for (gm, &gc) in grad_m.iter_mut().zip(&grad_c) {
                *gm = gc * params.strength;
            }
            let grad_s = dot(&params.modulation, &grad_c);
            rmsprop(&mut params.modulation, &grad_m, &mut v_m, hyper);
            rmsprop(std::slice::from_mut(&mut params.strength), &[grad_s], &mut v_s, hyper);
        }
        let stats = EpochStats {
            loss: loss_sum / steps.max(1) as f64,
            train_accuracy: correct as f64 / n.max(1) as f64,
            test_accuracy: accuracy(test, &params.context(), decoder),
        };
        on_epoch(epoch, stats);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn toy(n: usize, h: usize, seed: u64) -> (Vec<f32>, Vec<u8>, Vec<f32>, TaskParams) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rows = (0..n * h).map(|_| rng.random::<f32>().max(0.3) - 0.3).collect();
        let labels = (0..n).map(|_| rng.random_range(0..10u8)).collect();
        let decoder = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
        let params = TaskParams {
            modulation: (0..h).map(|_| rng.random::<f32>() - 0.5).collect(),
            strength: 1.3,
        };
        (rows, labels, decoder, params)
    }

    #[test]
    fn analytic_gradients_match_finite_differences() {
        let (h, n) = (24, 40);
        let (rows, labels, decoder, params) = toy(n, h, 7);
        let data = Encoded {
            rows: &rows,
            labels: &labels,
        };
        let batch: Vec<usize> = (0..n).collect();
        let (grad_m, grad_s, _, _) = gradients(data, &batch, &params, &decoder);
        let eps = 1e-2f32;
        for j in [0, 5, 23] {
            let (mut up, mut down) = (params.clone(), params.clone());
            up.modulation[j] += eps;
            down.modulation[j] -= eps;
            let numeric = (mean_loss(data, &batch, &up, &decoder) - mean_loss(data, &batch, &down, &decoder))
                / (2.0 * eps as f64);
            assert!(
                (numeric - grad_m[j] as f64).abs() < 1e-3,
                "m[{j}]: {numeric} vs {}",
                grad_m[j]
            );
        }
        let (mut up, mut down) = (params.clone(), params.clone());
        up.strength += eps;
        down.strength -= eps;
        let numeric =
            (mean_loss(data, &batch, &up, &decoder) - mean_loss(data, &batch, &down, &decoder)) / (2.0 * eps as f64);
        assert!((numeric - grad_s as f64).abs() < 1e-3, "s: {numeric} vs {grad_s}");
    }

    #[test]
    fn training_is_bit_identical_on_one_or_two_threads() {
        let (h, n) = (40, 100);
        let (rows, labels, decoder, params) = toy(n, h, 9);
        let data = Encoded {
            rows: &rows,
            labels: &labels,
        };
        let hyper = Hyper {
            epochs: 2,
            batch_size: 32,
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
        };
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut p = params.clone();
                train_task(
                    data,
                    data,
                    &decoder,
                    &mut p,
                    &hyper,
                    &mut ChaCha8Rng::seed_from_u64(1),
                    |_, _| {},
                )
                .unwrap();
                p
            })
        };
        let one = run(1);
        assert_ne!(one, params);
        assert_eq!(one, run(2));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_backward_and_the_portable_backward_agree_bit_for_bit() {
        if !tgsh_model::forward::avx2_available() {
            return; // nothing to compare on this CPU
        }
        let (h, n) = (203, 16); // a length with a tail after the 8-lane chunks
        let (rows, _, decoder, _) = toy(n, h, 21);
        let row_refs: Vec<&[f32]> = rows.chunks_exact(h).collect();
        let g: Vec<[f32; CLASSES]> = (0..n)
            .map(|s| std::array::from_fn(|k| (s * 7 + k) as f32 * 0.01 - 0.3))
            .collect();
        let (mut portable, mut fast) = (vec![0.5f32; h], vec![0.5f32; h]);
        backward_rows_portable(&row_refs, &g, &decoder, &mut portable);
        // SAFETY: checked above.
        unsafe { avx2::backward_rows(&row_refs, &g, &decoder, &mut fast) };
        assert_eq!(portable, fast);
    }

    #[test]
    fn the_gated_backward_is_the_plain_one_plus_the_gate_product() {
        let (h, n) = (203, 16);
        let (rows, _, decoder, _) = toy(n, h, 22);
        let row_refs: Vec<&[f32]> = rows.chunks_exact(h).collect();
        let g: Vec<[f32; CLASSES]> = (0..n)
            .map(|s| std::array::from_fn(|k| (s * 5 + k) as f32 * 0.01 - 0.2))
            .collect();
        let (mut portable, mut portable_gate) = (vec![0.5f32; h], vec![0.25f32; h]);
        backward_gated_from(&row_refs, &g, &decoder, &mut portable, &mut portable_gate, 0);
        // The context gradient is the plain pass's, bit for bit.
        let mut plain = vec![0.5f32; h];
        backward_rows_portable(&row_refs, &g, &decoder, &mut plain);
        assert_eq!(portable, plain);
        // The gate product, the slow way.
        for j in 0..h {
            let expected: f32 = 0.25
                + row_refs
                    .iter()
                    .zip(&g)
                    .filter(|(r, _)| r[j] > 0.0)
                    .map(|(_, gs)| (0..CLASSES).map(|k| gs[k] * decoder[k * h + j]).sum::<f32>())
                    .sum::<f32>();
            assert!((portable_gate[j] - expected).abs() < 1e-5, "unit {j}");
        }
        #[cfg(target_arch = "x86_64")]
        if tgsh_model::forward::avx2_available() {
            let (mut fast, mut fast_gate) = (vec![0.5f32; h], vec![0.25f32; h]);
            // SAFETY: checked above.
            unsafe { avx2::backward_rows_gated(&row_refs, &g, &decoder, &mut fast, &mut fast_gate) };
            assert_eq!((fast, fast_gate), (portable, portable_gate));
        }
    }

    #[test]
    fn a_nan_loss_stops_with_task_epoch_and_step() {
        let (h, n) = (16, 20);
        let (rows, labels, decoder, mut params) = toy(n, h, 4);
        params.strength = f32::NAN;
        let data = Encoded {
            rows: &rows,
            labels: &labels,
        };
        let hyper = Hyper {
            epochs: 1,
            batch_size: 8,
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
        };
        let err = train_task(
            data,
            data,
            &decoder,
            &mut params,
            &hyper,
            &mut ChaCha8Rng::seed_from_u64(0),
            |_, _| {},
        )
        .unwrap_err();
        assert_eq!((err.epoch, err.step), (1, 0));
        assert!(err.loss.is_nan());
    }
}
