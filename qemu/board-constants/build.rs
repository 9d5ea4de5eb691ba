//! Writes the selected board's facts (`qemu/<board>/board.json`, checked by
//! `tessera-board`) as Rust constants into `OUT_DIR/board.rs`.

use std::{env, fs, path::PathBuf};

use tessera_board::Board;

fn main() {
    let board = Board::selected_for_build();
    board.print_rerun_lines();
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("board.rs");
    fs::write(&out, board.rust_constants()).unwrap_or_else(|err| panic!("cannot write {}: {err}", out.display()));
}
