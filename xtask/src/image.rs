//! Builds the user programs, packs them into the boot image and builds the kernel around it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tessera_abi::bootimage::{self, BootImage, PackError};
use tessera_abi::NAME_MAX;

use crate::{cargo, run_streamed, show, target_dir, workspace_root, Result};

/// The Rust target of the kernel and the user programs.
pub const TARGET: &str = "armv7a-none-eabi";
/// The program the kernel starts (it finds it by name; xtask packs it first).
pub const ROOT_TASK: &str = "init";
/// Environment variable telling the kernel's build script where the boot image is.
pub const BOOT_IMAGE_ENV: &str = "TESSERA_BOOT_IMAGE";

const PROGRAMS_PACKAGE: &str = "tessera-programs";
/// The system servers' package (`userland/servers`).
const SERVERS_PACKAGE: &str = "tessera-servers";
/// Where the programs' binaries are: (package, its `src/bin` folder).
pub const PROGRAM_FOLDERS: [(&str, &str); 2] =
    [(PROGRAMS_PACKAGE, "userland/programs/src/bin"), (SERVERS_PACKAGE, "userland/servers/src/bin")];
const KERNEL_PACKAGE: &str = "tessera-kernel";
const KERNEL_BIN: &str = "tessera-kernel";

/// Which system image to build: what its boot image holds and which kernel
/// features it has (docs/architecture.md, "Images").
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Image {
    /// What a user boots (`cargo xtask qemu`): init, the system servers and
    /// the apps of `userland/apps/`. No test programs or fixtures, no test
    /// hooks, no user access to the cycle counter, no semihosting.
    User,
    /// The QEMU scenarios (`cargo xtask test`): every program and app, the
    /// package fixtures, the kernel's test hooks, semihosting for the exit
    /// status.
    Test,
    /// The benchmarks (`cargo xtask bench`): the test image's programs, a
    /// kernel that lets User mode read the cycle counter.
    Bench,
}

impl Image {
    /// Its name: the folder under `target/tessera` it is built in.
    pub fn name(self) -> &'static str {
        match self {
            Image::User => "user",
            Image::Test => "test",
            Image::Bench => "bench",
        }
    }

    /// The kernel's cargo features for this image.
    fn kernel_features(self) -> &'static str {
        match self {
            Image::User => "",
            Image::Test => "test-hooks,check-invariants,semihosting",
            Image::Bench => "bench,semihosting",
        }
    }

    /// True if the kernel ends the run through semihosting, so QEMU must
    /// enable it; the user image powers off through PSCI instead.
    pub fn semihosting(self) -> bool {
        self != Image::User
    }

    /// True if the boot image holds the program `name` of
    /// `userland/programs`: the user image only the system programs, the
    /// test image all but the benchmark programs (they read the cycle
    /// counter, which only the benchmark image allows), the benchmark image
    /// every one.
    fn holds_program(self, name: &str) -> bool {
        match self {
            Image::User => SYSTEM_PROGRAMS.contains(&name),
            Image::Test => !BENCH_PROGRAMS.contains(&name),
            Image::Bench => true,
        }
    }

    /// True if the boot image holds the app `name`: the user image every
    /// app but the test fixtures, the others as for programs (and none a
    /// real-time app, `crate::apps::is_real_time`: those are the M4's).
    fn holds_app(self, name: &str) -> bool {
        // The M4's fixtures run only there (`qemu:mps2-boot`,
        // `qemu:mps2-mt3620-ram`).
        if crate::apps::is_m4_fixture(name) {
            return false;
        }
        match self {
            Image::User => !crate::apps::is_test_app(name),
            Image::Test => !BENCH_PROGRAMS.contains(&name),
            Image::Bench => true,
        }
    }

    /// True if the boot image holds the package fixtures made from
    /// blinky's package (tampered, unsigned, truncated).
    fn has_fixtures(self) -> bool {
        self != Image::User
    }
}

/// The programs and apps only the benchmark image holds.
pub const BENCH_PROGRAMS: [&str; 3] = ["bench", "test-bench-app", "test-bench-net"];

/// The feature of the programs package that compiles `init`'s scenarios
/// and benchmarks (`userland/programs/src/bin/init/scenarios.rs`).
pub const PROGRAMS_SCENARIOS: &str = "tessera-programs/scenarios";

/// The programs of `userland/programs` a user's image holds: the root task
/// and the system servers. Every other program there is a test or
/// benchmark program and goes only into the test and benchmark images.
pub const SYSTEM_PROGRAMS: [&str; 5] = [ROOT_TASK, "gpiod", "uartd", "plutond", "netd"];

/// `target/tessera`: where xtask puts what it makes.
pub fn tessera_dir() -> PathBuf {
    target_dir().join("tessera")
}

/// `target/tessera/<image>/boot.img`.
pub fn boot_image_path(image: Image) -> PathBuf {
    tessera_dir().join(image.name()).join("boot.img")
}

/// `target/tessera/<image>/tessera.elf`: the kernel ELF QEMU boots.
pub fn kernel_elf_path(image: Image) -> PathBuf {
    tessera_dir().join(image.name()).join("tessera.elf")
}

/// `target/armv7a-none-eabi/release`.
fn release_dir() -> PathBuf {
    target_dir().join(TARGET).join("release")
}

/// Builds the user programs, the boot image and the kernel of `image`;
/// returns the path of the kernel ELF (`target/tessera/<image>/tessera.elf`).
pub fn build_system(image: Image) -> Result<PathBuf> {
    // A wrong board description fails here with its own message, not as a
    // panic in a build script.
    crate::qemu::board()?;
    let boot_image = build_boot_image(image)?;
    build_kernel(image, &boot_image)
}

/// Builds the user programs and packs those `image` holds into
/// `target/tessera/<image>/boot.img`; returns its path.
pub fn build_boot_image(image: Image) -> Result<PathBuf> {
    crate::toolchain::ensure_target(TARGET)?;
    let mut names = all_program_names()?;
    let mut apps = crate::apps::discover()?;
    crate::apps::check_names(&apps, &names)?;
    names.retain(|name| image.holds_program(name));
    apps.retain(|app| image.holds_app(&app.name) && !crate::apps::is_real_time(app));
    println!("==> building userland and {} apps (release, {TARGET}) for the {} image", apps.len(), image.name());
    let mut command = cargo();
    command.args(["build", "--release", "--target", TARGET, "-p", PROGRAMS_PACKAGE, "-p", SERVERS_PACKAGE]);
    if image != Image::User {
        // init's scenarios and benchmarks: never in the user image.
        command.args(["--features", PROGRAMS_SCENARIOS]);
    }
    for app in &apps {
        command.args(["-p", &app.name]);
    }
    run_streamed(command)?;

    let release = release_dir();
    let mut programs = Vec::with_capacity(names.len());
    for name in names {
        let path = release.join(&name);
        let elf = fs::read(&path).map_err(|err| {
            format!(
                "cannot read the program `{name}` at {}: {err}; is it a [[bin]] of {PROGRAMS_PACKAGE} or {SERVERS_PACKAGE}?",
                show(&path)
            )
        })?;
        programs.push((name, elf));
    }
    programs.extend(crate::apps::entries(&apps, &release, image.has_fixtures())?);
    let bytes = pack(programs)?;
    let path = boot_image_path(image);
    let dir = tessera_dir().join(image.name());
    fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", show(&dir)))?;
    write_if_changed(&path, &bytes)?;
    Ok(path)
}

/// Builds the kernel of `image` around the boot image at `boot_image` and
/// copies it to `target/tessera/<image>/tessera.elf`; returns that path.
pub fn build_kernel(image: Image, boot_image: &Path) -> Result<PathBuf> {
    build_kernel_as(image.name(), image.kernel_features(), boot_image, &kernel_elf_path(image))
}

/// The benchmark image's programs around a kernel that also measures its
/// longest run with interrupts masked (feature `path-meter`, which costs
/// instructions on every entry): `target/tessera/bench-paths/tessera.elf`.
pub fn build_path_meter_kernel() -> Result<PathBuf> {
    let boot_image = build_boot_image(Image::Bench)?;
    build_variant("bench-paths", "path-meter,semihosting", &boot_image)
}

/// The user image's programs around the benchmark kernel, which prints how
/// long its boot took before it starts `init`:
/// `target/tessera/user-bench/tessera.elf` (`boot_to_init_instructions` is
/// measured on what users boot, not on the benchmark image's larger `init`).
pub fn build_user_boot_meter_kernel() -> Result<PathBuf> {
    let boot_image = build_boot_image(Image::User)?;
    build_variant("user-bench", "bench", &boot_image)
}

/// `image`'s kernel around another boot image, `boot_image`, built into
/// `target/tessera/<name>/tessera.elf` so `image`'s own kernel stays;
/// returns that path.
pub fn build_kernel_variant(image: Image, name: &str, boot_image: &Path) -> Result<PathBuf> {
    build_variant(name, image.kernel_features(), boot_image)
}

/// Builds a kernel variant with `features` (the kernel's Cargo features,
/// comma-separated) around `boot_image` into
/// `target/tessera/<name>/tessera.elf`; returns that path.
pub fn build_variant(name: &str, features: &str, boot_image: &Path) -> Result<PathBuf> {
    let dir = tessera_dir().join(name);
    fs::create_dir_all(&dir).map_err(|err| format!("cannot create {}: {err}", show(&dir)))?;
    build_kernel_as(name, features, boot_image, &dir.join("tessera.elf"))
}

/// Builds the kernel with `features` around `boot_image` and copies it to
/// `elf`; `what` names it in the progress line.
fn build_kernel_as(what: &str, features: &str, boot_image: &Path, elf: &Path) -> Result<PathBuf> {
    let boot_image =
        boot_image.canonicalize().map_err(|err| format!("cannot find the boot image {}: {err}", show(boot_image)))?;
    println!("==> building kernel (release, {TARGET}) for the {what} image");
    let mut command = cargo();
    command.args(["build", "--release", "--target", TARGET, "-p", KERNEL_PACKAGE]).env(BOOT_IMAGE_ENV, &boot_image);
    if !features.is_empty() {
        command.args(["--features", features]);
    }
    run_streamed(command)?;

    let built = release_dir().join(KERNEL_BIN);
    let elf = elf.to_path_buf();
    fs::copy(&built, &elf)
        .map_err(|err| format!("cannot copy the kernel {} to {}: {err}", show(&built), show(&elf)))?;
    Ok(elf)
}

/// The names of every program in the boot image's packages (the programs
/// and the servers), sorted; a name in both is an error.
pub fn all_program_names() -> Result<Vec<String>> {
    let mut names = Vec::new();
    for (package, folder) in PROGRAM_FOLDERS {
        for name in program_names(&workspace_root().join(folder))? {
            if names.contains(&name) {
                return Err(format!("two programs are named `{name}` (one in {package}); rename one"));
            }
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The names of the binaries of one package: the file stems of
/// `src/bin/*.rs` and the names of `src/bin/<name>/main.rs` directories,
/// sorted.
pub(crate) fn program_names(bin_dir: &Path) -> Result<Vec<String>> {
    let entries =
        fs::read_dir(bin_dir).map_err(|err| format!("cannot list the user programs in {}: {err}", show(bin_dir)))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry.map_err(|err| format!("cannot list the user programs in {}: {err}", show(bin_dir)))?.path();
        let is_program = if path.is_dir() {
            path.join("main.rs").is_file()
        } else {
            path.extension().is_some_and(|ext| ext == "rs")
        };
        let stem = if path.is_dir() { path.file_name() } else { path.file_stem() };
        if let (true, Some(stem)) = (is_program, stem) {
            let name = stem.to_str().ok_or_else(|| format!("program file name {} is not UTF-8", path.display()))?;
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Packs `programs` (name, file) into a boot image: the root task first, the
/// rest sorted by name. Each file is an ELF program, an image package or
/// the trusted-keys list (its first four bytes say which).
pub(crate) fn pack(mut programs: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>> {
    programs.sort_by(|(a, _), (b, _)| (a != ROOT_TASK, a).cmp(&(b != ROOT_TASK, b)));
    if programs.first().is_none_or(|(name, _)| name != ROOT_TASK) {
        return Err(format!(
            "there is no `{ROOT_TASK}` program; the kernel starts it first, so add \
             userland/programs/src/bin/{ROOT_TASK}.rs"
        ));
    }
    for (name, file) in &programs {
        let known = [&b"\x7fELF"[..], &tessera_abi::package::MAGIC, &tessera_abi::package::TRUSTED_KEYS_MAGIC];
        if !known.iter().any(|magic| file.starts_with(magic)) {
            return Err(format!("the program `{name}` is not an ELF file, package or key list; rebuild it"));
        }
    }
    let entries: Vec<(&str, &[u8])> = programs.iter().map(|(name, elf)| (name.as_str(), elf.as_slice())).collect();
    let mut image = vec![0; bootimage::image_size(entries.iter().map(|(_, elf)| elf.len()))];
    bootimage::write(&entries, &mut image).map_err(|err| match err {
        PackError::BadName(index) => format!(
            "the program name `{}` must be 1 to {NAME_MAX} bytes of printable ASCII without spaces; rename \
             userland/programs/src/bin/{0}.rs",
            entries[index].0
        ),
        PackError::TooManyEntries => format!(
            "{} programs do not fit in one boot image (at most {}); remove some",
            entries.len(),
            bootimage::MAX_ENTRIES
        ),
        PackError::TooLarge => "the boot image would be 4 GiB or more".to_string(),
        PackError::WrongBufferSize => "internal error: boot image buffer size".to_string(),
    })?;
    Ok(image)
}

/// Writes `bytes` to `path` unless it already holds exactly them, so an
/// unchanged boot image does not make cargo rebuild the kernel.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    fs::write(path, bytes).map_err(|err| format!("cannot write {}: {err}", show(path)))
}

/// Options of `cargo xtask build`.
#[derive(clap::Args)]
pub struct BuildArgs {
    /// Which image to build.
    #[arg(long, value_enum, default_value = "user")]
    image: Image,
}

/// `cargo xtask build`.
pub fn run(args: &BuildArgs) -> Result<ExitCode> {
    let elf = build_system(args.image)?;
    let boot_image_path = boot_image_path(args.image);
    let boot_bytes =
        fs::read(&boot_image_path).map_err(|err| format!("cannot read {}: {err}", show(&boot_image_path)))?;
    let boot_image = BootImage::parse(&boot_bytes)
        .map_err(|err| format!("the boot image {} is damaged: {err:?}", show(&boot_image_path)))?;
    let names: Vec<&str> = boot_image.iter().map(|program| program.name).collect();
    let file_bytes = fs::metadata(&elf).map_err(|err| format!("cannot read {}: {err}", show(&elf)))?.len();
    let sizes = crate::elf::read_kernel_sizes(&elf)?;
    println!("==> built {}", show(&elf));
    println!("    kernel ELF file:      {file_bytes} bytes");
    println!("    kernel image:         {} bytes (loaded, without the boot image)", sizes.image_bytes);
    println!("    kernel static RAM:    {} bytes", sizes.static_ram_bytes);
    println!(
        "    boot image:           {} bytes, {} programs ({}) in {}",
        boot_bytes.len(),
        names.len(),
        names.join(", "),
        show(&boot_image_path)
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(name: &str) -> (String, Vec<u8>) {
        (name.to_string(), format!("\x7fELF-{name}").into_bytes())
    }

    #[test]
    fn pack_puts_init_first_then_sorts() {
        let image = pack(vec![program("zeta"), program("hello"), program("init"), program("alpha")]).unwrap();
        let parsed = BootImage::parse(&image).unwrap();
        let names: Vec<&str> = parsed.iter().map(|p| p.name).collect();
        assert_eq!(names, ["init", "alpha", "hello", "zeta"]);
        assert_eq!(parsed.find("hello").unwrap().elf, b"\x7fELF-hello");
    }

    #[test]
    fn pack_requires_init() {
        let err = pack(vec![program("hello")]).unwrap_err();
        assert!(err.contains("no `init` program"), "{err}");
        assert!(pack(Vec::new()).is_err());
    }

    #[test]
    fn pack_rejects_long_names_and_non_elf() {
        let long = "x".repeat(NAME_MAX + 1);
        let err = pack(vec![program("init"), program(&long)]).unwrap_err();
        assert!(err.contains(&long), "{err}");
        let err = pack(vec![("init".to_string(), b"#!/bin/sh".to_vec())]).unwrap_err();
        assert!(err.contains("not an ELF"), "{err}");
        assert!(pack(vec![program("init"), ("app".to_string(), b"TPKG...".to_vec())]).is_ok());
    }

    #[test]
    fn only_the_user_image_leaves_out_tests_and_hooks() {
        assert!(!Image::User.has_fixtures());
        assert!(!Image::User.semihosting());
        assert_eq!(Image::User.kernel_features(), "");
        for image in [Image::Test, Image::Bench] {
            assert!(image.has_fixtures() && image.semihosting());
            assert!(image.kernel_features().contains("semihosting"));
        }
        // Only the benchmark kernel lets User mode read the cycle counter.
        assert!(Image::Bench.kernel_features().split(',').any(|f| f == "bench"));
        assert!(!Image::Test.kernel_features().split(',').any(|f| f == "bench"));
        assert!(Image::Test.kernel_features().split(',').any(|f| f == "test-hooks"));
        // The scenarios check the kernel's invariants at every Rust entry;
        // the images that are measured or booted by users do not pay for it.
        assert!(Image::Test.kernel_features().split(',').any(|f| f == "check-invariants"));
        assert!(!Image::Bench.kernel_features().contains("check-invariants"));
        assert!(!Image::User.kernel_features().contains("check-invariants"));
        for program in BENCH_PROGRAMS {
            assert!(Image::Bench.holds_program(program) && !Image::Test.holds_program(program));
            assert!(Image::Bench.holds_app(program) && !Image::Test.holds_app(program));
        }
        assert!(Image::User.holds_app("blinky") && Image::User.holds_program("gpiod"));
        assert!(!Image::User.holds_app("test-needs-i2c") && !Image::User.holds_app("test-bench-app"));
        assert!(!Image::User.holds_program("bench"));
        assert!(!Image::User.holds_program("probe") && !Image::User.holds_program("hello"));
        assert!(Image::Test.holds_app("test-needs-i2c") && Image::Test.holds_program("probe"));
    }

    #[test]
    fn system_programs_exist() {
        let names = all_program_names().unwrap();
        for program in SYSTEM_PROGRAMS {
            assert!(names.iter().any(|name| name == program), "no program {program}");
        }
    }

    #[test]
    fn program_names_lists_bins() {
        let dir = std::env::temp_dir().join(format!("xtask-bins-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("multi")).unwrap();
        fs::write(dir.join("init.rs"), "").unwrap();
        fs::write(dir.join("hello.rs"), "").unwrap();
        fs::write(dir.join("notes.txt"), "").unwrap();
        fs::write(dir.join("multi/main.rs"), "").unwrap();
        fs::create_dir_all(dir.join("empty")).unwrap();
        let names = program_names(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(names, ["hello", "init", "multi"]);
    }
}
