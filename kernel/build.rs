//! Links the kernel with `linker/kernel.ld`, whose memory region
//! (`board-memory.ld`) is written here from the board's description
//! (`qemu/<board>/board.json`), and embeds the boot image named by
//! `TESSERA_BOOT_IMAGE` (xtask sets it; without it the image is empty and
//! the kernel says so at boot).

use std::{env, fs, path::PathBuf};

use tessera_board::Board;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let script = manifest.join("../linker/kernel.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-env-changed=TESSERA_BOOT_IMAGE");
    let board = Board::selected_for_build();
    board.print_rerun_lines();
    fs::write(out_dir.join("board-memory.ld"), board.linker_memory()).unwrap();
    if env::var("TARGET").is_ok_and(|t| t.starts_with("armv7a")) {
        // `INCLUDE board-memory.ld` in the script finds it on the search path.
        println!("cargo:rustc-link-arg-bins=-L{}", out_dir.display());
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    }
    let out = out_dir.join("boot.img");
    match env::var("TESSERA_BOOT_IMAGE") {
        Ok(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={path}");
            fs::copy(&path, &out).unwrap_or_else(|e| panic!("cannot read boot image {path}: {e}"));
        }
        _ => fs::write(&out, []).unwrap(),
    }
}
