//! Function follows mechanism (stated by the paper, never measured there):
//! the trained context of task `i` applied to the test images of task `j`,
//! for every `i` and `j`, on every test image.
//!
//! The accuracy is computed by the same forward pass the train stage
//! records test accuracy with (`tgsh_model::forward::accuracy`), so the
//! diagonal is each task's trained test accuracy, to the last image.
//! Each task's test images are encoded block by block, and each block is
//! scored under every context while it is in cache
//! (`tgsh_model::forward::correct_counts_of_images`).

use tgsh_model::forward::{self, Readout};
use tgsh_model::{Decoder, Model};

/// `T x T` accuracies, row-major, `[i * T + j]` = context `i` on task `j`'s
/// test images. `images[j]` are task `j`'s test images, `labels` their labels
/// (the same in every task); `on_task` is called after each data task.
pub fn cross_task_accuracy(
    model: &Model,
    contexts: &[Vec<f32>],
    images: &[Vec<u8>],
    labels: &[u8],
    mut on_task: impl FnMut(),
) -> Vec<f64> {
    let t = contexts.len();
    let mut out = vec![f64::NAN; t * t];
    let decoder = Decoder::new(&model.decoder);
    let readouts: Vec<Readout<'_>> = contexts
        .iter()
        .map(|c| Readout {
            context: c,
            decoder: &decoder,
        })
        .collect();
    for (j, task_images) in images.iter().enumerate().take(t) {
        let counts = forward::correct_counts_of_images(&model.encoder, None, task_images, labels, &readouts);
        for (i, count) in counts.into_iter().enumerate() {
            out[i * t + j] = count as f64 / labels.len().max(1) as f64;
        }
        on_task();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgsh_common::config::TrainConfig;
    use tgsh_model::forward::Encoded;

    #[test]
    fn the_diagonal_is_each_context_on_its_own_data_and_rows_are_contexts() {
        let config = TrainConfig {
            hidden: 32,
            ..TrainConfig::default()
        };
        let model = Model::new(&config, 1);
        let images: Vec<Vec<u8>> = (0..3)
            .map(|t| (0..5 * 784).map(|i| ((i * (t + 3)) % 256) as u8).collect())
            .collect();
        let labels = [0u8, 1, 2, 3, 4];
        let contexts: Vec<Vec<f32>> = (0..3).map(|t| model.init_task(t).context()).collect();
        let mut calls = 0;
        let m = cross_task_accuracy(&model, &contexts, &images, &labels, || calls += 1);
        assert_eq!(calls, 3);
        for i in 0..3 {
            for j in 0..3 {
                let encoded = model.encoder.encode_rows(&images[j], None);
                let expected = forward::accuracy(
                    Encoded {
                        rows: encoded.rows(),
                        labels: &labels,
                    },
                    &contexts[i],
                    &Decoder::new(&model.decoder),
                );
                assert_eq!(m[i * 3 + j], expected, "context {i} on task {j}");
            }
        }
    }
}
