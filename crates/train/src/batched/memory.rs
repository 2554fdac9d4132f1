//! What a sweep keeps on the device, decided before anything is uploaded.
//!
//! A lane is one (seed, task) pair. Its inputs can live on the device in two
//! ways:
//!
//! - **encoded**: every lane's `r(x)` rows, `n x H` f32, computed once. A
//!   RotationMNIST lane is 70,000 x 7,840 x 4 bytes = 2.2 GB, so 36 tasks x 5
//!   seeds would need 371 GiB: only small sweeps (the smoke pipeline, tests)
//!   fit.
//! - **streamed**: each task's raw images (784 bytes each) and labels, shared
//!   by all seeds; every minibatch is encoded on the device as it is drawn
//!   (one batched matrix product per step). RotationMNIST's 36 tasks take
//!   1.85 GiB.
//!
//! The rule ([`plan`]): keep every lane encoded when the whole sweep fits the
//! budget and one tensor ([`MAX_TENSOR_VALUES`]; no encoding work per step);
//! otherwise stream, with as many tasks
//! per group as fit (all of them, on any GPU this project targets); when not
//! even one task with all its seeds fits, stop with an error that says how
//! much was needed. The estimate is deliberately generous about the step's
//! temporaries ([`STEP_BYTES_PER_VALUE`]), so a plan that fits does not run
//! out of memory halfway.

use std::fmt;

/// Bytes of device memory per `lane x row x H` value of a step's working
/// set: the f16 pixel sums, their f32 copy, the centred and rectified rows,
/// and the product read by the backward pass, with room to spare.
pub const STEP_BYTES_PER_VALUE: u64 = 16;

/// Bytes per pixel (u8) and per label (u32) of a streamed image.
const IMAGE_BYTES: u64 = 784 + 4;

/// The most values one input tensor may hold: candle's CUDA `index_select`
/// (the minibatch gather) computes source offsets in 32-bit unsigned
/// integers, so rows past 2^32 - 1 values are read from the wrong place
/// without an error (seen on an H200: AugmentMNIST kept encoded, 18.8e9
/// values, trained every lane past the first 4.3e9 on garbage). The CPU
/// backend follows the same plan, so the grouping its tests check is the
/// one a GPU runs.
pub const MAX_TENSOR_VALUES: u64 = u32::MAX as u64;

/// How the inputs are kept: asked for by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Residency {
    /// Encoded when the whole sweep fits, else streamed.
    #[default]
    Auto,
    /// Every lane's rows encoded once (fails when not even one task fits).
    Encoded,
    /// Raw images on the device, each minibatch encoded as it is drawn.
    Streamed,
}

/// The sizes a plan depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepShape {
    /// Seeds (each its own encoder and decoder).
    pub seeds: usize,
    /// Tasks.
    pub tasks: usize,
    /// Hidden units `H`.
    pub hidden: usize,
    /// Training images per task.
    pub train_rows: usize,
    /// Test images per task.
    pub test_rows: usize,
    /// Rows per lane in one step (the minibatch, and the test-evaluation chunk).
    pub step_rows: usize,
    /// Bytes per encoder weight on the device (2 for the fly hash's f16, 4 for dense).
    pub encoder_weight_bytes: usize,
}

/// The bytes a group of tasks needs, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes {
    /// Encoders and decoders of every seed.
    pub fixed: u64,
    /// Images and labels (streamed) or encoded rows and labels (encoded).
    pub inputs: u64,
    /// Each lane's modulation, strength, RMSprop state and batch order.
    pub lanes: u64,
    /// One step's temporaries.
    pub step: u64,
}

impl Bytes {
    /// Everything.
    pub fn total(&self) -> u64 {
        self.fixed + self.inputs + self.lanes + self.step
    }
}

/// What will be kept on the device, and how the tasks are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Encoded or streamed (never `Auto`).
    pub residency: Residency,
    /// Tasks trained together (all seeds of each); the last group may be smaller.
    pub tasks_per_group: usize,
    /// What one full group needs.
    pub bytes: Bytes,
    /// The budget it was planned against (`None`: unlimited).
    pub budget: Option<u64>,
    /// What keeping the whole sweep encoded would need.
    pub encoded_whole: u64,
    /// The sweep's shape.
    pub shape: SweepShape,
}

/// No plan fits the budget.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "the device has {budget} for training but even one task with its {seeds} seed(s) needs {needed} \
     ({residency:?}); free GPU memory, train fewer seeds at once (--seed), lower train.hidden, or use --device cpu"
)]
pub struct DoesNotFit {
    /// The budget, formatted.
    pub budget: String,
    /// What one task needs, formatted.
    pub needed: String,
    /// Seeds per task.
    pub seeds: usize,
    /// The residency that was tried.
    pub residency: Residency,
}

/// The bytes of a group of `tasks` tasks (all seeds) kept as `residency`.
pub fn group_bytes(shape: &SweepShape, tasks: usize, residency: Residency) -> Bytes {
    let (s, h) = (shape.seeds as u64, shape.hidden as u64);
    let lanes = s * tasks as u64;
    let rows = (shape.train_rows + shape.test_rows) as u64;
    let fixed = s * h * (784 * shape.encoder_weight_bytes as u64 + 10 * 4);
    let inputs = match residency {
        Residency::Encoded => lanes * rows * (h * 4 + 4),
        Residency::Streamed | Residency::Auto => tasks as u64 * rows * IMAGE_BYTES,
    };
    // Parameters, RMSprop state, context, gradients (8 vectors of H), and the
    // batch order of this epoch and the next, plus the test-set index.
    let lane_bytes = lanes * (8 * h * 4 + (2 * shape.train_rows as u64 + shape.test_rows as u64) * 4);
    let step = lanes * shape.step_rows as u64 * h * STEP_BYTES_PER_VALUE;
    Bytes {
        fixed,
        inputs,
        lanes: lane_bytes,
        step,
    }
}

/// The values of a group's largest input tensor (its training or its test
/// split), which [`MAX_TENSOR_VALUES`] bounds.
pub fn largest_tensor_values(shape: &SweepShape, tasks: usize, residency: Residency) -> u64 {
    let rows = shape.train_rows.max(shape.test_rows) as u64;
    match residency {
        Residency::Encoded => (shape.seeds * tasks) as u64 * rows * shape.hidden as u64,
        Residency::Streamed | Residency::Auto => tasks as u64 * rows * 784,
    }
}

/// Decides the residency and the grouping of tasks under `budget` bytes
/// (`None`: no limit, as on the CPU backend) and [`MAX_TENSOR_VALUES`].
pub fn plan(shape: SweepShape, budget: Option<u64>, asked: Residency) -> Result<Plan, DoesNotFit> {
    let fits = |tasks: usize, residency: Residency| {
        budget.is_none_or(|b| group_bytes(&shape, tasks, residency).total() <= b)
            && largest_tensor_values(&shape, tasks, residency) <= MAX_TENSOR_VALUES
    };
    let encoded_whole = group_bytes(&shape, shape.tasks, Residency::Encoded).total();
    let residency = match asked {
        Residency::Auto if fits(shape.tasks, Residency::Encoded) => Residency::Encoded,
        Residency::Auto => Residency::Streamed,
        other => other,
    };
    // The largest group that fits: memory grows with the group, so search down.
    let tasks_per_group = (1..=shape.tasks.max(1))
        .rev()
        .find(|&t| fits(t, residency))
        .ok_or_else(|| {
            let values = largest_tensor_values(&shape, 1, residency);
            let needed = if values > MAX_TENSOR_VALUES {
                format!("{values} values in one tensor, over the {MAX_TENSOR_VALUES} that candle's CUDA row gather addresses")
            } else {
                gib(group_bytes(&shape, 1, residency).total())
            };
            DoesNotFit {
                budget: budget.map_or("no limit".into(), gib),
                needed,
                seeds: shape.seeds,
                residency,
            }
        })?;
    Ok(Plan {
        residency,
        tasks_per_group,
        bytes: group_bytes(&shape, tasks_per_group, residency),
        budget,
        encoded_whole,
        shape,
    })
}

/// `1.85 GiB`, or `12.3 MiB` below a GiB.
pub fn gib(bytes: u64) -> String {
    let mib = bytes as f64 / (1u64 << 20) as f64;
    if mib < 1024.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{:.2} GiB", mib / 1024.0)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shape;
        let groups = s.tasks.div_ceil(self.tasks_per_group.max(1));
        let budget = self.budget.map_or("no limit".to_string(), gib);
        write!(
            f,
            "{} seed(s) x {} task(s) = {} lanes, {} task(s) per group ({groups} group(s)); ",
            s.seeds,
            s.tasks,
            s.seeds * s.tasks,
            self.tasks_per_group
        )?;
        match self.residency {
            Residency::Encoded => write!(f, "inputs kept encoded")?,
            // Either bound can be why: say both.
            _ => write!(
                f,
                "raw images kept, each minibatch encoded on the device (keeping every lane encoded would need {} and {} values in one tensor, at most {MAX_TENSOR_VALUES})",
                gib(self.encoded_whole),
                largest_tensor_values(s, s.tasks, Residency::Encoded)
            )?,
        }
        let b = &self.bytes;
        write!(
            f,
            "; device memory per group: {} = inputs {} + encoders and decoders {} + lane state {} + step buffers {} (budget {budget})",
            gib(b.total()),
            gib(b.inputs),
            gib(b.fixed),
            gib(b.lanes),
            gib(b.step)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rotation(seeds: usize) -> SweepShape {
        SweepShape {
            seeds,
            tasks: 36,
            hidden: 7840,
            train_rows: 60_000,
            test_rows: 10_000,
            step_rows: 128,
            encoder_weight_bytes: 2,
        }
    }

    #[test]
    fn rotation_mnist_with_five_seeds_streams_all_tasks_at_once_on_an_80_gb_gpu() {
        let budget = 72 << 30;
        let plan = plan(rotation(5), Some(budget), Residency::Auto).unwrap();
        assert_eq!(plan.residency, Residency::Streamed);
        assert_eq!(plan.tasks_per_group, 36);
        // The images are 36 x 70,000 x 788 bytes, about 1.85 GiB.
        assert_eq!(plan.bytes.inputs, 36 * 70_000 * 788);
        assert!(plan.bytes.total() < 8 << 30, "{plan}");
        // Encoded would be hundreds of GiB.
        assert!(plan.encoded_whole > 300 << 30);
        let text = plan.to_string();
        assert!(text.contains("180 lanes") && text.contains("raw images kept"), "{text}");
    }

    #[test]
    fn a_small_sweep_is_kept_encoded() {
        let shape = SweepShape {
            train_rows: 3000,
            test_rows: 1000,
            tasks: 4,
            ..rotation(1)
        };
        let plan = plan(shape, Some(72 << 30), Residency::Auto).unwrap();
        assert_eq!((plan.residency, plan.tasks_per_group), (Residency::Encoded, 4));
        // No budget (the CPU backend): encoded while one tensor can hold the sweep.
        let plan = super::plan(shape, None, Residency::Auto).unwrap();
        assert_eq!((plan.residency, plan.tasks_per_group), (Residency::Encoded, 4));
    }

    #[test]
    fn no_input_tensor_holds_more_values_than_a_32_bit_gather_addresses() {
        // AugmentMNIST: 8 tasks x 5 seeds fit an H200's memory encoded
        // (82 GiB) but would be 18.8e9 values in one tensor: streamed.
        let augment = SweepShape {
            tasks: 8,
            ..rotation(5)
        };
        let plan = plan(augment, Some(125 << 30), Residency::Auto).unwrap();
        assert_eq!((plan.residency, plan.tasks_per_group), (Residency::Streamed, 8));
        // The message names the bound that decided, not only the memory.
        let text = plan.to_string();
        assert!(text.contains("18816000000 values in one tensor"), "{text}");
        // Encoded on request: one task (5 x 60,000 x 7,840 = 2.35e9 values) per group.
        let plan = super::plan(augment, Some(125 << 30), Residency::Encoded).unwrap();
        assert_eq!((plan.residency, plan.tasks_per_group), (Residency::Encoded, 1));
        assert!(largest_tensor_values(&augment, 1, Residency::Encoded) <= MAX_TENSOR_VALUES);
        assert!(largest_tensor_values(&augment, 2, Residency::Encoded) > MAX_TENSOR_VALUES);
        // Without a memory limit the same bound holds.
        let plan = super::plan(rotation(5), None, Residency::Auto).unwrap();
        assert_eq!((plan.residency, plan.tasks_per_group), (Residency::Streamed, 36));
        // Even one task over the bound: an error that says so.
        let wide = SweepShape { seeds: 10, ..augment };
        let text = super::plan(wide, None, Residency::Encoded).unwrap_err().to_string();
        assert!(text.contains("values in one tensor"), "{text}");
    }

    #[test]
    fn a_small_budget_splits_the_tasks_into_groups_and_a_tiny_one_is_an_error() {
        let bytes = |tasks| group_bytes(&rotation(5), tasks, Residency::Streamed).total();
        let plan = plan(rotation(5), Some(bytes(3) + 1), Residency::Auto).unwrap();
        assert_eq!((plan.residency, plan.tasks_per_group), (Residency::Streamed, 3));
        assert_eq!(plan.to_string().matches("(12 group(s))").count(), 1, "{plan}");
        let err = super::plan(rotation(5), Some(bytes(1) - 1), Residency::Auto).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("5 seed(s)") && text.contains("--device cpu"), "{text}");
        // Encoded on request: each group as large as fits.
        let plan = super::plan(rotation(1), Some(5 << 30), Residency::Encoded).unwrap();
        assert_eq!((plan.residency, plan.tasks_per_group), (Residency::Encoded, 2));
    }
}
