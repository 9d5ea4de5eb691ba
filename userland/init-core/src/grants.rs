//! From a decoded app manifest to what an app gets on a board that `init` runs on: the one grant decision.
//!
//! A manifest names peripherals by number (the build resolved `$NAME`s
//! against the board's hardware definition). [`plan`] checks each number
//! against what the board offers ([`BoardOffer`]): a package built for
//! another board, or a capability no server here can honour, is refused
//! with a [`Refusal`] that names it. Capabilities whose servers do not
//! exist yet are [placeholders](placeholders): `init` records them and the
//! app gets no authority from them until a server honours them.
//!
//! This is the only code that decides: `init` calls [`plan`] at boot on
//! the manifest in the app's package, and the build-time checker
//! (`tessera-manifest`, `cargo xtask manifest check`) calls it on the
//! binary form it is about to pack, turning a [`Refusal`] into a message
//! that names the JSON field. A property test there checks that the two
//! answers agree.

use core::fmt;

use tessera_abi::app::ServerKind;
use tessera_abi::manifest::{ApplicationType, CapabilityFlags, ComponentId, Manifest, PowerControls};

/// What a board's servers can grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BoardOffer {
    /// The board's name, for messages.
    pub name: &'static str,
    /// GPIO pins the GPIO server drives (bit `n`: pin `n`).
    pub gpio_pins: u32,
    /// UARTs the UART server drives (bit `n`: UART `n`).
    pub uarts: u32,
    /// Whether it has a Wi-Fi interface (`WifiConfig`, `EnterpriseWifiConfig`).
    pub wifi: bool,
    /// The largest `MutableStorage` quota, in KiB, it grants one app.
    pub max_mutable_storage_kib: u32,
    /// Whether `init` runs on a real-time core (the M4), where
    /// `ApplicationType: RealTimeCapable` apps belong. `Default` apps run
    /// on either kind of core.
    pub real_time: bool,
    /// Whether the image has a network server (`AllowedConnections`,
    /// `AllowedTcpServerPorts`, `AllowedUdpServerPorts`).
    pub network: bool,
    /// Whether the image has the Pluton security server
    /// (`DeviceAuthentication`).
    pub pluton: bool,
}

/// The board this build is for, from its description (`qemu/<board>/board.json`,
/// `grants`): on QEMU `virt` the PL061's 8 pins (`gpiod`) and one app UART,
/// number 0 (`uartd`, a virtio console; see docs/apps.md); no Wi-Fi.
pub const QEMU_VIRT: BoardOffer = BoardOffer {
    name: tessera_board_constants::NAME,
    gpio_pins: tessera_board_constants::grants::GPIO_PINS,
    uarts: tessera_board_constants::grants::UARTS,
    wifi: tessera_board_constants::grants::WIFI,
    max_mutable_storage_kib: tessera_board_constants::grants::MAX_MUTABLE_STORAGE_KIB,
    real_time: false,
    network: true,
    pluton: true,
};

/// A server apps can be granted an endpoint of: one row per server kind.
/// A new server (Pluton, network, storage) is a new row here, a new
/// `ServerKind` and a new SDK module; the start information and the
/// plan's shape stay as they are.
#[derive(Clone, Copy)]
pub struct Server {
    /// Its kind (the start information's key).
    pub kind: ServerKind,
    /// The manifest field that asks for it (`Gpio`, `Uart`).
    pub field: &'static str,
    /// What its badge's bits name, for the log line ("GPIO pins").
    pub resources: &'static str,
    /// What the board offers through it (bit `n`: resource `n`).
    offered: fn(&BoardOffer) -> u32,
    /// Calls the function with each resource number the manifest asks for.
    requested: fn(&Manifest<'_>, &mut dyn FnMut(u16)),
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("kind", &self.kind).field("field", &self.field).finish()
    }
}

fn gpio_offered(board: &BoardOffer) -> u32 {
    board.gpio_pins
}

fn gpio_requested(manifest: &Manifest<'_>, each: &mut dyn FnMut(u16)) {
    manifest.gpios().for_each(each)
}

fn uart_offered(board: &BoardOffer) -> u32 {
    board.uarts
}

fn uart_requested(manifest: &Manifest<'_>, each: &mut dyn FnMut(u16)) {
    manifest.uarts().for_each(|uart| each(uart.into()))
}

/// The servers, in the order `plan` checks the manifest and messages list
/// them. Each grants exclusively: the bits of one app's badge are no other
/// app's (`admission`).
pub const SERVERS: [Server; 2] = [
    Server {
        kind: ServerKind::GPIO,
        field: "Gpio",
        resources: "GPIO pins",
        offered: gpio_offered,
        requested: gpio_requested,
    },
    Server {
        kind: ServerKind::UART,
        field: "Uart",
        resources: "UARTs",
        offered: uart_offered,
        requested: uart_requested,
    },
];

/// How many servers [`SERVERS`] lists.
pub const SERVER_COUNT: usize = SERVERS.len();

/// What `board` grants through the manifest field `capability` (`Gpio`,
/// `I2cMaster`, ...; bit `n`: resource `n`): 0 for a field no server here
/// honours.
pub fn offered(board: &BoardOffer, capability: &str) -> u32 {
    SERVERS.iter().find(|server| server.field == capability).map_or(0, |server| (server.offered)(board))
}

/// The manifest fields `board` grants something through, in [`SERVERS`]
/// order (`Gpio`, `Uart`), for messages.
pub fn offered_fields(board: &BoardOffer) -> impl Iterator<Item = &'static str> + '_ {
    SERVERS.iter().filter(|server| (server.offered)(board) != 0).map(|server| server.field)
}

/// Where `kind` is in [`SERVERS`].
pub fn server_index(kind: ServerKind) -> Option<usize> {
    SERVERS.iter().position(|server| server.kind == kind)
}

/// What an accepted app gets: for each server kind, the badge of its
/// endpoint (the mask of resources it may use; 0: no endpoint at all).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    badges: [u32; SERVER_COUNT],
}

impl Plan {
    /// No grant from any server (`Default`, usable in constants).
    pub const NONE: Plan = Plan { badges: [0; SERVER_COUNT] };

    /// The badge for server `kind` (0: nothing from it).
    pub fn badge(&self, kind: ServerKind) -> u32 {
        server_index(kind).map_or(0, |index| self.badges[index])
    }

    /// This plan with `badge` for server `kind` (a kind not in [`SERVERS`]
    /// is ignored: there is no server to grant it).
    pub fn with(mut self, kind: ServerKind, badge: u32) -> Plan {
        if let Some(index) = server_index(kind) {
            self.badges[index] = badge;
        }
        self
    }

    /// Each server with the badge it grants, in [`SERVERS`] order, the
    /// ones granting nothing included.
    pub fn badges(&self) -> impl Iterator<Item = (&'static Server, u32)> + '_ {
        SERVERS.iter().zip(self.badges)
    }
}

/// The log line's form: `GPIO pins 0x20, UARTs 0x0`.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, (server, badge)) in self.badges().enumerate() {
            let separator = if index == 0 { "" } else { ", " };
            write!(f, "{separator}{} {badge:#x}", server.resources)?;
        }
        Ok(())
    }
}

/// Why `init` refuses an app. The `Display` form is the log line's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The `ComponentId` is the nil GUID, which names no component (the
    /// checker refuses it in the JSON; a package made by other means may
    /// carry it).
    NilComponentId,
    /// `ApplicationType: RealTimeCapable`: there is no real-time core.
    RealTimeCapable {
        /// The board.
        board: &'static str,
    },
    /// `WifiConfig` or `EnterpriseWifiConfig` on a board without Wi-Fi.
    NoWifi {
        /// The manifest field.
        capability: &'static str,
        /// The board.
        board: &'static str,
    },
    /// A `MutableStorage` quota larger than the board grants one app.
    MutableStorage {
        /// The quota asked for, in KiB.
        requested: u32,
        /// The most the board grants, in KiB.
        max: u32,
        /// The board.
        board: &'static str,
    },
    /// A capability whose server this image does not have (the network
    /// or the Pluton security server on the M4).
    NoServer {
        /// The manifest field (`AllowedConnections`, `DeviceAuthentication`).
        capability: &'static str,
        /// The server that would honour it ("network", "Pluton security").
        server: &'static str,
        /// The board.
        board: &'static str,
    },
    /// A capability this board has nothing to grant for.
    Unsupported {
        /// The manifest field (`I2cMaster`, `Gpio`, ...).
        capability: &'static str,
        /// The pin or peripheral number asked for.
        value: u16,
        /// The board.
        board: &'static str,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::NilComponentId => f.write_str("ComponentId: the nil GUID names no component"),
            Refusal::RealTimeCapable { board } => {
                write!(f, "ApplicationType RealTimeCapable: {board} has no real-time core to run it")
            }
            Refusal::NoWifi { capability, board } => write!(f, "{capability}: {board} has no Wi-Fi interface"),
            Refusal::NoServer { capability, server, board } => {
                write!(f, "{capability}: {board} has no {server} server")
            }
            Refusal::MutableStorage { requested, max, board } => {
                write!(f, "MutableStorage {requested} KiB: {board} grants one app at most {max} KiB")
            }
            Refusal::Unsupported { capability: capability @ "Gpio", value, board } => {
                write!(f, "{capability} {value}: {board} has no such pin")
            }
            Refusal::Unsupported { capability, value, board } => {
                write!(f, "{capability} {value}: {board} has no {capability} to grant")
            }
        }
    }
}

/// The badge `manifest` asks of `server` on `board`: the mask of what it
/// names, or the first number the board does not offer.
fn badge_of(manifest: &Manifest<'_>, server: &Server, board: &BoardOffer) -> Result<u32, Refusal> {
    let offered = (server.offered)(board);
    let (mut mask, mut refused) = (0u32, None);
    (server.requested)(manifest, &mut |value| {
        if refused.is_some() {
            return;
        }
        if value >= 32 || offered & (1 << value) == 0 {
            refused = Some(Refusal::Unsupported { capability: server.field, value, board: board.name });
        } else {
            mask |= 1 << value;
        }
    });
    refused.map_or(Ok(mask), Err)
}

/// The grants `manifest` gets on `board`, or the first capability that
/// makes it refused (checked in this order: a nil `ComponentId`, the
/// application type, then each of
/// [`SERVERS`] (`Gpio`, `Uart`), then what no server grants yet
/// (`I2cMaster`, `SpiMaster`, `Adc`, `Pwm`), then the network and the
/// Pluton security server where the image has none, then Wi-Fi, then the
/// `MutableStorage` quota). `init` calls it at boot and the build-time
/// checker before packing: both get this one answer.
pub fn plan(manifest: &Manifest<'_>, board: &BoardOffer) -> Result<Plan, Refusal> {
    if manifest.component_id() == ComponentId::NIL {
        return Err(Refusal::NilComponentId);
    }
    if manifest.application_type() == ApplicationType::RealTimeCapable && !board.real_time {
        return Err(Refusal::RealTimeCapable { board: board.name });
    }
    let mut plan = Plan::default();
    for server in &SERVERS {
        plan = plan.with(server.kind, badge_of(manifest, server, board)?);
    }
    let unsupported = [
        ("I2cMaster", manifest.i2c_masters()),
        ("SpiMaster", manifest.spi_masters()),
        ("Adc", manifest.adcs()),
        ("Pwm", manifest.pwms()),
    ];
    for (capability, mut ids) in unsupported {
        if let Some(value) = ids.next() {
            return Err(Refusal::Unsupported { capability, value: value.into(), board: board.name });
        }
    }
    let servers = [
        (board.network, "network", wants_network(manifest), network_field(manifest)),
        (
            board.pluton,
            "Pluton security",
            manifest.flags().contains(CapabilityFlags::DEVICE_AUTHENTICATION),
            "DeviceAuthentication",
        ),
    ];
    for (present, server, asked, capability) in servers {
        if asked && !present {
            return Err(Refusal::NoServer { capability, server, board: board.name });
        }
    }
    let wifi = [
        (CapabilityFlags::WIFI_CONFIG, "WifiConfig"),
        (CapabilityFlags::ENTERPRISE_WIFI_CONFIG, "EnterpriseWifiConfig"),
    ];
    for (flag, capability) in wifi {
        if manifest.flags().contains(flag) && !board.wifi {
            return Err(Refusal::NoWifi { capability, board: board.name });
        }
    }
    let requested = manifest.mutable_storage_kib();
    if requested > board.max_mutable_storage_kib {
        return Err(Refusal::MutableStorage { requested, max: board.max_mutable_storage_kib, board: board.name });
    }
    Ok(plan)
}

/// Whether `manifest` asks for the network: any of `AllowedConnections`,
/// `AllowedTcpServerPorts`, `AllowedUdpServerPorts`. Such an app gets an
/// endpoint to the network server badged with its client number (the
/// Pluton server's numbering, not a mask of resources: so the network
/// server is no row of [`SERVERS`] and admission has nothing to compare)
/// and a transfer window, and `init` registers its policy with the server
/// (docs/network.md). An app that asks for none of them holds no network
/// capability at all. The network server honours all three.
pub fn wants_network(manifest: &Manifest<'_>) -> bool {
    manifest.allowed_connections().next().is_some()
        || manifest.tcp_server_ports().next().is_some()
        || manifest.udp_server_ports().next().is_some()
}

/// The first network field `manifest` has, for a refusal's message.
fn network_field(manifest: &Manifest<'_>) -> &'static str {
    if manifest.allowed_connections().next().is_some() {
        "AllowedConnections"
    } else if manifest.tcp_server_ports().next().is_some() {
        "AllowedTcpServerPorts"
    } else {
        "AllowedUdpServerPorts"
    }
}

/// A capability recorded for a server that is not built yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placeholder {
    /// The manifest field.
    pub capability: &'static str,
    /// The server that will honour it.
    pub server: &'static str,
}

/// (`DeviceAuthentication` is not one: the Pluton security server signs
/// for apps that have it.)
const FLAG_PLACEHOLDERS: [(CapabilityFlags, &str, &str); 13] = [
    (CapabilityFlags::NETWORK_CONFIG, "NetworkConfig", "network"),
    (CapabilityFlags::WIFI_CONFIG, "WifiConfig", "network"),
    (CapabilityFlags::ENTERPRISE_WIFI_CONFIG, "EnterpriseWifiConfig", "network"),
    (CapabilityFlags::SYSTEM_TIME, "SystemTime", "time"),
    (CapabilityFlags::TIME_SYNC_CONFIG, "TimeSyncConfig", "time"),
    (CapabilityFlags::SOFTWARE_UPDATE_DEFERRAL, "SoftwareUpdateDeferral", "update"),
    (CapabilityFlags::SYSTEM_EVENT_NOTIFICATIONS, "SystemEventNotifications", "update"),
    (CapabilityFlags::CERT_STORE, "CertStore", "Pluton"),
    (CapabilityFlags::READ_NETWORK_PROXY_CONFIG, "ReadNetworkProxyConfig", "network"),
    (CapabilityFlags::SNTP_SERVICE, "SntpService", "network"),
    (CapabilityFlags::DHCP_SERVICE, "DhcpService", "network"),
    (CapabilityFlags::HARDWARE_ADDRESS_CONFIG, "HardwareAddressConfig", "network"),
    (CapabilityFlags::HEAP_MEM_STATS, "HeapMemStats", "init"),
];

/// The capabilities of `manifest` that `init` only records: each names the
/// server that will honour it. In manifest-field order. (`AllowedConnections`
/// is not one: the network server enforces it, see [`wants_network`].)
pub fn placeholders<'a>(manifest: &'a Manifest<'a>) -> impl Iterator<Item = Placeholder> + 'a {
    let lists = [
        ("AllowedApplicationConnections", "init", manifest.application_connections().next().is_some()),
        ("MutableStorage", "storage", manifest.mutable_storage_kib() > 0),
        ("PowerControls", "power", manifest.power_controls() != PowerControls::empty()),
    ];
    let flags = manifest.flags();
    lists
        .into_iter()
        .filter(|&(_, _, present)| present)
        .map(|(capability, server, _)| Placeholder { capability, server })
        .chain(
            FLAG_PLACEHOLDERS
                .into_iter()
                .filter(move |&(flag, _, _)| flags.contains(flag))
                .map(|(_, capability, server)| Placeholder { capability, server }),
        )
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;
    use tessera_abi::manifest::{encode, ManifestContent};

    fn content() -> ManifestContent<'static> {
        ManifestContent::new("test", ComponentId([7; 16]))
    }

    fn with<R>(content: &ManifestContent<'_>, f: impl FnOnce(&Manifest<'_>) -> R) -> R {
        let mut buffer = [0u8; 4096];
        let size = encode(content, &mut buffer).unwrap();
        f(&Manifest::decode(&buffer[..size]).unwrap())
    }

    #[test]
    fn a_nil_component_id_is_refused() {
        let nil = ManifestContent::new("test", ComponentId::NIL);
        assert_eq!(with(&nil, |m| plan(m, &QEMU_VIRT)), Err(Refusal::NilComponentId));
        assert_eq!(Refusal::NilComponentId.to_string(), "ComponentId: the nil GUID names no component");
        assert!(with(&content(), |m| plan(m, &QEMU_VIRT)).is_ok());
    }

    #[test]
    fn gpio_and_uart_become_masks() {
        let planned = with(&ManifestContent { gpios: &[3, 5], uarts: &[0], ..content() }, |m| plan(m, &QEMU_VIRT));
        let expected = Plan::default().with(ServerKind::GPIO, 0b10_1000).with(ServerKind::UART, 1);
        assert_eq!(planned, Ok(expected));
        assert_eq!(expected.badge(ServerKind::GPIO), 0b10_1000);
        assert_eq!(expected.badge(ServerKind(99)), 0);
        assert_eq!(expected.with(ServerKind(99), 7), expected, "no server of that kind to grant it");
        assert_eq!(std::format!("{expected}"), "GPIO pins 0x28, UARTs 0x1");
        assert_eq!(with(&content(), |m| plan(m, &QEMU_VIRT)), Ok(Plan::default()));
    }

    #[test]
    fn what_the_board_lacks_is_refused_by_name() {
        let refused = with(&ManifestContent { gpios: &[3, 8], ..content() }, |m| plan(m, &QEMU_VIRT)).unwrap_err();
        assert_eq!(refused, Refusal::Unsupported { capability: "Gpio", value: 8, board: "QEMU virt" });
        assert_eq!(std::format!("{refused}"), "Gpio 8: QEMU virt has no such pin");
        let refused = with(&ManifestContent { gpios: &[127], ..content() }, |m| plan(m, &QEMU_VIRT)).unwrap_err();
        assert!(matches!(refused, Refusal::Unsupported { value: 127, .. }));
        let refused = with(&ManifestContent { uarts: &[1], ..content() }, |m| plan(m, &QEMU_VIRT)).unwrap_err();
        assert_eq!(std::format!("{refused}"), "Uart 1: QEMU virt has no Uart to grant");
        for (field, content) in [
            ("I2cMaster", ManifestContent { i2c_masters: &[2], ..content() }),
            ("SpiMaster", ManifestContent { spi_masters: &[2], ..content() }),
            ("Adc", ManifestContent { adcs: &[2], ..content() }),
            ("Pwm", ManifestContent { pwms: &[2], ..content() }),
        ] {
            let refused = with(&content, |m| plan(m, &QEMU_VIRT)).unwrap_err();
            assert_eq!(std::format!("{refused}"), std::format!("{field} 2: QEMU virt has no {field} to grant"));
        }
        let real_time = ManifestContent { application_type: ApplicationType::RealTimeCapable, ..content() };
        assert!(with(&real_time, |m| plan(m, &QEMU_VIRT)).is_err());
        let wifi = ManifestContent { flags: CapabilityFlags::ENTERPRISE_WIFI_CONFIG, ..content() };
        let refused = with(&wifi, |m| plan(m, &QEMU_VIRT)).unwrap_err();
        assert_eq!(std::format!("{refused}"), "EnterpriseWifiConfig: QEMU virt has no Wi-Fi interface");
        let with_wifi = BoardOffer { wifi: true, ..QEMU_VIRT };
        assert_eq!(with(&wifi, |m| plan(m, &with_wifi)), Ok(Plan::default()));
        let storage = ManifestContent { mutable_storage_kib: QEMU_VIRT.max_mutable_storage_kib + 1, ..content() };
        let refused = with(&storage, |m| plan(m, &QEMU_VIRT)).unwrap_err();
        assert!(matches!(refused, Refusal::MutableStorage { max, .. } if max == QEMU_VIRT.max_mutable_storage_kib));
        let storage = ManifestContent { mutable_storage_kib: QEMU_VIRT.max_mutable_storage_kib, ..content() };
        assert!(with(&storage, |m| plan(m, &QEMU_VIRT)).is_ok());
    }

    /// An M4 image: a real-time core, no network or Pluton server.
    const M4: BoardOffer = BoardOffer {
        name: "M4",
        gpio_pins: 0,
        uarts: 0,
        wifi: false,
        max_mutable_storage_kib: 0,
        real_time: true,
        network: false,
        pluton: false,
    };

    #[test]
    fn what_the_image_has_no_server_for_is_refused_by_name() {
        let real_time = ManifestContent { application_type: ApplicationType::RealTimeCapable, ..content() };
        assert_eq!(with(&real_time, |m| plan(m, &M4)), Ok(Plan::default()));
        assert_eq!(with(&content(), |m| plan(m, &M4)), Ok(Plan::default()), "Default apps run on either core");
        let hosts = ["10.0.2.2"];
        let ports = [8080];
        for (field, content) in [
            (
                "AllowedConnections",
                ManifestContent { allowed_connections: &hosts, tcp_server_ports: &ports, ..content() },
            ),
            ("AllowedTcpServerPorts", ManifestContent { tcp_server_ports: &ports, ..content() }),
            ("AllowedUdpServerPorts", ManifestContent { udp_server_ports: &ports, ..content() }),
        ] {
            let refused = with(&content, |m| plan(m, &M4)).unwrap_err();
            assert_eq!(std::format!("{refused}"), std::format!("{field}: M4 has no network server"));
            assert!(with(&content, |m| plan(m, &QEMU_VIRT)).is_ok());
            assert!(with(&content, |m| plan(m, &BoardOffer { network: true, ..M4 })).is_ok());
        }
        let authenticated = ManifestContent {
            flags: CapabilityFlags::DEVICE_AUTHENTICATION,
            device_authentication_tenant: ComponentId([1; 16]),
            ..content()
        };
        let refused = with(&authenticated, |m| plan(m, &M4)).unwrap_err();
        assert_eq!(std::format!("{refused}"), "DeviceAuthentication: M4 has no Pluton security server");
        assert!(with(&authenticated, |m| plan(m, &QEMU_VIRT)).is_ok());
        let refused = with(&ManifestContent { gpios: &[5], ..content() }, |m| plan(m, &M4)).unwrap_err();
        assert_eq!(std::format!("{refused}"), "Gpio 5: M4 has no such pin");
    }

    #[test]
    fn the_offer_names_its_fields() {
        assert_eq!(offered(&QEMU_VIRT, "Gpio"), QEMU_VIRT.gpio_pins);
        assert_eq!(offered(&QEMU_VIRT, "Uart"), QEMU_VIRT.uarts);
        assert_eq!(offered(&QEMU_VIRT, "I2cMaster"), 0);
        assert_eq!(offered_fields(&QEMU_VIRT).collect::<Vec<_>>(), ["Gpio", "Uart"]);
        let no_uart = BoardOffer { uarts: 0, ..QEMU_VIRT };
        assert_eq!(offered_fields(&no_uart).collect::<Vec<_>>(), ["Gpio"]);
    }

    #[test]
    fn placeholders_are_listed_in_field_order() {
        let hosts = ["example.com"];
        let content = ManifestContent {
            allowed_connections: &hosts,
            mutable_storage_kib: 8,
            flags: CapabilityFlags::DEVICE_AUTHENTICATION | CapabilityFlags::SYSTEM_TIME,
            device_authentication_tenant: ComponentId([1; 16]),
            ..content()
        };
        let names: Vec<&str> = with(&content, |m| placeholders(m).map(|p| p.capability).collect());
        // DeviceAuthentication is honoured (by the Pluton security server),
        // AllowedConnections and the server ports by the network server.
        assert_eq!(names, ["MutableStorage", "SystemTime"]);
        assert_eq!(with(&self::content(), |m| placeholders(m).count()), 0);
        // Server ports are the network server's too.
        let ports = [8080];
        let listening = ManifestContent { tcp_server_ports: &ports, udp_server_ports: &ports, ..self::content() };
        assert_eq!(with(&listening, |m| placeholders(m).count()), 0);
    }

    #[test]
    fn network_fields_ask_for_the_network() {
        assert!(!with(&content(), wants_network));
        let hosts = ["10.0.2.2"];
        assert!(with(&ManifestContent { allowed_connections: &hosts, ..content() }, wants_network));
        let ports = [8080];
        assert!(with(&ManifestContent { tcp_server_ports: &ports, ..content() }, wants_network));
        assert!(with(&ManifestContent { udp_server_ports: &ports, ..content() }, wants_network));
        // It is no row of the plan: the badge is the client number.
        let planned = with(&ManifestContent { allowed_connections: &hosts, ..content() }, |m| plan(m, &QEMU_VIRT));
        assert_eq!(planned, Ok(Plan::default()));
    }

    /// Every accepted plan grants a subset of what the board offers and of
    /// what the manifest asked for.
    #[test]
    fn plans_never_exceed_the_offer_or_the_request() {
        let mut rng = tessera_testing::Rng::new(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2_000 {
            let state = rng.next_u64();
            let mut pins: Vec<u16> = (0..16).filter(|bit| state >> bit & 1 == 1).collect();
            pins.sort_unstable();
            let uarts: Vec<u8> = (0..4).filter(|bit| state >> (20 + bit) & 1 == 1).collect();
            let board = BoardOffer { gpio_pins: (state >> 32) as u32 & 0xFFFF, uarts: 0b11, ..QEMU_VIRT };
            let request = ManifestContent { gpios: &pins, uarts: &uarts, ..content() };
            match with(&request, |m| plan(m, &board)) {
                Ok(plan) => {
                    let (gpio, uart) = (plan.badge(ServerKind::GPIO), plan.badge(ServerKind::UART));
                    assert_eq!(gpio & !board.gpio_pins, 0);
                    assert_eq!(gpio.count_ones() as usize, pins.len());
                    assert_eq!(uart & !board.uarts, 0);
                }
                Err(Refusal::Unsupported { capability, value, .. }) => {
                    let offered = if capability == "Gpio" { board.gpio_pins } else { board.uarts };
                    assert_eq!(offered & (1 << value), 0);
                }
                Err(other) => panic!("{other:?}"),
            }
        }
    }
}
