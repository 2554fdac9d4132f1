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
//! no autograd. The batch is cut into fixed chunks of [`CHUNK`] samples whose
//! partial gradients are summed in a fixed order: results are bit-identical
//! whatever the number of threads. `candle_trainer` computes the same step
//! with candle's autograd; a test checks the two agree.

use rand::seq::SliceRandom;
use rand::Rng;
use rayon::prelude::*;
use tgsh_common::CLASSES;

/// Samples per chunk of a minibatch (the unit of parallel work).
pub const CHUNK: usize = 16;

/// `Σ a_i b_i` with 16 independent lanes, summed in a fixed order, so it
/// vectorises and is deterministic.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..16 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f32>() + tail
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

/// An encoded split: `n x H` rows and their labels.
#[derive(Debug, Clone, Copy)]
pub struct Encoded<'a> {
    /// Activations, row-major.
    pub rows: &'a [f32],
    /// Labels.
    pub labels: &'a [u8],
}

impl Encoded<'_> {
    fn row(&self, i: usize, h: usize) -> &[f32] {
        &self.rows[i * h..(i + 1) * h]
    }
}

/// SIMD width the kernels are written for. The lane structure (and hence
/// every rounding) is fixed by this constant, not by the CPU, and every
/// multiply-add is a fused `mul_add`: the AVX2/FMA path and the portable path
/// give bit-identical results.
const LANES: usize = 8;

struct Workspace {
    grad: Vec<f32>,
    g: Vec<[f32; CLASSES]>,
    loss: f64,
    correct: usize,
}

/// `c ⊙ W2`, `10 x H`: the only place the context enters the forward pass.
fn modulated_decoder(context: &[f32], decoder: &[f32]) -> Vec<f32> {
    let mut mt = Vec::new();
    modulated_decoder_into(context, decoder, &mut mt);
    mt
}

/// [`modulated_decoder`] into a reused buffer (the training step's hot path).
fn modulated_decoder_into(context: &[f32], decoder: &[f32], mt: &mut Vec<f32>) {
    mt.clear();
    mt.extend_from_slice(decoder);
    for row in mt.chunks_exact_mut(context.len()) {
        for (m, &c) in row.iter_mut().zip(context) {
            *m *= c;
        }
    }
}

/// `logits_k = Σ_h r_h Mt_kh`: `r` is loaded once for all ten classes.
/// Portable version; [`avx2::logits_row`] computes the same lane by lane.
fn logits_row_portable(row: &[f32], mt: &[f32]) -> [f32; CLASSES] {
    let h = row.len();
    let (r_chunks, _) = row.as_chunks::<LANES>();
    let mut acc = [[0f32; LANES]; CLASSES];
    for (i, r) in r_chunks.iter().enumerate() {
        for (k, acc) in acc.iter_mut().enumerate() {
            let w = &mt[k * h + i * LANES..k * h + (i + 1) * LANES];
            for l in 0..LANES {
                acc[l] = r[l].mul_add(w[l], acc[l]);
            }
        }
    }
    finish_logits(row, mt, &acc)
}

/// Sums each class's lanes in order, then adds the tail past the last full lane chunk.
fn finish_logits(row: &[f32], mt: &[f32], acc: &[[f32; LANES]; CLASSES]) -> [f32; CLASSES] {
    let h = row.len();
    let tail_start = h / LANES * LANES;
    std::array::from_fn(|k| {
        let mut sum = acc[k].iter().sum::<f32>();
        for j in tail_start..h {
            sum = row[j].mul_add(mt[k * h + j], sum);
        }
        sum
    })
}

/// `grad_h += Σ_s r_sh (W2ᵀ g_s)_h` over the rows of one chunk. Portable
/// version; [`avx2::backward_rows`] keeps the decoder slice in registers.
fn backward_rows_portable(rows: &[&[f32]], g: &[[f32; CLASSES]], decoder: &[f32], grad: &mut [f32]) {
    backward_from(rows, g, decoder, grad, 0)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The two hot loops with AVX2 + FMA intrinsics. `_mm256_fmadd_ps` is a
    //! fused multiply-add per lane, exactly what the portable `mul_add`
    //! computes, in the same order: results are bit-identical.
    use super::{finish_logits, CLASSES, LANES};
    use std::arch::x86_64::*;

    pub fn available() -> bool {
        static DETECTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *DETECTED.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA; `mt` must hold `10 * row.len()` values.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn logits_row(row: &[f32], mt: &[f32]) -> [f32; CLASSES] {
        let h = row.len();
        assert!(mt.len() >= CLASSES * h);
        let mut acc = [_mm256_setzero_ps(); CLASSES];
        let (r, m) = (row.as_ptr(), mt.as_ptr());
        for i in 0..h / LANES {
            let rv = _mm256_loadu_ps(r.add(i * LANES));
            for (k, acc) in acc.iter_mut().enumerate() {
                *acc = _mm256_fmadd_ps(rv, _mm256_loadu_ps(m.add(k * h + i * LANES)), *acc);
            }
        }
        let mut lanes = [[0f32; LANES]; CLASSES];
        for k in 0..CLASSES {
            _mm256_storeu_ps(lanes[k].as_mut_ptr(), acc[k]);
        }
        finish_logits(row, mt, &lanes)
    }

    /// # Safety
    /// The CPU must support AVX2 and FMA; `a` and `b` must have the same
    /// length `H` and `mt` must hold `10 * H` values.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn logits_pair(a: &[f32], b: &[f32], mt: &[f32]) -> [[f32; CLASSES]; 2] {
        let h = a.len();
        assert!(b.len() == h && mt.len() >= CLASSES * h);
        const HALF: usize = CLASSES / 2;
        let mut lanes = [[[0f32; LANES]; CLASSES]; 2];
        let (pa, pb, m) = (a.as_ptr(), b.as_ptr(), mt.as_ptr());
        // Five classes at a time keep 10 accumulators + 3 operands in the 16 registers.
        for half in [0, HALF] {
            let mut acc = [[_mm256_setzero_ps(); HALF]; 2];
            for i in 0..h / LANES {
                let ra = _mm256_loadu_ps(pa.add(i * LANES));
                let rb = _mm256_loadu_ps(pb.add(i * LANES));
                let [acc_a, acc_b] = &mut acc;
                for (k, (x, y)) in acc_a.iter_mut().zip(acc_b.iter_mut()).enumerate() {
                    let w = _mm256_loadu_ps(m.add((half + k) * h + i * LANES));
                    *x = _mm256_fmadd_ps(ra, w, *x);
                    *y = _mm256_fmadd_ps(rb, w, *y);
                }
            }
            for (row, acc) in acc.iter().enumerate() {
                for (k, v) in acc.iter().enumerate() {
                    _mm256_storeu_ps(lanes[row][half + k].as_mut_ptr(), *v);
                }
            }
        }
        [finish_logits(a, mt, &lanes[0]), finish_logits(b, mt, &lanes[1])]
    }

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

/// Logits of two rows at once: each `Mt` load serves both rows. Every
/// accumulator sums in the same order as [`logits_row`], so the results are
/// the same bits as two single-row calls.
fn logits_pair(a: &[f32], b: &[f32], mt: &[f32]) -> [[f32; CLASSES]; 2] {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: AVX2 and FMA were detected; shapes are checked inside.
        return unsafe { avx2::logits_pair(a, b, mt) };
    }
    [logits_row_portable(a, mt), logits_row_portable(b, mt)]
}

fn logits_row(row: &[f32], mt: &[f32]) -> [f32; CLASSES] {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: AVX2 and FMA were detected; `mt` is `10 x H` by construction.
        return unsafe { avx2::logits_row(row, mt) };
    }
    logits_row_portable(row, mt)
}

fn backward_rows(rows: &[&[f32]], g: &[[f32; CLASSES]], decoder: &[f32], grad: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if avx2::available() {
        // SAFETY: AVX2 and FMA were detected; shapes are checked inside.
        return unsafe { avx2::backward_rows(rows, g, decoder, grad) };
    }
    backward_rows_portable(rows, g, decoder, grad)
}

/// Forward, loss and backward for one chunk of a minibatch.
fn chunk_step(data: Encoded<'_>, samples: &[usize], mt: &[f32], decoder: &[f32], scale: f32, w: &mut Workspace) {
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
    backward_rows(rows, &w.g, decoder, &mut w.grad);
}

/// Softmax probabilities, cross-entropy and whether the argmax is right.
fn softmax_ce(logits: &[f32; CLASSES], label: u8) -> ([f32; CLASSES], f32, bool) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: [f32; CLASSES] = std::array::from_fn(|k| (logits[k] - max).exp());
    let sum: f32 = exp.iter().sum();
    let p = std::array::from_fn(|k| exp[k] / sum);
    let loss = sum.ln() + max - logits[label as usize];
    let argmax = (0..CLASSES)
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
        .expect("ten classes");
    (p, loss, argmax == label as usize)
}

/// Test accuracy of context `c` on `data`.
pub fn accuracy(data: Encoded<'_>, context: &[f32], decoder: &[f32]) -> f64 {
    let h = context.len();
    let mt = modulated_decoder(context, decoder);
    let n = data.labels.len();
    let correct: usize = (0..n.div_ceil(2))
        .into_par_iter()
        .with_min_len(32)
        .map(|pair| {
            let i = 2 * pair;
            let right = |l: &[f32; CLASSES], i: usize| softmax_ce(l, data.labels[i]).2 as usize;
            if i + 1 < n {
                let [a, b] = logits_pair(data.row(i, h), data.row(i + 1, h), &mt);
                right(&a, i) + right(&b, i + 1)
            } else {
                right(&logits_row(data.row(i, h), &mt), i)
            }
        })
        .sum();
    correct as f64 / data.labels.len().max(1) as f64
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

/// dL/dc for one minibatch into `grad`; `spaces` are reused chunk buffers
/// and `mt` the reused `c ⊙ W2` buffer (fresh ~300 KB buffers every step
/// would go back to the OS and cost a page fault per 4 KB).
fn batch_grad_into(
    data: Encoded<'_>,
    batch: &[usize],
    context: &[f32],
    decoder: &[f32],
    spaces: &mut Vec<Workspace>,
    mt: &mut Vec<f32>,
    grad: &mut Vec<f32>,
) {
    let h = context.len();
    let chunks = batch.len().div_ceil(CHUNK);
    while spaces.len() < chunks {
        spaces.push(Workspace {
            grad: vec![0.0; h],
            g: Vec::with_capacity(CHUNK),
            loss: 0.0,
            correct: 0,
        });
    }
    let scale = 1.0 / batch.len() as f32;
    modulated_decoder_into(context, decoder, mt);
    let mt = &mt[..];
    spaces[..chunks]
        .par_iter_mut()
        .zip(batch.par_chunks(CHUNK))
        .for_each(|(w, samples)| chunk_step(data, samples, mt, decoder, scale, w));
    grad.clear();
    grad.extend_from_slice(&spaces[0].grad);
    for w in &spaces[1..chunks] {
        for (a, &b) in grad.iter_mut().zip(&w.grad) {
            *a += b;
        }
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
    batch_grad_into(data, batch, context, decoder, spaces, &mut mt, &mut grad);
    grad
}

/// PyTorch's RMSprop (no momentum, not centred): `v = αv + (1-α)g²`,
/// `p -= lr · g / (√v + ε)`.
fn rmsprop(param: &mut [f32], grad: &[f32], square_avg: &mut [f32], hyper: &Hyper) {
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
            batch_grad_into(train, batch, &context, decoder, &mut spaces, &mut mt, &mut grad_c);
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
    fn dot_matches_a_plain_sum() {
        let a: Vec<f32> = (0..37).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..37).map(|i| 1.0 - i as f32 * 0.25).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
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
    fn softmax_ce_of_a_hand_computed_case() {
        let mut l = [0f32; CLASSES];
        l[3] = (9f32).ln(); // p = 9/18 for class 3, 1/18 for the others
        let (p, loss, right) = softmax_ce(&l, 3);
        assert!((p[3] - 0.5).abs() < 1e-6 && (p[0] - 1.0 / 18.0).abs() < 1e-6);
        assert!((loss - 2f32.ln()).abs() < 1e-6);
        assert!(right);
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
    fn the_avx2_path_and_the_portable_path_agree_bit_for_bit() {
        if !avx2::available() {
            return; // nothing to compare on this CPU
        }
        let (h, n) = (203, 16); // a length with a tail after the 8-lane chunks
        let (rows, _, decoder, params) = toy(n, h, 21);
        let mt = modulated_decoder(&params.context(), &decoder);
        let row_refs: Vec<&[f32]> = rows.chunks_exact(h).collect();
        let g: Vec<[f32; CLASSES]> = (0..n)
            .map(|s| std::array::from_fn(|k| (s * 7 + k) as f32 * 0.01 - 0.3))
            .collect();
        for row in &row_refs {
            // SAFETY: checked above.
            assert_eq!(logits_row_portable(row, &mt), unsafe { avx2::logits_row(row, &mt) });
        }
        // SAFETY: checked above.
        let pair = unsafe { avx2::logits_pair(row_refs[0], row_refs[1], &mt) };
        assert_eq!(
            pair,
            [
                logits_row_portable(row_refs[0], &mt),
                logits_row_portable(row_refs[1], &mt)
            ]
        );
        let (mut portable, mut fast) = (vec![0.5f32; h], vec![0.5f32; h]);
        backward_rows_portable(&row_refs, &g, &decoder, &mut portable);
        // SAFETY: checked above.
        unsafe { avx2::backward_rows(&row_refs, &g, &decoder, &mut fast) };
        assert_eq!(portable, fast);
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
