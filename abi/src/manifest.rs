//! The compact binary app manifest: the grants the loader turns into an app's capabilities.
//!
//! xtask reads an Azure Sphere `app_manifest.json`, resolves its `$NAME`s
//! through a hardware definition, checks it against the board and writes
//! this form (`tessera-manifest`, `docs/manifests.md`). The loader, a
//! `no_std` user program without a heap, reads it with [`Manifest::decode`],
//! which checks everything and borrows the bytes: no copy, no allocation.
//!
//! # Layout (version 1, all integers little-endian)
//!
//! ```text
//! offset size  field
//! 0      4     magic = MAGIC ("TMFT")
//! 4      2     version = VERSION
//! 6      1     application type: 0 Default, 1 RealTimeCapable
//! 7      1     power controls (PowerControls bits)
//! 8      4     capability flags (CapabilityFlags bits)
//! 12     4     mutable storage quota in KiB (0: none)
//! 16     4     total length of the encoding in bytes
//! 20     16    component id (GUID bytes in text order)
//! 36     16    device authentication tenant (GUID; all zero unless the
//!              DEVICE_AUTHENTICATION flag is set; nil: the device's tenant)
//! 52     ..    sections, in this order, each a u8 count then its items:
//!              name                     u8 length, then UTF-8 bytes
//!              GPIO pins                count x u16
//!              UARTs                    count x u8 (board peripheral id)
//!              I2C masters              count x u8
//!              SPI masters              count x u8
//!              ADC controllers          count x u8
//!              PWM controllers          count x u8
//!              TCP server ports         count x u16
//!              UDP server ports         count x u16
//!              allowed connections      count x { u8 length, host name }
//!              application connections  count x 16-byte component id
//! ```
//!
//! Every list is a set written in strictly ascending order (host names
//! bytewise), so each manifest has exactly one encoding: decoding and
//! re-encoding gives the same bytes, and a signature over the bytes covers
//! one meaning. Host names are lower-case (see [`is_valid_host_name`]).
//! The limits are the `MAX_*` constants; [`MAX_ENCODED_LEN`] bounds any
//! valid encoding, so a loader can use a fixed buffer.
//!
//! Peripheral ids and GPIO numbers are the board's (for the MT3620, ISU n
//! is id n and GPIO n is pin n); xtask has already checked them against the
//! board, the decoder only checks the form.

use core::fmt;

use bitflags::bitflags;

/// First four bytes of a binary manifest.
pub const MAGIC: [u8; 4] = *b"TMFT";
/// Format version this code reads and writes.
pub const VERSION: u16 = 1;
/// Size of the fixed header before the sections.
pub const HEADER_SIZE: usize = 52;
/// Longest application name, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 64;
/// Most GPIO pins one manifest may grant.
pub const MAX_GPIOS: usize = 128;
/// Most peripherals of one kind (UART, I2C master, ...) one manifest may grant.
pub const MAX_PERIPHERALS: usize = 16;
/// Most listening ports per protocol.
pub const MAX_SERVER_PORTS: usize = 16;
/// Most entries in the allowed connections list.
pub const MAX_ALLOWED_CONNECTIONS: usize = 64;
/// Longest host name (the DNS limit).
pub const MAX_HOST_NAME_BYTES: usize = 253;
/// Longest label (the part between dots) of a host name.
pub const MAX_HOST_LABEL_BYTES: usize = 63;
/// Most components an app may connect to.
pub const MAX_APPLICATION_CONNECTIONS: usize = 16;
/// Largest mutable storage quota the format carries, in KiB (boards set
/// lower limits; see `docs/manifests.md`).
pub const MAX_MUTABLE_STORAGE_KIB: u32 = 64 * 1024;
/// Upper bound on the length of any valid encoding.
pub const MAX_ENCODED_LEN: usize = HEADER_SIZE
    + (1 + MAX_NAME_BYTES)
    + (1 + 2 * MAX_GPIOS)
    + 5 * (1 + MAX_PERIPHERALS)
    + 2 * (1 + 2 * MAX_SERVER_PORTS)
    + (1 + MAX_ALLOWED_CONNECTIONS * (1 + MAX_HOST_NAME_BYTES))
    + (1 + 16 * MAX_APPLICATION_CONNECTIONS);

/// A component id: a GUID, kept as its 16 bytes in the order its text shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ComponentId(pub [u8; 16]);

impl ComponentId {
    /// The all-zero GUID.
    pub const NIL: ComponentId = ComponentId([0; 16]);

    /// Parses the text form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (hex
    /// digits in either case); `None` for anything else.
    pub fn parse(text: &str) -> Option<ComponentId> {
        let text = text.as_bytes();
        if text.len() != 36 {
            return None;
        }
        let mut bytes = [0u8; 16];
        let mut nibbles = 0usize;
        for (position, &character) in text.iter().enumerate() {
            if matches!(position, 8 | 13 | 18 | 23) {
                if character != b'-' {
                    return None;
                }
                continue;
            }
            let value = match character {
                b'0'..=b'9' => character - b'0',
                b'a'..=b'f' => character - b'a' + 10,
                b'A'..=b'F' => character - b'A' + 10,
                _ => return None,
            };
            let byte = bytes.get_mut(nibbles / 2)?;
            *byte = (*byte << 4) | value;
            nibbles += 1;
        }
        Some(ComponentId(bytes))
    }

    /// Whether this is the all-zero GUID.
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for ComponentId {
    /// The lower-case text form, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, byte) in self.0.iter().enumerate() {
            if matches!(index, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// Where an app runs (the manifest's `ApplicationType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ApplicationType {
    /// A high-level application (`"Default"`).
    Default = 0,
    /// A real-time capable application (`"RealTimeCapable"`): on the MT3620,
    /// one that runs on a Cortex-M4F core.
    RealTimeCapable = 1,
}

impl ApplicationType {
    /// The type with this wire value.
    pub fn from_u8(value: u8) -> Option<ApplicationType> {
        match value {
            0 => Some(ApplicationType::Default),
            1 => Some(ApplicationType::RealTimeCapable),
            _ => None,
        }
    }
}

bitflags! {
    /// The manifest's yes-or-no capabilities, one bit each.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct CapabilityFlags: u32 {
        /// `NetworkConfig`: configure network interfaces.
        const NETWORK_CONFIG = 1 << 0;
        /// `WifiConfig`: add, change and remove Wi-Fi networks.
        const WIFI_CONFIG = 1 << 1;
        /// `EnterpriseWifiConfig`: EAP-TLS Wi-Fi networks and their certificates.
        const ENTERPRISE_WIFI_CONFIG = 1 << 2;
        /// `SystemTime`: set the system time.
        const SYSTEM_TIME = 1 << 3;
        /// `TimeSyncConfig`: configure the time-sync service.
        const TIME_SYNC_CONFIG = 1 << 4;
        /// `SoftwareUpdateDeferral`: defer software updates for a while.
        const SOFTWARE_UPDATE_DEFERRAL = 1 << 5;
        /// `SystemEventNotifications`: receive system events (update pending, ...).
        const SYSTEM_EVENT_NOTIFICATIONS = 1 << 6;
        /// `CertStore`: manage the certificate store.
        const CERT_STORE = 1 << 7;
        /// `ReadNetworkProxyConfig`: read the network proxy settings.
        const READ_NETWORK_PROXY_CONFIG = 1 << 8;
        /// `SntpService`: run an SNTP server on a private network.
        const SNTP_SERVICE = 1 << 9;
        /// `DhcpService`: run a DHCP server on a private network.
        const DHCP_SERVICE = 1 << 10;
        /// `HardwareAddressConfig`: set a network interface's hardware address.
        const HARDWARE_ADDRESS_CONFIG = 1 << 11;
        /// `HeapMemStats`: heap allocation statistics.
        const HEAP_MEM_STATS = 1 << 12;
        /// `DeviceAuthentication`: authenticate as the device (the tenant is
        /// in the header).
        const DEVICE_AUTHENTICATION = 1 << 13;
    }
}

bitflags! {
    /// The manifest's `PowerControls` list.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PowerControls: u8 {
        /// `ForcePowerDown`: power the device down.
        const FORCE_POWER_DOWN = 1 << 0;
        /// `ForceReboot`: reboot the device.
        const FORCE_REBOOT = 1 << 1;
        /// `SetPowerProfile`: choose a power profile.
        const SET_POWER_PROFILE = 1 << 2;
    }
}

/// One of the manifest's lists, to say which one an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum List {
    /// `Gpio`.
    Gpio,
    /// `Uart`.
    Uart,
    /// `I2cMaster`.
    I2cMaster,
    /// `SpiMaster`.
    SpiMaster,
    /// `Adc`.
    Adc,
    /// `Pwm`.
    Pwm,
    /// `AllowedTcpServerPorts`.
    TcpServerPorts,
    /// `AllowedUdpServerPorts`.
    UdpServerPorts,
    /// `AllowedConnections`.
    AllowedConnections,
    /// `AllowedApplicationConnections`.
    AllowedApplicationConnections,
}

impl List {
    /// The most entries this list may have.
    pub const fn max_entries(self) -> usize {
        match self {
            List::Gpio => MAX_GPIOS,
            List::Uart | List::I2cMaster | List::SpiMaster | List::Adc | List::Pwm => MAX_PERIPHERALS,
            List::TcpServerPorts | List::UdpServerPorts => MAX_SERVER_PORTS,
            List::AllowedConnections => MAX_ALLOWED_CONNECTIONS,
            List::AllowedApplicationConnections => MAX_APPLICATION_CONNECTIONS,
        }
    }

    /// The manifest field this list comes from.
    pub const fn field_name(self) -> &'static str {
        match self {
            List::Gpio => "Gpio",
            List::Uart => "Uart",
            List::I2cMaster => "I2cMaster",
            List::SpiMaster => "SpiMaster",
            List::Adc => "Adc",
            List::Pwm => "Pwm",
            List::TcpServerPorts => "AllowedTcpServerPorts",
            List::UdpServerPorts => "AllowedUdpServerPorts",
            List::AllowedConnections => "AllowedConnections",
            List::AllowedApplicationConnections => "AllowedApplicationConnections",
        }
    }
}

/// A rule of the format that some content breaks (found by the encoder
/// before it writes, and by the decoder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentError {
    /// The name is empty, longer than [`MAX_NAME_BYTES`] or holds a control character.
    BadName,
    /// The mutable storage quota is above [`MAX_MUTABLE_STORAGE_KIB`].
    MutableStorageTooLarge(u32),
    /// A tenant is given without the `DEVICE_AUTHENTICATION` flag.
    TenantWithoutDeviceAuthentication,
    /// A list has more than its maximum ([`List::max_entries`]).
    TooMany {
        /// Which list.
        list: List,
        /// How many entries it has.
        count: usize,
    },
    /// Entry `index` of a list is not above the one before it (a duplicate,
    /// or out of order).
    NotAscending {
        /// Which list.
        list: List,
        /// The entry's position.
        index: usize,
    },
    /// A server port is 0.
    PortZero {
        /// Which list.
        list: List,
        /// The entry's position.
        index: usize,
    },
    /// Allowed connection `index` is not a valid lower-case host name.
    BadHostName(usize),
}

impl fmt::Display for ContentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ContentError::BadName => {
                write!(f, "the name is empty, over {MAX_NAME_BYTES} bytes or has a control character")
            }
            ContentError::MutableStorageTooLarge(kib) => {
                write!(f, "mutable storage of {kib} KiB is over the format's {MAX_MUTABLE_STORAGE_KIB} KiB")
            }
            ContentError::TenantWithoutDeviceAuthentication => {
                f.write_str("a device authentication tenant is set without the DeviceAuthentication flag")
            }
            ContentError::TooMany { list, count } => {
                write!(f, "{} has {count} entries, more than {}", list.field_name(), list.max_entries())
            }
            ContentError::NotAscending { list, index } => {
                write!(f, "{}[{index}] is a duplicate or out of order", list.field_name())
            }
            ContentError::PortZero { list, index } => write!(f, "{}[{index}] is port 0", list.field_name()),
            ContentError::BadHostName(index) => write!(f, "AllowedConnections[{index}] is not a lower-case host name"),
        }
    }
}

/// Why a byte string is not a valid binary manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than its header or than one of its sections says.
    Truncated,
    /// Does not start with [`MAGIC`].
    BadMagic,
    /// A version this code does not read.
    UnsupportedVersion(u16),
    /// The header's total length is not the number of bytes given.
    LengthMismatch {
        /// The length the header declares.
        declared: u32,
        /// The bytes given.
        actual: usize,
    },
    /// An application type this code does not know.
    UnknownApplicationType(u8),
    /// Capability flag bits this code does not know.
    UnknownCapabilityFlags(u32),
    /// Power control bits this code does not know.
    UnknownPowerControls(u8),
    /// The name is not UTF-8.
    NameNotUtf8,
    /// Bytes follow the last section.
    TrailingBytes,
    /// The content breaks a rule of the format.
    Invalid(ContentError),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::Truncated => f.write_str("truncated"),
            DecodeError::BadMagic => f.write_str("not a binary manifest (bad magic)"),
            DecodeError::UnsupportedVersion(version) => write!(f, "unsupported version {version}"),
            DecodeError::LengthMismatch { declared, actual } => {
                write!(f, "the header declares {declared} bytes but {actual} were given")
            }
            DecodeError::UnknownApplicationType(value) => write!(f, "unknown application type {value}"),
            DecodeError::UnknownCapabilityFlags(bits) => write!(f, "unknown capability flags {bits:#x}"),
            DecodeError::UnknownPowerControls(bits) => write!(f, "unknown power controls {bits:#x}"),
            DecodeError::NameNotUtf8 => f.write_str("the name is not UTF-8"),
            DecodeError::TrailingBytes => f.write_str("bytes follow the last section"),
            DecodeError::Invalid(error) => error.fmt(f),
        }
    }
}

impl From<ContentError> for DecodeError {
    fn from(error: ContentError) -> Self {
        DecodeError::Invalid(error)
    }
}

/// Why [`encode`] wrote nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer is shorter than the `needed` bytes.
    BufferTooSmall {
        /// The length of the encoding.
        needed: usize,
    },
    /// The content breaks a rule of the format.
    Invalid(ContentError),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EncodeError::BufferTooSmall { needed } => write!(f, "the output buffer is shorter than {needed} bytes"),
            EncodeError::Invalid(error) => error.fmt(f),
        }
    }
}

impl From<ContentError> for EncodeError {
    fn from(error: ContentError) -> Self {
        EncodeError::Invalid(error)
    }
}

/// Whether `name` is a host name the binary form accepts: 1 to
/// [`MAX_HOST_NAME_BYTES`] bytes of dot-separated labels, each 1 to
/// [`MAX_HOST_LABEL_BYTES`] of `a-z`, `0-9`, `-` and `_` (DNS-SD service
/// names such as `_http._tcp.local` use `_`), not starting or ending with
/// `-`. Upper case is refused: xtask lower-cases names, so one spelling
/// stands for each host. Dotted IPv4 addresses pass too. No wildcards,
/// ports or trailing dot.
pub fn is_valid_host_name(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_HOST_NAME_BYTES {
        return false;
    }
    name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= MAX_HOST_LABEL_BYTES
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'))
    })
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_BYTES && !name.chars().any(char::is_control)
}

/// What a binary manifest says: the input of [`encode`].
///
/// Every list must be strictly ascending (no duplicates); see the module
/// documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ManifestContent<'a> {
    /// The app's name (`Name`).
    pub name: &'a str,
    /// `ComponentId`.
    pub component_id: ComponentId,
    /// `ApplicationType`.
    pub application_type: ApplicationType,
    /// The yes-or-no capabilities.
    pub flags: CapabilityFlags,
    /// `PowerControls`.
    pub power_controls: PowerControls,
    /// `MutableStorage.SizeKB`, 0 for none.
    pub mutable_storage_kib: u32,
    /// The `DeviceAuthentication` tenant; must be nil unless
    /// `flags` has `DEVICE_AUTHENTICATION`.
    pub device_authentication_tenant: ComponentId,
    /// GPIO pin numbers.
    pub gpios: &'a [u16],
    /// UART ids.
    pub uarts: &'a [u8],
    /// I2C master ids.
    pub i2c_masters: &'a [u8],
    /// SPI master ids.
    pub spi_masters: &'a [u8],
    /// ADC controller ids.
    pub adcs: &'a [u8],
    /// PWM controller ids.
    pub pwms: &'a [u8],
    /// TCP ports the app may listen on.
    pub tcp_server_ports: &'a [u16],
    /// UDP ports the app may listen on.
    pub udp_server_ports: &'a [u16],
    /// Host names the app may connect to (lower case).
    pub allowed_connections: &'a [&'a str],
    /// Components the app may connect to.
    pub application_connections: &'a [ComponentId],
}

impl<'a> ManifestContent<'a> {
    /// A `Default` app called `name` with `component_id` and no
    /// capabilities: what tools and tests start from (`ManifestContent {
    /// gpios: &[5], ..ManifestContent::new("blinky", id) }`).
    pub const fn new(name: &'a str, component_id: ComponentId) -> ManifestContent<'a> {
        ManifestContent {
            name,
            component_id,
            application_type: ApplicationType::Default,
            flags: CapabilityFlags::empty(),
            power_controls: PowerControls::empty(),
            mutable_storage_kib: 0,
            device_authentication_tenant: ComponentId::NIL,
            gpios: &[],
            uarts: &[],
            i2c_masters: &[],
            spi_masters: &[],
            adcs: &[],
            pwms: &[],
            tcp_server_ports: &[],
            udp_server_ports: &[],
            allowed_connections: &[],
            application_connections: &[],
        }
    }
}

impl ManifestContent<'_> {
    /// Checks every rule of the format.
    pub fn validate(&self) -> Result<(), ContentError> {
        if !is_valid_name(self.name) {
            return Err(ContentError::BadName);
        }
        check_common(self.mutable_storage_kib, self.flags, self.device_authentication_tenant)?;
        check_ascending(List::Gpio, self.gpios.iter().copied())?;
        check_ascending(List::Uart, self.uarts.iter().copied())?;
        check_ascending(List::I2cMaster, self.i2c_masters.iter().copied())?;
        check_ascending(List::SpiMaster, self.spi_masters.iter().copied())?;
        check_ascending(List::Adc, self.adcs.iter().copied())?;
        check_ascending(List::Pwm, self.pwms.iter().copied())?;
        check_ports(List::TcpServerPorts, self.tcp_server_ports.iter().copied())?;
        check_ports(List::UdpServerPorts, self.udp_server_ports.iter().copied())?;
        check_host_names(self.allowed_connections.iter().copied())?;
        check_ascending(List::AllowedApplicationConnections, self.application_connections.iter().copied())?;
        Ok(())
    }

    /// The length of the encoding (after [`validate`](Self::validate)).
    pub fn encoded_len(&self) -> Result<usize, ContentError> {
        self.validate()?;
        let host_bytes: usize = self.allowed_connections.iter().map(|host| 1 + host.len()).sum();
        Ok(HEADER_SIZE
            + 1
            + self.name.len()
            + 1
            + 2 * self.gpios.len()
            + 5
            + self.uarts.len()
            + self.i2c_masters.len()
            + self.spi_masters.len()
            + self.adcs.len()
            + self.pwms.len()
            + 1
            + 2 * self.tcp_server_ports.len()
            + 1
            + 2 * self.udp_server_ports.len()
            + 1
            + host_bytes
            + 1
            + 16 * self.application_connections.len())
    }
}

fn check_common(mutable_storage_kib: u32, flags: CapabilityFlags, tenant: ComponentId) -> Result<(), ContentError> {
    if mutable_storage_kib > MAX_MUTABLE_STORAGE_KIB {
        return Err(ContentError::MutableStorageTooLarge(mutable_storage_kib));
    }
    if !tenant.is_nil() && !flags.contains(CapabilityFlags::DEVICE_AUTHENTICATION) {
        return Err(ContentError::TenantWithoutDeviceAuthentication);
    }
    Ok(())
}

fn check_ascending<T: Ord>(list: List, items: impl Iterator<Item = T>) -> Result<(), ContentError> {
    let mut previous: Option<T> = None;
    let mut count = 0usize;
    for (index, item) in items.enumerate() {
        if previous.as_ref().is_some_and(|previous| item <= *previous) {
            return Err(ContentError::NotAscending { list, index });
        }
        previous = Some(item);
        count = index + 1;
    }
    if count > list.max_entries() {
        return Err(ContentError::TooMany { list, count });
    }
    Ok(())
}

fn check_ports(list: List, ports: impl Iterator<Item = u16> + Clone) -> Result<(), ContentError> {
    if let Some(index) = ports.clone().position(|port| port == 0) {
        return Err(ContentError::PortZero { list, index });
    }
    check_ascending(list, ports)
}

fn check_host_names<'a>(names: impl Iterator<Item = &'a str> + Clone) -> Result<(), ContentError> {
    if let Some(index) = names.clone().position(|name| !is_valid_host_name(name)) {
        return Err(ContentError::BadHostName(index));
    }
    check_ascending(List::AllowedConnections, names.map(str::as_bytes))
}

/// Writes bytes at increasing offsets of a buffer already known to be long enough.
struct Writer<'a> {
    out: &'a mut [u8],
    position: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, bytes: &[u8]) {
        let end = self.position + bytes.len();
        if let Some(target) = self.out.get_mut(self.position..end) {
            target.copy_from_slice(bytes);
        }
        self.position = end;
    }

    fn u8(&mut self, value: u8) {
        self.bytes(&[value]);
    }

    /// A list's count; the lists were checked against their limits (all below 256).
    fn count(&mut self, count: usize) {
        self.u8(u8::try_from(count).unwrap_or(u8::MAX));
    }

    fn u16_list(&mut self, values: &[u16]) {
        self.count(values.len());
        for value in values {
            self.bytes(&value.to_le_bytes());
        }
    }

    fn u8_list(&mut self, values: &[u8]) {
        self.count(values.len());
        self.bytes(values);
    }
}

/// Writes the encoding of `content` at the start of `out` and returns its
/// length. Writes nothing if `content` breaks a rule or `out` is too short.
pub fn encode(content: &ManifestContent<'_>, out: &mut [u8]) -> Result<usize, EncodeError> {
    let length = content.encoded_len()?;
    if out.len() < length {
        return Err(EncodeError::BufferTooSmall { needed: length });
    }
    let total = u32::try_from(length).map_err(|_| EncodeError::BufferTooSmall { needed: length })?;
    let mut writer = Writer { out, position: 0 };
    writer.bytes(&MAGIC);
    writer.bytes(&VERSION.to_le_bytes());
    writer.u8(content.application_type as u8);
    writer.u8(content.power_controls.bits());
    writer.bytes(&content.flags.bits().to_le_bytes());
    writer.bytes(&content.mutable_storage_kib.to_le_bytes());
    writer.bytes(&total.to_le_bytes());
    writer.bytes(&content.component_id.0);
    writer.bytes(&content.device_authentication_tenant.0);
    writer.count(content.name.len());
    writer.bytes(content.name.as_bytes());
    writer.u16_list(content.gpios);
    writer.u8_list(content.uarts);
    writer.u8_list(content.i2c_masters);
    writer.u8_list(content.spi_masters);
    writer.u8_list(content.adcs);
    writer.u8_list(content.pwms);
    writer.u16_list(content.tcp_server_ports);
    writer.u16_list(content.udp_server_ports);
    writer.count(content.allowed_connections.len());
    for host in content.allowed_connections {
        writer.count(host.len());
        writer.bytes(host.as_bytes());
    }
    writer.count(content.application_connections.len());
    for id in content.application_connections {
        writer.bytes(&id.0);
    }
    debug_assert_eq!(writer.position, length);
    Ok(length)
}

/// Reads forward through a byte string; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        if count > self.bytes.len() {
            return Err(DecodeError::Truncated);
        }
        let (taken, rest) = self.bytes.split_at(count);
        self.bytes = rest;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        let bytes = self.take(1)?;
        bytes.first().copied().ok_or(DecodeError::Truncated)
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let bytes = self.take(2)?;
        let array: [u8; 2] = bytes.try_into().map_err(|_| DecodeError::Truncated)?;
        Ok(u16::from_le_bytes(array))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let bytes = self.take(4)?;
        let array: [u8; 4] = bytes.try_into().map_err(|_| DecodeError::Truncated)?;
        Ok(u32::from_le_bytes(array))
    }

    fn component_id(&mut self) -> Result<ComponentId, DecodeError> {
        let bytes = self.take(16)?;
        let array: [u8; 16] = bytes.try_into().map_err(|_| DecodeError::Truncated)?;
        Ok(ComponentId(array))
    }

    /// A list's count, checked against the list's limit.
    fn count(&mut self, list: List) -> Result<usize, DecodeError> {
        let count = usize::from(self.u8()?);
        if count > list.max_entries() {
            return Err(ContentError::TooMany { list, count }.into());
        }
        Ok(count)
    }

    /// A section of `count` items of `width` bytes each.
    fn fixed_list(&mut self, list: List, width: usize) -> Result<&'a [u8], DecodeError> {
        let count = self.count(list)?;
        self.take(count * width)
    }
}

/// A checked binary manifest, borrowing the bytes it was decoded from.
///
/// Everything [`Manifest::decode`] returns obeys the format's rules: the
/// lists are strictly ascending and within their limits, the name is UTF-8
/// without control characters, the host names are valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Manifest<'a> {
    bytes: &'a [u8],
    name: &'a str,
    component_id: ComponentId,
    application_type: ApplicationType,
    flags: CapabilityFlags,
    power_controls: PowerControls,
    mutable_storage_kib: u32,
    device_authentication_tenant: ComponentId,
    gpios: &'a [u8],
    uarts: &'a [u8],
    i2c_masters: &'a [u8],
    spi_masters: &'a [u8],
    adcs: &'a [u8],
    pwms: &'a [u8],
    tcp_server_ports: &'a [u8],
    udp_server_ports: &'a [u8],
    allowed_connections: &'a [u8],
    allowed_connection_count: usize,
    application_connections: &'a [u8],
}

impl<'a> Manifest<'a> {
    /// Checks `bytes` completely and returns a view of it, or the first
    /// problem found. Never panics, whatever the bytes.
    pub fn decode(bytes: &'a [u8]) -> Result<Manifest<'a>, DecodeError> {
        let mut reader = Reader { bytes };
        if reader.take(MAGIC.len())? != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let version = reader.u16()?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let application_type_value = reader.u8()?;
        let power_controls_bits = reader.u8()?;
        let flag_bits = reader.u32()?;
        let mutable_storage_kib = reader.u32()?;
        let declared = reader.u32()?;
        if usize::try_from(declared).ok() != Some(bytes.len()) {
            return Err(DecodeError::LengthMismatch { declared, actual: bytes.len() });
        }
        let component_id = reader.component_id()?;
        let device_authentication_tenant = reader.component_id()?;

        let application_type = ApplicationType::from_u8(application_type_value)
            .ok_or(DecodeError::UnknownApplicationType(application_type_value))?;
        let power_controls = PowerControls::from_bits(power_controls_bits)
            .ok_or(DecodeError::UnknownPowerControls(power_controls_bits))?;
        let flags = CapabilityFlags::from_bits(flag_bits).ok_or(DecodeError::UnknownCapabilityFlags(flag_bits))?;
        check_common(mutable_storage_kib, flags, device_authentication_tenant)?;

        let name_length = usize::from(reader.u8()?);
        let name = core::str::from_utf8(reader.take(name_length)?).map_err(|_| DecodeError::NameNotUtf8)?;
        if !is_valid_name(name) {
            return Err(ContentError::BadName.into());
        }

        let gpios = reader.fixed_list(List::Gpio, 2)?;
        let uarts = reader.fixed_list(List::Uart, 1)?;
        let i2c_masters = reader.fixed_list(List::I2cMaster, 1)?;
        let spi_masters = reader.fixed_list(List::SpiMaster, 1)?;
        let adcs = reader.fixed_list(List::Adc, 1)?;
        let pwms = reader.fixed_list(List::Pwm, 1)?;
        let tcp_server_ports = reader.fixed_list(List::TcpServerPorts, 2)?;
        let udp_server_ports = reader.fixed_list(List::UdpServerPorts, 2)?;

        let allowed_connection_count = reader.count(List::AllowedConnections)?;
        let hosts_start = reader.bytes;
        for _ in 0..allowed_connection_count {
            let length = usize::from(reader.u8()?);
            reader.take(length)?;
        }
        let hosts_length = hosts_start.len() - reader.bytes.len();
        let allowed_connections = hosts_start.get(..hosts_length).ok_or(DecodeError::Truncated)?;

        let application_connections = reader.fixed_list(List::AllowedApplicationConnections, 16)?;
        if !reader.bytes.is_empty() {
            return Err(DecodeError::TrailingBytes);
        }

        let manifest = Manifest {
            bytes,
            name,
            component_id,
            application_type,
            flags,
            power_controls,
            mutable_storage_kib,
            device_authentication_tenant,
            gpios,
            uarts,
            i2c_masters,
            spi_masters,
            adcs,
            pwms,
            tcp_server_ports,
            udp_server_ports,
            allowed_connections,
            allowed_connection_count,
            application_connections,
        };
        check_ascending(List::Gpio, manifest.gpios())?;
        check_ascending(List::Uart, manifest.uarts())?;
        check_ascending(List::I2cMaster, manifest.i2c_masters())?;
        check_ascending(List::SpiMaster, manifest.spi_masters())?;
        check_ascending(List::Adc, manifest.adcs())?;
        check_ascending(List::Pwm, manifest.pwms())?;
        check_ports(List::TcpServerPorts, manifest.tcp_server_ports())?;
        check_ports(List::UdpServerPorts, manifest.udp_server_ports())?;
        // Host names: the bytes must be UTF-8 to be valid host names; an
        // entry that is not is reported as a bad host name.
        let raw_hosts = RawHostNames { bytes: allowed_connections, remaining: allowed_connection_count };
        let mut previous: Option<&[u8]> = None;
        for (index, raw) in raw_hosts.enumerate() {
            let valid = core::str::from_utf8(raw).is_ok_and(is_valid_host_name);
            if !valid {
                return Err(ContentError::BadHostName(index).into());
            }
            if previous.is_some_and(|previous| raw <= previous) {
                return Err(ContentError::NotAscending { list: List::AllowedConnections, index }.into());
            }
            previous = Some(raw);
        }
        check_ascending(List::AllowedApplicationConnections, manifest.application_connections())?;
        Ok(manifest)
    }

    /// The bytes this manifest was decoded from.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The app's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The app's component id.
    pub fn component_id(&self) -> ComponentId {
        self.component_id
    }

    /// Where the app runs.
    pub fn application_type(&self) -> ApplicationType {
        self.application_type
    }

    /// The yes-or-no capabilities.
    pub fn flags(&self) -> CapabilityFlags {
        self.flags
    }

    /// The granted power controls.
    pub fn power_controls(&self) -> PowerControls {
        self.power_controls
    }

    /// The mutable storage quota in KiB; 0 if none is granted.
    pub fn mutable_storage_kib(&self) -> u32 {
        self.mutable_storage_kib
    }

    /// `Some(tenant)` if device authentication is granted (the nil GUID:
    /// the device's own tenant), `None` if not.
    pub fn device_authentication(&self) -> Option<ComponentId> {
        self.flags.contains(CapabilityFlags::DEVICE_AUTHENTICATION).then_some(self.device_authentication_tenant)
    }

    /// The granted GPIO pins, ascending.
    pub fn gpios(&self) -> Pins<'a> {
        Pins { pairs: self.gpios.chunks_exact(2) }
    }

    /// The granted UART ids, ascending.
    pub fn uarts(&self) -> PeripheralIds<'a> {
        self.uarts.iter().copied()
    }

    /// The granted I2C master ids, ascending.
    pub fn i2c_masters(&self) -> PeripheralIds<'a> {
        self.i2c_masters.iter().copied()
    }

    /// The granted SPI master ids, ascending.
    pub fn spi_masters(&self) -> PeripheralIds<'a> {
        self.spi_masters.iter().copied()
    }

    /// The granted ADC controller ids, ascending.
    pub fn adcs(&self) -> PeripheralIds<'a> {
        self.adcs.iter().copied()
    }

    /// The granted PWM controller ids, ascending.
    pub fn pwms(&self) -> PeripheralIds<'a> {
        self.pwms.iter().copied()
    }

    /// The TCP ports the app may listen on, ascending.
    pub fn tcp_server_ports(&self) -> Pins<'a> {
        Pins { pairs: self.tcp_server_ports.chunks_exact(2) }
    }

    /// The UDP ports the app may listen on, ascending.
    pub fn udp_server_ports(&self) -> Pins<'a> {
        Pins { pairs: self.udp_server_ports.chunks_exact(2) }
    }

    /// The host names the app may connect to, in ascending byte order.
    pub fn allowed_connections(&self) -> HostNames<'a> {
        HostNames { raw: RawHostNames { bytes: self.allowed_connections, remaining: self.allowed_connection_count } }
    }

    /// The components the app may connect to, ascending.
    pub fn application_connections(&self) -> ComponentIds<'a> {
        ComponentIds { ids: self.application_connections.chunks_exact(16) }
    }

    /// Encodes this manifest again into `out` and returns the length. The
    /// form is canonical, so these are the bytes it was decoded from (what
    /// the round-trip tests and the fuzz target check). Uses about 2 KiB
    /// of stack for the lists.
    pub fn encode_into(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        self.with_content(|content| encode(content, out))
    }

    /// Calls `f` with this manifest as [`ManifestContent`] (every list
    /// gathered on the stack, about 2 KiB): to encode it again, or a
    /// changed copy of it (`ManifestContent { gpios: .., ..*content }`).
    pub fn with_content<R>(&self, f: impl FnOnce(&ManifestContent<'_>) -> R) -> R {
        /// Up to `N` items into an array, and how many there were (the
        /// decoder already bounds every list).
        fn gather<T: Copy + Default, const N: usize>(items: impl Iterator<Item = T>) -> ([T; N], usize) {
            let mut array = [T::default(); N];
            let mut len = 0;
            for (slot, item) in array.iter_mut().zip(items) {
                *slot = item;
                len += 1;
            }
            (array, len)
        }
        let gpios: ([u16; MAX_GPIOS], usize) = gather(self.gpios());
        let uarts: ([u8; MAX_PERIPHERALS], usize) = gather(self.uarts());
        let i2c: ([u8; MAX_PERIPHERALS], usize) = gather(self.i2c_masters());
        let spi: ([u8; MAX_PERIPHERALS], usize) = gather(self.spi_masters());
        let adcs: ([u8; MAX_PERIPHERALS], usize) = gather(self.adcs());
        let pwms: ([u8; MAX_PERIPHERALS], usize) = gather(self.pwms());
        let tcp: ([u16; MAX_SERVER_PORTS], usize) = gather(self.tcp_server_ports());
        let udp: ([u16; MAX_SERVER_PORTS], usize) = gather(self.udp_server_ports());
        let hosts: ([&str; MAX_ALLOWED_CONNECTIONS], usize) = gather(self.allowed_connections());
        let apps: ([ComponentId; MAX_APPLICATION_CONNECTIONS], usize) = gather(self.application_connections());
        let content = ManifestContent {
            name: self.name(),
            component_id: self.component_id(),
            application_type: self.application_type(),
            flags: self.flags(),
            power_controls: self.power_controls(),
            mutable_storage_kib: self.mutable_storage_kib(),
            device_authentication_tenant: self.device_authentication().unwrap_or_default(),
            gpios: &gpios.0[..gpios.1],
            uarts: &uarts.0[..uarts.1],
            i2c_masters: &i2c.0[..i2c.1],
            spi_masters: &spi.0[..spi.1],
            adcs: &adcs.0[..adcs.1],
            pwms: &pwms.0[..pwms.1],
            tcp_server_ports: &tcp.0[..tcp.1],
            udp_server_ports: &udp.0[..udp.1],
            allowed_connections: &hosts.0[..hosts.1],
            application_connections: &apps.0[..apps.1],
        };
        f(&content)
    }

    /// Whether GPIO `pin` is granted.
    pub fn allows_gpio(&self, pin: u16) -> bool {
        self.gpios().any(|granted| granted == pin)
    }

    /// Whether the app may connect to `host` (compared without regard to
    /// ASCII case).
    pub fn allows_connection(&self, host: &str) -> bool {
        self.allowed_connections().any(|allowed| allowed.eq_ignore_ascii_case(host))
    }
}

/// The 16-bit values of a list (GPIO pins or ports), in order.
#[derive(Clone, Debug)]
pub struct Pins<'a> {
    pairs: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for Pins<'_> {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        let pair = self.pairs.next()?;
        let array: [u8; 2] = pair.try_into().ok()?;
        Some(u16::from_le_bytes(array))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.pairs.size_hint()
    }
}

/// The peripheral ids of a list, in order.
pub type PeripheralIds<'a> = core::iter::Copied<core::slice::Iter<'a, u8>>;

/// The component ids of `AllowedApplicationConnections`, in order.
#[derive(Clone, Debug)]
pub struct ComponentIds<'a> {
    ids: core::slice::ChunksExact<'a, u8>,
}

impl Iterator for ComponentIds<'_> {
    type Item = ComponentId;

    fn next(&mut self) -> Option<ComponentId> {
        let id = self.ids.next()?;
        let array: [u8; 16] = id.try_into().ok()?;
        Some(ComponentId(array))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ids.size_hint()
    }
}

/// Length-prefixed byte strings, as many as the count says; stops early
/// (never panics) if the bytes run out.
#[derive(Clone, Debug)]
struct RawHostNames<'a> {
    bytes: &'a [u8],
    remaining: usize,
}

impl<'a> Iterator for RawHostNames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.remaining == 0 {
            return None;
        }
        let (&length, rest) = self.bytes.split_first()?;
        let length = usize::from(length);
        if length > rest.len() {
            self.remaining = 0;
            return None;
        }
        let (name, rest) = rest.split_at(length);
        self.bytes = rest;
        self.remaining -= 1;
        Some(name)
    }
}

/// The host names of `AllowedConnections`, in order.
#[derive(Clone, Debug)]
pub struct HostNames<'a> {
    raw: RawHostNames<'a>,
}

impl<'a> Iterator for HostNames<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        // `Manifest::decode` checked that every entry is UTF-8.
        let raw = self.raw.next()?;
        core::str::from_utf8(raw).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "274f308f-ef6d-4686-ba77-a56c3a9d93f3";

    fn sample() -> ManifestContent<'static> {
        ManifestContent {
            name: "ADC_HighLevelApp",
            component_id: ComponentId::parse(ID).unwrap(),
            application_type: ApplicationType::Default,
            flags: CapabilityFlags::NETWORK_CONFIG | CapabilityFlags::DEVICE_AUTHENTICATION,
            power_controls: PowerControls::FORCE_REBOOT,
            mutable_storage_kib: 8,
            device_authentication_tenant: ComponentId::NIL,
            gpios: &[8, 12, 13],
            uarts: &[0],
            i2c_masters: &[],
            spi_masters: &[1],
            adcs: &[0],
            pwms: &[2],
            tcp_server_ports: &[11000],
            udp_server_ports: &[],
            allowed_connections: &["example.com", "global.azure-devices-provisioning.net"],
            application_connections: &[ComponentId([1; 16])],
        }
    }

    #[test]
    fn component_ids_parse_in_either_case_and_print_lower_case() {
        let id = ComponentId::parse("CD359CC1-4AAC-414E-8D26-8ACB71DDBA6D").unwrap();
        assert_eq!(id.0[0], 0xcd);
        assert_eq!(id.0[15], 0x6d);
        let mut text = [0u8; 36];
        let mut cursor = Cursor { out: &mut text, used: 0 };
        core::fmt::write(&mut cursor, format_args!("{id}")).unwrap();
        assert_eq!(&text, b"cd359cc1-4aac-414e-8d26-8acb71ddba6d");
        assert!(ComponentId::parse("cd359cc1-4aac-414e-8d26-8acb71ddba6").is_none());
        assert!(ComponentId::parse("cd359cc1_4aac-414e-8d26-8acb71ddba6d").is_none());
        assert!(ComponentId::parse("gd359cc1-4aac-414e-8d26-8acb71ddba6d").is_none());
        assert!(ComponentId::parse("{d359cc1-4aac-414e-8d26-8acb71ddba6d}").is_none());
        assert!(ComponentId::parse("00000000-0000-0000-0000-000000000000").unwrap().is_nil());
    }

    struct Cursor<'a> {
        out: &'a mut [u8],
        used: usize,
    }

    impl core::fmt::Write for Cursor<'_> {
        fn write_str(&mut self, text: &str) -> core::fmt::Result {
            let end = self.used + text.len();
            self.out.get_mut(self.used..end).ok_or(core::fmt::Error)?.copy_from_slice(text.as_bytes());
            self.used = end;
            Ok(())
        }
    }

    #[test]
    fn round_trip() {
        let content = sample();
        let mut buffer = [0u8; MAX_ENCODED_LEN];
        let length = encode(&content, &mut buffer).unwrap();
        assert_eq!(length, content.encoded_len().unwrap());
        let manifest = Manifest::decode(&buffer[..length]).unwrap();
        assert_eq!(manifest.name(), "ADC_HighLevelApp");
        assert_eq!(manifest.component_id(), content.component_id);
        assert!(manifest.gpios().eq([8, 12, 13]));
        assert!(manifest.uarts().eq([0]));
        assert!(manifest.spi_masters().eq([1]));
        assert!(manifest.tcp_server_ports().eq([11000]));
        assert!(manifest.allowed_connections().eq(["example.com", "global.azure-devices-provisioning.net"]));
        assert!(manifest.application_connections().eq([ComponentId([1; 16])]));
        assert_eq!(manifest.device_authentication(), Some(ComponentId::NIL));
        assert!(manifest.allows_gpio(12) && !manifest.allows_gpio(9));
        assert!(manifest.allows_connection("Example.COM") && !manifest.allows_connection("example.org"));
    }

    #[test]
    fn encoder_refuses_bad_content_and_short_buffers() {
        let mut buffer = [0u8; MAX_ENCODED_LEN];
        let unsorted = ManifestContent { gpios: &[12, 8], ..sample() };
        assert_eq!(
            encode(&unsorted, &mut buffer),
            Err(EncodeError::Invalid(ContentError::NotAscending { list: List::Gpio, index: 1 }))
        );
        let duplicate = ManifestContent { uarts: &[1, 1], ..sample() };
        assert!(matches!(encode(&duplicate, &mut buffer), Err(EncodeError::Invalid(_))));
        let upper = ManifestContent { allowed_connections: &["Example.com"], ..sample() };
        assert_eq!(encode(&upper, &mut buffer), Err(EncodeError::Invalid(ContentError::BadHostName(0))));
        let port_zero = ManifestContent { udp_server_ports: &[0], ..sample() };
        assert!(matches!(encode(&port_zero, &mut buffer), Err(EncodeError::Invalid(ContentError::PortZero { .. }))));
        let unnamed = ManifestContent { name: "", ..sample() };
        assert_eq!(encode(&unnamed, &mut buffer), Err(EncodeError::Invalid(ContentError::BadName)));
        let needed = sample().encoded_len().unwrap();
        assert_eq!(encode(&sample(), &mut buffer[..needed - 1]), Err(EncodeError::BufferTooSmall { needed }));
    }

    #[test]
    fn host_names() {
        for good in ["example.com", "_sample-service._tcp.local", "10.0.2.2", "a", "x-1.y_2"] {
            assert!(is_valid_host_name(good), "{good}");
        }
        for bad in ["", "Example.com", "*.example.com", "example.com.", "a..b", "-a.com", "a-.com", "a b", "a:80"] {
            assert!(!is_valid_host_name(bad), "{bad}");
        }
    }
}
