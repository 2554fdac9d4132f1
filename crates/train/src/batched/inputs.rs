//! A group's inputs on the device, and the batch order of each epoch.
//!
//! Every step reads `lanes x b` rows through one index tensor. The index of
//! a whole epoch is built on the host (each lane shuffled by its own task's
//! generator, exactly the draws of the CPU trainer), laid out step by step
//! so that step `s` is one contiguous slice, and uploaded once per epoch:
//! inside the epoch nothing travels between host and device.

use super::device_encoder::DeviceEncoder;
use super::memory::Residency;
use crate::{TaskData, TrainError};
use candle_core::{DType, Device, Result, Tensor};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::borrow::Cow;
use tgsh_common::PIXELS;

/// One split (train or test) of a group, on the device.
pub struct Split {
    /// Raw images `(tasks * n) x 784` u8 (streamed) or encoded rows
    /// `(lanes * n) x H` f32 (encoded).
    data: Tensor,
    /// Labels, u32, one per row of `data`.
    labels: Tensor,
    /// Images per task.
    pub rows: usize,
}

/// A group's train and test splits.
pub struct Inputs {
    /// Training split.
    pub train: Split,
    /// Test split.
    pub test: Split,
    /// Whether `data` holds encoded rows.
    encoded: bool,
    /// Tasks in the group (lanes are seed-major over them).
    tasks: usize,
}

impl Inputs {
    /// Uploads the group's tasks as `residency` says. `data[t]` is the
    /// group's task `t`; `encoder` encodes them for every seed when the
    /// inputs are kept encoded, `chunk` rows per lane at a time.
    pub fn upload(
        data: &[Cow<'_, TaskData>],
        residency: Residency,
        encoder: &DeviceEncoder,
        seeds: usize,
        chunk: usize,
        device: &Device,
    ) -> Result<Inputs> {
        let split = |images: &dyn Fn(&TaskData) -> &[u8], labels: &dyn Fn(&TaskData) -> &[u8]| -> Result<Split> {
            let rows = labels(&data[0]).len();
            let tasks = data.len();
            let label_values: Vec<u32> = data.iter().flat_map(|d| labels(d).iter().map(|&l| l as u32)).collect();
            if residency == Residency::Encoded {
                let h = encoder.hidden()?;
                let out = Tensor::zeros((seeds * tasks * rows, h), DType::F32, device)?;
                for (t, task) in data.iter().enumerate() {
                    for start in (0..rows).step_by(chunk.max(1)) {
                        let end = (start + chunk).min(rows);
                        let pixels = &images(task)[start * PIXELS..end * PIXELS];
                        // The same images once per seed, seed-major.
                        let repeated: Vec<u8> = (0..seeds).flat_map(|_| pixels.iter().copied()).collect();
                        let pixels = Tensor::from_vec(repeated, (seeds * (end - start), PIXELS), device)?;
                        let encoded = encoder.encode(&pixels)?;
                        for s in 0..seeds {
                            let lane = s * tasks + t;
                            out.slice_set(&encoded.get(s)?.contiguous()?, 0, lane * rows + start)?;
                        }
                    }
                }
                let labels: Vec<u32> = (0..seeds).flat_map(|_| label_values.iter().copied()).collect();
                Ok(Split {
                    data: out,
                    labels: Tensor::from_vec(labels, seeds * tasks * rows, device)?,
                    rows,
                })
            } else {
                // One task at a time into a preallocated tensor: the host
                // never holds a second copy of the whole group.
                let out = Tensor::zeros((tasks * rows, PIXELS), DType::U8, device)?;
                for (t, task) in data.iter().enumerate() {
                    let pixels = Tensor::from_slice(images(task), (rows, PIXELS), device)?;
                    out.slice_set(&pixels, 0, t * rows)?;
                }
                Ok(Split {
                    data: out,
                    labels: Tensor::from_vec(label_values, tasks * rows, device)?,
                    rows,
                })
            }
        };
        Ok(Inputs {
            train: split(&|d| &d.train_images, &|d| &d.train_labels)?,
            test: split(&|d| &d.test_images, &|d| &d.test_labels)?,
            encoded: residency == Residency::Encoded,
            tasks: data.len(),
        })
    }

    /// Where lane `lane`'s rows start in a split: its own block when
    /// encoded, its task's block (shared by the seeds) when streamed.
    pub fn base(&self, lane: usize, rows: usize) -> u32 {
        let block = if self.encoded { lane } else { lane % self.tasks };
        (block * rows) as u32
    }
}

impl Split {
    /// The encoded rows `lanes x b x H` and labels `lanes x b` that
    /// `index` (`lanes * b` row numbers, lane-major) selects.
    pub fn gather(&self, index: &Tensor, lanes: usize, encoder: &DeviceEncoder) -> Result<(Tensor, Tensor)> {
        let b = index.dim(0)? / lanes;
        let selected = self.data.index_select(index, 0)?;
        let rows = if selected.dtype() == DType::U8 {
            encoder.encode(&selected)?
        } else {
            selected
        };
        let h = rows.dim(candle_core::D::Minus1)?;
        Ok((
            rows.reshape((lanes, b, h))?,
            self.labels.index_select(index, 0)?.reshape((lanes, b))?,
        ))
    }
}

/// Row numbers of `lanes` sequences of equal length `n`, cut into chunks
/// of `chunk` and laid out chunk by chunk, lane-major within a chunk: chunk
/// `j` (of size `b_j`) is the contiguous range starting at `j * chunk * lanes`.
pub fn interleave(sequences: &[Vec<u32>], chunk: usize) -> Vec<u32> {
    let n = sequences.first().map_or(0, Vec::len);
    let mut out = Vec::with_capacity(n * sequences.len());
    for start in (0..n).step_by(chunk.max(1)) {
        let end = (start + chunk).min(n);
        for sequence in sequences {
            out.extend_from_slice(&sequence[start..end]);
        }
    }
    out
}

/// One lane's shuffling: its task's generator and its current order, which
/// each epoch shuffles further (as the CPU trainer does).
pub struct LaneOrder {
    /// The generator (`Model::shuffle_rng(task)`).
    pub rng: ChaCha8Rng,
    /// Row numbers within the task, in the current order.
    pub order: Vec<u32>,
    /// Added to every row number: where the lane's rows start.
    pub base: u32,
}

/// Shuffles every lane for the next epoch and returns the epoch's index
/// (row numbers, laid out by [`interleave`] in chunks of `batch`).
pub fn next_epoch(lanes: &mut [LaneOrder], batch: usize) -> Vec<u32> {
    let shuffled: Vec<Vec<u32>> = lanes
        .par_iter_mut()
        .map(|lane| {
            lane.order.shuffle(&mut lane.rng);
            lane.order.iter().map(|&i| lane.base + i).collect()
        })
        .collect();
    interleave(&shuffled, batch)
}

/// Checks that every task of a group has `expected` (train, test) images,
/// the sizes the memory plan was made for.
pub fn check_sizes(
    data: &[Cow<'_, TaskData>],
    tasks: &[usize],
    expected: (usize, usize),
) -> std::result::Result<(), TrainError> {
    for (d, &task) in data.iter().zip(tasks) {
        let sizes = (d.train_labels.len(), d.test_labels.len());
        let whole = d.train_images.len() == sizes.0 * PIXELS && d.test_images.len() == sizes.1 * PIXELS;
        if sizes != expected || !whole || sizes.0 == 0 {
            return Err(TrainError::UnevenTasks { task, sizes, expected });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaving_makes_each_step_one_contiguous_lane_major_slice() {
        let a: Vec<u32> = (0..5).collect();
        let b: Vec<u32> = (10..15).collect();
        // Chunks of 2: [0 1 | 10 11], [2 3 | 12 13], [4 | 14].
        assert_eq!(interleave(&[a, b], 2), vec![0, 1, 10, 11, 2, 3, 12, 13, 4, 14]);
    }
}
