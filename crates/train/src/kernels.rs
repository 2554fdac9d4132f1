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

struct Workspace {
    z: Vec<f32>,
    t: Vec<f32>,
    grad: Vec<f32>,
    loss: f64,
    correct: usize,
}

/// Logits of one encoded row under context `c`: `W2 (c ⊙ r)`.
fn logits(row: &[f32], context: &[f32], decoder: &[f32], z: &mut [f32]) -> [f32; CLASSES] {
    for ((z, &r), &c) in z.iter_mut().zip(row).zip(context) {
        *z = r * c;
    }
    let h = row.len();
    std::array::from_fn(|k| dot(z, &decoder[k * h..(k + 1) * h]))
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
    let correct: usize = (0..data.labels.len())
        .into_par_iter()
        .with_min_len(64)
        .map_init(
            || vec![0f32; h],
            |z, i| {
                let l = logits(data.row(i, h), context, decoder, z);
                softmax_ce(&l, data.labels[i]).2 as usize
            },
        )
        .sum();
    correct as f64 / data.labels.len().max(1) as f64
}

/// Mean cross-entropy of `params` on the given rows (used by tests and the
/// gradient check).
pub fn mean_loss(data: Encoded<'_>, batch: &[usize], params: &TaskParams, decoder: &[f32]) -> f64 {
    let context = params.context();
    let mut z = vec![0f32; context.len()];
    let total: f64 = batch
        .iter()
        .map(|&i| {
            let l = logits(data.row(i, context.len()), &context, decoder, &mut z);
            softmax_ce(&l, data.labels[i]).1 as f64
        })
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
    let h = params.modulation.len();
    let mut spaces: Vec<Workspace> = Vec::new();
    let context = params.context();
    let grad_c = batch_grad(data, batch, &context, decoder, &mut spaces);
    let (loss, correct) = spaces
        .iter()
        .take(batch.len().div_ceil(CHUNK))
        .fold((0.0, 0), |(l, c), w| (l + w.loss, c + w.correct));
    let grad_m: Vec<f32> = grad_c.iter().map(|&g| g * params.strength).collect();
    let grad_s = dot(&params.modulation, &grad_c[..h]);
    (grad_m, grad_s, loss, correct)
}

/// dL/dc for one minibatch; `spaces` are reused chunk buffers.
fn batch_grad(
    data: Encoded<'_>,
    batch: &[usize],
    context: &[f32],
    decoder: &[f32],
    spaces: &mut Vec<Workspace>,
) -> Vec<f32> {
    let h = context.len();
    let chunks = batch.len().div_ceil(CHUNK);
    while spaces.len() < chunks {
        spaces.push(Workspace {
            z: vec![0.0; h],
            t: vec![0.0; h],
            grad: vec![0.0; h],
            loss: 0.0,
            correct: 0,
        });
    }
    let scale = 1.0 / batch.len() as f32;
    spaces[..chunks]
        .par_iter_mut()
        .zip(batch.par_chunks(CHUNK))
        .for_each(|(w, samples)| {
            w.grad.fill(0.0);
            w.loss = 0.0;
            w.correct = 0;
            for &i in samples {
                let row = data.row(i, h);
                let l = logits(row, context, decoder, &mut w.z);
                let (p, loss, right) = softmax_ce(&l, data.labels[i]);
                w.loss += loss as f64;
                w.correct += right as usize;
                // t = W2ᵀ g for this sample, then grad += r ⊙ t.
                let mut g = p;
                g[data.labels[i] as usize] -= 1.0;
                w.t.fill(0.0);
                for (k, gk) in g.iter().enumerate() {
                    let gk = gk * scale;
                    for (t, &d) in w.t.iter_mut().zip(&decoder[k * h..(k + 1) * h]) {
                        *t += gk * d;
                    }
                }
                for ((acc, &r), &t) in w.grad.iter_mut().zip(row).zip(&w.t) {
                    *acc += r * t;
                }
            }
        });
    let mut total = spaces[0].grad.clone();
    for w in &spaces[1..chunks] {
        for (a, &b) in total.iter_mut().zip(&w.grad) {
            *a += b;
        }
    }
    total
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
    for epoch in 1..=hyper.epochs {
        order.shuffle(rng);
        let (mut loss_sum, mut correct, mut steps) = (0.0f64, 0usize, 0usize);
        for (step, batch) in order.chunks(hyper.batch_size).enumerate() {
            let context = params.context();
            let grad_c = batch_grad(train, batch, &context, decoder, &mut spaces);
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
            let grad_m: Vec<f32> = grad_c.iter().map(|&g| g * params.strength).collect();
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
            assert!((numeric - grad_m[j] as f64).abs() < 1e-3, "m[{j}]: {numeric} vs {}", grad_m[j]);
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
                train_task(data, data, &decoder, &mut p, &hyper, &mut ChaCha8Rng::seed_from_u64(1), |_, _| {})
                    .unwrap();
                p
            })
        };
        let one = run(1);
        assert_ne!(one, params);
        assert_eq!(one, run(2));
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
        let err = train_task(data, data, &decoder, &mut params, &hyper, &mut ChaCha8Rng::seed_from_u64(0), |_, _| {})
            .unwrap_err();
        assert_eq!((err.epoch, err.step), (1, 0));
        assert!(err.loss.is_nan());
    }
}
