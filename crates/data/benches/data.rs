//! `just bench` (data): generating all four task families (86 tasks x
//! 70,000 images) into Parquet: wall time, peak memory and file sizes.
//! Printed, never asserted (shared, noisy machines).

use std::path::Path;
use std::time::Instant;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let start = Instant::now();
    let mnist = tgsh_data::mnist::load(&root.join("data/mnist")).expect("carried MNIST");
    println!("load + verify MNIST: {:.2} s", start.elapsed().as_secs_f64());
    let out = std::env::temp_dir().join(format!("tgsh-bench-data-{}", std::process::id()));
    let mut total = 0.0;
    let mut tasks = 0;
    for name in ["rotation", "shift-1px", "shift-2px", "augment"] {
        let pipeline = tgsh_common::Pipeline::load(&root.join(format!("pipelines/{name}.toml"))).unwrap();
        let dir = out.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let start = Instant::now();
        let summary = tgsh_data::generate(&pipeline.data, &mnist, &dir, |_| {}).unwrap();
        let seconds = start.elapsed().as_secs_f64();
        total += seconds;
        tasks += summary.tasks;
        let size = |f: &str| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()) as f64 / (1 << 20) as f64;
        println!(
            "{name:>10}: {:>2} tasks x {} images in {seconds:>5.1} s; train.parquet {:>6.1} MiB, test.parquet {:>5.1} MiB",
            summary.tasks,
            summary.train_images + summary.test_images,
            size("train.parquet"),
            size("test.parquet")
        );
    }
    println!(
        "all families: {tasks} tasks in {total:.1} s; peak RSS {:.0} MiB",
        tgsh_common::resources::peak_rss_mib()
    );
    let _ = std::fs::remove_dir_all(out);
}
