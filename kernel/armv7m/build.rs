//! Links the M-profile kernel for its board: the memory regions of the
//! linker script and the constants the kernel reads come from
//! the board's `board.json` (`tessera_board::armv7m`: `qemu/<board>/` for
//! an emulated board, `boards/<board>/` for a real one), the board named
//! by `TESSERA_M_BOARD` or `mps2-an386`.

use std::env;
use std::fs;
use std::path::PathBuf;

use tessera_board::armv7m::{board_dir, Board};

/// The M-profile board when none is named.
const DEFAULT_BOARD: &str = "mps2-an386";

fn main() {
    println!("cargo:rerun-if-env-changed=TESSERA_M_BOARD");
    let folder = env::var("TESSERA_M_BOARD").unwrap_or_else(|_| DEFAULT_BOARD.to_string());
    let board = Board::load(&folder).unwrap_or_else(|err| {
        eprintln!("error: {err}");
        std::process::exit(1)
    });
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let description = board_dir(&folder).join("board.json");
    println!("cargo:rerun-if-changed={}", description.display());
    println!("cargo:rerun-if-changed={}", manifest.join("link.x").display());
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), board.linker_memory()).expect("cannot write memory.x");
    fs::write(out.join("board.rs"), board.rust_constants()).expect("cannot write board.rs");
    // The programs the portable kernel starts (xtask packs them; without
    // them the kernel runs the mechanism checks only).
    println!("cargo:rerun-if-env-changed=TESSERA_M_BOOT_IMAGE");
    let image = match env::var("TESSERA_M_BOOT_IMAGE") {
        Ok(path) => {
            println!("cargo:rerun-if-changed={path}");
            fs::read(&path).unwrap_or_else(|err| {
                eprintln!("error: cannot read the boot image {path}: {err}");
                std::process::exit(1)
            })
        }
        Err(_) => Vec::new(),
    };
    // The frame init maps the boot image through: at least 64 KiB, a power
    // of two aligned to itself, so the MPU gives it one region
    // (`kernel_core::mpu::RegionTable::map_block`); link.x aligns and pads
    // the section to it. No frame without an image (a
    // kernel built by hand, without xtask).
    let frame = if image.is_empty() { 0 } else { (image.len() as u64).next_power_of_two().max(64 * 1024) };
    fs::write(out.join("boot.img"), image).expect("cannot write boot.img");
    if env::var("TARGET").is_ok_and(|target| target.starts_with("thumbv7em")) {
        println!("cargo:rustc-link-arg-bins=--defsym=__boot_image_frame={frame:#x}");
        // Whether the mechanism checks' programs and stacks are linked in
        // (feature `checks`): link.x reserves their MPU regions only then.
        let checks = u32::from(env::var_os("CARGO_FEATURE_CHECKS").is_some());
        println!("cargo:rustc-link-arg-bins=--defsym=__mechanism_checks={checks}");
    }
    // Only the device target links with the script (xtask builds it for
    // thumbv7em-none-eabihf; nothing builds it for the host).
    if env::var("TARGET").is_ok_and(|target| target.starts_with("thumbv7em")) {
        println!("cargo:rustc-link-arg-bins=-L{}", out.display());
        println!("cargo:rustc-link-arg-bins=-T{}", manifest.join("link.x").display());
        // Segments aligned in the file as in memory to the board's code
        // alignment, not to 64 KiB pages: the ELF goes into an image
        // package whole, and the MT3620's flash is 1 MiB.
        println!("cargo:rustc-link-arg-bins=-zmax-page-size={}", board.memory.code_align);
        // Code and read-only data in one segment: a loader that maps the
        // file's code memory part as one window (the MT3620's, as
        // Microsoft's samples are built) then finds every byte where the
        // ELF says (`cargo xtask mt3620 package` checks it).
        println!("cargo:rustc-link-arg-bins=--no-rosegment");
    }
}
