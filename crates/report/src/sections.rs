//! The sections of a family page that put the trained model beside its
//! controls: T-GSH in three states, Definition 1b, the subsampling test,
//! the reconstructions with and without noise, and the contexts' PCA.
//! Each returns its HTML and writes its figures into the report folder.

use crate::figures::{self, Band, Panel};
use crate::html::{escape, figure, with_interval};
use crate::results::{self, Measured, Tasks};
use crate::ReportError;
use std::fmt::Write as _;
use std::path::Path;
use tgsh_common::config::Topology;
use tgsh_common::schema::analysis::RepresentationProfileSummaryRow;
use tgsh_common::schema::Table as _;
use tgsh_common::{plural, Artifacts, CLASSES, SIDE};

/// The states a representation statistic is shown in, with their words.
const STATES: [(&str, &str); 3] = [
    ("after", "after training"),
    ("before", "before training"),
    ("unmodulated", "without modulation (every c_t = 1)"),
];

fn measured(m: &Measured) -> String {
    with_interval(m.mean, m.low, m.high, "")
}

/// T-GSH (Fig. 1a): the histograms of each grouping in each state, and a
/// table of the AUC and the difference of means across seeds.
pub fn tgsh(dir: &Path, artifacts: &Artifacts, seeds: &[u64], per_class: usize) -> Result<String, ReportError> {
    let summary = results::tgsh_summary(artifacts)?;
    let mut figures_html = String::new();
    let mut table = String::from(
        "<table>\n<tr><th>grouping</th><th>state</th><th>AUC P(intra &gt; inter)</th><th>intra − inter</th></tr>\n",
    );
    for (grouping, what) in [
        ("label", "groups are digits (the caption of Fig. 1a)"),
        (
            "position",
            "groups are random sets of images regardless of digit (the notebook, Definition 1a)",
        ),
    ] {
        for (state, words) in STATES {
            let Some(s) = summary.get(&(state.to_string(), grouping.to_string())) else {
                continue;
            };
            let _ = writeln!(
                table,
                "<tr><td>{grouping}</td><td>{words}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                measured(&s.auc),
                measured(&s.difference)
            );
            let (intra, inter) = results::tgsh_samples(artifacts, seeds, state, grouping)?;
            if intra.is_empty() || inter.is_empty() {
                continue;
            }
            // Down to the lowest similarity (negative ones too), in steps of 0.2.
            let lowest = intra.iter().chain(&inter).copied().fold(0.0f64, f64::min);
            let range = ((lowest * 5.0).floor() / 5.0 - 0.2, 1.0);
            let stem = format!("tgsh_{grouping}_{state}");
            figures::histograms(
                &dir.join(&stem),
                &format!("{grouping} grouping, {words}"),
                "cosine similarity of c_t ⊙ r(x)",
                &[
                    (format!("intra: same task (AUC {:.3})", s.auc.mean), intra),
                    ("inter: same group, different tasks".to_string(), inter),
                ],
                80,
                range,
            )?;
            figures_html.push_str(&figure(&stem, &format!("{what}; {words}"), false));
        }
    }
    table.push_str("</table>\n");
    Ok(format!(
        "<h2 id=\"tgsh\">T-GSH property (Fig. 1a)</h2>\n<p>Pairs of representations <i>c<sub>t</sub> ⊙ r(x)</i> of {per_class} test \
         images per class per task, in both groupings, on the trained contexts and on the two controls: the contexts before training, \
         and no modulation at all (every <i>c<sub>t</sub></i> = 1, so the representations differ between tasks only through the \
         transformed images). Each seed measures the AUC and the difference of means over all its pairs; the table gives the mean \
         and the 95 % bootstrap interval across {} (the seed is the unit: pairs are not independent, one image is in hundreds of \
         them). The histograms pool a uniform sample of each seed's pairs.</p>\n{table}{figures_html}",
        plural(seeds.len(), "seed")
    ))
}

/// Definition 1b: one image's representations under two tasks against
/// task distance, in three states.
pub fn representation(
    dir: &Path,
    artifacts: &Artifacts,
    family: &str,
    topology: Topology,
) -> Result<String, ReportError> {
    if topology == Topology::None {
        return Ok(String::new());
    }
    let profile = results::profile(artifacts, RepresentationProfileSummaryRow::FILE)?;
    let Some(max) = profile.iter().flat_map(|(_, d, ..)| d.iter().copied()).max() else {
        return Ok(String::new());
    };
    let ticks: Vec<String> = (1..=max).map(|d| d.to_string()).collect();
    let bands: Vec<Band> = STATES
        .iter()
        .filter_map(|(state, words)| {
            let (_, d, mean, lo, hi) = profile.iter().find(|p| p.0 == *state)?;
            let at = |v: &[f64]| {
                (1..=max)
                    .map(|x| d.iter().position(|&y| y == x).map_or(f64::NAN, |k| v[k]))
                    .collect()
            };
            Some(Band {
                name: words.to_string(),
                mean: at(mean),
                low: at(lo),
                high: at(hi),
            })
        })
        .collect();
    figures::band_chart(
        &dir.join("representation_profile"),
        &format!("{family}: one image under two tasks, by task distance"),
        "task distance",
        "mean cos(c_i ⊙ r(x_i), c_j ⊙ r(x_j))",
        &ticks,
        &bands,
        None,
    )?;
    Ok(format!(
        "<h2 id=\"definition-1b\">Definition 1b: representations of distant tasks are far apart</h2>\n<p>For the T-GSH images, the \
         cosine similarity of one image's representations under two tasks, averaged over the images, at each task distance; \
         the claim's statistic is its Spearman correlation with distance. The controls show how much of the fall comes from the \
         transformed images alone (no modulation) and from random contexts (before training).</p>\n{}",
        figure(
            "representation_profile",
            "Mean representation similarity of one image under two tasks by task distance, 95 % interval across seeds",
            false
        )
    ))
}

/// The subsampling claim (Fig. 5b vs 4b): this family against the finer
/// one at matched pixel offsets and matched task indices.
pub fn subsampling(dir: &Path, artifacts: &Artifacts, family: &str) -> Result<String, ReportError> {
    let Some(rows) = results::subsampling(artifacts)? else {
        return Ok(String::new());
    };
    let after: Vec<&results::SubsamplingRow> = rows.iter().filter(|r| r.state == "after").collect();
    if after.is_empty() {
        return Ok(String::new());
    }
    let margin = after[0].margin;
    let ticks: Vec<String> = after
        .iter()
        .map(|r| format!("{} px (d = {})", r.pixels, r.distance))
        .collect();
    let band = |name: &str, f: &dyn Fn(&results::SubsamplingRow) -> Measured| Band {
        name: name.to_string(),
        mean: after.iter().map(|r| f(r).mean).collect(),
        low: after.iter().map(|r| f(r).low).collect(),
        high: after.iter().map(|r| f(r).high).collect(),
    };
    figures::band_chart(
        &dir.join("subsampling"),
        &format!("{family} against the finer family, after training"),
        "pixel offset of this family's tasks (its task distance d)",
        "mean context similarity",
        &ticks,
        &[
            band(&format!("{family} at distance d"), &|r| r.coarse),
            band("finer family at the same pixel offset", &|r| r.same_pixel),
            band("finer family at the same task index d", &|r| r.same_index),
        ],
        None,
    )?;
    let mut table = String::from(
        "<table>\n<tr><th>state</th><th>d</th><th>pixel offset</th><th>this family</th><th>finer, same pixel offset</th>\
         <th>difference (90 %)</th><th>within ±margin</th><th>finer, same task index</th><th>difference (90 %)</th><th>beyond ±margin</th></tr>\n",
    );
    for r in &rows {
        let _ = writeln!(
            table,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&r.state),
            r.distance,
            r.pixels,
            measured(&r.coarse),
            measured(&r.same_pixel),
            measured(&r.pixel),
            if r.pixel_equivalent { "yes" } else { "no" },
            measured(&r.same_index),
            measured(&r.index),
            if r.index_outside { "yes" } else { "no" },
        );
    }
    table.push_str("</table>\n");
    Ok(format!(
        "<h2 id=\"subsampling\">A subsampling of the finer family (Fig. 5b vs 4b)</h2>\n<p>If similarity follows the images, this \
         family at task distance <i>d</i> matches the finer family at the same pixel offset; if it followed the task index (an \
         artifact of the architecture), it would match the finer family at distance <i>d</i>. The margin ±{margin} was fixed before \
         any run (docs/METHOD.md). Differences are tested with two one-sided Welch tests at 95 % (their 90 % interval) across both \
         families' seeds, which are independent runs. Before training both differences vanish, so there the test cannot tell the \
         readings apart.</p>\n{}{table}",
        figure(
            "subsampling",
            "Mean context similarity at matched offsets, 95 % interval across seeds",
            true
        )
    ))
}

/// Fig. 3: the noisy and noise-free reconstructions of one seed beside the
/// class means they are scored against.
pub fn reconstruction(dir: &Path, artifacts: &Artifacts, tasks: &Tasks, seed: u64) -> Result<String, ReportError> {
    let n = tasks.len();
    let digits: Vec<String> = (0..CLASSES).map(|k| k.to_string()).collect();
    let mut own = Vec::new();
    for (z, stem) in [("noisy", "reconstruction"), ("noise-free", "reconstruction_noise_free")] {
        let recon = results::reconstructions(artifacts, seed, n, z)?;
        let images: Vec<Vec<u8>> = recon
            .iter()
            .flat_map(|row| row.iter().map(|(im, _)| im.clone()))
            .collect();
        figures::image_grid(
            &dir.join(stem),
            &format!("pinv(W1) z, {z} z, per task and class (seed {seed})"),
            &images,
            SIDE,
            n,
            CLASSES,
            &tasks.labels,
            Some(&digits),
        )?;
        own.push(
            recon
                .iter()
                .enumerate()
                .flat_map(|(t, row)| row.iter().map(move |(_, b)| *b == t))
                .filter(|&b| b)
                .count(),
        );
    }
    let means = results::class_means(artifacts, n)?;
    let mean_images: Vec<Vec<u8>> = means.iter().flat_map(|row| row.iter().cloned()).collect();
    figures::image_grid(
        &dir.join("class_means"),
        "Mean test image per task and class",
        &mean_images,
        SIDE,
        n,
        CLASSES,
        &tasks.labels,
        Some(&digits),
    )?;
    Ok(format!(
        "<h2 id=\"reconstruction\">Recoverability (Fig. 3)</h2>\n<p>Without its ReLU the network is inverted with the pseudo-inverse of \
         the encoder: class <i>k</i> in task <i>t</i> is reconstructed as <i>x̂ = pinv(W1) z</i>, where <i>z</i> is what the hidden \
         layer would have to hold for that class: the decoder's row for <i>k</i> (the class's canonical representation) modulated by \
         the task's context, <i>z = W2[k] ⊙ c<sub>t</sub></i>. The authors' notebook adds Gaussian noise of standard deviation \
         1/H per unit, as large as the entries of <i>W2[k] ⊙ c<sub>t</sub></i> themselves, so the noisy reconstructions (left) look like \
         noise; the noise-free ones (middle) show what the contexts carry. Each is stretched to its own range and scored by its \
         correlation with the mean test images (right). For seed {seed}, {} (noisy) and {} (noise-free) of {} reconstructions match \
         their own task's class mean best among all tasks.</p>\n{}{}{}",
        own[0],
        own[1],
        n * CLASSES,
        figure("reconstruction", "Noisy z (the notebook's): class (column) in task (row)", false),
        figure("reconstruction_noise_free", "Noise-free z = W2[k] ⊙ c_t", false),
        figure("class_means", "What they are scored against: the mean test image of each class in each task", false),
    ))
}

/// Beyond the paper: each seed's contexts on their first two principal
/// components, trained and before training, with the variance explained
/// and the loop statistic.
pub fn contexts_pca(
    dir: &Path,
    artifacts: &Artifacts,
    tasks: &Tasks,
    seeds: &[u64],
    topology: Topology,
) -> Result<String, ReportError> {
    let n = tasks.len();
    let statistics = results::statistics(artifacts)?;
    let mut first = String::new();
    let mut rest = String::new();
    for (k, &seed) in seeds.iter().enumerate() {
        let pcas = results::contexts_pca(artifacts, seed, n)?;
        let panels: Vec<Panel> = ["after", "before"]
            .iter()
            .filter_map(|state| {
                let (_, scores) = pcas.iter().find(|(s, _)| s == state)?;
                Some(Panel {
                    title: format!("{state} training"),
                    points: scores.iter().map(|s| (s[0], s[1])).collect(),
                    labels: tasks.labels.clone(),
                })
            })
            .collect();
        if panels.is_empty()
            || panels
                .iter()
                .any(|p| p.points.iter().any(|(x, y)| !(x.is_finite() && y.is_finite())))
        {
            continue;
        }
        let stem = format!("contexts_pca_seed{seed}");
        figures::scatter_panels(
            &dir.join(&stem),
            &format!("Contexts on their first two principal components (seed {seed})"),
            "PC1",
            "PC2",
            &panels,
            topology == Topology::Circle,
        )?;
        let html = figure(
            &stem,
            &format!("Seed {seed}: each task's context in its seed's PC1-PC2 plane, joined in task order (colour runs from the first task to the last)"),
            true,
        );
        if k == 0 {
            first = html;
        } else {
            rest.push_str(&html);
        }
    }
    let mut table = String::from(
        "<table>\n<tr><th>state</th><th>variance on PC1</th><th>PC2</th><th>PC3</th><th>loop correlation</th></tr>\n",
    );
    for state in ["after", "before"] {
        let cell = |name: &str| {
            statistics
                .get(&(name.to_string(), state.to_string()))
                .map_or("–".to_string(), measured)
        };
        let _ = writeln!(
            table,
            "<tr><td>{state} training</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            cell("contexts.variance_explained_pc1"),
            cell("contexts.variance_explained_pc2"),
            cell("contexts.variance_explained_pc3"),
            cell("contexts.loop_correlation"),
        );
    }
    table.push_str("</table>\n");
    Ok(format!(
        "<h2 id=\"pca\">Beyond the paper: the contexts as a manifold</h2>\n<p>A principal component analysis of each seed's {n} \
         contexts (centred over tasks). For rotations and periodic shifts the task variable is an angle; if the contexts lie on a \
         closed curve in task order, their angle in the PC1-PC2 plane follows the task's. The loop correlation is the absolute \
         Fisher-Lee circular rank correlation between the two angles (1: in task order, either way round; near 0: unrelated). \
         Fractions of variance and the loop correlation: mean and 95 % bootstrap interval across {}.</p>\n{table}{first}\
         <details><summary>Every other seed</summary>\n{rest}</details>\n",
        plural(seeds.len(), "seed")
    ))
}
