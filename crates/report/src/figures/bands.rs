//! Means with their intervals: a line per series over categorical x
//! positions, the 95 % interval across seeds shaded around it.

use super::lines::LineChart;
use super::*;

/// One series of a [`band_chart`]: a mean and, where known, its interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Legend name.
    pub name: String,
    /// The line.
    pub mean: Vec<f64>,
    /// Lower ends of the interval (NaN where unknown, e.g. one seed).
    pub low: Vec<f64>,
    /// Upper ends.
    pub high: Vec<f64>,
}

/// Draws each [`Band`]'s mean as a line over the categorical x positions
/// `0..x_ticks.len()` with its interval shaded in the same colour, and
/// writes `<stem>.png` and `<stem>.svg`. A series whose interval has a NaN
/// (one seed) is drawn without a band rather than with a wrong one.
///
/// # Errors
/// As [`super::line_chart`]; also [`FigureError::InvalidInput`] if an
/// interval's length differs from its mean's, or an interval end is
/// infinite.
pub fn band_chart(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    x_ticks: &[String],
    bands: &[Band],
    y_range: Option<(f64, f64)>,
) -> Result<(), FigureError> {
    font_ready(stem)?;
    for band in bands {
        if band.low.len() != band.mean.len() || band.high.len() != band.mean.len() {
            return Err(invalid(format!(
                "band {:?}: {} means but {} low and {} high ends",
                band.name,
                band.mean.len(),
                band.low.len(),
                band.high.len()
            )));
        }
        if band.low.iter().chain(&band.high).any(|v| v.is_infinite()) {
            return Err(invalid(format!("band {:?} has an infinite interval end", band.name)));
        }
    }
    let series: Vec<(String, Vec<f64>)> = bands.iter().map(|b| (b.name.clone(), b.mean.clone())).collect();
    // The axis spans the intervals too, not only the means.
    let y_range = y_range.or_else(|| {
        let ends: Vec<(String, Vec<f64>)> = bands
            .iter()
            .flat_map(|b| [b.mean.clone(), b.low.clone(), b.high.clone()])
            .map(|v| (String::new(), v.into_iter().filter(|x| x.is_finite()).collect()))
            .collect();
        Some(super::lines::auto_range(&ends))
    });
    let mut fig = LineChart::new(title, x_label, y_label, x_ticks, &series, y_range)?;
    fig.bands = bands
        .iter()
        .map(|b| {
            let known = b.low.iter().chain(&b.high).all(|v| v.is_finite());
            known.then(|| (b.low.clone(), b.high.clone()))
        })
        .collect();
    write_figure(stem, &fig)
}
