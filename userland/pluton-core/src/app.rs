//! What the Pluton security server knows about an app: the record the
//! loader's `RECORD_APP` makes from a verified package, and the app's
//! keys.
//!
//! # The record
//!
//! [`record_package`] checks the package's signature against the boot
//! image's trusted keys (`tessera_abi::package::parse_and_verify`),
//! decodes its binary manifest (`tessera_abi::manifest::Manifest::decode`)
//! and keeps:
//!
//! | field | value |
//! |---|---|
//! | name | the name the loader gives (its boot-image entry), 1 to [`NAME_MAX`] (24) bytes |
//! | component id | the manifest's ComponentId (the nil GUID is refused: it would be every unnamed app's identity) |
//! | package | SHA-256 of the whole package (header, manifest, ELF, signature) |
//! | grants | SHA-256 of the package's binary manifest. The binary form is canonical (one encoding per meaning, checked by the decoder), so this is the hash of the decoded grants |
//! | device authentication | whether the manifest has the `DeviceAuthentication` flag |
//! | summary | the grants as one line of ASCII text, at most [`SUMMARY_MAX`] (160) bytes |
//!
//! The app's **measurement** is `SHA-256(package || grants)` (the two
//! 32-byte hashes). Its evidence claim ([`AppRecord::to_claim`]) carries
//! the name, ComponentId, both hashes and the summary
//! ([`crate::eat`]).
//!
//! # The summary
//!
//! The non-empty grants, joined by `"; "`, in this order: `Gpio`,
//! `Uart`, `I2cMaster`, `SpiMaster`, `Adc`, `Pwm` (each with its numbers,
//! comma-separated, e.g. `Gpio 8,9`); the yes-or-no capabilities by their
//! manifest names (`NetworkConfig`, ..., `DeviceAuthentication`) in bit
//! order; `PowerControls` with its names; `MutableStorage <n> KiB`;
//! `AllowedConnections <count>`; `AllowedTcpServerPorts` and
//! `AllowedUdpServerPorts` with their ports; `AllowedApplicationConnections
//! <count>`; `RealTimeCapable` for a real-time app. An app with none of
//! them is `no grants`. A summary longer than [`SUMMARY_MAX`] bytes is cut
//! and ends in `...`. Example: `Gpio 8,9; Uart 0; DeviceAuthentication;
//! AllowedConnections 2`.
//!
//! # Keys
//!
//! | key | derivation |
//! |---|---|
//! | device authentication key (ECDSA P-256) | [`p256_key_from_seed`]`(`[`key_pair_seed`]`(app_cdi(CDI_Attest, measurement, component id)))` ([`crate::dice`]): changes with any change to the package or its grants |
//! | seal key | [`seal_key`]`(CDI_Seal, component id)` ([`crate::seal`]): the measurement stays out, so an updated app still unseals its data |

use core::fmt;

use p256::ecdsa::SigningKey;
use tessera_abi::manifest::{ApplicationType, CapabilityFlags, DecodeError, Manifest, PowerControls};
use tessera_abi::package::{parse_and_verify, Package, Refused, TrustedKeys};
pub use tessera_abi::NAME_MAX;

use crate::dice::{app_cdi, key_pair_seed, p256_key_from_seed, sha256, Cdi, HASH_SIZE};
use crate::eat::AppClaim;
use crate::seal::{seal_key, SealKey};

/// The longest grants summary, in bytes.
pub const SUMMARY_MAX: usize = 160;

/// What cuts a summary that is too long.
const ELLIPSIS: &str = "...";

/// The yes-or-no capabilities by their manifest names, in bit order.
pub const FLAG_NAMES: [(CapabilityFlags, &str); 14] = [
    (CapabilityFlags::NETWORK_CONFIG, "NetworkConfig"),
    (CapabilityFlags::WIFI_CONFIG, "WifiConfig"),
    (CapabilityFlags::ENTERPRISE_WIFI_CONFIG, "EnterpriseWifiConfig"),
    (CapabilityFlags::SYSTEM_TIME, "SystemTime"),
    (CapabilityFlags::TIME_SYNC_CONFIG, "TimeSyncConfig"),
    (CapabilityFlags::SOFTWARE_UPDATE_DEFERRAL, "SoftwareUpdateDeferral"),
    (CapabilityFlags::SYSTEM_EVENT_NOTIFICATIONS, "SystemEventNotifications"),
    (CapabilityFlags::CERT_STORE, "CertStore"),
    (CapabilityFlags::READ_NETWORK_PROXY_CONFIG, "ReadNetworkProxyConfig"),
    (CapabilityFlags::SNTP_SERVICE, "SntpService"),
    (CapabilityFlags::DHCP_SERVICE, "DhcpService"),
    (CapabilityFlags::HARDWARE_ADDRESS_CONFIG, "HardwareAddressConfig"),
    (CapabilityFlags::HEAP_MEM_STATS, "HeapMemStats"),
    (CapabilityFlags::DEVICE_AUTHENTICATION, "DeviceAuthentication"),
];

/// The power controls by their manifest names, in bit order.
pub const POWER_CONTROL_NAMES: [(PowerControls, &str); 3] = [
    (PowerControls::FORCE_POWER_DOWN, "ForcePowerDown"),
    (PowerControls::FORCE_REBOOT, "ForceReboot"),
    (PowerControls::SET_POWER_PROFILE, "SetPowerProfile"),
];

/// A recorded app (module docs). Only [`record_package`] makes one, from
/// a package whose signature it checked.
#[derive(Clone, PartialEq, Eq)]
pub struct AppRecord {
    name: [u8; NAME_MAX],
    name_len: u8,
    component_id: [u8; 16],
    package: [u8; HASH_SIZE],
    grants: [u8; HASH_SIZE],
    device_authentication: bool,
    summary: [u8; SUMMARY_MAX],
    summary_len: u8,
}

// The lengths are kept in a byte each.
const _: () = assert!(NAME_MAX <= u8::MAX as usize);
const _: () = assert!(SUMMARY_MAX <= u8::MAX as usize);

impl AppRecord {
    /// The app's name, as the loader gave it.
    pub fn name(&self) -> &str {
        // Only `record_package` fills it, from a `&str`.
        core::str::from_utf8(&self.name[..usize::from(self.name_len)]).unwrap_or("")
    }

    /// Its grants in one line of ASCII (module docs).
    pub fn summary(&self) -> &str {
        // Only `Summary` fills it, with ASCII.
        core::str::from_utf8(&self.summary[..usize::from(self.summary_len)]).unwrap_or("")
    }

    /// Its manifest's ComponentId.
    pub fn component_id(&self) -> &[u8; 16] {
        &self.component_id
    }

    /// SHA-256 of its package.
    pub fn package(&self) -> &[u8; HASH_SIZE] {
        &self.package
    }

    /// SHA-256 of its binary manifest (its grants).
    pub fn grants(&self) -> &[u8; HASH_SIZE] {
        &self.grants
    }

    /// Whether its manifest grants `DeviceAuthentication` (`SIGN_CHALLENGE`).
    pub fn device_authentication(&self) -> bool {
        self.device_authentication
    }

    /// Its measurement: SHA-256(package || grants).
    pub fn measurement(&self) -> [u8; HASH_SIZE] {
        sha256(&[&self.package, &self.grants])
    }

    /// The app as attestation evidence names it.
    pub fn to_claim(&self) -> AppClaim<'_> {
        AppClaim {
            name: self.name(),
            component_id: self.component_id,
            package: self.package,
            grants: self.grants,
            summary: self.summary(),
        }
    }
}

impl fmt::Debug for AppRecord {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AppRecord")
            .field("name", &self.name())
            .field("component_id", &tessera_abi::manifest::ComponentId(self.component_id))
            .field("package", &crate::Hex(&self.package))
            .field("grants", &crate::Hex(&self.grants))
            .field("device_authentication", &self.device_authentication)
            .field("summary", &self.summary())
            .finish()
    }
}

/// Why [`record_package`] refused a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The name is empty or longer than [`NAME_MAX`] bytes.
    BadName,
    /// The package is malformed or not signed by a trusted key.
    Package(Refused),
    /// The package's manifest does not decode.
    Manifest(DecodeError),
    /// The manifest's ComponentId is the nil GUID.
    NilComponentId,
}

impl RecordError {
    /// The error `plutond` answers with: `InvalidArgument` for a bad
    /// name, `BadImage` for everything wrong with the package.
    pub fn to_error(self) -> tessera_abi::Error {
        match self {
            RecordError::BadName => tessera_abi::Error::InvalidArgument,
            RecordError::Package(_) | RecordError::Manifest(_) | RecordError::NilComponentId => {
                tessera_abi::Error::BadImage
            }
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::BadName => write!(formatter, "an app name must be 1 to {NAME_MAX} bytes"),
            RecordError::Package(refused) => refused.fmt(formatter),
            RecordError::Manifest(error) => write!(formatter, "bad manifest: {error}"),
            RecordError::NilComponentId => formatter.write_str("the manifest's ComponentId is nil"),
        }
    }
}

/// Verifies `package_bytes` against `trusted`, decodes its manifest and
/// makes the app's record under `name` (module docs).
pub fn record_package(name: &str, package_bytes: &[u8], trusted: &TrustedKeys<'_>) -> Result<AppRecord, RecordError> {
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(RecordError::BadName);
    }
    let package = parse_and_verify(package_bytes, trusted).map_err(RecordError::Package)?;
    record_verified_package(name, &package)
}

/// [`record_package`] for a package whose signature the caller has
/// checked already (`plutond` verified it for `init` earlier in this boot,
/// in the same read-only boot image): everything but the signature check.
pub fn record_verified_package(name: &str, package: &Package<'_>) -> Result<AppRecord, RecordError> {
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(RecordError::BadName);
    }
    let manifest = Manifest::decode(package.manifest()).map_err(RecordError::Manifest)?;
    if manifest.component_id().is_nil() {
        return Err(RecordError::NilComponentId);
    }
    let mut record = AppRecord {
        name: [0; NAME_MAX],
        name_len: name.len() as u8,
        component_id: manifest.component_id().0,
        package: sha256(&[package.as_bytes()]),
        grants: sha256(&[manifest.as_bytes()]),
        device_authentication: manifest.device_authentication().is_some(),
        summary: [0; SUMMARY_MAX],
        summary_len: 0,
    };
    record.name[..name.len()].copy_from_slice(name.as_bytes());
    let mut summary = Summary { bytes: &mut record.summary, len: 0, cut: false };
    summary.write_grants(&manifest);
    record.summary_len = summary.finish() as u8;
    Ok(record)
}

/// The app's device authentication key (ECDSA P-256): from the key-pair
/// seed of `app_cdi(cdi_attest, measurement, component id)`. `plutond`
/// signs with it only for an app whose record has
/// [`AppRecord::device_authentication`].
pub fn device_authentication_key(cdi_attest: &Cdi, record: &AppRecord) -> SigningKey {
    let cdi = app_cdi(cdi_attest, &record.measurement(), &record.component_id);
    p256_key_from_seed(&key_pair_seed(cdi.expose()))
}

/// The app's seal key: [`seal_key`]`(cdi_seal, component id)`, the same
/// for every version of the app.
pub fn app_seal_key(cdi_seal: &Cdi, record: &AppRecord) -> SealKey {
    seal_key(cdi_seal, &record.component_id)
}

/// A summary being written into a fixed buffer; notes when text did not
/// fit.
struct Summary<'a> {
    bytes: &'a mut [u8; SUMMARY_MAX],
    len: usize,
    cut: bool,
}

impl fmt::Write for Summary<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let room = SUMMARY_MAX - self.len;
        let taken = text.len().min(room);
        self.bytes[self.len..self.len + taken].copy_from_slice(&text.as_bytes()[..taken]);
        self.len += taken;
        if taken < text.len() {
            self.cut = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}

impl Summary<'_> {
    /// Starts a part: the separator unless it is the first.
    fn part(&mut self, name: &str) -> fmt::Result {
        use fmt::Write;
        if self.len > 0 {
            self.write_str("; ")?;
        }
        self.write_str(name)
    }

    /// `name n,n,n` if `values` has any.
    fn list<T: fmt::Display>(&mut self, name: &str, values: impl Iterator<Item = T>) -> fmt::Result {
        use fmt::Write;
        for (index, value) in values.enumerate() {
            if index == 0 {
                self.part(name)?;
                self.write_str(" ")?;
            } else {
                self.write_str(",")?;
            }
            write!(self, "{value}")?;
        }
        Ok(())
    }

    /// `name count` if `count` is not zero.
    fn count(&mut self, name: &str, count: usize) -> fmt::Result {
        use fmt::Write;
        if count > 0 {
            self.part(name)?;
            write!(self, " {count}")?;
        }
        Ok(())
    }

    fn write_grants(&mut self, manifest: &Manifest<'_>) {
        // An error only means the buffer is full: `cut` says so.
        let _ = self.try_write_grants(manifest);
    }

    fn try_write_grants(&mut self, manifest: &Manifest<'_>) -> fmt::Result {
        use fmt::Write;
        self.list("Gpio", manifest.gpios())?;
        self.list("Uart", manifest.uarts())?;
        self.list("I2cMaster", manifest.i2c_masters())?;
        self.list("SpiMaster", manifest.spi_masters())?;
        self.list("Adc", manifest.adcs())?;
        self.list("Pwm", manifest.pwms())?;
        for (flag, name) in FLAG_NAMES {
            if manifest.flags().contains(flag) {
                self.part(name)?;
            }
        }
        let power = POWER_CONTROL_NAMES.iter().filter(|(control, _)| manifest.power_controls().contains(*control));
        self.list("PowerControls", power.map(|(_, name)| name))?;
        if manifest.mutable_storage_kib() > 0 {
            self.part("MutableStorage")?;
            write!(self, " {} KiB", manifest.mutable_storage_kib())?;
        }
        self.count("AllowedConnections", manifest.allowed_connections().count())?;
        self.list("AllowedTcpServerPorts", manifest.tcp_server_ports())?;
        self.list("AllowedUdpServerPorts", manifest.udp_server_ports())?;
        self.count("AllowedApplicationConnections", manifest.application_connections().count())?;
        if manifest.application_type() == ApplicationType::RealTimeCapable {
            self.part("RealTimeCapable")?;
        }
        if self.len == 0 {
            self.write_str("no grants")?;
        }
        Ok(())
    }

    /// The summary's length, with `...` at its end if it was cut.
    fn finish(self) -> usize {
        if !self.cut {
            return self.len;
        }
        let end = SUMMARY_MAX - ELLIPSIS.len();
        self.bytes[end..].copy_from_slice(ELLIPSIS.as_bytes());
        SUMMARY_MAX
    }
}

/// Signed packages for the tests of this module and of [`crate::protocol`].
#[cfg(test)]
pub(crate) mod testing {
    extern crate std;

    use std::vec;
    use std::vec::Vec;

    use ed25519_dalek::SigningKey as PackageKey;
    use tessera_abi::manifest::{encode, ComponentId, ManifestContent};
    use tessera_abi::package::{self, TrustedKey};

    /// A package signing key from a seed byte.
    pub(crate) fn signer(seed: u8) -> PackageKey {
        PackageKey::from_bytes(&[seed; 32])
    }

    /// A trusted-keys list with the keys of `seeds`.
    pub(crate) fn trusted_keys(seeds: &[u8]) -> Vec<u8> {
        let keys: Vec<TrustedKey> =
            seeds.iter().map(|&seed| TrustedKey::new(signer(seed).verifying_key().to_bytes())).collect();
        let mut out = vec![0; package::trusted_keys_size(keys.len())];
        package::write_trusted_keys(&keys, &mut out).expect("the list encodes");
        out
    }

    /// A manifest with nothing granted.
    pub(crate) fn content(name: &'static str, id: u8) -> ManifestContent<'static> {
        ManifestContent::new(name, ComponentId([id; 16]))
    }

    /// The binary manifest of `content`.
    pub(crate) fn manifest(content: &ManifestContent<'_>) -> Vec<u8> {
        let mut out = vec![0; content.encoded_len().expect("a valid manifest")];
        encode(content, &mut out).expect("the manifest encodes");
        out
    }

    /// A package of `elf` and `manifest_bytes`, signed with the key of `seed`.
    pub(crate) fn package(elf: &[u8], manifest_bytes: &[u8], seed: u8) -> Vec<u8> {
        let mut out = vec![0; package::package_size(elf.len(), manifest_bytes.len()).expect("a small package")];
        let len = package::write(elf, manifest_bytes, &signer(seed), &mut out).expect("the package packs");
        out.truncate(len);
        out
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::testing::{content, manifest, package, trusted_keys};
    use super::*;
    use p256::ecdsa::signature::{Signer, Verifier};
    use p256::ecdsa::Signature;
    use std::string::String;
    use tessera_abi::manifest::{ComponentId, ManifestContent};
    use tessera_abi::package::{PackageError, VerifyError};

    const ELF: &[u8] = b"\x7fELF an app";

    fn recorded(content: &ManifestContent<'_>) -> AppRecord {
        let keys = trusted_keys(&[1, 2]);
        let trusted = TrustedKeys::parse(&keys).unwrap();
        record_package("hello", &package(ELF, &manifest(content), 2), &trusted).unwrap()
    }

    #[test]
    fn a_signed_package_is_recorded() {
        let content = content("Hello", 0x1d);
        let manifest_bytes = manifest(&content);
        let package_bytes = package(ELF, &manifest_bytes, 1);
        let keys = trusted_keys(&[1]);
        let record = record_package("hello", &package_bytes, &TrustedKeys::parse(&keys).unwrap()).unwrap();
        assert_eq!(record.name(), "hello");
        assert_eq!(record.component_id(), &[0x1d; 16]);
        assert_eq!(record.package(), &sha256(&[&package_bytes]));
        assert_eq!(record.grants(), &sha256(&[&manifest_bytes]));
        assert_eq!(record.measurement(), sha256(&[record.package(), record.grants()]));
        assert!(!record.device_authentication());
        assert_eq!(record.summary(), "no grants");
        let claim = record.to_claim();
        assert_eq!((claim.name, claim.summary), ("hello", "no grants"));
        assert_eq!((claim.component_id, claim.package, claim.grants), ([0x1d; 16], record.package, record.grants));
    }

    #[test]
    fn an_untrusted_or_changed_package_is_refused() {
        let keys = trusted_keys(&[1]);
        let trusted = TrustedKeys::parse(&keys).unwrap();
        let other = package(ELF, &manifest(&content("Hello", 0x1d)), 3);
        let key_id = tessera_abi::package::key_id_of(&testing::signer(3).verifying_key().to_bytes());
        assert_eq!(
            record_package("hello", &other, &trusted),
            Err(RecordError::Package(Refused::Untrusted(VerifyError::UnknownKey(key_id))))
        );
        let mut changed = package(ELF, &manifest(&content("Hello", 0x1d)), 1);
        let last_elf_byte = changed.len() - 64 - 5;
        changed[last_elf_byte] ^= 1;
        assert!(matches!(
            record_package("hello", &changed, &trusted),
            Err(RecordError::Package(Refused::Untrusted(VerifyError::BadSignature(_))))
        ));
        assert!(matches!(
            record_package("hello", &changed[..100], &trusted),
            Err(RecordError::Package(Refused::Malformed(PackageError::Truncated { .. })))
        ));
        assert_eq!(record_package("hello", &changed, &trusted).unwrap_err().to_error(), tessera_abi::Error::BadImage);
    }

    #[test]
    fn names_manifests_and_component_ids_are_checked() {
        let keys = trusted_keys(&[1]);
        let trusted = TrustedKeys::parse(&keys).unwrap();
        let good = package(ELF, &manifest(&content("Hello", 0x1d)), 1);
        assert_eq!(record_package("", &good, &trusted), Err(RecordError::BadName));
        let long = "a".repeat(NAME_MAX + 1);
        assert_eq!(record_package(&long, &good, &trusted), Err(RecordError::BadName));
        assert!(record_package(&long[..NAME_MAX], &good, &trusted).is_ok());
        let nil = package(ELF, &manifest(&content("Hello", 0)), 1);
        assert_eq!(record_package("hello", &nil, &trusted), Err(RecordError::NilComponentId));
        let not_a_manifest = package(ELF, b"not a manifest", 1);
        assert_eq!(
            record_package("hello", &not_a_manifest, &trusted),
            Err(RecordError::Manifest(DecodeError::BadMagic))
        );
    }

    #[test]
    fn the_summary_reads_right() {
        let mut granted = content("Hello", 0x1d);
        granted.gpios = &[8, 9];
        granted.uarts = &[0];
        granted.flags = CapabilityFlags::DEVICE_AUTHENTICATION;
        granted.allowed_connections = &["example.com", "global.azure-devices-provisioning.net"];
        let record = recorded(&granted);
        assert_eq!(record.summary(), "Gpio 8,9; Uart 0; DeviceAuthentication; AllowedConnections 2");
        assert!(record.device_authentication());

        let mut devices = content("Hello", 0x1d);
        devices.i2c_masters = &[1];
        devices.spi_masters = &[2, 3];
        devices.adcs = &[0];
        devices.pwms = &[1];
        devices.flags = CapabilityFlags::NETWORK_CONFIG | CapabilityFlags::HEAP_MEM_STATS;
        devices.power_controls = PowerControls::FORCE_REBOOT | PowerControls::SET_POWER_PROFILE;
        devices.mutable_storage_kib = 8;
        assert_eq!(
            recorded(&devices).summary(),
            "I2cMaster 1; SpiMaster 2,3; Adc 0; Pwm 1; NetworkConfig; HeapMemStats; \
             PowerControls ForceReboot,SetPowerProfile; MutableStorage 8 KiB"
        );

        let mut network = content("Hello", 0x1d);
        network.tcp_server_ports = &[80, 11000];
        network.udp_server_ports = &[53];
        network.application_connections = &[ComponentId([1; 16]), ComponentId([2; 16])];
        network.application_type = ApplicationType::RealTimeCapable;
        assert_eq!(
            recorded(&network).summary(),
            "AllowedTcpServerPorts 80,11000; AllowedUdpServerPorts 53; AllowedApplicationConnections 2; RealTimeCapable"
        );
    }

    #[test]
    fn a_long_summary_is_cut() {
        let gpios: std::vec::Vec<u16> = (100..140).collect();
        let mut granted = content("Hello", 0x1d);
        granted.gpios = &gpios;
        let record = recorded(&granted);
        let summary = record.summary();
        assert_eq!(summary.len(), SUMMARY_MAX);
        assert!(summary.starts_with("Gpio 100,101,102,"));
        assert!(summary.ends_with("..."));
        let mut expected = String::from("Gpio ");
        expected.push_str(&gpios.iter().map(|pin| std::format!("{pin}")).collect::<std::vec::Vec<_>>().join(","));
        assert_eq!(summary[..SUMMARY_MAX - 3], expected[..SUMMARY_MAX - 3]);
    }

    #[test]
    fn every_flag_has_a_name() {
        let named = FLAG_NAMES.iter().fold(CapabilityFlags::empty(), |all, (flag, _)| all | *flag);
        assert_eq!(named, CapabilityFlags::all());
        let named = POWER_CONTROL_NAMES.iter().fold(PowerControls::empty(), |all, (control, _)| all | *control);
        assert_eq!(named, PowerControls::all());
    }

    #[test]
    fn keys_follow_the_measurement_and_the_component_id() {
        let (cdi_attest, cdi_seal) = (Cdi::from_bytes([0xa7; 32]), Cdi::from_bytes([0x5e; 32]));
        let one = recorded(&content("Hello", 0x1d));
        let mut updated_content = content("Hello", 0x1d);
        updated_content.uarts = &[1];
        let updated = recorded(&updated_content);
        let other = recorded(&content("Hello", 0x2e));

        let key = device_authentication_key(&cdi_attest, &one);
        let expected =
            p256_key_from_seed(&key_pair_seed(app_cdi(&cdi_attest, &one.measurement(), one.component_id()).expose()));
        assert_eq!(key.verifying_key(), expected.verifying_key());
        assert_eq!(key.verifying_key(), device_authentication_key(&cdi_attest, &one.clone()).verifying_key());
        assert_ne!(key.verifying_key(), device_authentication_key(&cdi_attest, &updated).verifying_key());
        assert_ne!(key.verifying_key(), device_authentication_key(&cdi_attest, &other).verifying_key());
        let signature: Signature = key.sign(b"challenge");
        assert!(key.verifying_key().verify(b"challenge", &signature).is_ok());

        // The seal key ignores the measurement: an update still unseals.
        let mut sealed = [0; 4 + crate::seal::NONCE_SIZE + 17];
        let len = crate::seal::seal(&app_seal_key(&cdi_seal, &one), &[3; 12], b"data", &mut sealed).unwrap();
        let mut out = [0; 4];
        assert_eq!(crate::seal::unseal(&app_seal_key(&cdi_seal, &updated), &sealed[..len], &mut out), Ok(4));
        assert_eq!(
            crate::seal::unseal(&app_seal_key(&cdi_seal, &other), &sealed[..len], &mut out),
            Err(crate::seal::SealError::Damaged)
        );
    }
}
