//! `print!` and `println!`: text is gathered in a buffer on the stack and
//! written with one `DebugWrite` per line (or per 256 bytes), so lines from
//! different processes do not mix.

use core::fmt;

/// A line buffer that writes itself out when full and when dropped.
pub struct LineWriter {
    buffer: [u8; 256],
    len: usize,
}

impl Default for LineWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl LineWriter {
    /// An empty buffer.
    pub const fn new() -> Self {
        LineWriter { buffer: [0; 256], len: 0 }
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        let _ = crate::debug_write(&self.buffer[..self.len]);
        self.len = 0;
    }
}

impl fmt::Write for LineWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for &byte in text.as_bytes() {
            if self.len == self.buffer.len() {
                self.flush();
            }
            self.buffer[self.len] = byte;
            self.len += 1;
        }
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Prints to the debug console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut writer = $crate::console::LineWriter::new();
        let _ = write!(writer, $($arg)*);
    }};
}

/// Prints a line to the debug console.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        use core::fmt::Write as _;
        let mut writer = $crate::console::LineWriter::new();
        let _ = writeln!(writer, $($arg)*);
    }};
}
