//! `cargo xtask`: builds Tessera, boots it in QEMU, tests it and benchmarks it.
//!
//! Subcommands live in one module each; this file holds the command line,
//! the dispatch and the few workspace helpers (paths, `cargo` invocations)
//! every subcommand shares.
#![forbid(unsafe_code)]

mod apps;
mod attest;
mod bench;
mod bench_net;
mod dns;
mod elf;
mod harness;
mod image;
mod manifest;
mod mps2;
mod mt3620;
mod net_stress;
mod net_test;
mod new_app;
mod pluton_test;
mod provision;
mod qemu;
mod scenarios;
mod signing;
mod test;
mod toolchain;

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

/// Every fallible xtask step reports a message that says what went wrong and
/// what to do about it; `main` prints it as `error: <message>`.
pub type Result<T> = std::result::Result<T, String>;

/// Tessera's build driver.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version)]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the user programs, a boot image and its kernel
    /// (target/tessera/IMAGE/tessera.elf).
    Build(image::BuildArgs),
    /// Build Tessera and boot it in QEMU with the console on this terminal.
    Qemu(qemu::QemuArgs),
    /// Run the host tests, the fmt and clippy checks and every QEMU scenario.
    Test(test::TestArgs),
    /// Boot the benchmark run in QEMU and write target/bench/results.json.
    Bench,
    /// Sign, inspect and manage image packages (docs/packages.md).
    Package(signing::PackageArgs),
    /// Boot the device with a nonce, check its attestation evidence on the
    /// host and write target/attest/ (evidence, certificate chain, claims).
    Attest(attest::AttestArgs),
    /// Make this checkout's development device identity in .tessera/: the
    /// Unique Device Secret, a manufacturer CA and the DeviceID certificate.
    Provision,
    /// Check Azure Sphere app manifests and show their grants (docs/manifests.md).
    Manifest(manifest::ManifestArgs),
    /// Create a new app in userland/apps/NAME (manifest, code, build script).
    NewApp(new_app::NewAppArgs),
    /// Package Tessera for an MT3620 board's real-time core (an Azure Sphere
    /// image package) and sideload it (docs/mt3620.md).
    Mt3620(mt3620::Mt3620Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Build(args) => image::run(&args),
        Task::Qemu(args) => qemu::run(&args),
        Task::Test(args) => test::run(&args),
        Task::Bench => bench::run(),
        Task::Package(args) => signing::run(&args),
        Task::Attest(args) => attest::run(&args),
        Task::Provision => provision::run(),
        Task::Manifest(args) => manifest::run(&args),
        Task::NewApp(args) => new_app::run(&args),
        Task::Mt3620(args) => mt3620::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the directory above this crate.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    match manifest_dir.parent() {
        Some(root) => root.to_path_buf(),
        None => manifest_dir.join(".."),
    }
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set (a relative value is
/// taken relative to the current directory, as cargo does), else
/// `<root>/target`.
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                env::current_dir().unwrap_or_else(|_| workspace_root()).join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// A `cargo` command (the one running us, if known) that runs in the
/// workspace root and uses [`target_dir`].
pub fn cargo() -> Command {
    let program = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.current_dir(workspace_root()).env("CARGO_TARGET_DIR", target_dir());
    command
}

/// `command` as a short shell-like string for messages, e.g.
/// `cargo build --release -p tessera-kernel`.
pub fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let mut text = program.file_name().unwrap_or(program.as_os_str()).to_string_lossy().into_owned();
    for arg in command.get_args() {
        let arg = arg.to_string_lossy();
        text.push(' ');
        if arg.is_empty() || arg.contains(' ') {
            text.push('"');
            text.push_str(&arg);
            text.push('"');
        } else {
            text.push_str(&arg);
        }
    }
    text
}

/// Runs `command` with the terminal's stdout and stderr; fails naming the
/// command if it cannot start or does not succeed.
pub fn run_streamed(mut command: Command) -> Result<()> {
    let text = describe(&command);
    let status =
        command.status().map_err(|err| format!("cannot run `{text}`: {err} (is it installed and on PATH?)"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{text}` failed ({status}); fix the errors above and run again"))
    }
}

/// `path` relative to the workspace root when it lies inside it, for
/// shorter messages.
pub fn show(path: &Path) -> String {
    let root = workspace_root();
    path.strip_prefix(&root).unwrap_or(path).display().to_string()
}

/// `text` with every line indented by four spaces (`(no output)` if empty).
pub fn indent(text: &str) -> String {
    if text.trim().is_empty() {
        return "    (no output)\n".to_string();
    }
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.lines() {
        out.push_str("    ");
        out.push_str(line.trim_end_matches('\r'));
        out.push('\n');
    }
    out
}

/// A scratch workspace root for tests.
#[cfg(test)]
pub mod scratch {
    use std::fs;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh, empty directory under the system's temporary directory,
    /// named after `label`, removed when dropped.
    pub struct Scratch(pub PathBuf);

    impl Scratch {
        pub fn new(label: &str) -> Scratch {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let name = format!("tessera-{label}-test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
            let path = std::env::temp_dir().join(name);
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            Scratch(path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_parses() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["cargo xtask", "qemu", "--timeout", "5", "--gdb"]).unwrap();
        assert!(matches!(cli.command, Task::Qemu(_)));
        assert!(Cli::try_parse_from(["cargo xtask", "qemu", "--timeout", "0"]).is_err());
        let cli = Cli::try_parse_from(["cargo xtask", "test", "--only", "boot"]).unwrap();
        assert!(matches!(cli.command, Task::Test(_)));
    }

    #[test]
    fn describe_quotes_spaces() {
        let mut command = Command::new("/usr/bin/qemu-system-arm");
        command.args(["-append", "scenario=boot x", "-kernel", "k.elf"]);
        assert_eq!(describe(&command), "qemu-system-arm -append \"scenario=boot x\" -kernel k.elf");
    }

    #[test]
    fn indent_prefixes_every_line() {
        assert_eq!(indent("a\r\nb\n"), "    a\n    b\n");
        assert_eq!(indent(""), "    (no output)\n");
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("xtask").join("Cargo.toml").is_file());
    }
}
