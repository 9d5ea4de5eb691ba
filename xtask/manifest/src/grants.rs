//! From a checked app manifest to the grants a board gives it: `$NAME` resolution, board checks, pin conflicts, the binary form and a readable listing.
//!
//! On a board `init` runs on (QEMU virt) this module resolves names and
//! checks form and conflicts, then hands the decision to `init`'s own code:
//! [`tessera_init_core::grants::plan`] on the binary form it would pack
//! ([`Grants::boot_plan`]); a refusal becomes an [`Error`] naming the JSON
//! field. On the MT3620, where no `init` runs yet, the board's table
//! ([`crate::board::TableRules`]) decides here.

use std::collections::HashMap;
use std::fmt::Write as _;

use tessera_abi::manifest::{
    self as binary, ApplicationType, CapabilityFlags, ComponentId, Manifest, ManifestContent, PowerControls,
    MAX_ENCODED_LEN,
};

use tessera_init_core::grants::{self as init_grants, BoardOffer, Plan, Refusal};

use crate::app_manifest::{AppManifest, Connection, DeviceAuthentication, Identity, PeripheralReference};
use crate::board::{Board, BoardId, Controller, ControllerKind, Rules};
use crate::hardware::{HardwareDefinition, ManifestValue, PeripheralType};
use crate::Error;

/// Capabilities Azure Sphere gives real-time apps; anything else in a
/// `RealTimeCapable` manifest is refused.
pub const REAL_TIME_CAPABILITIES: [&str; 7] =
    ["Gpio", "Uart", "I2cMaster", "SpiMaster", "Adc", "Pwm", "AllowedApplicationConnections"];

/// A granted GPIO pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpioGrant {
    /// The pin number.
    pub pin: u16,
    /// How the manifest asked for it (`$SAMPLE_LED` or `8`).
    pub requested_as: String,
    /// The manifest field.
    pub field: String,
}

/// A granted peripheral controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerGrant {
    /// The board's controller.
    pub controller: &'static Controller,
    /// How the manifest asked for it.
    pub requested_as: String,
    /// The manifest field.
    pub field: String,
}

/// Everything a manifest is granted on a board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grants {
    /// The board.
    pub board: BoardId,
    /// The manifest's identity (`None` for a capabilities fragment).
    pub identity: Option<Identity>,
    /// `ApplicationType`.
    pub application_type: ApplicationType,
    /// GPIO pins, ascending.
    pub gpios: Vec<GpioGrant>,
    /// Controllers, by kind then id.
    pub controllers: Vec<ControllerGrant>,
    /// Host names, ascending.
    pub allowed_connections: Vec<String>,
    /// TCP listening ports, ascending.
    pub tcp_server_ports: Vec<u16>,
    /// UDP listening ports, ascending.
    pub udp_server_ports: Vec<u16>,
    /// Components the app may connect to, ascending.
    pub application_connections: Vec<ComponentId>,
    /// `Some(tenant)` if device authentication is granted (nil: the device's tenant).
    pub device_authentication: Option<ComponentId>,
    /// Mutable storage quota in KiB.
    pub mutable_storage_kib: Option<u32>,
    /// Yes-or-no capabilities.
    pub flags: CapabilityFlags,
    /// Power controls.
    pub power_controls: PowerControls,
    /// Things worth knowing that are not errors (placeholders ignored, ...).
    pub notes: Vec<String>,
    /// On a board `init` runs on: what `init` grants at boot (the badge of
    /// each server's endpoint), from `tessera_init_core::grants::plan`.
    pub boot_plan: Option<Plan>,
}

fn resolve(
    reference: &PeripheralReference,
    expected: PeripheralType,
    field: &str,
    definition: Option<&HardwareDefinition>,
) -> Result<ManifestValue, Error> {
    match reference {
        PeripheralReference::Number(number) => Ok(ManifestValue::Number(*number)),
        PeripheralReference::Text(text) => Ok(ManifestValue::Text(text.clone())),
        PeripheralReference::Name(name) => {
            let definition = definition.ok_or_else(|| {
                Error::new(field, format!("`${name}` needs a hardware definition (pass --hardware-definition)"))
            })?;
            let resolved = definition.resolve(name).map_err(|reason| {
                if reason.starts_with(&format!("`{name}` is not defined")) {
                    Error::new(field, format!("{reason} (does --hardware-definition name the right file?)"))
                } else {
                    Error::new(field, reason)
                }
            })?;
            if resolved.kind == PeripheralType::Int {
                return Err(Error::new(
                    field,
                    format!("`${name}` is an int constant, not a peripheral: it has no meaning in an app manifest"),
                ));
            }
            if resolved.kind != expected {
                return Err(Error::new(
                    field,
                    format!("`${name}` is a {} peripheral, not a {expected}", resolved.kind),
                ));
            }
            resolved.value.ok_or_else(|| Error::new(field, format!("`${name}` has no app manifest value")))
        }
    }
}

/// Computes the grants of `manifest` on `board`, resolving `$NAME`s
/// through `definition`. Refuses anything the board cannot give, and
/// requests that conflict (one pin or block asked for twice, a GPIO that a
/// requested controller uses).
pub fn compute(
    manifest: &AppManifest,
    board: BoardId,
    definition: Option<&HardwareDefinition>,
) -> Result<Grants, Error> {
    let description: &Board = board.board();
    let capabilities = &manifest.capabilities;
    let mut notes = Vec::new();

    if manifest.application_type == ApplicationType::RealTimeCapable {
        check_real_time(manifest)?;
    }

    // GPIO pins: exist on the board, asked for once.
    let mut gpios: Vec<GpioGrant> = Vec::new();
    let mut pin_fields: HashMap<u16, String> = HashMap::new();
    for request in &capabilities.gpio {
        let value = resolve(&request.value, PeripheralType::Gpio, &request.field, definition)?;
        let ManifestValue::Number(number) = value else {
            return Err(Error::new(&request.field, format!("`{value}` is not a GPIO number")));
        };
        // On a board `init` runs on, `init`'s plan decides which pins exist
        // (below); a number the binary form cannot hold exists nowhere.
        let checked_here = description.offer().is_none() || u16::try_from(number).is_err();
        if checked_here && !description.has_gpio(number) {
            return Err(Error::new(
                &request.field,
                format!(
                    "GPIO {number}{} does not exist on the {} (GPIOs: {})",
                    via(&request.value),
                    description.name,
                    description.gpio_list()
                ),
            ));
        }
        let pin = u16::try_from(number).map_err(|_| Error::new(&request.field, "GPIO number out of range"))?;
        if let Some(first) = pin_fields.insert(pin, request.field.clone()) {
            return Err(Error::new(
                &request.field,
                format!("GPIO {pin}{} is already requested by {first}", via(&request.value)),
            ));
        }
        gpios.push(GpioGrant { pin, requested_as: request.value.to_string(), field: request.field.clone() });
    }

    // Controllers: exist on the board, one role per block, pins not also GPIOs.
    let mut controllers: Vec<ControllerGrant> = Vec::new();
    let mut blocks: HashMap<&'static str, (ControllerKind, String)> = HashMap::new();
    for (kind, request) in &capabilities.controllers {
        let kind = *kind;
        if !description.grants_kind(kind) {
            return Err(Error::new(
                &request.field,
                format!(
                    "the {} board has no {} to grant (it offers {})",
                    description.name,
                    kind.capability(),
                    description.offered()
                ),
            ));
        }
        let value = resolve(&request.value, PeripheralType::Controller(kind), &request.field, definition)?;
        let text = value.to_string();
        let controller = description.controller(kind, &text).ok_or_else(|| {
            let valid: Vec<&str> = description.controllers_of(kind).map(|c| c.manifest_value).collect();
            Error::new(
                &request.field,
                format!(
                    "`{text}`{} is not {} of the {} (valid: {})",
                    via(&request.value),
                    kind.noun(),
                    description.name,
                    valid.join(", ")
                ),
            )
        })?;
        if let Some((used_as, first)) = blocks.get(controller.block) {
            let reason = if *used_as == kind {
                format!("{} is already requested by {first}", controller.manifest_value)
            } else {
                format!("{} is already used as {} by {first}", controller.block, used_as.noun())
            };
            return Err(Error::new(&request.field, reason));
        }
        blocks.insert(controller.block, (kind, request.field.clone()));
        for pin in controller.pins {
            if let Some(gpio_field) = pin_fields.get(pin) {
                return Err(Error::new(
                    gpio_field,
                    format!(
                        "GPIO {pin} is a pin of {}, which {} requests as {}",
                        controller.block,
                        request.field,
                        kind.noun()
                    ),
                ));
            }
        }
        controllers.push(ControllerGrant {
            controller,
            requested_as: request.value.to_string(),
            field: request.field.clone(),
        });
    }
    gpios.sort_by_key(|grant| grant.pin);
    controllers.sort_by_key(|grant| (grant.controller.kind, grant.controller.id));

    // Board features.
    let flags = capabilities.flag_bits();
    let table = match &description.rules {
        Rules::Table(table) => Some(table),
        Rules::Init(_) => None,
    };
    for flag in &capabilities.flags {
        let wifi = CapabilityFlags::WIFI_CONFIG | CapabilityFlags::ENTERPRISE_WIFI_CONFIG;
        if flag.value.intersects(wifi) && table.is_some_and(|table| !table.has_wifi) {
            return Err(Error::new(&flag.field, format!("the {} board has no Wi-Fi interface", description.name)));
        }
    }
    let mutable_storage_kib = match (&capabilities.mutable_storage_kib, table) {
        (Some(size), Some(table)) if size.value > table.max_mutable_storage_kib => {
            return Err(Error::new(
                &size.field,
                format!(
                    "{} KiB is more than the {} KiB the {} grants one app",
                    size.value, table.max_mutable_storage_kib, description.name
                ),
            ))
        }
        (Some(size), _) => Some(size.value),
        (None, _) => None,
    };

    // Network and inter-app grants (honoured by servers; see docs/manifests.md).
    let mut allowed_connections = Vec::new();
    for connection in &capabilities.allowed_connections {
        match &connection.value {
            Connection::Host(host) => allowed_connections.push(host.clone()),
            Connection::Placeholder(text) => notes.push(format!(
                "{}: `{text}` is a placeholder to replace with a host name; it grants nothing",
                connection.field
            )),
        }
    }
    allowed_connections.sort();
    let mut tcp_server_ports: Vec<u16> = capabilities.tcp_server_ports.iter().map(|port| port.value).collect();
    tcp_server_ports.sort_unstable();
    let mut udp_server_ports: Vec<u16> = capabilities.udp_server_ports.iter().map(|port| port.value).collect();
    udp_server_ports.sort_unstable();
    let mut application_connections: Vec<ComponentId> =
        capabilities.application_connections.iter().map(|id| id.value).collect();
    application_connections.sort_unstable();
    let device_authentication = capabilities.device_authentication.as_ref().map(|auth| match auth.value {
        DeviceAuthentication::Enabled => ComponentId::NIL,
        DeviceAuthentication::Tenant(tenant) => tenant,
    });
    let mut flags = flags;
    if device_authentication.is_some() {
        flags |= CapabilityFlags::DEVICE_AUTHENTICATION;
    }
    if manifest.identity.is_none() {
        notes.push(
            "no SchemaVersion, Name, ComponentId or EntryPoint: a capabilities fragment, checked but not packageable"
                .to_string(),
        );
    }

    let mut grants = Grants {
        board,
        identity: manifest.identity.clone(),
        application_type: manifest.application_type,
        gpios,
        controllers,
        allowed_connections,
        tcp_server_ports,
        udp_server_ports,
        application_connections,
        device_authentication,
        mutable_storage_kib,
        flags,
        power_controls: capabilities.power_controls.as_ref().map_or(PowerControls::empty(), |controls| controls.value),
        notes,
        boot_plan: None,
    };
    if let Some(offer) = description.offer() {
        grants.boot_plan = Some(grants.boot_plan(manifest, offer)?);
    }
    Ok(grants)
}

/// ` ($NAME)` for a named request, nothing for a raw value.
fn via(reference: &PeripheralReference) -> String {
    match reference {
        PeripheralReference::Name(name) => format!(" (${name})"),
        _ => String::new(),
    }
}

fn check_real_time(manifest: &AppManifest) -> Result<(), Error> {
    let capabilities = &manifest.capabilities;
    let mut refused: Vec<&str> = capabilities.flags.iter().map(|flag| flag.field.as_str()).collect();
    refused.extend(capabilities.allowed_connections.first().map(|_| "Capabilities.AllowedConnections"));
    refused.extend(capabilities.tcp_server_ports.first().map(|_| "Capabilities.AllowedTcpServerPorts"));
    refused.extend(capabilities.udp_server_ports.first().map(|_| "Capabilities.AllowedUdpServerPorts"));
    refused.extend(capabilities.device_authentication.as_ref().map(|auth| auth.field.as_str()));
    refused.extend(capabilities.mutable_storage_kib.as_ref().map(|_| "Capabilities.MutableStorage"));
    refused.extend(capabilities.power_controls.as_ref().map(|controls| controls.field.as_str()));
    match refused.first() {
        Some(field) => Err(Error::new(
            field,
            format!(
                "a RealTimeCapable app cannot have this capability (real-time apps get {} only)",
                REAL_TIME_CAPABILITIES.join(", ")
            ),
        )),
        None => Ok(()),
    }
}

impl Grants {
    /// The binary form the loader reads (`tessera_abi::manifest`), checked
    /// by decoding it again. A capabilities fragment has no identity and
    /// cannot be encoded.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let identity = self.identity.as_ref().ok_or_else(|| {
            Error::new("ComponentId", "missing: a capabilities fragment (no identity fields) cannot be packaged")
        })?;
        self.encode_as(&identity.name, identity.component_id)
    }

    /// The binary form under this name and component id.
    fn encode_as(&self, name: &str, component_id: ComponentId) -> Result<Vec<u8>, Error> {
        let gpios: Vec<u16> = self.gpios.iter().map(|grant| grant.pin).collect();
        let ids = |kind: ControllerKind| -> Vec<u8> {
            self.controllers
                .iter()
                .filter(|grant| grant.controller.kind == kind)
                .map(|grant| grant.controller.id)
                .collect()
        };
        let (uarts, i2c_masters, spi_masters, adcs, pwms) = (
            ids(ControllerKind::Uart),
            ids(ControllerKind::I2cMaster),
            ids(ControllerKind::SpiMaster),
            ids(ControllerKind::Adc),
            ids(ControllerKind::Pwm),
        );
        let hosts: Vec<&str> = self.allowed_connections.iter().map(String::as_str).collect();
        let content = ManifestContent {
            name,
            component_id,
            application_type: self.application_type,
            flags: self.flags,
            power_controls: self.power_controls,
            mutable_storage_kib: self.mutable_storage_kib.unwrap_or(0),
            device_authentication_tenant: self.device_authentication.unwrap_or(ComponentId::NIL),
            gpios: &gpios,
            uarts: &uarts,
            i2c_masters: &i2c_masters,
            spi_masters: &spi_masters,
            adcs: &adcs,
            pwms: &pwms,
            tcp_server_ports: &self.tcp_server_ports,
            udp_server_ports: &self.udp_server_ports,
            allowed_connections: &hosts,
            application_connections: &self.application_connections,
        };
        let mut buffer = vec![0u8; MAX_ENCODED_LEN];
        let length = binary::encode(&content, &mut buffer)
            .map_err(|err| Error::new("(binary form)", format!("cannot encode: {err}")))?;
        buffer.truncate(length);
        Manifest::decode(&buffer).map_err(|err| Error::new("(binary form)", format!("does not decode: {err}")))?;
        Ok(buffer)
    }

    /// What `init` grants this manifest on a board it runs on: its own
    /// decision, [`init_grants::plan`], on the binary form `encode` gives
    /// (a capabilities fragment is planned under a stand-in identity). A
    /// refusal names the JSON field it is about.
    pub fn boot_plan(&self, manifest: &AppManifest, offer: &BoardOffer) -> Result<Plan, Error> {
        let bytes = match &self.identity {
            Some(identity) => self.encode_as(&identity.name, identity.component_id)?,
            None => self.encode_as("fragment", ComponentId([0xF0; 16]))?,
        };
        let binary =
            Manifest::decode(&bytes).map_err(|err| Error::new("(binary form)", format!("does not decode: {err}")))?;
        init_grants::plan(&binary, offer).map_err(|refusal| self.refusal_error(manifest, offer, refusal))
    }

    /// `init`'s refusal as the checker reports it: the JSON field and why.
    fn refusal_error(&self, manifest: &AppManifest, offer: &BoardOffer, refusal: Refusal) -> Error {
        let board = self.board.board();
        let capabilities = &manifest.capabilities;
        match refusal {
            Refusal::NilComponentId => {
                Error::new("ComponentId", "the nil GUID cannot name a component; generate a GUID")
            }
            Refusal::RealTimeCapable { .. } => Error::new(
                "ApplicationType",
                format!("the {} has no real-time core to run a RealTimeCapable app", board.name),
            ),
            Refusal::NoWifi { capability, .. } => {
                let field = capabilities
                    .flags
                    .iter()
                    .find(|flag| {
                        crate::app_manifest::FLAG_CAPABILITIES
                            .iter()
                            .any(|&(name, bit)| name == capability && flag.value.contains(bit))
                    })
                    .map_or(format!("Capabilities.{capability}"), |flag| flag.field.clone());
                Error::new(&field, format!("the {} board has no Wi-Fi interface", board.name))
            }
            Refusal::NoServer { capability, server, .. } => Error::new(
                &format!("Capabilities.{capability}"),
                format!("the {} image has no {server} server", board.name),
            ),
            Refusal::MutableStorage { requested, max, .. } => Error::new(
                "Capabilities.MutableStorage.SizeKB",
                format!("{requested} KiB is more than the {max} KiB the {} grants one app", board.name),
            ),
            Refusal::Unsupported { capability: "Gpio", value, .. } => {
                let grant = self.gpios.iter().find(|grant| grant.pin == value);
                let field = grant.map_or("Capabilities.Gpio".to_string(), |grant| grant.field.clone());
                let via = grant.filter(|grant| grant.requested_as.starts_with('$'));
                let via = via.map_or(String::new(), |grant| format!(" ({})", grant.requested_as));
                Error::new(
                    &field,
                    format!("GPIO {value}{via} does not exist on the {} (GPIOs: {})", board.name, board.gpio_list()),
                )
            }
            Refusal::Unsupported { capability, value, .. } => {
                let grant = self.controllers.iter().find(|grant| {
                    grant.controller.kind.capability() == capability && u16::from(grant.controller.id) == value
                });
                let field = grant.map_or(format!("Capabilities.{capability}"), |grant| grant.field.clone());
                if init_grants::offered(offer, capability) == 0 {
                    Error::new(
                        &field,
                        format!(
                            "the {} board has no {capability} to grant (it offers {})",
                            board.name,
                            board.offered()
                        ),
                    )
                } else {
                    // Only if the board's UART names and its offer disagree
                    // (a test keeps them in step).
                    Error::new(&field, format!("the {} does not grant it: {refusal}", board.name))
                }
            }
        }
    }

    /// The number of separate grants (pins, controllers, hosts, ports, ...).
    pub fn count(&self) -> usize {
        self.gpios.len()
            + self.controllers.len()
            + self.allowed_connections.len()
            + self.tcp_server_ports.len()
            + self.udp_server_ports.len()
            + self.application_connections.len()
            + usize::from(self.mutable_storage_kib.is_some())
            + self.flags.iter().count()
            + self.power_controls.iter().count()
    }

    /// A readable listing of the grants, one per line.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        match &self.identity {
            Some(identity) => {
                let _ = writeln!(
                    out,
                    "app {} ({}), {} application, entry point {}",
                    identity.name,
                    identity.component_id,
                    application_type_name(self.application_type),
                    identity.entry_point
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "capabilities fragment, {} application",
                    application_type_name(self.application_type)
                );
            }
        }
        let _ = writeln!(out, "board: {}", self.board);
        if self.count() == 0 {
            out.push_str("grants: none (the app gets no capability beyond its own memory)\n");
        } else {
            out.push_str("grants:\n");
        }
        for grant in &self.gpios {
            let _ = writeln!(out, "  gpio        GPIO {:<3} as {}", grant.pin, grant.requested_as);
        }
        for grant in &self.controllers {
            let controller = grant.controller;
            let _ = writeln!(
                out,
                "  {:<11} {} (id {}, pins {}) as {}",
                controller.kind.capability().to_lowercase(),
                controller.manifest_value,
                controller.id,
                pins_text(controller.pins),
                grant.requested_as
            );
        }
        for host in &self.allowed_connections {
            let _ = writeln!(out, "  connect     {host}");
        }
        for port in &self.tcp_server_ports {
            let _ = writeln!(out, "  listen      TCP port {port}");
        }
        for port in &self.udp_server_ports {
            let _ = writeln!(out, "  listen      UDP port {port}");
        }
        for id in &self.application_connections {
            let _ = writeln!(out, "  app link    component {id}");
        }
        if let Some(tenant) = self.device_authentication {
            if tenant.is_nil() {
                out.push_str("  device auth the device's own tenant\n");
            } else {
                let _ = writeln!(out, "  device auth tenant {tenant}");
            }
        }
        if let Some(size) = self.mutable_storage_kib {
            let _ = writeln!(out, "  storage     {size} KiB mutable storage");
        }
        for (name, flag) in crate::app_manifest::FLAG_CAPABILITIES {
            if self.flags.contains(flag) {
                let _ = writeln!(out, "  service     {name}");
            }
        }
        for (name, control) in crate::app_manifest::POWER_CONTROLS {
            if self.power_controls.contains(control) {
                let _ = writeln!(out, "  power       {name}");
            }
        }
        if let Some(plan) = self.boot_plan {
            let _ = writeln!(out, "init at boot: {plan}");
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        out
    }
}

fn application_type_name(application_type: ApplicationType) -> &'static str {
    match application_type {
        ApplicationType::Default => "high-level (Default)",
        ApplicationType::RealTimeCapable => "real-time (RealTimeCapable)",
    }
}

fn pins_text(pins: &[u16]) -> String {
    match (pins.first(), pins.last()) {
        (Some(first), Some(last)) if pins.len() > 1 => format!("GPIO {first}-{last}"),
        (Some(first), _) => format!("GPIO {first}"),
        _ => "none shared".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_abi::app::ServerKind;

    fn grants(text: &str, board: BoardId) -> Result<Grants, Error> {
        let manifest = AppManifest::parse(text.as_bytes(), "app_manifest.json")?;
        compute(&manifest, board, None)
    }

    fn app(capabilities: &str) -> String {
        format!(
            r#"{{"SchemaVersion": 1, "Name": "App", "ComponentId": "274f308f-ef6d-4686-ba77-a56c3a9d93f3",
                 "EntryPoint": "/bin/app", "Capabilities": {{ {capabilities} }} }}"#
        )
    }

    #[test]
    fn raw_values_resolve_on_the_board() {
        let granted =
            grants(&app(r#""Gpio": [13, 12], "Uart": ["ISU0"], "Pwm": ["PWM-CONTROLLER-2"]"#), BoardId::Mt3620)
                .unwrap();
        assert_eq!(granted.gpios.iter().map(|g| g.pin).collect::<Vec<_>>(), [12, 13]);
        assert_eq!(granted.controllers.len(), 2);
        let bytes = granted.encode().unwrap();
        let decoded = Manifest::decode(&bytes).unwrap();
        assert!(decoded.gpios().eq([12, 13]));
        assert!(decoded.uarts().eq([0]));
        assert!(decoded.pwms().eq([2]));
        assert!(granted.describe().contains("GPIO 12"));
    }

    #[test]
    fn qemu_refuses_what_it_does_not_have() {
        let err = grants(&app(r#""I2cMaster": ["ISU0"]"#), BoardId::QemuVirt).unwrap_err();
        assert_eq!(err.field, "Capabilities.I2cMaster[0]");
        assert!(err.reason.contains("the QEMU virt board has no I2cMaster to grant (it offers Gpio, Uart)"), "{err}");
        let err = grants(&app(r#""Gpio": [8]"#), BoardId::QemuVirt).unwrap_err();
        assert_eq!(err.to_string(), "Capabilities.Gpio[0]: GPIO 8 does not exist on the QEMU virt (GPIOs: 0-7)");
        let err = grants(&app(r#""WifiConfig": true"#), BoardId::QemuVirt).unwrap_err();
        assert_eq!(err.to_string(), "Capabilities.WifiConfig: the QEMU virt board has no Wi-Fi interface");
        assert!(grants(&app(r#""Gpio": [7], "Uart": ["UART0"]"#), BoardId::QemuVirt).is_ok());
        assert!(grants(&app(r#""I2cMaster": ["ISU0"], "WifiConfig": true"#), BoardId::Mt3620).is_ok());
    }

    #[test]
    fn qemu_refuses_what_init_would_refuse_at_boot() {
        let real_time = r#"{"SchemaVersion": 1, "Name": "RT", "ComponentId": "005180bc-402f-4cb3-a662-72937dbcde47",
            "EntryPoint": "/bin/app", "ApplicationType": "RealTimeCapable", "Capabilities": {"Gpio": [3]}}"#;
        let err = grants(real_time, BoardId::QemuVirt).unwrap_err();
        assert_eq!(
            err.to_string(),
            "ApplicationType: the QEMU virt has no real-time core to run a RealTimeCapable app"
        );
        let err = grants(&app(r#""MutableStorage": {"SizeKB": 65}"#), BoardId::QemuVirt).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Capabilities.MutableStorage.SizeKB: 65 KiB is more than the 64 KiB the QEMU virt grants one app"
        );
        let err =
            grants(&app(r#""NetworkConfig": true, "EnterpriseWifiConfig": true"#), BoardId::QemuVirt).unwrap_err();
        assert_eq!(err.to_string(), "Capabilities.EnterpriseWifiConfig: the QEMU virt board has no Wi-Fi interface");
        let err = grants(&app(r#""Gpio": [2, 9, 5]"#), BoardId::QemuVirt).unwrap_err();
        assert_eq!(err.to_string(), "Capabilities.Gpio[1]: GPIO 9 does not exist on the QEMU virt (GPIOs: 0-7)");
        let granted = grants(&app(r#""Gpio": [5, 3], "Uart": ["UART0"]"#), BoardId::QemuVirt).unwrap();
        let expected = Plan::default().with(ServerKind::GPIO, 0b10_1000).with(ServerKind::UART, 1);
        assert_eq!(granted.boot_plan, Some(expected));
        assert!(granted.describe().contains("init at boot: GPIO pins 0x28, UARTs 0x1"), "{}", granted.describe());
        assert_eq!(grants(&app(r#""Gpio": [5]"#), BoardId::Mt3620).unwrap().boot_plan, None, "no init there yet");
    }

    /// The property the grant decision's single home buys: for random
    /// manifests, the build-time checker on QEMU virt and `init`'s plan at
    /// boot (on the binary form of the same request, built without the
    /// checker) agree: both grant, with the same badges, or both refuse.
    #[test]
    fn build_time_and_boot_time_answers_agree() {
        const CONTROLLER_FIELDS: [&str; 4] = ["I2cMaster", "SpiMaster", "Adc", "Pwm"];
        const FLAGS: [(&str, CapabilityFlags); 4] = [
            ("WifiConfig", CapabilityFlags::WIFI_CONFIG),
            ("EnterpriseWifiConfig", CapabilityFlags::ENTERPRISE_WIFI_CONFIG),
            ("NetworkConfig", CapabilityFlags::NETWORK_CONFIG),
            ("SystemTime", CapabilityFlags::SYSTEM_TIME),
        ];
        let offer = tessera_init_core::grants::QEMU_VIRT;
        let mut rng = tessera_testing::Rng::new(0x5EED_0FB0_0F00);
        let (mut granted, mut refused) = (0, 0);
        for _ in 0..3_000 {
            let mut fields: Vec<String> = Vec::new();
            // GPIO pins 0-11 (the board has 0-7), each at most once, in any order.
            let mut pins: Vec<u16> = (0..12).filter(|_| rng.below(6) == 0).collect();
            let rotation = rng.below(pins.len() + 1) % pins.len().max(1);
            pins.rotate_left(rotation);
            if !pins.is_empty() {
                let list: Vec<String> = pins.iter().map(u16::to_string).collect();
                fields.push(format!(r#""Gpio": [{}]"#, list.join(", ")));
            }
            // UART0 (the board's one app UART) or UART1 (no such UART).
            let uarts: Vec<u8> = (0..2).filter(|_| rng.below(3) == 0).collect();
            if !uarts.is_empty() {
                let list: Vec<String> = uarts.iter().map(|id| format!(r#""UART{id}""#)).collect();
                fields.push(format!(r#""Uart": [{}]"#, list.join(", ")));
            }
            // Controllers no server here grants.
            let mut controllers: [Vec<u8>; 4] = Default::default();
            for (field, ids) in CONTROLLER_FIELDS.iter().zip(&mut controllers) {
                if rng.below(12) == 0 {
                    let id = rng.below(3) as u8;
                    ids.push(id);
                    let value = if *field == "Adc" || *field == "Pwm" {
                        format!("{}-CONTROLLER-{id}", field.to_uppercase())
                    } else {
                        format!("ISU{id}")
                    };
                    fields.push(format!(r#""{field}": ["{value}"]"#));
                }
            }
            let mut flags = CapabilityFlags::empty();
            for (name, flag) in FLAGS {
                if rng.below(6) == 0 {
                    flags |= flag;
                    fields.push(format!(r#""{name}": true"#));
                }
            }
            let storage = if rng.below(3) == 0 { 1 + rng.below(2 * offer.max_mutable_storage_kib as usize) } else { 0 };
            if storage > 0 {
                fields.push(format!(r#""MutableStorage": {{"SizeKB": {storage}}}"#));
            }
            let real_time = rng.below(12) == 0;
            let application_type = if real_time { ApplicationType::RealTimeCapable } else { ApplicationType::Default };
            let text = format!(
                r#"{{"SchemaVersion": 1, "Name": "App", "ComponentId": "274f308f-ef6d-4686-ba77-a56c3a9d93f3",
                     "EntryPoint": "/bin/app", "ApplicationType": "{}", "Capabilities": {{ {} }} }}"#,
                if real_time { "RealTimeCapable" } else { "Default" },
                fields.join(", ")
            );

            // The build's answer.
            let build = grants(&text, BoardId::QemuVirt);
            // init's answer, on the binary form of the same request.
            let mut sorted_pins = pins.clone();
            sorted_pins.sort_unstable();
            let content = ManifestContent {
                name: "App",
                component_id: ComponentId([0x27; 16]),
                application_type,
                flags,
                power_controls: PowerControls::empty(),
                mutable_storage_kib: storage as u32,
                device_authentication_tenant: ComponentId::NIL,
                gpios: &sorted_pins,
                uarts: &uarts,
                i2c_masters: &controllers[0],
                spi_masters: &controllers[1],
                adcs: &controllers[2],
                pwms: &controllers[3],
                tcp_server_ports: &[],
                udp_server_ports: &[],
                allowed_connections: &[],
                application_connections: &[],
            };
            let mut buffer = vec![0u8; MAX_ENCODED_LEN];
            let length = binary::encode(&content, &mut buffer).unwrap();
            let decoded = Manifest::decode(&buffer[..length]).unwrap();
            let boot = tessera_init_core::grants::plan(&decoded, &offer);

            match (&build, boot) {
                (Ok(build), Ok(boot)) => {
                    granted += 1;
                    assert_eq!(build.boot_plan, Some(boot), "{text}");
                    let pins = build.gpios.iter().fold(0u32, |mask, grant| mask | 1 << grant.pin);
                    assert_eq!(pins, boot.badge(ServerKind::GPIO), "{text}");
                    let uarts = build.controllers.iter().fold(0u32, |mask, grant| mask | 1 << grant.controller.id);
                    assert_eq!(uarts, boot.badge(ServerKind::UART), "{text}");
                }
                (Err(_), Err(_)) => refused += 1,
                (build, boot) => panic!("build {build:?} but boot {boot:?} for {text}"),
            }
        }
        assert!(granted > 300 && refused > 300, "both answers exercised: {granted} granted, {refused} refused");
    }

    #[test]
    fn conflicts_are_refused() {
        let err = grants(&app(r#""Uart": ["ISU1"], "SpiMaster": ["ISU1"]"#), BoardId::Mt3620).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Capabilities.SpiMaster[0]: ISU1 is already used as a UART by Capabilities.Uart[0]"
        );
        let err = grants(&app(r#""Gpio": [9], "Pwm": ["PWM-CONTROLLER-2"]"#), BoardId::Mt3620).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Capabilities.Gpio[0]: GPIO 9 is a pin of PWM-CONTROLLER-2, which Capabilities.Pwm[0] requests as a PWM controller"
        );
        let err = grants(&app(r#""Gpio": [9, 9]"#), BoardId::Mt3620).unwrap_err();
        assert_eq!(err.to_string(), "Capabilities.Gpio[1]: GPIO 9 is already requested by Capabilities.Gpio[0]");
        let err = grants(&app(r#""Adc": ["ADC-CONTROLLER-0", "ADC-CONTROLLER-0"]"#), BoardId::Mt3620).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Capabilities.Adc[1]: ADC-CONTROLLER-0 is already requested by Capabilities.Adc[0]"
        );
        let err = grants(&app(r#""Uart": ["ISU7"]"#), BoardId::Mt3620).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Capabilities.Uart[0]: `ISU7` is not a UART of the MT3620 (valid: ISU0, ISU1, ISU2, ISU3, ISU4)"
        );
        let err = grants(&app(r#""Gpio": [24]"#), BoardId::Mt3620).unwrap_err();
        assert!(err.reason.contains("GPIO 24 does not exist on the MT3620 (GPIOs: 0-23, 26-48, 56-75, 80)"), "{err}");
        let err = grants(&app(r#""MutableStorage": {"SizeKB": 65}"#), BoardId::Mt3620).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Capabilities.MutableStorage.SizeKB: 65 KiB is more than the 64 KiB the MT3620 grants one app"
        );
        let err = grants(&app(r#""Gpio": ["$SAMPLE_LED"]"#), BoardId::Mt3620).unwrap_err();
        assert!(err.reason.contains("needs a hardware definition"), "{err}");
    }

    #[test]
    fn real_time_apps_get_peripherals_and_app_links_only() {
        let manifest = r#"{"SchemaVersion": 1, "Name": "RT", "ComponentId": "005180bc-402f-4cb3-a662-72937dbcde47",
            "EntryPoint": "/bin/app", "ApplicationType": "RealTimeCapable",
            "Capabilities": {"Gpio": [8], "AllowedApplicationConnections": ["25025d2c-66da-4448-bae1-ac26fcdd3627"]}}"#;
        assert!(grants(manifest, BoardId::Mt3620).is_ok());
        let networked = manifest.replace(r#""Gpio": [8]"#, r#""AllowedConnections": ["example.com"]"#);
        let err = grants(&networked, BoardId::Mt3620).unwrap_err();
        assert_eq!(err.field, "Capabilities.AllowedConnections");
        assert!(err.reason.contains("RealTimeCapable"), "{err}");
    }

    #[test]
    fn fragments_check_but_do_not_encode() {
        let granted = grants(r#"{"Capabilities": {"NetworkConfig": true}}"#, BoardId::Mt3620).unwrap();
        assert_eq!(granted.flags, CapabilityFlags::NETWORK_CONFIG);
        assert!(granted.encode().unwrap_err().to_string().starts_with("ComponentId: missing"));
    }

    #[test]
    fn placeholders_grant_nothing() {
        let granted =
            grants(&app(r#""AllowedConnections": ["<HOST>", "b.example", "a.example"]"#), BoardId::QemuVirt).unwrap();
        assert_eq!(granted.allowed_connections, ["a.example", "b.example"]);
        assert_eq!(granted.notes.len(), 1);
        assert!(granted.describe().contains("note: Capabilities.AllowedConnections[0]: `<HOST>` is a placeholder"));
    }
}
