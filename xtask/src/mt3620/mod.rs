//! `cargo xtask mt3620`: Tessera for the MT3620's real-time cores
//! (docs/mt3620.md). `package` builds the M-profile kernel for the board
//! described in `boards/mt3620/`, checks its memory layout, packs it with
//! the board's top-level `app_manifest.json` into an ASXipFS image, adds
//! the Azure Sphere metadata and a development signature made with the
//! app test key Microsoft ships in `azuresphere-imagemetadata`, and checks
//! the result with that library. `sideload` prints (or, with the Azure
//! Sphere CLI installed, runs) the commands that put it on a board.
//!
//! Microsoft's library lives in a virtual environment under
//! `target/mt3620/venv`, installed from PyPI on first use.

pub mod asxipfs;
pub mod layout;
pub mod metadata;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use p256::ecdsa::SigningKey;
use p256::pkcs8::DecodePrivateKey;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use tessera_abi::manifest::ApplicationType;
use tessera_board::armv7m::{board_dir, Board};
use tessera_manifest::AppManifest;

use self::metadata::{Facts, Guid};
use crate::{describe, run_streamed, show, target_dir, Result};

/// The board folder (`boards/mt3620`).
pub const BOARD: &str = "mt3620";
/// The PyPI package and version that checks packages.
pub const LIBRARY: &str = "azuresphere-imagemetadata==0.2.2";
/// The ASXipFS volume name.
const VOLUME: &str = "Tessera";
/// Where the ELF goes inside the package (the manifest's `EntryPoint`).
const ENTRY_POINT: &str = "/bin/app";

#[derive(Args)]
pub struct Mt3620Args {
    #[command(subcommand)]
    command: Mt3620Command,
}

#[derive(Subcommand)]
enum Mt3620Command {
    /// Build the kernel for the MT3620's real-time core with `init`, the
    /// UART and GPIO servers and the apps, check its memory layout, and write
    /// target/mt3620/tessera-m4.imagepackage, development-signed and
    /// checked with Microsoft's library.
    Package {
        /// An app of userland/apps to put in the package (repeatable; the
        /// board has one app slot). Default: uartecho.
        #[arg(long = "app", value_name = "NAME")]
        apps: Vec<String>,
    },
    /// Print the commands that enable development mode on a board attached
    /// by USB and sideload the package (and run them when the Azure Sphere
    /// CLI `azsphere` is installed).
    Sideload,
}

pub fn run(args: &Mt3620Args) -> Result<ExitCode> {
    match &args.command {
        Mt3620Command::Package { apps } => {
            let built = package(apps)?;
            check(&built)?;
            Ok(ExitCode::SUCCESS)
        }
        Mt3620Command::Sideload => sideload(),
    }
}

/// The folder packages and the library go to.
fn out_dir() -> PathBuf {
    target_dir().join("mt3620")
}

/// The package `package` writes.
pub fn package_path() -> PathBuf {
    out_dir().join("tessera-m4.imagepackage")
}

/// A written package and what it must say.
pub struct Built {
    pub path: PathBuf,
    pub component_id: Guid,
}

/// The apps a package holds when none are named.
pub const DEFAULT_APPS: [&str; 1] = ["uartecho"];

/// Builds the kernel's system build for the board (release,
/// `thumbv7em-none-eabihf`) around `init`, the servers and `apps`,
/// copies it to `target/mt3620/tessera-m4.elf` and returns its bytes.
fn build_kernel(apps: &[String]) -> Result<Vec<u8>> {
    crate::toolchain::ensure_target(crate::mps2::TARGET)?;
    println!("==> building Tessera for the MT3620's real-time core with the apps {}", apps.join(", "));
    // The package carries the ELF: without debug information it is a
    // tenth of the size (the symbols stay, for a debugger).
    let built = crate::mps2::build_for(BOARD, &[], Some(apps), true)?;
    let bytes = fs::read(&built).map_err(|err| format!("cannot read {}: {err}", show(&built)))?;
    fs::create_dir_all(out_dir()).map_err(|err| format!("cannot create {}: {err}", show(&out_dir())))?;
    let copy = out_dir().join("tessera-m4.elf");
    fs::write(&copy, &bytes).map_err(|err| format!("cannot write {}: {err}", show(&copy)))?;
    Ok(bytes)
}

/// Checks the kernel ELF's layout against the board; prints what it uses.
fn check_layout(board: &Board, elf: &[u8]) -> Result<()> {
    let sections = crate::elf::sections(elf)?;
    let (entry, segments) = crate::elf::load_segments(elf)?;
    match layout::check(board, entry, &segments, &sections) {
        Ok(usage) => {
            println!(
                "==> layout: vector table at {entry:#010x}; {} of {} KiB code memory, {} of {} KiB RAM, {} bytes of stack",
                usage.code_bytes,
                board.memory.code_bytes / 1024,
                usage.ram_bytes,
                board.memory.ram_bytes / 1024,
                usage.stack_bytes
            );
            Ok(())
        }
        Err(problems) => {
            Err(format!("the kernel's memory layout does not fit {}:\n    {}", board.name, problems.join("\n    ")))
        }
    }
}

/// Reads and checks the board's top-level manifest.
fn read_manifest() -> Result<(Vec<u8>, AppManifest)> {
    let path = board_dir(BOARD).join("app_manifest.json");
    let bytes = fs::read(&path).map_err(|err| format!("cannot read {}: {err}", show(&path)))?;
    let manifest = AppManifest::parse(&bytes, "app_manifest.json").map_err(|err| format!("{}: {err}", show(&path)))?;
    let identity =
        manifest.identity.as_ref().ok_or_else(|| format!("{}: no Name, ComponentId or EntryPoint", show(&path)))?;
    if manifest.application_type != ApplicationType::RealTimeCapable {
        return Err(format!("{}: ApplicationType must be \"RealTimeCapable\" for an M4 core", show(&path)));
    }
    if identity.entry_point != ENTRY_POINT {
        return Err(format!(
            "{}: EntryPoint must be \"{ENTRY_POINT}\", where the package puts the kernel",
            show(&path)
        ));
    }
    Ok((bytes, manifest))
}

/// The Python of the virtual environment with Microsoft's library,
/// created and installed from PyPI when missing.
fn library_python() -> Result<PathBuf> {
    let venv = out_dir().join("venv");
    let python = venv.join("bin").join("python3");
    let has_library = |python: &Path| {
        Command::new(python)
            .args(["-c", "import azuresphere_imagemetadata, cryptography"])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if python.is_file() && has_library(&python) {
        return Ok(python);
    }
    ensure_python_venv()?;
    println!("==> installing Microsoft's {LIBRARY} from PyPI into {}", show(&venv));
    let mut create = Command::new("python3");
    create.args(["-m", "venv", "--clear"]).arg(&venv);
    run_streamed(create)?;
    let mut install = Command::new(&python);
    install.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", LIBRARY]);
    run_streamed(install).map_err(|err| format!("{err}; PyPI must be reachable to install {LIBRARY}"))?;
    if has_library(&python) {
        Ok(python)
    } else {
        Err(format!("pip installed {LIBRARY} but {} cannot import it", show(&python)))
    }
}

/// Makes sure `python3` can make virtual environments, installing
/// Debian's `python3` and `python3-venv` with apt-get when it cannot and
/// xtask runs as root.
fn ensure_python_venv() -> Result<()> {
    let works = || {
        Command::new("python3")
            .args(["-c", "import venv, ensurepip"])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if works() {
        return Ok(());
    }
    let hint = "install them with: sudo apt-get install python3 python3-venv";
    if !crate::qemu::running_as_root() || !crate::qemu::on_path("apt-get") {
        return Err(format!("python3 with the venv module is needed to check image packages; {hint}"));
    }
    println!("==> python3 cannot make virtual environments; installing python3 python3-venv with apt-get");
    let mut update = Command::new("apt-get");
    update.arg("update");
    run_streamed(update).map_err(|err| format!("{err}; or {hint}"))?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "python3", "python3-venv"]).env("DEBIAN_FRONTEND", "noninteractive");
    run_streamed(install).map_err(|err| format!("{err}; or {hint}"))?;
    if works() {
        Ok(())
    } else {
        Err(format!("apt-get finished but python3 still cannot make virtual environments; {hint}"))
    }
}

/// Runs one of our Python scripts (`text`) with the library's Python.
fn run_script(python: &Path, name: &str, text: &str, args: &[&str]) -> Result<()> {
    let script = out_dir().join(name);
    fs::write(&script, text).map_err(|err| format!("cannot write {}: {err}", show(&script)))?;
    let mut command = Command::new(python);
    command.arg(&script).args(args);
    run_streamed(command)
}

/// The app test signing key and its certificate's SHA-1 thumbprint, from
/// Microsoft's library.
fn test_key(python: &Path) -> Result<(SigningKey, [u8; 20])> {
    let folder = out_dir().join("app-test-key");
    let key_path = folder.join("app_test_sign.pk8");
    let cert_path = folder.join("app_test_sign.cer");
    if !key_path.is_file() || !cert_path.is_file() {
        let folder_text = folder.to_string_lossy().into_owned();
        run_script(python, "export_test_key.py", include_str!("export_test_key.py"), &[&folder_text])?;
    }
    let key_der = fs::read(&key_path).map_err(|err| format!("cannot read {}: {err}", show(&key_path)))?;
    let key = SigningKey::from_pkcs8_der(&key_der)
        .map_err(|err| format!("{} is not a P-256 key in PKCS#8: {err}", show(&key_path)))?;
    let cert = fs::read(&cert_path).map_err(|err| format!("cannot read {}: {err}", show(&cert_path)))?;
    let thumbprint: [u8; 20] = Sha1::digest(&cert).into();
    Ok((key, thumbprint))
}

/// This build's image id: a version-4-shaped GUID from the SHA-256 of the
/// file system image, so the same image gets the same id.
fn image_id(image: &[u8]) -> Guid {
    let digest = Sha256::digest(image);
    let mut written = [0u8; 16];
    written.copy_from_slice(&digest[..16]);
    written[6] = (written[6] & 0x0f) | 0x40;
    written[8] = (written[8] & 0x3f) | 0x80;
    Guid::from_written(written)
}

/// The build time: `SOURCE_DATE_EPOCH` when set (reproducible builds),
/// else now.
fn build_time() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs()))
}

/// What the top-level manifest `bytes` grants on the MT3620, its `$NAME`s
/// resolved through the MT3620's hardware definition (as for an app).
fn top_level_grants(bytes: &[u8]) -> Result<tessera_manifest::grants::Grants> {
    let board = tessera_manifest::board::BoardId::Mt3620;
    let options = tessera_manifest::CheckOptions {
        hardware_definition: Some(crate::apps::definition_for(board)),
        board: Some(board),
        search_dirs: vec![crate::manifest::definitions_dir()],
    };
    tessera_manifest::check_bytes(bytes, "app_manifest.json", &options, &tessera_manifest::DiskFiles)
        .map(|checked| checked.grants)
        .map_err(|err| format!("{}: {err}", show(&board_dir(BOARD).join("app_manifest.json"))))
}

/// Whether the top-level manifest's `grants` ask for each device of
/// `board` that the UART server drives: on the board the OS gives a
/// real-time app an ISU (and sets up its function) only if its manifest's
/// `Uart` list names it. Returns the names missing.
fn missing_uarts(board: &Board, grants: &tessera_manifest::grants::Grants) -> Vec<String> {
    let listed = |name: &str| {
        grants.controllers.iter().any(|grant| {
            grant.controller.kind == tessera_manifest::board::ControllerKind::Uart
                && grant.controller.manifest_value == name
        })
    };
    board
        .user_devices
        .iter()
        .filter(|device| device.uart.is_some() && !listed(&device.name))
        .map(|device| device.name.clone())
        .collect()
}

/// Checks that the board's top-level manifest lists what the servers in
/// the boot image `image` drive: on a board the A7 grants a real-time app
/// only the peripherals its manifest names. The UART server drives the
/// apps' UART ([`missing_uarts`]); the GPIO server drives the pins the
/// apps in the image ask for.
fn check_top_level_grants(board: &Board, grants: &tessera_manifest::grants::Grants, image: &[u8]) -> Result<()> {
    let file = show(&board_dir(BOARD).join("app_manifest.json"));
    let parsed = tessera_abi::bootimage::BootImage::parse(image).map_err(|err| format!("the boot image: {err}"))?;
    if parsed.find("uartd").is_some() {
        let missing = missing_uarts(board, grants);
        if !missing.is_empty() {
            return Err(format!(
                "{file}: the UART server drives {}, which the manifest's Capabilities.Uart must list (\"Uart\": \
                 [\"{}\"]): the board gives a real-time app only the ISUs its manifest names",
                missing.join(", "),
                missing.join("\", \"")
            ));
        }
    }
    if parsed.find("gpiod").is_some() {
        let missing = missing_gpios(grants, image)?;
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(u16::to_string).collect();
            return Err(format!(
                "{file}: the apps drive GPIO {} through the GPIO server, which the manifest's Capabilities.Gpio must \
                 list (\"Gpio\": [{}]): the board gives a real-time app only the pins its manifest names",
                list.join(", "),
                list.join(", ")
            ));
        }
    }
    Ok(())
}

/// The GPIO pins the apps in the boot image `image` ask for that the
/// top-level manifest's `grants` do not list, in order.
fn missing_gpios(grants: &tessera_manifest::grants::Grants, image: &[u8]) -> Result<Vec<u16>> {
    let parsed = tessera_abi::bootimage::BootImage::parse(image).map_err(|err| format!("the boot image: {err}"))?;
    let listed = |pin: u16| grants.gpios.iter().any(|grant| grant.pin == pin);
    let mut missing = Vec::new();
    for entry in parsed.iter() {
        let Ok(package) = tessera_abi::package::Package::parse(entry.elf) else { continue };
        let app = tessera_abi::manifest::Manifest::decode(package.manifest())
            .map_err(|err| format!("app '{}': its manifest: {err}", entry.name))?;
        missing.extend(app.gpios().filter(|&pin| !listed(pin)));
    }
    missing.sort_unstable();
    missing.dedup();
    Ok(missing)
}

/// `cargo xtask mt3620 package` without the check: builds with `apps`
/// ([`DEFAULT_APPS`] if none), checks the layout, packs and signs; returns
/// where the package is.
pub fn package(apps: &[String]) -> Result<Built> {
    let board = Board::load(BOARD).map_err(|err| err.0)?;
    let (manifest_bytes, manifest) = read_manifest()?;
    let identity = manifest.identity.clone().expect("read_manifest checked it");
    let apps: Vec<String> =
        if apps.is_empty() { DEFAULT_APPS.iter().map(|name| name.to_string()).collect() } else { apps.to_vec() };
    let elf = build_kernel(&apps)?;
    let image = crate::image::tessera_dir().join(BOARD).join("boot-system.img");
    let image = fs::read(&image).map_err(|err| format!("cannot read {}: {err}", show(&image)))?;
    check_top_level_grants(&board, &top_level_grants(&manifest_bytes)?, &image)?;
    check_layout(&board, &elf)?;
    let files = [
        asxipfs::File { path: "app_manifest.json".into(), bytes: manifest_bytes, executable: false },
        asxipfs::File { path: ENTRY_POINT.trim_start_matches('/').into(), bytes: elf, executable: true },
    ];
    let image = asxipfs::build(VOLUME, &files)?;
    let python = library_python()?;
    let (key, thumbprint) = test_key(&python)?;
    let facts = Facts {
        component_id: Guid::from_written(identity.component_id.0),
        image_id: image_id(&image),
        name: identity.name.clone(),
        built: build_time(),
    };
    let bytes = metadata::package(&image, &facts, &key, &thumbprint);
    let path = package_path();
    fs::write(&path, &bytes).map_err(|err| format!("cannot write {}: {err}", show(&path)))?;
    println!(
        "==> wrote {} ({} bytes): {} (ComponentId {}, image {}), development-signed",
        show(&path),
        bytes.len(),
        identity.name,
        facts.component_id.text(),
        facts.image_id.text()
    );
    Ok(Built { path, component_id: facts.component_id })
}

/// Checks a package with Microsoft's library (type, ComponentId,
/// signature).
pub fn check(built: &Built) -> Result<()> {
    let python = library_python()?;
    println!("==> checking {} with Microsoft's {LIBRARY}", show(&built.path));
    let path = built.path.to_string_lossy().into_owned();
    run_script(&python, "check_package.py", include_str!("check_package.py"), &[&path, &built.component_id.text()])
        .map_err(|err| format!("Microsoft's library does not accept {}: {err}", show(&built.path)))
}

/// `cargo xtask test`'s `mt3620:package`: builds and checks the package,
/// then requires the library to refuse it with one byte of the kernel
/// changed, and with another ComponentId expected, so that the check is
/// known to be able to fail.
pub fn test_item() -> Result<()> {
    let built = package(&[])?;
    check(&built)?;
    // What it holds: the system build's programs and the default apps,
    // no test program.
    let entries = crate::mps2::boot_image_entries(BOARD, crate::mps2::Contents::System)?;
    // Both servers: the UART server's slot in TCM, the GPIO server's in
    // SYSRAM.
    let mut reasons = crate::mps2::system_reasons("", &entries, &crate::mps2::SYSTEM_PROGRAMS);
    for app in DEFAULT_APPS {
        if !entries.iter().any(|entry| entry == app) {
            reasons.push(format!("the MT3620 boot image has no `{app}`"));
        }
    }
    if !reasons.is_empty() {
        return Err(format!("{} (it holds: {})", reasons.join("; "), entries.join(", ")));
    }
    println!("==> the package's boot image holds {}", entries.join(", "));
    let mut bytes = fs::read(&built.path).map_err(|err| format!("cannot read {}: {err}", show(&built.path)))?;
    // A byte inside bin/app's contents (past the file system's metadata page).
    bytes[asxipfs::PAGE * 2 + 64] ^= 0x01;
    let tampered = Built { path: out_dir().join("tampered.imagepackage"), component_id: built.component_id };
    fs::write(&tampered.path, &bytes).map_err(|err| format!("cannot write {}: {err}", show(&tampered.path)))?;
    println!("==> a package with one byte changed must be refused:");
    if check(&tampered).is_ok() {
        return Err(format!(
            "Microsoft's library accepted {}, whose kernel was changed after signing",
            show(&tampered.path)
        ));
    }
    let mut other = built.component_id;
    other.0[15] ^= 0xff;
    println!("==> a package checked for another ComponentId must be refused:");
    if check(&Built { path: built.path.clone(), component_id: other }).is_ok() {
        return Err("the check accepted a package whose ComponentId it did not expect".to_string());
    }
    println!("==> both refused, as they must be");
    Ok(())
}

/// `cargo xtask mt3620 sideload`.
fn sideload() -> Result<ExitCode> {
    let path = package_path();
    if !path.is_file() {
        return Err(format!("no package at {}; make it first with: cargo xtask mt3620 package", show(&path)));
    }
    let commands = [
        vec!["azsphere", "device", "enable-development"],
        vec!["azsphere", "device", "sideload", "deploy", "--image-package", path.to_str().unwrap_or_default()],
    ];
    let installed = Command::new("azsphere").arg("--version").output().is_ok_and(|output| output.status.success());
    if !installed {
        println!("The Azure Sphere CLI (azsphere) is not installed here. With a board attached by USB, run:");
        for command in &commands {
            println!("    {}", command.join(" "));
        }
        println!("(with the Azure CLI's sphere extension: `az sphere device enable-development` and");
        println!(" `az sphere device sideload deploy --image-package {}`)", show(&path));
        println!("Nothing has been tried on a real board yet: see docs/mt3620.md.");
        return Ok(ExitCode::SUCCESS);
    }
    for words in &commands {
        let mut command = Command::new(words[0]);
        command.args(&words[1..]);
        println!("==> {}", describe(&command));
        run_streamed(command)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boards_manifest_asks_for_the_uart_the_server_drives() {
        let board = Board::load(BOARD).unwrap();
        let (bytes, _) = read_manifest().unwrap();
        assert_eq!(missing_uarts(&board, &top_level_grants(&bytes).unwrap()), Vec::<String>::new());
        let text = String::from_utf8(bytes).unwrap();
        let with = |uart: &str| text.replace("\"Uart\": [\"ISU0\"]", &format!("\"Uart\": [\"{uart}\"]"));
        assert_eq!(missing_uarts(&board, &top_level_grants(with("ISU1").as_bytes()).unwrap()), ["ISU0"]);
        // Named through the hardware definition, as an app may.
        let named = top_level_grants(with("$MT3620_ISU0_UART").as_bytes()).unwrap();
        assert_eq!(missing_uarts(&board, &named), Vec::<String>::new());
    }

    #[test]
    fn the_boards_manifest_must_list_the_pins_the_gpio_server_drives() {
        let board = Board::load(BOARD).unwrap();
        let (bytes, _) = read_manifest().unwrap();
        let grants = top_level_grants(&bytes).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let image = |entries: Vec<(String, Vec<u8>)>| crate::image::pack(entries).unwrap();
        let blinker = crate::mps2::test_package("blinker", "\"Gpio\": [8, 9]");
        // Programs as pack takes them: ELF files (this test's own first page).
        let elf = fs::read(std::env::current_exe().unwrap()).unwrap()[..4096].to_vec();
        let server = ("gpiod".to_string(), elf.clone());
        let init = ("init".to_string(), elf);
        // Without the GPIO server in the image, nothing to list.
        assert_eq!(check_top_level_grants(&board, &grants, &image(vec![init.clone(), blinker.clone()])), Ok(()));
        let with_server = image(vec![init, blinker.clone(), server]);
        assert_eq!(missing_gpios(&grants, &with_server).unwrap(), [8, 9]);
        let error = check_top_level_grants(&board, &grants, &with_server).unwrap_err();
        assert!(error.contains("the apps drive GPIO 8, 9") && error.contains("\"Gpio\": [8, 9]"), "{error}");
        let listing = |pins: &str| {
            let text = text.replace("\"Uart\": [\"ISU0\"]", &format!("\"Uart\": [\"ISU0\"], \"Gpio\": [{pins}]"));
            top_level_grants(text.as_bytes()).unwrap()
        };
        assert_eq!(missing_gpios(&listing("9"), &with_server).unwrap(), [8]);
        assert_eq!(check_top_level_grants(&board, &listing("8, 9, 10"), &with_server), Ok(()));
        // Pins named through the hardware definition count too.
        let named = listing("\"$MT3620_GPIO8\", \"$MT3620_GPIO9\"");
        assert_eq!(check_top_level_grants(&board, &named, &with_server), Ok(()));
    }

    #[test]
    fn the_boards_manifest_is_a_real_time_app_at_bin_app() {
        let (_, manifest) = read_manifest().unwrap();
        let identity = manifest.identity.unwrap();
        assert_eq!(identity.entry_point, ENTRY_POINT);
        assert!(!identity.component_id.is_nil());
    }

    #[test]
    fn image_ids_follow_the_image_and_look_like_version_4() {
        let first = image_id(b"one image");
        assert_eq!(first, image_id(b"one image"));
        assert_ne!(first, image_id(b"another image"));
        let text = first.text();
        assert_eq!(&text[14..15], "4", "{text}");
        assert!("89ab".contains(&text[19..20]), "{text}");
    }
}
