//! "Fig. 5b appears as a more coarsely subsampled version of Fig. 4b", as a
//! test that can tell two readings apart (docs/METHOD.md, "Subsampling").
//!
//! The paper's reading: similarity depends on how far apart two tasks'
//! images are (the pixel offset), so ShiftMNIST-2px at task distance `d`
//! equals ShiftMNIST-1px at distance `every d`, the same pixel offset. The
//! rival reading: similarity depends on the task index (an artifact of the
//! architecture or of training order), so 2px at `d` equals 1px at `d`.
//!
//! For each `d`, both differences are measured between the two families'
//! adjacency profiles (mean similarity at each task distance, one value per
//! seed; the families are trained independently, so the seeds are not
//! paired and Welch's test is used). The paper's reading passes when every
//! matched-pixel difference lies within `±margin` (two one-sided tests at
//! 95 %) and every matched-index difference is shown to lie beyond it; it
//! fails when some matched-pixel difference is shown to lie beyond the
//! margin; otherwise (including where both readings predict the same value,
//! so the index difference is small) it is inconclusive.

use crate::stats::{self, Equivalence};
use std::collections::BTreeMap;

/// One task distance `d` of the coarse family.
#[derive(Debug, Clone, PartialEq)]
pub struct Offset {
    /// Task distance in the coarse family.
    pub distance: usize,
    /// Per seed: the coarse family's mean similarity at `d`.
    pub coarse: Vec<f64>,
    /// Per seed: the fine family's at `every d` (the same pixel offset).
    pub same_pixel: Vec<f64>,
    /// Per seed: the fine family's at `d` (the same task index).
    pub same_index: Vec<f64>,
    /// `coarse - same_pixel`, TOST within the margin.
    pub pixel: Equivalence,
    /// `coarse - same_index`, TOST within the margin.
    pub index: Equivalence,
}

/// Per seed, mean similarity by task distance: `profile[distance]` holds
/// one value per seed.
pub type Profiles = BTreeMap<usize, Vec<f64>>;

/// Every distance of `coarse` whose matched distances exist in `fine`.
pub fn compare(coarse: &Profiles, fine: &Profiles, every: usize, margin: f64) -> Vec<Offset> {
    coarse
        .iter()
        .filter_map(|(&d, c)| {
            let same_pixel = fine.get(&(every * d))?;
            let same_index = fine.get(&d)?;
            Some(Offset {
                distance: d,
                coarse: c.clone(),
                same_pixel: same_pixel.clone(),
                same_index: same_index.clone(),
                pixel: stats::tost_welch(c, same_pixel, margin),
                index: stats::tost_welch(c, same_index, margin),
            })
        })
        .collect()
}

/// The verdict of the paper's reading over all distances ([module docs](self)).
pub fn verdict(offsets: &[Offset]) -> &'static str {
    if offsets.is_empty() {
        "inconclusive"
    } else if offsets.iter().any(|o| o.pixel.outside) {
        "fail"
    } else if offsets.iter().all(|o| o.pixel.equivalent && o.index.outside) {
        "pass"
    } else {
        "inconclusive"
    }
}

/// The matched-pixel difference farthest from 0 (the claim's value) and
/// the matched-index difference nearest to 0 (its control).
pub fn extremes(offsets: &[Offset]) -> Option<(&Offset, &Offset)> {
    let pixel = offsets
        .iter()
        .max_by(|a, b| a.pixel.difference.abs().total_cmp(&b.pixel.difference.abs()))?;
    let index = offsets
        .iter()
        .min_by(|a, b| a.index.difference.abs().total_cmp(&b.index.difference.abs()))?;
    Some((pixel, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fine profile that falls by 0.1 per task distance (1 at 0), 5
    /// seeds with a small spread; the coarse one follows pixel offsets.
    fn profiles(coarse_follows_pixels: bool) -> (Profiles, Profiles) {
        let spread = [-0.004, 0.002, 0.0, 0.003, -0.001];
        let fine: Profiles = (1..=8)
            .map(|d| (d, spread.iter().map(|s| 1.0 - 0.1 * d as f64 + s).collect()))
            .collect();
        let coarse: Profiles = (1..=4)
            .map(|d| {
                let at = if coarse_follows_pixels { 2 * d } else { d };
                (d, spread.iter().rev().map(|s| 1.0 - 0.1 * at as f64 + s).collect())
            })
            .collect();
        (coarse, fine)
    }

    #[test]
    fn the_paper_reading_passes_when_similarity_follows_pixels() {
        let (coarse, fine) = profiles(true);
        let offsets = compare(&coarse, &fine, 2, 0.05);
        assert_eq!(offsets.len(), 4);
        assert!(offsets.iter().all(|o| o.pixel.equivalent && o.index.outside));
        assert_eq!(verdict(&offsets), "pass");
        let (pixel, index) = extremes(&offsets).unwrap();
        assert!(pixel.pixel.difference.abs() < 0.01);
        // At every d the index difference is 0.1 d: nearest to 0 at d = 1.
        assert_eq!(index.distance, 1);
        assert!((index.index.difference + 0.1).abs() < 1e-9);
    }

    #[test]
    fn the_paper_reading_fails_when_similarity_follows_the_index() {
        let (coarse, fine) = profiles(false);
        let offsets = compare(&coarse, &fine, 2, 0.05);
        assert_eq!(verdict(&offsets), "fail");
    }

    #[test]
    fn flat_profiles_cannot_tell_the_readings_apart() {
        // Before training every distance has similarity ~0 in both families.
        let spread = [-0.004, 0.002, 0.0, 0.003, -0.001];
        let flat: Profiles = (1..=8).map(|d| (d, spread.to_vec())).collect();
        let offsets = compare(&flat, &flat, 2, 0.05);
        assert!(offsets.iter().all(|o| o.pixel.equivalent && !o.index.outside));
        assert_eq!(verdict(&offsets), "inconclusive");
    }
}
