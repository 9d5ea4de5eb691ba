//! `cargo xtask test`: host tests, fmt and clippy checks, then every QEMU scenario, with a tally.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use tessera_abi::PANIC_EXIT_STATUS;

use crate::harness::{EchoServer, Mode, Transcript};
use crate::image::{self, Image};
use crate::qemu::{self, AppUart, Console, Outcome};
use crate::scenarios::{Scenario, ALWAYS_FORBIDDEN, SCENARIOS};
use crate::{cargo, describe, indent, run_streamed, show, Result};

/// Options of `cargo xtask test`.
#[derive(clap::Args)]
pub struct TestArgs {
    /// Run only the QEMU scenarios whose name contains NAME (no host checks).
    #[arg(long, value_name = "NAME")]
    only: Option<String>,
    /// Skip the host tests and the fmt and clippy checks.
    #[arg(long)]
    skip_host: bool,
}

/// Counts passed and failed items and prints one `test <name> ... ` line each.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
}

impl Tally {
    /// Runs one item. A `streamed` item writes to the terminal while it runs,
    /// so its `test` line is printed whole at the end; otherwise the line is
    /// started before the item runs. `Err` holds the reason and output to show.
    fn item(&mut self, name: &str, streamed: bool, run: impl FnOnce() -> Result<()>) {
        if !streamed {
            print!("test {name} ... ");
            let _ = io::stdout().flush();
        }
        let started = Instant::now();
        let result = run();
        let seconds = started.elapsed().as_secs_f64();
        if streamed {
            print!("test {name} ... ");
        }
        match result {
            Ok(()) => {
                println!("ok ({seconds:.1} s)");
                self.passed += 1;
            }
            Err(details) => {
                println!("FAILED");
                print!("{}", indent(&details));
                self.failed.push(name.to_string());
            }
        }
        let _ = io::stdout().flush();
    }

    /// Prints the summary; the exit code is a failure if any item failed.
    fn finish(self) -> ExitCode {
        println!();
        if !self.failed.is_empty() {
            println!("failures:");
            for name in &self.failed {
                println!("    {name}");
            }
            println!();
        }
        println!("{} passed, {} failed", self.passed, self.failed.len());
        if self.failed.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// Runs `command` capturing its output; on failure returns the command,
/// its status and its output.
fn captured(command: Command) -> Result<()> {
    let text = describe(&command);
    let outcome = qemu::capture(command, None)?;
    if outcome.status == Some(0) {
        return Ok(());
    }
    let status = match outcome.status {
        Some(code) => format!("exit status {code}"),
        None => "ended by a signal".to_string(),
    };
    Err(format!("`{text}` failed ({status}):\n{}", indent(&outcome.output)))
}

/// Checks a scenario run: it ended (or was stopped by the timeout) as the
/// scenario expects, with the expected exit status, the expected output and
/// none of the forbidden output. Returns every reason it fails.
pub fn check(scenario: &Scenario, outcome: &Outcome) -> std::result::Result<(), Vec<String>> {
    let output = outcome.output.as_str();
    let mut reasons = Vec::new();

    match (outcome.timed_out, scenario.stopped_by_timeout) {
        (true, false) => reasons.push(format!("did not finish within {} s; QEMU was stopped", scenario.timeout_secs)),
        (false, true) => reasons.push(format!(
            "QEMU ended (status {}) before the {} s timeout, but this scenario should run until stopped",
            status_text(outcome.status),
            scenario.timeout_secs
        )),
        (true, true) => {}
        (false, false) => match outcome.status {
            Some(status) if status == scenario.exit_status => {}
            Some(status) if status == PANIC_EXIT_STATUS as i32 => {
                reasons.push(format!("exit status {status} (kernel panic), expected {}", scenario.exit_status))
            }
            status => reasons.push(format!("exit status {}, expected {}", status_text(status), scenario.exit_status)),
        },
    }

    // init's verdict counts only at the start of a line: the kernel starts
    // every line a process prints with its name, so no other process can
    // print a line that starts like init's.
    let guest_failure = format!("init: scenario {} FAILED", scenario.name);
    if let Some(line) = output.lines().find(|line| line.starts_with(&guest_failure)) {
        reasons.push(format!("the guest reported: {}", line.trim_end()));
    }
    let guest_pass = format!("init: scenario {} passed", scenario.name);
    if scenario.expect.contains(&guest_pass.as_str()) && !output.lines().any(|line| line.trim_end() == guest_pass) {
        reasons.push(format!("no line `{guest_pass}` of its own"));
    }

    let always: &[&str] = if scenario.allow_panic { &[] } else { &[ALWAYS_FORBIDDEN] };
    let forbidden = scenario.forbid.iter().chain(always.iter().filter(|f| !scenario.forbid.contains(f)));
    for forbidden in forbidden {
        if output.contains(forbidden) {
            reasons.push(format!("forbidden output `{forbidden}` appeared"));
        }
    }

    if scenario.in_order {
        let mut position = 0;
        let mut previous: Option<&str> = None;
        for wanted in scenario.expect {
            match output[position..].find(wanted) {
                Some(found) => {
                    position += found + wanted.len();
                    previous = Some(wanted);
                }
                None => {
                    reasons.push(match (output.contains(wanted), previous) {
                        (true, Some(previous)) => {
                            format!("expected output `{wanted}` appeared, but not after `{previous}`")
                        }
                        _ => format!("missing expected output `{wanted}`"),
                    });
                    break;
                }
            }
        }
    } else {
        for wanted in scenario.expect {
            if !output.contains(wanted) {
                reasons.push(format!("missing expected output `{wanted}`"));
            }
        }
    }

    if let Some(custom) = scenario.check {
        if let Err(reason) = custom(output) {
            reasons.push(reason);
        }
    }

    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

fn status_text(status: Option<i32>) -> String {
    status.map_or_else(|| "none: ended by a signal".to_string(), |code| code.to_string())
}

/// Checks what the UART harness saw: QEMU connected and the guest sent
/// something (in echo mode it came back and the guest checks the bytes; in
/// talk mode it must hold the harness's own line).
pub fn check_uart(mode: Mode, transcript: &Transcript) -> std::result::Result<(), String> {
    match (transcript.connected, transcript.echoed.is_empty(), mode) {
        (false, _, _) => Err("QEMU never connected to the UART harness".to_string()),
        (true, true, _) => Err(format!("the UART harness received nothing ({})", transcript.summary())),
        (true, false, Mode::Talk(line)) if !transcript.echoed.windows(line.len()).any(|w| w == line) => {
            Err(format!("the UART harness did not get its line back ({})", transcript.summary()))
        }
        (true, false, _) => Ok(()),
    }
}

/// Boots `kernel` for `scenario`, with the UART echo harness if it wants one,
/// saves the console output in `log_dir` and checks it.
fn run_scenario(scenario: &Scenario, kernel: &Path, log_dir: &Path) -> Result<()> {
    let harness = scenario.uart.map(EchoServer::start_in).transpose()?;
    let uart = harness.as_ref().map_or(AppUart::Listen(0), |harness| AppUart::Connect(harness.port()));
    let append = Some(scenario.bootargs).filter(|bootargs| !bootargs.is_empty());
    let command = qemu::command_with_uart(scenario.image, kernel, Console::Captured, append, uart)?;
    let outcome = qemu::capture(command, Some(Duration::from_secs(scenario.timeout_secs)));
    let transcript = harness.map(EchoServer::finish).transpose()?;
    let outcome = outcome?;
    let log = log_dir.join(format!("{}.log", scenario.name));
    let saved = fs::write(&log, &outcome.output);
    let mut reasons = check(scenario, &outcome).err().unwrap_or_default();
    if let (Some(mode), Some(transcript)) = (scenario.uart, &transcript) {
        if let Err(reason) = check_uart(mode, transcript) {
            reasons.push(reason);
        }
    }
    if let Err(err) = &saved {
        reasons.push(format!("cannot write the log {}: {err}", show(&log)));
    }
    if reasons.is_empty() {
        return Ok(());
    }
    let mut details = format!("scenario: {} (bootargs `{}`)\n", scenario.about, scenario.bootargs);
    if let Some(transcript) = &transcript {
        details.push_str(&format!("UART echo harness: {}\n", transcript.summary()));
    }
    for reason in &reasons {
        details.push_str(&format!("reason: {reason}\n"));
    }
    if saved.is_ok() {
        details.push_str(&format!("console output (also in {}):\n", show(&log)));
    } else {
        details.push_str("console output:\n");
    }
    details.push_str(&indent(&outcome.output));
    Err(details)
}

/// Every app manifest of the Azure Sphere samples corpus must check clean
/// (`cargo xtask manifest corpus`). A missing corpus is a failure, not a skip.
fn manifest_corpus() -> Result<()> {
    let summary = crate::manifest::check_corpus(&crate::manifest::default_corpus_dir(), false)?;
    if summary.failed == 0 {
        return Ok(());
    }
    Err(format!("{summary}:\n{}", summary.failures.join("\n")))
}

/// `cargo xtask test`.
/// Fails if the kernel ELF at `path` links any of `core::fmt` or a divide
/// routine, naming what (each is kilobytes of a kernel measured by the
/// page, `kernel_image_bytes`).
fn kernel_without_core_fmt(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", show(path)))?;
    let names = crate::elf::symbol_names(&bytes).map_err(|err| format!("{}: {err}", show(path)))?;
    if names.is_empty() {
        return Err(format!("{} has no symbol table to check", show(path)));
    }
    let linked: Vec<&String> = names.iter().filter(|name| uses_core_fmt(name)).collect();
    let dividing: Vec<&String> = names.iter().filter(|name| is_divide_routine(name)).collect();
    let mut problems = Vec::new();
    if !linked.is_empty() {
        problems.push(format!(
            "{} links core::fmt ({} symbols, e.g. {}): a `{{}}` in a kernel line, `expect` on a `Result` or a \
             `Debug` bound brought it in; build the line with kernel_core::text::Line",
            show(path),
            linked.len(),
            linked.iter().take(3).map(|name| name.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    if !dividing.is_empty() {
        problems.push(format!(
            "{} links a divide routine ({}): a 64-bit division, or a 32-bit one by a value not known when \
             compiling, brought it in; divide with tessera_abi::divide (a Reciprocal, or div_rem) or a mask",
            show(path),
            dividing.iter().map(|name| name.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!("{}\n", problems.join("\n")))
}

/// The kernel at `path` keeps no initialised data: its statics (the
/// kernel's state above all, `Kernel::new`) start as all zero bits and lie
/// in `.bss`. One field with a non-zero starting value moves the whole
/// state into `.data`, which the image then carries (about 9 KiB past the
/// 48 KiB the image is held to: docs/architecture.md, "All zeros at start").
fn kernel_without_data(path: &Path) -> Result<()> {
    use crate::elf::{BOOT_IMAGE_SECTION, SHF_ALLOC, SHF_WRITE, SHT_NOBITS};
    let bytes = std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", show(path)))?;
    let sections = crate::elf::sections(&bytes).map_err(|err| format!("{}: {err}", show(path)))?;
    let data: Vec<String> = sections
        .iter()
        .filter(|section| {
            section.name != BOOT_IMAGE_SECTION
                && section.flags & (SHF_ALLOC | SHF_WRITE) == SHF_ALLOC | SHF_WRITE
                && section.kind != SHT_NOBITS
                && section.size > 0
        })
        .map(|section| format!("{} ({} bytes)", section.name, section.size))
        .collect();
    if data.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{} has initialised data: {}; a static (the kernel's state: `Kernel::new` and what it builds) starts \
         with a value that is not all zero bits, so it left .bss\n",
        show(path),
        data.join(", ")
    ))
}

/// True if `name` is one of the library's integer divide routines (the
/// ARM EABI's and compiler-builtins' own names).
fn is_divide_routine(name: &str) -> bool {
    const ROUTINES: [&str; 16] = [
        "__aeabi_uidiv",
        "__aeabi_uidivmod",
        "__aeabi_idiv",
        "__aeabi_idivmod",
        "__aeabi_uldivmod",
        "__aeabi_ldivmod",
        "__udivsi3",
        "__umodsi3",
        "__divsi3",
        "__udivdi3",
        "__umoddi3",
        "__udivmoddi4",
        "__udivti3",
        "__umodti3",
        "__divti3",
        "__modti3",
    ];
    ROUTINES.contains(&name) || name.contains("specialized_div_rem")
}

/// True if the mangled symbol `name` is part of `core::fmt` or an impl of
/// one of its traits (legacy and v0 mangling).
fn uses_core_fmt(name: &str) -> bool {
    name.contains("4core3fmt") || name.contains("core..fmt")
}

pub fn run(args: &TestArgs) -> Result<ExitCode> {
    let board = qemu::board()?;
    // The device identity the Pluton security server will use, made on
    // first use (docs/pluton.md).
    crate::provision::ensure(&crate::workspace_root())?;
    let unknown: Vec<&str> = board
        .scenarios
        .iter()
        .map(String::as_str)
        .filter(|name| !SCENARIOS.iter().any(|scenario| scenario.name == *name))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "qemu/{}/board.json lists scenarios xtask/src/scenarios.rs does not have: {}",
            board.folder,
            unknown.join(", ")
        ));
    }
    // The scenarios the board's description says it runs.
    let scenarios: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|scenario| board.scenarios.iter().any(|name| name == scenario.name))
        .filter(|scenario| args.only.as_deref().is_none_or(|only| scenario.name.contains(only)))
        .collect();
    let attest = args.only.as_deref().is_none_or(|only| "attest".contains(only));
    let pluton = args.only.as_deref().is_none_or(|only| "pluton".contains(only));
    let net = args.only.as_deref().is_none_or(|only| "net".contains(only));
    let net_stress = args.only.as_deref().is_none_or(|only| "net-stress".contains(only));
    let net_handoff = args.only.as_deref().is_none_or(|only| "net-handoff".contains(only));
    let mps2 = args.only.as_deref().is_none_or(|only| "mps2-boot".contains(only));
    let mps2_system = args.only.as_deref().is_none_or(|only| "mps2-system".contains(only));
    let mps2_mt3620_ram = args.only.as_deref().is_none_or(|only| "mps2-mt3620-ram".contains(only));
    let mt3620 = args.only.as_deref().is_none_or(|only| "mt3620-package".contains(only));
    if scenarios.is_empty()
        && !attest
        && !pluton
        && !net
        && !net_stress
        && !net_handoff
        && !mps2
        && !mps2_system
        && !mps2_mt3620_ram
        && !mt3620
    {
        let names: Vec<&str> = SCENARIOS.iter().map(|scenario| scenario.name).collect();
        return Err(format!(
            "no QEMU scenario name contains {:?}; pick one of: {}, attest, pluton, net, net-stress, net-handoff, mps2-boot, mps2-system, mps2-mt3620-ram, mt3620-package",
            args.only.as_deref().unwrap_or_default(),
            names.join(", ")
        ));
    }
    qemu::ensure_qemu()?;
    let host = args.only.is_none() && !args.skip_host;
    let mut tally = Tally::default();

    if host {
        println!("==> running the host tests (cargo test)");
        tally.item("host-tests", true, || {
            let mut command = cargo();
            command.arg("test");
            run_streamed(command)
        });
        tally.item("fmt", false, || {
            let mut command = cargo();
            command.args(["fmt", "--all", "--check"]);
            captured(command)
        });
        tally.item("clippy-host", false, || {
            let mut command = cargo();
            command.args(["clippy", "--all-targets", "--", "-D", "warnings"]);
            captured(command)
        });
        tally.item("manifest-corpus", false, manifest_corpus);
    }

    println!("==> building the system");
    let mut kernels: Vec<(Image, Option<PathBuf>)> = Vec::new();
    for image in [Image::Test, Image::User] {
        if image != Image::Test && !scenarios.iter().any(|scenario| scenario.image == image) {
            continue;
        }
        let kernel = match image::build_system(image) {
            Ok(kernel) => Some(kernel),
            Err(err) => {
                println!("==> the {} image did not build: {err}", image.name());
                None
            }
        };
        kernels.push((image, kernel));
    }

    if host {
        // The kernel prints without `core::fmt` (kernel_core::text): one
        // `{}` or `expect` on a `Result` brings about 8 KiB of it back
        // (docs/benchmarks.md, "The kernel without core::fmt").
        // Nor the library's divide routines (tessera_abi::divide).
        tally.item("kernel-without-core-fmt-or-division", false, || {
            let built: Vec<&Path> = kernels.iter().filter_map(|(_, kernel)| kernel.as_deref()).collect();
            if built.is_empty() {
                return Err("not run: no kernel built (see the errors above)".to_string());
            }
            built.into_iter().try_for_each(kernel_without_core_fmt)
        });
        tally.item("kernel-state-in-bss", false, || {
            let built: Vec<&Path> = kernels.iter().filter_map(|(_, kernel)| kernel.as_deref()).collect();
            if built.is_empty() {
                return Err("not run: no kernel built (see the errors above)".to_string());
            }
            built.into_iter().try_for_each(kernel_without_data)
        });
    }

    if host {
        tally.item("clippy-target", false, || {
            let boot_image = image::boot_image_path(Image::Test);
            if !boot_image.is_file() {
                return Err(format!(
                    "not run: the boot image {} was not built (see the build errors above)",
                    show(&boot_image)
                ));
            }
            let boot_image =
                boot_image.canonicalize().map_err(|err| format!("cannot find {}: {err}", show(&boot_image)))?;
            // The kernel on its own (as xtask builds it): the Pluton
            // security server's `alloc` features must not unify into it.
            let mut kernel = cargo();
            kernel
                .args(["clippy", "--release", "--target", image::TARGET, "-p", "tessera-kernel"])
                .args(["--", "-D", "warnings"])
                .env(image::BOOT_IMAGE_ENV, &boot_image);
            captured(kernel)?;
            let mut command = cargo();
            command.args(["clippy", "--release", "--target", image::TARGET]).args([
                "-p",
                "tessera-rt",
                "-p",
                "tessera-loader",
                "-p",
                "tessera-programs",
                "-p",
                "tessera-servers",
                "-p",
                "tessera-sdk",
            ]);
            for app in crate::apps::discover()? {
                command.args(["-p", &app.name]);
            }
            command
                .args(["--features", image::PROGRAMS_SCENARIOS, "--", "-D", "warnings"])
                .env(image::BOOT_IMAGE_ENV, &boot_image);
            captured(command)?;
            // The programs once more as the user image builds them (no
            // scenarios in init).
            let mut command = cargo();
            command
                .args(["clippy", "--release", "--target", image::TARGET, "-p", "tessera-programs"])
                .args(["--", "-D", "warnings"]);
            captured(command)?;
            // The Pluton core without its certificates, as a program with
            // no heap would link it.
            let mut command = cargo();
            command.args(["clippy", "--release", "--target", image::TARGET, "-p", "tessera-pluton-core"]).args([
                "--no-default-features",
                "--",
                "-D",
                "warnings",
            ]);
            captured(command)?;
            // The kernel once more with the test and benchmark images'
            // features, so the code only they build is linted too.
            let mut command = cargo();
            command
                .args(["clippy", "--release", "--target", image::TARGET, "-p", "tessera-kernel"])
                .args(["--features", "path-meter,test-hooks,check-invariants,semihosting", "--", "-D", "warnings"])
                .env(image::BOOT_IMAGE_ENV, &boot_image);
            captured(command)?;
            // The M-profile kernel, for its own target, then its benchmark
            // build and its MT3620 build.
            crate::toolchain::ensure_target(crate::mps2::TARGET)?;
            // (features, board): the system build, the benchmark build, the
            // scenarios' builds (with the checks and without), the MT3620
            // build.
            let builds = [
                (None, crate::mps2::BOARD),
                (Some("bench"), crate::mps2::BOARD),
                (Some("checks,scenario"), crate::mps2::BOARD),
                (Some("scenario"), crate::mps2::BOARD),
                (None, crate::mt3620::BOARD),
            ];
            for (features, board) in builds {
                let mut command = cargo();
                command.args(["clippy", "--release", "--target", crate::mps2::TARGET, "-p", crate::mps2::PACKAGE]);
                if let Some(features) = features {
                    command.args(["--features", features]);
                }
                command.args(["--", "-D", "warnings"]).env("TESSERA_M_BOARD", board);
                captured(command)?;
            }
            // The M4 programs and the runtime as the M4 builds it (Thumb
            // syscalls, identity-mapped boot arguments), with the checks'
            // programs and without.
            // (The MT3620 has room for the system build's programs only.)
            let programs =
                [(None, crate::mps2::BOARD), (Some("checks"), crate::mps2::BOARD), (None, crate::mt3620::BOARD)];
            for (features, board) in programs {
                let mut command = cargo();
                command.args(["clippy", "--release", "--target", crate::mps2::TARGET]).args([
                    "-p",
                    crate::mps2::PROGRAMS_PACKAGE,
                    "-p",
                    "tessera-rt",
                    "-p",
                    "tessera-loader",
                ]);
                if let Some(features) = features {
                    command.args(["--features", features]);
                }
                command.args(["--", "-D", "warnings"]).env("TESSERA_M_BOARD", board);
                captured(command)?;
            }
            Ok(())
        });
    }

    let log_dir = image::tessera_dir().join("test-logs");
    fs::create_dir_all(&log_dir).map_err(|err| format!("cannot create {}: {err}", show(&log_dir)))?;
    for scenario in scenarios {
        let kernel = kernels.iter().find(|(image, _)| *image == scenario.image).and_then(|(_, kernel)| kernel.as_ref());
        tally.item(&format!("qemu:{}", scenario.name), false, || match kernel {
            Some(kernel) => run_scenario(scenario, kernel, &log_dir),
            None => Err("not run: the system did not build (see the errors above)".to_string()),
        });
    }
    if attest {
        let built = |wanted: Image| match kernels.iter().find(|(image, _)| *image == wanted) {
            Some((_, kernel)) => kernel.clone().ok_or_else(|| "not run: the system did not build".to_string()),
            None => image::build_system(wanted),
        };
        tally.item("qemu:attest", false, || crate::attest::scenario(&built(Image::User)?, &built(Image::Test)?));
    }
    if pluton {
        let kernel = kernels.iter().find(|(image, _)| *image == Image::Test).and_then(|(_, kernel)| kernel.clone());
        tally.item("qemu:pluton", false, || match &kernel {
            Some(kernel) => crate::pluton_test::scenario(kernel),
            None => Err("not run: the test image did not build".to_string()),
        });
    }
    if net {
        tally.item("qemu:net", false, || {
            let kernel = match kernels.iter().find(|(image, _)| *image == Image::User) {
                Some((_, kernel)) => kernel.clone().ok_or_else(|| "not run: the user image did not build".to_string()),
                None => image::build_system(Image::User),
            };
            crate::net_test::scenario(&kernel?)
        });
    }
    if net_handoff {
        let kernel = kernels.iter().find(|(image, _)| *image == Image::Test).and_then(|(_, kernel)| kernel.clone());
        tally.item("qemu:net-handoff", false, || match &kernel {
            Some(kernel) => crate::net_test::handoff_scenario(kernel),
            None => Err("not run: the test image did not build".to_string()),
        });
    }
    if net_stress {
        let kernel = kernels.iter().find(|(image, _)| *image == Image::Test).and_then(|(_, kernel)| kernel.clone());
        tally.item("qemu:net-stress", false, || match &kernel {
            Some(kernel) => crate::net_stress::scenario(kernel),
            None => Err("not run: the test image did not build".to_string()),
        });
    }
    if mps2 {
        tally.item("qemu:mps2-boot", false, crate::mps2::boot_scenario);
    }
    if mps2_system {
        tally.item("qemu:mps2-system", false, crate::mps2::system_scenario);
    }
    if mps2_mt3620_ram {
        tally.item("qemu:mps2-mt3620-ram", false, crate::mps2::mt3620_ram_scenario);
    }
    if mt3620 {
        // Not QEMU: the MT3620 build's layout check, and its image package
        // checked with Microsoft's library (docs/mt3620.md).
        tally.item("mt3620:package", false, crate::mt3620::test_item);
    }
    Ok(tally.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenarios::both_spinners_progress_before_either_is_done;

    const BASE: Scenario = Scenario {
        name: "demo",
        about: "test scenario",
        image: Image::Test,
        bootargs: "scenario=demo",
        timeout_secs: 30,
        stopped_by_timeout: false,
        exit_status: 0,
        expect: &["one", "two", "three"],
        in_order: false,
        forbid: &["kernel panic"],
        check: None,
        allow_panic: false,
        uart: None,
    };

    fn exited(output: &str, status: i32) -> Outcome {
        Outcome { output: output.to_string(), status: Some(status), timed_out: false }
    }

    fn timed_out(output: &str) -> Outcome {
        Outcome { output: output.to_string(), status: None, timed_out: true }
    }

    fn reasons(scenario: &Scenario, outcome: &Outcome) -> Vec<String> {
        check(scenario, outcome).err().unwrap_or_default()
    }

    #[test]
    fn passes_with_every_expected_string() {
        assert_eq!(check(&BASE, &exited("three\ntwo\none\n", 0)), Ok(()));
    }

    #[test]
    fn reports_each_missing_string() {
        let found = reasons(&BASE, &exited("two\n", 0));
        assert_eq!(found, ["missing expected output `one`", "missing expected output `three`"]);
    }

    #[test]
    fn in_order_needs_each_after_the_previous() {
        let ordered = Scenario { in_order: true, ..BASE };
        assert_eq!(check(&ordered, &exited("one two three", 0)), Ok(()));
        assert_eq!(check(&ordered, &exited("one one three two three", 0)), Ok(()));
        let found = reasons(&ordered, &exited("one three two", 0));
        assert_eq!(found, ["expected output `three` appeared, but not after `two`"]);
        let found = reasons(&ordered, &exited("two three", 0));
        assert_eq!(found, ["missing expected output `one`"]);
        // A string must not be matched inside the previous match.
        let overlapping = Scenario { expect: &["abc", "bc"], ..ordered };
        assert!(check(&overlapping, &exited("abc", 0)).is_err());
        assert_eq!(check(&overlapping, &exited("abc bc", 0)), Ok(()));
    }

    #[test]
    fn forbidden_output_fails() {
        let strict = Scenario { forbid: &["kernel panic", "oops"], ..BASE };
        let found = reasons(&strict, &exited("one two three oops", 0));
        assert_eq!(found, ["forbidden output `oops` appeared"]);
    }

    #[test]
    fn core_fmt_symbols_are_told_from_the_rest() {
        for name in [
            "_RNvXs1i_NtCs1M9dR2PfXm1_4core3fmtReNtB6_7Display3fmtB8_",
            "_ZN4core3fmt5write17h0123456789abcdefE",
            "_ZN55_$LT$tessera_abi..Error$u20$as$u20$core..fmt..Debug$GT$3fmt17had773f1f188ed3fbE",
        ] {
            assert!(uses_core_fmt(name), "{name}");
        }
        for name in [
            "_RNvNtCs1M9dR2PfXm1_4core9panicking9panic_fmt",
            "_ZN11kernel_core4text4Line3dec17hb7d1cbf1d4b61eb7E",
            "tessera_syscall",
        ] {
            assert!(!uses_core_fmt(name), "{name}");
        }
    }

    #[test]
    fn divide_routines_are_told_from_the_rest() {
        for name in [
            "__aeabi_uldivmod",
            "__aeabi_uidiv",
            "__udivsi3",
            "_RNvNtNtCsdw_17compiler_builtins3int19specialized_div_rem11u64_div_rem",
        ] {
            assert!(is_divide_routine(name), "{name}");
        }
        for name in ["__aeabi_memcpy", "kernel_core::time::Clock::ticks", "_ZN11tessera_abi6divide7div_rem17h0E"] {
            assert!(!is_divide_routine(name), "{name}");
        }
    }

    #[test]
    fn kernel_panic_is_always_forbidden() {
        let lax = Scenario { forbid: &[], ..BASE };
        let found = reasons(&lax, &exited("one two three\nkernel panic at x.rs:1", 0));
        assert_eq!(found, ["forbidden output `kernel panic` appeared"]);
        let found = reasons(&BASE, &exited("one two three kernel panic", 0));
        assert_eq!(found.len(), 1, "{found:?}");
        let intended = Scenario { allow_panic: true, exit_status: 101, forbid: &[], ..BASE };
        let found = reasons(&intended, &exited("one two three\nkernel panic: on purpose", 101));
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn exit_status_must_match() {
        let found = reasons(&BASE, &exited("one two three", 1));
        assert_eq!(found, ["exit status 1, expected 0"]);
        let found = reasons(&BASE, &exited("one two three", 101));
        assert_eq!(found, ["exit status 101 (kernel panic), expected 0"]);
        let failing = Scenario { exit_status: 1, ..BASE };
        assert_eq!(check(&failing, &exited("one two three", 1)), Ok(()));
        let signalled = Outcome { output: "one two three".into(), status: None, timed_out: false };
        assert_eq!(reasons(&BASE, &signalled), ["exit status none: ended by a signal, expected 0"]);
    }

    #[test]
    fn timeout_fails_unless_expected() {
        let found = reasons(&BASE, &timed_out("one two three"));
        assert_eq!(found, ["did not finish within 30 s; QEMU was stopped"]);
        let endless = Scenario { stopped_by_timeout: true, ..BASE };
        assert_eq!(check(&endless, &timed_out("one two three")), Ok(()));
        let found = reasons(&endless, &exited("one two three", 0));
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("should run until stopped"), "{found:?}");
    }

    #[test]
    fn custom_check_runs_on_the_output() {
        fn needs_four(output: &str) -> Result<()> {
            if output.contains("four") {
                Ok(())
            } else {
                Err("no four".to_string())
            }
        }
        let custom = Scenario { check: Some(needs_four), ..BASE };
        assert_eq!(check(&custom, &exited("one two three four", 0)), Ok(()));
        assert_eq!(reasons(&custom, &exited("one two three", 0)), ["no four"]);
    }

    #[test]
    fn guest_failure_line_is_reported() {
        let output = "one two three\ninit: scenario demo FAILED: counter stuck\r\n";
        let found = reasons(&BASE, &exited(output, 1));
        assert_eq!(
            found,
            ["exit status 1, expected 0", "the guest reported: init: scenario demo FAILED: counter stuck"]
        );
    }

    #[test]
    fn only_a_verdict_at_a_line_start_counts() {
        let verdict = Scenario { expect: &["init: scenario demo passed"], ..BASE };
        assert_eq!(check(&verdict, &exited("x\ninit: scenario demo passed\r\n", 0)), Ok(()));
        let forged = exited("app: init: scenario demo passed\n", 0);
        assert_eq!(reasons(&verdict, &forged), ["no line `init: scenario demo passed` of its own"]);
        let forged_failure = exited("init: scenario demo passed\napp: init: scenario demo FAILED: x\n", 0);
        assert_eq!(check(&verdict, &forged_failure), Ok(()));
    }

    #[test]
    fn all_failures_are_collected() {
        let everything = Scenario { in_order: true, check: Some(both_spinners_progress_before_either_is_done), ..BASE };
        let found = reasons(&everything, &timed_out("two kernel panic"));
        assert_eq!(found.len(), 4, "{found:?}");
    }

    #[test]
    fn uart_harness_must_have_echoed() {
        let never = Transcript::default();
        assert_eq!(check_uart(Mode::Echo, &never), Err("QEMU never connected to the UART harness".to_string()));
        let silent = Transcript { connected: true, ..Transcript::default() };
        let found = check_uart(Mode::Echo, &silent).unwrap_err();
        assert!(found.contains("received nothing"), "{found}");
        let echoed = Transcript { connected: true, echoed: b"hi\n".to_vec(), error: None };
        assert_eq!(check_uart(Mode::Echo, &echoed), Ok(()));
        let found = check_uart(Mode::Talk(b"hello\n"), &echoed).unwrap_err();
        assert!(found.contains("did not get its line back"), "{found}");
        let back = Transcript { connected: true, echoed: b"xx hello\n".to_vec(), error: None };
        assert_eq!(check_uart(Mode::Talk(b"hello\n"), &back), Ok(()));
    }

    #[test]
    fn only_the_uart_scenario_has_the_echo_harness() {
        let with: Vec<(&str, Mode)> = SCENARIOS.iter().filter_map(|s| s.uart.map(|mode| (s.name, mode))).collect();
        assert_eq!(with, [("apps", Mode::Talk(crate::harness::TALK_LINE)), ("uart", Mode::Echo)]);
    }

    #[test]
    fn preempt_scenario_end_to_end() {
        let preempt = SCENARIOS.iter().find(|s| s.name == "preempt").unwrap();
        let good = "kernel: Tessera\nspinner A: progress\nspinner B: progress\nspinner B: done\n\
                    spinner A: done\ninit: scenario preempt passed\n";
        assert_eq!(check(preempt, &exited(good, 0)), Ok(()));
        let serial = "kernel: Tessera\nspinner A: progress\nspinner A: done\nspinner B: progress\n\
                      spinner B: done\ninit: scenario preempt passed\n";
        let found = reasons(preempt, &exited(serial, 0));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("spinner B: progress"));
    }

    #[test]
    fn priority_scenario_end_to_end() {
        let priority = SCENARIOS.iter().find(|s| s.name == "priority").unwrap();
        let good = "spinner H: start\nspinner H: done\nspinner L: start\nspinner L: done\n\
                    init: the call lent its priority\n\
                    init: a spinner beside a caller of a busy server: 9 iterations\n\
                    init: a caller whose turn ended in a server was answered with nothing else ready\n\
                    init: yielding threads took turns\ninit: scenario priority passed\n";
        assert_eq!(check(priority, &exited(good, 0)), Ok(()));
        // The calling, turn and yielding parts are required too.
        for part in [
            "init: the call lent its priority\n",
            "init: a spinner beside a caller of a busy server: 9 iterations\n",
            "init: a caller whose turn ended in a server was answered with nothing else ready\n",
            "init: yielding threads took turns\n",
        ] {
            assert!(check(priority, &exited(&good.replace(part, ""), 0)).is_err(), "{part}");
        }
        let inverted = "spinner L: start\nspinner H: start\nspinner H: done\nspinner L: done\n\
                        init: scenario priority passed\n";
        assert!(check(priority, &exited(inverted, 0)).is_err());
    }

    #[test]
    fn storm_check_wants_four_clean_summaries_that_add_up() {
        use crate::scenarios::storm_was_a_storm;
        let summary = |id: u32, answered: u32, carried: u32, wrong: u32| {
            format!(
                "storm: storm {id}: 20000 operations: {answered} calls answered ({carried} passing a capability), \
                 1200 requests served, 500 takes of notification bits, 5800 refused as predicted, 4000 timed out, \
                 400 revokes, {wrong} wrong\n"
            )
        };
        let chaos = "storm: storm 6: 5000 operations of chaos, 812 succeeded\n\
                     storm: storm 7: 5000 operations of chaos, 790 succeeded\n";
        let good: String = (1..=4).map(|id| summary(id, 900, 20, 0)).collect::<String>() + chaos;
        assert_eq!(storm_was_a_storm(&good), Ok(()));
        // Chaos that did not get far enough fails it.
        let short = good.replace("storm 7: 5000", "storm 7: 4000");
        assert!(storm_was_a_storm(&short).unwrap_err().contains("storm 7: 5000 operations of chaos"));
        // One wrong answer anywhere fails it.
        let wrong: String = (1..=4).map(|id| summary(id, 900, 20, u32::from(id == 3))).collect::<String>() + chaos;
        assert!(storm_was_a_storm(&wrong).unwrap_err().contains("storm 3 found 1 wrong"));
        // A missing summary fails it.
        let three: String = (1..=3).map(|id| summary(id, 900, 20, 0)).collect::<String>() + chaos;
        assert!(storm_was_a_storm(&three).unwrap_err().contains("no summary line from storm 4"));
        // Too few answers passing a capability all together (1 in all), or
        // too few calls answered, and the storm did not cover it.
        let few: String = (1..=4).map(|id| summary(id, 900, u32::from(id == 1), 0)).collect::<String>() + chaos;
        assert!(storm_was_a_storm(&few).unwrap_err().contains("passing a capability"));
        let quiet: String = (1..=4).map(|id| summary(id, 200, 20, 0)).collect::<String>() + chaos;
        assert!(storm_was_a_storm(&quiet).unwrap_err().contains("calls answered"));
    }
}
