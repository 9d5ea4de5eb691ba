//! `cargo xtask qemu`, the QEMU command lines all subcommands share, and the QEMU and OpenSSL install checks.

use std::env;
use std::io::{self, Read};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use tessera_abi::PANIC_EXIT_STATUS;
use tessera_board::Board;

use crate::image::{self, Image};
use crate::{describe, Result};

/// The QEMU binary for 32-bit Arm.
pub const QEMU: &str = "qemu-system-arm";
/// The Debian packages that provide it (ipxe-qemu holds the NIC ROMs `virt` loads).
const PACKAGES: [&str; 2] = ["qemu-system-arm", "ipxe-qemu"];
/// How often a timed run checks whether QEMU has ended.
const POLL: Duration = Duration::from_millis(20);
/// How long QEMU gets to end after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(3);

/// Options of `cargo xtask qemu`.
#[derive(clap::Args)]
pub struct QemuArgs {
    /// Stop QEMU after SECS seconds and exit with status 0 (for scripts).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: Option<u64>,
    /// Start halted with a GDB server on localhost:1234.
    #[arg(long)]
    gdb: bool,
    /// The kernel command line (bootargs), e.g. "scenario=boot".
    #[arg(long, value_name = "ARGS", allow_hyphen_values = true)]
    append: Option<String>,
    /// Which image to boot: `test` and `bench` hold the test programs the
    /// scenarios (`--append scenario=NAME`) and benchmarks need.
    #[arg(long, value_enum, default_value = "user")]
    image: Image,
    /// The TCP port on 127.0.0.1 where QEMU offers the app UART (the virtio
    /// console); a free one if not given. Connect with `nc 127.0.0.1 PORT`.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    uart_port: Option<u16>,
}

/// Where the guest console goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Console {
    /// On this terminal, with the QEMU monitor multiplexed (`-nographic`).
    Interactive,
    /// The serial port only, on QEMU's stdout, for capturing (`-serial stdio`).
    Captured,
}

/// Where the app UART's socket goes. The app UART is a virtio console (QEMU
/// 7.2's `virt` has one PL011, the kernel's console): a `virtio-serial-device`
/// on a virtio-mmio transport with a `virtconsole` port whose character device
/// is a TCP socket on 127.0.0.1. QEMU never waits for a client to turn up;
/// bytes the guest writes while nothing is connected are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppUart {
    /// QEMU listens on this port and accepts a client whenever one comes
    /// (`server=on,wait=off`). Port 0 lets the host pick one nobody is told
    /// about: for boots that do not use the UART.
    Listen(u16),
    /// QEMU connects to a harness already listening on this port, before the
    /// guest starts (QEMU fails to start if nothing listens there).
    Connect(u16),
}

/// The id of the app UART's character device.
const UART_CHARDEV: &str = "uart0";

/// The Pluton security server's entropy source, in every image: QEMU's
/// `virtio-rng-device` (its bytes come from the host's `getrandom`) on the
/// first virtio-mmio transport (0x0a00_0000 on `virt`). The bus is named
/// because a device without one takes the highest free transport, which
/// would put it on the app UART's page (0x0a00_3c00, beside the console
/// at 0x0a00_3e00); a device region capability covers a whole page, so
/// there the UART server would keep the entropy device's registers too.
/// On bus 0 it has a page to itself, which `init` hands to the Pluton
/// security server (userland/servers/src/entropy.rs).
const ENTROPY_DEVICE: [&str; 2] = ["-device", "virtio-rng-device,bus=virtio-mmio-bus.0"];

/// The network server's NIC, in every image: QEMU's user network (slirp:
/// the guest is 10.0.2.15 behind a NAT, the gateway 10.0.2.2 and a DNS
/// forwarder 10.0.2.3, a DHCP server that hands those out; nothing from
/// outside reaches the guest unless forwarded) and a `virtio-net-device` on
/// it. The bus is named for the same reason as the entropy device's: left
/// to itself it would take the highest free transport, on the app UART's
/// page (0x0a00_3c00). On `virtio-mmio-bus.8` (0x0a00_1000) it has the
/// second page of transports to itself, which `init` hands to the network
/// server (userland/servers/src/bin/netd.rs). A `-netdev` also keeps QEMU
/// from adding `virt`'s default NIC (a `virtio-net-pci`).
const NETWORK_DEVICE: [&str; 4] =
    ["-netdev", "user,id=net0", "-device", "virtio-net-device,netdev=net0,bus=virtio-mmio-bus.8"];

impl AppUart {
    /// The QEMU options that add the device and its socket.
    fn args(self) -> [String; 6] {
        let socket = match self {
            AppUart::Listen(port) => format!("port={port},server=on,wait=off"),
            AppUart::Connect(port) => format!("port={port},server=off"),
        };
        [
            "-device".to_string(),
            "virtio-serial-device".to_string(),
            "-device".to_string(),
            format!("virtconsole,chardev={UART_CHARDEV}"),
            "-chardev".to_string(),
            format!("socket,id={UART_CHARDEV},host=127.0.0.1,{socket}"),
        ]
    }
}

/// The board QEMU emulates: its description, `qemu/<board>/board.json`
/// (`virt` unless `TESSERA_BOARD` names another folder), read once.
pub fn board() -> Result<&'static Board> {
    static BOARD: OnceLock<std::result::Result<Board, String>> = OnceLock::new();
    BOARD.get_or_init(|| Board::selected().map_err(|err| err.to_string())).as_ref().map_err(Clone::clone)
}

/// A TCP port on 127.0.0.1 that is free now (the system picks it). Another
/// program could take it before QEMU does; fine for an interactive run.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|err| format!("cannot find a free TCP port on 127.0.0.1: {err}"))?;
    listener.local_addr().map(|address| address.port()).map_err(|err| format!("cannot read a socket's port: {err}"))
}

/// The QEMU command that boots `kernel`, built for `image`, on the board
/// (its machine, CPU and RAM from [`board`]), and `append` as bootargs; the app UART listens on
/// a port nobody is told about. Semihosting is on only for the images
/// whose kernel ends the run through it (test, bench): in the user image
/// nothing needs it, so no program can reach the host through it.
pub fn command(image: Image, kernel: &Path, console: Console, append: Option<&str>) -> Result<Command> {
    command_with_uart(image, kernel, console, append, AppUart::Listen(0))
}

/// [`command`] with the app UART's socket as `uart` says.
pub fn command_with_uart(
    image: Image,
    kernel: &Path,
    console: Console,
    append: Option<&str>,
    uart: AppUart,
) -> Result<Command> {
    let mut command = Command::new(QEMU);
    command.args(board()?.qemu_args());
    match console {
        Console::Interactive => {
            command.arg("-nographic");
        }
        Console::Captured => {
            command.args(["-display", "none", "-monitor", "none", "-serial", "stdio"]);
        }
    }
    if image.semihosting() {
        command.args(["-semihosting-config", "enable=on,target=native"]);
    }
    command.args(uart.args());
    command.args(ENTROPY_DEVICE);
    command.args(NETWORK_DEVICE);
    // The fuse stand-in: QEMU's loader puts the device's Unique Device
    // Secret in the board's secret page, which no untyped memory covers
    // (docs/pluton.md). `provision::ensure` makes the file first.
    command.args(["-device", &secret_loader(board()?)]);
    command.arg("-kernel").arg(kernel);
    if let Some(append) = append {
        command.args(["-append", append]);
    }
    Ok(command)
}

/// The `-device loader,...` value that places `.tessera/uds.bin` at the
/// board's secret page.
/// (A comma in the path is doubled, as QEMU's option syntax wants.)
fn secret_loader(board: &Board) -> String {
    let file = crate::workspace_root().join(crate::provision::DIRECTORY).join(crate::provision::UDS_FILE);
    let file = file.display().to_string().replace(',', ",,");
    format!("loader,file={file},addr={:#x},force-raw=on", board.memory.secret)
}

/// True if an executable file called `name` is in a directory on `PATH`.
fn on_path(name: &str) -> bool {
    env::var_os("PATH").is_some_and(|path| env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn install_hint() -> String {
    format!("install it with: sudo apt-get install {}", PACKAGES.join(" "))
}

/// The error for a missing QEMU that xtask cannot install itself (it needs
/// root and apt-get), or `None` if it can.
fn cannot_install(is_root: bool, has_apt_get: bool) -> Option<String> {
    if is_root && has_apt_get {
        None
    } else {
        Some(format!("{QEMU} not found; {}", install_hint()))
    }
}

/// Makes sure `qemu-system-arm` is on `PATH`, installing it with apt-get
/// when running as root on a system that has it.
pub fn ensure_qemu() -> Result<()> {
    if on_path(QEMU) {
        return Ok(());
    }
    let hint = install_hint();
    if let Some(err) = cannot_install(running_as_root(), on_path("apt-get")) {
        return Err(err);
    }
    println!("==> {QEMU} not found; installing {} with apt-get", PACKAGES.join(" "));
    let mut update = Command::new("apt-get");
    update.arg("update");
    crate::run_streamed(update).map_err(|err| format!("{err}; or {hint}"))?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y"]).args(PACKAGES).env("DEBIAN_FRONTEND", "noninteractive");
    crate::run_streamed(install).map_err(|err| format!("{err}; or {hint}"))?;
    if on_path(QEMU) {
        Ok(())
    } else {
        Err(format!("apt-get finished but {QEMU} is still not on PATH; {hint}"))
    }
}

/// The command `cargo xtask attest` and `qemu:attest` check the
/// attestation certificate chain with, independently of xtask's own
/// verifier.
pub const OPENSSL: &str = "openssl";
/// The Debian package that provides it.
const OPENSSL_PACKAGE: &str = "openssl";

/// The error for a missing `openssl` that xtask cannot install itself (it
/// needs root and apt-get), or `None` if it can.
fn cannot_install_openssl(is_root: bool, has_apt_get: bool) -> Option<String> {
    if is_root && has_apt_get {
        None
    } else {
        Some(format!(
            "{OPENSSL} not found: attestation is checked with `openssl verify` too; install it with: \
             sudo apt-get install {OPENSSL_PACKAGE}"
        ))
    }
}

/// Makes sure `openssl` is on `PATH`, installing the Debian package
/// `openssl` with apt-get when running as root on a system that has it.
pub fn ensure_openssl() -> Result<()> {
    if on_path(OPENSSL) {
        return Ok(());
    }
    if let Some(err) = cannot_install_openssl(running_as_root(), on_path("apt-get")) {
        return Err(err);
    }
    let hint = format!("or install it with: sudo apt-get install {OPENSSL_PACKAGE}");
    println!("==> {OPENSSL} not found; installing {OPENSSL_PACKAGE} with apt-get");
    let mut update = Command::new("apt-get");
    update.arg("update");
    crate::run_streamed(update).map_err(|err| format!("{err}; {hint}"))?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", OPENSSL_PACKAGE]).env("DEBIAN_FRONTEND", "noninteractive");
    crate::run_streamed(install).map_err(|err| format!("{err}; {hint}"))?;
    if on_path(OPENSSL) {
        Ok(())
    } else {
        Err(format!("apt-get finished but {OPENSSL} is still not on PATH; {hint}"))
    }
}

/// How a captured run ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Everything the process wrote to stdout and stderr, interleaved as written.
    pub output: String,
    /// The exit status; `None` if a signal ended it (including a timeout stop).
    pub status: Option<i32>,
    /// True if the run was stopped because it hit its timeout.
    pub timed_out: bool,
}

/// Asks `child` to end with SIGTERM (QEMU then restores the terminal),
/// and kills it if it has not ended after a grace period.
fn stop(child: &mut Child) {
    let asked = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if asked {
        let deadline = Instant::now() + GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(POLL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Waits for `child`, stopping it after `timeout`. Returns its exit status,
/// or `None` if the timeout stopped it.
fn wait_with_timeout(child: &mut Child, timeout: Option<Duration>) -> io::Result<Option<ExitStatus>> {
    let Some(timeout) = timeout else {
        return child.wait().map(Some);
    };
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            stop(child);
            return Ok(None);
        }
        thread::sleep(POLL);
    }
}

/// Runs `command` with stdin closed and stdout and stderr merged into one
/// pipe that a thread drains (so it never fills), stopping it after
/// `timeout` if given.
pub fn capture(command: Command, timeout: Option<Duration>) -> Result<Outcome> {
    capture_until(command, timeout, |_| false)
}

/// [`capture`], also stopping the command (as a timeout would, but with
/// `timed_out` false) as soon as `done` says its output so far is enough.
pub fn capture_until(mut command: Command, timeout: Option<Duration>, done: impl Fn(&str) -> bool) -> Result<Outcome> {
    let text = describe(&command);
    let cannot = |err: io::Error| format!("cannot run `{text}`: {err}");
    let (mut reader, writer) = io::pipe().map_err(cannot)?;
    let writer_for_stderr = writer.try_clone().map_err(cannot)?;
    command.stdin(Stdio::null()).stdout(writer).stderr(writer_for_stderr);
    let spawned = command.spawn();
    // The command holds our copies of the pipe's write end; drop them so the
    // reader sees end-of-file once the child has ended.
    drop(command);
    let mut child = spawned.map_err(|err| format!("cannot start `{text}`: {err} (is it installed?)"))?;
    let output = Arc::new(Mutex::new(Vec::new()));
    let drain = {
        let output = Arc::clone(&output);
        thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(read) = reader.read(&mut chunk) {
                if read == 0 {
                    break;
                }
                output.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend_from_slice(&chunk[..read]);
            }
        })
    };
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    let mut seen = 0;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(err) => {
                stop(&mut child);
                return Err(format!("lost track of `{text}`: {err}"));
            }
        }
        let finished = {
            let bytes = output.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let grew = bytes.len() != seen;
            seen = bytes.len();
            grew && done(&String::from_utf8_lossy(&bytes))
        };
        if finished {
            stop(&mut child);
            break child.try_wait().ok().flatten();
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            stop(&mut child);
            drain.join().map_err(|_| format!("reading the output of `{text}` failed"))?;
            let bytes = output.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            return Ok(Outcome { output: String::from_utf8_lossy(&bytes).into_owned(), status: None, timed_out: true });
        }
        thread::sleep(POLL);
    };
    drain.join().map_err(|_| format!("reading the output of `{text}` failed"))?;
    let bytes = output.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    Ok(Outcome {
        output: String::from_utf8_lossy(&bytes).into_owned(),
        status: status.and_then(|status| status.code()),
        timed_out: false,
    })
}

/// `cargo xtask qemu`.
pub fn run(args: &QemuArgs) -> Result<ExitCode> {
    ensure_qemu()?;
    // The device identity the Pluton security server will use, made on
    // first use (docs/pluton.md).
    crate::provision::ensure(&crate::workspace_root())?;
    let kernel = image::build_system(args.image)?;
    let port = match args.uart_port {
        Some(port) => port,
        None => free_port()?,
    };
    let mut qemu =
        command_with_uart(args.image, &kernel, Console::Interactive, args.append.as_deref(), AppUart::Listen(port))?;
    if args.gdb {
        qemu.args(["-s", "-S"]);
        println!("waiting for a debugger: gdb-multiarch {} -ex 'target remote localhost:1234'", kernel.display());
    }
    println!("==> booting Tessera in QEMU (quit: Ctrl-A then X)");
    println!("==> the app UART (virtio console) listens on 127.0.0.1:{port}: `nc 127.0.0.1 {port}`");
    let text = describe(&qemu);
    let mut child = qemu.spawn().map_err(|err| format!("cannot start `{text}`: {err}; is {QEMU} installed?"))?;
    let timeout = args.timeout.map(Duration::from_secs);
    let status = wait_with_timeout(&mut child, timeout).map_err(|err| {
        stop(&mut child);
        format!("lost track of QEMU: {err}")
    })?;
    let Some(status) = status else {
        println!("==> timeout after {} s, stopped QEMU", args.timeout.unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    };
    match status.code() {
        Some(code) => {
            if code == PANIC_EXIT_STATUS as i32 {
                println!("==> kernel panicked (exit status {code})");
            }
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
        None => {
            println!("==> QEMU was ended by a signal ({status})");
            Ok(ExitCode::FAILURE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &Command) -> Vec<String> {
        command.get_args().map(|arg| arg.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn missing_qemu_is_installed_only_as_root_with_apt() {
        assert_eq!(cannot_install(true, true), None);
        let message = "qemu-system-arm not found; install it with: \
                       sudo apt-get install qemu-system-arm ipxe-qemu";
        assert_eq!(cannot_install(false, true).as_deref(), Some(message));
        assert_eq!(cannot_install(true, false).as_deref(), Some(message));
    }

    #[test]
    fn a_missing_openssl_names_the_command() {
        assert_eq!(cannot_install_openssl(true, true), None);
        for (is_root, has_apt_get) in [(false, true), (true, false), (false, false)] {
            let message = cannot_install_openssl(is_root, has_apt_get).unwrap();
            assert!(message.starts_with("openssl not found"), "{message}");
            assert!(message.ends_with("sudo apt-get install openssl"), "{message}");
        }
    }

    #[test]
    fn captured_command_line() {
        let command =
            command(Image::Test, Path::new("/t/tessera.elf"), Console::Captured, Some("scenario=boot")).unwrap();
        assert_eq!(command.get_program(), QEMU);
        // The machine arguments are the board's (`-M virt -cpu cortex-a7 -m 64M`
        // on virt, checked in tessera-board).
        let machine = board().unwrap().qemu_args().join(" ");
        assert_eq!(
            args(&command).join(" "),
            machine
                + " -display none -monitor none -serial stdio \
             -semihosting-config enable=on,target=native \
             -device virtio-serial-device -device virtconsole,chardev=uart0 \
             -chardev socket,id=uart0,host=127.0.0.1,port=0,server=on,wait=off \
             -device virtio-rng-device,bus=virtio-mmio-bus.0 \
             -netdev user,id=net0 -device virtio-net-device,netdev=net0,bus=virtio-mmio-bus.8 \
             -device "
                + &secret_loader(board().unwrap())
                + " -kernel /t/tessera.elf -append scenario=boot"
        );
    }

    #[test]
    fn app_uart_socket_options() {
        let chardev = |uart: AppUart| {
            let command = command_with_uart(Image::Test, Path::new("k.elf"), Console::Captured, None, uart).unwrap();
            let args = args(&command);
            let at = args.iter().position(|arg| arg == "-chardev").expect("a -chardev option");
            args[at + 1].clone()
        };
        // Listening never blocks the boot; connecting needs the harness first.
        assert_eq!(chardev(AppUart::Listen(4321)), "socket,id=uart0,host=127.0.0.1,port=4321,server=on,wait=off");
        assert_eq!(chardev(AppUart::Connect(5555)), "socket,id=uart0,host=127.0.0.1,port=5555,server=off");
    }

    #[test]
    fn free_port_is_free() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }

    #[test]
    fn interactive_command_line() {
        // The user image has no semihosting.
        let command = command(Image::User, Path::new("k.elf"), Console::Interactive, None).unwrap();
        let machine = board().unwrap().qemu_args().join(" ");
        assert_eq!(
            args(&command).join(" "),
            machine
                + " -nographic \
             -device virtio-serial-device -device virtconsole,chardev=uart0 \
             -chardev socket,id=uart0,host=127.0.0.1,port=0,server=on,wait=off \
             -device virtio-rng-device,bus=virtio-mmio-bus.0 \
             -netdev user,id=net0 -device virtio-net-device,netdev=net0,bus=virtio-mmio-bus.8 -device "
                + &secret_loader(board().unwrap())
                + " -kernel k.elf"
        );
    }

    #[cfg(unix)]
    #[test]
    fn capture_merges_output_and_reports_status() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo out; echo err >&2; echo again; exit 3"]);
        let outcome = capture(command, Some(Duration::from_secs(20))).unwrap();
        assert_eq!(outcome.output, "out\nerr\nagain\n");
        assert_eq!(outcome.status, Some(3));
        assert!(!outcome.timed_out);
    }

    #[cfg(unix)]
    #[test]
    fn capture_stops_at_timeout_and_keeps_output() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo before; exec sleep 30"]);
        let started = Instant::now();
        let outcome = capture(command, Some(Duration::from_millis(300))).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(outcome.timed_out);
        assert_eq!(outcome.status, None);
        assert_eq!(outcome.output, "before\n");
    }

    #[test]
    fn capture_reports_missing_program() {
        let err = capture(Command::new("/nonexistent/xtask-no-such-program"), None).unwrap_err();
        assert!(err.contains("cannot start"), "{err}");
    }
}
