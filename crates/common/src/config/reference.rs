//! The pipeline file's reference (docs/PIPELINE.md), rendered from one
//! table of keys ([`KEYS`]) whose defaults are read from the config types
//! themselves, and from the transforms' parameter table
//! ([`super::transforms::PARAMETERS`]). Tests fail when a section gains or
//! loses a key the table does not list, and when docs/PIPELINE.md differs
//! from the rendering (`TGSH_BLESS=1 cargo test --release --workspace
//! pipeline_reference` rewrites it).

use super::transforms::{parameters_of, TRANSFORMS};
use super::{AnalyzeConfig, HeldoutConfig, ReportConfig, TrainConfig};

/// One key of the pipeline file.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// `data`, `data.family`, `train`, ... (the TOML table).
    pub section: &'static str,
    /// The key.
    pub key: &'static str,
    /// Its type and allowed values.
    pub allowed: &'static str,
    /// What it does.
    pub meaning: &'static str,
}

const fn key(section: &'static str, key: &'static str, allowed: &'static str, meaning: &'static str) -> Key {
    Key {
        section,
        key,
        allowed,
        meaning,
    }
}

/// Every key of every section.
pub const KEYS: &[Key] = &[
    key("", "description", "text", "shown on the report page and the index"),
    key("data", "mnist_dir", "folder", "the four MNIST IDX files, `.gz` or raw, checked by SHA-256"),
    key(
        "data",
        "train_images",
        "1 to 60000",
        "use the first N training images of every task (absent: all 60,000)",
    ),
    key(
        "data",
        "test_images",
        "1 to 10000",
        "use the first N test images of every task (absent: all 10,000)",
    ),
    key(
        "data",
        "seed",
        "integer >= 0",
        "seed of the random augmentations (each image draws its own parameters from it)",
    ),
    key("data.family", "name", "text", "the family's display name, e.g. `RotationMNIST`"),
    key(
        "data.family",
        "sweep",
        "`{ transform, count, step, start, kernel }`",
        "task `i` applies `transform` (`rotate`: degrees, `shift`: whole pixels, `blur`: Gaussian blur of σ pixels with the odd `kernel` size 1 to 27, torchvision `gaussian_blur`) with parameter `start + i * step`; `count` tasks (1 to 65535), `step` > 0, `start` (default 0; a blur's σ > 0); at most one period (360 degrees, 28 pixels; a blur has none: its σ is a line); `kernel` for a blur only",
    ),
    key(
        "data.family",
        "torus",
        "two sweeps, `[{ transform = \"rotate\", ... }, { transform = \"shift\", ... }]`",
        "instead of `sweep`: a rotation x periodic shift grid, each sweep a full period (`count · step` = 360 degrees, 28 pixels); task `i · n₂ + j` rotates by the `i`-th angle, then shifts by the `j`-th width (two task variables)",
    ),
    key(
        "data.family",
        "tasks",
        "list of transforms",
        "instead of `sweep`: one transform per task, e.g. `{ transform = \"gaussian_blur\", kernel = 5, sigma = 2.0 }` (the transforms below)",
    ),
    key(
        "data.family",
        "task_names",
        "list of text",
        "display names of `tasks`, as many as tasks (default: the transform and its parameter, e.g. `rotate 30°`)",
    ),
    key(
        "train",
        "seeds",
        "list of distinct integers",
        "one model per seed; the seed draws encoder, decoder, initial values and shuffles",
    ),
    key(
        "train",
        "epochs",
        "integer >= 1",
        "epochs per task (the paper: 3); in a held-out pipeline the maximum budget of the convergence rule (`heldout.patience`)",
    ),
    key("train", "batch_size", "integer >= 1", "minibatch size"),
    key("train", "learning_rate", "number > 0", "RMSprop's learning rate"),
    key("train", "rmsprop_alpha", "0 <= alpha < 1", "RMSprop's smoothing constant (PyTorch `alpha`)"),
    key("train", "rmsprop_eps", "number > 0", "RMSprop's epsilon"),
    key(
        "train",
        "encoder",
        "`flyhash` or `dense`",
        "the fixed random encoder: the fly hash (each hidden unit sums `inputs_per_unit` pixels) or a dense Gaussian projection",
    ),
    key("train", "hidden", "integer >= 2", "hidden units `H` (the paper: 10 x 784 = 7840)"),
    key("train", "inputs_per_unit", "1 to 784", "pixels read by each fly-hash unit (the paper: 7)"),
    key(
        "train",
        "device",
        "`cpu`, `cuda` or `auto`",
        "where to train; `cuda` needs a build with `--features cuda`, `auto` takes CUDA when present (task-family pipelines only)",
    ),
    key(
        "analyze",
        "topology",
        "`auto`, `circle`, `line` or `none`",
        "how tasks are arranged, for task distances; `auto`: a sweep over a full period is a circle, another sweep a line, a task list none",
    ),
    key(
        "analyze",
        "linkage",
        "`single`, `complete`, `average`, `weighted` or `ward`",
        "linkage of the hierarchical clustering on `1 - cos`",
    ),
    key("analyze", "clusters", "2 to the number of tasks", "where the tree is cut into flat clusters"),
    key(
        "analyze",
        "tgsh_per_class",
        "1 to 1000",
        "test images per class per task in the T-GSH comparison (the paper: 10)",
    ),
    key(
        "analyze",
        "tgsh_pair_sample",
        "integer >= 1",
        "pair similarities kept per kind, grouping and seed as the stored distribution",
    ),
    key(
        "analyze",
        "bootstrap",
        "integer >= 100",
        "bootstrap resamples for pooled intervals (read by the summary only)",
    ),
    key(
        "analyze",
        "claims",
        "list of claims",
        "the family's own claims, each `{ kind = ..., ... }` (the kinds below); the generic claims are always checked",
    ),
    key("report", "samples_per_task", "1 to 32", "example digits per task in the sample grid"),
    key(
        "heldout",
        "train_every",
        "integer >= 1, or `[e1, e2]` on a torus",
        "train every `train_every`-th task of the arc `train_first..=train_last`; the others are held out; on a torus family one step per variable (every `e1`-th rotation and `e2`-th shift of the grid, no arc)",
    ),
    key("heldout", "train_first", "task index", "first task of the training arc"),
    key(
        "heldout",
        "train_last",
        "task index",
        "last task of the training arc (default: the family's last task); untrained tasks outside the arc are extrapolated",
    ),
    key(
        "heldout",
        "methods",
        "list of `points`, `shared`, `input`, `line`, `quadratic`, `circle`, `fourier2` .. `fourier8`, `piecewise`; on a torus `torus`, `torus2` .. `torus4`, `circles`, `circles2` .. `circles4`, `bilinear`",
        "what is trained: the CRWN's per-task contexts, one shared context, input conditioning, or a context manifold of that basis (`quadratic`: `1, s, s²`; `piecewise`: periodic piecewise-linear, one knot per training task); a basis with more coefficients than training tasks is rejected; on a blur family (a line) `piecewise` is rejected and a periodic basis closes the sweep into a circle one step past its last task; on a torus family only `points`, `shared`, `input` and the two-variable bases (`torusK`: every product of the two variables' Fourier terms up to order K, (2K + 1)²H, `torus` = 9H; `circlesK`: the sum of one Fourier series of order K per variable, (1 + 4K)H; `bilinear`: one knot per training task, bilinear between them, T H, whose steps must divide the torus' counts) are accepted, and a basis of order K needs at least 2K + 1 trained values of each variable",
    ),
    key(
        "heldout",
        "updates",
        "list of `rmsprop`, `metric`, `sgd`",
        "update rules for the manifold methods: RMSprop, the paper's metric-preconditioned SGD, or plain SGD without `G⁻¹` (the control); the baselines always use RMSprop",
    ),
    key(
        "heldout",
        "update_methods",
        "list of manifold methods of `methods`",
        "the manifolds trained with every rule of `updates` (default: every manifold); the others use RMSprop only",
    ),
    key(
        "heldout",
        "metric_learning_rate",
        "number > 0",
        "step size of the metric-preconditioned update (models not in `learning_rates`)",
    ),
    key(
        "heldout",
        "sgd_learning_rate",
        "number > 0",
        "step size of plain SGD (models not in `learning_rates`)",
    ),
    key(
        "heldout",
        "patience",
        "integer >= 1",
        "the convergence rule: the last sixth of each training task's training images is validation; training stops when the mean validation accuracy has not improved for this many epochs (at most `train.epochs`), keeping the best epoch's parameters",
    ),
    key(
        "heldout",
        "learning_rates",
        "table of model label = number > 0",
        "the pilot's step size per trained model (`circle`, `circle-metric`, `circle-sgd`, `points`, ...); unlisted models take `train.learning_rate`, `metric_learning_rate` or `sgd_learning_rate`",
    ),
];

/// Every kind of `[analyze] claims` entry, with an example.
pub const CLAIM_KINDS: &[(&str, &str, &str)] = &[
    (
        "same_cluster",
        r#"{ kind = "same_cluster", tasks = ["T1 original", "T4 blur"], clusters = 3 }"#,
        "these tasks fall in one cluster when the tree is cut into `clusters` (default 3)",
    ),
    (
        "nearest_group",
        r#"{ kind = "nearest_group", task = "T1 original", nearest = ["T4 blur", "T5 perspective", "T6 erasing"] }"#,
        "the `nearest` tasks are `task`'s most similar ones, and with it they form a clade of the merge tree before any of them joins another task (two claims)",
    ),
    (
        "outgroup",
        r#"{ kind = "outgroup", task = "T7 invert" }"#,
        "this task's context has negative similarity to every other task's",
    ),
    (
        "more_similar",
        r#"{ kind = "more_similar", pair = ["T1 original", "T7 invert"], than = ["T2 hflip", "T7 invert"] }"#,
        "the first pair's contexts are more similar than the second pair's",
    ),
    (
        "mean_accuracy_at_least",
        r#"{ kind = "mean_accuracy_at_least", percent = 94.40, source = "PyTorch reference" }"#,
        "the mean final test accuracy over tasks is at least `percent` (no control: a statistic beside the equivalence claim)",
    ),
    (
        "mean_accuracy_equivalent",
        r#"{ kind = "mean_accuracy_equivalent", percent = 94.40, margin = 0.3, source = "PyTorch reference" }"#,
        "the mean final test accuracy over tasks equals `percent` within `margin` percentage points (two one-sided tests at 95 %)",
    ),
    (
        "subsample_of",
        r#"{ kind = "subsample_of", pipeline = "shift-1px", every = 2, margin = 0.05 }"#,
        "at each task distance `d`, this family's similarity equals `pipeline`'s at `every d` (the same pixel offset) within `margin` and differs from `pipeline`'s at `d` (the same task index); `pipeline`'s file sits beside this one",
    ),
];

/// The default of each key, as TOML, read from the config types.
fn defaults() -> Vec<(&'static str, toml::Table)> {
    let table = |value: toml::Value| value.as_table().cloned().unwrap_or_default();
    let mut data = toml::Table::new();
    data.insert("mnist_dir".into(), toml::Value::String("data/mnist".into()));
    data.insert("seed".into(), toml::Value::Integer(0));
    let heldout: HeldoutConfig = toml::from_str("").expect("every [heldout] key has a default");
    vec![
        ("data", data),
        (
            "train",
            table(toml::Value::try_from(TrainConfig::default()).expect("serialisable")),
        ),
        (
            "analyze",
            table(toml::Value::try_from(AnalyzeConfig::default()).expect("serialisable")),
        ),
        (
            "report",
            table(toml::Value::try_from(ReportConfig::default()).expect("serialisable")),
        ),
        ("heldout", table(toml::Value::try_from(heldout).expect("serialisable"))),
    ]
}

fn default_of(defaults: &[(&str, toml::Table)], key: &Key) -> String {
    let found = defaults
        .iter()
        .find(|(s, _)| *s == key.section)
        .and_then(|(_, t)| t.get(key.key));
    match found {
        Some(toml::Value::Array(a)) if a.is_empty() => "`[]`".into(),
        Some(value) => format!("`{value}`"),
        None => match (key.section, key.key) {
            ("data", "train_images" | "test_images") | ("heldout", "train_last") => "all".into(),
            ("heldout", "learning_rates") => "each rule's default".into(),
            ("heldout", "update_methods") => "every manifold".into(),
            ("", "description") => "empty".into(),
            ("data.family", "sweep" | "tasks" | "torus") => "one of the three".into(),
            ("data.family", "task_names") => "from the transforms".into(),
            _ => "required".into(),
        },
    }
}

/// docs/PIPELINE.md.
pub fn markdown() -> String {
    let defaults = defaults();
    let mut out = String::from(
        "# The pipeline file\n\n\
         <!-- Rendered from crates/common/src/config/reference.rs and transforms.rs; \
         `TGSH_BLESS=1 cargo test --release --workspace pipeline_reference` rewrites it. -->\n\n\
         A pipeline is a TOML file `pipelines/<name>.toml`; its name is the file's stem \
         (letters, digits, `-`, `_`). Every key is checked before any work starts: an unknown \
         key, a wrongly typed value or a value out of range is one error naming the key and \
         what is allowed. A pipeline with a `[heldout]` section is a held-out experiment \
         (weight manifolds on tasks never trained) and takes no `[analyze]`; any other is a \
         task-family experiment (the T-GSH paper's analyses). `tgsh-<stage> pipelines/<p>.toml \
         --plan` prints what each stage reads, writes and records for it.\n\n\
         ```toml\n\
         description = \"RotationMNIST, 36 tasks\"\n\
         [data]\n\
         train_images = 5000          # optional: a subset\n\
         [data.family]\n\
         name = \"RotationMNIST\"\n\
         sweep = { transform = \"rotate\", count = 36, step = 10.0 }\n\
         [train]\n\
         seeds = [0, 1, 2, 3, 4]\n\
         ```\n",
    );
    let mut section = None;
    for k in KEYS {
        if section != Some(k.section) {
            section = Some(k.section);
            let heading = if k.section.is_empty() {
                "Top level".to_string()
            } else {
                format!("`[{}]`", k.section)
            };
            out.push_str(&format!(
                "\n## {heading}\n\n| key | allowed | default | meaning |\n|---|---|---|---|\n"
            ));
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            k.key,
            k.allowed,
            default_of(&defaults, k),
            k.meaning
        ));
    }
    out.push_str(
        "\n## Claims of `[analyze] claims`\n\n\
         Task names are the family's (`task_names`, or e.g. `rotate 10°`). Each claim's bar is fixed in \
         the file before a run; docs/METHOD.md says how each is judged.\n\n\
         | kind | example | claims that |\n|---|---|---|\n",
    );
    for (kind, example, meaning) in CLAIM_KINDS {
        out.push_str(&format!("| `{kind}` | `{example}` | {meaning} |\n"));
    }
    out.push_str(
        "\n## Transforms of a task list\n\n\
         Each task of `data.family.tasks` is `{ transform = \"<name>\", <parameters> }`. \
         Random transforms draw new parameters for every image from `data.seed`, as torchvision does.\n\n\
         | transform | what it does | parameters |\n|---|---|---|\n",
    );
    for (name, what) in TRANSFORMS {
        let params: Vec<String> = parameters_of(name)
            .map(|p| {
                format!(
                    "`{}`: {}, {} ({})",
                    p.key,
                    p.kind.describe(),
                    p.meaning,
                    p.default.map_or("required".to_string(), |d| format!("default `{d}`"))
                )
            })
            .collect();
        out.push_str(&format!(
            "| `{name}` | {what} | {} |\n",
            if params.is_empty() {
                "none".to_string()
            } else {
                params.join("; ")
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key a section's type has is in the table, and no other.
    #[test]
    fn the_table_lists_every_key_of_every_section() {
        for (section, defaults) in defaults() {
            let mut listed: Vec<&str> = KEYS.iter().filter(|k| k.section == section).map(|k| k.key).collect();
            listed.sort();
            let optional: &[&str] = match section {
                "data" => &["train_images", "test_images"],
                "heldout" => &["train_last", "learning_rates", "update_methods"],
                _ => &[],
            };
            let mut fields: Vec<&str> = defaults
                .keys()
                .map(String::as_str)
                .chain(optional.iter().copied())
                .collect();
            if section == "data" {
                fields.retain(|f| *f != "family");
            }
            fields.sort();
            assert_eq!(listed, fields, "[{section}]");
        }
    }

    /// Every claim kind parses as its example shows, and the parser knows
    /// no other kind.
    #[test]
    fn the_claim_kinds_are_the_parsers() {
        // Names as the examples use them; the transforms only need to parse.
        let family = "[data.family]\nname = \"A\"\n\
                      task_names = [\"T1 original\", \"T2 hflip\", \"T4 blur\", \"T5 perspective\", \"T6 erasing\", \"T7 invert\"]\n\
                      tasks = [{ transform = \"identity\" }, { transform = \"hflip\" }, { transform = \"gaussian_blur\", kernel = 5, sigma = 2.0 }, \
                      { transform = \"vflip\" }, { transform = \"identity\" }, { transform = \"invert\" }]\n";
        for (kind, example, _) in CLAIM_KINDS {
            let text = format!("{family}[analyze]\nclaims = [{example}]\n");
            super::super::Pipeline::parse("pipelines/a.toml".as_ref(), &text)
                .unwrap_or_else(|e| panic!("the example of `{kind}`: {e}"));
        }
        let text = format!("{family}[analyze]\nclaims = [{{ kind = \"nosuch\" }}]\n");
        let e = super::super::Pipeline::parse("pipelines/a.toml".as_ref(), &text)
            .unwrap_err()
            .to_string();
        let known: Vec<String> = e
            .split("expected one of ")
            .nth(1)
            .expect("serde lists the kinds")
            .split(", ")
            .map(|k| k.trim().trim_matches('`').to_string())
            .collect();
        let listed: Vec<String> = CLAIM_KINDS.iter().map(|(k, _, _)| k.to_string()).collect();
        assert_eq!(known, listed);
    }

    #[test]
    fn pipeline_reference_is_docs_pipeline_md() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/PIPELINE.md");
        let want = markdown();
        if std::fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
            if std::env::var_os("TGSH_BLESS").is_some() {
                std::fs::write(&path, want).unwrap();
                return;
            }
            panic!(
                "{} differs from the config types' reference; run `TGSH_BLESS=1 cargo test --release --workspace pipeline_reference`",
                path.display()
            );
        }
    }
}
