//! Links the kernel with `linker/kernel.ld` and embeds the boot image named
//! by `TESSERA_BOOT_IMAGE` (xtask sets it; without it the image is empty and
//! the kernel says so at boot).

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let script = manifest.join("../linker/kernel.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rerun-if-env-changed=TESSERA_BOOT_IMAGE");
    if env::var("TARGET").is_ok_and(|t| t.starts_with("armv7a")) {
        println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    }
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("boot.img");
    match env::var("TESSERA_BOOT_IMAGE") {
        Ok(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={path}");
            fs::copy(&path, &out).unwrap_or_else(|e| panic!("cannot read boot image {path}: {e}"));
        }
        _ => fs::write(&out, []).unwrap(),
    }
}
