//! The bodies of the fuzz targets in `xtask/manifest/fuzz/`, shared with the tests so a crash replays as a test.
//!
//! Each takes any bytes and panics only when an invariant breaks: the
//! parsers themselves must return errors, never panic.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tessera_abi::app::ServerKind;
use tessera_abi::manifest::{Manifest, MAX_ENCODED_LEN};

use crate::board::BoardId;
use crate::hardware::{HardwareDefinition, MemoryFiles};
use crate::json::Json;
use crate::{check_bytes, grants, AppManifest, CheckOptions};

/// Our MT3620 definition, as shipped.
pub const MT3620_JSON: &str = include_str!("../../../userland/hardware-definitions/mt3620.json");
/// Our MT3620 RDB definition, as shipped.
pub const MT3620_RDB_JSON: &str = include_str!("../../../userland/hardware-definitions/mt3620_rdb.json");
/// Our QEMU virt definition, as shipped.
pub const QEMU_VIRT_JSON: &str = include_str!("../../../userland/hardware-definitions/qemu_virt.json");
/// A small application-level definition (the test data's), so `$NAME`s
/// in fuzzed manifests have something to resolve to.
pub const SAMPLE_BOARD_JSON: &str = include_str!("../tests/data/hardware/sample_board.json");

/// The shipped definitions in memory: `defs/` holds the base files and
/// `app/sample_board.json` imports the RDB file from there.
pub fn shipped_files() -> MemoryFiles {
    let mut files = MemoryFiles::new();
    files.insert("defs/mt3620.json", MT3620_JSON);
    files.insert("defs/mt3620_rdb.json", MT3620_RDB_JSON);
    files.insert("defs/qemu_virt.json", QEMU_VIRT_JSON);
    files.insert("app/sample_board.json", SAMPLE_BOARD_JSON);
    files
}

fn search_dirs() -> Vec<PathBuf> {
    vec![PathBuf::from("defs")]
}

fn sample_definition() -> &'static HardwareDefinition {
    static DEFINITION: OnceLock<HardwareDefinition> = OnceLock::new();
    DEFINITION.get_or_init(|| {
        HardwareDefinition::load(Path::new("app/sample_board.json"), &search_dirs(), &shipped_files())
            .expect("the shipped definitions load")
    })
}

/// Fuzz body `manifest_json`: parse and check a manifest against both
/// boards (with the sample definition for `$NAME`s); whatever passes must
/// encode, decode, decode to the same grants, and (on QEMU virt) get the
/// same plan from `init` at boot.
pub fn manifest_json(data: &[u8]) {
    let Ok(manifest) = AppManifest::parse(data, "fuzz.json") else { return };
    for board in BoardId::ALL {
        let definition = (board == BoardId::Mt3620).then(sample_definition);
        let Ok(granted) = grants::compute(&manifest, board, definition) else { continue };
        let _ = granted.describe();
        if granted.identity.is_none() {
            assert!(granted.encode().is_err(), "a fragment encoded");
            continue;
        }
        let bytes = granted.encode().unwrap_or_else(|err| panic!("a checked manifest does not encode: {err}"));
        let decoded = Manifest::decode(&bytes).expect("encode checks its output");
        assert!(decoded.gpios().eq(granted.gpios.iter().map(|grant| grant.pin)), "GPIO grants changed");
        assert!(decoded.allowed_connections().eq(granted.allowed_connections.iter().map(String::as_str)));
        assert!(decoded.tcp_server_ports().eq(granted.tcp_server_ports.iter().copied()));
        assert!(decoded.udp_server_ports().eq(granted.udp_server_ports.iter().copied()));
        assert!(decoded.application_connections().eq(granted.application_connections.iter().copied()));
        assert_eq!(decoded.mutable_storage_kib(), granted.mutable_storage_kib.unwrap_or(0));
        assert_eq!(decoded.flags(), granted.flags);
        assert_eq!(decoded.power_controls(), granted.power_controls);
        let controllers = decoded.uarts().count()
            + decoded.i2c_masters().count()
            + decoded.spi_masters().count()
            + decoded.adcs().count()
            + decoded.pwms().count();
        assert_eq!(controllers, granted.controllers.len(), "controller grants changed");
        // On a board `init` runs on, `init` grants at boot what the build reported.
        if let Some(offer) = board.board().offer() {
            let boot = tessera_init_core::grants::plan(&decoded, offer);
            assert_eq!(boot.ok(), granted.boot_plan, "the build and init disagree");
        }
    }
    // The whole front door, with the in-memory files.
    let options = CheckOptions {
        hardware_definition: Some(PathBuf::from("app/sample_board.json")),
        board: None,
        search_dirs: search_dirs(),
    };
    let _ = check_bytes(data, "fuzz.json", &options, &shipped_files());
}

/// Fuzz body `hardware_definition_json`: load a definition (imports may
/// name the shipped files); every name it defines must resolve or give a
/// reason, and the board guess must not panic.
pub fn hardware_definition_json(data: &[u8]) {
    let mut files = shipped_files();
    files.insert("fuzz/definition.json", data);
    let search = search_dirs();
    let Ok(definition) = HardwareDefinition::load(Path::new("fuzz/definition.json"), &search, &files) else { return };
    let _ = definition.board();
    assert!(definition.files().len() <= crate::hardware::MAX_DEFINITION_FILES);
    // Every name in the fuzzed file resolves: mappings were checked at load.
    let Ok(document) = crate::json::parse(data, "fuzz") else { panic!("a loaded definition does not parse") };
    let Ok(top) = crate::json::expect_object(&document, "") else { panic!("a loaded definition is not an object") };
    if let Some((_, Json::Array(peripherals))) = top.iter().find(|(key, _)| key == "Peripherals") {
        for peripheral in peripherals {
            let Json::Object(members) = peripheral else { continue };
            if let Some((_, Json::String(name))) = members.iter().find(|(key, _)| key == "Name") {
                if let Err(reason) = definition.resolve(name) {
                    panic!("`{name}` was accepted at load but does not resolve: {reason}");
                }
            }
        }
    }
}

/// Fuzz body `manifest_binary_decoding`: any bytes decode to a valid
/// manifest or an error; a valid one re-encodes to the same bytes, and
/// `init`'s grant plan for it (what the loader does next with a package's
/// manifest) grants nothing the board lacks or the manifest did not ask for.
pub fn manifest_binary_decoding(data: &[u8]) {
    let Ok(manifest) = Manifest::decode(data) else { return };
    assert!(data.len() <= MAX_ENCODED_LEN);
    let mut buffer = vec![0u8; MAX_ENCODED_LEN];
    let length = manifest.encode_into(&mut buffer).expect("a decoded manifest re-encodes");
    assert_eq!(&buffer[..length], data, "decode then encode changed the bytes");
    let board = tessera_init_core::grants::QEMU_VIRT;
    if let Ok(plan) = tessera_init_core::grants::plan(&manifest, &board) {
        let (gpio, uart) = (plan.badge(ServerKind::GPIO), plan.badge(ServerKind::UART));
        assert_eq!(gpio & !board.gpio_pins, 0, "a pin the board lacks was granted");
        assert_eq!(uart & !board.uarts, 0, "a UART the board lacks was granted");
        for pin in 0..32u16 {
            assert_eq!(gpio & (1 << pin) != 0, manifest.allows_gpio(pin), "pin {pin} granted unasked");
        }
    }
    let _ = tessera_init_core::grants::placeholders(&manifest).count();
}
