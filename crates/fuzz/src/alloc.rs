//! The allocation bound: while a thread runs a fuzz input, one allocation
//! larger than [`LIMIT`] means the parser sized a buffer from a number in
//! the input without checking it against what the input holds. The process
//! then saves the input and aborts (an allocator may not unwind).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The largest single allocation a fuzz input may cause: far more than any
/// input here (at most 1 MiB, decompressing to at most one MNIST file)
/// needs, far less than a machine has.
pub const LIMIT: usize = 256 << 20;

/// The bound for Parquet readers: the format caps a page's uncompressed
/// size at 2 GiB (an i32), and the parquet crate reserves the size a page
/// header declares before decompressing the page (found by this fuzzer; the
/// reservation stays virtual memory beyond the bytes really decompressed).
/// Anything beyond that is still a finding.
pub const PARQUET_LIMIT: usize = i32::MAX as usize + (64 << 20);

thread_local! {
    /// The bound of the input this thread runs; 0 when it runs none.
    static BOUND: Cell<usize> = const { Cell::new(0) };
    static REPORTING: Cell<bool> = const { Cell::new(false) };
}

/// Bounds this thread's allocations by `limit` (0: no input runs).
pub(crate) fn watch(limit: usize) {
    BOUND.with(|w| w.set(limit));
}

/// Whether this thread is running a fuzz input.
pub(crate) fn watching() -> bool {
    BOUND.try_with(Cell::get).unwrap_or(0) > 0
}

fn check(size: usize) {
    let bound = BOUND.try_with(Cell::get).unwrap_or(0);
    if bound > 0 && size > bound && !REPORTING.try_with(Cell::get).unwrap_or(true) {
        REPORTING.with(|r| r.set(true));
        crate::report_allocation(size, bound);
        std::process::abort();
    }
}

/// The system allocator with the bound.
pub struct Bounded;

// SAFETY: every call is forwarded to the system allocator unchanged; the
// check before it only reads thread-local flags (and aborts).
unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static BOUNDED: Bounded = Bounded;
