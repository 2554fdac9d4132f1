//! Joint training of a context manifold (or a baseline) over the training
//! tasks of a held-out pipeline.
//!
//! A CRWN trains one task at a time. A manifold `c(s) = Σ_k φ_k(s) P_k`
//! shares its parameters across tasks, so it is trained on all of them at
//! once: each step takes one minibatch from every training task `t`,
//! computes that task's gradient with respect to its context,
//! `g_t = dL_t/dc` at `c(s_t)` (the CRWN's hand-derived kernel,
//! [`kernels::context_gradient`]), and combines them into the gradient of
//! the mean loss over tasks:
//!
//! ```text
//! dL/dP_k = mean_t φ_k(s_t) g_t
//! ```
//!
//! Then either RMSprop on that gradient (the project's optimiser, as for
//! the CRWN), or the paper's metric-preconditioned step, plain SGD through
//! the inverse Gram matrix of the basis: `ΔP = -η G⁻¹ dL/dP`.
//!
//! Input conditioning trains a shared context `c` and `U` in
//! `r(x, s) = relu(W1 x - mean + U e(s))`; with `γ_t = dL_t/db` at the bias
//! `b = U e(s_t)` (the kernel's gated product times `c`),
//! `dL/dU = mean_t γ_t e(s_t)ᵀ` and `dL/dc = mean_t g_t`.
//!
//! Budget: an epoch passes once over every training task's images, as a
//! CRWN epoch does, so `epochs` epochs show each image of each training
//! task `epochs` times. Images are encoded minibatch by minibatch as they
//! are used (the fly hash is cheap), so no task's encoded images (0.94 GB
//! for 60,000) are ever held; every method sees the same minibatches
//! (shuffles drawn per task from the seed).

use crate::kernels::{self, BatchFigures, Diverged, Hyper, TaskBatch, TaskGradient, TasksScratch};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use tgsh_common::PIXELS;
use tgsh_model::forward::{self, Encoded, Readout};
use tgsh_model::manifold::TaskPoint;
use tgsh_model::{Conditioned, Decoder, EncodedImages, Encoder};

/// How the parameters move along their gradient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// RMSprop with the CRWN's settings ([`Hyper`]).
    Rmsprop,
    /// `ΔP = -lr G⁻¹ dL/dP`: the paper's metric-preconditioned SGD.
    Metric {
        /// The step size `η`.
        lr: f32,
    },
    /// `ΔP = -lr dL/dP`: plain SGD, the control that isolates the metric.
    Sgd {
        /// The step size.
        lr: f32,
    },
}

/// The convergence rule of the held-out pipelines: training stops once the
/// validation accuracy has not improved (strictly) for `patience` epochs,
/// and the parameters of the best epoch (the first, on ties) are kept.
#[derive(Debug, Clone)]
pub struct Convergence<P> {
    patience: usize,
    best: Option<(f64, usize, P)>,
}

impl<P: Clone> Convergence<P> {
    /// A rule with this patience (epochs).
    pub fn new(patience: usize) -> Self {
        Convergence { patience, best: None }
    }

    /// Records epoch `epoch`'s validation accuracy and parameters; returns
    /// whether training goes on.
    pub fn observe(&mut self, epoch: usize, validation: f64, params: &P) -> bool {
        if self.best.as_ref().is_none_or(|(best, _, _)| validation > *best) {
            self.best = Some((validation, epoch, params.clone()));
        }
        let best_epoch = self.best.as_ref().map_or(epoch, |b| b.1);
        epoch - best_epoch < self.patience
    }

    /// The best epoch and its parameters (`None` before any epoch).
    pub fn best(self) -> Option<(usize, P)> {
        self.best.map(|(_, epoch, params)| (epoch, params))
    }
}

/// Images of one task (all its training images, or one minibatch).
#[derive(Debug, Clone, Copy)]
pub struct TaskImages<'a> {
    /// The task variable `s` (on a torus family, the first of two).
    pub s: f64,
    /// The second task variable on a torus family; 0 on a one-variable family.
    pub s2: f64,
    /// Images, concatenated 784-byte rows.
    pub images: &'a [u8],
    /// Their labels.
    pub labels: &'a [u8],
}

impl TaskImages<'_> {
    /// Where the task sits: `(s, s2)`.
    pub fn point(&self) -> TaskPoint {
        TaskPoint { s: self.s, s2: self.s2 }
    }
}

/// The gradient of the mean loss over tasks, shaped like [`Conditioned`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gradient {
    /// `dL/dP`, `K x H`.
    pub coefficients: Vec<f32>,
    /// `dL/dU`, `H x E`.
    pub input: Vec<f32>,
}

/// Reused buffers of a joint step.
#[derive(Default)]
pub struct Scratch {
    contexts: Vec<Vec<f32>>,
    rows: Vec<EncodedImages>,
    kernel: TasksScratch,
    grads: Vec<TaskGradient>,
}

/// The gradient of `mean_t L_t` over the tasks' minibatches `batches`
/// (each `L_t` the mean cross-entropy of its minibatch) with respect to
/// `params`, into `out`; returns the summed loss and correct count. Every
/// task's minibatch is encoded and differentiated in one parallel pass;
/// the tasks' gradients are then added in task order, so the result is
/// deterministic.
pub fn joint_gradient(
    encoder: &Encoder,
    decoder: &Decoder,
    batches: &[TaskImages<'_>],
    params: &Conditioned,
    scratch: &mut Scratch,
    out: &mut Gradient,
) -> BatchFigures {
    let h = params.hidden();
    let inputs = params.encoding.len();
    let tasks = batches.len();
    scratch.contexts.resize_with(tasks, Vec::new);
    scratch.rows.resize_with(tasks, Default::default);
    // Each task's context and encoded minibatch (its bias before the ReLU).
    scratch
        .contexts
        .par_iter_mut()
        .zip(scratch.rows.par_iter_mut())
        .zip(batches)
        .for_each(|((context, rows), batch)| {
            params.context_into(batch.point(), context);
            encoder.encode_rows_into(batch.images, params.bias(batch.point()).as_deref(), rows);
        });
    let task_batches: Vec<TaskBatch<'_>> = batches
        .iter()
        .zip(&scratch.contexts)
        .zip(&scratch.rows)
        .map(|((batch, context), rows)| TaskBatch {
            data: Encoded {
                rows: rows.rows(),
                labels: batch.labels,
            },
            context,
        })
        .collect();
    kernels::context_gradients(
        &task_batches,
        decoder,
        inputs > 0,
        &mut scratch.kernel,
        &mut scratch.grads,
    );
    let grads = &scratch.grads;
    let weight = 1.0 / tasks as f64;
    // dL/dP_k = Σ_t φ_k(s_t) g_t / T, tasks in order for every element.
    let phis: Vec<Vec<f32>> = batches
        .iter()
        .map(|b| {
            params
                .basis
                .values(b.point())
                .iter()
                .map(|&phi| (phi * weight) as f32)
                .collect()
        })
        .collect();
    out.coefficients.clear();
    out.coefficients.resize(params.coefficients.len(), 0.0);
    out.coefficients.par_chunks_mut(h).enumerate().for_each(|(k, row)| {
        for (phi, grad) in phis.iter().zip(grads) {
            let phi = phi[k];
            for (p, &g) in row.iter_mut().zip(&grad.grad) {
                *p = phi.mul_add(g, *p);
            }
        }
    });
    // dL/dU_hj = Σ_t e_j(s_t) c_h gate_h / T, tasks in order for every element.
    out.input.clear();
    out.input.resize(params.input.len(), 0.0);
    if inputs > 0 {
        let es: Vec<Vec<f32>> = batches
            .iter()
            .map(|b| {
                params
                    .encoding
                    .values(b.point())
                    .iter()
                    .map(|&v| (v * weight) as f32)
                    .collect()
            })
            .collect();
        const UNITS: usize = 256;
        let contexts = &scratch.contexts;
        out.input
            .par_chunks_mut(UNITS * inputs)
            .enumerate()
            .for_each(|(block, u)| {
                for ((e, grad), context) in es.iter().zip(grads).zip(contexts) {
                    for (i, u) in u.chunks_exact_mut(inputs).enumerate() {
                        let unit = block * UNITS + i;
                        let gamma = context[unit] * grad.gate[unit];
                        for (u, &e) in u.iter_mut().zip(e) {
                            *u = e.mul_add(gamma, *u);
                        }
                    }
                }
            });
    }
    let mut total = BatchFigures::default();
    for grad in grads {
        total.loss_sum += grad.figures.loss_sum;
        total.correct += grad.figures.correct;
    }
    total
}

/// `mean_t L_t` over `batches`, in f64 (the finite-difference reference
/// of the tests, and the pilot's validation loss).
pub fn joint_loss(encoder: &Encoder, decoder: &Decoder, batches: &[TaskImages<'_>], params: &Conditioned) -> f64 {
    let mut total = 0.0;
    for batch in batches {
        let encoded = encoder.encode_rows(batch.images, params.bias(batch.point()).as_deref());
        let context = params.context(batch.point());
        let sum: f64 = batch
            .labels
            .iter()
            .enumerate()
            .map(|(i, &y)| forward::softmax_ce(&forward::logits(encoded.rows(), i, &context, decoder), y).1 as f64)
            .sum();
        total += sum / batch.labels.len() as f64;
    }
    total / batches.len() as f64
}

/// The accuracy of `params` on one task's images at `s` (encoded block by block).
pub fn accuracy(
    encoder: &Encoder,
    decoder: &Decoder,
    params: &Conditioned,
    s: impl Into<TaskPoint> + Copy,
    images: &[u8],
    labels: &[u8],
) -> f64 {
    let context = params.context(s);
    let readout = Readout {
        context: &context,
        decoder,
    };
    let correct = forward::correct_counts_of_images(encoder, params.bias(s).as_deref(), images, labels, &[readout]);
    correct[0] as f64 / labels.len().max(1) as f64
}

/// One epoch's figures, over every training task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JointEpoch {
    /// Mean over steps of the mean loss over tasks.
    pub loss: f64,
    /// Accuracy on the minibatches seen, before each step.
    pub train_accuracy: f64,
}

/// Optimiser state: RMSprop's running squares.
struct State {
    coefficients: Vec<f32>,
    input: Vec<f32>,
}

/// Moves `params` one step along `grad`.
fn update(params: &mut Conditioned, grad: &Gradient, rule: Rule, hyper: &Hyper, state: &mut State) {
    match rule {
        Rule::Rmsprop => {
            kernels::rmsprop(
                &mut params.coefficients,
                &grad.coefficients,
                &mut state.coefficients,
                hyper,
            );
            kernels::rmsprop(&mut params.input, &grad.input, &mut state.input, hyper);
        }
        Rule::Metric { lr } => {
            // P_k -= lr Σ_j (G⁻¹)_kj dL/dP_j.
            let k = params.basis.len();
            let h = params.hidden();
            let inverse = params.basis.gram_inverse();
            for a in 0..k {
                let row = &mut params.coefficients[a * h..(a + 1) * h];
                for b in 0..k {
                    let w = -lr * inverse[a * k + b] as f32;
                    if w != 0.0 {
                        for (p, &g) in row.iter_mut().zip(&grad.coefficients[b * h..(b + 1) * h]) {
                            *p = w.mul_add(g, *p);
                        }
                    }
                }
            }
            // Input conditioning has no manifold metric: plain SGD for U.
            for (u, &g) in params.input.iter_mut().zip(&grad.input) {
                *u = (-lr).mul_add(g, *u);
            }
        }
        Rule::Sgd { lr } => {
            for (p, &g) in params
                .coefficients
                .iter_mut()
                .chain(params.input.iter_mut())
                .zip(grad.coefficients.iter().chain(&grad.input))
            {
                *p = (-lr).mul_add(g, *p);
            }
        }
    }
}

/// Trains `params` jointly on `tasks` for up to `hyper.epochs` epochs of
/// `hyper.batch_size` images per task per step; `shuffles[t]` orders task
/// `t`'s images each epoch. Calls `on_epoch` after each epoch with its
/// figures and the parameters, and stops after the first epoch for which
/// it returns `false` (the convergence rule, [`Convergence`]).
// The fixed network, the data, the parameters, their optimiser and the
// shuffles are separate things; bundling them would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn train_joint(
    encoder: &Encoder,
    decoder: &Decoder,
    tasks: &[TaskImages<'_>],
    params: &mut Conditioned,
    hyper: &Hyper,
    rule: Rule,
    shuffles: &mut [ChaCha8Rng],
    mut on_epoch: impl FnMut(usize, JointEpoch, &Conditioned) -> bool,
) -> Result<(), Diverged> {
    assert_eq!(shuffles.len(), tasks.len(), "one shuffle per task");
    let n = tasks.first().map_or(0, |t| t.labels.len());
    assert!(
        tasks.iter().all(|t| t.labels.len() == n),
        "every task holds the same images, transformed"
    );
    let mut orders: Vec<Vec<usize>> = tasks.iter().map(|_| (0..n).collect()).collect();
    let mut state = State {
        coefficients: vec![0.0; params.coefficients.len()],
        input: vec![0.0; params.input.len()],
    };
    let (mut scratch, mut grad) = (Scratch::default(), Gradient::default());
    let mut gathered: Vec<(Vec<u8>, Vec<u8>)> = tasks.iter().map(|_| (Vec::new(), Vec::new())).collect();
    let steps = n.div_ceil(hyper.batch_size);
    for epoch in 1..=hyper.epochs {
        for (order, rng) in orders.iter_mut().zip(shuffles.iter_mut()) {
            order.shuffle(rng);
        }
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        for step in 0..steps {
            let range = step * hyper.batch_size..((step + 1) * hyper.batch_size).min(n);
            for ((images, labels), (task, order)) in gathered.iter_mut().zip(tasks.iter().zip(&orders)) {
                images.clear();
                labels.clear();
                for &i in &order[range.clone()] {
                    images.extend_from_slice(&task.images[i * PIXELS..(i + 1) * PIXELS]);
                    labels.push(task.labels[i]);
                }
            }
            let batches: Vec<TaskImages<'_>> = tasks
                .iter()
                .zip(&gathered)
                .map(|(task, (images, labels))| TaskImages {
                    s: task.s,
                    s2: task.s2,
                    images,
                    labels,
                })
                .collect();
            let figures = joint_gradient(encoder, decoder, &batches, params, &mut scratch, &mut grad);
            let mean = (figures.loss_sum / (range.len() * tasks.len()) as f64) as f32;
            if !mean.is_finite() {
                return Err(Diverged {
                    loss: mean,
                    epoch,
                    step,
                });
            }
            loss_sum += mean as f64;
            correct += figures.correct;
            update(params, &grad, rule, hyper, &mut state);
        }
        let figures = JointEpoch {
            loss: loss_sum / steps.max(1) as f64,
            train_accuracy: correct as f64 / (n * tasks.len()).max(1) as f64,
        };
        if !on_epoch(epoch, figures, params) {
            break;
        }
    }
    Ok(())
}

/// The mean accuracy of `params` over `tasks` (each task's images at its
/// `s`): the validation score of the convergence rule.
pub fn mean_accuracy(encoder: &Encoder, decoder: &Decoder, params: &Conditioned, tasks: &[TaskImages<'_>]) -> f64 {
    let total: f64 = tasks
        .iter()
        .map(|t| accuracy(encoder, decoder, params, t.point(), t.images, t.labels))
        .sum();
    total / tasks.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::TaskParams;
    use rand::{Rng, SeedableRng};
    use tgsh_model::torus::TorusBasis;
    use tgsh_model::{Basis, InputEncoding};

    /// Random sparse images and labels of `tasks` tasks at `s = t / tasks`.
    struct Toy {
        encoder: Encoder,
        decoder: Decoder,
        data: Vec<(f64, Vec<u8>, Vec<u8>)>,
    }

    impl Toy {
        fn new(tasks: usize, n: usize, h: usize) -> Toy {
            let mut rng = ChaCha8Rng::seed_from_u64(11);
            let encoder = Encoder::flyhash(h, 7, &mut rng);
            let w2: Vec<f32> = (0..10 * h).map(|_| rng.random::<f32>() - 0.5).collect();
            let decoder = Decoder::new(&w2);
            let data = (0..tasks)
                .map(|t| {
                    let images = (0..n * PIXELS)
                        .map(|_| if rng.random::<f32>() < 0.3 { rng.random() } else { 0 })
                        .collect();
                    let labels = (0..n).map(|_| rng.random_range(0..10u8)).collect();
                    (t as f64 / tasks as f64, images, labels)
                })
                .collect();
            Toy { encoder, decoder, data }
        }

        fn tasks(&self) -> Vec<TaskImages<'_>> {
            self.data
                .iter()
                .enumerate()
                .map(|(t, (s, images, labels))| TaskImages {
                    s: *s,
                    // A second variable for the torus bases (every
                    // one-variable basis ignores it).
                    s2: (0.37 * (t + 1) as f64).fract(),
                    images,
                    labels,
                })
                .collect()
        }
    }

    fn random_params(basis: Basis, encoding: InputEncoding, h: usize, seed: u64) -> Conditioned {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let k = basis.len();
        Conditioned {
            basis,
            coefficients: (0..k * h).map(|_| rng.random::<f32>() - 0.5).collect(),
            encoding,
            input: (0..h * encoding.len()).map(|_| rng.random::<f32>() - 0.5).collect(),
        }
    }

    fn check_against_finite_differences(params: &Conditioned, probes: &[(bool, usize)]) {
        let toy = Toy::new(3, 12, 24);
        let (encoder, decoder, batches) = (&toy.encoder, &toy.decoder, toy.tasks());
        let mut grad = Gradient::default();
        joint_gradient(encoder, decoder, &batches, params, &mut Scratch::default(), &mut grad);
        let eps = 1e-2f32;
        for &(input, i) in probes {
            let (mut up, mut down) = (params.clone(), params.clone());
            let (u, d, analytic) = if input {
                (&mut up.input[i], &mut down.input[i], grad.input[i])
            } else {
                (&mut up.coefficients[i], &mut down.coefficients[i], grad.coefficients[i])
            };
            *u += eps;
            *d -= eps;
            let numeric = (joint_loss(encoder, decoder, &batches, &up) - joint_loss(encoder, decoder, &batches, &down))
                / (2.0 * eps as f64);
            assert!(
                (numeric - analytic as f64).abs() < 2e-3 * (1.0 + numeric.abs()),
                "{} {}[{i}]: finite differences {numeric}, analytic {analytic}",
                params.basis.name(),
                if input { "U" } else { "P" },
            );
        }
    }

    #[test]
    fn manifold_gradients_match_finite_differences() {
        let h = 24;
        for basis in [
            Basis::Line,
            Basis::Fourier { order: 1 },
            Basis::Fourier { order: 2 },
            Basis::Torus(TorusBasis::Product { order: 1 }),
            Basis::Torus(TorusBasis::Additive { order: 2 }),
        ] {
            let k = basis.len();
            let params = random_params(basis, InputEncoding::None, h, 5);
            let probes: Vec<(bool, usize)> = (0..k).flat_map(|k| [(false, k * h + 3), (false, k * h + 17)]).collect();
            check_against_finite_differences(&params, &probes);
        }
    }

    #[test]
    fn input_conditioning_gradients_match_finite_differences() {
        let h = 24;
        let mut params = random_params(Basis::Constant, InputEncoding::Circle, h, 6);
        // A larger projection, so the ReLU gates differ between tasks.
        params.input.iter_mut().for_each(|u| *u *= 4.0);
        let probes = [
            (false, 2),
            (false, 20),
            (true, 0),
            (true, 5),
            (true, 2 * 11 + 1),
            (true, 2 * 23),
        ];
        check_against_finite_differences(&params, &probes);
        // On a torus: the eight terms of both variables.
        let mut params = random_params(Basis::Constant, InputEncoding::Torus, h, 7);
        params.input.iter_mut().for_each(|u| *u *= 2.0);
        let probes = [
            (false, 4),
            (true, 0),
            (true, 8 * 5 + 3),
            (true, 8 * 17 + 7),
            (true, 8 * 23 + 5),
        ];
        check_against_finite_differences(&params, &probes);
    }

    #[test]
    fn one_hot_joint_training_is_independent_training_of_each_point() {
        // Points as a special case of the manifold: with a one-hot basis,
        // each task's point moves with its own gradient only; RMSprop
        // divides out the 1/T of the mean over tasks (up to its epsilon), so
        // joint training equals training each context alone.
        let toy = Toy::new(3, 20, 16);
        let (encoder, decoder, tasks) = (&toy.encoder, &toy.decoder, toy.tasks());
        let hyper = Hyper {
            epochs: 2,
            batch_size: 8,
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
        };
        let c0: Vec<f32> = (0..16).map(|h| 0.1 * h as f32 - 0.7).collect();
        let points: Vec<f64> = tasks.iter().map(|t| t.s).collect();
        let mut joint = Conditioned::constant(Basis::OneHot { points }, &c0, InputEncoding::None);
        let rng = |t: u64| ChaCha8Rng::seed_from_u64(100 + t);
        let mut shuffles: Vec<ChaCha8Rng> = (0..3).map(rng).collect();
        train_joint(
            encoder,
            decoder,
            &tasks,
            &mut joint,
            &hyper,
            Rule::Rmsprop,
            &mut shuffles,
            |_, _, _| true,
        )
        .unwrap();
        for (t, task) in tasks.iter().enumerate() {
            let mut alone = Conditioned::constant(Basis::Constant, &c0, InputEncoding::None);
            let one = std::slice::from_ref(task);
            let mut shuffle = [rng(t as u64)];
            train_joint(
                encoder,
                decoder,
                one,
                &mut alone,
                &hyper,
                Rule::Rmsprop,
                &mut shuffle,
                |_, _, _| true,
            )
            .unwrap();
            let (a, b) = (joint.context(task.s), alone.context(task.s));
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() < 1e-4, "task {t}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn the_metric_step_on_a_one_hot_basis_is_per_task_sgd() {
        // G = I/T, so G⁻¹ mean_t φ(s_t) g_t = g_t: each point takes a plain
        // SGD step on its own task's gradient.
        let toy = Toy::new(2, 10, 16);
        let (encoder, decoder, tasks) = (&toy.encoder, &toy.decoder, toy.tasks());
        let points: Vec<f64> = tasks.iter().map(|t| t.s).collect();
        let params = random_params(Basis::OneHot { points }, InputEncoding::None, 16, 9);
        let hyper = Hyper {
            epochs: 1,
            batch_size: 10,
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
        };
        let mut stepped = params.clone();
        let mut shuffles: Vec<ChaCha8Rng> = (0..2).map(ChaCha8Rng::seed_from_u64).collect();
        let lr = 0.5;
        train_joint(
            encoder,
            decoder,
            &tasks,
            &mut stepped,
            &hyper,
            Rule::Metric { lr },
            &mut shuffles,
            |_, _, _| true,
        )
        .unwrap();
        for (t, task) in tasks.iter().enumerate() {
            // The task's own gradient, from the CRWN's kernel (s = 1, m = c).
            let crwn = TaskParams {
                modulation: params.context(task.s),
                strength: 1.0,
            };
            let encoded = encoder.encode_rows(task.images, None);
            let data = Encoded {
                rows: encoded.rows(),
                labels: task.labels,
            };
            let all: Vec<usize> = (0..10).collect();
            let (g, _, _, _) = kernels::gradients(data, &all, &crwn, decoder);
            for (j, (&after, &before)) in stepped.context(task.s).iter().zip(&crwn.modulation).enumerate() {
                let expected = before - lr * g[j];
                assert!(
                    (after - expected).abs() < 1e-5,
                    "task {t} unit {j}: {after} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn the_sgd_step_is_the_metric_step_without_the_gram_inverse() {
        // On the circle G⁻¹ = diag(1, 2, 2): the metric step moves P1 as
        // plain SGD does and P2, P3 twice as far.
        let toy = Toy::new(3, 10, 16);
        let (encoder, decoder, tasks) = (&toy.encoder, &toy.decoder, toy.tasks());
        let params = random_params(Basis::Fourier { order: 1 }, InputEncoding::None, 16, 4);
        let hyper = Hyper {
            epochs: 1,
            batch_size: 10,
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
        };
        let step = |rule| {
            let mut p = params.clone();
            let mut shuffles: Vec<ChaCha8Rng> = (0..3).map(ChaCha8Rng::seed_from_u64).collect();
            train_joint(
                encoder,
                decoder,
                &tasks,
                &mut p,
                &hyper,
                rule,
                &mut shuffles,
                |_, _, _| true,
            )
            .unwrap();
            p
        };
        let (sgd, metric) = (step(Rule::Sgd { lr: 0.5 }), step(Rule::Metric { lr: 0.5 }));
        for (i, ((&s, &m), &p)) in sgd
            .coefficients
            .iter()
            .zip(&metric.coefficients)
            .zip(&params.coefficients)
            .enumerate()
        {
            let factor = if i < 16 { 1.0 } else { 2.0 };
            assert!(
                ((m - p) - factor * (s - p)).abs() < 1e-5,
                "{i}: {p} -> sgd {s}, metric {m}"
            );
        }
        assert_ne!(sgd, params);
    }

    #[test]
    fn convergence_keeps_the_best_epoch_and_stops_after_the_patience() {
        let mut rule = Convergence::new(2);
        let scores = [0.5, 0.7, 0.7, 0.6, 0.9];
        let mut went_on = Vec::new();
        for (e, &v) in scores.iter().enumerate() {
            let go = rule.observe(e + 1, v, &(e + 1));
            went_on.push(go);
            if !go {
                break;
            }
        }
        // Best 0.7 at epoch 2 (a tie does not improve); epochs 3 and 4 do
        // not improve on it, so training stops after epoch 4.
        assert_eq!(went_on, [true, true, true, false]);
        assert_eq!(rule.best(), Some((2, 2)));
    }

    #[test]
    fn joint_training_stops_when_on_epoch_says_so() {
        let toy = Toy::new(2, 16, 16);
        let (encoder, decoder, tasks) = (&toy.encoder, &toy.decoder, toy.tasks());
        let hyper = Hyper {
            epochs: 10,
            batch_size: 8,
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
        };
        let mut params = Conditioned::constant(Basis::Line, &[0.01; 16], InputEncoding::None);
        let mut shuffles: Vec<ChaCha8Rng> = (0..2).map(ChaCha8Rng::seed_from_u64).collect();
        let mut epochs = Vec::new();
        train_joint(
            encoder,
            decoder,
            &tasks,
            &mut params,
            &hyper,
            Rule::Rmsprop,
            &mut shuffles,
            |e, _, _| {
                epochs.push(e);
                e < 3
            },
        )
        .unwrap();
        assert_eq!(epochs, [1, 2, 3]);
    }

    #[test]
    fn joint_training_learns_and_is_deterministic() {
        let toy = Toy::new(3, 40, 32);
        let (encoder, decoder, tasks) = (&toy.encoder, &toy.decoder, toy.tasks());
        let hyper = Hyper {
            epochs: 3,
            batch_size: 16,
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
        };
        let run = |threads: usize, basis: Basis, encoding: InputEncoding| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut params = Conditioned::constant(basis, &[0.01; 32], encoding);
                let mut shuffles: Vec<ChaCha8Rng> = (0..3).map(ChaCha8Rng::seed_from_u64).collect();
                let mut losses = Vec::new();
                train_joint(
                    encoder,
                    decoder,
                    &tasks,
                    &mut params,
                    &hyper,
                    Rule::Rmsprop,
                    &mut shuffles,
                    |_, e, _| {
                        losses.push(e.loss);
                        true
                    },
                )
                .unwrap();
                (params, losses)
            })
        };
        // Input conditioning on a circle and on a torus, and the torus basis
        // (both task variables differ between the tasks).
        for (basis, encoding) in [
            (Basis::Constant, InputEncoding::Circle),
            (Basis::Constant, InputEncoding::Torus),
            (Basis::Torus(TorusBasis::Product { order: 1 }), InputEncoding::None),
        ] {
            let (one, losses) = run(1, basis.clone(), encoding);
            assert!(losses[2] < losses[0], "{}: {losses:?}", basis.name());
            assert_eq!(one, run(2, basis, encoding).0);
        }
    }
}
