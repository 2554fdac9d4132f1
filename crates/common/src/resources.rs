//! What a process has used, for the benchmarks' reports (Linux `/proc`).

/// Peak resident memory of this process so far, in MiB (NaN off Linux).
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets the peak that [`peak_rss_mib`] reports to the current use (Linux:
/// writing 5 to `clear_refs`), so one part of a benchmark can be measured alone.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
