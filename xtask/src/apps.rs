//! Apps: the crates in `userland/apps/` (samples and your own) and
//! `userland/test-apps/` (fixtures the QEMU scenarios need), each with an
//! `app_manifest.json` beside its `Cargo.toml`. xtask builds each one,
//! checks its manifest against the board's hardware definition, and packs
//! ELF and binary manifest into an image package signed with the checkout's
//! development key (docs/apps.md, docs/packages.md).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tessera_abi::elf::{u16_at, u32_at};
use tessera_abi::package;
use tessera_abi::NAME_MAX;
use tessera_manifest::{check_file, BoardId, CheckOptions};

use crate::manifest::definitions_dir;
use crate::{show, workspace_root, Result};

/// The folders apps live in, relative to the workspace root.
pub const APP_DIRS: [&str; 2] = ["userland/apps", "userland/test-apps"];
/// Boot-image names starting with this are test fixtures: `init` starts
/// them only in the `apps` scenario, never in a normal boot.
pub const TEST_PREFIX: &str = "test-";
/// The boot-image entry holding the trusted public keys.
pub const TRUSTED_KEYS_ENTRY: &str = "trusted-keys";
/// The app the tampered and unsigned fixtures are made from.
pub const FIXTURE_SOURCE: &str = "blinky";

/// One app crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    /// The crate name: also its binary's, its boot-image entry's and its
    /// process's name.
    pub name: String,
    /// Its folder.
    pub dir: PathBuf,
    /// The board its manifest is resolved for.
    pub board: BoardId,
}

impl App {
    /// Its `app_manifest.json`.
    pub fn manifest_path(&self) -> PathBuf {
        self.dir.join("app_manifest.json")
    }
}

/// The hardware definition xtask resolves a manifest with on `board`.
pub fn definition_for(board: BoardId) -> PathBuf {
    definitions_dir().join(board.board().definition_file)
}

fn board_named(name: &str) -> Option<BoardId> {
    match name {
        "qemu" | "qemu-virt" => Some(BoardId::QemuVirt),
        "mt3620" => Some(BoardId::Mt3620),
        _ => None,
    }
}

/// Reads the apps from `cargo metadata` output: workspace packages whose
/// manifest lies in one of [`APP_DIRS`], sorted by name.
pub fn apps_from_metadata(metadata: &serde_json::Value, root: &Path) -> Result<Vec<App>> {
    let packages = metadata["packages"].as_array().ok_or("cargo metadata printed no packages")?;
    let mut apps = Vec::new();
    for package in packages {
        let Some(manifest) = package["manifest_path"].as_str().map(Path::new) else { continue };
        let Some(dir) = manifest.parent() else { continue };
        let in_app_dir = APP_DIRS.iter().any(|apps_dir| dir.parent() == Some(&root.join(apps_dir)));
        if !in_app_dir {
            continue;
        }
        let name = package["name"].as_str().ok_or("a package without a name")?.to_string();
        let board = match package["metadata"]["tessera"]["board"].as_str() {
            None => BoardId::QemuVirt,
            Some(board) => board_named(board).ok_or_else(|| {
                format!("{}: package.metadata.tessera.board = {board:?}: use \"qemu\" or \"mt3620\"", show(manifest))
            })?,
        };
        apps.push(App { name, dir: dir.to_path_buf(), board });
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(apps)
}

/// The apps of this workspace.
pub fn discover() -> Result<Vec<App>> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace_root())
        .output()
        .map_err(|err| format!("cannot run cargo metadata: {err}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed:\n{}", String::from_utf8_lossy(&output.stderr)));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|err| format!("cannot read cargo metadata's output: {err}"))?;
    let root = workspace_root().canonicalize().map_err(|err| format!("cannot find the workspace: {err}"))?;
    apps_from_metadata(&metadata, &root)
}

/// Checks the names of `apps` against each other and the `programs`:
/// unique, boot-image sized, not the trusted-keys entry.
pub fn check_names(apps: &[App], programs: &[String]) -> Result<()> {
    for app in apps {
        if app.name.len() > NAME_MAX {
            return Err(format!(
                "the app name `{}` is longer than {NAME_MAX} bytes; rename the package in {}",
                app.name,
                show(&app.dir.join("Cargo.toml"))
            ));
        }
        if programs.contains(&app.name) || app.name == TRUSTED_KEYS_ENTRY || app.name == "kernel" {
            return Err(format!(
                "the app `{}` has the name of a system program; rename the package in {}",
                app.name,
                show(&app.dir.join("Cargo.toml"))
            ));
        }
    }
    Ok(())
}

/// Checks `app`'s manifest and packs `elf` with its binary form; returns
/// the signed package.
pub fn package_app(app: &App, elf: &[u8]) -> Result<Vec<u8>> {
    let manifest_path = app.manifest_path();
    if !manifest_path.is_file() {
        return Err(format!(
            "the app `{}` has no app_manifest.json; write {} (see docs/manifests.md)",
            app.name,
            show(&manifest_path)
        ));
    }
    let options = CheckOptions {
        hardware_definition: Some(definition_for(app.board)),
        board: Some(app.board),
        search_dirs: vec![definitions_dir()],
    };
    let checked = check_file(&manifest_path, &options).map_err(|err| format!("app `{}`: {err}", app.name))?;
    let binary = checked
        .binary
        .ok_or_else(|| format!("{}: ComponentId: missing: an app's manifest needs one", show(&manifest_path)))?;
    crate::signing::sign_package(elf, &binary)
}

/// The fixtures made from a good package: `test-tampered` (one ELF byte
/// changed after signing), `test-unsigned` (no signature) and
/// `test-truncated` (cut short: undecodable).
pub fn fixtures(good: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let parsed = package::Package::parse(good).map_err(|err| format!("internal error: {err}"))?;
    let header = *parsed.header();
    let mut tampered = good.to_vec();
    let at = header.elf_offset as usize + header.elf_size as usize / 2;
    tampered[at] ^= 0x01;
    let mut unsigned = good.to_vec();
    let signature = header.signature_offset as usize;
    unsigned[signature..signature + package::SIGNATURE_SIZE].fill(0);
    let truncated = good[..good.len() - 1].to_vec();
    Ok(vec![
        (format!("{TEST_PREFIX}tampered"), tampered),
        (format!("{TEST_PREFIX}unsigned"), unsigned),
        (format!("{TEST_PREFIX}truncated"), truncated),
    ])
}

/// The A7 test image's fixture `test-app-area`: blinky's package with its
/// first writable segment moved into the MiB `init`'s loader maps an
/// app's start information, buffers and heap into
/// (`tessera_abi::layout::APP_AREA`), signed again: a well-formed, signed
/// package that `init` must refuse for its program before any server
/// records it.
pub fn app_area_fixture(good: &[u8]) -> Result<(String, Vec<u8>)> {
    let parsed = package::Package::parse(good).map_err(|err| format!("internal error: {err}"))?;
    let mut elf = parsed.elf().to_vec();
    let short = || "internal error: blinky's ELF is shorter than its headers say".to_string();
    let table = u32_at(&elf, 28).ok_or_else(short)? as usize;
    let (entry_size, count) = (u16_at(&elf, 42).ok_or_else(short)?, u16_at(&elf, 44).ok_or_else(short)?);
    let writable = (0..usize::from(count)).map(|index| table + index * usize::from(entry_size)).find(|&header| {
        // PT_LOAD with PF_W.
        u32_at(&elf, header) == Some(1) && u32_at(&elf, header + 24).is_some_and(|flags| flags & 2 != 0)
    });
    let header = writable.ok_or("internal error: blinky's ELF has no writable segment")?;
    let moved = tessera_abi::layout::APP_AREA.start + u32_at(&elf, header + 8).ok_or_else(short)? % 0x1000;
    for at in [header + 8, header + 12] {
        elf[at..at + 4].copy_from_slice(&moved.to_le_bytes());
    }
    let package = crate::signing::sign_package(&elf, parsed.manifest())?;
    Ok((format!("{TEST_PREFIX}app-area"), package))
}

/// True if the app `name` is a test fixture (only in the test image).
pub fn is_test_app(name: &str) -> bool {
    name.starts_with(TEST_PREFIX)
}

/// Names of the fixtures that run only on the M4 (`qemu:mps2-boot`'s
/// image, and one by name in `qemu:mps2-mt3620-ram`), never on the A7.
pub const M4_FIXTURE_PREFIX: &str = "test-m4-";

/// True if the app `name` is an M4-only fixture.
pub fn is_m4_fixture(name: &str) -> bool {
    name.starts_with(M4_FIXTURE_PREFIX)
}

/// True if `app`'s manifest says `"ApplicationType": "RealTimeCapable"`:
/// it runs on the M4 cores only, so A7 images leave it out (its `init`
/// would refuse it by name). A manifest that does not read is not one
/// (packing it reports why).
pub fn is_real_time(app: &App) -> bool {
    fs::read(app.manifest_path()).ok().is_some_and(|bytes| {
        tessera_manifest::AppManifest::parse(&bytes, "app_manifest.json")
            .is_ok_and(|manifest| manifest.application_type == tessera_abi::manifest::ApplicationType::RealTimeCapable)
    })
}

/// Builds the packages of `apps` from their ELFs in `release_dir`, plus the
/// trusted keys and, with `fixtures`, the package fixtures made from
/// blinky's: the boot-image entries apps need.
pub fn entries(apps: &[App], release_dir: &Path, with_fixtures: bool) -> Result<Vec<(String, Vec<u8>)>> {
    let mut entries = Vec::new();
    for app in apps {
        let path = release_dir.join(&app.name);
        let elf =
            fs::read(&path).map_err(|err| format!("cannot read the app `{}` at {}: {err}", app.name, show(&path)))?;
        let package = package_app(app, &elf)?;
        if with_fixtures && app.name == FIXTURE_SOURCE {
            entries.extend(fixtures(&package)?);
            entries.push(app_area_fixture(&package)?);
        }
        entries.push((app.name.clone(), package));
    }
    let key = crate::signing::DevelopmentKey::load_or_create(&workspace_root())?;
    entries.push((TRUSTED_KEYS_ENTRY.to_string(), crate::signing::trusted_keys_blob(&[key.trusted_key()])?));
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_are_found_in_the_app_folders_only() {
        let root = Path::new("/w");
        let metadata = serde_json::json!({"packages": [
            {"name": "blinky", "manifest_path": "/w/userland/apps/blinky/Cargo.toml", "metadata": null},
            {"name": "i2c", "manifest_path": "/w/userland/test-apps/i2c/Cargo.toml",
             "metadata": {"tessera": {"board": "mt3620"}}},
            {"name": "tessera-rt", "manifest_path": "/w/userland/rt/Cargo.toml", "metadata": null},
            {"name": "deep", "manifest_path": "/w/userland/apps/a/b/Cargo.toml", "metadata": null},
        ]});
        let apps = apps_from_metadata(&metadata, root).unwrap();
        let found: Vec<(&str, BoardId)> = apps.iter().map(|app| (app.name.as_str(), app.board)).collect();
        assert_eq!(found, [("blinky", BoardId::QemuVirt), ("i2c", BoardId::Mt3620)]);
        let bad = serde_json::json!({"packages": [
            {"name": "x", "manifest_path": "/w/userland/apps/x/Cargo.toml", "metadata": {"tessera": {"board": "pc"}}},
        ]});
        let err = apps_from_metadata(&bad, root).unwrap_err();
        assert!(err.contains("\"pc\"") && err.contains("mt3620"), "{err}");
    }

    #[test]
    fn names_must_not_clash() {
        let app = |name: &str| App { name: name.to_string(), dir: PathBuf::from("/a"), board: BoardId::QemuVirt };
        assert!(check_names(&[app("blinky")], &["init".to_string()]).is_ok());
        assert!(check_names(&[app("init")], &["init".to_string()]).unwrap_err().contains("system program"));
        assert!(check_names(&[app(TRUSTED_KEYS_ENTRY)], &[]).is_err());
        assert!(check_names(&[app(&"x".repeat(NAME_MAX + 1))], &[]).unwrap_err().contains("longer"));
    }

    #[test]
    fn real_time_apps_are_told_by_their_manifest() {
        let apps = discover().unwrap();
        let real_time = |name: &str| is_real_time(apps.iter().find(|app| app.name == name).unwrap());
        assert!(real_time("rtblinky") && real_time("test-m4-gpio"));
        assert!(!real_time("blinky") && !real_time("test-needs-i2c"));
        // No manifest: not one (packing it says why).
        let missing = App { name: "x".to_string(), dir: PathBuf::from("/nowhere"), board: BoardId::Mt3620 };
        assert!(!is_real_time(&missing));
    }

    #[test]
    fn the_repository_apps_check_clean() {
        let apps = discover().unwrap();
        let names: Vec<&str> = apps.iter().map(|app| app.name.as_str()).collect();
        for expected in ["blinky", "hostile", "crasher", "test-needs-i2c"] {
            assert!(names.contains(&expected), "{names:?}");
        }
        for app in &apps {
            let package = package_app(app, b"\x7fELF test").unwrap();
            assert!(package::Package::parse(&package).is_ok());
        }
    }
}
