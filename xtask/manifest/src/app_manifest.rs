//! Parsing and checking `app_manifest.json` as Azure Sphere defines it, before any board or `$NAME` is involved.
//!
//! This step checks the form of every field (types, GUIDs, host names,
//! ports, sizes, duplicates); [`crate::grants`] then resolves peripherals
//! against a hardware definition and a board.

use std::collections::HashMap;

use tessera_abi::manifest::{
    is_valid_host_name, ApplicationType, CapabilityFlags, ComponentId, List, PowerControls, MAX_HOST_NAME_BYTES,
    MAX_MUTABLE_STORAGE_KIB, MAX_NAME_BYTES,
};

use crate::board::ControllerKind;
use crate::hardware::shorten;
use crate::json::{
    self, check_no_control_characters, expect_array, expect_bool, expect_integer, expect_object, expect_string,
    item_path, member_path, Json,
};
use crate::Error;

/// The top-level fields we accept.
pub const TOP_LEVEL_FIELDS: [&str; 10] = [
    "SchemaVersion",
    "Name",
    "ComponentId",
    "EntryPoint",
    "CmdArgs",
    "Capabilities",
    "ApplicationType",
    "MallocVersion",
    "TargetBetaApis",
    "TargetApplicationRuntimeVersion",
];

/// The identity fields a complete manifest must have (a manifest with none
/// of them is a capabilities fragment, as Azure Sphere's code snippets ship).
pub const IDENTITY_FIELDS: [&str; 4] = ["SchemaVersion", "Name", "ComponentId", "EntryPoint"];

/// The yes-or-no capabilities and their flags.
pub const FLAG_CAPABILITIES: [(&str, CapabilityFlags); 13] = [
    ("NetworkConfig", CapabilityFlags::NETWORK_CONFIG),
    ("WifiConfig", CapabilityFlags::WIFI_CONFIG),
    ("EnterpriseWifiConfig", CapabilityFlags::ENTERPRISE_WIFI_CONFIG),
    ("SystemTime", CapabilityFlags::SYSTEM_TIME),
    ("TimeSyncConfig", CapabilityFlags::TIME_SYNC_CONFIG),
    ("SoftwareUpdateDeferral", CapabilityFlags::SOFTWARE_UPDATE_DEFERRAL),
    ("SystemEventNotifications", CapabilityFlags::SYSTEM_EVENT_NOTIFICATIONS),
    ("CertStore", CapabilityFlags::CERT_STORE),
    ("ReadNetworkProxyConfig", CapabilityFlags::READ_NETWORK_PROXY_CONFIG),
    ("SntpService", CapabilityFlags::SNTP_SERVICE),
    ("DhcpService", CapabilityFlags::DHCP_SERVICE),
    ("HardwareAddressConfig", CapabilityFlags::HARDWARE_ADDRESS_CONFIG),
    ("HeapMemStats", CapabilityFlags::HEAP_MEM_STATS),
];

/// The `PowerControls` values.
pub const POWER_CONTROLS: [(&str, PowerControls); 3] = [
    ("ForcePowerDown", PowerControls::FORCE_POWER_DOWN),
    ("ForceReboot", PowerControls::FORCE_REBOOT),
    ("SetPowerProfile", PowerControls::SET_POWER_PROFILE),
];

/// Capabilities Azure Sphere documents for real-time apps only that
/// Tessera does not support yet: recognised, and refused with that reason.
pub const UNSUPPORTED_CAPABILITIES: [&str; 2] = ["ExternalInterrupt", "I2sSubordinate"];

/// Every capability name we recognise.
pub fn known_capabilities() -> Vec<&'static str> {
    let mut known = vec![
        "Gpio",
        "Uart",
        "I2cMaster",
        "SpiMaster",
        "Adc",
        "Pwm",
        "AllowedConnections",
        "AllowedTcpServerPorts",
        "AllowedUdpServerPorts",
        "AllowedApplicationConnections",
        "DeviceAuthentication",
        "MutableStorage",
        "PowerControls",
    ];
    known.extend(FLAG_CAPABILITIES.iter().map(|(name, _)| *name));
    known.extend(UNSUPPORTED_CAPABILITIES);
    known
}

/// Most `CmdArgs`, and the longest argument and entry point.
pub const MAX_COMMAND_ARGUMENTS: usize = 64;
/// Longest single `CmdArgs` entry or `EntryPoint`, in bytes.
pub const MAX_ARGUMENT_BYTES: usize = 1024;
/// Longest `TargetBetaApis`.
pub const MAX_BETA_APIS_BYTES: usize = 64;
/// Most entries in a peripheral list before resolution (duplicates are
/// refused, so this only bounds work on hostile input).
pub const MAX_LIST_ENTRIES: usize = 256;

/// How a manifest names one peripheral.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeripheralReference {
    /// `"$NAME"`, resolved through the hardware definition.
    Name(String),
    /// A GPIO number given directly.
    Number(u64),
    /// A controller value given directly (`"ISU0"`).
    Text(String),
}

impl std::fmt::Display for PeripheralReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeripheralReference::Name(name) => write!(f, "${name}"),
            PeripheralReference::Number(number) => write!(f, "{number}"),
            PeripheralReference::Text(text) => write!(f, "\"{text}\""),
        }
    }
}

/// A value with the JSON path it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    /// The field path, such as `Capabilities.Gpio[1]`.
    pub field: String,
    /// The value.
    pub value: T,
}

/// One `AllowedConnections` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// A host name or IPv4 address, lower-cased.
    Host(String),
    /// A template placeholder such as `<IPERF SERVER IP ADDRESS>`: the
    /// sample's author means it to be replaced. It is not a host name, so
    /// it grants nothing.
    Placeholder(String),
}

/// `DeviceAuthentication`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceAuthentication {
    /// `true`: authenticate in the device's own tenant.
    Enabled,
    /// A tenant GUID (the nil GUID, as the samples use, also means the
    /// device's own tenant).
    Tenant(ComponentId),
}

/// The identity fields of a complete manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// `SchemaVersion` (always 1).
    pub schema_version: u64,
    /// `Name`.
    pub name: String,
    /// `ComponentId`.
    pub component_id: ComponentId,
    /// `EntryPoint`.
    pub entry_point: String,
}

/// The `Capabilities` section, checked for form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `Gpio`.
    pub gpio: Vec<Located<PeripheralReference>>,
    /// `Uart`, `I2cMaster`, `SpiMaster`, `Adc`, `Pwm`, by kind.
    pub controllers: Vec<(ControllerKind, Located<PeripheralReference>)>,
    /// `AllowedConnections`.
    pub allowed_connections: Vec<Located<Connection>>,
    /// `AllowedTcpServerPorts`.
    pub tcp_server_ports: Vec<Located<u16>>,
    /// `AllowedUdpServerPorts`.
    pub udp_server_ports: Vec<Located<u16>>,
    /// `AllowedApplicationConnections`.
    pub application_connections: Vec<Located<ComponentId>>,
    /// `DeviceAuthentication`, unless absent or `false`.
    pub device_authentication: Option<Located<DeviceAuthentication>>,
    /// `MutableStorage.SizeKB`.
    pub mutable_storage_kib: Option<Located<u32>>,
    /// The yes-or-no capabilities set to `true`, with the field of each.
    pub flags: Vec<Located<CapabilityFlags>>,
    /// `PowerControls`.
    pub power_controls: Option<Located<PowerControls>>,
}

impl Capabilities {
    /// The union of the yes-or-no capabilities.
    pub fn flag_bits(&self) -> CapabilityFlags {
        self.flags.iter().fold(CapabilityFlags::empty(), |all, flag| all | flag.value)
    }
}

/// An app manifest, checked for form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppManifest {
    /// `None` for a capabilities fragment (no identity fields at all).
    pub identity: Option<Identity>,
    /// `ApplicationType` (default `Default`).
    pub application_type: ApplicationType,
    /// `CmdArgs`.
    pub command_arguments: Vec<String>,
    /// `MallocVersion` (1 or 2), if given.
    pub malloc_version: Option<u64>,
    /// `TargetBetaApis`, if given.
    pub target_beta_apis: Option<String>,
    /// `TargetApplicationRuntimeVersion`, if given.
    pub target_application_runtime_version: Option<u64>,
    /// `Capabilities`.
    pub capabilities: Capabilities,
}

fn member<'a>(members: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    members.iter().find(|(name, _)| name == key).map(|(_, value)| value)
}

fn bounded_string<'a>(value: &'a Json, field: &str, max: usize) -> Result<&'a str, Error> {
    let text = expect_string(value, field)?;
    if text.len() > max {
        return Err(Error::new(field, format!("is {} bytes, more than {max}", text.len())));
    }
    check_no_control_characters(text, field)?;
    Ok(text)
}

fn component_id(value: &Json, field: &str) -> Result<ComponentId, Error> {
    let text = expect_string(value, field)?;
    ComponentId::parse(text).ok_or_else(|| {
        Error::new(field, format!("`{}` is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", shorten(text)))
    })
}

impl AppManifest {
    /// Parses `bytes` as an app manifest; `document` names it in errors
    /// about the document as a whole (its file name).
    pub fn parse(bytes: &[u8], document: &str) -> Result<AppManifest, Error> {
        let json = json::parse(bytes, document)?;
        AppManifest::from_json(&json, document)
    }

    /// Checks a parsed JSON document.
    pub fn from_json(json: &Json, document: &str) -> Result<AppManifest, Error> {
        let top = expect_object(json, document)?;
        if let Some((key, _)) = top.iter().find(|(key, _)| !TOP_LEVEL_FIELDS.contains(&key.as_str())) {
            return Err(json::unknown_key("", key, "field", &TOP_LEVEL_FIELDS));
        }
        let identity = parse_identity(top)?;

        let application_type = match member(top, "ApplicationType") {
            None => ApplicationType::Default,
            Some(value) => {
                let text = expect_string(value, "ApplicationType")?;
                match text {
                    "Default" => ApplicationType::Default,
                    "RealTimeCapable" => ApplicationType::RealTimeCapable,
                    "Debugger" => {
                        return Err(Error::new(
                            "ApplicationType",
                            "`Debugger` (a replacement for gdbserver) is not supported by Tessera",
                        ))
                    }
                    other => {
                        return Err(Error::new(
                            "ApplicationType",
                            format!(
                                "unknown application type `{}` (expected Default or RealTimeCapable)",
                                shorten(other)
                            ),
                        ))
                    }
                }
            }
        };

        let mut command_arguments = Vec::new();
        if let Some(arguments) = member(top, "CmdArgs") {
            let arguments = expect_array(arguments, "CmdArgs")?;
            if arguments.len() > MAX_COMMAND_ARGUMENTS {
                return Err(Error::new(
                    "CmdArgs",
                    format!("{} arguments, more than {MAX_COMMAND_ARGUMENTS}", arguments.len()),
                ));
            }
            for (index, argument) in arguments.iter().enumerate() {
                let field = item_path("CmdArgs", index);
                command_arguments.push(bounded_string(argument, &field, MAX_ARGUMENT_BYTES)?.to_string());
            }
        }

        let malloc_version = match member(top, "MallocVersion") {
            None => None,
            Some(value) => match expect_integer(value, "MallocVersion")? {
                version @ (1 | 2) => Some(version),
                other => return Err(Error::new("MallocVersion", format!("{other} is not 1 or 2"))),
            },
        };
        let target_beta_apis = match member(top, "TargetBetaApis") {
            None => None,
            Some(value) => {
                let text = bounded_string(value, "TargetBetaApis", MAX_BETA_APIS_BYTES)?;
                if text.is_empty() {
                    return Err(Error::new("TargetBetaApis", "is empty"));
                }
                Some(text.to_string())
            }
        };
        let target_application_runtime_version = match member(top, "TargetApplicationRuntimeVersion") {
            None => None,
            Some(value) => {
                let version = expect_integer(value, "TargetApplicationRuntimeVersion")?;
                if version == 0 || version > 1000 {
                    return Err(Error::new("TargetApplicationRuntimeVersion", format!("{version} is not a version")));
                }
                Some(version)
            }
        };

        let capabilities = match member(top, "Capabilities") {
            Some(value) => parse_capabilities(value, identity.as_ref())?,
            None if identity.is_some() => {
                return Err(Error::new("Capabilities", "missing (use {} for an app that needs none)"))
            }
            None => Capabilities::default(),
        };

        Ok(AppManifest {
            identity,
            application_type,
            command_arguments,
            malloc_version,
            target_beta_apis,
            target_application_runtime_version,
            capabilities,
        })
    }
}

fn parse_identity(top: &[(String, Json)]) -> Result<Option<Identity>, Error> {
    let present: Vec<&str> = IDENTITY_FIELDS.iter().copied().filter(|field| member(top, field).is_some()).collect();
    if present.is_empty() {
        return Ok(None);
    }
    if let Some(missing) = IDENTITY_FIELDS.iter().find(|field| !present.contains(field)) {
        return Err(Error::new(
            missing,
            format!("missing (a manifest with {} must also have {})", present.join(", "), IDENTITY_FIELDS.join(", ")),
        ));
    }
    let field = |name: &str| member(top, name).unwrap_or(&Json::Null);

    let schema_version = expect_integer(field("SchemaVersion"), "SchemaVersion")?;
    if schema_version != 1 {
        return Err(Error::new("SchemaVersion", format!("version {schema_version} is not supported (only 1)")));
    }
    let name = bounded_string(field("Name"), "Name", MAX_NAME_BYTES)?;
    if name.is_empty() {
        return Err(Error::new("Name", "is empty"));
    }
    let component_id = component_id(field("ComponentId"), "ComponentId")?;
    if component_id.is_nil() {
        return Err(Error::new("ComponentId", "the nil GUID cannot name a component; generate a GUID"));
    }
    let entry_point = bounded_string(field("EntryPoint"), "EntryPoint", MAX_ARGUMENT_BYTES)?;
    if entry_point.is_empty() {
        return Err(Error::new("EntryPoint", "is empty"));
    }
    Ok(Some(Identity { schema_version, name: name.to_string(), component_id, entry_point: entry_point.to_string() }))
}

fn controller_kind(capability: &str) -> Option<ControllerKind> {
    ControllerKind::ALL.into_iter().find(|kind| kind.capability() == capability)
}

fn parse_capabilities(value: &Json, identity: Option<&Identity>) -> Result<Capabilities, Error> {
    let members = expect_object(value, "Capabilities")?;
    let known = known_capabilities();
    let mut capabilities = Capabilities::default();
    for (key, value) in members {
        let field = member_path("Capabilities", key);
        let key = key.as_str();
        if let Some(kind) = controller_kind(key) {
            for (index, item) in peripheral_list(value, &field)?.iter().enumerate() {
                let item_field = item_path(&field, index);
                let reference = peripheral_reference(item, &item_field, false)?;
                capabilities.controllers.push((kind, Located { field: item_field, value: reference }));
            }
        } else if let Some((_, flag)) = FLAG_CAPABILITIES.iter().find(|(name, _)| *name == key) {
            if expect_bool(value, &field)? {
                capabilities.flags.push(Located { field, value: *flag });
            }
        } else if UNSUPPORTED_CAPABILITIES.contains(&key) {
            return Err(Error::new(
                &field,
                "is an Azure Sphere capability for real-time apps that Tessera does not support yet",
            ));
        } else {
            match key {
                "Gpio" => {
                    for (index, item) in peripheral_list(value, &field)?.iter().enumerate() {
                        let item_field = item_path(&field, index);
                        let reference = peripheral_reference(item, &item_field, true)?;
                        capabilities.gpio.push(Located { field: item_field, value: reference });
                    }
                }
                "AllowedConnections" => capabilities.allowed_connections = allowed_connections(value, &field)?,
                "AllowedTcpServerPorts" => capabilities.tcp_server_ports = ports(value, &field, List::TcpServerPorts)?,
                "AllowedUdpServerPorts" => capabilities.udp_server_ports = ports(value, &field, List::UdpServerPorts)?,
                "AllowedApplicationConnections" => {
                    capabilities.application_connections = application_connections(value, &field, identity)?
                }
                "DeviceAuthentication" => {
                    capabilities.device_authentication = match value {
                        Json::Bool(false) => None,
                        Json::Bool(true) => Some(Located { field, value: DeviceAuthentication::Enabled }),
                        Json::String(_) => {
                            let tenant = component_id(value, &field)?;
                            Some(Located { field, value: DeviceAuthentication::Tenant(tenant) })
                        }
                        other => {
                            return Err(Error::new(
                                &field,
                                format!("expected a tenant GUID or true/false, found {}", other.kind()),
                            ))
                        }
                    }
                }
                "MutableStorage" => capabilities.mutable_storage_kib = Some(mutable_storage(value, &field)?),
                "PowerControls" => capabilities.power_controls = Some(power_controls(value, &field)?),
                _ => return Err(json::unknown_key("Capabilities", key, "capability", &known)),
            }
        }
    }
    Ok(capabilities)
}

fn peripheral_list<'a>(value: &'a Json, field: &str) -> Result<&'a [Json], Error> {
    let items = expect_array(value, field)?;
    if items.len() > MAX_LIST_ENTRIES {
        return Err(Error::new(field, format!("{} entries, more than {MAX_LIST_ENTRIES}", items.len())));
    }
    Ok(items)
}

fn peripheral_reference(item: &Json, field: &str, gpio: bool) -> Result<PeripheralReference, Error> {
    match item {
        Json::String(text) if text.starts_with('$') => {
            let name = text.strip_prefix('$').unwrap_or(text);
            if !crate::hardware::is_valid_peripheral_name(name) {
                return Err(Error::new(field, format!("`{}` is not a valid $NAME", shorten(text))));
            }
            Ok(PeripheralReference::Name(name.to_string()))
        }
        Json::String(text) if gpio => Err(Error::new(
            field,
            format!("`{}` is neither a GPIO number nor a $NAME from the hardware definition", shorten(text)),
        )),
        Json::String(text) => {
            if text.is_empty() || text.len() > 64 {
                return Err(Error::new(field, "expected a controller such as \"ISU0\" or a $NAME"));
            }
            check_no_control_characters(text, field)?;
            Ok(PeripheralReference::Text(text.clone()))
        }
        Json::Number(_) if gpio => Ok(PeripheralReference::Number(expect_integer(item, field)?)),
        other => Err(Error::new(
            field,
            if gpio {
                format!("expected a GPIO number or a $NAME, found {}", other.kind())
            } else {
                format!("expected a controller such as \"ISU0\" or a $NAME, found {}", other.kind())
            },
        )),
    }
}

fn allowed_connections(value: &Json, field: &str) -> Result<Vec<Located<Connection>>, Error> {
    let items = expect_array(value, field)?;
    let limit = List::AllowedConnections.max_entries();
    if items.len() > limit {
        return Err(Error::new(field, format!("{} host names, more than {limit}", items.len())));
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut connections = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_field = item_path(field, index);
        let text = bounded_string(item, &item_field, MAX_HOST_NAME_BYTES)?;
        let connection = if text.len() > 2 && text.starts_with('<') && text.ends_with('>') {
            Connection::Placeholder(text.to_string())
        } else {
            let host = text.to_ascii_lowercase();
            if !is_valid_host_name(&host) {
                return Err(Error::new(
                    &item_field,
                    format!(
                        "`{}` is not a host name or IPv4 address (letters, digits, `-` and `_` between dots; \
                         no wildcards, ports or URLs)",
                        shorten(text)
                    ),
                ));
            }
            if let Some(first) = seen.insert(host.clone(), item_field.clone()) {
                return Err(Error::new(&item_field, format!("`{text}` is already listed at {first}")));
            }
            Connection::Host(host)
        };
        connections.push(Located { field: item_field, value: connection });
    }
    Ok(connections)
}

fn ports(value: &Json, field: &str, list: List) -> Result<Vec<Located<u16>>, Error> {
    let items = expect_array(value, field)?;
    if items.len() > list.max_entries() {
        return Err(Error::new(field, format!("{} ports, more than {}", items.len(), list.max_entries())));
    }
    let mut seen: HashMap<u16, String> = HashMap::new();
    let mut ports = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_field = item_path(field, index);
        let number = expect_integer(item, &item_field)?;
        let port = u16::try_from(number)
            .ok()
            .filter(|&port| port != 0)
            .ok_or_else(|| Error::new(&item_field, format!("{number} is not a port (1 to 65535)")))?;
        if let Some(first) = seen.insert(port, item_field.clone()) {
            return Err(Error::new(&item_field, format!("port {port} is already listed at {first}")));
        }
        ports.push(Located { field: item_field, value: port });
    }
    Ok(ports)
}

fn application_connections(
    value: &Json,
    field: &str,
    identity: Option<&Identity>,
) -> Result<Vec<Located<ComponentId>>, Error> {
    let items = expect_array(value, field)?;
    let limit = List::AllowedApplicationConnections.max_entries();
    if items.len() > limit {
        return Err(Error::new(field, format!("{} components, more than {limit}", items.len())));
    }
    let mut seen: HashMap<ComponentId, String> = HashMap::new();
    let mut ids = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let item_field = item_path(field, index);
        let id = component_id(item, &item_field)?;
        if id.is_nil() {
            return Err(Error::new(&item_field, "the nil GUID names no component"));
        }
        if identity.is_some_and(|identity| identity.component_id == id) {
            return Err(Error::new(&item_field, "is the app's own ComponentId"));
        }
        if let Some(first) = seen.insert(id, item_field.clone()) {
            return Err(Error::new(&item_field, format!("{id} is already listed at {first}")));
        }
        ids.push(Located { field: item_field, value: id });
    }
    Ok(ids)
}

fn mutable_storage(value: &Json, field: &str) -> Result<Located<u32>, Error> {
    let members = expect_object(value, field)?;
    if let Some((key, _)) = members.iter().find(|(key, _)| key != "SizeKB") {
        return Err(json::unknown_key(field, key, "field", &["SizeKB"]));
    }
    let size_field = member_path(field, "SizeKB");
    let size = member(members, "SizeKB").ok_or_else(|| Error::new(&size_field, "missing"))?;
    let size = expect_integer(size, &size_field)?;
    if size == 0 {
        return Err(Error::new(&size_field, "must be at least 1 (leave MutableStorage out for none)"));
    }
    if size > u64::from(MAX_MUTABLE_STORAGE_KIB) {
        return Err(Error::new(&size_field, format!("{size} KiB is absurd (at most {MAX_MUTABLE_STORAGE_KIB})")));
    }
    let size = u32::try_from(size).map_err(|_| Error::new(&size_field, "too large"))?;
    Ok(Located { field: size_field, value: size })
}

fn power_controls(value: &Json, field: &str) -> Result<Located<PowerControls>, Error> {
    let items = expect_array(value, field)?;
    if items.is_empty() {
        return Err(Error::new(field, "is empty (leave PowerControls out for none)"));
    }
    let mut controls = PowerControls::empty();
    for (index, item) in items.iter().enumerate() {
        let item_field = item_path(field, index);
        let text = expect_string(item, &item_field)?;
        let control =
            POWER_CONTROLS.iter().find(|(name, _)| *name == text).map(|(_, control)| *control).ok_or_else(|| {
                Error::new(
                    &item_field,
                    format!(
                        "unknown power control `{}` (known: ForcePowerDown, ForceReboot, SetPowerProfile)",
                        shorten(text)
                    ),
                )
            })?;
        if controls.contains(control) {
            return Err(Error::new(&item_field, format!("`{text}` is listed twice")));
        }
        controls |= control;
    }
    Ok(Located { field: field.to_string(), value: controls })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AppManifest, Error> {
        AppManifest::parse(text.as_bytes(), "app_manifest.json")
    }

    fn error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const HEAD: &str = r#""SchemaVersion": 1, "Name": "App", "ComponentId": "274f308f-ef6d-4686-ba77-a56c3a9d93f3",
                          "EntryPoint": "/bin/app""#;

    fn with_capabilities(capabilities: &str) -> String {
        format!(r#"{{ {HEAD}, "Capabilities": {{ {capabilities} }} }}"#)
    }

    #[test]
    fn complete_manifest() {
        let manifest = parse(&format!(
            r#"{{ {HEAD}, "CmdArgs": ["-v"], "ApplicationType": "RealTimeCapable", "MallocVersion": 2,
                 "TargetBetaApis": "Beta2004",
                 "Capabilities": {{ "Gpio": [8, "$SAMPLE_LED"], "Uart": ["ISU0"], "WifiConfig": false,
                   "NetworkConfig": true, "AllowedConnections": ["Example.COM", "<PLACEHOLDER>"],
                   "AllowedTcpServerPorts": [11000], "MutableStorage": {{"SizeKB": 8}},
                   "DeviceAuthentication": "00000000-0000-0000-0000-000000000000",
                   "PowerControls": ["ForceReboot"] }} }}"#
        ))
        .unwrap();
        let identity = manifest.identity.as_ref().unwrap();
        assert_eq!(identity.name, "App");
        assert_eq!(manifest.application_type, ApplicationType::RealTimeCapable);
        let capabilities = &manifest.capabilities;
        assert_eq!(capabilities.gpio[1].value, PeripheralReference::Name("SAMPLE_LED".into()));
        assert_eq!(capabilities.gpio[1].field, "Capabilities.Gpio[1]");
        assert_eq!(capabilities.controllers[0].0, ControllerKind::Uart);
        assert_eq!(capabilities.flag_bits(), CapabilityFlags::NETWORK_CONFIG);
        assert_eq!(capabilities.allowed_connections[0].value, Connection::Host("example.com".into()));
        assert_eq!(capabilities.allowed_connections[1].value, Connection::Placeholder("<PLACEHOLDER>".into()));
        assert_eq!(capabilities.mutable_storage_kib.as_ref().unwrap().value, 8);
        assert_eq!(capabilities.power_controls.as_ref().unwrap().value, PowerControls::FORCE_REBOOT);
    }

    #[test]
    fn fragments_need_no_identity_but_partial_identity_is_an_error() {
        let fragment = parse(r#"{"Capabilities": {"NetworkConfig": true}}"#).unwrap();
        assert!(fragment.identity.is_none());
        assert_eq!(
            error(r#"{"Name": "x", "Capabilities": {}}"#),
            "SchemaVersion: missing (a manifest with Name must also have SchemaVersion, Name, ComponentId, EntryPoint)"
        );
        assert_eq!(error(&format!("{{ {HEAD} }}")), "Capabilities: missing (use {} for an app that needs none)");
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (r#""Gpio": [8, "LED"]"#, "Capabilities.Gpio[1]: `LED` is neither a GPIO number nor a $NAME"),
            (r#""Gpio": [8, -1]"#, "Capabilities.Gpio[1]: -1 is negative"),
            (r#""Gpio": [8.5]"#, "Capabilities.Gpio[0]: 8.5 is not a whole number"),
            (r#""Gpio": "8""#, "Capabilities.Gpio: expected an array, found a string"),
            (
                r#""Uart": [4]"#,
                "Capabilities.Uart[0]: expected a controller such as \"ISU0\" or a $NAME, found a number",
            ),
            (r#""Gpio": ["$BAD NAME"]"#, "Capabilities.Gpio[0]: `$BAD NAME` is not a valid $NAME"),
            (r#""WifiConfig": "yes""#, "Capabilities.WifiConfig: expected true or false, found a string"),
            (r#""Teleport": true"#, "Capabilities.Teleport: unknown capability `Teleport`"),
            (r#""gpio": [1]"#, "Capabilities.gpio: unknown capability `gpio` (did you mean `Gpio`?)"),
            (
                r#""AllowedConnections": ["*.example.com"]"#,
                "Capabilities.AllowedConnections[0]: `*.example.com` is not a host name",
            ),
            (
                r#""AllowedConnections": ["a.com", "A.com"]"#,
                "Capabilities.AllowedConnections[1]: `A.com` is already listed at Capabilities.AllowedConnections[0]",
            ),
            (r#""AllowedTcpServerPorts": [0]"#, "Capabilities.AllowedTcpServerPorts[0]: 0 is not a port"),
            (r#""AllowedUdpServerPorts": [70000]"#, "Capabilities.AllowedUdpServerPorts[0]: 70000 is not a port"),
            (
                r#""AllowedTcpServerPorts": [80, 80]"#,
                "Capabilities.AllowedTcpServerPorts[1]: port 80 is already listed",
            ),
            (
                r#""AllowedApplicationConnections": ["nope"]"#,
                "Capabilities.AllowedApplicationConnections[0]: `nope` is not a GUID",
            ),
            (
                r#""AllowedApplicationConnections": ["274F308F-EF6D-4686-BA77-A56C3A9D93F3"]"#,
                "is the app's own ComponentId",
            ),
            (r#""DeviceAuthentication": 5"#, "Capabilities.DeviceAuthentication: expected a tenant GUID or true/false"),
            (r#""MutableStorage": {"SizeKB": 0}"#, "Capabilities.MutableStorage.SizeKB: must be at least 1"),
            (
                r#""MutableStorage": {"SizeKB": 99999999999}"#,
                "Capabilities.MutableStorage.SizeKB: 99999999999 KiB is absurd",
            ),
            (r#""MutableStorage": {}"#, "Capabilities.MutableStorage.SizeKB: missing"),
            (r#""MutableStorage": {"SizeMB": 1}"#, "Capabilities.MutableStorage.SizeMB: unknown field"),
            (r#""PowerControls": []"#, "Capabilities.PowerControls: is empty"),
            (
                r#""PowerControls": ["ForceReboot", "ForceReboot"]"#,
                "Capabilities.PowerControls[1]: `ForceReboot` is listed twice",
            ),
            (r#""PowerControls": ["Explode"]"#, "Capabilities.PowerControls[0]: unknown power control `Explode`"),
            (
                r#""ExternalInterrupt": ["EINT4"]"#,
                "Capabilities.ExternalInterrupt: is an Azure Sphere capability for real-time apps",
            ),
        ];
        for (capabilities, expected) in cases {
            let message = error(&with_capabilities(capabilities));
            assert!(message.starts_with(expected) || message.contains(expected), "{capabilities}: {message}");
        }
    }

    #[test]
    fn top_level_fields_are_checked() {
        let cases = [
            (
                r#"{"SchemaVersion": 2, "Name": "a", "ComponentId": "274f308f-ef6d-4686-ba77-a56c3a9d93f3", "EntryPoint": "/bin/app", "Capabilities": {}}"#,
                "SchemaVersion: version 2 is not supported",
            ),
            (
                r#"{"SchemaVersion": 1, "Name": "", "ComponentId": "274f308f-ef6d-4686-ba77-a56c3a9d93f3", "EntryPoint": "/bin/app", "Capabilities": {}}"#,
                "Name: is empty",
            ),
            (
                r#"{"SchemaVersion": 1, "Name": "a", "ComponentId": "00000000-0000-0000-0000-000000000000", "EntryPoint": "/bin/app", "Capabilities": {}}"#,
                "ComponentId: the nil GUID",
            ),
            (r#"{"Capabilites": {}}"#, "Capabilites: unknown field `Capabilites` (did you mean `Capabilities`?)"),
            (r#"{"ApplicationType": "Debugger"}"#, "ApplicationType: `Debugger`"),
            (r#"{"ApplicationType": "Fast"}"#, "ApplicationType: unknown application type `Fast`"),
            (r#"{"MallocVersion": 3}"#, "MallocVersion: 3 is not 1 or 2"),
            (r#"{"CmdArgs": [1]}"#, "CmdArgs[0]: expected a string, found a number"),
            (r#"[]"#, "app_manifest.json: expected an object, found an array"),
            (
                r#"{"Name": "a\nb", "SchemaVersion": 1, "ComponentId": "274f308f-ef6d-4686-ba77-a56c3a9d93f3", "EntryPoint": "x", "Capabilities": {}}"#,
                "Name: contains the control character",
            ),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(message.starts_with(expected), "{text}: {message}");
        }
        let long_name = format!(
            r#"{{"SchemaVersion": 1, "Name": "{}", "ComponentId": "274f308f-ef6d-4686-ba77-a56c3a9d93f3", "EntryPoint": "x", "Capabilities": {{}}}}"#,
            "n".repeat(65)
        );
        assert_eq!(error(&long_name), "Name: is 65 bytes, more than 64");
    }
}
