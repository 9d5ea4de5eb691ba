//! Build-script support for Tessera apps (and the system programs and
//! servers, which link the same way). An app's `build.rs` is
//!
//! ```ignore
//! fn main() {
//!     tessera_app_build::link();
//! }
//! ```
//!
//! with `tessera-app-build` as a build-dependency (`cargo xtask new-app`
//! writes both).
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// `linker/user.ld`: the memory layout every user program is linked with.
pub fn linker_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../linker/user.ld")
}

/// The linker arguments for an app built for `target`: none on the host
/// (where apps are not linked to run), else the user linker script, 4 KiB
/// segment alignment (small files) and no symbols (the loader needs none).
pub fn link_args(target: &str) -> Vec<String> {
    if !target.starts_with("armv7a") {
        return Vec::new();
    }
    vec![format!("-T{}", linker_script().display()), "-zmax-page-size=4096".to_string(), "--strip-all".to_string()]
}

/// Call from an app's build script: links its binaries as Tessera apps.
pub fn link() {
    println!("cargo:rerun-if-changed={}", linker_script().display());
    let target = std::env::var("TARGET").unwrap_or_default();
    for arg in link_args(&target) {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_only_for_the_device_target() {
        assert!(link_args("x86_64-unknown-linux-gnu").is_empty());
        let args = link_args("armv7a-none-eabi");
        assert!(args[0].starts_with("-T") && args[0].ends_with("user.ld"), "{args:?}");
        assert!(linker_script().is_file());
    }
}
