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
//!   [`Budget::BURST`] bytes, refilled at [`Budget::BYTES_PER_SECOND`],
//!   counted in bytes that reach the console (labels and escapes
//!   included), at most [`Budget::CALL_MAX`] per write.
//!   What does not fit is dropped and counted, and the kernel says how much
//!   once the budget pays for that line and a whole write besides
//!   ([`Budget::report`]).
use tessera_abi::rate::refill;

/// Division by 1000, microseconds to milliseconds (without a library
/// routine: `tessera_abi::divide`).
const MILLIS: tessera_abi::divide::Reciprocal = tessera_abi::divide::Reciprocal::new(1000);

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

    /// Writes `text` from process `pid` named `label` through `out`, at
    /// most `limit` bytes of output: each line it starts is prefixed
    /// `label: `, a line another writer left open is ended first, and
    /// control and non-ASCII bytes are escaped. What would go past `limit`
    /// is not written (a prefix or an escape is never cut). Returns how
    /// many bytes of `text` were written and how many bytes of output that
    /// took, so that a budget pays for what reached the console.
    pub fn write(&mut self, pid: u32, label: &[u8], text: &[u8], limit: usize, out: &mut impl FnMut(&[u8])) -> Written {
        let me = Writer::Process(pid);
        let mut written = Written::default();
        let mut emit = |bytes: &[u8], written: &mut Written| -> bool {
            if written.output + bytes.len() > limit {
                return false;
            }
            out(bytes);
            written.output += bytes.len();
            true
        };
        let mut at = 0;
        while at < text.len() {
            if self.open != Some(me) {
                let close = usize::from(self.open.is_some());
                if written.output + close + label.len() + 2 > limit {
                    break;
                }
                if close == 1 {
                    emit(b"\n", &mut written);
                }
                emit(label, &mut written);
                emit(b": ", &mut written);
                self.open = Some(me);
                // The process's own prefix, if it wrote one, is not doubled.
                let rest = &text[at..];
                if rest.len() >= label.len() + 2
                    && rest.starts_with(label)
                    && &rest[label.len()..label.len() + 2] == b": "
                {
                    at += label.len() + 2;
                    continue;
                }
            }
            let byte = text[at];
            let fits = if byte == b'\n' {
                let fits = emit(b"\n", &mut written);
                if fits {
                    self.open = None;
                }
                fits
            } else if (0x20..0x7F).contains(&byte) {
                emit(&[byte], &mut written)
            } else {
                emit(&escape(byte), &mut written)
            };
            if !fits {
                break;
            }
            at += 1;
        }
        written.text = at;
        written
    }
}

/// What [`Lines::write`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Bytes of the text written (the rest did not fit).
    pub text: usize,
    /// Bytes that reached the console: the text with labels and escapes.
    pub output: usize,
}

/// `byte` as `\xNN`; a backslash stays a backslash (the escape is for
/// reading, not for parsing back).
fn escape(byte: u8) -> [u8; 4] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    [b'\\', b'x', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xF)]]
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

impl Budget {
    /// The most a process may print at once.
    pub const BURST: u16 = 16 * 1024;
    /// How fast its budget refills.
    pub const BYTES_PER_SECOND: u32 = 4 * 1024;
    /// The most one write may put on the console (labels and escapes
    /// included), whatever the budget: the kernel writes it with interrupts
    /// masked.
    pub const CALL_MAX: u32 = 2048;

    /// A full budget.
    pub const fn new() -> Budget {
        Budget { tokens: Budget::BURST, dropped: 0, refilled_at: 0 }
    }

    /// Refills the budget for the time up to `now` (microseconds since
    /// boot) and returns how many bytes of output the process may print in
    /// one write now.
    pub fn available(&mut self, now: u64) -> u32 {
        let now_ms = MILLIS.div_rem(now).0 as u32;
        let burst = u32::from(Budget::BURST);
        let (tokens, refilled_at) =
            refill(u32::from(self.tokens), self.refilled_at, now_ms, Budget::BYTES_PER_SECOND, burst);
        // At most the burst, which fits.
        (self.tokens, self.refilled_at) = (tokens.min(burst) as u16, refilled_at);
        u32::from(self.tokens).min(Budget::CALL_MAX)
    }

    /// What the kernel's report of dropped output costs the process: at
    /// least that line's length (`kernel: process 'NAME' (pid N): ...`,
    /// at most 127 bytes and the name; a const assertion in the kernel
    /// checks it against `NAME_MAX`), so a process cannot make the kernel
    /// print for it beyond its budget.
    pub const REPORT_BYTES: u16 = 160;

    /// Refills the budget for the time up to `now` (microseconds since
    /// boot) and, if bytes were dropped since it last printed and the
    /// budget pays for the line that says so ([`Budget::REPORT_BYTES`],
    /// charged here), returns how many (65,535 means at least that many);
    /// `None` otherwise. Without the charge, a process could keep its
    /// budget near empty with writes that fail and make the kernel print a
    /// report for each. The report waits until the budget has its length
    /// and a whole write's ([`Budget::CALL_MAX`]) besides (a process that
    /// keeps writing faster than its rate hears of its drops once it slows
    /// down; the count saturates, nothing else is lost), and the process's
    /// own writes are never held back for it: a process writing below its
    /// rate after a burst gets its lines out again at once.
    pub fn report(&mut self, now: u64) -> Option<u32> {
        self.available(now);
        // Paid for with a whole write's worth left: the report never cuts
        // the write it comes before (which would drop bytes again, and
        // make the next report cut the next write).
        if self.dropped > 0 && u32::from(self.tokens) >= u32::from(Budget::REPORT_BYTES) + Budget::CALL_MAX {
            self.tokens -= Budget::REPORT_BYTES;
            Some(u32::from(core::mem::take(&mut self.dropped)))
        } else {
            None
        }
    }

    /// Pays for `printed` bytes of output (at most what [`Budget::available`]
    /// said) and counts `dropped` bytes of its text that did not get out.
    pub fn charge(&mut self, printed: u32, dropped: u32) {
        self.tokens = self.tokens.saturating_sub(printed.min(u32::from(u16::MAX)) as u16);
        self.dropped = self.dropped.saturating_add(dropped.min(u32::from(u16::MAX)) as u16);
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
                lines.write(pid, label.as_bytes(), text, usize::MAX, &mut |bytes| out.extend_from_slice(bytes));
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

    /// One write as the kernel makes it: what is available, what it cost.
    fn print(budget: &mut Budget, lines: &mut Lines, now: u64, text: &[u8]) -> (Written, Option<u32>) {
        let report = budget.report(now);
        if report.is_some() {
            // The kernel's line ends the process's open one.
            lines.kernel_line(&mut |_| {});
        }
        let available = budget.available(now);
        let written = lines.write(1, b"app", text, available as usize, &mut |_| {});
        budget.charge(written.output as u32, (text.len() - written.text) as u32);
        (written, report)
    }

    #[test]
    fn a_write_stops_where_the_output_would_pass_its_limit() {
        let mut lines = Lines::new();
        let mut out = Vec::new();
        let written = lines.write(1, b"app", b"ab\x01cd", 10, &mut |bytes| out.extend_from_slice(bytes));
        // "app: " (5) "ab" (2): the 4-byte escape would make 11.
        assert_eq!(written, Written { text: 2, output: 7 });
        assert_eq!(out, b"app: ab");
        // No room for a label: nothing at all.
        let mut fresh = Lines::new();
        assert_eq!(fresh.write(1, b"app", b"x", 4, &mut |_| {}), Written { text: 0, output: 0 });
        assert_eq!(fresh, Lines::new());
    }

    #[test]
    fn the_budget_pays_for_labels_and_escapes() {
        let mut budget = Budget::new();
        let mut lines = Lines::new();
        // Newlines alone: each costs a label, so 2 KiB of them is far less
        // than 2 KiB of text.
        let (written, _) = print(&mut budget, &mut lines, 0, &[b'\n'; 1024]);
        assert_eq!(written.output, 2046, "341 empty lines of 'app: ' and a newline, within CALL_MAX");
        assert_eq!(written.text, 341);
        let mut total = written.output;
        let mut now = 0;
        for _ in 0..100 {
            now += 10_000;
            total += print(&mut budget, &mut lines, now, &[0x1b; 1024]).0.output;
        }
        let limit = usize::from(Budget::BURST) + (now as usize) * Budget::BYTES_PER_SECOND as usize / 1_000_000;
        assert!(total <= limit, "{total} bytes of output by {now} us, limit {limit}");
    }

    #[test]
    fn budget_allows_a_burst_then_refills_and_reports_drops() {
        let mut budget = Budget::new();
        let mut lines = Lines::new();
        let line = [b'x'; 1000];
        let mut printed = 0;
        while budget.available(0) > 0 {
            printed += print(&mut budget, &mut lines, 0, &line).0.output;
        }
        assert!(printed <= usize::from(Budget::BURST) && printed > usize::from(Budget::BURST) - 1000);
        let (written, report) = print(&mut budget, &mut lines, 0, &line);
        assert_eq!((written.output, report), (0, None), "nothing to print with, nothing reported yet");
        // Half a second later: 2 KiB earned, not enough for the report and
        // a whole write besides: the line is printed, the report waits.
        let (written, report) = print(&mut budget, &mut lines, 500_000, &line);
        assert_eq!((written.text, report), (1000, None));
        // A second later: the 1000 bytes dropped are reported before it
        // prints again.
        let (written, report) = print(&mut budget, &mut lines, 1_500_000, &line);
        assert!(report.is_some_and(|dropped| dropped >= 1000), "{report:?}");
        assert_eq!(written.text, 1000);
    }

    #[test]
    fn budget_counts_drops_saturating() {
        let mut budget = Budget::new();
        budget.charge(u32::from(Budget::BURST), 0);
        for _ in 0..3 {
            assert_eq!(budget.available(0), 0);
            budget.charge(0, u32::MAX);
        }
        assert_eq!(budget.report(10_000_000), Some(u32::from(u16::MAX)));
        assert_eq!(budget.report(10_000_000), None);
    }

    /// A process that keeps its budget near empty with writes that fail
    /// (a byte each, too little for its label once a kernel report has
    /// ended its line) gets a report line only as often as its budget
    /// pays for one: the kernel's lines count.
    #[test]
    fn reports_of_dropped_output_are_paid_for() {
        let mut budget = Budget::new();
        let mut lines = Lines::new();
        let (mut now, mut printed, mut reports) = (0u64, 0u64, 0u64);
        // 50,000 writes a second for 2 s, then one every 50 ms for 2 s:
        // the burst is spent in the first second.
        for step in 0..100_040u64 {
            now += if step < 100_000 { 20 } else { 50_000 };
            let (written, report) = print(&mut budget, &mut lines, now, b"x");
            printed += written.output as u64;
            if report.is_some() {
                reports += 1;
                printed += u64::from(Budget::REPORT_BYTES);
            }
            let limit = u64::from(Budget::BURST) + now * u64::from(Budget::BYTES_PER_SECOND) / 1_000_000;
            assert!(printed <= limit, "{printed} bytes (reports included) by {now} us, limit {limit}");
        }
        // Without the charge: one report every few writes once the burst
        // is spent. With it: once it slows down.
        assert!((1..=10).contains(&reports), "{reports} reports");
    }

    /// A report costs the process [`Budget::REPORT_BYTES`] of its budget.
    #[test]
    fn a_report_is_charged_to_the_budget() {
        let mut budget = Budget::new();
        budget.charge(0, 10);
        assert_eq!(budget.report(0), Some(10));
        assert_eq!(budget.tokens, Budget::BURST - Budget::REPORT_BYTES);
        assert_eq!(budget.report(0), None, "reported once");
        // With less than the report and a whole write: no report yet.
        let mut low = Budget::new();
        low.charge(u32::from(Budget::BURST) - Budget::CALL_MAX, 1);
        assert_eq!(low.report(0), None);
        assert_eq!(low.available(0), Budget::CALL_MAX, "nothing charged");
    }

    /// After a burst that was cut, a process that writes below its rate
    /// (40-byte lines every 20 ms: about 60 % of it, labels included) gets
    /// its lines out again at once, and hears of the drop once.
    #[test]
    fn a_writer_below_its_rate_recovers_after_a_burst() {
        let mut budget = Budget::new();
        let mut lines = Lines::new();
        let mut now = 0u64;
        while budget.available(now) > 0 {
            print(&mut budget, &mut lines, now, &[b'x'; 2000]);
        }
        let line = [b'y'; 39].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        let (mut cut, mut reports) = (0, 0);
        for step in 0..1_000 {
            now += 20_000;
            let (written, report) = print(&mut budget, &mut lines, now, &line);
            reports += u32::from(report.is_some());
            if written.text < line.len() && step >= 10 {
                cut += 1;
            }
        }
        assert_eq!(cut, 0, "lines cut after the first 200 ms of 20 s");
        assert_eq!(reports, 1);
    }

    #[test]
    fn budget_never_exceeds_its_rate_over_time() {
        let mut random = tessera_testing::Rng::new(0x5eed);
        for _ in 0..200 {
            let mut budget = Budget::new();
            let mut lines = Lines::new();
            let mut now = 0u64;
            let mut printed = 0u64;
            for _ in 0..200 {
                now += random.below(300_000) as u64;
                let len = random.below(3000);
                let text = random.bytes(len);
                printed += print(&mut budget, &mut lines, now, &text).0.output as u64;
                let limit = u64::from(Budget::BURST) + now * u64::from(Budget::BYTES_PER_SECOND) / 1_000_000;
                assert!(printed <= limit, "printed {printed} by {now} us, limit {limit}");
            }
        }
    }

    #[test]
    fn budget_refills_across_the_millisecond_wrap() {
        let mut budget = Budget::new();
        let before_wrap = (u64::from(u32::MAX) - 100) * 1000;
        let available = budget.available(before_wrap);
        budget.charge(u32::from(Budget::BURST), 0);
        assert_eq!(available, Budget::CALL_MAX);
        // 1 s later, past the wrap of the millisecond clock.
        let after = before_wrap + 1_000_000;
        assert_eq!(budget.available(after), Budget::CALL_MAX.min(Budget::BYTES_PER_SECOND));
    }
}
