//! The kernel log on the PL011 UART. Output is polled and unbuffered, so a
//! panic message always gets out; the kernel never runs two writers at once
//! (one core, IRQs masked), so no lock is needed.

use core::fmt;
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicUsize, Ordering};

static UART_BASE: AtomicUsize = AtomicUsize::new(0);

const DATA: usize = 0x00;
const FLAGS: usize = 0x18;
const FLAG_TX_FULL: u32 = 1 << 5;

/// Uses the PL011 whose registers are at `base` (physical before the MMU is
/// on, its mapped address after).
pub fn set_uart(base: usize) {
    UART_BASE.store(base, Ordering::Relaxed);
}

/// Writes raw bytes (user text is passed through as it is).
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

/// `fmt::Write` onto the console.
pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        write_bytes(text.as_bytes());
        Ok(())
    }
}

/// Prints a line prefixed `kernel: `.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let _ = write!($crate::console::Console, "kernel: ");
        let _ = writeln!($crate::console::Console, $($arg)*);
    }};
}
