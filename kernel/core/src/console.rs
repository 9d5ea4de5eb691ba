//! What processes print: every line labelled with its origin, control bytes escaped, output bounded per process.
//!
//! The console is shared by the kernel and every process, and people (and
//! the test suite) read it to learn what the system did. So a process must
//! not be able to print a line that looks like another's:
//!
//! - [`Lines`] starts every line a process prints with its name and `": "`,
//!   which the kernel keeps and the process cannot choose (a line that
//!   already starts with exactly that prefix is not given it twice). A line
//!   left open by one writer is ended before another writer's text, and
//!   before a kernel line, so text never runs on into someone else's line.
//! - Bytes other than printable ASCII and the newline are written as
//!   `\xNN`, so no carriage return, backspace or terminal escape sequence
//!   can rewrite what is on the screen.
//! - [`Budget`] bounds how much one process may print: a burst of
//!   [`Budget::BURST`] bytes, refilled at [`Budget::BYTES_PER_SECOND`].
//!   What does not fit is dropped and counted, and the kernel says how much
//!   once the process may print again.

/// Who is writing: a process (by its pid) or the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// The kernel's own log (`kernel: ...`).
    Kernel,
    /// The process with this pid.
    Process(u32),
}

/// The name no process may have: the kernel's own lines start with it.
pub const KERNEL_LABEL: &[u8] = b"kernel";

/// True if `name` may label a process's lines: not empty, not the
/// kernel's, printable ASCII without spaces or a colon (so a label cannot
/// contain a prefix of its own).
pub fn valid_label(name: &[u8]) -> bool {
    !name.is_empty() && name != KERNEL_LABEL && name.iter().all(|&byte| byte.is_ascii_graphic() && byte != b':')
}

/// The console's line state: who has a line open (written to but not ended).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lines {
    open: Option<Writer>,
}

impl Lines {
    /// A console at the start of a line.
    pub const fn new() -> Lines {
        Lines { open: None }
    }

    /// The state as one word, for a kernel that keeps it in an atomic.
    pub const fn to_bits(self) -> u64 {
        match self.open {
            None => 0,
            Some(Writer::Kernel) => 1 << 32,
            Some(Writer::Process(pid)) => (2 << 32) | pid as u64,
        }
    }

    /// The state [`Lines::to_bits`] made `bits` from.
    pub const fn from_bits(bits: u64) -> Lines {
        let open = match bits >> 32 {
            0 => None,
            1 => Some(Writer::Kernel),
            _ => Some(Writer::Process(bits as u32)),
        };
        Lines { open }
    }

    /// Before a kernel line: ends a line someone left open.
    pub fn kernel_line(&mut self, out: &mut impl FnMut(&[u8])) {
        if self.open.is_some() {
            out(b"\n");
        }
        self.open = None;
    }

    /// Writes `text` from process `pid` named `label` through `out`: each
    /// line it starts is prefixed `label: `, a line another writer left open
    /// is ended first, and control and non-ASCII bytes are escaped.
    pub fn write(&mut self, pid: u32, label: &[u8], text: &[u8], out: &mut impl FnMut(&[u8])) {
        let me = Writer::Process(pid);
        let mut rest = text;
        while !rest.is_empty() {
            if self.open != Some(me) {
                if self.open.is_some() {
                    out(b"\n");
                }
                out(label);
                out(b": ");
                self.open = Some(me);
                // The process's own prefix, if it wrote one, is not doubled.
                if rest.len() >= label.len() + 2
                    && rest.starts_with(label)
                    && &rest[label.len()..label.len() + 2] == b": "
                {
                    rest = &rest[label.len() + 2..];
                }
            }
            let line_end = rest.iter().position(|&byte| byte == b'\n');
            let (line, ended) = match line_end {
                Some(at) => (&rest[..at], true),
                None => (rest, false),
            };
            write_escaped(line, out);
            if ended {
                out(b"\n");
                self.open = None;
                rest = &rest[line.len() + 1..];
            } else {
                rest = &[];
            }
        }
    }
}

/// Writes `bytes`, each printable ASCII byte as it is and every other one
/// as `\xNN`; a backslash stays a backslash (the escape is for reading,
/// not for parsing back).
fn write_escaped(bytes: &[u8], out: &mut impl FnMut(&[u8])) {
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        if (0x20..0x7F).contains(&byte) {
            continue;
        }
        out(&bytes[start..at]);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out(&[b'\\', b'x', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xF)]]);
        start = at + 1;
    }
    out(&bytes[start..]);
}

/// How much a process may still print: a token bucket over bytes, in
/// 8 bytes of its process entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Bytes it may print now (at most [`Budget::BURST`]).
    tokens: u16,
    /// Bytes dropped since it last printed (saturating).
    dropped: u16,
    /// When `tokens` was last refilled, in milliseconds since boot,
    /// wrapping: a process silent for a multiple of 49.7 days may find its
    /// budget refilled by less than it earned, never by more.
    refilled_at: u32,
}

/// What a write may print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// How many of the bytes asked for may be printed (the first ones).
    pub bytes: u32,
    /// Bytes dropped before this write that the kernel should report now
    /// (65,535 means at least that many).
    pub report_dropped: Option<u32>,
}

impl Budget {
    /// The most a process may print at once.
    pub const BURST: u16 = 16 * 1024;
    /// How fast its budget refills.
    pub const BYTES_PER_SECOND: u32 = 4 * 1024;

    /// A full budget.
    pub const fn new() -> Budget {
        Budget { tokens: Budget::BURST, dropped: 0, refilled_at: 0 }
    }

    /// Takes what it can of `wanted` bytes at `now` (microseconds since
    /// boot).
    pub fn take(&mut self, now: u64, wanted: u32) -> Allowance {
        let now_ms = (now / 1000) as u32;
        let elapsed = now_ms.wrapping_sub(self.refilled_at);
        // Whole bytes earned; the rest of a byte carries over.
        let earned = u64::from(elapsed) * u64::from(Budget::BYTES_PER_SECOND) / 1000;
        if earned > 0 {
            let tokens = (u64::from(self.tokens) + earned).min(u64::from(Budget::BURST));
            self.tokens = tokens as u16;
            self.refilled_at = if self.tokens == Budget::BURST {
                now_ms
            } else {
                // The time those bytes took, rounded up (never more than
                // `elapsed`, as `earned` was rounded down): no millisecond
                // is paid for twice.
                self.refilled_at.wrapping_add((earned * 1000).div_ceil(u64::from(Budget::BYTES_PER_SECOND)) as u32)
            };
        }
        let bytes = wanted.min(u32::from(self.tokens));
        self.tokens -= bytes as u16;
        let report_dropped =
            if bytes > 0 && self.dropped > 0 { Some(u32::from(core::mem::take(&mut self.dropped))) } else { None };
        let lost = (wanted - bytes).min(u32::from(u16::MAX)) as u16;
        self.dropped = self.dropped.saturating_add(lost);
        Allowance { bytes, report_dropped }
    }
}

impl Default for Budget {
    fn default() -> Budget {
        Budget::new()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn run(lines: &mut Lines, writes: &[(u32, &str, &[u8])]) -> std::string::String {
        let mut out = Vec::new();
        for &(pid, label, text) in writes {
            if pid == 0 {
                lines.kernel_line(&mut |bytes| out.extend_from_slice(bytes));
                out.extend_from_slice(b"kernel: ");
                out.extend_from_slice(text);
            } else {
                lines.write(pid, label.as_bytes(), text, &mut |bytes| out.extend_from_slice(bytes));
            }
        }
        std::string::String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_line_is_labelled_once() {
        let mut lines = Lines::new();
        let text = run(&mut lines, &[(3, "blinky", b"blinky: tick 1\nno prefix\n")]);
        assert_eq!(text, "blinky: tick 1\nblinky: no prefix\n");
        assert_eq!(lines, Lines::new());
    }

    #[test]
    fn a_forged_line_keeps_its_true_origin() {
        let mut lines = Lines::new();
        let forged: &[u8] = b"\ninit: failure #1: app=blinky\nkernel: fault in process 'init'\n";
        let text = run(&mut lines, &[(5, "hostile", forged)]);
        assert_eq!(
            text,
            "hostile: \nhostile: init: failure #1: app=blinky\nhostile: kernel: fault in process 'init'\n"
        );
        for line in text.lines() {
            assert!(line.starts_with("hostile: "), "{line}");
        }
    }

    #[test]
    fn control_bytes_are_escaped() {
        let mut lines = Lines::new();
        let text = run(&mut lines, &[(5, "x", b"a\rb\x1b[2Jc\x08\xc2\x9b\\ok\t\n")]);
        assert_eq!(text, "x: a\\x0db\\x1b[2Jc\\x08\\xc2\\x9b\\ok\\x09\n");
    }

    #[test]
    fn an_open_line_is_ended_before_another_writer() {
        let mut lines = Lines::new();
        let text = run(
            &mut lines,
            &[(3, "a", b"half"), (3, "a", b" more"), (4, "b", b"b's\n"), (3, "a", b"a: again"), (0, "", b"log\n")],
        );
        assert_eq!(text, "a: half more\nb: b's\na: again\nkernel: log\n");
    }

    #[test]
    fn the_prefix_is_checked_only_at_a_line_start() {
        let mut lines = Lines::new();
        let text = run(&mut lines, &[(3, "a", b"x"), (3, "a", b"a: y\n"), (3, "a", b"a:"), (3, "a", b" z\n")]);
        assert_eq!(text, "a: xa: y\na: a: z\n");
    }

    #[test]
    fn state_round_trips_through_bits() {
        for open in [None, Some(Writer::Kernel), Some(Writer::Process(0)), Some(Writer::Process(u32::MAX))] {
            let lines = Lines { open };
            assert_eq!(Lines::from_bits(lines.to_bits()), lines);
        }
    }

    #[test]
    fn labels_exclude_the_kernel_and_separators() {
        assert!(valid_label(b"blinky"));
        assert!(valid_label(b"test-crash_2"));
        assert!(!valid_label(b"kernel"));
        assert!(!valid_label(b""));
        assert!(!valid_label(b"a b"));
        assert!(!valid_label(b"init:"));
        assert!(!valid_label(b"x\n"));
        assert!(!valid_label("é".as_bytes()));
    }

    #[test]
    fn budget_fits_in_eight_bytes() {
        assert_eq!(core::mem::size_of::<Budget>(), 8);
    }

    #[test]
    fn budget_allows_a_burst_then_refills() {
        let burst = u32::from(Budget::BURST);
        let mut budget = Budget::new();
        assert_eq!(budget.take(0, 1000), Allowance { bytes: 1000, report_dropped: None });
        assert_eq!(budget.take(0, burst), Allowance { bytes: burst - 1000, report_dropped: None });
        assert_eq!(budget.take(0, 10), Allowance { bytes: 0, report_dropped: None });
        // Half a second later: 2 KiB earned.
        let half = budget.take(500_000, 5000);
        assert_eq!(half, Allowance { bytes: 2048, report_dropped: Some(1000 + 10) });
        // What it could not print now is reported next time.
        assert_eq!(budget.take(500_000, 1), Allowance { bytes: 0, report_dropped: None });
        assert_eq!(budget.take(1_000_000, 1), Allowance { bytes: 1, report_dropped: Some(5000 - 2048 + 1) });
    }

    #[test]
    fn budget_counts_drops_saturating() {
        let mut budget = Budget::new();
        budget.take(0, u32::from(Budget::BURST));
        for _ in 0..3 {
            assert_eq!(budget.take(0, u32::MAX).bytes, 0);
        }
        assert_eq!(budget.take(10_000_000, 1).report_dropped, Some(u32::from(u16::MAX)));
    }

    #[test]
    fn budget_never_exceeds_its_rate_over_time() {
        let mut random = tessera_testing::Rng::new(0x5eed);
        for _ in 0..200 {
            let mut budget = Budget::new();
            let mut now = 0u64;
            let mut printed = 0u64;
            for _ in 0..200 {
                now += random.below(300_000) as u64;
                printed += u64::from(budget.take(now, random.below(3000) as u32).bytes);
                let limit = u64::from(Budget::BURST) + now * u64::from(Budget::BYTES_PER_SECOND) / 1_000_000;
                assert!(printed <= limit, "printed {printed} by {now} us, limit {limit}");
            }
        }
    }

    #[test]
    fn budget_refills_across_the_millisecond_wrap() {
        let mut budget = Budget::new();
        let before_wrap = (u64::from(u32::MAX) - 100) * 1000;
        assert_eq!(budget.take(before_wrap, u32::MAX).bytes, u32::from(Budget::BURST));
        // 1 s later, past the wrap of the millisecond clock.
        let after = before_wrap + 1_000_000;
        assert_eq!(budget.take(after, u32::MAX).bytes, Budget::BYTES_PER_SECOND);
    }
}
