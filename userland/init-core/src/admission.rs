//! Admission across every installed app: no two apps run under one
//! `ComponentId`, and no exclusive resource is granted twice.
//!
//! [`grants::plan`](crate::grants::plan) checks one app against the board.
//! That is not enough: a board's GPIO pins and UARTs are granted
//! exclusively (the server behind them lets every holder of a badge drive
//! what the badge names), and a `ComponentId` is an app's identity (the
//! failure log and the later servers key their state by it). So once every
//! package of the boot image has passed its own checks, `init` decides over
//! all of them at once with [`admit`]: in boot-image order, the first app to
//! claim an identity or a resource wins, and each later one that claims it
//! again is refused with a [`Conflict`] naming the resource and the app that
//! holds it. An app refused here holds nothing, so it blocks no later app.
//! Server ports (`AllowedTcpServerPorts`, `AllowedUdpServerPorts`) are
//! exclusive too: two apps cannot own one port.
//!
//! An app manager that admits in more than one round (a package checked
//! later, a place reused) puts its places in [`admission_order`] first:
//! the apps admitted before, then the newcomers in boot-image order.

use core::fmt;

use tessera_abi::app::ServerKind;
use tessera_abi::manifest::{ComponentId, Manifest, MAX_SERVER_PORTS};

use crate::grants::{server_index, Plan, SERVER_COUNT};

/// An app that passed its own checks (signature, manifest, board) and
/// waits for admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Its boot-image name, for messages.
    pub name: &'a str,
    /// Its identity.
    pub component_id: ComponentId,
    /// What it would be granted.
    pub plan: Plan,
    /// The server ports it would own.
    pub ports: ServerPorts,
}

/// The TCP and UDP server ports an app's manifest asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerPorts {
    tcp: [u16; MAX_SERVER_PORTS],
    tcp_count: usize,
    udp: [u16; MAX_SERVER_PORTS],
    udp_count: usize,
}

impl ServerPorts {
    /// No ports.
    pub const NONE: ServerPorts =
        ServerPorts { tcp: [0; MAX_SERVER_PORTS], tcp_count: 0, udp: [0; MAX_SERVER_PORTS], udp_count: 0 };

    /// The ports `manifest` asks for (a manifest holds at most
    /// `MAX_SERVER_PORTS` of each).
    pub fn from_manifest(manifest: &Manifest<'_>) -> ServerPorts {
        let mut ports = ServerPorts::NONE;
        for (port, slot) in manifest.tcp_server_ports().zip(&mut ports.tcp) {
            *slot = port;
            ports.tcp_count += 1;
        }
        for (port, slot) in manifest.udp_server_ports().zip(&mut ports.udp) {
            *slot = port;
            ports.udp_count += 1;
        }
        ports
    }

    /// The TCP ports.
    pub fn tcp(&self) -> &[u16] {
        &self.tcp[..self.tcp_count]
    }

    /// The UDP ports.
    pub fn udp(&self) -> &[u16] {
        &self.udp[..self.udp_count]
    }

    /// The lowest port both ask for, TCP first: its transport's name and
    /// the port.
    fn shared(&self, other: &ServerPorts) -> Option<(&'static str, u16)> {
        let first = |mine: &[u16], theirs: &[u16]| mine.iter().copied().filter(|port| theirs.contains(port)).min();
        first(self.tcp(), other.tcp())
            .map(|port| ("TCP", port))
            .or_else(|| first(self.udp(), other.udp()).map(|port| ("UDP", port)))
    }
}

/// Why an app is refused at admission: what it shares with an app admitted
/// before it. The `Display` form is the log line's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict<'a> {
    /// Another app runs under this identity.
    ComponentId {
        /// The identity both claim.
        id: ComponentId,
        /// The admitted app that has it.
        holder: &'a str,
    },
    /// Resource `number` of a server (a GPIO pin, a UART) is granted to
    /// another app.
    Resource {
        /// The server whose badge bit both claim.
        server: ServerKind,
        /// The resource (the badge bit).
        number: u8,
        /// The admitted app it is granted to.
        holder: &'a str,
    },
    /// A server port is another app's.
    Port {
        /// "TCP" or "UDP".
        transport: &'static str,
        /// The port both ask for.
        port: u16,
        /// The admitted app that owns it.
        holder: &'a str,
    },
    /// Admission had no room left to decide it (the scratch list was
    /// shorter than the candidates): refused rather than started unchecked.
    NoRoom,
}

impl Conflict<'_> {
    /// The admitted app the conflict is with (none for [`Conflict::NoRoom`]).
    pub fn holder(&self) -> &str {
        match *self {
            Conflict::ComponentId { holder, .. }
            | Conflict::Resource { holder, .. }
            | Conflict::Port { holder, .. } => holder,
            Conflict::NoRoom => "",
        }
    }
}

impl fmt::Display for Conflict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Conflict::ComponentId { id, holder } => write!(f, "ComponentId {id} is already used by app '{holder}'"),
            Conflict::Resource { server, number, holder } => {
                write!(f, "{server} {number} is already granted to app '{holder}'")
            }
            Conflict::Port { transport, port, holder } => {
                write!(f, "{transport} server port {port} is already granted to app '{holder}'")
            }
            Conflict::NoRoom => f.write_str("admission has no room to check it against the others"),
        }
    }
}

/// Whether a candidate was admitted, or the conflict that refused it.
pub type Verdict<'a> = Result<(), Conflict<'a>>;

/// The lowest bit set in both masks.
fn shared_bit(a: u32, b: u32) -> Option<u8> {
    let both = a & b;
    (both != 0).then(|| both.trailing_zeros() as u8)
}

impl Conflict<'_> {
    /// Orders conflicts for the message: identity first, then each server
    /// in `SERVERS` order (GPIO pins, then UARTs), lowest number first,
    /// then server ports (TCP, then UDP, lowest first).
    fn rank(&self) -> (usize, u32) {
        match *self {
            Conflict::ComponentId { .. } | Conflict::NoRoom => (0, 0),
            Conflict::Resource { server, number, .. } => {
                (1 + server_index(server).unwrap_or(SERVER_COUNT), u32::from(number))
            }
            Conflict::Port { transport, port, .. } => (2 + SERVER_COUNT + usize::from(transport == "UDP"), port.into()),
        }
    }
}

/// What `candidate` conflicts with among `admitted`, or `None`: an identity
/// clash first, then the lowest shared resource of the first server (in
/// `SERVERS` order) with one; for each, the first admitted app (in the
/// order given) that holds it.
pub fn conflict<'a>(candidate: &Candidate<'_>, admitted: &[Candidate<'a>]) -> Option<Conflict<'a>> {
    let mut found: Option<Conflict<'a>> = None;
    for other in admitted {
        let holder = other.name;
        let shared = || {
            candidate.plan.badges().zip(other.plan.badges()).find_map(|((server, mine), (_, theirs))| {
                shared_bit(mine, theirs).map(|number| Conflict::Resource { server: server.kind, number, holder })
            })
        };
        let this = if other.component_id == candidate.component_id {
            Conflict::ComponentId { id: candidate.component_id, holder }
        } else if let Some(resource) = shared() {
            resource
        } else if let Some((transport, port)) = candidate.ports.shared(&other.ports) {
            Conflict::Port { transport, port, holder }
        } else {
            continue;
        };
        if found.is_none_or(|best| this.rank() < best.rank()) {
            found = Some(this);
        }
    }
    found
}

/// Decides admission for every candidate, in the order given (boot-image
/// order): `verdicts[i]` becomes candidate `i`'s verdict. A candidate is
/// admitted unless it conflicts with one admitted before it; the first to
/// claim an identity or a resource keeps it. Decisions are made in
/// `admitted`, a scratch list at least as long as `candidates` (no
/// allocation); a candidate that finds it full is refused
/// ([`Conflict::NoRoom`]), never admitted unchecked, and candidates beyond
/// `verdicts` have no verdict to write (size it like `candidates`).
/// Returns how many were admitted.
pub fn admit<'a>(candidates: &[Candidate<'a>], admitted: &mut [Candidate<'a>], verdicts: &mut [Verdict<'a>]) -> usize {
    let mut count = 0;
    for (candidate, verdict) in candidates.iter().zip(verdicts.iter_mut()) {
        *verdict = match conflict(candidate, &admitted[..count]) {
            Some(conflict) => Err(conflict),
            None if count < admitted.len() => {
                admitted[count] = *candidate;
                count += 1;
                Ok(())
            }
            None => Err(Conflict::NoRoom),
        };
    }
    count
}

impl Candidate<'_> {
    /// A place holder for lists of candidates.
    pub const EMPTY: Candidate<'static> =
        Candidate { name: "", component_id: ComponentId::NIL, plan: Plan::NONE, ports: ServerPorts::NONE };
}

/// [`admit`] over a table of at most `N` places, as an app manager keeps
/// its apps: `entries` gives (place, candidate) for each app that takes
/// part, in the order of precedence ([`admission_order`]: the first to
/// claim a resource keeps it); `refused` is called with the place and
/// conflict of each one refused. Entries beyond `N` are refused ([`Conflict::NoRoom`]).
pub fn admit_places<'a, const N: usize>(
    entries: impl IntoIterator<Item = (usize, Candidate<'a>)>,
    mut refused: impl FnMut(usize, Conflict<'a>),
) {
    let mut candidates = [Candidate::EMPTY; N];
    let mut places = [0; N];
    let mut count = 0;
    for (place, candidate) in entries {
        if count == N {
            refused(place, Conflict::NoRoom);
            continue;
        }
        (candidates[count], places[count]) = (candidate, place);
        count += 1;
    }
    let mut admitted = [Candidate::EMPTY; N];
    let mut verdicts: [Verdict<'a>; N] = [Ok(()); N];
    admit(&candidates[..count], &mut admitted, &mut verdicts);
    for (&place, verdict) in places[..count].iter().zip(verdicts) {
        if let Err(conflict) = verdict {
            refused(place, conflict);
        }
    }
}

/// The order in which an app manager's places take part in admission
/// ([`admit_places`] keeps what the first to claim it asked for):
/// `places[i]` is `Some((admitted, entry))` for a place that takes part,
/// `admitted` if its app was admitted before (running, waiting to
/// restart, held: it keeps what it holds), `entry` its boot-image entry.
/// The apps admitted before come first, then the newcomers by boot-image
/// entry, whichever places they were given: a package that reuses the
/// place of one refused earlier in the table does not go ahead of the
/// packages before it in the boot image, and a newcomer never goes ahead
/// of a running app. Returns the places in that order and their count.
pub fn admission_order<const N: usize>(places: &[Option<(bool, u32)>; N]) -> ([usize; N], usize) {
    let mut order = [0; N];
    let mut count = 0;
    for (place, taking_part) in places.iter().enumerate() {
        if taking_part.is_some() {
            order[count] = place;
            count += 1;
        }
    }
    order[..count].sort_unstable_by_key(|&place| places[place].map(|(admitted, entry)| (!admitted, entry)));
    (order, count)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;
    use std::vec;
    use std::vec::Vec;

    fn ports(tcp: &[u16], udp: &[u16]) -> ServerPorts {
        let mut ports = ServerPorts::NONE;
        ports.tcp[..tcp.len()].copy_from_slice(tcp);
        ports.tcp_count = tcp.len();
        ports.udp[..udp.len()].copy_from_slice(udp);
        ports.udp_count = udp.len();
        ports
    }

    #[test]
    fn places_are_admitted_in_table_order_with_gaps() {
        let app = |name, id| Candidate {
            name,
            component_id: ComponentId([id; 16]),
            plan: Plan::NONE,
            ports: ServerPorts::NONE,
        };
        // Places 0, 2, 5 and 7 take part; 5 reuses 0's identity.
        let entries = [(0, app("a", 1)), (2, app("b", 2)), (5, app("c", 1)), (7, app("d", 3))];
        let mut refused = Vec::new();
        admit_places::<4>(entries, |place, conflict| refused.push((place, conflict.holder().to_string())));
        assert_eq!(refused, [(5, "a".to_string())]);
        // More entries than places: the rest are refused for want of room.
        let mut refused = Vec::new();
        admit_places::<2>(entries, |place, conflict| refused.push((place, conflict)));
        assert_eq!(refused, [(5, Conflict::NoRoom), (7, Conflict::NoRoom)]);
    }

    #[test]
    fn running_apps_then_newcomers_in_boot_image_order() {
        // Place 0 was reused by the last package of the image (entry 20);
        // place 3 runs (entry 4); places 1 and 2 are newcomers (entries 7
        // and 5); place 4 takes no part (refused).
        let places = [Some((false, 20)), Some((false, 7)), Some((false, 5)), Some((true, 4)), None];
        let (order, count) = admission_order(&places);
        assert_eq!(&order[..count], [3, 2, 1, 0]);
        // So a newcomer placed before a running app that holds its pin is
        // the one refused.
        let pin = |name, id| Candidate {
            name,
            component_id: ComponentId([id; 16]),
            plan: Plan::NONE.with(ServerKind::GPIO, 1 << 5),
            ports: ServerPorts::NONE,
        };
        let candidates = [pin("newcomer", 1), pin("running", 2)];
        let places = [Some((false, 9)), Some((true, 2))];
        let (order, count) = admission_order(&places);
        let mut refused = Vec::new();
        admit_places::<2>(order[..count].iter().map(|&place| (place, candidates[place])), |place, conflict| {
            refused.push((place, conflict.holder().to_string()))
        });
        assert_eq!(refused, [(0, "running".to_string())]);
    }

    #[test]
    fn a_server_port_has_one_owner() {
        let app = |name, id, server_ports| Candidate {
            name,
            component_id: ComponentId([id; 16]),
            plan: Plan::default(),
            ports: server_ports,
        };
        let candidates = [
            app("echoserver", 1, ports(&[7], &[7])),
            app("web", 2, ports(&[80, 443], &[])),
            app("thief", 3, ports(&[443], &[])),
            app("udp-thief", 4, ports(&[8080], &[7, 9])),
            app("tcp-and-udp", 5, ports(&[9], &[80])),
        ];
        let mut admitted = [candidates[0]; 5];
        let mut verdicts = [Ok(()); 5];
        assert_eq!(admit(&candidates, &mut admitted, &mut verdicts), 3);
        assert_eq!(verdicts[0], Ok(()));
        assert_eq!(verdicts[1], Ok(()));
        assert_eq!(verdicts[2], Err(Conflict::Port { transport: "TCP", port: 443, holder: "web" }));
        assert_eq!(verdicts[3], Err(Conflict::Port { transport: "UDP", port: 7, holder: "echoserver" }));
        // The same number on the other transport is no conflict.
        assert_eq!(verdicts[4], Ok(()));
        assert_eq!(verdicts[2].unwrap_err().to_string(), "TCP server port 443 is already granted to app 'web'");
    }

    const BLINKY_ID: ComponentId =
        ComponentId([0x9e, 0x45, 0x4f, 0xfb, 0x8a, 0x9f, 0x40, 0x32, 0x99, 0x4f, 0x37, 0x2f, 0x10, 0xc2, 0x30, 0xde]);

    fn plan(gpio: u32, uart: u32) -> Plan {
        Plan::default().with(ServerKind::GPIO, gpio).with(ServerKind::UART, uart)
    }

    fn gpio(plan: &Plan) -> u32 {
        plan.badge(ServerKind::GPIO)
    }

    fn uart(plan: &Plan) -> u32 {
        plan.badge(ServerKind::UART)
    }

    fn app(name: &'static str, id: u8, gpio_mask: u32, uart_mask: u32) -> Candidate<'static> {
        Candidate {
            name,
            component_id: ComponentId([id; 16]),
            plan: plan(gpio_mask, uart_mask),
            ports: ServerPorts::NONE,
        }
    }

    fn decide<'a>(candidates: &[Candidate<'a>]) -> Vec<Verdict<'a>> {
        let mut verdicts = vec![Ok(()); candidates.len()];
        let mut admitted = vec![app("", 0, 0, 0); candidates.len()];
        admit(candidates, &mut admitted, &mut verdicts);
        verdicts
    }

    #[test]
    fn a_second_app_with_an_admitted_identity_is_refused_by_name() {
        let blinky =
            Candidate { name: "blinky", component_id: BLINKY_ID, plan: plan(1 << 5, 0), ports: ServerPorts::NONE };
        let copy = Candidate { name: "test-dup-component", plan: Plan::default(), ..blinky };
        let verdicts = decide(&[blinky, copy]);
        assert_eq!(verdicts[0], Ok(()));
        let refusal = verdicts[1].unwrap_err();
        assert_eq!(refusal, Conflict::ComponentId { id: BLINKY_ID, holder: "blinky" });
        assert_eq!(
            refusal.to_string(),
            "ComponentId 9e454ffb-8a9f-4032-994f-372f10c230de is already used by app 'blinky'"
        );
    }

    #[test]
    fn an_exclusive_pin_or_uart_goes_to_the_first_app_only() {
        let verdicts = decide(&[
            app("blinky", 1, 1 << 5, 0),
            app("uartecho", 2, 0, 1),
            app("test-pin-thief", 3, 1 << 2 | 1 << 5, 0),
            app("second-echo", 4, 0, 1),
            app("hostile", 5, 1 << 6, 0),
        ]);
        assert_eq!(verdicts[0], Ok(()));
        assert_eq!(verdicts[1], Ok(()));
        assert_eq!(verdicts[2].unwrap_err().to_string(), "GPIO 5 is already granted to app 'blinky'");
        assert_eq!(verdicts[3].unwrap_err().to_string(), "UART 0 is already granted to app 'uartecho'");
        assert_eq!(verdicts[4], Ok(()), "pin 6 is nobody else's");
    }

    #[test]
    fn a_refused_app_holds_nothing() {
        // The thief is refused for pin 5, so its pin 3 stays free for the
        // app after it; a refused duplicate does not block its pins either.
        let verdicts = decide(&[
            app("blinky", 1, 1 << 5, 0),
            app("thief", 2, 1 << 3 | 1 << 5, 0),
            app("three", 3, 1 << 3, 0),
            app("dup", 1, 1 << 4, 0),
            app("four", 4, 1 << 4, 0),
        ]);
        assert_eq!(verdicts.iter().map(Result::is_ok).collect::<Vec<_>>(), [true, false, true, false, true]);
    }

    #[test]
    fn identity_is_named_before_resources_and_the_lowest_resource_first() {
        let verdicts = decide(&[app("a", 1, 1 << 7, 0), app("b", 2, 1 << 2, 1), app("c", 1, 1 << 2 | 1 << 7, 1)]);
        assert_eq!(verdicts[2], Err(Conflict::ComponentId { id: ComponentId([1; 16]), holder: "a" }));
        let verdicts = decide(&[app("a", 1, 1 << 7, 0), app("b", 2, 1 << 2, 1), app("c", 3, 1 << 2 | 1 << 7, 1)]);
        assert_eq!(verdicts[2], Err(Conflict::Resource { server: ServerKind::GPIO, number: 2, holder: "b" }));
        let verdicts = decide(&[app("a", 1, 0, 0b10), app("b", 2, 0, 0b01), app("c", 3, 0, 0b11)]);
        assert_eq!(verdicts[2], Err(Conflict::Resource { server: ServerKind::UART, number: 0, holder: "b" }));
        assert_eq!(verdicts[2].unwrap_err().holder(), "b");
    }

    #[test]
    fn apps_asking_for_nothing_are_all_admitted_and_a_short_buffer_refuses_the_rest() {
        let candidates = [app("a", 1, 0, 0), app("b", 2, 0, 0), app("c", 3, 0, 0)];
        assert!(decide(&candidates).iter().all(Result::is_ok));
        let mut admitted = [app("", 0, 0, 0); 2];
        let mut verdicts = [Err(Conflict::Resource { server: ServerKind::GPIO, number: 0, holder: "undecided" }); 3];
        assert_eq!(admit(&candidates, &mut admitted, &mut verdicts), 2);
        // Never admitted unchecked, whatever the caller left there.
        assert_eq!(verdicts[2], Err(Conflict::NoRoom));
        assert_eq!(admit(&[], &mut admitted, &mut verdicts), 0);
    }

    /// Over random sets of apps drawn from a few identities, pins and
    /// UARTs: no two admitted apps share an identity or a resource; every
    /// refusal names a real conflict with an app admitted before it; an
    /// app that conflicts with no earlier admitted app is admitted; and an
    /// app that shares nothing with any other candidate is always admitted.
    #[test]
    fn admission_never_shares_and_refuses_only_real_conflicts() {
        let names: Vec<std::string::String> = (0..16).map(|n| std::format!("app{n}")).collect();
        let mut rng = tessera_testing::Rng::new(0xA076_1D64_78BD_642F);
        // How often each outcome came up: admitted, and each kind of refusal.
        let mut seen = [0usize; 4];
        for _ in 0..3_000 {
            let count = rng.below(13);
            let candidates: Vec<Candidate<'_>> = (0..count)
                .map(|n| {
                    // Sparse masks, so most sets have some apps admitted.
                    let gpio = (rng.next_u64() & rng.next_u64() & rng.next_u64()) as u32 & 0xFF;
                    let uart = (rng.next_u64() & rng.next_u64()) as u32 & 0b11;
                    let id = rng.below(6) as u8;
                    Candidate {
                        name: &names[n],
                        component_id: ComponentId([id; 16]),
                        plan: plan(gpio, uart),
                        ports: ServerPorts::NONE,
                    }
                })
                .collect();
            let verdicts = decide(&candidates);
            let admitted: Vec<usize> = (0..count).filter(|&i| verdicts[i].is_ok()).collect();
            for (x, &i) in admitted.iter().enumerate() {
                for &j in &admitted[x + 1..] {
                    let (a, b) = (candidates[i], candidates[j]);
                    assert_ne!(a.component_id, b.component_id, "{a:?} {b:?}");
                    assert_eq!(gpio(&a.plan) & gpio(&b.plan), 0, "{a:?} {b:?}");
                    assert_eq!(uart(&a.plan) & uart(&b.plan), 0, "{a:?} {b:?}");
                }
            }
            for (i, verdict) in verdicts.iter().enumerate() {
                let me = candidates[i];
                let earlier: Vec<&Candidate<'_>> =
                    admitted.iter().filter(|&&j| j < i).map(|&j| &candidates[j]).collect();
                seen[match verdict {
                    Ok(()) => 0,
                    Err(Conflict::ComponentId { .. }) => 1,
                    Err(Conflict::Resource { server: ServerKind::GPIO, .. }) => 2,
                    Err(Conflict::Resource { .. }) => 3,
                    Err(Conflict::NoRoom) => panic!("the scratch list is as long as the candidates"),
                    Err(Conflict::Port { .. }) => panic!("these candidates ask for no ports"),
                }] += 1;
                match verdict {
                    Ok(()) => {}
                    Err(conflict) => {
                        let holder = earlier
                            .iter()
                            .find(|c| c.name == conflict.holder())
                            .unwrap_or_else(|| panic!("{conflict:?} names no earlier admitted app"));
                        match *conflict {
                            Conflict::ComponentId { id, .. } => {
                                assert_eq!(id, me.component_id);
                                assert_eq!(holder.component_id, id);
                            }
                            Conflict::Resource { server, number, .. } => {
                                assert_ne!(me.plan.badge(server) & holder.plan.badge(server) & 1 << number, 0)
                            }
                            Conflict::NoRoom | Conflict::Port { .. } => unreachable!("counted above"),
                        }
                    }
                }
                let clashes = |other: &Candidate<'_>| {
                    other.component_id == me.component_id
                        || gpio(&other.plan) & gpio(&me.plan) != 0
                        || uart(&other.plan) & uart(&me.plan) != 0
                };
                if !earlier.iter().any(|other| clashes(other)) {
                    assert_eq!(*verdict, Ok(()), "{me:?} conflicts with no admitted app");
                }
                if !candidates.iter().enumerate().any(|(j, other)| j != i && clashes(other)) {
                    assert_eq!(*verdict, Ok(()), "{me:?} shares nothing");
                }
            }
        }
        assert!(seen.iter().all(|&count| count > 100), "every outcome is exercised: {seen:?}");
    }
}
