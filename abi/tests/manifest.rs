//! Property tests of the binary manifest (`tessera_abi::manifest`).
//!
//! 1. Encode then decode is the identity: manifests built with `arbitrary`
//!    from generator bytes are encoded, decoded, and every field compared.
//! 2. Any byte string decodes to a valid manifest or an error, never a
//!    panic: random bytes, and mutations of valid encodings (so the checks
//!    behind a successful decode run too). Whatever decodes re-encodes to
//!    the same bytes (the form is canonical).
//!
//! Deterministic (fixed seeds) and bounded: well under a second in a
//! debug build. A failure names the case number.

use std::collections::BTreeSet;

use arbitrary::{Arbitrary, Unstructured};
use tessera_abi::manifest::{
    encode, ApplicationType, CapabilityFlags, ComponentId, DecodeError, Manifest, ManifestContent, PowerControls,
    HEADER_SIZE, MAX_ALLOWED_CONNECTIONS, MAX_APPLICATION_CONNECTIONS, MAX_ENCODED_LEN, MAX_GPIOS,
    MAX_MUTABLE_STORAGE_KIB, MAX_NAME_BYTES, MAX_PERIPHERALS, MAX_SERVER_PORTS,
};

use tessera_testing::Rng;

/// A manifest with owned lists, the test's model of `ManifestContent`.
#[derive(Debug, Clone)]
struct OwnedManifest {
    name: String,
    component_id: ComponentId,
    application_type: ApplicationType,
    flags: CapabilityFlags,
    power_controls: PowerControls,
    mutable_storage_kib: u32,
    tenant: ComponentId,
    gpios: Vec<u16>,
    uarts: Vec<u8>,
    i2c_masters: Vec<u8>,
    spi_masters: Vec<u8>,
    adcs: Vec<u8>,
    pwms: Vec<u8>,
    tcp_ports: Vec<u16>,
    udp_ports: Vec<u16>,
    hosts: Vec<String>,
    apps: Vec<ComponentId>,
}

fn set<T: Ord + Copy>(u: &mut Unstructured<'_>, max: usize, item: impl Fn(&mut Unstructured<'_>) -> T) -> Vec<T> {
    let count = u.int_in_range(0..=max).unwrap_or(0);
    let values: BTreeSet<T> = (0..count).map(|_| item(u)).collect();
    values.into_iter().collect()
}

fn text(u: &mut Unstructured<'_>, alphabet: &[char], min: usize, max: usize) -> String {
    let length = u.int_in_range(min..=max).unwrap_or(min);
    (0..length).map(|_| *u.choose(alphabet).unwrap_or(&alphabet[0])).collect()
}

fn host_name(u: &mut Unstructured<'_>) -> String {
    const LABEL: &[char] = &['a', 'b', 'z', '0', '9', '-', '_', 'q'];
    let labels = u.int_in_range(1..=4).unwrap_or(1);
    let mut name = String::new();
    for index in 0..labels {
        if index > 0 {
            name.push('.');
        }
        let mut label = text(u, LABEL, 1, 20);
        label = label.trim_matches('-').to_string();
        if label.is_empty() {
            label.push('x');
        }
        name.push_str(&label);
    }
    name
}

impl<'a> Arbitrary<'a> for OwnedManifest {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        const NAME: &[char] = &['A', 'z', '_', '-', ' ', '0', 'é', '界'];
        let mut name = text(u, NAME, 1, MAX_NAME_BYTES / 3);
        if name.len() > MAX_NAME_BYTES {
            name.truncate(MAX_NAME_BYTES);
        }
        let flags = CapabilityFlags::from_bits_truncate(u32::arbitrary(u)?);
        let tenant = if flags.contains(CapabilityFlags::DEVICE_AUTHENTICATION) && bool::arbitrary(u)? {
            ComponentId(<[u8; 16]>::arbitrary(u)?)
        } else {
            ComponentId::NIL
        };
        let any_u8 = |u: &mut Unstructured<'_>| u8::arbitrary(u).unwrap_or(0);
        let port = |u: &mut Unstructured<'_>| u.int_in_range(1..=u16::MAX).unwrap_or(1);
        Ok(OwnedManifest {
            name,
            component_id: ComponentId(<[u8; 16]>::arbitrary(u)?),
            application_type: if bool::arbitrary(u)? {
                ApplicationType::Default
            } else {
                ApplicationType::RealTimeCapable
            },
            flags,
            power_controls: PowerControls::from_bits_truncate(u8::arbitrary(u)?),
            mutable_storage_kib: u.int_in_range(0..=MAX_MUTABLE_STORAGE_KIB)?,
            tenant,
            gpios: set(u, MAX_GPIOS, |u| u16::arbitrary(u).unwrap_or(0)),
            uarts: set(u, MAX_PERIPHERALS, any_u8),
            i2c_masters: set(u, MAX_PERIPHERALS, any_u8),
            spi_masters: set(u, MAX_PERIPHERALS, any_u8),
            adcs: set(u, MAX_PERIPHERALS, any_u8),
            pwms: set(u, MAX_PERIPHERALS, any_u8),
            tcp_ports: set(u, MAX_SERVER_PORTS, port),
            udp_ports: set(u, MAX_SERVER_PORTS, port),
            hosts: {
                let count = u.int_in_range(0..=MAX_ALLOWED_CONNECTIONS / 4)?;
                let hosts: BTreeSet<String> = (0..count).map(|_| host_name(u)).collect();
                hosts.into_iter().collect()
            },
            apps: set(u, MAX_APPLICATION_CONNECTIONS, |u| ComponentId(<[u8; 16]>::arbitrary(u).unwrap_or([0; 16]))),
        })
    }
}

impl OwnedManifest {
    fn encode(&self) -> Vec<u8> {
        let hosts: Vec<&str> = self.hosts.iter().map(String::as_str).collect();
        let content = ManifestContent {
            name: &self.name,
            component_id: self.component_id,
            application_type: self.application_type,
            flags: self.flags,
            power_controls: self.power_controls,
            mutable_storage_kib: self.mutable_storage_kib,
            device_authentication_tenant: self.tenant,
            gpios: &self.gpios,
            uarts: &self.uarts,
            i2c_masters: &self.i2c_masters,
            spi_masters: &self.spi_masters,
            adcs: &self.adcs,
            pwms: &self.pwms,
            tcp_server_ports: &self.tcp_ports,
            udp_server_ports: &self.udp_ports,
            allowed_connections: &hosts,
            application_connections: &self.apps,
        };
        let mut buffer = vec![0u8; MAX_ENCODED_LEN];
        let length = encode(&content, &mut buffer).unwrap_or_else(|err| panic!("encode {self:?}: {err}"));
        buffer.truncate(length);
        buffer
    }

    fn assert_matches(&self, manifest: &Manifest<'_>) {
        assert_eq!(manifest.name(), self.name);
        assert_eq!(manifest.component_id(), self.component_id);
        assert_eq!(manifest.application_type(), self.application_type);
        assert_eq!(manifest.flags(), self.flags);
        assert_eq!(manifest.power_controls(), self.power_controls);
        assert_eq!(manifest.mutable_storage_kib(), self.mutable_storage_kib);
        let expected_tenant = self.flags.contains(CapabilityFlags::DEVICE_AUTHENTICATION).then_some(self.tenant);
        assert_eq!(manifest.device_authentication(), expected_tenant);
        assert_eq!(manifest.gpios().collect::<Vec<_>>(), self.gpios);
        assert_eq!(manifest.uarts().collect::<Vec<_>>(), self.uarts);
        assert_eq!(manifest.i2c_masters().collect::<Vec<_>>(), self.i2c_masters);
        assert_eq!(manifest.spi_masters().collect::<Vec<_>>(), self.spi_masters);
        assert_eq!(manifest.adcs().collect::<Vec<_>>(), self.adcs);
        assert_eq!(manifest.pwms().collect::<Vec<_>>(), self.pwms);
        assert_eq!(manifest.tcp_server_ports().collect::<Vec<_>>(), self.tcp_ports);
        assert_eq!(manifest.udp_server_ports().collect::<Vec<_>>(), self.udp_ports);
        assert_eq!(manifest.allowed_connections().collect::<Vec<_>>(), self.hosts);
        assert_eq!(manifest.application_connections().collect::<Vec<_>>(), self.apps);
    }
}

/// Encodes a decoded manifest again.
fn reencode(manifest: &Manifest<'_>) -> Vec<u8> {
    let mut buffer = vec![0u8; MAX_ENCODED_LEN];
    let length = manifest.encode_into(&mut buffer).expect("a decoded manifest re-encodes");
    buffer.truncate(length);
    buffer
}

/// Decodes `bytes`; if that succeeds, the result must re-encode to the same bytes.
fn decode_checked(bytes: &[u8]) -> Result<(), DecodeError> {
    let manifest = Manifest::decode(bytes)?;
    assert_eq!(reencode(&manifest), bytes, "decoding then encoding changed the bytes");
    assert!(bytes.len() <= MAX_ENCODED_LEN);
    Ok(())
}

fn generated(rng: &mut Rng) -> OwnedManifest {
    let length = 64 + rng.below(2048);
    let raw = rng.bytes(length);
    OwnedManifest::arbitrary(&mut Unstructured::new(&raw)).expect("generator bytes give a manifest")
}

#[test]
fn encode_then_decode_is_identity() {
    let mut rng = Rng::new(0x5eed_0001);
    for case in 0..2000 {
        let model = generated(&mut rng);
        let bytes = model.encode();
        let manifest = Manifest::decode(&bytes).unwrap_or_else(|err| panic!("case {case}: {err} for {model:?}"));
        model.assert_matches(&manifest);
        assert_eq!(manifest.as_bytes(), &bytes[..]);
        assert_eq!(reencode(&manifest), bytes, "case {case}");
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng::new(0x5eed_0002);
    for _ in 0..20_000 {
        let length = rng.below(HEADER_SIZE + 200);
        let mut bytes = rng.bytes(length);
        // Give most inputs a plausible header so the sections get read.
        if bytes.len() >= 20 && rng.below(4) != 0 {
            bytes[..4].copy_from_slice(b"TMFT");
            bytes[4..6].copy_from_slice(&1u16.to_le_bytes());
            bytes[6] %= 2;
            bytes[7] &= 7;
            bytes[10] = 0;
            bytes[11] = 0;
            let total = bytes.len() as u32;
            bytes[16..20].copy_from_slice(&total.to_le_bytes());
        }
        let _ = decode_checked(&bytes);
    }
}

#[test]
fn mutated_encodings_decode_or_fail_cleanly() {
    let mut rng = Rng::new(0x5eed_0003);
    let mut decoded = 0;
    for _ in 0..3000 {
        let mut bytes = generated(&mut rng).encode();
        for _ in 0..1 + rng.below(3) {
            match rng.below(5) {
                0 => {
                    let at = rng.below(bytes.len());
                    bytes[at] = rng.next_u64() as u8;
                }
                1 => {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
                2 => bytes.truncate(rng.below(bytes.len() + 1)),
                3 => bytes.push(rng.next_u64() as u8),
                _ => {
                    let at = HEADER_SIZE.min(bytes.len()) + rng.below(bytes.len().saturating_sub(HEADER_SIZE) + 1);
                    let at = at.min(bytes.len());
                    bytes.insert(at, rng.next_u64() as u8);
                }
            }
        }
        if decode_checked(&bytes).is_ok() {
            decoded += 1;
        }
    }
    // Some mutations keep the manifest valid (a changed name byte, a flag).
    assert!(decoded > 0);
}

#[test]
fn decoder_reports_each_kind_of_damage() {
    let model = OwnedManifest {
        name: "app".into(),
        component_id: ComponentId([7; 16]),
        application_type: ApplicationType::Default,
        flags: CapabilityFlags::empty(),
        power_controls: PowerControls::empty(),
        mutable_storage_kib: 0,
        tenant: ComponentId::NIL,
        gpios: vec![1, 2],
        uarts: vec![],
        i2c_masters: vec![],
        spi_masters: vec![],
        adcs: vec![],
        pwms: vec![],
        tcp_ports: vec![],
        udp_ports: vec![],
        hosts: vec!["example.com".into()],
        apps: vec![],
    };
    let good = model.encode();
    assert!(Manifest::decode(&good).is_ok());

    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    assert_eq!(Manifest::decode(&bad_magic), Err(DecodeError::BadMagic));

    let mut version = good.clone();
    version[4] = 2;
    assert_eq!(Manifest::decode(&version), Err(DecodeError::UnsupportedVersion(2)));

    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(Manifest::decode(&trailing), Err(DecodeError::LengthMismatch { .. })));
    let total = trailing.len() as u32;
    trailing[16..20].copy_from_slice(&total.to_le_bytes());
    assert_eq!(Manifest::decode(&trailing), Err(DecodeError::TrailingBytes));

    assert_eq!(Manifest::decode(&good[..10]), Err(DecodeError::Truncated));

    let mut app_type = good.clone();
    app_type[6] = 9;
    assert_eq!(Manifest::decode(&app_type), Err(DecodeError::UnknownApplicationType(9)));

    let mut flags = good.clone();
    flags[11] = 0x80;
    assert!(matches!(Manifest::decode(&flags), Err(DecodeError::UnknownCapabilityFlags(_))));

    // The two GPIO pins 1, 2 start after the name: swap them.
    let gpio_at = HEADER_SIZE + 1 + 3 + 1;
    let mut unsorted = good.clone();
    unsorted[gpio_at..gpio_at + 4].copy_from_slice(&[2, 0, 1, 0]);
    assert!(matches!(Manifest::decode(&unsorted), Err(DecodeError::Invalid(_))));

    // Upper case in the host name.
    let mut upper = good.clone();
    let at = upper.iter().position(|&b| b == b'e' && upper.len() > 5).unwrap();
    upper[at] = b'E';
    assert!(matches!(Manifest::decode(&upper), Err(DecodeError::Invalid(_))));
}
