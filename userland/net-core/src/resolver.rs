//! The network server's resolver decisions: which DNS server a lookup asks
//! next, when it gives up, and which addresses each app may connect to
//! because `netd` resolved them for it.
//!
//! # Servers and tries
//!
//! `netd` knows up to [`MAX_SERVERS`] DNS servers, in the order it asks
//! them: the one `init` configured from the boot argument `net.dns=` (the
//! `--resolve` server of `cargo xtask qemu`), then those its DHCP lease
//! names (QEMU's user network: 10.0.2.3). A [`Lookup`] asks the first;
//! each server gets [`TRIES_PER_SERVER`] queries, [`TRY_MICROS`] apart.
//! An answer with addresses ends the lookup; "no such name", a refusal, a
//! failure, a truncated or malformed answer, or silence moves it to the
//! next server; after the last one the lookup ends as
//! [`Outcome::NotFound`] (some server answered, none with an address) or
//! [`Outcome::TimedOut`] (none answered). Every query has a fresh ID.
//!
//! # What a lookup allows
//!
//! [`Resolved`] is one app's table of the addresses `netd`'s own lookups
//! returned for it (at most [`REMEMBERED`], the oldest forgotten first).
//! A connection is allowed to a listed literal or to an address in that
//! table, and to nothing else: an address the app learned any other way,
//! or that another app resolved, is denied.

use core::str::FromStr;

use crate::dns::{Answer, DnsError};
use crate::protocol::is_connectable;

/// The most DNS servers `netd` asks (one configured, the rest from DHCP).
pub const MAX_SERVERS: usize = 4;
/// Queries each server gets before the next is asked.
pub const TRIES_PER_SERVER: u32 = 2;
/// How long one query is given (microseconds).
pub const TRY_MICROS: u64 = 1_000_000;
/// Addresses remembered per app.
pub const REMEMBERED: usize = 16;

/// The boot argument that names the DNS server to ask first.
pub const BOOT_ARGUMENT: &str = "net.dns=";

/// The DNS server the boot `arguments` name (`net.dns=A.B.C.D:PORT`; the
/// last such word counts), if any: its address and port, or why the word
/// is not one (an address TCP/UDP cannot reach, port 0, not `A.B.C.D:PORT`).
pub fn configured_server(arguments: &str) -> Option<Result<([u8; 4], u16), &'static str>> {
    let value = arguments.split_ascii_whitespace().filter_map(|word| word.strip_prefix(BOOT_ARGUMENT)).next_back()?;
    let Ok(parsed) = core::net::SocketAddrV4::from_str(value) else { return Some(Err("not an IPv4 address and port")) };
    Some(match (parsed.ip().octets(), parsed.port()) {
        (_, 0) => Err("port 0"),
        (address, _) if !is_connectable(address) => Err("not a unicast address"),
        (address, port) => Ok((address, port)),
    })
}

/// The addresses `netd` resolved for one app (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    entries: [Option<[u8; 4]>; REMEMBERED],
    /// Where the next new address goes.
    next: usize,
}

impl Default for Resolved {
    fn default() -> Self {
        Resolved::new()
    }
}

impl Resolved {
    /// An empty table.
    pub const fn new() -> Resolved {
        Resolved { entries: [None; REMEMBERED], next: 0 }
    }

    /// Remembers `address` (once: an address already there stays where it
    /// is); a full table forgets its oldest first.
    pub fn remember(&mut self, address: [u8; 4]) {
        if self.contains(address) {
            return;
        }
        self.entries[self.next] = Some(address);
        self.next = (self.next + 1) % REMEMBERED;
    }

    /// Whether a lookup for this app returned `address`.
    pub fn contains(&self, address: [u8; 4]) -> bool {
        self.entries.contains(&Some(address))
    }

    /// How many addresses it holds.
    pub fn len(&self) -> usize {
        self.entries.iter().flatten().count()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a lookup ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A server gave these addresses.
    Found(Answer),
    /// Servers answered, none with an address.
    NotFound,
    /// No server answered.
    TimedOut,
}

/// What the server does next for a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send a query with `id` to server `server` (an index into its list).
    Ask {
        /// Index of the server in `netd`'s list.
        server: usize,
        /// The query's ID.
        id: u16,
    },
    /// Nothing yet: wait for an answer or the deadline.
    Wait,
    /// The lookup has ended: its [`Lookup::outcome`] is set.
    Done,
}

/// One app's lookup of one of its names (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lookup {
    name: usize,
    /// The ID of the query in flight.
    id: u16,
    server: usize,
    tries: u32,
    deadline: u64,
    answered: bool,
    outcome: Option<Outcome>,
}

impl Lookup {
    /// A lookup of the app's name `name` (an index into its registration)
    /// with `servers` known (at least 1), started at `now`: ask the first
    /// server with query ID `id`.
    pub fn start(name: usize, servers: usize, id: u16, now: u64) -> (Lookup, Step) {
        let mut lookup =
            Lookup { name, id, server: 0, tries: 1, deadline: now + TRY_MICROS, answered: false, outcome: None };
        if servers == 0 {
            lookup.outcome = Some(Outcome::TimedOut);
            return (lookup, Step::Done);
        }
        (lookup, Step::Ask { server: 0, id })
    }

    /// The name's index.
    pub fn name(&self) -> usize {
        self.name
    }

    /// The server the query in flight went to, and its ID; `None` once the
    /// lookup has ended.
    pub fn in_flight(&self) -> Option<(usize, u16)> {
        self.outcome.is_none().then_some((self.server, self.id))
    }

    /// How it ended, if it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    /// When it needs [`on_time`](Self::on_time) next (microseconds since
    /// boot), while it is under way.
    pub fn deadline(&self) -> Option<u64> {
        self.outcome.is_none().then_some(self.deadline)
    }

    /// Moves on to the next server (or ends) with query ID `id`.
    fn next_server(&mut self, servers: usize, id: u16, now: u64) -> Step {
        if self.server + 1 >= servers {
            self.outcome = Some(if self.answered { Outcome::NotFound } else { Outcome::TimedOut });
            return Step::Done;
        }
        self.server += 1;
        self.ask(id, now)
    }

    fn ask(&mut self, id: u16, now: u64) -> Step {
        self.id = id;
        self.deadline = now + TRY_MICROS;
        Step::Ask { server: self.server, id }
    }

    /// The answer `result` came from server `server` to query `id` (decoded
    /// with that ID and the name: `DnsError::NotOurs` and answers to
    /// another query change nothing); `next_id` is the ID a further query
    /// would have; `servers` how many servers are known now.
    pub fn on_answer(
        &mut self,
        server: usize,
        id: u16,
        result: Result<Answer, DnsError>,
        next_id: u16,
        servers: usize,
        now: u64,
    ) -> Step {
        if self.in_flight() != Some((server, id)) || result == Err(DnsError::NotOurs) {
            return Step::Wait;
        }
        self.answered = true;
        match result {
            Ok(answer) => {
                self.outcome = Some(Outcome::Found(answer));
                Step::Done
            }
            Err(_) => {
                self.tries = 1;
                self.next_server(servers, next_id, now)
            }
        }
    }

    /// The time is `now`: past the deadline, the query is sent again or
    /// the next server asked (with `next_id`); `servers` is how many are
    /// known now.
    pub fn on_time(&mut self, next_id: u16, servers: usize, now: u64) -> Step {
        if self.outcome.is_some() || now < self.deadline {
            return Step::Wait;
        }
        if self.server >= servers {
            self.outcome = Some(if self.answered { Outcome::NotFound } else { Outcome::TimedOut });
            return Step::Done;
        }
        if self.tries < TRIES_PER_SERVER {
            self.tries += 1;
            return self.ask(next_id, now);
        }
        self.tries = 1;
        self.next_server(servers, next_id, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::{decode_response, DnsError};

    /// An answer with `address`, through the real decoder.
    fn answer(address: [u8; 4]) -> Answer {
        let mut packet = [0u8; 64];
        let name = b"a.test";
        let size = crate::dns::encode_query(7, name, &mut packet).unwrap();
        packet[2] |= 0x80; // a response
        packet[7] = 1; // one answer
        let record = [0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4];
        packet[size..size + 12].copy_from_slice(&record);
        packet[size + 12..size + 16].copy_from_slice(&address);
        decode_response(&packet[..size + 16], 7, name).unwrap()
    }

    #[test]
    fn the_boot_argument_names_a_server() {
        assert_eq!(configured_server(""), None);
        assert_eq!(configured_server("scenario=x net.dnsx=1"), None);
        assert_eq!(configured_server("a net.dns=10.0.2.2:5353 b"), Some(Ok(([10, 0, 2, 2], 5353))));
        assert_eq!(configured_server("net.dns=1.1.1.1:53 net.dns=10.0.2.2:99"), Some(Ok(([10, 0, 2, 2], 99))));
        for bad in ["net.dns=10.0.2.2", "net.dns=10.0.2.2:0", "net.dns=0.0.0.0:53", "net.dns=example.test:53"] {
            assert!(matches!(configured_server(bad), Some(Err(_))), "{bad}");
        }
        assert!(matches!(configured_server("net.dns=224.0.0.251:5353"), Some(Err(_))));
        assert!(matches!(configured_server("net.dns=10.0.2.2:65536"), Some(Err(_))));
    }

    #[test]
    fn the_table_remembers_the_newest() {
        let mut table = Resolved::new();
        assert!(table.is_empty());
        table.remember([10, 0, 2, 2]);
        table.remember([10, 0, 2, 2]);
        assert_eq!(table.len(), 1);
        assert!(table.contains([10, 0, 2, 2]));
        assert!(!table.contains([10, 0, 2, 3]));
        for last in 0..REMEMBERED as u8 {
            table.remember([192, 168, 0, last]);
        }
        assert_eq!(table.len(), REMEMBERED);
        assert!(!table.contains([10, 0, 2, 2]), "the oldest went first");
        assert!((0..REMEMBERED as u8).all(|last| table.contains([192, 168, 0, last])));
    }

    #[test]
    fn an_answer_ends_it() {
        let (mut lookup, step) = Lookup::start(2, 2, 100, 0);
        assert_eq!(step, Step::Ask { server: 0, id: 100 });
        assert_eq!((lookup.name(), lookup.in_flight()), (2, Some((0, 100))));
        // Another ID, another server, or not ours: nothing happens.
        assert_eq!(lookup.on_answer(0, 99, Ok(answer([1, 2, 3, 4])), 101, 2, 5), Step::Wait);
        assert_eq!(lookup.on_answer(1, 100, Ok(answer([1, 2, 3, 4])), 101, 2, 5), Step::Wait);
        assert_eq!(lookup.on_answer(0, 100, Err(DnsError::NotOurs), 101, 2, 5), Step::Wait);
        assert_eq!(lookup.on_answer(0, 100, Ok(answer([1, 2, 3, 4])), 101, 2, 5), Step::Done);
        assert_eq!(lookup.outcome(), Some(Outcome::Found(answer([1, 2, 3, 4]))));
        assert_eq!((lookup.in_flight(), lookup.deadline()), (None, None));
        assert_eq!(lookup.on_time(102, 2, u64::MAX), Step::Wait);
    }

    #[test]
    fn a_refusal_moves_on_and_the_last_refusal_is_not_found() {
        let (mut lookup, _) = Lookup::start(0, 2, 1, 0);
        assert_eq!(lookup.on_answer(0, 1, Err(DnsError::ServerFailed(5)), 2, 2, 10), Step::Ask { server: 1, id: 2 });
        assert_eq!(lookup.deadline(), Some(10 + TRY_MICROS));
        assert_eq!(lookup.on_answer(1, 2, Err(DnsError::NoSuchName), 3, 2, 20), Step::Done);
        assert_eq!(lookup.outcome(), Some(Outcome::NotFound));
    }

    #[test]
    fn silence_tries_again_then_moves_on_then_times_out() {
        let (mut lookup, _) = Lookup::start(0, 2, 1, 0);
        assert_eq!(lookup.on_time(2, 2, TRY_MICROS - 1), Step::Wait);
        assert_eq!(lookup.on_time(2, 2, TRY_MICROS), Step::Ask { server: 0, id: 2 });
        assert_eq!(lookup.on_time(3, 2, 2 * TRY_MICROS), Step::Ask { server: 1, id: 3 });
        // A late answer to the first server's query is not taken.
        assert_eq!(lookup.on_answer(0, 2, Ok(answer([1, 2, 3, 4])), 4, 2, 2 * TRY_MICROS + 1), Step::Wait);
        assert_eq!(lookup.on_time(4, 2, 3 * TRY_MICROS), Step::Ask { server: 1, id: 4 });
        assert_eq!(lookup.on_time(5, 2, 4 * TRY_MICROS), Step::Done);
        assert_eq!(lookup.outcome(), Some(Outcome::TimedOut));
    }

    #[test]
    fn an_answer_then_silence_is_not_found() {
        let (mut lookup, _) = Lookup::start(0, 2, 1, 0);
        assert_eq!(lookup.on_answer(0, 1, Err(DnsError::Truncated), 2, 2, 0), Step::Ask { server: 1, id: 2 });
        assert_eq!(lookup.on_time(3, 2, TRY_MICROS), Step::Ask { server: 1, id: 3 });
        assert_eq!(lookup.on_time(4, 2, 2 * TRY_MICROS), Step::Done);
        assert_eq!(lookup.outcome(), Some(Outcome::NotFound));
    }

    #[test]
    fn no_servers_or_servers_gone() {
        let (lookup, step) = Lookup::start(0, 0, 1, 0);
        assert_eq!((step, lookup.outcome()), (Step::Done, Some(Outcome::TimedOut)));
        // The lease went away while the second server was being asked.
        let (mut lookup, _) = Lookup::start(0, 2, 1, 0);
        lookup.on_answer(0, 1, Err(DnsError::ServerFailed(2)), 2, 2, 0);
        assert_eq!(lookup.on_time(3, 1, TRY_MICROS), Step::Done);
        assert_eq!(lookup.outcome(), Some(Outcome::NotFound));
    }

    #[test]
    fn every_lookup_ends_within_its_tries() {
        // Whatever the servers do, a lookup ends after at most
        // TRIES_PER_SERVER queries a server, each TRY_MICROS long.
        for servers in 1..=MAX_SERVERS {
            for pattern in 0..64u32 {
                let (mut lookup, mut step) = Lookup::start(0, servers, 0, 0);
                let (mut now, mut id, mut queries) = (0, 0u16, 1);
                while step != Step::Done {
                    id += 1;
                    now += TRY_MICROS;
                    step = if pattern >> (queries % 6) & 1 == 1 {
                        let (server, current) = lookup.in_flight().unwrap();
                        lookup.on_answer(server, current, Err(DnsError::ServerFailed(2)), id, servers, now)
                    } else {
                        lookup.on_time(id, servers, now)
                    };
                    if matches!(step, Step::Ask { .. }) {
                        queries += 1;
                    }
                    assert!(queries <= TRIES_PER_SERVER as usize * servers, "{servers} servers, pattern {pattern}");
                }
                assert!(lookup.outcome().is_some());
            }
        }
    }
}
