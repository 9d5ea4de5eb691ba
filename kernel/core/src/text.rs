//! The kernel's log lines, built without `core::fmt`.
//!
//! `core::fmt` (its `write`, the formatter's padding, the integer `Display`
//! impls and the `Debug` machinery a single `{:?}` pulls in) was about
//! 6 KiB of the A7 kernel's 56 KiB of text and 3.6 KiB of its read-only
//! data, for 15 log lines that print strings and numbers
//! (docs/benchmarks.md, "The kernel without core::fmt"). A [`Line`] is a
//! fixed buffer that takes text, decimal and hexadecimal numbers, and cuts
//! what does not fit (a log line is never worth a panic).

/// The longest line the kernel prints, without its `kernel: ` prefix: the
/// longest it builds (a fault report with a 32-byte process name, about
/// 110 bytes) with room to spare.
pub const LINE_MAX: usize = 192;

/// One kernel log line being built.
pub struct Line {
    bytes: [u8; LINE_MAX],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    /// An empty line.
    pub const fn new() -> Line {
        Line { bytes: [0; LINE_MAX], len: 0 }
    }

    /// Appends `bytes` as they are (the caller escapes what needs it), or
    /// as much of them as fits.
    #[inline(never)]
    pub fn bytes(&mut self, bytes: &[u8]) -> &mut Line {
        // No index that could panic: a panic site costs the kernel its
        // location and message.
        if let Some(room) = self.bytes.get_mut(self.len..) {
            for (slot, &byte) in room.iter_mut().zip(bytes) {
                *slot = byte;
                self.len += 1;
            }
        }
        self
    }

    /// Appends `text`.
    pub fn str(&mut self, text: &str) -> &mut Line {
        self.bytes(text.as_bytes())
    }

    /// Appends `value` in decimal (as `{}` prints it).
    #[inline(never)]
    pub fn dec(&mut self, value: u32) -> &mut Line {
        let mut digits = [0u8; 10];
        let mut rest = value;
        let mut used = 0;
        for digit in digits.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
            used += 1;
            if rest == 0 {
                break;
            }
        }
        self.bytes(digits.get(digits.len() - used..).unwrap_or(&digits))
    }

    /// Appends `value` as `0x` and eight hexadecimal digits (as `{:#010x}`
    /// prints it).
    #[inline(never)]
    pub fn hex(&mut self, value: u32) -> &mut Line {
        let mut digits = *b"0x00000000";
        for (index, digit) in digits[2..].iter_mut().enumerate() {
            let nibble = (value >> (28 - 4 * index)) & 0xf;
            *digit = b"0123456789abcdef"[nibble as usize];
        }
        self.bytes(&digits)
    }

    /// Appends how kernel lines name a process: `'NAME' (pid PID)`.
    pub fn process(&mut self, name: &[u8], pid: u32) -> &mut Line {
        self.str("'").bytes(name).str("' (pid ").dec(pid).str(")")
    }

    /// What was built.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    fn text(line: &Line) -> &str {
        core::str::from_utf8(line.as_bytes()).unwrap()
    }

    #[test]
    fn numbers_print_as_core_fmt_prints_them() {
        for value in [0, 1, 9, 10, 99, 100, 4_096, 65_535, 1_000_000_007, u32::MAX - 1, u32::MAX] {
            let mut line = Line::new();
            line.dec(value).str(" ").hex(value);
            assert_eq!(text(&line), format!("{value} {value:#010x}"));
        }
    }

    #[test]
    fn a_line_takes_text_and_bytes_in_order() {
        let mut line = Line::new();
        line.str("fault in process '").bytes(b"blinky").str("' (pid ").dec(7).str(")");
        assert_eq!(text(&line), "fault in process 'blinky' (pid 7)");
        let mut named = Line::new();
        named.str("fault in process ").process(b"blinky", 7);
        assert_eq!(named.as_bytes(), line.as_bytes());
    }

    #[test]
    fn what_does_not_fit_is_cut_not_a_panic() {
        let mut line = Line::new();
        line.bytes(&[b'a'; LINE_MAX - 3]).hex(0xdead_beef).dec(12_345).str("more");
        assert_eq!(line.as_bytes().len(), LINE_MAX);
        assert_eq!(&line.as_bytes()[LINE_MAX - 3..], b"0xd");
    }

    #[test]
    fn random_sequences_match_core_fmt_up_to_the_limit() {
        let mut random = tessera_testing::Rng::new(0x7e47);
        for _ in 0..2_000 {
            let mut line = Line::new();
            let mut expected = std::string::String::new();
            for _ in 0..random.below(12) {
                // Values near the digit boundaries as often as anywhere.
                let value = match random.below(3) {
                    0 => random.next_u64() as u32,
                    1 => 10u32.pow(random.below(10) as u32).wrapping_sub(random.below(2) as u32),
                    _ => random.below(16) as u32,
                };
                match random.below(3) {
                    0 => {
                        line.dec(value);
                        expected.push_str(&format!("{value}"));
                    }
                    1 => {
                        line.hex(value);
                        expected.push_str(&format!("{value:#010x}"));
                    }
                    _ => {
                        let text: std::string::String =
                            (0..random.below(40)).map(|_| (b' ' + random.below(95) as u8) as char).collect();
                        line.str(&text);
                        expected.push_str(&text);
                    }
                }
            }
            expected.truncate(LINE_MAX);
            assert_eq!(line.as_bytes(), expected.as_bytes());
        }
    }
}
