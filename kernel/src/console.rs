//! The kernel log on the PL011 UART, and what processes print on it.
//!
//! Output is polled and unbuffered, so a panic message always gets out; the
//! kernel never runs two writers at once (one core, IRQs masked), so no lock
//! is needed. Each line a process prints starts with its name and has its
//! control bytes escaped (`kernel_core::console`), so no process can print a
//! line that looks like the kernel's or another process's.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use kernel_core::console::{Lines, Written};

static UART_BASE: AtomicUsize = AtomicUsize::new(0);
/// Who has a line open on the console (`kernel_core::console::Lines`).
static LINES: AtomicU64 = AtomicU64::new(0);

const DATA: usize = 0x00;
const FLAGS: usize = 0x18;
const FLAG_TX_FULL: u32 = 1 << 5;

/// Uses the PL011 whose registers are at `base` (physical before the MMU is
/// on, its mapped address after).
pub fn set_uart(base: usize) {
    UART_BASE.store(base, Ordering::Relaxed);
}

/// Starts a kernel line: ends a line a process left open, so the kernel's
/// text never runs on into a process's.
#[inline(never)]
pub fn begin_kernel_line() {
    let mut lines = Lines::from_bits(LINES.load(Ordering::Relaxed));
    lines.kernel_line(&mut write_bytes);
    LINES.store(lines.to_bits(), Ordering::Relaxed);
}

/// Writes what process `pid` named `label` printed, at most `limit` bytes
/// of output: each of its lines starts with its name, and control bytes
/// are escaped. Says how much of `text` got out and what it cost.
pub fn write_process(pid: u32, label: &[u8], text: &[u8], limit: u32) -> Written {
    let mut lines = Lines::from_bits(LINES.load(Ordering::Relaxed));
    let written = lines.write(pid, label, text, limit as usize, &mut write_bytes);
    LINES.store(lines.to_bits(), Ordering::Relaxed);
    written
}

/// Writes the kernel's own bytes as they are.
#[inline(never)]
pub fn write_bytes(bytes: &[u8]) {
    let base = UART_BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    for &byte in bytes {
        // SAFETY: `base` is the PL011's register block (set by `set_uart`),
        // mapped as device memory; FLAGS and DATA are registers in it.
        unsafe {
            while read_volatile((base + FLAGS) as *const u32) & FLAG_TX_FULL != 0 {}
            write_volatile((base + DATA) as *mut u32, byte as u32);
        }
    }
}

/// Prints a kernel line: `kernel: ` and `text` (see [`log!`]).
pub fn log_bytes(text: &[u8]) {
    begin_kernel_line();
    write_bytes(b"kernel: ");
    write_bytes(text);
    write_bytes(b"\n");
}

/// Prints a line prefixed `kernel: `: `log!("text")`, or
/// `log!(|line| ...)` to build it with `kernel_core::text::Line` (the
/// kernel has no `core::fmt`: docs/benchmarks.md).
#[macro_export]
macro_rules! log {
    ($text:literal) => {
        $crate::console::log_bytes($text.as_bytes())
    };
    (|$line:ident| $build:expr) => {{
        let mut $line = kernel_core::text::Line::new();
        $build;
        $crate::console::log_bytes($line.as_bytes())
    }};
}
