//! Links every program with `linker/user.ld`.

use std::{env, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let script = manifest.join("../../linker/user.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    if env::var("TARGET").is_ok_and(|t| t.starts_with("armv7a")) {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
        // Segments are page aligned in memory; 4 KiB file alignment (not the
        // 64 KiB default) keeps each program file small.
        println!("cargo:rustc-link-arg-bins=-zmax-page-size=4096");
    }
}
