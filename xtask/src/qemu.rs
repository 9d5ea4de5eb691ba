//! `cargo xtask qemu`, the QEMU command lines all subcommands share, and the QEMU and OpenSSL install checks.

use std::env;
use std::fmt;
use std::io::{self, Read};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use tessera_abi::PANIC_EXIT_STATUS;
use tessera_board::Board;

use crate::dns;
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
    /// Forward 127.0.0.1:HOSTPORT on the host to the guest's GUESTPORT, TCP
    /// (`HOSTPORT:GUESTPORT` or `tcp:HOSTPORT:GUESTPORT`) or UDP
    /// (`udp:HOSTPORT:GUESTPORT`). Repeatable.
    #[arg(long, value_name = "[udp:]HOSTPORT:GUESTPORT", value_parser = parse_forward)]
    forward: Vec<Forward>,
    /// Answer the device's DNS queries for NAME with ADDRESS (an IPv4
    /// address) from a DNS server on the host's 127.0.0.1, which the device
    /// asks first (boot argument `net.dns`); it refuses other names, which
    /// the device then asks QEMU's resolver. Repeatable.
    #[arg(long, value_name = "NAME=ADDRESS", value_parser = dns::parse_resolve)]
    resolve: Vec<(String, Ipv4Addr)>,
    /// Boot the M-profile kernel on this board under `qemu/` instead (only
    /// `mps2-an386` today: the first step of the Cortex-M4 port,
    /// docs/mt3620.md; the other options do not apply to it).
    #[arg(long, value_name = "BOARD")]
    board: Option<String>,
}

/// The transport a [`Forward`] carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// Its name in a slirp `hostfwd` rule.
    fn slirp_name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        })
    }
}

/// A slirp port forward: what reaches 127.0.0.1:`host_port` on the host
/// goes to the guest's `guest_port` (at its DHCP address, 10.0.2.15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forward {
    pub protocol: Protocol,
    pub host_port: u16,
    pub guest_port: u16,
}

impl Forward {
    /// Its `-netdev user` option, e.g. `hostfwd=tcp:127.0.0.1:18080-:80`
    /// (an empty guest address is the guest's first DHCP address).
    fn hostfwd(self) -> String {
        format!("hostfwd={}:127.0.0.1:{}-:{}", self.protocol.slirp_name(), self.host_port, self.guest_port)
    }
}

impl fmt::Display for Forward {
    /// e.g. `host 127.0.0.1:18080 -> guest port 80 (TCP)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host 127.0.0.1:{} -> guest port {} ({})", self.host_port, self.guest_port, self.protocol)
    }
}

/// One `--forward`: `HOSTPORT:GUESTPORT`, `tcp:HOSTPORT:GUESTPORT` or
/// `udp:HOSTPORT:GUESTPORT`, each port 1 to 65535.
pub fn parse_forward(text: &str) -> Result<Forward> {
    let usage = "give HOSTPORT:GUESTPORT (TCP, e.g. 18080:80) or udp:HOSTPORT:GUESTPORT";
    let (protocol, ports) = match text.split_once(':') {
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("tcp") => (Protocol::Tcp, rest),
        Some((prefix, rest)) if prefix.eq_ignore_ascii_case("udp") => (Protocol::Udp, rest),
        _ => (Protocol::Tcp, text),
    };
    let Some((host, guest)) = ports.split_once(':') else {
        return Err(format!("`{text}` is not a port forward: {usage}"));
    };
    let port = |value: &str, which: &str| -> Result<u16> {
        match value.parse::<u16>() {
            Ok(port) if port != 0 => Ok(port),
            _ => Err(format!("`{value}` in `{text}` is not a {which} port (1 to 65535): {usage}")),
        }
    };
    Ok(Forward { protocol, host_port: port(host, "host")?, guest_port: port(guest, "guest")? })
}

/// Refuses two forwards from one host port and protocol (slirp cannot
/// listen twice on it).
pub fn check_forwards(forwards: &[Forward]) -> Result<()> {
    for (index, forward) in forwards.iter().enumerate() {
        let same = |other: &&Forward| other.protocol == forward.protocol && other.host_port == forward.host_port;
        if let Some(earlier) = forwards[..index].iter().find(same) {
            return Err(format!(
                "--forward gives host port {} ({}) twice (to guest ports {} and {}); give each host port once",
                forward.host_port, forward.protocol, earlier.guest_port, forward.guest_port
            ));
        }
    }
    Ok(())
}

/// Fails, naming the fix, if `forward`'s host port cannot be had on
/// 127.0.0.1 now (in use, or below 1024 without the right to it), which
/// would stop QEMU with a less clear message. Something could take the
/// port before QEMU does; fine for an interactive run.
fn check_host_port(forward: Forward) -> Result<()> {
    let address = (Ipv4Addr::LOCALHOST, forward.host_port);
    let bound = match forward.protocol {
        Protocol::Tcp => TcpListener::bind(address).map(drop),
        Protocol::Udp => UdpSocket::bind(address).map(drop),
    };
    bound.map_err(|err| {
        format!(
            "cannot forward host port {} ({}): 127.0.0.1:{} cannot be bound ({err}); pick another HOSTPORT for --forward",
            forward.host_port, forward.protocol, forward.host_port
        )
    })
}

/// `append` with `argument` added at the end (the kernel's boot arguments
/// are separated by spaces).
pub fn append_boot_argument(append: Option<&str>, argument: &str) -> String {
    match append.map(str::trim).filter(|append| !append.is_empty()) {
        Some(append) => format!("{append} {argument}"),
        None => argument.to_string(),
    }
}

/// Checks `cargo xtask qemu`'s network options before anything is built.
fn check_network_options(args: &QemuArgs) -> Result<()> {
    check_forwards(&args.forward)?;
    dns::check_names(&args.resolve)?;
    let sets_dns = args.append.as_deref().unwrap_or("").split_whitespace().any(|word| word.starts_with("net.dns="));
    if sets_dns && !args.resolve.is_empty() {
        return Err("--append sets net.dns and --resolve points it at its own DNS server; drop one of them".to_string());
    }
    args.forward.iter().try_for_each(|forward| check_host_port(*forward))
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
/// outside reaches the guest unless forwarded: each of `forwards` adds a
/// `hostfwd` rule from the host's 127.0.0.1) and a `virtio-net-device` on
/// it. The bus is named for the same reason as the entropy device's: left
/// to itself it would take the highest free transport, on the app UART's
/// page (0x0a00_3c00). On `virtio-mmio-bus.8` (0x0a00_1000) it has the
/// second page of transports to itself, which `init` hands to the network
/// server (userland/servers/src/bin/netd.rs). A `-netdev` also keeps QEMU
/// from adding `virt`'s default NIC (a `virtio-net-pci`).
fn network_device(forwards: &[Forward]) -> [String; 4] {
    let mut netdev = "user,id=net0".to_string();
    for forward in forwards {
        netdev.push(',');
        netdev.push_str(&forward.hostfwd());
    }
    [
        "-netdev".to_string(),
        netdev,
        "-device".to_string(),
        "virtio-net-device,netdev=net0,bus=virtio-mmio-bus.8".to_string(),
    ]
}

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
    command_with_forwards(image, kernel, console, append, uart, &[])
}

/// [`command_with_uart`] with `forwards` from host ports on 127.0.0.1 to
/// the guest (fails if two share a host port and protocol). A test that
/// also wants the device's DNS queries answered starts a
/// [`dns::start_dns`] server and adds its [`dns::DnsServer::boot_argument`]
/// to `append` ([`append_boot_argument`]).
pub fn command_with_forwards(
    image: Image,
    kernel: &Path,
    console: Console,
    append: Option<&str>,
    uart: AppUart,
    forwards: &[Forward],
) -> Result<Command> {
    check_forwards(forwards)?;
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
    command.args(network_device(forwards));
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
pub fn on_path(name: &str) -> bool {
    env::var_os("PATH").is_some_and(|path| env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}

pub fn running_as_root() -> bool {
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
pub fn stop(child: &mut Child) {
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
pub fn wait_with_timeout(child: &mut Child, timeout: Option<Duration>) -> io::Result<Option<ExitStatus>> {
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
    if let Some(board) = &args.board {
        ensure_qemu()?;
        return crate::mps2::run(board, args.timeout.map(Duration::from_secs));
    }
    check_network_options(args)?;
    ensure_qemu()?;
    // The device identity the Pluton security server will use, made on
    // first use (docs/pluton.md).
    crate::provision::ensure(&crate::workspace_root())?;
    let kernel = image::build_system(args.image)?;
    let port = match args.uart_port {
        Some(port) => port,
        None => free_port()?,
    };
    // Stopped when dropped, as this function returns: after QEMU has ended.
    let dns_server = if args.resolve.is_empty() { None } else { Some(dns::start_dns(&args.resolve)?) };
    let append = match &dns_server {
        Some(server) => Some(append_boot_argument(args.append.as_deref(), &server.boot_argument())),
        None => args.append.clone(),
    };
    let mut qemu = command_with_forwards(
        args.image,
        &kernel,
        Console::Interactive,
        append.as_deref(),
        AppUart::Listen(port),
        &args.forward,
    )?;
    if args.gdb {
        qemu.args(["-s", "-S"]);
        println!("waiting for a debugger: gdb-multiarch {} -ex 'target remote localhost:1234'", kernel.display());
    }
    println!("==> booting Tessera in QEMU (quit: Ctrl-A then X)");
    println!("==> the app UART (virtio console) listens on 127.0.0.1:{port}: `nc 127.0.0.1 {port}`");
    for forward in &args.forward {
        println!("==> {forward}");
    }
    if let Some(server) = &dns_server {
        let names: Vec<String> = args.resolve.iter().map(|(name, address)| format!("{name} -> {address}")).collect();
        println!(
            "==> DNS on 127.0.0.1:{} answers {} for the device ({})",
            server.port(),
            names.join(", "),
            server.boot_argument()
        );
    }
    let text = describe(&qemu);
    let mut child = qemu.spawn().map_err(|err| format!("cannot start `{text}`: {err}; is {QEMU} installed?"))?;
    let timeout = args.timeout.map(Duration::from_secs);
    let status = wait_with_timeout(&mut child, timeout).map_err(|err| {
        stop(&mut child);
        format!("lost track of QEMU: {err}")
    })?;
    if let Some(server) = &dns_server {
        println!("==> the DNS server answered {} queries and refused {}", server.answered(), server.refused());
    }
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

    fn tcp(host_port: u16, guest_port: u16) -> Forward {
        Forward { protocol: Protocol::Tcp, host_port, guest_port }
    }

    fn udp(host_port: u16, guest_port: u16) -> Forward {
        Forward { protocol: Protocol::Udp, host_port, guest_port }
    }

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
    fn forward_arguments() {
        assert_eq!(parse_forward("18080:80").unwrap(), tcp(18080, 80));
        assert_eq!(parse_forward("tcp:1:65535").unwrap(), tcp(1, 65535));
        assert_eq!(parse_forward("UDP:5353:53").unwrap(), udp(5353, 53));
        for (bad, says) in [
            ("18080", "not a port forward"),
            ("udp:18080", "not a port forward"),
            ("", "not a port forward"),
            ("0:80", "`0` in `0:80` is not a host port"),
            ("80:0", "`0` in `80:0` is not a guest port"),
            ("65536:80", "not a host port"),
            ("80:-1", "not a guest port"),
            (":80", "not a host port"),
            ("sctp:1:2", "`sctp` in `sctp:1:2` is not a host port"),
            ("udp:1:2:3", "`2:3` in `udp:1:2:3` is not a guest port"),
            ("127.0.0.1:80:80", "not a host port"),
        ] {
            let err = parse_forward(bad).unwrap_err();
            assert!(err.contains(says), "{bad:?}: {err}");
            assert!(err.contains("HOSTPORT:GUESTPORT"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn forwards_from_one_host_port_are_refused() {
        assert!(check_forwards(&[tcp(8080, 80), tcp(8081, 80), udp(8080, 80)]).is_ok());
        let err = check_forwards(&[tcp(8080, 80), udp(9, 9), tcp(8080, 81)]).unwrap_err();
        assert_eq!(
            err,
            "--forward gives host port 8080 (TCP) twice (to guest ports 80 and 81); give each host port once"
        );
        assert!(check_forwards(&[udp(53, 53), udp(53, 53)]).is_err());
        let twice = command_with_forwards(
            Image::User,
            Path::new("k.elf"),
            Console::Captured,
            None,
            AppUart::Listen(0),
            &[tcp(1, 2), tcp(1, 3)],
        );
        assert!(twice.is_err());
    }

    #[test]
    fn forwards_become_hostfwd_rules_and_lines() {
        assert_eq!(tcp(18080, 80).hostfwd(), "hostfwd=tcp:127.0.0.1:18080-:80");
        assert_eq!(udp(5353, 53).hostfwd(), "hostfwd=udp:127.0.0.1:5353-:53");
        assert_eq!(tcp(18080, 80).to_string(), "host 127.0.0.1:18080 -> guest port 80 (TCP)");
        assert_eq!(udp(5353, 53).to_string(), "host 127.0.0.1:5353 -> guest port 53 (UDP)");
        let forwards = [tcp(18080, 80), udp(5353, 53)];
        let command = command_with_forwards(
            Image::User,
            Path::new("k.elf"),
            Console::Captured,
            None,
            AppUart::Listen(0),
            &forwards,
        )
        .unwrap();
        let args = args(&command);
        let at = args.iter().position(|arg| arg == "-netdev").expect("a -netdev option");
        assert_eq!(args[at + 1], "user,id=net0,hostfwd=tcp:127.0.0.1:18080-:80,hostfwd=udp:127.0.0.1:5353-:53");
        assert_eq!(args[at + 3], "virtio-net-device,netdev=net0,bus=virtio-mmio-bus.8");
        assert_eq!(args.iter().filter(|arg| *arg == "-netdev").count(), 1);
    }

    #[test]
    fn dns_boot_argument_goes_after_the_others() {
        assert_eq!(append_boot_argument(None, "net.dns=10.0.2.2:5000"), "net.dns=10.0.2.2:5000");
        assert_eq!(append_boot_argument(Some("  "), "net.dns=10.0.2.2:5000"), "net.dns=10.0.2.2:5000");
        assert_eq!(
            append_boot_argument(Some("scenario=boot kernel.preempt-test"), "net.dns=10.0.2.2:5000"),
            "scenario=boot kernel.preempt-test net.dns=10.0.2.2:5000"
        );
    }

    /// `cargo xtask qemu ARGS`, parsed.
    fn qemu_args(arguments: &[&str]) -> std::result::Result<QemuArgs, clap::Error> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            qemu: QemuArgs,
        }
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("qemu").chain(arguments.iter().copied())).map(|cli| cli.qemu)
    }

    #[test]
    fn network_options_parse() {
        let parsed = qemu_args(&[
            "--forward",
            "18080:80",
            "--forward",
            "udp:5353:53",
            "--resolve",
            "Example.test=10.0.2.2",
            "--resolve",
            "other.test=1.2.3.4",
        ])
        .unwrap();
        assert_eq!(parsed.forward, [tcp(18080, 80), udp(5353, 53)]);
        assert_eq!(
            parsed.resolve,
            [
                ("example.test".to_string(), Ipv4Addr::new(10, 0, 2, 2)),
                ("other.test".to_string(), Ipv4Addr::new(1, 2, 3, 4))
            ]
        );
        let none = qemu_args(&[]).unwrap();
        assert!(none.forward.is_empty() && none.resolve.is_empty());
        for bad in [
            ["--forward", "80"],
            ["--forward", "0:80"],
            ["--forward", "70000:80"],
            ["--resolve", "example.test"],
            ["--resolve", "example.test=10.0.2"],
            ["--resolve", "bad..name=10.0.2.2"],
        ] {
            let err = qemu_args(&bad).err().unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}");
        }
    }

    #[test]
    fn network_options_are_checked_together() {
        let port = free_port().unwrap().to_string();
        let forward = format!("{port}:80");
        let good = qemu_args(&["--forward", &forward, "--resolve", "a.test=10.0.2.2", "--append", "scenario=boot"]);
        check_network_options(&good.unwrap()).unwrap();
        let twice = qemu_args(&["--forward", "18080:80", "--forward", "18080:81"]).unwrap();
        assert!(check_network_options(&twice).unwrap_err().contains("twice"));
        let twice = qemu_args(&["--resolve", "a.test=10.0.2.2", "--resolve", "A.test=10.0.2.3"]).unwrap();
        assert!(check_network_options(&twice).unwrap_err().contains("twice"));
        let both = qemu_args(&["--resolve", "a.test=10.0.2.2", "--append", "x=1 net.dns=10.0.2.2:53"]).unwrap();
        assert!(check_network_options(&both).unwrap_err().contains("drop one"));
        // Without --resolve, --append may set net.dns itself.
        let own = qemu_args(&["--append", "net.dns=10.0.2.2:53"]).unwrap();
        check_network_options(&own).unwrap();
        // A host port in use.
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let forward = format!("{}:80", taken.local_addr().unwrap().port());
        let err = check_network_options(&qemu_args(&["--forward", &forward]).unwrap()).unwrap_err();
        assert!(err.contains("pick another HOSTPORT"), "{err}");
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
