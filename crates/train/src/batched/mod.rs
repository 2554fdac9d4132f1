//! The batched trainer: every (seed, task) pair of a sweep trained at once,
//! the shape a GPU should see this model in.
//!
//! A CRWN task learns only its own context vector; the encoder and decoder
//! are fixed per seed. So the tasks of a family, and the seeds, are
//! independent problems of identical shape, and a step of all of them is a
//! handful of batched tensor products ([`step`]). Each (seed, task) pair is a
//! *lane*; lanes are ordered seed-major. Per lane the protocol is the CPU
//! trainer's (`kernels::train_task`) to the draw: initial values from
//! `Model::init_task(task)`, batch order from `Model::shuffle_rng(task)`
//! shuffled anew each epoch, a fresh RMSprop (its state is per element, so
//! one optimiser over the stacked parameters is the same thing), loss and
//! accuracy measured before each step, test accuracy after each epoch.
//!
//! What travels between host and device, per epoch: the epoch's batch
//! order (uploaded once, [`inputs`]) and one read-back of every lane's
//! summed loss, correct count and test correct count, which is also where a
//! non-finite loss is caught. Inside an epoch, nothing: indices, labels,
//! images and the running sums all live on the device.
//!
//! Inputs are kept encoded when the whole sweep fits the device's memory,
//! else the raw images stay on the device and each minibatch is encoded as
//! it is drawn ([`memory`], [`device_encoder`]).
//!
//! The same code runs on candle's CPU backend, where the tests check it
//! against the CPU trainer lane by lane.

pub mod device_encoder;
pub mod inputs;
pub mod memory;
pub mod step;

use crate::kernels::{EpochStats, Hyper};
use crate::{TaskData, TrainError};
use candle_core::{DType, Device, Tensor};
use device_encoder::DeviceEncoder;
use inputs::{interleave, next_epoch, Inputs, LaneOrder};
pub use memory::{Plan, Residency};
use std::borrow::Cow;
use std::time::Instant;
use tgsh_common::CLASSES;
use tgsh_model::{Model, TaskParams};

/// How a sweep uses the device.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SweepOptions {
    /// Encoded, streamed, or decided by the memory plan.
    pub residency: Residency,
    /// Bytes of device memory training may use (`None`: no limit).
    pub memory_budget: Option<u64>,
}

impl SweepOptions {
    /// The options for `device`: the budget is 90 % of the GPU's free memory
    /// (none on the CPU backend), unless `TGSH_DEVICE_MEMORY_GIB` sets it;
    /// `TGSH_RESIDENCY` = `auto` | `encoded` | `streamed` forces the residency.
    pub fn for_device(device: &Device) -> Result<SweepOptions, TrainError> {
        let residency = match std::env::var("TGSH_RESIDENCY").as_deref() {
            Err(_) | Ok("auto") => Residency::Auto,
            Ok("encoded") => Residency::Encoded,
            Ok("streamed") => Residency::Streamed,
            Ok(other) => {
                return Err(TrainError::Setting(format!(
                    "TGSH_RESIDENCY={other}: expected auto, encoded or streamed"
                )))
            }
        };
        let memory_budget = match std::env::var("TGSH_DEVICE_MEMORY_GIB") {
            Ok(text) => match text.parse::<f64>() {
                Ok(gib) if gib > 0.0 => Some((gib * (1u64 << 30) as f64) as u64),
                _ => {
                    return Err(TrainError::Setting(format!(
                        "TGSH_DEVICE_MEMORY_GIB={text}: expected a positive number of GiB"
                    )))
                }
            },
            Err(_) => gpu_free_memory(device).map(|free| free / 10 * 9),
        };
        Ok(SweepOptions {
            residency,
            memory_budget,
        })
    }
}

/// One lane's epoch, as reported to the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneEpoch {
    /// Model seed.
    pub seed: u64,
    /// Task index.
    pub task: usize,
    /// 1-based epoch.
    pub epoch: usize,
    /// The epoch's figures.
    pub stats: EpochStats,
    /// The lane's share of the epoch's wall time (the batched epoch's time
    /// divided by the lanes trained in it), so the column sums to the total.
    pub seconds: f64,
}

/// Each seed's tasks' parameters, before and after training:
/// `result[seed_index][i]` for task `tasks[i]`.
pub type SweepParams = Vec<Vec<(TaskParams, TaskParams)>>;

/// Trains the tasks `tasks` (task indices) of every model in `models` (one
/// per seed) on `device`. `load(task)` reads a task's images (each task is
/// read once; a caller that holds them already lends them with
/// `Cow::Borrowed`); `on_epoch` hears every lane's every epoch.
pub fn train_sweep<'d>(
    device: &Device,
    models: &[Model],
    tasks: &[usize],
    mut load: impl FnMut(usize) -> Result<Cow<'d, TaskData>, TrainError>,
    hyper: &Hyper,
    options: &SweepOptions,
    mut on_epoch: impl FnMut(LaneEpoch),
) -> Result<SweepParams, TrainError> {
    let (Some(&first_task), false) = (tasks.first(), models.is_empty()) else {
        return Ok(vec![Vec::new(); models.len()]);
    };
    let task_count = tasks.len();
    let first = load(first_task)?;
    let shape = memory::SweepShape {
        seeds: models.len(),
        tasks: task_count,
        hidden: models[0].hidden(),
        train_rows: first.train_labels.len(),
        test_rows: first.test_labels.len(),
        step_rows: hyper.batch_size,
        encoder_weight_bytes: DeviceEncoder::weight_bytes(models),
    };
    let plan = memory::plan(shape, options.memory_budget, options.residency)?;
    eprintln!("train: batched on {}: {plan}", describe(device));
    let free_at_start = gpu_free_memory(device);
    let encoder = DeviceEncoder::new(models, device)?;
    let decoder: Vec<f32> = models.iter().flat_map(|m| m.decoder.iter().copied()).collect();
    let decoder = Tensor::from_vec(decoder, (models.len(), CLASSES, shape.hidden), device)?;
    let mut first = Some(first);
    let mut results: SweepParams = vec![Vec::with_capacity(task_count); models.len()];
    for tasks in tasks.chunks(plan.tasks_per_group) {
        let data = tasks
            .iter()
            .map(|&t| match first.take() {
                // The first task was read to size the plan: no second read.
                Some(data) => Ok(data),
                None => load(t),
            })
            .collect::<Result<Vec<_>, _>>()?;
        inputs::check_sizes(&data, tasks, (shape.train_rows, shape.test_rows))?;
        let group = Group {
            device,
            models,
            tasks,
            encoder: &encoder,
            decoder: &decoder,
            hyper,
            plan: &plan,
            free_at_start,
        };
        for (lane, params) in group.train(&data, &mut on_epoch)?.into_iter().enumerate() {
            results[lane / tasks.len()].push(params);
        }
    }
    Ok(results)
}

/// One group of tasks, with all seeds, trained together.
struct Group<'a> {
    device: &'a Device,
    models: &'a [Model],
    tasks: &'a [usize],
    encoder: &'a DeviceEncoder,
    decoder: &'a Tensor,
    hyper: &'a Hyper,
    plan: &'a Plan,
    /// The GPU's free memory before the sweep uploaded anything (CUDA only).
    free_at_start: Option<u64>,
}

impl Group<'_> {
    /// The (model, task) of lane `l`.
    fn lane(&self, l: usize) -> (&Model, usize) {
        (&self.models[l / self.tasks.len()], self.tasks[l % self.tasks.len()])
    }

    /// Trains the group; returns each lane's parameters before and after.
    fn train(
        &self,
        data: &[Cow<'_, TaskData>],
        on_epoch: &mut impl FnMut(LaneEpoch),
    ) -> Result<Vec<(TaskParams, TaskParams)>, TrainError> {
        let (device, hyper) = (self.device, self.hyper);
        let lanes = self.models.len() * self.tasks.len();
        let step_rows = self.plan.shape.step_rows;
        let inputs = Inputs::upload(
            data,
            self.plan.residency,
            self.encoder,
            self.models.len(),
            step_rows * self.tasks.len(),
            device,
        )?;
        let (n, n_test) = (inputs.train.rows, inputs.test.rows);
        let before: Vec<TaskParams> = (0..lanes)
            .map(|l| {
                let (model, task) = self.lane(l);
                model.init_task(task)
            })
            .collect();
        let h = self.plan.shape.hidden;
        let modulation: Vec<f32> = before.iter().flat_map(|p| p.modulation.iter().copied()).collect();
        let strength: Vec<f32> = before.iter().map(|p| p.strength).collect();
        let mut state = step::LaneState::new(
            Tensor::from_vec(modulation, (lanes, h), device)?,
            Tensor::from_vec(strength, (lanes, 1), device)?,
        )?;
        let decoders = step::Decoders::new(self.decoder, self.tasks.len())?;
        let mut orders: Vec<LaneOrder> = (0..lanes)
            .map(|l| {
                let (model, task) = self.lane(l);
                LaneOrder {
                    rng: model.shuffle_rng(task),
                    order: (0..n as u32).collect(),
                    base: inputs.base(l, n),
                }
            })
            .collect();
        // The test set in order, chunk by chunk: uploaded once for all epochs.
        let test_rows: Vec<Vec<u32>> = (0..lanes)
            .map(|l| (0..n_test as u32).map(|i| inputs.base(l, n_test) + i).collect())
            .collect();
        let test_index = Tensor::from_vec(interleave(&test_rows, step_rows), lanes * n_test, device)?;
        let batch = hyper.batch_size;
        let steps = n.div_ceil(batch);
        let mut index = next_epoch(&mut orders, batch);
        for epoch in 1..=hyper.epochs {
            let start = Instant::now();
            let epoch_index = Tensor::from_vec(std::mem::take(&mut index), lanes * n, device)?;
            let mut loss_sum = Tensor::zeros(lanes, DType::F32, device)?;
            let mut correct_sum = loss_sum.zeros_like()?;
            for s in 0..steps {
                let b = batch.min(n - s * batch);
                let at = epoch_index.narrow(0, s * batch * lanes, b * lanes)?;
                let (rows, labels) = inputs.train.gather(&at, lanes, self.encoder)?;
                let (loss, right) = step::train_step(&rows, &labels, &decoders, &mut state, hyper)?;
                loss_sum = (loss_sum + loss)?;
                correct_sum = (correct_sum + right)?;
            }
            let context = state.context()?;
            let mut test_correct = loss_sum.zeros_like()?;
            for start in (0..n_test).step_by(step_rows) {
                let c = step_rows.min(n_test - start);
                let at = test_index.narrow(0, start * lanes, c * lanes)?;
                let (rows, labels) = inputs.test.gather(&at, lanes, self.encoder)?;
                let logits = step::logits(&rows, &context, &decoders)?;
                test_correct = (test_correct + step::correct(&logits, &labels)?)?;
            }
            // The device is still working through the queued steps: shuffle
            // for the next epoch meanwhile.
            if epoch < hyper.epochs {
                index = next_epoch(&mut orders, batch);
            }
            // The epoch's one read-back.
            let figures: Vec<Vec<f32>> = Tensor::stack(&[loss_sum, correct_sum, test_correct], 0)?.to_vec2()?;
            let seconds = start.elapsed().as_secs_f64() / lanes as f64;
            let [losses, correct, test_correct] = &figures[..] else {
                unreachable!("three rows were stacked")
            };
            if let Some(l) = losses.iter().position(|loss| !loss.is_finite()) {
                let (model, task) = self.lane(l);
                return Err(TrainError::DivergedInEpoch {
                    seed: model.seed,
                    task,
                    epoch,
                    loss: losses[l] / steps as f32,
                });
            }
            if epoch == 1 {
                // Measured, beside the plan's estimate (CUDA only).
                if let (Some(before), Some(now)) = (self.free_at_start, gpu_free_memory(device)) {
                    eprintln!(
                        "train: device memory held after epoch 1: {} (planned at most {})",
                        memory::gib(before.saturating_sub(now)),
                        memory::gib(self.plan.bytes.total())
                    );
                }
            }
            for (l, ((&loss, &right), &test_right)) in losses.iter().zip(correct).zip(test_correct).enumerate() {
                let (model, task) = self.lane(l);
                on_epoch(LaneEpoch {
                    seed: model.seed,
                    task,
                    epoch,
                    stats: EpochStats {
                        loss: loss as f64 / steps as f64,
                        train_accuracy: right as f64 / n as f64,
                        test_accuracy: test_right as f64 / n_test as f64,
                    },
                    seconds,
                });
            }
        }
        let modulation: Vec<Vec<f32>> = state.modulation.to_vec2()?;
        let strength: Vec<Vec<f32>> = state.strength.to_vec2()?;
        Ok(before
            .into_iter()
            .zip(modulation.into_iter().zip(strength))
            .map(|(before, (modulation, strength))| {
                let after = TaskParams {
                    modulation,
                    strength: strength[0],
                };
                (before, after)
            })
            .collect())
    }
}

/// `cpu`, or the GPU's name.
pub fn describe(device: &Device) -> String {
    match device {
        Device::Cpu => "cpu (candle)".into(),
        Device::Cuda(_) => gpu_name(device).unwrap_or_else(|| "cuda".into()),
        Device::Metal(_) => "metal".into(),
    }
}

/// Free memory of the GPU `device` is on, in bytes (`None` off CUDA).
#[cfg(feature = "cuda")]
pub fn gpu_free_memory(device: &Device) -> Option<u64> {
    match device {
        Device::Cuda(gpu) => gpu
            .cuda_stream()
            .context()
            .mem_get_info()
            .ok()
            .map(|(free, _)| free as u64),
        _ => None,
    }
}

/// Free memory of the GPU `device` is on, in bytes (`None` off CUDA).
#[cfg(not(feature = "cuda"))]
pub fn gpu_free_memory(_device: &Device) -> Option<u64> {
    None
}

/// The GPU's name, as the driver reports it.
#[cfg(feature = "cuda")]
fn gpu_name(device: &Device) -> Option<String> {
    match device {
        Device::Cuda(gpu) => gpu.cuda_stream().context().name().ok(),
        _ => None,
    }
}

/// The GPU's name, as the driver reports it.
#[cfg(not(feature = "cuda"))]
fn gpu_name(_device: &Device) -> Option<String> {
    None
}

#[cfg(test)]
mod tests;
