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
    /// The address is not a literal of the app's `AllowedConnections`.
    NotListed,
}

/// One denied attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The app's client number.
    pub client: u32,
    /// The app's ComponentId.
    pub component_id: ComponentId,
    /// The address it asked for.
    pub address: [u8; 4],
    /// The port it asked for.
    pub port: u16,
    /// Why it was denied.
    pub reason: Reason,
}

/// The log line, after `netd: `: `denied app 3
/// (2ec11f7e-12ec-46c4-9a9b-76c8b56f6bfd) connect to 10.0.2.3:80: not in
/// AllowedConnections`.
impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.address;
        write!(f, "denied app {} ({}) connect to {a}.{b}.{c}.{d}:{}: ", self.client, self.component_id, self.port)?;
        match self.reason {
            Reason::NotListed => f.write_str("not in AllowedConnections"),
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

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::format;
    use std::vec::Vec;

    fn denial(port: u16) -> Denial {
        let id = ComponentId::parse("2ec11f7e-12ec-46c4-9a9b-76c8b56f6bfd").unwrap();
        Denial { client: 3, component_id: id, address: [10, 0, 2, 3], port, reason: Reason::NotListed }
    }

    #[test]
    fn the_line_names_app_address_and_reason() {
        assert_eq!(
            format!("{}", denial(80)),
            "denied app 3 (2ec11f7e-12ec-46c4-9a9b-76c8b56f6bfd) connect to 10.0.2.3:80: not in AllowedConnections"
        );
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
        assert!(ring.iter().map(|d| d.port).eq(1..=10));
        for port in 11..=(RING_ENTRIES as u16 + 25) {
            ring.record(denial(port));
        }
        assert_eq!(ring.len(), RING_ENTRIES);
        assert_eq!(ring.dropped(), 25);
        let ports: Vec<u16> = ring.iter().map(|d| d.port).collect();
        assert_eq!(ports, (26..=RING_ENTRIES as u16 + 25).collect::<Vec<_>>());
    }
}
