//! The M-profile kernel (`kernel/armv7m`, docs/mt3620.md) on QEMU
//! `mps2-an386`: built for `thumbv7em-none-eabihf` (installed when
//! missing) and booted by the `qemu:mps2-boot` scenario of `cargo xtask
//! test`, which checks what the kernel found on the core against the
//! board's description, and that unprivileged programs under the MPU
//! reach the kernel only through `SVC` and end in contained faults when
//! they touch the kernel's RAM, an ungranted device, another program's
//! stack or run code from their own, that two floating-point programs
//! preempted by SysTick interleave and keep their FPU registers, and that
//! the portable kernel then runs the M4 programs (`userland/m-programs`,
//! packed into the kernel's boot image): IPC, preemption with each
//! process's FPU registers kept and cleared for the next, probes that end
//! in contained faults, a child whose stack pointer aims at the kernel, a
//! timer's interrupts, programs `init` loads itself that end in contained
//! faults, and the sample apps under `init`'s app manager: refused by name
//! where the image cannot grant what they ask, run, finished, restarted
//! and held, and `uartecho` sending a host harness's line back through
//! the UART server and the board's second UART. That is the build with
//! the checks ([`Contents::Scenario`]); the system build
//! ([`Contents::System`], what `cargo xtask qemu --board mps2-an386` boots
//! and `qemu:mps2-system` checks) has none of them: the kernel starts
//! `init`, which starts the UART server and the apps.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use tessera_board::armv7m::Board;

use crate::harness::{EchoServer, Mode, TALK_LINE};
use crate::qemu::{self, AppUart, QEMU};
use crate::{cargo, run_streamed, show, target_dir, Result};

/// The Rust target of the M-profile kernel.
pub const TARGET: &str = "thumbv7em-none-eabihf";
/// Its package.
pub const PACKAGE: &str = "tessera-kernel-m";
/// The board its scenarios run on.
pub const BOARD: &str = "mps2-an386";
/// How long the boot may take (the apps' part alone takes about 4 s:
/// `crasher` works a second before each of its three crashes).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the M-profile kernel's system build (release): `init`, the UART
/// server and the apps, no checks; returns its ELF.
pub fn build() -> Result<PathBuf> {
    build_with(&[])
}

/// What an M4 boot image holds, by the kernel features it is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contents {
    /// `init`, the UART server and the apps: what a board runs.
    System,
    /// Also `echo`, the probes and `init`'s checks (feature `checks`, or
    /// `bench`, which implies it).
    Checks,
    /// The checks and the hostile apps and package fixtures
    /// (`checks` with `scenario`: `qemu:mps2-boot`).
    Scenario,
}

impl Contents {
    /// The contents a kernel built with `features` runs.
    pub fn for_features(features: &[&str]) -> Contents {
        let checks = features.iter().any(|feature| matches!(*feature, "checks" | "bench"));
        match (checks, features.contains(&"scenario")) {
            (false, _) => Contents::System,
            (true, false) => Contents::Checks,
            (true, true) => Contents::Scenario,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Contents::System => "system",
            Contents::Checks => "checks",
            Contents::Scenario => "scenario",
        }
    }

    fn checks(self) -> bool {
        self != Contents::System
    }
}

/// The M4 programs of the system build on `mps2-an386` (`userland/m-programs`
/// without its feature `checks`, whose other programs require it): `init`
/// and the servers ([`system_servers`] picks them on other boards).
pub const SYSTEM_PROGRAMS: [&str; 3] = ["init", "uartd", "gpiod"];

/// The servers `init` starts for apps, in slot order: the UART server
/// where the board has a UART for apps, the GPIO server where it has GPIO
/// blocks.
const SERVERS: [&str; 2] = ["uartd", "gpiod"];

/// What the apps in `packages` (boot-image entries: packages and other
/// files) ask of each of [`SERVERS`]: a UART, GPIO pins.
fn asked(packages: &[(String, Vec<u8>)]) -> [bool; 2] {
    let mut asked = [false; 2];
    for (_, bytes) in packages {
        let Ok(package) = tessera_abi::package::Package::parse(bytes) else { continue };
        let Ok(manifest) = tessera_abi::manifest::Manifest::decode(package.manifest()) else { continue };
        asked[0] |= manifest.uarts().next().is_some();
        asked[1] |= manifest.gpios().next().is_some();
    }
    asked
}

/// The servers of the system build on `board` for the apps in
/// `packages`: each whose devices the board has; on a board with fewer
/// server slots than that, only those the apps ask for, which must fit.
pub fn system_servers(board: &Board, packages: &[(String, Vec<u8>)]) -> Result<Vec<&'static str>> {
    let has = [
        board.user_devices.iter().any(|device| device.uart.is_some()),
        board.user_devices.iter().any(|device| device.gpio.is_some()),
    ];
    // Every slot but `init`'s, in both RAMs.
    let room = board.program_slots().saturating_sub(1) as usize;
    let possible: Vec<usize> = (0..SERVERS.len()).filter(|&index| has[index]).collect();
    if possible.len() <= room {
        return Ok(possible.into_iter().map(|index| SERVERS[index]).collect());
    }
    let asked = asked(packages);
    let wanted: Vec<&'static str> =
        possible.into_iter().filter(|&index| asked[index]).map(|index| SERVERS[index]).collect();
    if wanted.len() > room {
        return Err(format!(
            "the apps ask for {}, but {} has room for {room} server{} beside init (its program slots, \
             `programs.slots` in its board.json): build fewer apps, or apps that need fewer servers",
            wanted.join(" and "),
            board.name,
            if room == 1 { "" } else { "s" }
        ));
    }
    Ok(wanted)
}

/// The package of the programs the portable kernel starts on the M4
/// (`userland/m-programs`, each linked at its slot of the board).
pub const PROGRAMS_PACKAGE: &str = "tessera-m-programs";

/// Builds the M4 programs and apps for `board` (of the apps, only those
/// `only` names, if it names any) and packs them into
/// `target/tessera/<board>/boot-<contents>.img`; returns its path.
pub fn build_boot_image(board: &str, contents: Contents, only: Option<&[String]>) -> Result<PathBuf> {
    let fixtures = contents == Contents::Scenario;
    crate::toolchain::ensure_target(TARGET)?;
    let description = Board::load(board).map_err(|err| err.0)?;
    let dir = crate::image::tessera_dir().join(board);
    std::fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", show(&dir)))?;
    // Where each program's code went last time: usually where it goes
    // again, so each links once.
    let remembered = dir.join(format!("{CODE_FILE}-{}", contents.name()));
    let mut texts = read_texts(&remembered);
    // Until packing says where its code lies, a program links it at the
    // start of where the boot image goes: its slot need not hold code
    // that will run in place (the MT3620's slots do not).
    for name in IN_PLACE_PROGRAMS {
        texts.entry(name.to_string()).or_insert(image_base(&description, 0));
    }
    build_programs(board, &texts, contents)?;
    let all = crate::image::program_names(&crate::workspace_root().join("userland/m-programs/src/bin"))?;
    let (mut apps, app_names) = build_apps(board, &all, fixtures, only, &texts)?;
    let names: Vec<String> = if contents.checks() {
        all.clone()
    } else {
        let servers = system_servers(&description, &apps)?;
        std::iter::once("init").chain(servers).map(str::to_string).collect()
    };
    let release = target_dir().join(TARGET).join("release");
    // `init`, `uartd` and the apps run their code in place (docs/mt3620.md,
    // "Code in place"): each is linked where its code lies in the boot
    // image, which is known only once it is packed. No size depends on
    // those addresses, so a second link settles them; a third try is an
    // error.
    let in_place: Vec<String> = IN_PLACE_PROGRAMS
        .iter()
        .filter(|name| names.iter().any(|program| program == *name))
        .map(|name| name.to_string())
        .chain(app_names)
        .collect();
    for _ in 0..3 {
        let mut programs = Vec::with_capacity(names.len() + apps.len());
        for name in names.iter().cloned() {
            let path = release.join(&name);
            let elf =
                std::fs::read(&path).map_err(|err| format!("cannot read the M4 program {}: {err}", show(&path)))?;
            programs.push((name, elf));
        }
        programs.extend(apps.iter().cloned());
        let bytes = crate::image::pack(programs)?;
        let base = image_base(&description, bytes.len());
        let mut moved = Vec::new();
        for name in &in_place {
            let placement = CodePlacement::at(base, &bytes, name)?;
            if placement.linked != placement.lies {
                moved.push(name.clone());
            }
            texts.insert(name.clone(), placement.lies);
        }
        if moved.is_empty() {
            write_texts(&remembered, &texts)?;
            let path = dir.join(format!("boot-{}.img", contents.name()));
            crate::image::write_if_changed(&path, &bytes)?;
            return Ok(path);
        }
        println!("==> linking the code of {} where it lies in the boot image", moved.join(", "));
        if moved.iter().any(|name| IN_PLACE_PROGRAMS.contains(&name.as_str())) {
            build_programs(board, &texts, contents)?;
        }
        if moved.iter().any(|name| !IN_PLACE_PROGRAMS.contains(&name.as_str())) {
            apps = build_apps(board, &all, fixtures, only, &texts)?.0;
        }
    }
    Err("the programs' code did not settle at one address in the boot image after three links (docs/mt3620.md)"
        .to_string())
}

/// The M4 programs whose code runs in place besides the apps: `init` (the
/// kernel maps it) and the servers (`init`'s loader slices them).
const IN_PLACE_PROGRAMS: [&str; 3] = ["init", "uartd", "gpiod"];
/// Where xtask keeps the last addresses (in `target/tessera/<board>/`,
/// one file per [`Contents`], `code-in-place-<contents>`): a line
/// `NAME 0xADDRESS` each.
const CODE_FILE: &str = "code-in-place";

/// The addresses in `path` (none if it is missing or unreadable).
fn read_texts(path: &std::path::Path) -> std::collections::BTreeMap<String, u32> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let (name, address) = line.split_once(' ')?;
            Some((name.to_string(), u32::from_str_radix(address.strip_prefix("0x")?, 16).ok()?))
        })
        .collect()
}

fn write_texts(path: &std::path::Path, texts: &std::collections::BTreeMap<String, u32>) -> Result<()> {
    let text: String = texts.iter().map(|(name, address)| format!("{name} {address:#x}\n")).collect();
    std::fs::write(path, text).map_err(|err| format!("cannot write {}: {err}", show(path)))
}

/// Builds the M4 programs for `board` (with `init`'s checks and the
/// programs they need where `contents` says), those of
/// [`IN_PLACE_PROGRAMS`] with an address in `texts` linked to run their
/// code there (in their slots without).
fn build_programs(board: &str, texts: &std::collections::BTreeMap<String, u32>, contents: Contents) -> Result<()> {
    println!("==> building the M4 programs (release, {TARGET}, {}) for {board}", contents.name());
    let mut command = cargo();
    command.args(["build", "--release", "--target", TARGET, "-p", PROGRAMS_PACKAGE]);
    if contents.checks() {
        command.args(["--features", "checks"]);
    }
    command.env("TESSERA_M_BOARD", board);
    for name in IN_PLACE_PROGRAMS {
        match texts.get(name) {
            Some(address) => command.env(tessera_board::armv7m::program_text_variable(name), format!("{address:#x}")),
            None => command.env_remove(tessera_board::armv7m::program_text_variable(name)),
        };
    }
    run_streamed(command)
}

/// Where the kernel's linker script puts a boot image of `bytes` on
/// `board`: at the first multiple of its frame (its size as a power of two,
/// 64 KiB or more: kernel/armv7m/build.rs) at least 64 KiB into code
/// memory, assuming the kernel's own code ends below that
/// ([`check_init_in_place`] checks it once the kernel is linked).
fn image_base(board: &Board, bytes: usize) -> u32 {
    let frame = (bytes as u32).next_power_of_two().max(64 * 1024);
    (board.memory.code_base + 0x10000).next_multiple_of(frame)
}

/// Where a program's code is linked and where it lies once the boot image
/// is in the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CodePlacement {
    /// The address its code segment is linked at.
    linked: u32,
    /// Where the segment's first byte lies in code memory.
    lies: u32,
}

impl CodePlacement {
    /// For the program or app `name` of the boot image `image` lying at
    /// `base`.
    fn at(base: u32, image: &[u8], name: &str) -> Result<CodePlacement> {
        let parsed = tessera_abi::bootimage::BootImage::parse(image)
            .map_err(|err| format!("the M4 boot image does not parse: {err}"))?;
        let entry = parsed.elf(name).ok_or_else(|| format!("the M4 boot image has no {name}"))?;
        let elf = if entry.starts_with(&tessera_abi::package::MAGIC) {
            tessera_abi::package::Package::parse(entry).map_err(|err| format!("{name}'s package: {err}"))?.elf()
        } else {
            entry
        };
        let position = (elf.as_ptr() as usize - image.as_ptr() as usize) as u32;
        // Read as the M4's kernel and loader read it (user addresses are
        // physical, below the system region).
        let plan = tessera_abi::elf::parse_within(elf, 0x1_0000, 0xE000_0000)
            .map_err(|err| format!("{name} is not a program the M4 loads: {err:?}"))?;
        let code = plan
            .segments()
            .find(|segment| segment.access.execute)
            .ok_or(format!("{name} has no executable segment"))?;
        Ok(CodePlacement { linked: code.address, lies: base + position + code.file_offset })
    }
}

/// Checks that the kernel ELF at `kernel` holds its boot image where
/// `init`'s code was linked to run in place.
fn check_init_in_place(kernel: &std::path::Path, boot_image: &std::path::Path) -> Result<()> {
    let read = |path: &std::path::Path| std::fs::read(path).map_err(|err| format!("cannot read {}: {err}", show(path)));
    let sections = crate::elf::sections(&read(kernel)?)?;
    let section = sections
        .iter()
        .find(|section| section.name == crate::elf::BOOT_IMAGE_SECTION)
        .ok_or_else(|| format!("{} has no {}", show(kernel), crate::elf::BOOT_IMAGE_SECTION))?;
    let placement = CodePlacement::at(section.address, &read(boot_image)?, "init")?;
    if placement.linked != placement.lies {
        return Err(format!(
            "init's code is linked to run at {:#010x}, but the kernel put it at {:#010x}: the kernel's code and \
             read-only data ({}) reach past where xtask expected the boot image",
            placement.linked,
            placement.lies,
            show(kernel)
        ));
    }
    Ok(())
}

/// What `init`'s app manager puts in an app's slot after its program
/// (`tessera_loader::identity::start_app`): the start information (4 KiB),
/// up to 12 KiB to align the heap, the 16 KiB heap, the 8 KiB process
/// object (`tessera_abi::PROCESS_OBJECT_BYTES` on the M4).
const APP_RESERVE_BYTES: u32 = 40 * 1024;

/// Builds the apps of `userland/apps` (the samples and yours; with
/// `fixtures` also `userland/test-apps/test-m4-*`) for the M4, each linked at the next of the board's app
/// slots (in name order, through `tessera_app_build`'s
/// `TESSERA_M_APP_SLOT`), and packs each with its manifest as on the A7;
/// returns the boot-image entries, with the trusted keys and, with
/// `fixtures`, the A7's package fixtures made from blinky's M4 package
/// (`test-tampered`, `test-unsigned`, `test-truncated`). `init` decides at
/// boot which of them this image can run (docs/mt3620.md, "Apps").
fn build_apps(
    board: &str,
    programs: &[String],
    fixtures: bool,
    only: Option<&[String]>,
    texts: &std::collections::BTreeMap<String, u32>,
) -> Result<(BootEntries, Vec<String>)> {
    let description = Board::load(board).map_err(|err| err.0)?;
    // The samples and yours; in the scenario's image also the M4's
    // fixtures (`test-m4-*`).
    let found = crate::apps::discover()?;
    crate::apps::check_names(&found, programs)?;
    // An M4 fixture may be named on an emulated board (a scenario boots
    // one on its own); never on a real one.
    let nameable = |name: &str| {
        !crate::apps::is_test_app(name) || (description.qemu.is_some() && crate::apps::is_m4_fixture(name))
    };
    if let Some(fixture) = only.into_iter().flatten().find(|name| crate::apps::is_test_app(name) && !nameable(name)) {
        return Err(format!(
            "`{fixture}` is a test fixture: it may be named as an app only on an emulated board, not on {}",
            description.name
        ));
    }
    if let Some(missing) = only.into_iter().flatten().find(|name| !found.iter().any(|app| &app.name == *name)) {
        let names: Vec<&str> =
            found.iter().map(|app| app.name.as_str()).filter(|name| !crate::apps::is_test_app(name)).collect();
        return Err(format!("there is no app `{missing}` in userland/apps (there are: {})", names.join(", ")));
    }
    let apps: Vec<_> = found
        .into_iter()
        .filter(|app| match only {
            Some(only) => only.contains(&app.name),
            None => !crate::apps::is_test_app(&app.name) || (fixtures && crate::apps::is_m4_fixture(&app.name)),
        })
        .collect();
    let Some(slots) = description.apps else {
        return Ok((Vec::new(), Vec::new()));
    };
    if apps.len() > slots.slots as usize {
        return Err(format!(
            "{} apps, but {} has {} app slots (`apps.slots` in its board.json){}",
            apps.len(),
            description.name,
            slots.slots,
            if only.is_some() { "" } else { "; name the apps to build with --app" }
        ));
    }
    let release = target_dir().join(TARGET).join("release");
    let mut entries = Vec::with_capacity(apps.len());
    for (index, app) in apps.iter().enumerate() {
        // The program may use the slot but for what init's app manager puts
        // after it: an app that outgrows that fails to link, not to start.
        let bytes = slots.slot_bytes.checked_sub(APP_RESERVE_BYTES).filter(|&bytes| bytes > 0).ok_or_else(|| {
            format!("{}'s app slots ({:#x} bytes) leave no room for a program", description.name, slots.slot_bytes)
        })?;
        let slot = format!("{:#x},{bytes:#x}", slots.slot(index as u32));
        println!("==> building the app {} for the M4 (slot {slot})", app.name);
        let mut command = cargo();
        command.args(["build", "--release", "--target", TARGET, "-p", &app.name]);
        command.env(tessera_app_build::M_SLOT_VARIABLE, &slot);
        // Its code where its package puts it in the boot image, once known;
        // until then where the image starts (as for the programs).
        let text = texts.get(&app.name).copied().unwrap_or(image_base(&description, 0));
        command.env(tessera_app_build::M_TEXT_VARIABLE, format!("{text:#x}"));
        command.env("TESSERA_M_BOARD", board);
        run_streamed(command)?;
        let path = release.join(&app.name);
        let elf = std::fs::read(&path).map_err(|err| format!("cannot read the M4 app {}: {err}", show(&path)))?;
        let package = crate::apps::package_app(app, &elf)?;
        if fixtures && app.name == crate::apps::FIXTURE_SOURCE {
            entries.extend(crate::apps::fixtures(&package)?);
        }
        entries.push((app.name.clone(), package));
    }
    if fixtures {
        // Stubs so that the image holds one package more than `init`
        // manages: it refuses all but the last for their form and the last
        // for want of room, and its summary counts them with the other
        // refusals (`apps_summary_reasons`, `stub_reasons`). The board's
        // app slots keep the packages below that (16 apps and the 3
        // package fixtures on `mps2-an386`).
        let stub = entries.iter().find(|(name, _)| name == crate::apps::FIXTURE_SOURCE).map(|(_, package)| package);
        let stub = stub.ok_or("internal error: no package to cut the stub fixtures from")?[..64].to_vec();
        let managed = entries.len();
        if managed > MANAGED_APPS {
            return Err(format!(
                "the M4 scenario's image has {managed} packages, more than the {MANAGED_APPS} init manages \
                 (`MAX_APPS` in userland/m-programs/src/bin/init/apps.rs)"
            ));
        }
        for n in 1..=MANAGED_APPS + 1 - managed {
            // Named to sort last (the boot image is sorted by name).
            entries.push((format!("{STUB_PREFIX}{n}"), stub.clone()));
        }
    }
    // The keys init checks the packages' signatures against.
    let key = crate::signing::DevelopmentKey::load_or_create(&crate::workspace_root())?;
    entries
        .push((crate::apps::TRUSTED_KEYS_ENTRY.to_string(), crate::signing::trusted_keys_blob(&[key.trusted_key()])?));
    Ok((entries, apps.into_iter().map(|app| app.name).collect()))
}

/// Boot-image entries: (name, file).
type BootEntries = Vec<(String, Vec<u8>)>;

/// How many apps the M4's `init` manages (`MAX_APPS` in
/// `userland/m-programs/src/bin/init/apps.rs`).
const MANAGED_APPS: usize = 20;
/// The names of the cut-down packages the scenario's image ends with, so
/// that it holds one more package than `init` manages: `zz-stub-1` and on.
const STUB_PREFIX: &str = "zz-stub-";

/// Builds the M-profile kernel (release) for `mps2-an386` with
/// `features`, around the M4 programs they call for
/// ([`Contents::for_features`]); returns its ELF.
pub fn build_with(features: &[&str]) -> Result<PathBuf> {
    build_for(BOARD, features, None, false)
}

/// Builds the M-profile kernel (release) for `board` with `features`,
/// around the M4 programs they call for and the apps (only those `only`
/// names, if it names any); `strip`: without debug information. Returns
/// its ELF.
pub fn build_for(board: &str, features: &[&str], only: Option<&[String]>, strip: bool) -> Result<PathBuf> {
    let boot_image = build_boot_image(board, Contents::for_features(features), only)?;
    let boot_image =
        boot_image.canonicalize().map_err(|err| format!("cannot find the boot image {}: {err}", show(&boot_image)))?;
    let with = if features.is_empty() { String::new() } else { format!(", features {}", features.join(",")) };
    println!("==> building the M-profile kernel (release, {TARGET}{with}) for {board}");
    let mut command = cargo();
    command.args(["build", "--release", "--target", TARGET, "-p", PACKAGE]);
    command.env("TESSERA_M_BOOT_IMAGE", &boot_image);
    if !features.is_empty() {
        command.arg("--features").arg(features.join(","));
    }
    if strip {
        command.env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    }
    // Named, not inherited: a TESSERA_M_BOARD left in the shell must not
    // boot another board's kernel here.
    command.env("TESSERA_M_BOARD", board);
    run_streamed(command)?;
    let elf = target_dir().join(TARGET).join("release").join(PACKAGE);
    if !elf.is_file() {
        return Err(format!("the build wrote no {}", show(&elf)));
    }
    check_init_in_place(&elf, &boot_image)?;
    Ok(elf)
}

/// QEMU booting `kernel` on the board, console captured, semihosting on
/// (the kernel ends the run with its status). The first UART is the
/// kernel's console; the second, the apps' UART 0 (`uartd`), is a TCP
/// socket on 127.0.0.1 as `app_uart` says.
pub fn command(board: &Board, kernel: &std::path::Path, app_uart: AppUart) -> Command {
    let socket = match app_uart {
        AppUart::Listen(port) => format!("port={port},server=on,wait=off"),
        AppUart::Connect(port) => format!("port={port},server=off"),
    };
    let mut command = Command::new(QEMU);
    command.args(board.qemu_args().unwrap_or_default());
    command.args(["-display", "none", "-monitor", "none", "-serial", "stdio"]);
    command.args(["-chardev", &format!("socket,id=appuart,host=127.0.0.1,{socket}"), "-serial", "chardev:appuart"]);
    command.args(["-semihosting-config", "enable=on,target=native"]);
    command.arg("-kernel").arg(kernel);
    command
}

/// `cargo xtask qemu --board BOARD`: builds the M-profile kernel for
/// `BOARD` and boots it with the console on this terminal, until it ends
/// (`init` switches off once no app is left to run), QEMU is stopped, or
/// `timeout`; its exit status is the kernel's.
pub fn run(board: &str, timeout: Option<Duration>) -> Result<ExitCode> {
    if board == crate::mt3620::BOARD {
        return Err(format!(
            "{board} is a real board, not one QEMU emulates; package Tessera for it with `cargo xtask mt3620 package`"
        ));
    }
    if board != BOARD {
        return Err(format!(
            "the M-profile kernel is built for {BOARD} only so far (docs/mt3620.md), not {board}; \
             without --board, `cargo xtask qemu` boots QEMU virt"
        ));
    }
    let board = Board::load(board).map_err(|err| err.0)?;
    let kernel = build()?;
    let port = qemu::free_port()?;
    let mut command = command(&board, &kernel, AppUart::Listen(port));
    println!(
        "==> booting the M-profile kernel on {} (it switches off once no app is left to run; `uartecho` runs on: \
         stop QEMU with Ctrl-C)",
        board.name
    );
    println!("==> the apps' UART 0 (CMSDK UART 1) listens on 127.0.0.1:{port}: `nc 127.0.0.1 {port}`");
    let text = crate::describe(&command);
    let mut child = command.spawn().map_err(|err| format!("cannot start `{text}`: {err}"))?;
    match qemu::wait_with_timeout(&mut child, timeout) {
        Ok(Some(status)) => Ok(ExitCode::from(status.code().and_then(|code| u8::try_from(code).ok()).unwrap_or(1))),
        Ok(None) => {
            println!("==> timeout, stopped QEMU");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            qemu::stop(&mut child);
            Err(format!("lost track of QEMU: {err}"))
        }
    }
}

/// The lines a good boot of a build holding `contents` prints, from the
/// board's description.
fn expected_lines(board: &Board, contents: Contents) -> Vec<String> {
    let regions = board.kernel_devices.mpu_regions;
    let clock = board.kernel_devices.clock_hz;
    let mut lines = vec![
        format!("kernel: Tessera on {} (Armv7E-M)", board.name),
        "a Cortex-M4".to_string(),
        format!("kernel: MPU with {regions} regions (the board description says {regions})"),
        "kernel: FPU present, enabled for User mode".to_string(),
        format!("kernel: kernel-core's clock at {clock} Hz: {clock} ticks = 1000000 us"),
        "kernel: boot checks passed".to_string(),
        format!(
            "kernel: the portable kernel on {}: programs linked at their slots from {:#010x}",
            board.name,
            board.programs.map_or(0, |programs| programs.base)
        ),
        "init: running under the portable kernel".to_string(),
    ];
    if contents.checks() {
        lines.extend(check_lines(board));
    }
    if contents == Contents::Scenario {
        lines.extend(fixture_lines());
    }
    lines.extend(app_lines(board));
    lines.push("kernel: shutdown requested by 'init', status 0".to_string());
    if contents.checks() {
        lines.extend([
            "init: done: all answers right".to_string(),
            "kernel: kernel data intact at shutdown".to_string(),
        ]);
    }
    lines
}

/// The lines of the mechanism checks and of `init`'s checks of the
/// portable kernel (feature `checks`).
fn check_lines(board: &Board) -> Vec<String> {
    vec![
        // The unprivileged programs under the MPU (kernel/armv7m/src/isolation.rs).
        "kernel: program 1 (hello) says 42".to_string(),
        "kernel: program 2 (reader): MemManage fault, unmapped address at 0x".to_string(),
        format!(
            "kernel: program 3 (uart-writer): MemManage fault, unmapped address at {:#010x}; ended, the kernel goes on",
            board.kernel_devices.uart
        ),
        "kernel: program 4 (stack-runner): MemManage fault, execute from non-executable memory at 0x".to_string(),
        "kernel: program 5 (peeker): MemManage fault, unmapped address at 0x".to_string(),
        "kernel: program 6 (hello) says 42".to_string(),
        "kernel: isolation checks passed (6 of 6 programs as expected)".to_string(),
        // Two floating-point programs under SysTick preemption (preempt.rs).
        "kernel: two floating-point programs under SysTick preemption, 12 rounds each".to_string(),
        "kernel: fp-a finished 12 and fp-b 12 of 12 rounds, each round with its FPU registers intact;".to_string(),
        "kernel: preemption checks passed".to_string(),
        // The portable kernel with the M4 programs (portable.rs,
        // userland/m-programs).
        "init: echo answered 40 + 2 = 42".to_string(),
        "init: echo received the capability sent to it: an endpoint, send and grant, badge 7".to_string(),
        "init: 3 of 3 timer interrupts received and acknowledged".to_string(),
        "init: echo made 6 rounds, 0 with FPU registers changed".to_string(),
        "fp-reader: the FPU registers read zero".to_string(),
        "init: the child aimed at the kernel's data faulted before it ran".to_string(),
        // A syscall whose frame cannot be stacked, and a breakpoint: each
        // ends its own process only (its pending SVC is not taken in
        // `init`; the breakpoint does not stop the machine).
        "init: svc-stacker ended: Faulted(Unmapped)".to_string(),
        "init: bkpt-er ended: Faulted(OtherAbort)".to_string(),
    ]
}

/// The lines of the scenario's hostile apps and package fixtures.
fn fixture_lines() -> Vec<String> {
    vec![
        // Hostile apps (`userland/test-apps/test-m4-*`), each held after
        // three contained faults (their addresses: `expected_faults`).
        "init: app 'test-m4-app-reader' held: 3 crashes within 10 s; not restarted".to_string(),
        "init: app 'test-m4-image-reader' held: 3 crashes within 10 s; not restarted".to_string(),
        "init: app 'test-m4-kernel-reader' held: 3 crashes within 10 s; not restarted".to_string(),
        "init: app 'test-m4-uart-writer' held: 3 crashes within 10 s; not restarted".to_string(),
        // Packages whose signature does not hold, or that do not parse.
        "init: app 'test-tampered' refused: untrusted package: signature does not match key".to_string(),
        "init: app 'test-unsigned' refused: untrusted package: package is not signed".to_string(),
        "init: app 'test-truncated' refused: malformed package: truncated".to_string(),
        // The GPIO fixture: its pin reads back what it drove (from the
        // FPGA I/O's LED register), the other LED (rtblinky's) is denied.
        "test-m4-gpio: pin 9 drove high and read high, drove low and read low".to_string(),
        "test-m4-gpio: pin 8 (not granted) denied, pin 20 (not on the board) refused".to_string(),
        "init: app 'test-m4-gpio' finished (exit 0); not restarted".to_string(),
    ]
}

/// The lines of the UART server and the samples as apps (`init`'s app
/// manager, docs/mt3620.md "Apps"): what this image cannot grant is
/// refused by name, `countdown` runs and finishes, `crasher` is restarted
/// with back-off and held.
fn app_lines(board: &Board) -> Vec<String> {
    vec![
        format!("init: app 'blinky' refused: Gpio 5: {} has no such pin", board.name),
        format!("init: app 'hostile' refused: Gpio 6: {} has no such pin", board.name),
        // The UART server and `uartecho` through it: the harness's line
        // comes back (checked on the host side too).
        format!(
            "uartd: serving UART 0: the CMSDK UART at {:#010x}",
            board.user_devices.iter().find(|device| device.name == "CMSDK UART 1").map_or(0, |device| device.base)
        ),
        "uartecho: echoing UART 0".to_string(),
        "uartecho: echoed \"host: hello, uartecho\"".to_string(),
        // The GPIO server, with the FPGA I/O's two LEDs as GPIO 8 and 9,
        // and the real-time sample blinking GPIO 8.
        "gpiod: serving GPIO pins 0x00000300 in 1 block".to_string(),
        "rtblinky: LED on GPIO 8 set up".to_string(),
        "rtblinky: tick 4: GPIO 8 low (reads low)".to_string(),
        format!("init: app 'httpget' refused: AllowedConnections: {} has no network server", board.name),
        "countdown: started with 16384 bytes of heap".to_string(),
        "countdown: done, 3 steps ".to_string(),
        "init: app 'countdown' finished (exit 0); not restarted".to_string(),
        " app=crasher component=2da9dcc7-5738-4563-b22e-a54516b4f3b1 ended=fault \"unmapped address\"".to_string(),
        "init: app 'crasher' restarts in 100 ms".to_string(),
        "init: app 'crasher' restarts in 200 ms".to_string(),
        "init: app 'crasher' held: 3 crashes within 10 s; not restarted".to_string(),
    ]
}

/// The probes the portable kernel starts and where each must fault: a
/// MemManage fault at an address it was never given.
fn expected_faults(board: &Board) -> Vec<(&'static str, Option<u32>)> {
    vec![
        // `echo`'s code, in slot 1.
        ("peeker", board.programs.map(|programs| programs.slot(1))),
        // A word of the kernel's data (its address varies with the build).
        ("kernel-reader", None),
        ("uart-writer", Some(board.kernel_devices.uart)),
        // `init`'s child whose stack pointer leads into the kernel's data:
        // refused before it runs (no address: the frame could not be placed).
        ("stack-aimer", Some(0)),
        // The hostile apps: the kernel's data at RAM's start, `init`'s
        // stack in the first program slot (its code runs from the boot
        // image, which no app maps), the console UART.
        ("test-m4-kernel-reader", Some(board.memory.ram_base)),
        ("test-m4-app-reader", board.programs.map(|programs| programs.slot(0))),
        // The boot image just before its own code, which runs in place
        // there (the address varies with the image).
        ("test-m4-image-reader", None),
        ("test-m4-uart-writer", Some(board.kernel_devices.uart)),
    ]
}

/// Why `output` does not show the portable kernel's checks: each probe's
/// fault, and `init`'s and `echo`'s busy rounds interleaved (only
/// preemption can interleave them: each round is a busy loop).
fn portable_reasons(board: &Board, image: &std::ops::Range<u64>, output: &str) -> Vec<String> {
    let mut reasons = Vec::new();
    for (name, address) in expected_faults(board) {
        let fault = format!("kernel: fault in process '{name}' (pid ");
        let found = output
            .lines()
            .filter(|line| {
                line.starts_with(&fault)
                    && line.contains("): unmapped address, address ")
                    && address.is_none_or(|address| line.contains(&format!("address {address:#010x},")))
            })
            .count();
        // A hostile app faults the same way in each run until it is held.
        let runs = if crate::apps::is_m4_fixture(name) {
            tessera_init_core::supervisor::POLICY.max_crashes as usize
        } else {
            1
        };
        if found < runs {
            let at = address.map_or("any address".to_string(), |address| format!("{address:#010x}"));
            reasons.push(format!("{found} of {runs} contained faults of `{name}` at {at}"));
        }
    }
    if output.contains("BROKEN") {
        reasons.push("a probe reached what it must not".to_string());
    }
    if output.contains("FPU registers changed under it") {
        reasons.push("a process's FPU registers changed under it".to_string());
    }
    reasons.extend(apps_summary_reasons(output));
    reasons.extend(init_in_place_reasons(image, output));
    let rounds: Vec<&str> = output.lines().filter(|line| line.contains(": round ")).collect();
    let switches = rounds.windows(2).filter(|pair| pair[0].split(':').next() != pair[1].split(':').next()).count();
    if rounds.len() != 12 || switches < 2 {
        reasons.push(format!("init's and echo's rounds did not interleave: {rounds:?}"));
    }
    reasons
}

/// Why `output` does not show `init`, the UART server and the apps that
/// run running their code in place, from the boot image (`image`: its
/// section in the kernel, [`boot_image_range`]; docs/mt3620.md, "Code in
/// place"): `init` prints where its `main` is, and where the others' code
/// is.
fn init_in_place_reasons(image: &std::ops::Range<u64>, output: &str) -> Vec<String> {
    let code = image;
    let lines = [
        ("init", "init: running under the portable kernel, linked at "),
        ("uartd", "init: uartd's code runs in place at "),
        ("gpiod", "init: gpiod's code runs in place at "),
        // Its slot (an address in RAM), then where its code is.
        ("countdown", "init: app 'countdown' started in its slot at "),
        ("crasher", "init: app 'crasher' started in its slot at "),
    ];
    let mut reasons = Vec::new();
    for (name, line) in lines {
        let at = output
            .lines()
            .find_map(|found| found.strip_prefix(line))
            .map(|rest| rest.split_once(", its code in place at ").map_or(rest, |(_, code)| code))
            .and_then(|address| u64::from_str_radix(address.trim().trim_start_matches("0x"), 16).ok());
        match at {
            Some(at) if code.contains(&at) => {}
            Some(at) => reasons.push(format!(
                "{name}'s code runs at {at:#010x}, not in place in the boot image ({:#010x}..{:#010x})",
                code.start, code.end
            )),
            None => reasons.push(format!("no `{line}...` line")),
        }
    }
    reasons
}

/// Where the kernel ELF at `kernel` holds its boot image (its
/// `.bootimage` section).
fn boot_image_range(kernel: &std::path::Path) -> Result<std::ops::Range<u64>> {
    let bytes = std::fs::read(kernel).map_err(|err| format!("cannot read {}: {err}", show(kernel)))?;
    let sections = crate::elf::sections(&bytes)?;
    let section = sections
        .iter()
        .find(|section| section.name == crate::elf::BOOT_IMAGE_SECTION)
        .ok_or_else(|| format!("{} has no {}", show(kernel), crate::elf::BOOT_IMAGE_SECTION))?;
    Ok(u64::from(section.address)..u64::from(section.address) + u64::from(section.size))
}

/// Why `init`'s summary of the apps (`init: apps: F finished, H held, R
/// refused, C could not be started; failure log: N crashes`) does not
/// agree with its lines before it.
fn apps_summary_reasons(output: &str) -> Vec<String> {
    let count =
        |pattern: &str| output.lines().filter(|line| line.starts_with("init: ") && line.contains(pattern)).count();
    let expected = format!(
        "init: apps: {} finished, {} held, {} refused, {} could not be started; failure log: {} crashes",
        count("' finished (exit 0)"),
        count("' held: "),
        count("' refused: "),
        count("' could not be started: "),
        count(": failure #"),
    );
    if output.lines().any(|line| line == expected) {
        Vec::new()
    } else {
        vec![format!("no `{expected}` after the apps' lines")]
    }
}

/// Boots `kernel` on `board` with the host end of the apps' UART saying a
/// line, which `uartecho` must send back; returns the console output and
/// why the run was not good (the line did not come back, it did not end in
/// time, or not with 0).
fn boot_talking(board: &Board, kernel: &std::path::Path) -> Result<(String, Vec<String>)> {
    let mode = Mode::Talk(TALK_LINE);
    let harness = EchoServer::start_in(mode)?;
    let outcome = qemu::capture(command(board, kernel, AppUart::Connect(harness.port())), Some(TIMEOUT));
    let transcript = harness.finish()?;
    let outcome = outcome?;
    let mut reasons = Vec::new();
    if let Err(reason) = crate::test::check_uart(mode, &transcript) {
        reasons.push(reason);
    }
    if outcome.timed_out {
        reasons.push(format!("it did not end within {} s", TIMEOUT.as_secs()));
    } else if outcome.status != Some(0) {
        reasons.push(format!("it ended with status {:?}, not 0", outcome.status));
    }
    Ok((outcome.output, reasons))
}

/// The names of the entries of the boot image xtask packed for `board`
/// with `contents`.
pub fn boot_image_entries(board: &str, contents: Contents) -> Result<Vec<String>> {
    let image = crate::image::tessera_dir().join(board).join(format!("boot-{}.img", contents.name()));
    let bytes = std::fs::read(&image).map_err(|err| format!("cannot read {}: {err}", show(&image)))?;
    let parsed = tessera_abi::bootimage::BootImage::parse(&bytes)
        .map_err(|err| format!("the boot image {} does not parse: {err}", show(&image)))?;
    Ok(parsed.iter().map(|entry| entry.name.to_string()).collect())
}

/// `qemu:mps2-boot`: builds the kernel with the checks and the scenario's
/// fixtures, boots it, and requires exit status 0 and every expected line.
pub fn boot_scenario() -> Result<()> {
    let board = Board::load(BOARD).map_err(|err| err.0)?;
    let kernel = build_with(&["checks", "scenario"])?;
    let (output, mut reasons) = boot_talking(&board, &kernel)?;
    for line in expected_lines(&board, Contents::Scenario) {
        if !output.contains(&line) {
            reasons.push(format!("missing `{line}`"));
        }
    }
    if output.contains("which it should not have") {
        reasons.push("a program ended in a way it should not have".to_string());
    }
    reasons.extend(portable_reasons(&board, &boot_image_range(&kernel)?, &output));
    reasons.extend(stub_reasons(&boot_image_entries(BOARD, Contents::Scenario)?, &output));
    if reasons.is_empty() {
        return Ok(());
    }
    Err(format!("{}\n    output:\n{}", reasons.join("\n    "), output))
}

/// Why `output` does not show `init` refusing the stub packages among the
/// boot image's `entries` as it must: each but the last for its form, the
/// last (one past the apps `init` manages) for want of room.
fn stub_reasons(entries: &[String], output: &str) -> Vec<String> {
    let stubs: Vec<&String> = entries.iter().filter(|entry| entry.starts_with(STUB_PREFIX)).collect();
    let Some((last, others)) = stubs.split_last() else {
        return vec!["the scenario's boot image holds no stub package".to_string()];
    };
    let mut wanted: Vec<String> =
        others.iter().map(|stub| format!("init: app '{stub}' refused: malformed package: truncated")).collect();
    wanted.push(format!("init: app '{last}' refused: init manages at most {MANAGED_APPS} apps"));
    wanted.into_iter().filter(|line| !output.contains(line.as_str())).map(|line| format!("missing `{line}`")).collect()
}

/// What runs only in the builds with the checks: the mechanism checks'
/// lines, and programs, probes and fixtures by name (as a process the
/// kernel names, as a program's own lines, or as an app `init` names).
const CHECK_ONLY: [&str; 4] = ["isolation checks", "preemption checks", "program 1 (hello)", "kernel data intact"];
const CHECK_PROGRAMS: [&str; 8] =
    ["echo", "peeker", "kernel-reader", "uart-writer", "fp-reader", "svc-stacker", "bkpt-er", "stack-aimer"];

/// Why the system build's `output` (or its boot image's `entries`) shows
/// something only the builds with the checks have: the system a user
/// boots has no test programs (issue 9's rule for the A7, kept here); or
/// why its image does not hold exactly the system programs `programs`
/// (`init` and the servers it should carry).
pub fn system_reasons(output: &str, entries: &[String], programs: &[&str]) -> Vec<String> {
    let mut reasons = Vec::new();
    for text in CHECK_ONLY {
        if output.contains(text) {
            reasons.push(format!("the system build printed `{text}`, which only the checks print"));
        }
    }
    for name in CHECK_PROGRAMS {
        let named = [format!("process '{name}'"), format!("\n{name}: "), format!("app '{name}'")];
        if named.iter().any(|text| output.contains(text.as_str())) {
            reasons.push(format!("`{name}` ran in the system build"));
        }
    }
    if output.contains("app 'test-") || output.contains(&format!("app '{STUB_PREFIX}")) {
        reasons.push("a test fixture was among the system build's apps".to_string());
    }
    for entry in entries {
        let test = CHECK_PROGRAMS.contains(&entry.as_str())
            || crate::apps::is_test_app(entry)
            || entry.starts_with(STUB_PREFIX);
        if test {
            reasons.push(format!("the system build's boot image holds `{entry}`"));
        }
    }
    for program in programs {
        if !entries.iter().any(|entry| entry == program) {
            reasons.push(format!("the system build's boot image has no `{program}`"));
        }
    }
    for server in SERVERS.iter().filter(|server| !programs.contains(server)) {
        if entries.iter().any(|entry| entry == server) {
            reasons.push(format!("the system build's boot image holds `{server}`, which it should not carry"));
        }
    }
    reasons
}

/// `qemu:mps2-system`: the system build (`init`, the UART server and the
/// apps; the scenario's bound on supervision) boots, runs the apps as in
/// `qemu:mps2-boot` and switches off with 0, and neither its boot image
/// nor its output holds a test program.
pub fn system_scenario() -> Result<()> {
    let board = Board::load(BOARD).map_err(|err| err.0)?;
    let kernel = build_with(&["scenario"])?;
    let entries = boot_image_entries(BOARD, Contents::System)?;
    let (output, mut reasons) = boot_talking(&board, &kernel)?;
    for line in expected_lines(&board, Contents::System) {
        if !output.contains(&line) {
            reasons.push(format!("missing `{line}`"));
        }
    }
    reasons.extend(system_reasons(&output, &entries, &SYSTEM_PROGRAMS));
    reasons.extend(apps_summary_reasons(&output));
    reasons.extend(init_in_place_reasons(&boot_image_range(&kernel)?, &output));
    if reasons.is_empty() {
        return Ok(());
    }
    Err(format!("{}\n    output:\n{}", reasons.join("\n    "), output))
}

/// `mps2-an386` with the RAM laid out as the MT3620's TCM
/// (`qemu/mps2-an386-mt3620-ram`).
pub const MT3620_RAM_BOARD: &str = "mps2-an386-mt3620-ram";

/// `qemu:mps2-mt3620-ram`: the system build with the MT3620 package's
/// apps, on `mps2-an386` with the MT3620's RAM plan (its slots and pool in
/// 192 KiB): `init` starts in its 32 KiB slot, the UART server in its own,
/// the app in the one 64 KiB app slot and echoes the harness's line, and
/// the run ends with 0; the GPIO server starts in the second RAM's slot.
/// Then a second boot with the GPIO fixture `test-m4-gpio` as the one app:
/// the server in the second RAM answers its requests. What the package
/// holds is checked by `mt3620:package`; this checks that its RAM plan
/// runs.
pub fn mt3620_ram_scenario() -> Result<()> {
    let board = Board::load(MT3620_RAM_BOARD).map_err(|err| err.0)?;
    let apps: Vec<String> = crate::mt3620::DEFAULT_APPS.iter().map(|name| name.to_string()).collect();
    let kernel = build_for(MT3620_RAM_BOARD, &["scenario"], Some(&apps), false)?;
    let entries = boot_image_entries(MT3620_RAM_BOARD, Contents::System)?;
    let (output, mut reasons) = boot_talking(&board, &kernel)?;
    let Some(app_slots) = board.apps else {
        return Err(format!("{} has no app slots", board.name));
    };
    let mut lines: Vec<String> = expected_lines(&board, Contents::System).into_iter().take(8).collect();
    lines.extend([
        format!("uartd: serving UART 0: the CMSDK UART at {:#010x}", board.user_devices[0].base),
        // The GPIO server runs in the second RAM (the MT3620's SYSRAM), its
        // process object in init's memory.
        format!(
            "init: gpiod loaded into its slot at {:#010x}, its process object in init's memory",
            board.second_ram_slots().0
        ),
        "gpiod: serving GPIO pins 0x00000300 in 1 block".to_string(),
        "uartecho: echoing UART 0".to_string(),
        "uartecho: echoed \"host: hello, uartecho\"".to_string(),
        format!("init: app 'uartecho' started in its slot at {:#010x}", app_slots.base),
        "init: 1 apps started, 0 refused, 0 could not be started".to_string(),
        "kernel: shutdown requested by 'init', status 0".to_string(),
    ]);
    for line in lines {
        if !output.contains(&line) {
            reasons.push(format!("missing `{line}`"));
        }
    }
    // Both servers: the GPIO server's slot is in the second RAM.
    reasons.extend(system_reasons(&output, &entries, &SYSTEM_PROGRAMS));
    if !reasons.is_empty() {
        return Err(format!("{}\n    output:\n{}", reasons.join("\n    "), output));
    }
    // Then the GPIO fixture as the one app: the GPIO server in the second
    // RAM answers its requests (the pin read back from QEMU's device).
    let fixture = vec!["test-m4-gpio".to_string()];
    let kernel = build_for(MT3620_RAM_BOARD, &["scenario"], Some(&fixture), false)?;
    let outcome = qemu::capture(command(&board, &kernel, AppUart::Listen(0)), Some(TIMEOUT))?;
    let output = outcome.output;
    let mut reasons = Vec::new();
    if outcome.timed_out || outcome.status != Some(0) {
        reasons.push(format!("the fixture's run ended with {:?} (timed out: {})", outcome.status, outcome.timed_out));
    }
    for line in [
        format!(
            "init: gpiod loaded into its slot at {:#010x}, its process object in init's memory",
            board.second_ram_slots().0
        ),
        "test-m4-gpio: pin 9 drove high and read high, drove low and read low".to_string(),
        "test-m4-gpio: pin 8 (not granted) denied, pin 20 (not on the board) refused".to_string(),
        "init: app 'test-m4-gpio' finished (exit 0); not restarted".to_string(),
    ] {
        if !output.contains(&line) {
            reasons.push(format!("missing `{line}`"));
        }
    }
    if reasons.is_empty() {
        return Ok(());
    }
    Err(format!("{}\n    output:\n{}", reasons.join("\n    "), output))
}

/// A signed package of a real-time app for the MT3620 named `name` with
/// the manifest capabilities `capabilities` (JSON members), for tests.
#[cfg(test)]
pub fn test_package(name: &str, capabilities: &str) -> (String, Vec<u8>) {
    let json = format!(
        "{{\"SchemaVersion\": 1, \"Name\": \"{name}\", \"ComponentId\": \"9e454ffb-8a9f-4032-994f-372f10c230de\", \
         \"EntryPoint\": \"/bin/app\", \"CmdArgs\": [], \"Capabilities\": {{{capabilities}}}, \
         \"ApplicationType\": \"RealTimeCapable\"}}"
    );
    let options = tessera_manifest::CheckOptions {
        hardware_definition: None,
        board: Some(tessera_manifest::board::BoardId::Mt3620),
        search_dirs: Vec::new(),
    };
    let checked =
        tessera_manifest::check_bytes(json.as_bytes(), "app_manifest.json", &options, &tessera_manifest::DiskFiles)
            .unwrap();
    let elf = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    (name.to_string(), crate::signing::sign_package(&elf[..4096], &checked.binary.unwrap()).unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_boots_the_described_machine_with_semihosting() {
        let board = Board::load(BOARD).unwrap();
        let command = command(&board, std::path::Path::new("k.elf"), AppUart::Connect(4321));
        let args: Vec<String> = command.get_args().map(|arg| arg.to_string_lossy().into_owned()).collect();
        assert_eq!(args[..4], ["-M", "mps2-an386", "-cpu", "cortex-m4"]);
        assert!(args.windows(2).any(|pair| pair == ["-semihosting-config", "enable=on,target=native"]));
        assert_eq!(args.last().map(String::as_str), Some("k.elf"));
        let second =
            ["-chardev", "socket,id=appuart,host=127.0.0.1,port=4321,server=off", "-serial", "chardev:appuart"];
        assert!(args.windows(4).any(|window| window == second), "{args:?}");
        assert!(expected_lines(&board, Contents::Scenario).iter().any(|line| line.contains("MPU with 8 regions")));
    }

    /// `init`'s and `echo`'s rounds, taking turns.
    fn interleaved_rounds() -> String {
        (1..=6).map(|n| format!("init: round {n}\necho: round {n}\n")).collect()
    }

    /// The portable kernel's checks on made-up output: each missing piece
    /// is named.
    #[test]
    fn the_portable_checks_need_every_fault_and_interleaved_rounds() {
        let board = Board::load(BOARD).unwrap();
        let slot = board.programs.unwrap().slot(1);
        let faults = format!(
            "kernel: fault in process 'peeker' (pid 4): unmapped address, address {slot:#010x}, pc 0x1\n\
             kernel: fault in process 'kernel-reader' (pid 5): unmapped address, address 0x20000004, pc 0x1\n\
             kernel: fault in process 'uart-writer' (pid 6): unmapped address, address 0x40004000, pc 0x1\n\
             kernel: fault in process 'stack-aimer' (pid 9): unmapped address, address 0x00000000, pc 0x1\n\
             init: running under the portable kernel, linked at 0x001053cf\n\
             init: uartd's code runs in place at 0x00127000\n\
             init: gpiod's code runs in place at 0x00130000\n\
             init: app 'countdown' started in its slot at 0x20200000, its code in place at 0x0013c000\n\
             init: app 'crasher' started in its slot at 0x20220000, its code in place at 0x00142000\n\
             init: apps: 0 finished, 0 held, 0 refused, 0 could not be started; failure log: 0 crashes\n"
        );
        // Each hostile app faults in each of its three runs.
        let init = board.programs.unwrap().slot(0);
        let hostile = |runs: usize| -> String {
            let once = format!(
                "kernel: fault in process 'test-m4-kernel-reader' (pid 10): unmapped address, address 0x20000000, pc 0x1\n\
                 kernel: fault in process 'test-m4-app-reader' (pid 11): unmapped address, address {init:#010x}, pc 0x1\n\
                 kernel: fault in process 'test-m4-uart-writer' (pid 12): unmapped address, address 0x40004000, pc 0x1\n\
                 kernel: fault in process 'test-m4-image-reader' (pid 13): unmapped address, address 0x00160ffc, pc 0x1\n"
            );
            once.repeat(runs)
        };
        let once = portable_reasons(&board, &IMAGE, &format!("{faults}{}{}", hostile(1), interleaved_rounds()));
        assert!(once.len() == 4 && once.iter().all(|reason| reason.starts_with("1 of 3")), "{once:?}");
        let faults = format!("{faults}{}", hostile(3));
        let interleaved = interleaved_rounds();
        assert_eq!(portable_reasons(&board, &IMAGE, &format!("{faults}{interleaved}")), Vec::<String>::new());
        let in_turn: String = (1..=6)
            .map(|n| format!("init: round {n}\n"))
            .chain((1..=6).map(|n| format!("echo: round {n}\n")))
            .collect();
        let reasons = portable_reasons(&board, &IMAGE, &format!("{faults}{in_turn}"));
        assert!(reasons.len() == 1 && reasons[0].contains("interleave"), "{reasons:?}");
        let missing = faults.replace("'uart-writer'", "'other'");
        let reasons = portable_reasons(&board, &IMAGE, &format!("{missing}{interleaved}BROKEN"));
        assert!(reasons.iter().any(|reason| reason.contains("uart-writer")), "{reasons:?}");
        assert!(reasons.iter().any(|reason| reason.contains("reached")), "{reasons:?}");
        let broken = interleaved.replace("echo: round 3\n", "echo: round 3: 16 FPU registers changed under it\n");
        let reasons = portable_reasons(&board, &IMAGE, &format!("{faults}{broken}"));
        assert!(reasons.len() == 1 && reasons[0].contains("FPU"), "{reasons:?}");
    }

    /// `init` must say it runs from code memory, not from its slot in RAM.
    /// A boot image section as the scenario's kernel has it.
    const IMAGE: std::ops::Range<u64> = 0x0010_0000..0x0018_0000;

    #[test]
    fn code_must_run_in_place() {
        let board = Board::load(BOARD).unwrap();
        let good = "init: running under the portable kernel, linked at 0x001053cf\n\
                    init: uartd's code runs in place at 0x00127000\n\
                    init: gpiod's code runs in place at 0x00130000\n\
                    init: app 'countdown' started in its slot at 0x20200000, its code in place at 0x0013c000\n\
                    init: app 'crasher' started in its slot at 0x20220000, its code in place at 0x00142000\n";
        assert_eq!(init_in_place_reasons(&IMAGE, good), Vec::<String>::new());
        let in_ram = init_in_place_reasons(&IMAGE, &good.replace("0x001053cf", "0x200403cf"));
        assert!(in_ram.len() == 1 && in_ram[0].starts_with("init's code runs at"), "{in_ram:?}");
        // Where a program links its code before xtask knows where it lies
        // (`image_base(board, 0)`): in code memory, not in the image.
        let placeholder = format!("{:#010x}", image_base(&board, 0) + 0x61);
        let unplaced = init_in_place_reasons(&IMAGE, &good.replace("0x001053cf", &placeholder));
        assert!(unplaced.len() == 1 && unplaced[0].contains("not in place in the boot image"), "{unplaced:?}");
        let copied = good.replace(", its code in place at 0x0013c000", "");
        let reasons = init_in_place_reasons(&IMAGE, &copied);
        assert!(reasons.len() == 1 && reasons[0].contains("countdown"), "{reasons:?}");
        assert_eq!(init_in_place_reasons(&IMAGE, "init: running\n").len(), 5);
    }

    /// Where a program's code lies: the image's place, its entry in it (in
    /// a package: the ELF's offset too) and its code segment's offset in
    /// its file.
    #[test]
    fn code_is_placed_where_it_lies_in_the_image() {
        let elf = |code: u32| {
            let mut out = vec![0u8; 8192];
            let text = [0x5Au8; 64];
            let segments = [(code, tessera_abi::elf::FLAGS_RX, &text[..], 4096), (0x2005_0000, 6, &[][..], 4096)];
            let len = tessera_abi::elf::build_test_elf(code | 1, &segments, &mut out);
            out.truncate(len);
            out
        };
        // Another program after init: 5,000 bytes that start as an ELF file.
        let other = |len: usize| {
            let mut bytes = b"\x7fELF".to_vec();
            bytes.resize(len, 0);
            ("echo".to_string(), bytes)
        };
        let pack = |init: Vec<u8>| crate::image::pack(vec![other(5000), ("init".to_string(), init)]);
        let image = pack(elf(0x2004_0000)).unwrap();
        let placement = CodePlacement::at(0x0010_0000, &image, "init").unwrap();
        // The directory's page, then init (the root task comes first); its
        // code 116 bytes into its file (the ELF header and two program
        // headers).
        assert_eq!(placement, CodePlacement { linked: 0x2004_0000, lies: 0x0010_0000 + 4096 + 116 });
        let image = pack(elf(placement.lies)).unwrap();
        let settled = CodePlacement::at(0x0010_0000, &image, "init").unwrap();
        assert_eq!(settled.linked, settled.lies);
        // Where the kernel puts an image of 16 KiB on this board: its frame
        // is 64 KiB, 64 KiB into code memory.
        let board = Board::load(BOARD).unwrap();
        assert_eq!(image_base(&board, image.len()), 0x0001_0000);
        assert_eq!(image_base(&board, 0x9_0000), 0x0010_0000, "a 1 MiB frame");
        // Code that is not a program the kernel loads, or no such entry:
        // an error, not a guess.
        let broken = pack(b"\x7fELF and no more".to_vec()).unwrap();
        assert!(CodePlacement::at(0x0010_0000, &broken, "init").is_err());
        assert!(CodePlacement::at(0x0010_0000, &image, "uartd").is_err());
    }

    /// The addresses xtask remembers read back as written; a damaged file
    /// is no addresses, not an error.
    #[test]
    fn remembered_addresses_read_back() {
        let dir = std::env::temp_dir().join(format!("tessera-texts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(CODE_FILE);
        let texts: std::collections::BTreeMap<String, u32> =
            [("init".to_string(), 0x0010_2000), ("countdown".to_string(), 0x0012_5000)].into_iter().collect();
        write_texts(&path, &texts).unwrap();
        assert_eq!(read_texts(&path), texts);
        std::fs::write(&path, "init\ncountdown 0xZZ\n").unwrap();
        assert!(read_texts(&path).is_empty());
        assert!(read_texts(&dir.join("missing")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(tessera_board::armv7m::program_text_variable("fp-reader"), "TESSERA_M_TEXT_FP_READER");
    }

    /// The stand-in board lays out its RAM as the MT3620's TCM: the same
    /// size, pool, slots and object memory, each at the same distance from
    /// RAM's start.
    #[test]
    fn the_stand_in_has_the_mt3620s_ram_plan() {
        let plan = |board: &Board| {
            let base = board.memory.ram_base;
            let (programs, apps) = (board.programs.unwrap(), board.apps.unwrap());
            (
                board.memory.ram_bytes,
                board.kernel_pool_bytes,
                (programs.base - base, programs.slot_bytes, programs.slots),
                (apps.base - base, apps.slot_bytes, apps.slots),
            )
        };
        let stand_in = Board::load(MT3620_RAM_BOARD).unwrap();
        let mt3620 = Board::load(crate::mt3620::BOARD).unwrap();
        assert_eq!(plan(&stand_in), plan(&mt3620));
        assert_eq!(stand_in.qemu_args(), Board::load(BOARD).unwrap().qemu_args());
    }

    #[test]
    fn every_stub_must_be_refused_and_the_last_for_room() {
        let entries: Vec<String> = ["uartecho", "zz-stub-1", "zz-stub-2"].iter().map(|name| name.to_string()).collect();
        let good = "init: app 'zz-stub-1' refused: malformed package: truncated\n\
                    init: app 'zz-stub-2' refused: init manages at most 20 apps\n";
        assert_eq!(stub_reasons(&entries, good), Vec::<String>::new());
        let wrong =
            good.replace("zz-stub-2' refused: init manages", "zz-stub-2' refused: malformed package: truncated");
        assert_eq!(stub_reasons(&entries, &wrong).len(), 1);
        assert_eq!(stub_reasons(&entries[..1], good), ["the scenario's boot image holds no stub package"]);
    }

    #[test]
    fn the_system_build_may_hold_and_run_no_test_program() {
        let entries = |names: &[&str]| names.iter().map(|name| name.to_string()).collect::<Vec<_>>();
        let good = entries(&["countdown", "gpiod", "init", "trusted-keys", "uartd", "uartecho"]);
        let clean = "kernel: boot checks passed\ninit: running under the portable kernel\nuartd: serving UART 0\n";
        let system_reasons = |output: &str, entries: &[String]| system_reasons(output, entries, &SYSTEM_PROGRAMS);
        assert_eq!(system_reasons(clean, &good), Vec::<String>::new());
        // A probe the kernel started, a check's line, a fixture app.
        let probe = format!("{clean}kernel: fault in process 'peeker' (pid 5): unmapped address\n");
        assert_eq!(system_reasons(&probe, &good).len(), 1);
        let checks = format!("{clean}kernel: isolation checks passed (6 of 6 programs as expected)\n");
        assert_eq!(system_reasons(&checks, &good).len(), 1);
        let fixture = format!("{clean}init: app 'test-m4-app-reader' held: 3 crashes\n");
        assert_eq!(system_reasons(&fixture, &good).len(), 1);
        let echo = format!("{clean}echo: serving\n");
        assert_eq!(system_reasons(&echo, &good).len(), 1);
        // In the image: a probe, a fixture, a stub; or no UART server.
        let mut image = good.clone();
        image.extend(entries(&["kernel-reader", "test-m4-uart-writer", "zz-stub-1"]));
        assert_eq!(system_reasons(clean, &image).len(), 3);
        let without = entries(&["countdown", "gpiod", "init", "trusted-keys"]);
        assert_eq!(system_reasons(clean, &without), vec!["the system build's boot image has no `uartd`".to_string()]);
        // A server the image should not carry (the MT3620's one server slot).
        assert_eq!(
            super::system_reasons(clean, &good, &["init", "uartd"]),
            vec!["the system build's boot image holds `gpiod`, which it should not carry".to_string()]
        );
    }

    #[test]
    fn a_board_with_too_few_server_slots_carries_the_servers_its_apps_ask_for() {
        let package = test_package;
        let uart = package("u", "\"Uart\": [\"ISU0\"]");
        let gpio = package("g", "\"Gpio\": [8]");
        let neither = package("n", "");
        // The MT3620 without its SYSRAM: its TCM has one server slot.
        let text =
            std::fs::read_to_string(tessera_board::armv7m::board_dir(crate::mt3620::BOARD).join("board.json")).unwrap();
        let start = text.find("    \"second_ram\"").unwrap();
        let end = start + text[start..].find("},\n").unwrap() + 3;
        let tcm_only =
            Board::parse("b.json", crate::mt3620::BOARD, &format!("{}{}", &text[..start], &text[end..])).unwrap();
        assert_eq!(tcm_only.program_slots(), 2);
        assert_eq!(system_servers(&tcm_only, std::slice::from_ref(&uart)).unwrap(), ["uartd"]);
        assert_eq!(system_servers(&tcm_only, &[gpio.clone(), neither.clone()]).unwrap(), ["gpiod"]);
        assert_eq!(system_servers(&tcm_only, std::slice::from_ref(&neither)).unwrap(), Vec::<&str>::new());
        let error = system_servers(&tcm_only, &[uart.clone(), gpio.clone()]).unwrap_err();
        assert!(
            error.contains("ask for uartd and gpiod") && error.contains("room for 1 server beside init"),
            "{error}"
        );
        // mps2-an386, and the MT3620 with its SYSRAM, have room for both,
        // asked for or not.
        for board in [Board::load(BOARD).unwrap(), Board::load(crate::mt3620::BOARD).unwrap()] {
            assert_eq!(system_servers(&board, std::slice::from_ref(&neither)).unwrap(), ["uartd", "gpiod"]);
        }
    }

    /// The apps' summary must count the lines before it.
    #[test]
    fn the_apps_summary_agrees_with_the_lines() {
        let lines = "init: app 'a' refused: Gpio 5: B has no such pin\n\
                     init: app 'b' finished (exit 0); not restarted\n\
                     init: failure #1: app=c\n\
                     init: failure #2: app=c\n\
                     init: app 'c' held: 2 crashes within 10 s; not restarted\n";
        let summary = "init: apps: 1 finished, 1 held, 1 refused, 0 could not be started; failure log: 2 crashes\n";
        assert_eq!(apps_summary_reasons(&format!("{lines}{summary}")), Vec::<String>::new());
        let wrong = summary.replace("1 refused", "2 refused");
        assert_eq!(apps_summary_reasons(&format!("{lines}{wrong}")).len(), 1);
        assert_eq!(apps_summary_reasons(lines).len(), 1, "no summary at all");
    }
}
