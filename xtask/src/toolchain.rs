//! Makes sure the Rust targets xtask builds for are installed.
//!
//! A fresh machine has the pinned toolchain (`rust-toolchain.toml`) but not
//! always its extra targets, and with `RUSTUP_AUTO_INSTALL=0` rustup adds
//! nothing by itself. Before building for a target, xtask looks for the
//! target's standard library in the active toolchain's sysroot and runs
//! `rustup target add` when it is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{describe, run_streamed, workspace_root, Result};

/// The sysroot of the toolchain cargo uses in the workspace
/// (`rustc --print sysroot`, run where `rust-toolchain.toml` applies).
fn sysroot() -> Result<PathBuf> {
    let mut command = Command::new(rustc());
    command.args(["--print", "sysroot"]).current_dir(workspace_root()).stderr(Stdio::inherit());
    let text = describe(&command);
    let output = command.output().map_err(|err| format!("cannot run `{text}`: {err}; is Rust installed?"))?;
    if !output.status.success() {
        return Err(format!("`{text}` failed ({}); is the pinned toolchain installed?", output.status));
    }
    let path = String::from_utf8(output.stdout).map_err(|_| format!("`{text}` printed a path that is not UTF-8"))?;
    Ok(PathBuf::from(path.trim()))
}

/// `rustc` as cargo would run it.
fn rustc() -> std::ffi::OsString {
    std::env::var_os("RUSTC").filter(|value| !value.is_empty()).unwrap_or_else(|| "rustc".into())
}

/// Whether `sysroot` holds the standard library for `target`.
fn has_target(sysroot: &Path, target: &str) -> bool {
    sysroot.join("lib").join("rustlib").join(target).join("lib").is_dir()
}

/// The message for a target that is missing and cannot be added here.
fn missing_hint(target: &str) -> String {
    format!("the Rust target {target} is not installed; add it with: rustup target add {target}")
}

/// Makes sure the active toolchain can build for `target`, running
/// `rustup target add` (with a progress line) when it cannot.
pub fn ensure_target(target: &str) -> Result<()> {
    let sysroot = sysroot()?;
    if has_target(&sysroot, target) {
        return Ok(());
    }
    println!("==> the Rust target {target} is missing; installing it with rustup");
    let mut add = Command::new("rustup");
    add.args(["target", "add", target]).current_dir(workspace_root());
    run_streamed(add).map_err(|err| format!("{err}; {}", missing_hint(target)))?;
    if has_target(&sysroot, target) {
        Ok(())
    } else {
        Err(format!("rustup finished but {} still has no {target}; {}", sysroot.display(), missing_hint(target)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_found_by_its_library_folder() {
        let sysroot = std::env::temp_dir().join(format!("xtask-sysroot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&sysroot);
        std::fs::create_dir_all(sysroot.join("lib/rustlib/armv7a-none-eabi/lib")).unwrap();
        std::fs::create_dir_all(sysroot.join("lib/rustlib/thumbv7em-none-eabihf")).unwrap();
        let found = has_target(&sysroot, "armv7a-none-eabi");
        let without_lib = has_target(&sysroot, "thumbv7em-none-eabihf");
        let absent = has_target(&sysroot, "no-such-target-none-eabi");
        std::fs::remove_dir_all(&sysroot).unwrap();
        assert!(found);
        assert!(!without_lib);
        assert!(!absent);
    }

    #[test]
    fn the_real_sysroot_has_a_standard_library() {
        let sysroot = sysroot().unwrap();
        let rustlib = sysroot.join("lib/rustlib");
        let any = std::fs::read_dir(&rustlib)
            .unwrap()
            .flatten()
            .any(|entry| has_target(&sysroot, &entry.file_name().to_string_lossy()));
        assert!(any, "{} holds no target's library", rustlib.display());
    }

    #[test]
    fn the_hint_names_the_command() {
        assert_eq!(
            missing_hint("armv7a-none-eabi"),
            "the Rust target armv7a-none-eabi is not installed; add it with: rustup target add armv7a-none-eabi"
        );
    }
}
