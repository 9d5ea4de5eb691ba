//! Manifests and hardware definitions from `tests/data/` and `userland/hardware-definitions/`, checked end to end.
//!
//! Good manifests must check clean with the expected grants; each bad one
//! must fail with an error naming the field and the reason. The fuzz
//! bodies also run here on the data files and on mutations of them, so the
//! fuzz targets' invariants are exercised by `cargo test`.

use std::fs;
use std::path::{Path, PathBuf};

use tessera_abi::manifest::{CapabilityFlags, Manifest, PowerControls};
use tessera_manifest::board::{BoardId, ControllerKind};
use tessera_manifest::hardware::{ManifestValue, PeripheralType};
use tessera_manifest::{check_bytes, check_file, fuzzing, CheckOptions, DiskFiles, HardwareDefinition};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped_dir() -> PathBuf {
    crate_dir().join("../../userland/hardware-definitions")
}

fn data(path: &str) -> PathBuf {
    crate_dir().join("tests/data").join(path)
}

fn options(definition: Option<&str>, board: Option<BoardId>) -> CheckOptions {
    CheckOptions {
        hardware_definition: definition.map(|name| data(&format!("hardware/{name}"))),
        board,
        search_dirs: vec![shipped_dir()],
    }
}

#[test]
fn shipped_definitions_agree_with_the_board_tables() {
    for board in BoardId::ALL {
        let description = board.board();
        let path = shipped_dir().join(description.definition_file);
        let definition = HardwareDefinition::load(&path, &[], &DiskFiles).unwrap();
        assert_eq!(definition.board().unwrap(), Some(board));
        let text = fs::read_to_string(&path).unwrap();
        let document: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut gpios = 0;
        let mut controllers = 0;
        for peripheral in document["Peripherals"].as_array().unwrap() {
            let name = peripheral["Name"].as_str().unwrap();
            let resolved = definition.resolve(name).unwrap();
            match (resolved.kind, resolved.value) {
                (PeripheralType::Gpio, Some(ManifestValue::Number(pin))) => {
                    assert!(description.has_gpio(pin), "{name}: GPIO {pin} is not in the {board} table");
                    gpios += 1;
                }
                (PeripheralType::Controller(kind), Some(ManifestValue::Text(value))) => {
                    assert!(description.controller(kind, &value).is_some(), "{name}: {value} not in the {board} table");
                    controllers += 1;
                }
                (PeripheralType::Int, None) => {}
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
        // Every GPIO and controller of the table has a name in the definition.
        let table_gpios: usize = description.gpio_ranges().iter().map(|range| range.clone().count()).sum();
        assert_eq!(gpios, table_gpios, "{board}");
        assert_eq!(controllers, description.controllers.len(), "{board}");
    }
    let rdb = HardwareDefinition::load(&shipped_dir().join("mt3620_rdb.json"), &[], &DiskFiles).unwrap();
    assert_eq!(rdb.board().unwrap(), Some(BoardId::Mt3620));
    let button = rdb.resolve("MT3620_RDB_BUTTON_A").unwrap();
    assert_eq!(button.value, Some(ManifestValue::Number(12)));
    assert_eq!(button.chain, ["MT3620_RDB_BUTTON_A", "MT3620_GPIO12"]);
}

/// `qemu/virt/board.json` is QEMU virt's one description: its hardware
/// definition must name exactly the GPIO pins and UARTs it grants, and
/// `init`'s offer must grant the same.
#[test]
fn qemu_virt_definition_and_offer_agree_with_the_description() {
    let board = tessera_board::Board::load("virt").unwrap();
    let grants = &board.grants;
    let path = shipped_dir().join(&grants.hardware_definition);
    let definition = HardwareDefinition::load(&path, &[], &DiskFiles).unwrap();
    assert_eq!(definition.board().unwrap(), Some(BoardId::QemuVirt));
    let text = fs::read_to_string(&path).unwrap();
    let document: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["Description"]["Name"], grants.definition_name.as_str());
    let (mut pins, mut uarts) = (Vec::new(), Vec::new());
    for peripheral in document["Peripherals"].as_array().unwrap() {
        let name = peripheral["Name"].as_str().unwrap();
        match definition.resolve(name).unwrap().value {
            Some(ManifestValue::Number(pin)) => pins.push(u16::try_from(pin).unwrap()),
            Some(ManifestValue::Text(value)) => uarts.push(value),
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
    pins.sort_unstable();
    let described: Vec<u16> = grants.pins().collect();
    assert_eq!(pins, described, "qemu_virt.json's GPIOs and board.json's grants.gpio_pins");
    let described: Vec<String> = grants.uarts.iter().map(|uart| uart.manifest_value.clone()).collect();
    assert_eq!(uarts, described, "qemu_virt.json's UARTs and board.json's grants.uarts");
    // The checker's entry (generated by build.rs) names the UARTs init's
    // offer grants, and decides with that offer (no pin table of its own).
    let table = BoardId::QemuVirt.board();
    assert_eq!(table.name, board.name);
    assert_eq!(table.definition_file, grants.hardware_definition);
    let offer = tessera_init_core::grants::QEMU_VIRT;
    assert_eq!(table.offer(), Some(&offer));
    assert_eq!(offer.name, board.name);
    assert_eq!((offer.wifi, offer.max_mutable_storage_kib), (grants.wifi, grants.max_mutable_storage_kib));
    let table_pins = (0..32u16).filter(|&pin| table.has_gpio(pin.into())).fold(0u32, |mask, pin| mask | 1 << pin);
    assert_eq!(offer.gpio_pins, table_pins);
    assert_eq!(offer.gpio_pins, grants.gpio_mask());
    let table_uarts = table.controllers_of(ControllerKind::Uart).fold(0u32, |mask, uart| mask | 1 << uart.id);
    assert_eq!(offer.uarts, table_uarts);
    assert_eq!(offer.uarts, grants.uart_mask());
}

#[test]
fn appliance_manifest_gets_its_grants() {
    let checked = check_file(&data("manifests/good/appliance_mt3620.json"), &options(Some("sample_board.json"), None))
        .unwrap_or_else(|err| panic!("{err}"));
    let grants = &checked.grants;
    assert_eq!(grants.board, BoardId::Mt3620);
    assert_eq!(grants.gpios.iter().map(|grant| grant.pin).collect::<Vec<_>>(), [2, 8, 12]);
    let controllers: Vec<(ControllerKind, &str)> =
        grants.controllers.iter().map(|grant| (grant.controller.kind, grant.controller.manifest_value)).collect();
    assert_eq!(
        controllers,
        [
            (ControllerKind::Uart, "ISU0"),
            (ControllerKind::I2cMaster, "ISU2"),
            (ControllerKind::SpiMaster, "ISU3"),
            (ControllerKind::Adc, "ADC-CONTROLLER-0")
        ]
    );
    assert_eq!(grants.allowed_connections, ["10.0.2.2", "global.azure-devices-provisioning.net"]);
    let text = grants.describe();
    assert!(text.contains("GPIO 8   as $TEST_LED"), "{text}");
    assert!(text.contains("device auth the device's own tenant"), "{text}");

    let binary = checked.binary.as_ref().unwrap();
    let manifest = Manifest::decode(binary).unwrap();
    assert_eq!(manifest.name(), "TestAppliance");
    assert!(manifest.gpios().eq([2, 8, 12]));
    assert!(manifest.uarts().eq([0]) && manifest.i2c_masters().eq([2]) && manifest.spi_masters().eq([3]));
    assert!(manifest.adcs().eq([0]) && manifest.pwms().next().is_none());
    assert!(manifest.tcp_server_ports().eq([11000]) && manifest.udp_server_ports().eq([5353]));
    assert_eq!(manifest.mutable_storage_kib(), 8);
    assert!(manifest.flags().contains(CapabilityFlags::WIFI_CONFIG | CapabilityFlags::DEVICE_AUTHENTICATION));
    assert_eq!(manifest.power_controls(), PowerControls::FORCE_REBOOT | PowerControls::SET_POWER_PROFILE);
    assert!(manifest.allows_connection("global.azure-devices-provisioning.net"));
}

#[test]
fn other_good_manifests() {
    let qemu = check_file(&data("manifests/good/blink_qemu.json"), &options(Some("qemu_board.json"), None)).unwrap();
    assert_eq!(qemu.grants.board, BoardId::QemuVirt);
    assert_eq!(qemu.grants.gpios.iter().map(|grant| grant.pin).collect::<Vec<_>>(), [0, 1]);
    // Without a definition the board's own names resolve, and QEMU is the default board.
    let raw = br#"{"Capabilities": {"Gpio": ["$QEMU_VIRT_GPIO3"], "Uart": ["$QEMU_VIRT_UART0"]}}"#;
    let checked = check_bytes(raw, "raw.json", &options(None, None), &DiskFiles).unwrap();
    assert_eq!(checked.grants.board, BoardId::QemuVirt);
    assert!(checked.binary.is_none(), "a fragment has no binary form");

    let realtime = check_file(&data("manifests/good/realtime.json"), &options(None, Some(BoardId::Mt3620))).unwrap();
    let binary = Manifest::decode(realtime.binary.as_ref().unwrap()).unwrap();
    assert_eq!(binary.application_type(), tessera_abi::manifest::ApplicationType::RealTimeCapable);
    assert_eq!(binary.application_connections().count(), 1);

    let fragment = check_file(&data("manifests/good/fragment.json"), &options(None, None)).unwrap();
    assert!(fragment.grants.allowed_connections.is_empty());
    assert_eq!(fragment.grants.notes.len(), 2, "{:?}", fragment.grants.notes);
}

#[test]
fn bad_manifests_name_the_field_and_reason() {
    let rdb = Some("sample_board.json");
    let cases: [(&str, Option<&str>, Option<BoardId>, &str); 16] = [
        ("malformed.json", rdb, None, "malformed.json: not valid JSON: EOF while parsing a value at line 6"),
        ("unknown_capability.json", rdb, None, "Capabilities.Teleporter: unknown capability `Teleporter`"),
        ("wrong_type.json", rdb, None, "Capabilities.Gpio: expected an array, found a string"),
        ("duplicate_pin.json", rdb, None, "Capabilities.Gpio[1]: GPIO 8 is already requested by Capabilities.Gpio[0]"),
        ("pin_out_of_range.json", rdb, None, "Capabilities.Gpio[1]: GPIO 99 does not exist on the MT3620"),
        ("unresolvable_name.json", rdb, None, "Capabilities.Gpio[0]: `TEST_LEDD` is not defined in"),
        ("absurd_storage.json", rdb, None, "Capabilities.MutableStorage.SizeKB: 4294967296 KiB is absurd"),
        (
            "storage_over_board_limit.json",
            rdb,
            None,
            "Capabilities.MutableStorage.SizeKB: 1024 KiB is more than the 64 KiB the MT3620 grants one app",
        ),
        ("i2c_on_qemu.json", None, None, "Capabilities.I2cMaster[0]: the QEMU virt board has no I2cMaster to grant"),
        (
            "isu_two_roles.json",
            rdb,
            None,
            "Capabilities.SpiMaster[0]: ISU1 is already used as a UART by Capabilities.Uart[0]",
        ),
        (
            "int_constant.json",
            rdb,
            None,
            "Capabilities.Adc[0]: `$TEST_ADC_CHANNEL` is an int constant, not a peripheral",
        ),
        ("pin_shared_with_adc.json", rdb, None, "Capabilities.Gpio[0]: GPIO 45 is a pin of ADC-CONTROLLER-0"),
        ("duplicate_key.json", rdb, None, "duplicate_key.json: not valid JSON: duplicate key `Gpio`"),
        ("wrong_peripheral_type.json", rdb, None, "Capabilities.Uart[0]: `$TEST_LED` is a Gpio peripheral, not a Uart"),
        (
            "url_not_host.json",
            rdb,
            None,
            "Capabilities.AllowedConnections[0]: `https://example.com:443/` is not a host name",
        ),
        (
            "realtime_network.json",
            rdb,
            None,
            "Capabilities.NetworkConfig: a RealTimeCapable app cannot have this capability",
        ),
    ];
    let mut seen = Vec::new();
    for (file, definition, board, expected) in cases {
        let path = data(&format!("manifests/bad/{file}"));
        let err = check_file(&path, &options(definition, board)).expect_err(file);
        let message = err.to_string().replace(&path.display().to_string(), file);
        assert!(message.starts_with(expected), "{file}:\n  got      {message}\n  expected {expected}");
        seen.push(file);
    }
    // Every bad file has a case.
    for entry in fs::read_dir(data("manifests/bad")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(seen.contains(&name.as_str()), "{name} has no expected error");
    }
}

#[test]
fn bad_definitions_are_refused() {
    let manifest = data("manifests/good/blink_qemu.json");
    let err = check_file(&manifest, &options(Some("cycle_a.json"), None)).unwrap_err();
    assert!(err.reason.starts_with("import cycle: "), "{err}");
    assert!(err.reason.contains("cycle_b.json -> ") && err.reason.ends_with("cycle_a.json"), "{err}");
    let err = check_file(&manifest, &options(Some("dangling_mapping.json"), None)).unwrap_err();
    assert!(err.field.ends_with("dangling_mapping.json: Peripherals[0].Mapping"), "{err}");
    assert!(err.reason.contains("maps to `MT3620_GPIO99`, which is not defined"), "{err}");
    // A definition for one board with --board naming another.
    let err = check_file(&manifest, &options(Some("qemu_board.json"), Some(BoardId::Mt3620))).unwrap_err();
    assert_eq!(err.field, "--board");
    assert!(err.reason.contains("describes the QEMU virt, not the MT3620"), "{err}");
}

#[test]
fn huge_inputs_are_refused_without_reading_them_whole() {
    let huge = format!(r#"{{"Capabilities": {{"AllowedConnections": ["{}"]}}}}"#, "a".repeat(2 * 1024 * 1024));
    let err = check_bytes(huge.as_bytes(), "huge.json", &options(None, None), &DiskFiles).unwrap_err();
    assert!(err.reason.contains("more than the 1048576 bytes"), "{err}");
    let many: Vec<String> = (0..300).map(|pin| pin.to_string()).collect();
    let text = format!(r#"{{"Capabilities": {{"Gpio": [{}]}}}}"#, many.join(","));
    let err = check_bytes(text.as_bytes(), "many.json", &options(None, None), &DiskFiles).unwrap_err();
    assert_eq!(err.to_string(), "Capabilities.Gpio: 300 entries, more than 256");
    let long_host = format!(r#"{{"Capabilities": {{"AllowedConnections": ["{}.com"]}}}}"#, "a".repeat(300));
    let err = check_bytes(long_host.as_bytes(), "long.json", &options(None, None), &DiskFiles).unwrap_err();
    assert!(err.reason.contains("more than 253"), "{err}");
}

use tessera_testing::Rng;

const JSON_PIECES: [&[u8]; 12] = [
    b"\"$TEST_LED\"",
    b"8",
    b"-1",
    b"1e3",
    b"[]",
    b"{}",
    b"\"ISU0\"",
    b"null",
    b"true",
    b",",
    b"\"",
    b"\"$MT3620_GPIO80\"",
];

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(3) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(4) {
            0 => bytes[at] = rng.next_u64() as u8,
            1 => {
                bytes.remove(at);
            }
            2 => {
                let piece = JSON_PIECES[rng.below(JSON_PIECES.len())];
                bytes.splice(at..at, piece.iter().copied());
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

fn seeds(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    files.sort();
    files.iter().map(|path| fs::read(path).unwrap()).collect()
}

#[test]
fn fuzz_bodies_hold_on_data_files_and_mutations() {
    let mut rng = Rng::new(0x6d61_6e69_6665_7374);
    let mut manifests = seeds(&data("manifests/good"));
    manifests.extend(seeds(&data("manifests/bad")));
    for seed in &manifests {
        fuzzing::manifest_json(seed);
        for _ in 0..150 {
            fuzzing::manifest_json(&mutate(seed, &mut rng));
        }
    }
    let mut definitions = seeds(&data("hardware"));
    definitions.extend(seeds(&shipped_dir()).into_iter().filter(|seed| seed.len() < 10_000));
    for seed in &definitions {
        fuzzing::hardware_definition_json(seed);
        for _ in 0..100 {
            fuzzing::hardware_definition_json(&mutate(seed, &mut rng));
        }
    }
    // Binary: the encodings of the good manifests, mutated.
    for seed in &manifests {
        for board in [None, Some(BoardId::Mt3620)] {
            let Ok(checked) = check_bytes(seed, "seed.json", &options(Some("sample_board.json"), board), &DiskFiles)
            else {
                continue;
            };
            let Some(binary) = checked.binary else { continue };
            fuzzing::manifest_binary_decoding(&binary);
            for _ in 0..300 {
                let mut bytes = binary.clone();
                let at = rng.below(bytes.len());
                bytes[at] = rng.next_u64() as u8;
                fuzzing::manifest_binary_decoding(&bytes);
            }
        }
    }
}

#[test]
fn corpus_checks_clean_when_present() {
    let corpus = crate_dir().join("../../../shared/corpus/azure-sphere-samples");
    let corpus = std::env::var_os("TESSERA_CORPUS").map(PathBuf::from).unwrap_or(corpus);
    if !corpus.is_dir() {
        // `cargo xtask test` (item manifest-corpus) fails when the corpus is missing.
        eprintln!("note: no corpus at {}; skipped here", corpus.display());
        return;
    }
    let entries = tessera_manifest::corpus::check_corpus(&corpus, &[shipped_dir()]).unwrap();
    assert!(!entries.is_empty());
    let failures: Vec<String> = entries
        .iter()
        .filter_map(|entry| entry.outcome.as_ref().err().map(|err| format!("{}: {err}", entry.manifest.display())))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
