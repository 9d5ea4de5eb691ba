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

/// `linker/user-m.ld`: the layout on Armv7-M, where each app is linked at
/// a slot of its own (user addresses are physical under the MPU).
pub fn m_linker_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../linker/user-m.ld")
}

/// The environment variable naming the slot an Armv7-M build of the app is
/// linked at (`address,bytes`, hex or decimal): `cargo xtask` sets it from
/// the board description's `apps`, one slot per app.
pub const M_SLOT_VARIABLE: &str = "TESSERA_M_APP_SLOT";

/// The environment variable naming where an Armv7-M build of the app runs
/// its code, in place in the boot image (an address, 4 KiB aligned):
/// `cargo xtask` sets it once it knows where the app's package lies
/// (docs/mt3620.md, "Code in place"). Without it the code is in the slot.
pub const M_TEXT_VARIABLE: &str = "TESSERA_M_APP_TEXT";

/// The linker arguments for an app built for `target`: none on the host
/// (where apps are not linked to run); for Armv7-A the user linker script,
/// 4 KiB segment alignment (small files) and no symbols (the loader needs
/// none); for Armv7-M the same with `user-m.ld` at `m_slot` (its address
/// and size), or an error without one.
pub fn link_args(target: &str, m_slot: Option<&str>, m_text: Option<&str>) -> Result<Vec<String>, String> {
    let common = ["-zmax-page-size=4096".to_string(), "--strip-all".to_string()];
    if target.starts_with("armv7a") {
        return Ok([vec![format!("-T{}", linker_script().display())], common.to_vec()].concat());
    }
    if !target.starts_with("thumbv7em") {
        return Ok(Vec::new());
    }
    let slot = m_slot.ok_or_else(|| {
        format!(
            "an app for {target} is linked at a slot of its own: build it with `cargo xtask qemu --board \
             mps2-an386` (which sets {M_SLOT_VARIABLE}), not with cargo alone"
        )
    })?;
    let (address, bytes) = parse_slot(slot)
        .ok_or_else(|| format!("{M_SLOT_VARIABLE}={slot:?}: expected ADDRESS,BYTES (0x20190000,0x20000)"))?;
    let mut args = vec![
        format!("--defsym=__tessera_slot={address:#x}"),
        format!("--defsym=__tessera_slot_bytes={bytes:#x}"),
        format!("-T{}", m_linker_script().display()),
    ];
    if let Some(text) = m_text {
        let code = parse_number(text)
            .filter(|code| code.is_multiple_of(4096))
            .ok_or_else(|| format!("{M_TEXT_VARIABLE}={text:?}: expected a 4 KiB aligned address (0x00102000)"))?;
        args.push(format!("--defsym=__tessera_text={code:#x}"));
    }
    Ok([args, common.to_vec()].concat())
}

/// A number, hex (`0x`) or decimal.
fn parse_number(text: &str) -> Option<u32> {
    let text = text.trim();
    match text.strip_prefix("0x") {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// `ADDRESS,BYTES`, each hex (`0x`) or decimal, both 4 KiB aligned and
/// non-zero.
fn parse_slot(text: &str) -> Option<(u32, u32)> {
    let (address, bytes) = text.split_once(',')?;
    let (address, bytes) = (parse_number(address)?, parse_number(bytes)?);
    let aligned = address.is_multiple_of(4096) && bytes.is_multiple_of(4096) && bytes != 0;
    (aligned && address.checked_add(bytes).is_some()).then_some((address, bytes))
}

/// Call from an app's build script: links its binaries as Tessera apps.
pub fn link() {
    println!("cargo:rerun-if-changed={}", linker_script().display());
    println!("cargo:rerun-if-changed={}", m_linker_script().display());
    println!("cargo:rerun-if-env-changed={M_SLOT_VARIABLE}");
    println!("cargo:rerun-if-env-changed={M_TEXT_VARIABLE}");
    let target = std::env::var("TARGET").unwrap_or_default();
    let slot = std::env::var(M_SLOT_VARIABLE).ok();
    let text = std::env::var(M_TEXT_VARIABLE).ok();
    match link_args(&target, slot.as_deref(), text.as_deref()) {
        Ok(args) => {
            for arg in args {
                println!("cargo:rustc-link-arg-bins={arg}");
            }
        }
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_only_for_the_device_target() {
        assert!(link_args("x86_64-unknown-linux-gnu", None, None).unwrap().is_empty());
        let args = link_args("armv7a-none-eabi", None, None).unwrap();
        assert!(args[0].starts_with("-T") && args[0].ends_with("user.ld"), "{args:?}");
        assert!(linker_script().is_file() && m_linker_script().is_file());
    }

    #[test]
    fn an_m_profile_app_needs_its_slot() {
        let err = link_args("thumbv7em-none-eabihf", None, None).unwrap_err();
        assert!(err.contains(M_SLOT_VARIABLE) && err.contains("cargo xtask"), "{err}");
        let args = link_args("thumbv7em-none-eabihf", Some("0x20190000,0x20000"), None).unwrap();
        assert_eq!(args[0], "--defsym=__tessera_slot=0x20190000");
        assert_eq!(args[1], "--defsym=__tessera_slot_bytes=0x20000");
        assert!(args[2].ends_with("user-m.ld"), "{args:?}");
        assert_eq!(link_args("thumbv7em-none-eabihf", Some("538509312, 131072"), None).unwrap(), args);
        for bad in ["", "0x20190000", "0x20190001,0x20000", "0x20190000,0", "x,y", "0xFFFFF000,0x2000"] {
            assert!(link_args("thumbv7em-none-eabihf", Some(bad), None).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_m_profile_app_may_run_its_code_in_place() {
        let args = link_args("thumbv7em-none-eabihf", Some("0x20190000,0x20000"), Some("0x00125000")).unwrap();
        assert_eq!(args[3], "--defsym=__tessera_text=0x125000");
        for bad in ["", "0x125001", "code"] {
            let err = link_args("thumbv7em-none-eabihf", Some("0x20190000,0x20000"), Some(bad)).unwrap_err();
            assert!(err.contains(M_TEXT_VARIABLE), "{err}");
        }
    }
}

/// The M-profile board an app is built for when `TESSERA_M_BOARD` names
/// none (xtask names it).
#[cfg(feature = "m-board")]
pub const DEFAULT_M_BOARD: &str = "mps2-an386";

/// Writes `$OUT_DIR/board.rs`: the constants of the M-profile board
/// named by `TESSERA_M_BOARD` (or [`DEFAULT_M_BOARD`]), from its
/// description, as the M kernel's build script writes them
/// (`tessera_board::armv7m::Board::rust_constants`). For programs that
/// must know where the board puts things (the hostile fixtures that aim
/// at the kernel, another program or a device), so that no address is
/// written down twice. Exits the build with the description's error.
/// (Feature `m-board`.)
#[cfg(feature = "m-board")]
pub fn m_board_constants() {
    println!("cargo:rerun-if-env-changed=TESSERA_M_BOARD");
    let folder = std::env::var("TESSERA_M_BOARD").unwrap_or_else(|_| DEFAULT_M_BOARD.to_string());
    let board = tessera_board::armv7m::Board::load(&folder).unwrap_or_else(|err| {
        eprintln!("error: {}", err.0);
        std::process::exit(1)
    });
    let description = tessera_board::armv7m::board_dir(&folder).join("board.json");
    println!("cargo:rerun-if-changed={}", description.display());
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts"));
    if let Err(err) = std::fs::write(out.join("board.rs"), board.rust_constants()) {
        eprintln!("error: cannot write {}: {err}", out.join("board.rs").display());
        std::process::exit(1)
    }
}
