//! One training step of every lane at once: the CPU trainer's step
//! (`kernels.rs`), written as batched tensor products.
//!
//! With `L` lanes, `b` rows per lane and `H` hidden units, lane `l`'s
//! context is `c_l = s_l m_l` and its modulated decoder `Mt_l = c_l ⊙ W2`
//! (`10 x H`, with its seed's decoder). Then, per lane,
//!
//! ```text
//! logits = R Mtᵀ                      (b x H)(H x 10): one batched product
//! g      = (softmax(logits) - onehot(y)) / b
//! dL/dc  = Σ_k W2_k ⊙ (gᵀ R)_k          (10 x b)(b x H): one batched product
//! dL/dm  = s dL/dc                    dL/ds = m · dL/dc
//! ```
//!
//! and PyTorch's RMSprop on `m` and `s`, element by element, which is the
//! same as a fresh optimiser per task because its state is per element.
//! Nothing here reads a value back to the host: the loss and correct count
//! come back as device tensors, summed on the device over the epoch.

use crate::kernels::Hyper;
use candle_core::{DType, Result, Tensor, D};
use tgsh_common::CLASSES;

/// Every lane's learned parameters and RMSprop state, on the device.
pub struct LaneState {
    /// `m`, `L x H`.
    pub modulation: Tensor,
    /// `s`, `L x 1`.
    pub strength: Tensor,
    /// RMSprop's running mean of `(dL/dm)²`, `L x H`.
    square_avg_m: Tensor,
    /// RMSprop's running mean of `(dL/ds)²`, `L x 1`.
    square_avg_s: Tensor,
}

impl LaneState {
    /// Starts from `modulation` (`L x H`) and `strength` (`L x 1`), with
    /// fresh RMSprop state.
    pub fn new(modulation: Tensor, strength: Tensor) -> Result<LaneState> {
        Ok(LaneState {
            square_avg_m: modulation.zeros_like()?,
            square_avg_s: strength.zeros_like()?,
            modulation,
            strength,
        })
    }

    /// The context vectors `c = s m`, `L x H`.
    pub fn context(&self) -> Result<Tensor> {
        self.modulation.broadcast_mul(&self.strength)
    }
}

/// The seeds' decoders, `seeds x 10 x H`, and how lanes map onto seeds.
pub struct Decoders {
    /// `seeds x 1 x 10 x H`: broadcast over a seed's tasks.
    weight: Tensor,
    /// Tasks per seed in the current group.
    tasks: usize,
    /// The class numbers `0..10`, `1 x 1 x 10` u32, for one-hot labels
    /// (made once: a tensor made from host values is an upload).
    classes: Tensor,
}

impl Decoders {
    /// `weight` is `seeds x 10 x H`; lanes are seed-major with `tasks` per seed.
    pub fn new(weight: &Tensor, tasks: usize) -> Result<Decoders> {
        Ok(Decoders {
            weight: weight.unsqueeze(1)?,
            tasks,
            classes: Tensor::arange(0u32, CLASSES as u32, weight.device())?.reshape((1, 1, CLASSES))?,
        })
    }

    /// `(seeds, tasks, H)`.
    fn dims(&self) -> Result<(usize, usize, usize)> {
        Ok((self.weight.dim(0)?, self.tasks, self.weight.dim(3)?))
    }

    /// Each lane's `c ⊙ W2`, `L x 10 x H`.
    fn modulated(&self, context: &Tensor) -> Result<Tensor> {
        let (s, t, h) = self.dims()?;
        context
            .reshape((s, t, 1, h))?
            .broadcast_mul(&self.weight)?
            .reshape((s * t, CLASSES, h))
    }

    /// `Σ_k W2_k ⊙ x_k` for each lane's `x` (`L x 10 x H`), giving `L x H`.
    fn project(&self, x: &Tensor) -> Result<Tensor> {
        let (s, t, h) = self.dims()?;
        x.reshape((s, t, CLASSES, h))?
            .broadcast_mul(&self.weight)?
            .sum(2)?
            .reshape((s * t, h))
    }
}

/// Logits `L x b x 10` of encoded rows `L x b x H` under each lane's context.
pub fn logits(rows: &Tensor, context: &Tensor, decoders: &Decoders) -> Result<Tensor> {
    rows.matmul(&decoders.modulated(context)?.transpose(1, 2)?)
}

/// Correct predictions per lane (`L`, f32) of `logits` against `labels` (`L x b`, u32).
pub fn correct(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    logits.argmax(D::Minus1)?.eq(labels)?.to_dtype(DType::F32)?.sum(1)
}

/// One step on every lane: updates `state` in place and returns the mean
/// cross-entropy per lane (`L`) and the correct count per lane (`L`, f32),
/// both measured before the update, as the CPU trainer does.
pub fn train_step(
    rows: &Tensor,
    labels: &Tensor,
    decoders: &Decoders,
    state: &mut LaneState,
    hyper: &Hyper,
) -> Result<(Tensor, Tensor)> {
    let b = rows.dim(1)?;
    let logits = logits(rows, &state.context()?, decoders)?;
    let right = correct(&logits, labels)?;
    // Log-softmax with the maximum subtracted, as the CPU's softmax_ce.
    let shifted = logits.broadcast_sub(&logits.max_keepdim(D::Minus1)?)?;
    let log_p = shifted.broadcast_sub(&shifted.exp()?.sum_keepdim(D::Minus1)?.log()?)?;
    let labels = labels.unsqueeze(2)?;
    let loss = log_p.gather(&labels, 2)?.sum((1, 2))?.affine(-1.0 / b as f64, 0.0)?;
    let onehot = labels.broadcast_eq(&decoders.classes)?.to_dtype(DType::F32)?;
    let scale = 1.0 / b as f32;
    let g = (log_p.exp()? - onehot)?.affine(scale as f64, 0.0)?;
    let grad_c = decoders.project(&g.transpose(1, 2)?.matmul(rows)?)?;
    let grad_m = grad_c.broadcast_mul(&state.strength)?;
    let grad_s = (&state.modulation * &grad_c)?.sum_keepdim(1)?;
    rmsprop(&mut state.modulation, &grad_m, &mut state.square_avg_m, hyper)?;
    rmsprop(&mut state.strength, &grad_s, &mut state.square_avg_s, hyper)?;
    Ok((loss, right))
}

/// PyTorch's RMSprop, in the CPU trainer's order of operations:
/// `v = αv + ((1-α)g)g`, `p -= (lr g) / (√v + ε)`.
fn rmsprop(param: &mut Tensor, grad: &Tensor, square_avg: &mut Tensor, hyper: &Hyper) -> Result<()> {
    let one_minus_alpha = 1.0 - hyper.alpha;
    *square_avg = (square_avg.affine(hyper.alpha as f64, 0.0)? + (grad.affine(one_minus_alpha as f64, 0.0)? * grad)?)?;
    let denominator = square_avg.sqrt()?.affine(1.0, hyper.eps as f64)?;
    *param = (&*param - (grad.affine(hyper.lr as f64, 0.0)? / denominator)?)?;
    Ok(())
}
