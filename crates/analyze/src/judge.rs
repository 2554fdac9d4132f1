//! A claim measured: its value on the trained model, each control's value
//! and the paired difference, each with a 95 % interval across seeds (the
//! independent units), a verdict that uses all of them, and the verdict in
//! words (docs/METHOD.md, "Verdicts").
//!
//! Verdicts:
//!
//! - `pass`: the trained value meets its test (the whole interval beyond
//!   the bar, or the 90 % interval inside the equivalence margin), and,
//!   for a claim the paper attributes to training, the paired difference
//!   with every control lies on the claim's side of 0.
//! - `untrained`: the trained value meets its test, but so does a control
//!   (the contexts before training, or no modulation) that training does
//!   not beat: the property is there without the learning. The words say
//!   which control and whether training raises or lowers the value.
//! - `fail`: the trained value is shown not to meet its test.
//! - `inconclusive`: anything else (an interval straddles the bar, or a
//!   difference with a control that does not itself meet the test
//!   straddles 0, or one seed gives no interval).

use crate::claims::{state_words, unit_of, Claim, Direction, Test};
use crate::stats::{self, Range};

/// A mean with its interval across seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Mean over seeds.
    pub mean: f64,
    /// Interval, low end.
    pub low: f64,
    /// Interval, high end.
    pub high: f64,
    /// Seeds with a finite value.
    pub seeds: u32,
}

impl Interval {
    /// The 95 % interval of `values` for a statistic with `range`.
    pub fn of(values: &[f64], range: Range) -> Interval {
        let (mean, low, high) = if values.iter().all(|v| v.is_finite()) {
            stats::interval(values, range)
        } else {
            (f64::NAN, f64::NAN, f64::NAN)
        };
        Interval {
            mean,
            low,
            high,
            seeds: values.iter().filter(|v| v.is_finite()).count() as u32,
        }
    }

    /// Unknown.
    pub fn missing() -> Interval {
        Interval {
            mean: f64::NAN,
            low: f64::NAN,
            high: f64::NAN,
            seeds: 0,
        }
    }

    fn known(&self) -> bool {
        self.low.is_finite() && self.high.is_finite()
    }
}

/// One control of a claim, measured.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlRow {
    /// The control's state (`before`, `unmodulated`, `permuted`, `after`,
    /// or a description for special claims).
    pub state: String,
    /// Its value.
    pub value: Interval,
    /// Trained minus control, per seed, then across seeds.
    pub difference: Interval,
}

/// A measured claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRow {
    /// The claim.
    pub claim: Claim,
    /// The value of its statistic in the claim's state.
    pub value: Interval,
    /// How the value's interval was computed, in words.
    pub interval: String,
    /// The unit: `%`, `points` or empty.
    pub unit: &'static str,
    /// The controls, in the claim's order.
    pub controls: Vec<ControlRow>,
    /// `pass`, `untrained`, `fail` or `inconclusive`.
    pub verdict: &'static str,
    /// The verdict in words, from the numbers.
    pub reading: String,
}

/// `pass`, `fail` or `inconclusive` for an interval against a bar.
pub fn bar_verdict(low: f64, high: f64, threshold: f64, direction: Direction) -> &'static str {
    if !(low.is_finite() && high.is_finite()) {
        return "inconclusive";
    }
    match (direction.meets(low, threshold), direction.meets(high, threshold)) {
        (true, true) => "pass",
        (false, false) => "fail",
        _ => "inconclusive",
    }
}

/// Where a paired difference lies for a claim whose better side is `sign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Better,
    Worse,
    Unclear,
}

fn side(difference: &Interval, sign: f64) -> Side {
    if !difference.known() {
        Side::Unclear
    } else if sign * difference.low > 0.0 && sign * difference.high > 0.0 {
        Side::Better
    } else if sign * difference.low < 0.0 && sign * difference.high < 0.0 {
        Side::Worse
    } else {
        Side::Unclear
    }
}

/// A number in its unit for words and tables: accuracies with 2 decimals
/// and `%`, differences of accuracies signed in `points`, the rest with 3
/// decimals.
pub fn format_value(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    match unit {
        "%" => format!("{v:.2} %"),
        "points" => format!("{v:+.2} points"),
        _ => format!("{v:.3}"),
    }
}

/// `mean [low, high] unit`: `94.49 [94.43, 94.55] %`, `0.956 [0.954, 0.958]`.
fn format_interval(i: &Interval, unit: &str) -> String {
    let bare = |v: f64| match unit {
        "%" if v.is_finite() => format!("{v:.2}"),
        "points" if v.is_finite() => format!("{v:+.2}"),
        _ => format_value(v, ""),
    };
    let suffix = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    if i.known() {
        format!("{} [{}, {}]{suffix}", bare(i.mean), bare(i.low), bare(i.high))
    } else {
        format!("{}{suffix}", bare(i.mean))
    }
}

/// A paired difference, signed: `-0.044 [-0.046, -0.042]`, `+84.54 [+84.11, +84.92] points`.
fn format_difference(i: &Interval, unit: &str) -> String {
    if unit == "%" || unit == "points" {
        return format_interval(i, "points");
    }
    let signed = |v: f64| {
        if v.is_finite() {
            format!("{v:+.3}")
        } else {
            "n/a".into()
        }
    };
    if i.known() {
        format!("{} [{}, {}]", signed(i.mean), signed(i.low), signed(i.high))
    } else {
        signed(i.mean)
    }
}

/// Judges `claim` from its statistic's per-seed values in the claim's
/// state and in each control's state (in seed order, paired by seed).
pub fn judge(claim: Claim, values: &[f64], controls: &[(&str, Vec<f64>)]) -> ClaimRow {
    let range = crate::claims::range_of(&claim.statistic).unwrap_or(Range::Unbounded);
    let unit = unit_of(&claim.statistic);
    let (value, interval, test_verdict, sign) = match claim.test {
        Test::Bar { threshold, direction } => {
            let v = Interval::of(values, range);
            (
                v,
                format!("95 %, {}", range.method()),
                bar_verdict(v.low, v.high, threshold, direction),
                direction.sign(),
            )
        }
        Test::Equivalent { reference, margin } => {
            let e = stats::tost_one_sample(values, reference, margin);
            let (lo, hi) = match range {
                Range::Bounded(lo, hi) => (lo, hi),
                Range::Unbounded => (f64::NEG_INFINITY, f64::INFINITY),
            };
            let v = Interval {
                mean: stats::mean(values),
                low: (reference + e.low).clamp(lo, hi),
                high: (reference + e.high).clamp(lo, hi),
                seeds: values.iter().filter(|v| v.is_finite()).count() as u32,
            };
            let verdict = if e.equivalent {
                "pass"
            } else if e.outside {
                "fail"
            } else {
                "inconclusive"
            };
            (
                v,
                "90 %, Student t across seeds (two one-sided tests at 95 %)".to_string(),
                verdict,
                1.0,
            )
        }
        Test::Subsample { .. } => panic!("subsampling claims are judged by the summary"),
    };
    let rows: Vec<ControlRow> = controls
        .iter()
        .map(|(state, control)| {
            let differences: Vec<f64> = values.iter().zip(control).map(|(a, b)| a - b).collect();
            ControlRow {
                state: state.to_string(),
                value: Interval::of(control, range),
                difference: Interval::of(&differences, range.difference()),
            }
        })
        .collect();
    let control_meets = |c: &ControlRow| match claim.test {
        Test::Bar { threshold, direction } => bar_verdict(c.value.low, c.value.high, threshold, direction) == "pass",
        Test::Equivalent { reference, margin } => c.value.low > reference - margin && c.value.high < reference + margin,
        Test::Subsample { .. } => false,
    };
    let sides: Vec<Side> = rows.iter().map(|c| side(&c.difference, sign)).collect();
    let verdict = if !claim.needs_training || test_verdict != "pass" {
        test_verdict
    } else if sides.iter().all(|&s| s == Side::Better) {
        "pass"
    } else if rows
        .iter()
        .zip(&sides)
        .any(|(c, &s)| s != Side::Better && control_meets(c))
    {
        "untrained"
    } else {
        "inconclusive"
    };
    let reading = reading(&claim, &value, unit, &rows, &sides, verdict, control_meets);
    ClaimRow {
        claim,
        value,
        interval,
        unit,
        controls: rows,
        verdict,
        reading,
    }
}

/// The claim's test in words: `> 0.5`, `94.40 ± 0.30 %`.
pub fn test_words(test: &Test, unit: &str) -> String {
    match *test {
        Test::Bar { threshold, direction } => format!("{} {}", direction.symbol(), format_value(threshold, unit)),
        Test::Equivalent { reference, margin } => {
            let points = if unit == "%" { " points" } else { "" };
            format!("within {} ± {margin}{points}", format_value(reference, unit))
        }
        Test::Subsample { margin } => format!("within ±{margin} (matched pixel), beyond it (matched index)"),
    }
}

fn reading(
    claim: &Claim,
    value: &Interval,
    unit: &str,
    rows: &[ControlRow],
    sides: &[Side],
    verdict: &str,
    control_meets: impl Fn(&ControlRow) -> bool,
) -> String {
    let v = format_interval(value, unit);
    let test = test_words(&claim.test, unit);
    let state = state_words(claim.state);
    let head = match verdict {
        "pass" if claim.needs_training => format!("Holds {state} ({v}; test {test}) and beats every control"),
        "pass" => format!("Holds {state} ({v}; test {test})"),
        "untrained" => format!("Holds {state} ({v}; test {test}), but not because of training"),
        "fail" => format!("Does not hold {state}: {v} against the test {test}"),
        _ => format!("Inconclusive {state}: {v} against the test {test}"),
    };
    let mut parts = vec![head];
    for (c, &s) in rows.iter().zip(sides) {
        let cv = format_interval(&c.value, unit);
        let d = format_difference(&c.difference, unit);
        let words = match (c.state.as_str(), s) {
            ("before", Side::Better) if control_meets(c) => {
                format!("it holds at initialisation too ({cv}), and training improves it by {d}")
            }
            ("before", Side::Better) => {
                format!("before training it is {cv}: training brings it about (difference {d})")
            }
            ("before", Side::Worse) if control_meets(c) => {
                format!("it holds at initialisation ({cv}); training lowers it (difference {d})")
            }
            ("before", Side::Worse) => format!("before training it is {cv}, better than after (difference {d})"),
            ("before", Side::Unclear) if control_meets(c) => {
                format!("it holds at initialisation ({cv}); training does not change it measurably ({d})")
            }
            ("before", Side::Unclear) => format!("before training {cv}; the difference {d} straddles 0"),
            ("unmodulated", _) if control_meets(c) && s != Side::Better => {
                format!("it holds without any modulation (every c_t = 1: {cv}; difference {d})")
            }
            (state, Side::Better) => format!("{}: {cv} (difference {d})", state_words(state)),
            (state, Side::Worse) => format!("{}: {cv}, better than trained (difference {d})", state_words(state)),
            (state, Side::Unclear) => format!("{}: {cv}; the difference {d} straddles 0", state_words(state)),
        };
        parts.push(words);
    }
    parts.join("; ") + "."
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{BEFORE, UNMODULATED};

    fn auc_claim() -> Claim {
        Claim::bar(
            "tgsh-label",
            "intra > inter",
            "Fig. 1a",
            "tgsh.label.auc",
            0.5,
            Direction::Above,
            &[BEFORE, UNMODULATED],
            "",
        )
    }

    #[test]
    fn bar_verdicts_follow_the_interval() {
        assert_eq!(bar_verdict(0.6, 0.9, 0.5, Direction::Above), "pass");
        assert_eq!(bar_verdict(0.1, 0.4, 0.5, Direction::Above), "fail");
        assert_eq!(bar_verdict(0.4, 0.6, 0.5, Direction::Above), "inconclusive");
        assert_eq!(bar_verdict(0.5, 0.6, 0.5, Direction::Above), "inconclusive");
        assert_eq!(bar_verdict(0.5, 0.6, 0.5, Direction::AtLeast), "pass");
        assert_eq!(bar_verdict(-0.2, -0.1, 0.0, Direction::Below), "pass");
        assert_eq!(bar_verdict(0.01, 0.23, 0.0, Direction::Below), "fail");
        assert_eq!(bar_verdict(f64::NAN, f64::NAN, 0.0, Direction::Below), "inconclusive");
    }

    #[test]
    fn a_claim_that_holds_before_training_too_is_not_a_pass() {
        // The T-GSH AUC: 0.95 trained, 1.00 before, 0.55 unmodulated.
        let trained = [0.95, 0.96, 0.94, 0.955, 0.945];
        let row = judge(
            auc_claim(),
            &trained,
            &[
                ("before", vec![1.0, 0.9999, 1.0, 1.0, 0.9998]),
                ("unmodulated", vec![0.55, 0.54, 0.56, 0.55, 0.55]),
            ],
        );
        assert_eq!(row.verdict, "untrained");
        assert!(
            row.reading.contains("holds at initialisation") && row.reading.contains("lowers"),
            "{}",
            row.reading
        );
        assert!(row.controls[0].difference.high < 0.0);
        // Every interval of a bounded statistic stays in its range.
        assert!(row.controls[0].value.high <= 1.0);
        // Beating both controls: a pass.
        let row = judge(
            auc_claim(),
            &trained,
            &[
                ("before", vec![0.5, 0.51, 0.49, 0.5, 0.5]),
                ("unmodulated", vec![0.55, 0.54, 0.56, 0.55, 0.55]),
            ],
        );
        assert_eq!(row.verdict, "pass", "{}", row.reading);
        // Failing the bar fails, whatever the controls.
        let row = judge(auc_claim(), &[0.3, 0.35, 0.32], &[("before", vec![0.5, 0.5, 0.5])]);
        assert_eq!(row.verdict, "fail");
        // A control that does not meet the bar and is not beaten: inconclusive.
        let row = judge(
            auc_claim(),
            &[0.7, 0.72, 0.71],
            &[("before", vec![0.45, 0.9, 0.6]), ("unmodulated", vec![0.5, 0.5, 0.5])],
        );
        assert_eq!(row.verdict, "inconclusive", "{}", row.reading);
    }

    #[test]
    fn equivalence_claims_use_the_tost_interval() {
        let claim = Claim {
            test: Test::Equivalent {
                reference: 94.40,
                margin: 0.3,
            },
            ..Claim::bar(
                "mean-accuracy",
                "equals",
                "§3.1",
                "accuracy.mean_final",
                94.40,
                Direction::AtLeast,
                &[BEFORE],
                "",
            )
        };
        let row = judge(
            claim.clone(),
            &[94.3, 94.5, 94.6, 94.4, 94.7],
            &[("before", vec![10.0, 11.0, 9.5, 10.2, 10.8])],
        );
        assert_eq!(row.verdict, "pass", "{}", row.reading);
        // The TOST interval: 94.40 + [-0.050755, 0.250755] (stats tests).
        assert!((row.value.low - 94.349245).abs() < 1e-6 && (row.value.high - 94.650755).abs() < 1e-6);
        assert_eq!(row.unit, "%");
        let row = judge(claim, &[95.3, 95.5, 95.6, 95.4, 95.7], &[("before", vec![10.0; 5])]);
        assert_eq!(row.verdict, "fail");
    }
}
