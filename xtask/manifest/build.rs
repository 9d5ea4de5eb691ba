//! Writes the QEMU virt entry of the board table (`src/board.rs`) from its
//! description, `qemu/virt/board.json` (`grants`): its name, hardware
//! definition and the names of its app UARTs. What it grants is decided by
//! `init`'s code (`tessera_init_core::grants::plan`), not by this table.

use std::fmt::Write;
use std::{env, fs, path::PathBuf};

use tessera_board::Board;

fn main() {
    let board = Board::load_for_build("virt");
    board.print_rerun_lines();
    let grants = &board.grants;
    let mut controllers = String::new();
    for uart in &grants.uarts {
        let value = &uart.manifest_value;
        write!(
            controllers,
            "Controller {{ kind: ControllerKind::Uart, manifest_value: {value:?}, id: {id}, block: {value:?}, pins: &[] }}, ",
            id = uart.id
        )
        .unwrap();
    }
    let source = format!(
        "// Generated from qemu/virt/board.json by xtask/manifest/build.rs: do not edit.\n\
         /// {name}, from its description `qemu/virt/board.json`: the names of the\n\
         /// app UARTs its servers drive (the PL011 is the kernel's console); `init`\n\
         /// decides what it grants.\n\
         pub static QEMU_VIRT: Board = Board {{ name: {name:?}, definition_name: {definition_name:?}, \
         definition_file: {definition_file:?}, controllers: &[{controllers}], \
         rules: Rules::Init(&tessera_init_core::grants::QEMU_VIRT) }};\n",
        name = board.name,
        definition_name = grants.definition_name,
        definition_file = grants.hardware_definition,
    );
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("qemu_virt_board.rs");
    fs::write(&out, source).unwrap_or_else(|err| panic!("cannot write {}: {err}", out.display()));
}
