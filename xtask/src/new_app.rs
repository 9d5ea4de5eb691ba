//! `cargo xtask new-app NAME`: writes a working app to `userland/apps/NAME/`
//! that the next `cargo xtask qemu` builds, signs and runs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tessera_abi::NAME_MAX;

use crate::apps::{TEST_PREFIX, TRUSTED_KEYS_ENTRY};
use crate::{show, workspace_root, Result};

/// Options of `cargo xtask new-app`.
#[derive(clap::Args)]
pub struct NewAppArgs {
    /// The app's name: lower-case letters, digits and `-`, starting with a
    /// letter (it names the crate, the binary and the process).
    name: String,
}

/// Checks `name` as an app name; the error says what to change.
pub fn check_name(name: &str) -> Result<()> {
    let valid_chars = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) || !valid_chars || name.ends_with('-') {
        return Err(format!(
            "`{name}` is not an app name: use lower-case letters, digits and `-`, starting with a letter"
        ));
    }
    if name.len() > NAME_MAX {
        return Err(format!("`{name}` is longer than {NAME_MAX} bytes (the longest process name)"));
    }
    if name.starts_with(TEST_PREFIX) || name == TRUSTED_KEYS_ENTRY || name == "kernel" || name.starts_with("tessera") {
        return Err(format!("`{name}` is reserved (`{TEST_PREFIX}*` names test fixtures); choose another name"));
    }
    Ok(())
}

/// A fresh random ComponentId in the manifest's text form (UUID version 4).
fn new_component_id() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|err| format!("cannot get random bytes for a ComponentId: {err}"))?;
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
}

/// The files of a new app called `name`: (path relative to its folder, text).
pub fn files(name: &str, component_id: &str) -> Vec<(&'static str, String)> {
    let cargo_toml = format!(
        r#"[package]
name = "{name}"
description = "A Tessera app"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
tessera-sdk.workspace = true

[build-dependencies]
tessera-app-build.workspace = true
"#
    );
    let build_rs = "//! Links this app as a Tessera app (see tessera-app-build).\n\n\
                    fn main() {\n    tessera_app_build::link();\n}\n"
        .to_string();
    let manifest = format!(
        r#"{{
    "SchemaVersion": 1,
    "Name": "{name}",
    "ComponentId": "{component_id}",
    "EntryPoint": "/bin/app",
    "CmdArgs": [],
    "Capabilities": {{
        "AllowedConnections": []
    }},
    "ApplicationType": "Default"
}}
"#
    );
    let main_rs = format!(
        r#"//! {name}: a Tessera app. It holds what app_manifest.json grants and
//! nothing else; add capabilities there (e.g. `"Gpio": ["$QEMU_VIRT_GPIO2"]`)
//! and use them through tessera_sdk (`app.gpio()?`). To talk to a host,
//! list it in `AllowedConnections` (a name, `"example.test"`, or an IPv4
//! address, `"10.0.2.2"`) and connect with
//! `tessera_sdk::net::TcpStream::connect(&app.net()?, "example.test", 8080)`;
//! the empty list grants nothing. See the README.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::time::{{Duration, Timer}};
use tessera_sdk::{{log, App, Error}};

tessera_sdk::app!(main);

fn main(_app: App) -> Result<(), Error> {{
    log!("{name}: hello from a new app");
    let mut timer = Timer::every(Duration::from_secs(1));
    for second in 1.. {{
        timer.wait();
        log!("{name}: running for {{}} s", second);
    }}
    Ok(())
}}
"#
    );
    vec![("Cargo.toml", cargo_toml), ("build.rs", build_rs), ("app_manifest.json", manifest), ("src/main.rs", main_rs)]
}

/// Writes app `name` under `root/userland/apps/`; returns its folder.
pub fn create(root: &Path, name: &str) -> Result<PathBuf> {
    check_name(name)?;
    let dir = root.join("userland").join("apps").join(name);
    if dir.exists() {
        return Err(format!("{} already exists; choose another name or remove it", show(&dir)));
    }
    for (_, folder) in crate::image::PROGRAM_FOLDERS {
        let program = root.join(folder).join(format!("{name}.rs"));
        if program.exists() || root.join(folder).join(name).join("main.rs").exists() {
            return Err(format!("`{name}` is the name of a system program ({}); choose another", show(&program)));
        }
    }
    for (relative, text) in files(name, &new_component_id()?) {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|err| format!("cannot create {}: {err}", show(parent)))?;
        }
        fs::write(&path, text).map_err(|err| format!("cannot write {}: {err}", show(&path)))?;
    }
    Ok(dir)
}

/// `cargo xtask new-app NAME`.
pub fn run(args: &NewAppArgs) -> Result<ExitCode> {
    let dir = create(&workspace_root(), &args.name)?;
    println!("==> created the app `{}` in {}", args.name, show(&dir));
    println!("    app_manifest.json  what it may use (nothing yet: AllowedConnections is empty)");
    println!("    src/main.rs        its code (tessera-sdk)");
    println!("Run it: cargo xtask qemu   (it is built, signed and started with the other apps)");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_manifest::{check_file, CheckOptions};

    #[test]
    fn names_are_checked() {
        assert!(check_name("demo").is_ok());
        assert!(check_name("my-app2").is_ok());
        for bad in ["", "Demo", "2app", "a_b", "app-", "test-x", "trusted-keys", "tessera-x", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name(&"a".repeat(NAME_MAX + 1)).is_err());
    }

    #[test]
    fn a_new_app_has_a_valid_manifest_and_refuses_to_overwrite() {
        let root = std::env::temp_dir().join(format!("xtask-new-app-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let dir = create(&root, "demo").unwrap();
        for (relative, _) in files("demo", "x") {
            assert!(dir.join(relative).is_file(), "{relative}");
        }
        let options = CheckOptions { hardware_definition: None, board: None, search_dirs: Vec::new() };
        let checked = check_file(&dir.join("app_manifest.json"), &options).unwrap();
        assert!(checked.binary.is_some());
        let err = create(&root, "demo").unwrap_err();
        assert!(err.contains("already exists"), "{err}");
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn component_ids_are_fresh_version_4_uuids() {
        let (a, b) = (new_component_id().unwrap(), new_component_id().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
