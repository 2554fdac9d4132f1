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
//! no autograd ([`tgsh_model::kernel`]: the forward pass, and the backward
//! pass as `Σ_k W2_kh Σ_b g_bk r_bh`, both on the compact encoded rows). A
//! bias `b` added to the hidden pre-activation before the ReLU (input
//! conditioning, `r = relu(u + b)`) has `dL/db_h = c_h Σ_b 1[r_bh > 0]
//! (W2ᵀ g_b)_h`: the same product with the ReLU's gate in place of `r`
//! ([`context_gradient`] computes both). The batch is cut into fixed
//! chunks of [`CHUNK`] samples, each scored and differentiated while its
//! rows are in cache, whose partial gradients are summed in a fixed order:
//! results are bit-identical whatever the number of threads.
//! `candle_trainer` computes the same step with candle's autograd; a test
//! checks the two agree.

use rand::seq::SliceRandom;
use rand::Rng;
use rayon::prelude::*;
use tgsh_common::CLASSES;
pub use tgsh_model::forward::{accuracy, dot, Encoded};
use tgsh_model::forward::{scaled_context_into, softmax_ce};
use tgsh_model::kernel::{self, AlignedVec, CHUNK_WEIGHTS, LANES};
pub use tgsh_model::{Decoder, TaskParams};

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

/// One chunk's buffers and results.
#[derive(Default)]
struct Workspace {
    /// `Σ_k W2_kh Σ_b g_bk r'_bh` over the chunk (times the rows' scale: dL/dc).
    grad: Vec<f32>,
    /// `Σ_b 1[r_b > 0] ⊙ (W2ᵀ g_b)`, only when asked for.
    grad_gate: Vec<f32>,
    g: Vec<[f32; CLASSES]>,
    logits: Vec<[f32; CLASSES]>,
    kernel: kernel::Scratch,
    loss: f64,
    correct: usize,
}

/// Forward, loss and backward for one chunk of a minibatch, its rows
/// staying in cache from one to the other; with `gate`, also the gradient
/// through the ReLU's gates into `w.grad_gate`.
fn chunk_step(
    data: Encoded<'_>,
    samples: &[usize],
    mt: &Decoder,
    decoder: &Decoder,
    scale: f32,
    gate: bool,
    w: &mut Workspace,
) {
    let h = data.rows.hidden();
    kernel::logits(data.rows, samples, mt, &mut w.kernel, &mut w.logits);
    w.g.clear();
    w.loss = 0.0;
    w.correct = 0;
    for (l, &i) in w.logits.iter().zip(samples) {
        let (p, loss, right) = softmax_ce(l, data.labels[i]);
        w.loss += loss as f64;
        w.correct += right as usize;
        let mut g = p;
        g[data.labels[i] as usize] -= 1.0;
        w.g.push(g.map(|v| v * scale));
    }
    w.grad.resize(h, 0.0);
    if gate {
        w.grad_gate.resize(h, 0.0);
        kernel::backward(
            data.rows,
            samples,
            &w.g,
            decoder,
            &mut w.kernel,
            &mut w.grad,
            Some(&mut w.grad_gate),
        );
    } else {
        kernel::backward(data.rows, samples, &w.g, decoder, &mut w.kernel, &mut w.grad, None);
    }
}

/// Mean cross-entropy of `params` on the given rows (used by tests and the
/// gradient check).
pub fn mean_loss(data: Encoded<'_>, batch: &[usize], params: &TaskParams, decoder: &Decoder) -> f64 {
    let context = params.context();
    let total: f64 = batch
        .iter()
        .map(|&i| {
            let logits = tgsh_model::forward::logits(data.rows, i, &context, decoder);
            softmax_ce(&logits, data.labels[i]).1 as f64
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
    decoder: &Decoder,
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
/// product into `grad_gate`); `spaces` are reused chunk buffers and
/// `modulated` the reused scaled context and modulated decoder.
#[allow(clippy::too_many_arguments)]
fn batch_grad_into(
    data: Encoded<'_>,
    batch: &[usize],
    context: &[f32],
    decoder: &Decoder,
    spaces: &mut Vec<Workspace>,
    (cs, mt): &mut (AlignedVec, Decoder),
    grad: &mut Vec<f32>,
    grad_gate: Option<&mut Vec<f32>>,
) {
    let chunks = batch.len().div_ceil(CHUNK);
    while spaces.len() < chunks {
        spaces.push(Workspace::default());
    }
    let scale = 1.0 / batch.len() as f32;
    let gate = grad_gate.is_some();
    let rows_scale = data.rows.scale();
    scaled_context_into(context, rows_scale, cs);
    decoder.modulated_into(cs, mt);
    let mt = &*mt;
    spaces[..chunks]
        .par_iter_mut()
        .zip(batch.par_chunks(CHUNK))
        .for_each(|(w, samples)| chunk_step(data, samples, mt, decoder, scale, gate, w));
    reduce_chunks(&spaces[..chunks], |w| &w.grad, Some(rows_scale), grad);
    if let Some(grad_gate) = grad_gate {
        reduce_chunks(&spaces[..chunks], |w| &w.grad_gate, None, grad_gate);
    }
}

/// Units per block of the per-step element-wise passes, which run in
/// parallel (a serial pass would leave the other cores idle).
const UNIT_BLOCK: usize = 1024;
const _: () = assert!(UNIT_BLOCK.is_multiple_of(LANES));

/// `out = (Σ_c part(spaces[c])) * scale`, the partial sums added in chunk
/// order (then scaled): the same bits on any number of threads.
fn reduce_chunks(spaces: &[Workspace], part: fn(&Workspace) -> &[f32], scale: Option<f32>, out: &mut Vec<f32>) {
    let first = part(&spaces[0]);
    out.resize(first.len(), 0.0);
    out.par_chunks_mut(UNIT_BLOCK).enumerate().for_each(|(b, out)| {
        let from = b * UNIT_BLOCK;
        out.copy_from_slice(&first[from..from + out.len()]);
        for w in &spaces[1..] {
            for (a, &x) in out.iter_mut().zip(&part(w)[from..]) {
                *a += x;
            }
        }
        if let Some(scale) = scale {
            for a in out.iter_mut() {
                *a *= scale;
            }
        }
    });
}

/// [`reduce_chunks`] on the calling thread: the same additions in the same order.
fn reduce_chunks_here(spaces: &[Workspace], scale: f32, out: &mut Vec<f32>) {
    out.clear();
    out.extend_from_slice(&spaces[0].grad);
    for w in &spaces[1..] {
        for (a, &x) in out.iter_mut().zip(&w.grad) {
            *a += x;
        }
    }
    for a in out.iter_mut() {
        *a *= scale;
    }
}

/// Reused buffers for [`context_gradient`].
#[derive(Default)]
pub struct GradientScratch {
    spaces: Vec<Workspace>,
    modulated: (AlignedVec, Decoder),
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
    decoder: &Decoder,
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
        &mut scratch.modulated,
        grad,
        grad_gate,
    );
    let used = &scratch.spaces[..n.div_ceil(CHUNK)];
    BatchFigures {
        loss_sum: used.iter().map(|w| w.loss).sum(),
        correct: used.iter().map(|w| w.correct).sum(),
    }
}

/// One task's minibatch for [`context_gradients`]: all its encoded rows,
/// and its context.
#[derive(Debug, Clone, Copy)]
pub struct TaskBatch<'a> {
    /// The minibatch's encoded rows and labels.
    pub data: Encoded<'a>,
    /// The task's context `c`.
    pub context: &'a [f32],
}

/// One task's result of [`context_gradients`].
#[derive(Debug, Clone, Default)]
pub struct TaskGradient {
    /// `dL/dc`.
    pub grad: Vec<f32>,
    /// `mean_b 1[r_b > 0] ⊙ (W2ᵀ g_b)` (when asked for).
    pub gate: Vec<f32>,
    /// Summed loss and correct count of the minibatch.
    pub figures: BatchFigures,
}

impl Default for BatchFigures {
    fn default() -> Self {
        BatchFigures {
            loss_sum: 0.0,
            correct: 0,
        }
    }
}

/// Reused buffers for [`context_gradients`].
#[derive(Default)]
pub struct TasksScratch {
    spaces: Vec<Workspace>,
    modulated: Vec<(AlignedVec, Decoder)>,
    samples: Vec<usize>,
}

/// [`context_gradient`] for several tasks at once, into `out` (one per
/// task): every task's chunks in one parallel pass instead of a pass per
/// task. Each task's result is the one [`context_gradient`] gives it alone,
/// bit for bit (the same chunks, added in the same order).
pub fn context_gradients(
    tasks: &[TaskBatch<'_>],
    decoder: &Decoder,
    gate: bool,
    scratch: &mut TasksScratch,
    out: &mut Vec<TaskGradient>,
) {
    let chunks: Vec<usize> = tasks.iter().map(|t| t.data.labels.len().div_ceil(CHUNK)).collect();
    let total: usize = chunks.iter().sum();
    while scratch.spaces.len() < total {
        scratch.spaces.push(Workspace::default());
    }
    scratch.modulated.resize_with(tasks.len(), Default::default);
    out.resize_with(tasks.len(), Default::default);
    let longest = tasks.iter().map(|t| t.data.labels.len()).max().unwrap_or(0);
    scratch.samples.clear();
    scratch.samples.extend(0..longest);
    scratch
        .modulated
        .par_iter_mut()
        .zip(tasks)
        .for_each(|((cs, mt), task)| {
            scaled_context_into(task.context, task.data.rows.scale(), cs);
            decoder.modulated_into(cs, mt);
        });
    // Every (task, chunk) pair, in task order then chunk order.
    let jobs: Vec<(usize, usize)> = chunks
        .iter()
        .enumerate()
        .flat_map(|(t, &c)| (0..c).map(move |c| (t, c)))
        .collect();
    let (modulated, samples) = (&scratch.modulated, &scratch.samples);
    scratch.spaces[..total]
        .par_iter_mut()
        .zip(&jobs)
        .for_each(|(w, &(t, c))| {
            let task = &tasks[t];
            let n = task.data.labels.len();
            let chunk = &samples[c * CHUNK..((c + 1) * CHUNK).min(n)];
            chunk_step(task.data, chunk, &modulated[t].1, decoder, 1.0 / n as f32, gate, w);
        });
    let mut first = 0;
    let ranges: Vec<std::ops::Range<usize>> = chunks
        .iter()
        .map(|&c| {
            first += c;
            first - c..first
        })
        .collect();
    let spaces = &scratch.spaces;
    out.par_iter_mut()
        .zip(tasks)
        .zip(&ranges)
        .for_each(|((o, task), range)| {
            let used = &spaces[range.clone()];
            reduce_chunks(used, |w| &w.grad, Some(task.data.rows.scale()), &mut o.grad);
            if gate {
                reduce_chunks(used, |w| &w.grad_gate, None, &mut o.gate);
            }
            o.figures = BatchFigures {
                loss_sum: used.iter().map(|w| w.loss).sum(),
                correct: used.iter().map(|w| w.correct).sum(),
            };
        });
}

/// dL/dc for one minibatch.
fn batch_grad(
    data: Encoded<'_>,
    batch: &[usize],
    context: &[f32],
    decoder: &Decoder,
    spaces: &mut Vec<Workspace>,
) -> Vec<f32> {
    let (mut modulated, mut grad) = Default::default();
    batch_grad_into(data, batch, context, decoder, spaces, &mut modulated, &mut grad, None);
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
    decoder: &Decoder,
    params: &mut TaskParams,
    hyper: &Hyper,
    rng: &mut impl Rng,
    mut on_epoch: impl FnMut(usize, EpochStats),
) -> Result<(), Diverged> {
    train_task_until(train, test, decoder, params, hyper, rng, |epoch, stats, _| {
        on_epoch(epoch, stats);
        true
    })
}

/// [`train_task`], stopping after the first epoch whose `on_epoch` (given
/// the epoch's figures, `test` being the images it scores, and the
/// parameters after it) returns `false`: the held-out pipelines'
/// convergence rule, with validation images as `test`.
pub fn train_task_until(
    train: Encoded<'_>,
    test: Encoded<'_>,
    decoder: &Decoder,
    params: &mut TaskParams,
    hyper: &Hyper,
    rng: &mut impl Rng,
    mut on_epoch: impl FnMut(usize, EpochStats, &TaskParams) -> bool,
) -> Result<(), Diverged> {
    let n = train.labels.len();
    let h = params.modulation.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut spaces: Vec<Workspace> = Vec::new();
    let (mut v_m, mut v_s) = (vec![0f32; h], [0f32]);
    let (mut grad_c, mut grad_m) = (vec![0f32; h], vec![0f32; h]);
    // The scaled context and the modulated decoder of the next step,
    // formed in the same parallel pass as the parameter update.
    let rows_scale = train.rows.scale();
    let context: Vec<f32> = params.modulation.iter().map(|&m| m * params.strength).collect();
    let mut cs = AlignedVec::default();
    scaled_context_into(&context, rows_scale, &mut cs);
    let mut mt = Decoder::default();
    decoder.modulated_into(&cs, &mut mt);
    for epoch in 1..=hyper.epochs {
        order.shuffle(rng);
        let (mut loss_sum, mut correct, mut steps) = (0.0f64, 0usize, 0usize);
        for (step, batch) in order.chunks(hyper.batch_size).enumerate() {
            let chunks = batch.len().div_ceil(CHUNK);
            while spaces.len() < chunks {
                spaces.push(Workspace::default());
            }
            let scale = 1.0 / batch.len() as f32;
            spaces[..chunks]
                .par_iter_mut()
                .zip(batch.par_chunks(CHUNK))
                .for_each(|(w, samples)| chunk_step(train, samples, &mt, decoder, scale, false, w));
            // Added in chunk order, on this thread: a parallel pass would
            // cost more to start than the additions.
            reduce_chunks_here(&spaces[..chunks], rows_scale, &mut grad_c);
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
            let grad_s = dot(&params.modulation, &grad_c);
            let strength = params.strength;
            rmsprop(std::slice::from_mut(&mut params.strength), &[grad_s], &mut v_s, hyper);
            let next = params.strength;
            // dL/dm = s dL/dc, then RMSprop on m, then the next step's
            // context c = m s, scaled, and its modulated decoder: block by
            // block in parallel (the same bits as one pass after another).
            let mut blocks: Vec<&mut [f32]> = mt.chunks_mut().chunks_mut(UNIT_BLOCK / LANES * CHUNK_WEIGHTS).collect();
            blocks.resize_with(h.div_ceil(UNIT_BLOCK), Default::default);
            params
                .modulation
                .par_chunks_mut(UNIT_BLOCK)
                .zip(v_m.par_chunks_mut(UNIT_BLOCK))
                .zip(grad_c.par_chunks(UNIT_BLOCK))
                .zip(grad_m.par_chunks_mut(UNIT_BLOCK))
                .zip(cs.par_chunks_mut(UNIT_BLOCK))
                .zip(blocks.par_iter_mut())
                .enumerate()
                .for_each(|(b, (((((m, v), gc), gm), cs), dst))| {
                    for (gm, &gc) in gm.iter_mut().zip(gc) {
                        *gm = gc * strength;
                    }
                    rmsprop(m, gm, v, hyper);
                    for (cs, &m) in cs.iter_mut().zip(m.iter()) {
                        *cs = (m * next) * rows_scale;
                    }
                    decoder.modulate_chunks(b * UNIT_BLOCK / LANES, cs, dst);
                });
            decoder.modulate_tail(&cs, &mut mt);
        }
        let stats = EpochStats {
            loss: loss_sum / steps.max(1) as f64,
            train_accuracy: correct as f64 / n.max(1) as f64,
            test_accuracy: accuracy(test, &params.context(), decoder),
        };
        if !on_epoch(epoch, stats, params) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use tgsh_common::PIXELS;
    use tgsh_model::{EncodedImages, Encoder};

    /// Random sparse images encoded by a fly hash (`h` units), labels, a
    /// decoder and task parameters.
    fn toy(n: usize, h: usize, seed: u64) -> (EncodedImages, Vec<u8>, Decoder, TaskParams) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let encoder = Encoder::flyhash(h, 7, &mut rng);
        let images: Vec<u8> = (0..n * PIXELS)
            .map(|_| if rng.random::<f32>() < 0.3 { rng.random() } else { 0 })
            .collect();
        let labels = (0..n).map(|_| rng.random_range(0..10u8)).collect();
        let w2: Vec<f32> = (0..CLASSES * h).map(|_| rng.random::<f32>() - 0.5).collect();
        let decoder = Decoder::new(&w2);
        let params = TaskParams {
            modulation: (0..h).map(|_| rng.random::<f32>() - 0.5).collect(),
            strength: 1.3,
        };
        (encoder.encode_rows(&images, None), labels, decoder, params)
    }

    #[test]
    fn analytic_gradients_match_finite_differences() {
        let (h, n) = (24, 40);
        let (rows, labels, decoder, params) = toy(n, h, 7);
        let data = Encoded {
            rows: rows.rows(),
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
        let (h, n) = (300, 100);
        let (rows, labels, decoder, params) = toy(n, h, 9);
        let data = Encoded {
            rows: rows.rows(),
            labels: &labels,
        };
        let hyper = Hyper {
            epochs: 2,
            batch_size: 48,
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
        };
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut p = params.clone();
                let mut stats = Vec::new();
                train_task(
                    data,
                    data,
                    &decoder,
                    &mut p,
                    &hyper,
                    &mut ChaCha8Rng::seed_from_u64(1),
                    |_, s| stats.push(s),
                )
                .unwrap();
                (p, stats)
            })
        };
        let one = run(1);
        assert_ne!(one.0, params);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
    }

    #[test]
    fn several_tasks_at_once_give_each_task_its_own_bits() {
        // Tasks of different sizes (two not a multiple of the chunk), with and without the gate.
        let h = 200;
        let parts: Vec<_> = [(37usize, 1u64), (16, 2), (50, 3)]
            .iter()
            .map(|&(n, seed)| toy(n, h, seed))
            .collect();
        let decoder = &parts[0].2;
        let contexts: Vec<Vec<f32>> = parts.iter().map(|p| p.3.context()).collect();
        let tasks: Vec<TaskBatch<'_>> = parts
            .iter()
            .zip(&contexts)
            .map(|((rows, labels, _, _), context)| TaskBatch {
                data: Encoded {
                    rows: rows.rows(),
                    labels,
                },
                context,
            })
            .collect();
        for gate in [false, true] {
            let mut together = Vec::new();
            context_gradients(&tasks, decoder, gate, &mut TasksScratch::default(), &mut together);
            for (task, got) in tasks.iter().zip(&together) {
                let (mut grad, mut gate_product) = (Vec::new(), Vec::new());
                let figures = context_gradient(
                    task.data,
                    task.context,
                    decoder,
                    &mut GradientScratch::default(),
                    &mut grad,
                    gate.then_some(&mut gate_product),
                );
                assert_eq!(got.grad, grad);
                assert_eq!(got.figures, figures);
                if gate {
                    assert_eq!(got.gate, gate_product);
                }
            }
        }
    }

    #[test]
    fn a_nan_loss_stops_with_task_epoch_and_step() {
        let (h, n) = (16, 20);
        let (rows, labels, decoder, mut params) = toy(n, h, 4);
        params.strength = f32::NAN;
        let data = Encoded {
            rows: rows.rows(),
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
