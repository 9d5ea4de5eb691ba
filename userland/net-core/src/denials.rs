//! Denied attempts as security events: `netd` logs each as one line (the
//! [`Denial`]'s `Display` form) and keeps it in a bounded ring,
//! [`Denials`], which a later security service collects over `netd`'s
//! protocol. When the ring is full the oldest record makes room and is
//! counted as dropped, so the newest [`RING_ENTRIES`] are always there and
//! nothing is lost without a trace.

use core::fmt;

use tessera_abi::manifest::ComponentId;

/// Records the ring keeps.
pub const RING_ENTRIES: usize = 64;

/// Why an attempt was denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The address is neither a literal of the app's
    /// `AllowedConnections` nor one `netd` resolved for it from a name
    /// listed there; or the name is not listed.
    NotListed,
    /// The port is not in the app's `AllowedTcpServerPorts` or
    /// `AllowedUdpServerPorts`.
    PortNotGranted,
    /// Another app listens on (or has bound) the port.
    PortTaken,
    /// The port is the network server's own (its DHCP or DNS client's):
    /// a socket there would take the server's answers.
    Reserved,
}

/// The bytes of a name a denial keeps; a longer name is cut there.
pub const NAME_KEPT_BYTES: usize = 64;

/// What an app asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A connection to an address and port.
    Connect {
        /// The address.
        address: [u8; 4],
        /// The port.
        port: u16,
    },
    /// A UDP datagram to an address and port.
    SendTo {
        /// The address.
        address: [u8; 4],
        /// The port.
        port: u16,
    },
    /// Listening for TCP connections on a port.
    Listen {
        /// The port.
        port: u16,
    },
    /// Binding a UDP socket to a port.
    Bind {
        /// The port.
        port: u16,
    },
    /// A lookup of a host name.
    Lookup {
        /// Its first [`NAME_KEPT_BYTES`] bytes.
        name: [u8; NAME_KEPT_BYTES],
        /// Its length (it was cut if this exceeds [`NAME_KEPT_BYTES`]).
        len: usize,
    },
}

impl Attempt {
    /// A lookup of `name` (its first [`NAME_KEPT_BYTES`] bytes are kept).
    pub fn lookup(name: &[u8]) -> Attempt {
        let mut kept = [0; NAME_KEPT_BYTES];
        let take = name.len().min(NAME_KEPT_BYTES);
        kept[..take].copy_from_slice(&name[..take]);
        Attempt::Lookup { name: kept, len: name.len() }
    }
}

/// One denied attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The app's client number.
    pub client: u32,
    /// The app's ComponentId.
    pub component_id: ComponentId,
    /// What it asked for.
    pub attempt: Attempt,
    /// Why it was denied.
    pub reason: Reason,
}

/// The log line, after `netd: `: `denied app 3
/// (2ec11f7e-12ec-46c4-9a9b-76c8b56f6bfd) connect to 10.0.2.3:80: not in
/// AllowedConnections`, or `... lookup of "unlisted.test": not in
/// AllowedConnections`. A name's bytes other than printable ASCII are
/// shown as `\xNN`, and a cut name ends in `...`.
impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "denied app {} ({}) ", self.client, self.component_id)?;
        match self.attempt {
            Attempt::Connect { address: [a, b, c, d], port } => write!(f, "connect to {a}.{b}.{c}.{d}:{port}: ")?,
            Attempt::SendTo { address: [a, b, c, d], port } => write!(f, "send to {a}.{b}.{c}.{d}:{port}: ")?,
            Attempt::Listen { port } => write!(f, "listen on TCP port {port}: ")?,
            Attempt::Bind { port } => write!(f, "bind UDP port {port}: ")?,
            Attempt::Lookup { name, len } => {
                f.write_str("lookup of \"")?;
                for &byte in &name[..len.min(NAME_KEPT_BYTES)] {
                    match byte {
                        b'"' | b'\\' => write!(f, "\\x{byte:02x}")?,
                        0x20..=0x7e => write!(f, "{}", byte as char)?,
                        _ => write!(f, "\\x{byte:02x}")?,
                    }
                }
                let cut = if len > NAME_KEPT_BYTES { "..." } else { "" };
                write!(f, "{cut}\": ")?;
            }
        }
        match (self.reason, self.attempt) {
            (Reason::NotListed, _) => f.write_str("not in AllowedConnections"),
            (Reason::PortNotGranted, Attempt::Bind { .. }) => f.write_str("not in AllowedUdpServerPorts"),
            (Reason::PortNotGranted, _) => f.write_str("not in AllowedTcpServerPorts"),
            (Reason::PortTaken, _) => f.write_str("another app holds it"),
            (Reason::Reserved, _) => f.write_str("the network server's own port (DHCP or DNS)"),
        }
    }
}

/// The ring of the last [`RING_ENTRIES`] denials and a count of the older
/// ones that made room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denials {
    entries: [Option<Denial>; RING_ENTRIES],
    /// Where the next record goes.
    next: usize,
    dropped: u32,
}

impl Default for Denials {
    fn default() -> Self {
        Denials::new()
    }
}

impl Denials {
    /// An empty ring.
    pub const fn new() -> Denials {
        Denials { entries: [None; RING_ENTRIES], next: 0, dropped: 0 }
    }

    /// Keeps `denial`; a full ring drops its oldest record first.
    pub fn record(&mut self, denial: Denial) {
        if self.entries[self.next].replace(denial).is_some() {
            self.dropped = self.dropped.saturating_add(1);
        }
        self.next = (self.next + 1) % RING_ENTRIES;
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many records were dropped to make room.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }

    /// The records, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Denial> + '_ {
        let (newer, older) = self.entries.split_at(self.next);
        older.iter().chain(newer).flatten()
    }
}

/// Lines of denials one app may put on the console per [`LINE_PERIOD_MICROS`]
/// (every denial is still recorded in the ring).
pub const LINES_PER_PERIOD: u32 = 16;
/// The period of [`LINES_PER_PERIOD`]: one second.
pub const LINE_PERIOD_MICROS: u64 = 1_000_000;

/// Keeps one app's denials from flooding the console: at most
/// [`LINES_PER_PERIOD`] lines a second, and a count of those not shown,
/// said once the next period begins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineLimit {
    period_start: u64,
    shown: u32,
    hidden: u32,
}

/// What to print for a denial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lines {
    /// How many earlier denials were not shown (say so first), if any.
    pub hidden_before: u32,
    /// Whether to print this one.
    pub show: bool,
}

impl LineLimit {
    /// A limit with nothing shown yet.
    pub const fn new() -> LineLimit {
        LineLimit { period_start: 0, shown: 0, hidden: 0 }
    }

    /// A denial at `now` (microseconds since boot): what to print.
    pub fn denial(&mut self, now: u64) -> Lines {
        let mut hidden_before = 0;
        if now.saturating_sub(self.period_start) >= LINE_PERIOD_MICROS || now < self.period_start {
            hidden_before = core::mem::take(&mut self.hidden);
            self.period_start = now;
            self.shown = 0;
        }
        let show = self.shown < LINES_PER_PERIOD;
        if show {
            self.shown += 1;
        } else {
            self.hidden = self.hidden.saturating_add(1);
        }
        Lines { hidden_before, show }
    }

    /// Whether it holds back denials it has yet to count on the console
    /// (what [`flush`](Self::flush) will return once their period is over).
    pub fn hiding(&self) -> bool {
        self.hidden > 0
    }

    /// At `now`, with no new denial: how many were not shown, once their
    /// period is over (0 before, or when none were hidden).
    pub fn flush(&mut self, now: u64) -> u32 {
        if self.hidden > 0 && now.saturating_sub(self.period_start) >= LINE_PERIOD_MICROS {
            return core::mem::take(&mut self.hidden);
        }
        0
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::format;
    use std::vec::Vec;

    fn denial(port: u16) -> Denial {
        let id = ComponentId::parse("2ec11f7e-12ec-46c4-9a9b-76c8b56f6bfd").unwrap();
        let attempt = Attempt::Connect { address: [10, 0, 2, 3], port };
        Denial { client: 3, component_id: id, attempt, reason: Reason::NotListed }
    }

    #[test]
    fn the_line_names_app_address_and_reason() {
        assert_eq!(
            format!("{}", denial(80)),
            "denied app 3 (2ec11f7e-12ec-46c4-9a9b-76c8b56f6bfd) connect to 10.0.2.3:80: not in AllowedConnections"
        );
        let lookup = |name: &[u8]| Denial { attempt: Attempt::lookup(name), ..denial(1) };
        assert_eq!(
            format!("{}", lookup(b"unlisted.test")),
            "denied app 3 (2ec11f7e-12ec-46c4-9a9b-76c8b56f6bfd) lookup of \"unlisted.test\": not in AllowedConnections"
        );
        let other = |attempt, reason| format!("{}", Denial { attempt, reason, ..denial(1) });
        let start = "denied app 3 (2ec11f7e-12ec-46c4-9a9b-76c8b56f6bfd) ";
        assert_eq!(
            other(Attempt::Listen { port: 8080 }, Reason::PortNotGranted),
            format!("{start}listen on TCP port 8080: not in AllowedTcpServerPorts")
        );
        assert_eq!(
            other(Attempt::Bind { port: 53 }, Reason::PortNotGranted),
            format!("{start}bind UDP port 53: not in AllowedUdpServerPorts")
        );
        assert_eq!(
            other(Attempt::Bind { port: 7 }, Reason::PortTaken),
            format!("{start}bind UDP port 7: another app holds it")
        );
        assert_eq!(
            other(Attempt::Bind { port: 68 }, Reason::Reserved),
            format!("{start}bind UDP port 68: the network server's own port (DHCP or DNS)")
        );
        assert_eq!(
            other(Attempt::SendTo { address: [10, 0, 2, 3], port: 7 }, Reason::NotListed),
            format!("{start}send to 10.0.2.3:7: not in AllowedConnections")
        );
        let line = format!("{}", lookup(b"a\"b\n\xff"));
        assert!(line.contains("lookup of \"a\\x22b\\x0a\\xff\": "), "{line}");
        let long = [b'x'; 100];
        let line = format!("{}", lookup(&long));
        assert!(line.contains(&format!("\"{}...\": ", "x".repeat(NAME_KEPT_BYTES))), "{line}");
    }

    fn port(denial: &Denial) -> u16 {
        match denial.attempt {
            Attempt::Connect { port, .. } => port,
            _ => 0,
        }
    }

    #[test]
    fn the_console_gets_a_few_lines_a_second_and_a_count() {
        let mut limit = LineLimit::new();
        let limit_lines = LINES_PER_PERIOD as usize;
        let shown: Vec<bool> = (0..limit_lines as u64 + 4).map(|i| limit.denial(1_000 + i).show).collect();
        assert_eq!(shown.iter().filter(|&&show| show).count(), limit_lines);
        assert!(shown[..limit_lines].iter().all(|&show| show) && !shown[limit_lines..].iter().any(|&show| show));
        // The next second: the 4 hidden are counted, once.
        assert_eq!(limit.denial(1_000 + LINE_PERIOD_MICROS), Lines { hidden_before: 4, show: true });
        assert_eq!(limit.denial(1_001 + LINE_PERIOD_MICROS), Lines { hidden_before: 0, show: true });
        // Said without a further denial too, once the period is over.
        for i in 0..limit_lines as u64 + 3 {
            limit.denial(10 * LINE_PERIOD_MICROS + i);
        }
        assert_eq!(limit.flush(10 * LINE_PERIOD_MICROS + 5), 0, "not before the period ends");
        assert!(limit.hiding(), "what flush has yet to say");
        assert_eq!(limit.flush(11 * LINE_PERIOD_MICROS), 3);
        assert!(!limit.hiding());
        assert_eq!(limit.flush(12 * LINE_PERIOD_MICROS), 0, "once");
        // A quiet app prints every denial.
        let mut quiet = LineLimit::new();
        for second in 0..5 {
            assert_eq!(quiet.denial(second * LINE_PERIOD_MICROS), Lines { hidden_before: 0, show: true });
            assert!(!quiet.hiding());
        }
    }

    #[test]
    fn the_ring_keeps_the_newest_and_counts_the_rest() {
        let mut ring = Denials::new();
        assert!(ring.is_empty());
        for port in 1..=10 {
            ring.record(denial(port));
        }
        assert_eq!(ring.len(), 10);
        assert_eq!(ring.dropped(), 0);
        assert!(ring.iter().map(port).eq(1..=10));
        for port in 11..=(RING_ENTRIES as u16 + 25) {
            ring.record(denial(port));
        }
        assert_eq!(ring.len(), RING_ENTRIES);
        assert_eq!(ring.dropped(), 25);
        let ports: Vec<u16> = ring.iter().map(port).collect();
        assert_eq!(ports, (26..=RING_ENTRIES as u16 + 25).collect::<Vec<_>>());
    }
}
