//! Restarting crashed apps, holding the ones that crash too often, and the
//! failure log.
//!
//! `init` keeps one [`Health`] per app. When the app crashes, `init` calls
//! [`Health::crashed`] with the uptime and gets a [`Decision`]: restart at
//! a later uptime (the delay doubles with each crash inside the window), or
//! hold (it crashed [`Policy::max_crashes`] times within
//! [`Policy::window_us`]). Every crash also goes into the [`FailureLog`], a
//! ring of the last [`FAILURE_LOG_ENTRIES`] crashes that a later server
//! uploads; its `Display` forms are what `init` prints.

use core::fmt;

use tessera_abi::manifest::ComponentId;
use tessera_abi::{ExitKind, ExitRecord, FaultKind, NAME_MAX};

/// When to restart and when to give up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Delay before the first restart after a crash, in microseconds.
    pub first_delay_us: u64,
    /// The longest delay (the doubling stops there).
    pub max_delay_us: u64,
    /// Crashes within [`window_us`](Self::window_us) that make `init` hold
    /// the app.
    pub max_crashes: u32,
    /// The window, in microseconds.
    pub window_us: u64,
}

/// `init`'s policy: restart after 100 ms, doubling up to 10 s; hold an app
/// that crashes 3 times within 10 s.
pub const POLICY: Policy =
    Policy { first_delay_us: 100_000, max_delay_us: 10_000_000, max_crashes: 3, window_us: 10_000_000 };

/// Most crashes a [`Health`] remembers (bounds [`Policy::max_crashes`]).
pub const MAX_TRACKED_CRASHES: usize = 8;

/// What to do with an app that crashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Start it again once the uptime reaches this (microseconds).
    RestartAt(u64),
    /// Do not restart it: it crashed too often.
    Hold,
}

/// One app's crash history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// Uptimes of the latest crashes, oldest first (`count` are valid).
    crashes: [u64; MAX_TRACKED_CRASHES],
    count: usize,
    /// Times the app was restarted after a crash.
    restarts: u32,
    held: bool,
}

impl Health {
    /// A new app's history: no crashes.
    pub const fn new() -> Health {
        Health { crashes: [0; MAX_TRACKED_CRASHES], count: 0, restarts: 0, held: false }
    }

    /// Records a crash at uptime `now` and decides what happens next.
    pub fn crashed(&mut self, now: u64, policy: &Policy) -> Decision {
        // Forget crashes older than the window.
        let recent_from = self.crashes[..self.count].iter().position(|&at| now.saturating_sub(at) < policy.window_us);
        let keep = recent_from.map_or(0, |first| self.count - first);
        self.crashes.copy_within(self.count - keep..self.count, 0);
        self.count = keep;
        if self.count == MAX_TRACKED_CRASHES {
            self.crashes.copy_within(1.., 0);
            self.count -= 1;
        }
        self.crashes[self.count] = now;
        self.count += 1;
        let limit = (policy.max_crashes as usize).clamp(1, MAX_TRACKED_CRASHES);
        if self.count >= limit {
            self.held = true;
            return Decision::Hold;
        }
        self.restarts += 1;
        let doublings = (self.count - 1).min(32) as u32;
        let delay = policy.first_delay_us.saturating_mul(1 << doublings).min(policy.max_delay_us);
        Decision::RestartAt(now.saturating_add(delay))
    }

    /// Crashes within the window at the last crash.
    pub fn recent_crashes(&self) -> usize {
        self.count
    }

    /// Times the app was restarted after a crash.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// True once the app is held.
    pub fn held(&self) -> bool {
        self.held
    }
}

/// Entries the failure log keeps (the oldest goes first).
pub const FAILURE_LOG_ENTRIES: usize = 16;

/// One crash, as the failure log keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    name: [u8; NAME_MAX],
    name_len: u8,
    /// The app's component id.
    pub component_id: ComponentId,
    /// How it ended and the registers at its end.
    pub record: ExitRecord,
    /// Uptime of the crash, in microseconds.
    pub uptime_us: u64,
    /// Restarts of this app before this crash.
    pub restarts: u32,
    /// Running number of this crash since boot (1 for the first).
    pub sequence: u32,
}

impl Failure {
    /// A failure of app `name` (cut to [`NAME_MAX`] bytes at a character
    /// boundary).
    pub fn new(name: &str, component_id: ComponentId, record: ExitRecord, uptime_us: u64, restarts: u32) -> Failure {
        let mut end = name.len().min(NAME_MAX);
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        let mut stored = [0; NAME_MAX];
        stored[..end].copy_from_slice(&name.as_bytes()[..end]);
        Failure { name: stored, name_len: end as u8, component_id, record, uptime_us, restarts, sequence: 0 }
    }

    /// The app's name.
    pub fn name(&self) -> &str {
        core::str::from_utf8(&self.name[..self.name_len as usize]).unwrap_or("?")
    }

    /// The registers, as a second line: `r0=... r12=... sp=... lr=... cpsr=...`.
    pub fn registers(&self) -> Registers<'_> {
        Registers(&self.record)
    }
}

/// How the process ended, in words.
struct Ending<'a>(&'a ExitRecord);

impl fmt::Display for Ending<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let record = self.0;
        if record.kind == ExitKind::Faulted as u32 {
            match FaultKind::from_code(record.value) {
                Some(kind) => write!(f, "fault \"{}\"", kind.name()),
                None => write!(f, "fault {}", record.value),
            }
        } else if record.kind == ExitKind::Exited as u32 {
            write!(f, "exit {}", record.value as i32)
        } else {
            write!(f, "killed")
        }
    }
}

/// One line: `failure #1: app=blinky component=... ended=fault "..." pc=... addr=... uptime_ms=... restarts=...`.
impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "failure #{}: app={} component={} ended={} pc={:#010x} addr={:#010x} uptime_ms={} restarts={}",
            self.sequence,
            self.name(),
            self.component_id,
            Ending(&self.record),
            self.record.pc,
            self.record.fault_address,
            self.uptime_us / 1000,
            self.restarts
        )
    }
}

/// The registers of a [`Failure`], for display.
pub struct Registers<'a>(&'a ExitRecord);

impl fmt::Display for Registers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, value) in self.0.registers.iter().enumerate() {
            write!(f, "r{index}={value:08x} ")?;
        }
        write!(f, "sp={:08x} lr={:08x} cpsr={:08x}", self.0.sp, self.0.lr, self.0.cpsr)
    }
}

/// The last [`FAILURE_LOG_ENTRIES`] crashes, oldest first.
#[derive(Clone, Debug)]
pub struct FailureLog {
    entries: [Option<Failure>; FAILURE_LOG_ENTRIES],
    /// Index of the oldest entry.
    start: usize,
    len: usize,
    /// Crashes recorded since boot (also those that fell out of the ring).
    total: u32,
}

impl Default for FailureLog {
    fn default() -> Self {
        FailureLog::new()
    }
}

impl FailureLog {
    /// An empty log.
    pub const fn new() -> FailureLog {
        FailureLog { entries: [None; FAILURE_LOG_ENTRIES], start: 0, len: 0, total: 0 }
    }

    /// Appends `failure`, dropping the oldest entry when full; returns it
    /// as stored (with its sequence number).
    pub fn record(&mut self, mut failure: Failure) -> Failure {
        self.total = self.total.wrapping_add(1);
        failure.sequence = self.total;
        let slot = (self.start + self.len) % FAILURE_LOG_ENTRIES;
        self.entries[slot] = Some(failure);
        if self.len == FAILURE_LOG_ENTRIES {
            self.start = (self.start + 1) % FAILURE_LOG_ENTRIES;
        } else {
            self.len += 1;
        }
        failure
    }

    /// Entries kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing crashed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Crashes since boot, including those no longer kept.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Failure> + '_ {
        (0..self.len).filter_map(move |n| self.entries[(self.start + n) % FAILURE_LOG_ENTRIES].as_ref())
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;
    use std::vec::Vec;

    #[test]
    fn back_off_doubles_then_holds() {
        let mut health = Health::new();
        assert_eq!(health.crashed(1_000_000, &POLICY), Decision::RestartAt(1_100_000));
        assert_eq!(health.crashed(1_200_000, &POLICY), Decision::RestartAt(1_400_000));
        assert_eq!(health.restarts(), 2);
        assert_eq!(health.crashed(1_500_000, &POLICY), Decision::Hold);
        assert!(health.held());
        assert_eq!(health.recent_crashes(), 3);
    }

    #[test]
    fn crashes_outside_the_window_are_forgotten() {
        let mut health = Health::new();
        let mut now = 0;
        for _ in 0..20 {
            now += POLICY.window_us;
            assert_eq!(health.crashed(now, &POLICY), Decision::RestartAt(now + POLICY.first_delay_us));
            assert_eq!(health.recent_crashes(), 1);
        }
        assert!(!health.held());
        assert_eq!(health.restarts(), 20);
    }

    #[test]
    fn delays_are_capped() {
        let policy = Policy { first_delay_us: 1_000, max_delay_us: 5_000, max_crashes: 8, window_us: u64::MAX };
        let mut health = Health::new();
        let delays: Vec<u64> = (0..7)
            .map(|n| match health.crashed(n, &policy) {
                Decision::RestartAt(at) => at - n,
                Decision::Hold => 0,
            })
            .collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 5_000, 5_000, 5_000, 5_000]);
        assert_eq!(health.crashed(7, &policy), Decision::Hold);
    }

    /// Whatever the crash times, an app is held exactly when `max_crashes`
    /// of them fall within one window, and a restart is never in the past.
    #[test]
    fn hold_matches_a_window_count() {
        let mut rng = tessera_testing::Rng::new(0x2545_F491_4F6C_DD1D);
        for _ in 0..500 {
            let mut health = Health::new();
            let mut times = Vec::new();
            let mut now = 0u64;
            loop {
                let state = rng.next_u64();
                now += state % 12_000_000;
                times.push(now);
                let in_window = times.iter().filter(|&&t| now - t < POLICY.window_us).count();
                match health.crashed(now, &POLICY) {
                    Decision::Hold => {
                        assert!(in_window >= 3, "{times:?}");
                        break;
                    }
                    Decision::RestartAt(at) => {
                        assert!(in_window < 3, "{times:?}");
                        assert!(at > now && at - now <= POLICY.max_delay_us);
                    }
                }
            }
        }
    }

    fn record(pc: u32) -> ExitRecord {
        ExitRecord {
            pid: 9,
            kind: ExitKind::Faulted as u32,
            value: FaultKind::Permission as u32,
            fault_address: 0x4010_0000,
            registers: [1; 13],
            sp: 0x7fff_fff0,
            lr: 2,
            pc,
            cpsr: 0x10,
        }
    }

    #[test]
    fn failures_read_as_one_line_each() {
        let mut log = FailureLog::new();
        let stored = log.record(Failure::new("crasher", ComponentId([0xAB; 16]), record(0x1234), 2_500_000, 1));
        let line = format!("{stored}");
        assert_eq!(
            line,
            "failure #1: app=crasher component=abababab-abab-abab-abab-abababababab ended=fault \"permission fault\" \
             pc=0x00001234 addr=0x40100000 uptime_ms=2500 restarts=1"
        );
        let registers = format!("{}", stored.registers());
        assert!(registers.starts_with("r0=00000001 r1=00000001") && registers.ends_with("lr=00000002 cpsr=00000010"));
        let exited = ExitRecord { kind: ExitKind::Exited as u32, value: (-3i32) as u32, ..record(0) };
        assert!(format!("{}", Failure::new("x", ComponentId::NIL, exited, 0, 0)).contains("ended=exit -3"));
    }

    #[test]
    fn the_log_keeps_the_latest_entries() {
        let mut log = FailureLog::new();
        assert!(log.is_empty());
        for pc in 0..40 {
            log.record(Failure::new("app", ComponentId::NIL, record(pc), u64::from(pc), 0));
        }
        assert_eq!(log.len(), FAILURE_LOG_ENTRIES);
        assert_eq!(log.total(), 40);
        let pcs: Vec<u32> = log.iter().map(|failure| failure.record.pc).collect();
        assert_eq!(pcs, (24..40).collect::<Vec<u32>>());
        let sequences: Vec<u32> = log.iter().map(|failure| failure.sequence).collect();
        assert_eq!(sequences, (25..=40).collect::<Vec<u32>>());
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let name = "ééééééééééééééé"; // 30 bytes
        let failure = Failure::new(name, ComponentId::NIL, record(0), 0, 0);
        assert_eq!(failure.name(), "éééééééééééé");
    }
}
