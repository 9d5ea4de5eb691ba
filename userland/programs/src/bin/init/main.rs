//! The root task. The kernel starts it first, with the boot arguments
//! (QEMU `-append`) on its stack; it starts every other program.
//!
//! Its one job: start the system servers (`gpiod`, `uartd`, `netd`) and
//! hand the app manager (`tessera_programs::apps`) the loader and the
//! servers' minting endpoints, then supervise the apps for as long as the
//! system runs. The loader is `tessera_loader`; the app manager's decisions are
//! `tessera_init_core`'s, host-tested.
//!
//! In the test and benchmark images (the `scenarios` feature of
//! `tessera-programs`), `scenario=NAME` runs one integration test scenario
//! and `bench` the benchmarks (`scenarios.rs`), then power off with status
//! 0 (passed) or 1 (failed); `cargo xtask test` and `cargo xtask bench`
//! read the output. The user image holds none of that code.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::app::ServerKind;
use tessera_programs::apps::{Apps, Servers, Status};
use tessera_programs::loader::{Loader, Pages, Program};
use tessera_rt::{
    boot_arguments, cap_derive, cap_grant, cap_move, cap_object, cap_revoke, find_initial_capability,
    for_each_initial_capability, println, retype, shutdown, sleep_micros, Ended, Handle, ObjectType, Rights,
};

tessera_rt::entry!(main);

#[cfg(feature = "scenarios")]
mod scenarios;

type Outcome = Result<(), &'static str>;

/// Asks the Pluton security server (the kernel gives init the sending side
/// of its endpoint) for the device's public DeviceID identifier and prints
/// it: the first thing init learns from it (docs/pluton.md).
fn report_device_identity() {
    use tessera_servers::pluton::{DEVICE_ID, DEVICE_ID_BYTES};
    let Some(pluton) = find_initial_capability(ObjectType::Endpoint, Rights::SEND) else {
        println!("init: no Pluton security server");
        return;
    };
    // Found now, while it is init's only endpoint: the servers' come later.
    PLUTON.call_once(|| pluton);
    let mut id = [0u8; DEVICE_ID_BYTES];
    for (part, chunk) in id.chunks_mut(16).enumerate() {
        let request = tessera_rt::Message::new(DEVICE_ID, [part as u32, 0, 0, 0]);
        match tessera_rt::call(pluton, &request, tessera_rt::Timeout::Forever) {
            Ok(answer) if answer.message.label == 0 => {
                let bytes = answer.message.words.map(u32::to_le_bytes);
                chunk.copy_from_slice(&bytes.as_flattened()[..chunk.len()]);
            }
            _ => {
                println!("init: the Pluton security server did not answer");
                return;
            }
        }
    }
    let mut hex = [0u8; 2 * DEVICE_ID_BYTES];
    for (pair, byte) in hex.chunks_mut(2).zip(id) {
        pair.copy_from_slice(&[
            b"0123456789abcdef"[usize::from(byte >> 4)],
            b"0123456789abcdef"[usize::from(byte & 0xF)],
        ]);
    }
    println!("init: DeviceID {}", core::str::from_utf8(&hex).unwrap_or("?"));
}

/// Hands the Pluton security server its entropy source
/// (`tessera_servers::entropy`): the virtio-mmio page whose transports
/// include QEMU's `virtio-rng-device` (virtio device ID 4), which init
/// finds by mapping each virtio-mmio page read-only for a moment, and a
/// fresh frame of `entropy::DMA_BYTES` for the device's queue and buffer
/// (a frame, not untyped memory: untyped memory cannot travel in a
/// message). Both go in one `ENTROPY_SOURCE` call; the server gets copies
/// (children of init's). The server has no `Process` capability init
/// could move them into, so init keeps its own: the device region is an
/// original (the UART server is granted the page too, finds no console on
/// it and deletes its copy), and the frame stays, unmapped, since deleting
/// it would take the server's copy with it. If the server refuses, init
/// takes both copies back (revokes the page's, deletes the frame).
fn give_entropy_source(pluton: Handle) -> Outcome {
    use tessera_servers::entropy::{DMA_BYTES, ENTROPY_DEVICE};
    let transport =
        virtio_page_with(ENTROPY_DEVICE).ok_or("no virtio entropy device among the virtio-mmio transports")?;
    let memory = retype(untyped_memory()?, ObjectType::Frame, DMA_BYTES).map_err(|_| "retype failed")?;
    let request = tessera_rt::Message {
        label: tessera_abi::app::pluton::ENTROPY_SOURCE,
        words: [0, 0, transport.0, memory.0],
        caps: 2,
    };
    let refused = match tessera_rt::call(pluton, &request, tessera_rt::Timeout::Forever) {
        Ok(answer) if answer.message.label == 0 => return Ok(()),
        Ok(answer) => tessera_rt::Error::from_code(answer.message.label).map_or("refused", tessera_rt::Error::name),
        Err(error) => error.name(),
    };
    let _ = cap_revoke(transport);
    // The frame is kept, never used again: the device may still write to
    // it after a request `plutond` gave up on.
    Err(refused)
}

/// True if `page`, one of init's device regions, is a page of virtio-mmio
/// transports one of which has a device of virtio device ID `device`
/// (init maps the page read-only for a moment to look).
fn holds_virtio_device(page: Handle, device: u32) -> bool {
    virtio_transport_with(page, device).is_some()
}

/// The physical address of the first virtio-mmio transport on `page` whose
/// device has virtio device ID `device`.
fn virtio_transport_with(page: Handle, device: u32) -> Option<u32> {
    use tessera_programs::uart::{is_virtio_mmio, DEVICE_ID_OFFSET, MAGIC, MAGIC_OFFSET, TRANSPORT_BYTES};
    /// Where init maps the page (below the loader's windows).
    const PROBE_AT: u32 = 0x3700_0000;
    let (address, bytes) = cap_object(page).ok()?;
    if !is_virtio_mmio(address) {
        return None;
    }
    let mapping = tessera_rt::Mapping::new(page, PROBE_AT, Rights::READ).ok()?;
    let found = (0..bytes / TRANSPORT_BYTES).map(|slot| slot * TRANSPORT_BYTES).find(|&offset| {
        mapping.read_u32(offset + MAGIC_OFFSET) == MAGIC && mapping.read_u32(offset + DEVICE_ID_OFFSET) == device
    });
    let _ = tessera_rt::unmap(page);
    found.map(|offset| address + offset)
}

/// init's capability to the interrupt of the virtio-mmio transport at
/// `transport` (the board description: transport `n` raises
/// `VIRTIO_MMIO_FIRST_INTERRUPT + n`).
fn virtio_interrupt(transport: u32) -> Option<Handle> {
    use tessera_programs::uart::{TRANSPORT_BYTES, VIRTIO_MMIO_BASE, VIRTIO_MMIO_FIRST_INTERRUPT};
    let number = VIRTIO_MMIO_FIRST_INTERRUPT + (transport - VIRTIO_MMIO_BASE) / TRANSPORT_BYTES;
    let mut found = None;
    for_each_initial_capability(|handle, info| {
        if info.kind == ObjectType::Interrupt && cap_object(handle).map(|object| object.0) == Ok(number) {
            found.get_or_insert(handle);
        }
    });
    found
}

/// init's original capability to the first virtio-mmio page that holds a
/// device of virtio device ID `device` (see [`holds_virtio_device`]).
fn virtio_page_with(device: u32) -> Option<Handle> {
    let mut found = None;
    for_each_initial_capability(|handle, info| {
        if found.is_none() && info.kind == ObjectType::DeviceRegion && holds_virtio_device(handle, device) {
            found = Some(handle);
        }
    });
    found
}

/// Where `init` maps the frame it hands the Pluton security server for
/// `ATTEST` (below the loader's windows).
const ATTEST_FRAME_AT: u32 = 0x3600_0000;

/// The verifier's nonce from the boot arguments (`attest.nonce=HEX`,
/// which `cargo xtask attest` passes; no part of the measured
/// configuration), or why it is unusable.
fn attest_nonce(arguments: &str) -> Option<Result<([u8; 64], usize), &'static str>> {
    let hex = arguments.split_whitespace().find_map(|word| word.strip_prefix("attest.nonce="))?;
    let mut nonce = [0u8; 64];
    if !hex.len().is_multiple_of(2) || hex.len() / 2 > nonce.len() {
        return Some(Err("the nonce is not an even number of hex digits, at most 128"));
    }
    for (byte, pair) in nonce.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let digits = core::str::from_utf8(pair).ok().and_then(|pair| u8::from_str_radix(pair, 16).ok());
        let Some(value) = digits else { return Some(Err("the nonce is not hex")) };
        *byte = value;
    }
    Some(Ok((nonce, hex.len() / 2)))
}

/// Asks the Pluton security server for evidence for the verifier's nonce
/// and prints it as `ATTEST evidence <hex>` lines, then `ATTEST end`
/// (`cargo xtask attest` collects them; docs/pluton.md).
fn attest(nonce: &[u8]) -> Outcome {
    use tessera_servers::pluton::ATTEST;
    // Evidence for many apps outgrows a page; plutond uses up to 16 KiB of
    // a frame whose size it may ask.
    const EVIDENCE_FRAME_BYTES: u32 = 16 * 1024;
    let pluton = *PLUTON.get().ok_or("no Pluton security server")?;
    let frame = retype(untyped_memory()?, ObjectType::Frame, EVIDENCE_FRAME_BYTES).map_err(|_| "retype failed")?;
    let result = (|| {
        let mapping = tessera_rt::Mapping::new(frame, ATTEST_FRAME_AT, Rights::READ | Rights::WRITE)
            .map_err(|_| "cannot map the frame")?;
        mapping.write_bytes(0, nonce);
        let request = tessera_rt::Message::with_capability(ATTEST, [nonce.len() as u32, 0, 0], frame);
        let answer = tessera_rt::call(pluton, &request, tessera_rt::Timeout::Forever).map_err(|_| "the call failed")?;
        if answer.message.label != 0 {
            let error = tessera_rt::Error::from_code(answer.message.label);
            println!("init: ATTEST refused: {}", error.map_or("an unknown error", tessera_rt::Error::name));
            return Err("the Pluton security server refused ATTEST");
        }
        let len = answer.message.words[0] as usize;
        let evidence = mapping.as_bytes().get(..len).ok_or("the answer's length is outside the frame")?;
        println!("init: attestation evidence, {} bytes", len);
        for chunk in evidence.chunks(48) {
            let mut hex = [0u8; 96];
            for (pair, byte) in hex.chunks_mut(2).zip(chunk) {
                pair.copy_from_slice(&[
                    b"0123456789abcdef"[usize::from(byte >> 4)],
                    b"0123456789abcdef"[usize::from(byte & 0xF)],
                ]);
            }
            println!("ATTEST evidence {}", core::str::from_utf8(&hex[..2 * chunk.len()]).unwrap_or("?"));
        }
        println!("ATTEST end");
        Ok(())
    })();
    let _ = tessera_rt::cap_delete(frame);
    result
}

fn main(start: tessera_rt::Start) -> u32 {
    let arguments = boot_arguments(start);
    ATTEST_ARGUMENTS.call_once(|| arguments);
    println!("init: root task started, boot arguments \"{}\"", arguments);
    report_device_identity();
    match Loader::new() {
        Ok(loader) => {
            LOADER.call_once(|| loader);
        }
        Err(error) => println!("init: no loader (untyped memory and boot image needed): {}", error.name()),
    }
    // After the loader: it takes the last frame among init's first
    // capabilities for the boot image, and the entropy source's frame
    // would be one of them.
    match PLUTON.get().map(|&pluton| give_entropy_source(pluton)) {
        Some(Ok(())) => println!("init: entropy source handed to the Pluton security server"),
        Some(Err(reason)) => println!("init: no entropy source for the Pluton security server: {}", reason),
        None => println!("init: no entropy source for the Pluton security server: no Pluton security server"),
    }
    let mut scenario = None;
    for word in arguments.split_whitespace() {
        if let Some(name) = word.strip_prefix("scenario=") {
            scenario = Some(name);
        } else if word == "bench" {
            scenario = Some("bench");
        } else if word == "paths" {
            // `bench paths`: the path-meter kernel's run.
            scenario = Some("paths");
        }
    }
    let Some(name) = scenario else {
        if let Err(reason) = run_apps() {
            println!("init: cannot run the apps: {}", reason);
        }
        println!("init: nothing left to supervise. Quit QEMU with Ctrl-A then X.");
        loop {
            sleep_micros(u32::MAX);
        }
    };
    let status = run_scenario(name);
    match find_initial_capability(ObjectType::PowerControl, Rights::empty()) {
        Some(power) => {
            let _ = shutdown(power, status);
        }
        None => println!("init: no PowerControl capability: cannot power off"),
    }
    status
}

/// Runs scenario `name` (or the benchmarks, `bench`); returns the status
/// to power off with (0: passed).
#[cfg(feature = "scenarios")]
fn run_scenario(name: &str) -> u32 {
    let status = scenarios::run(name);
    // Its stack is 16 KiB and nothing else guards it but the unmapped page
    // below: the scenarios report how deep it went.
    println!("init: stack high-water {} of {} bytes", tessera_rt::stack_high_water(), tessera_abi::layout::STACK_SIZE);
    status
}

/// The user image has no scenarios: asking for one fails.
#[cfg(not(feature = "scenarios"))]
fn run_scenario(name: &str) -> u32 {
    println!("init: scenario {} FAILED: this image has no scenarios (the test and benchmark images do)", name);
    1
}

/// The sending side of the Pluton security server's endpoint.
static PLUTON: spin::Once<Handle> = spin::Once::new();

/// The boot arguments: for the attestation request after the apps start,
/// and the network server's DNS server (`net.dns=`).
static ATTEST_ARGUMENTS: spin::Once<&'static str> = spin::Once::new();

/// The loader: untyped memory and the boot image, found once at start-up.
static LOADER: spin::Once<Loader> = spin::Once::new();

fn loader() -> Result<&'static Loader, &'static str> {
    LOADER.get().ok_or("no loader")
}

/// Most programs init runs at once.
const MAX_PROGRAMS: usize = 16;

/// The programs running (process and memory) and spare program memory.
struct Programs {
    running: [Option<Program>; MAX_PROGRAMS],
    spare: [Option<Handle>; MAX_PROGRAMS],
}

static PROGRAMS: spin::Mutex<Programs> =
    spin::Mutex::new(Programs { running: [None; MAX_PROGRAMS], spare: [None; MAX_PROGRAMS] });

/// Starts a server as [`start`] does, but with the capabilities to its
/// pages in its own CSpace (it looks for no frames among its
/// capabilities), so `init` keeps two slots for it.
fn start_server(name: &str, priority: u32) -> Result<Handle, &'static str> {
    start_with(name, priority, 0, Pages::HandedOver)
}

fn start_with(name: &str, priority: u32, argument: u32, pages: Pages) -> Result<Handle, &'static str> {
    let mut programs = PROGRAMS.lock();
    let spare = programs.spare.iter_mut().find_map(|spare| spare.take());
    let program = loader()?.start(name, priority, argument, spare, pages).map_err(|error| {
        println!("init: cannot start {}: {}", name, error.name());
        "start failed"
    });
    let program = match program {
        Ok(program) => program,
        Err(reason) => {
            if let (Some(memory), Some(slot)) = (spare, programs.spare.iter_mut().find(|slot| slot.is_none())) {
                *slot = Some(memory);
            }
            return Err(reason);
        }
    };
    if let Some(free) = programs.running.iter_mut().find(|slot| slot.is_none()) {
        *free = Some(program);
    }
    Ok(program.process)
}

/// Takes back the memory of an ended program (revoking it destroys the
/// process's capability and frames) and keeps it for the next one.
fn collect(process: Handle) {
    let mut programs = PROGRAMS.lock();
    let Some(slot) = programs.running.iter_mut().find(|slot| slot.is_some_and(|p| p.process == process)) else {
        return;
    };
    let Some(program) = slot.take() else { return };
    if cap_revoke(program.memory).is_ok() {
        if let Some(spare) = programs.spare.iter_mut().find(|slot| slot.is_none()) {
            *spare = Some(program.memory);
        }
    }
}

fn report(name: &str, ended: Ended) {
    match ended {
        Ended::Exited(code) => println!("init: {} exited with code {}", name, code),
        Ended::Faulted(kind) => println!("init: {} was stopped by the kernel: {}", name, kind.name()),
        Ended::Killed => println!("init: {} was ended by the kernel: no capability named it", name),
    }
}

/// The untyped memory init was given (the loader found it at start-up).
fn untyped_memory() -> Result<Handle, &'static str> {
    Ok(loader()?.untyped())
}

/// What a driver gets on its device registers: map them read-write, and
/// `INSPECT` (`Mapping::new` learns the region's size with `CapObject`;
/// the virtio driver also needs the transports' addresses). Apps and
/// probes never get `INSPECT`.
const DRIVER_DEVICE_RIGHTS: Rights = Rights::READ.union(Rights::WRITE).union(Rights::INSPECT);

fn give(capability: Handle, process: Handle, rights: Rights) -> Outcome {
    cap_grant(capability, process, rights).map(|_| ()).map_err(|error| {
        println!("init: grant failed: {}", error.name());
        "grant failed"
    })
}

/// Starts the UART server (`uartd`) on QEMU's virtio console: it gets the
/// virtio-mmio transport pages (it finds the console among them) but the
/// network device's, unless the console is on that page too; a fresh
/// block of untyped memory for the device's rings and buffers (so its
/// frames are contiguous), and the receiving end of its endpoint. Returns
/// the server's process and an unbadged copy of the endpoint to mint
/// client capabilities from.
fn start_uartd() -> Result<(Handle, Handle), &'static str> {
    use tessera_programs::uart::{is_virtio_mmio, CONSOLE_DEVICE, DMA_BYTES, TRANSPORT_PAGES};
    let untyped = untyped_memory()?;
    // The network server's alone (`start_netd`).
    let network =
        virtio_page_with(tessera_servers::net::NET_DEVICE).filter(|&page| !holds_virtio_device(page, CONSOLE_DEVICE));
    let (mut pages, mut found) = ([Handle::NULL; TRANSPORT_PAGES], 0);
    for_each_initial_capability(|handle, info| {
        let virtio = cap_object(handle).is_ok_and(|(address, _)| is_virtio_mmio(address));
        if info.kind == ObjectType::DeviceRegion && virtio && Some(handle) != network && found < pages.len() {
            pages[found] = handle;
            found += 1;
        }
    });
    if found == 0 {
        return Err("no capability for the virtio-mmio transports");
    }
    let memory = retype(untyped, ObjectType::Untyped, DMA_BYTES).map_err(|_| "retype failed")?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let minter = cap_derive(endpoint, Rights::SEND | Rights::GRANT | Rights::DERIVE, 0).map_err(|_| "derive failed")?;
    let server = start_server("uartd", SERVER_PRIORITY)?;
    for &page in &pages[..found] {
        give(page, server, DRIVER_DEVICE_RIGHTS)?;
    }
    cap_move(memory, server).map_err(|_| "move failed")?;
    cap_move(endpoint, server).map_err(|_| "move failed")?;
    Ok((server, minter))
}

/// Starts the network server (`netd`, docs/network.md) on QEMU's
/// virtio-net device: it gets the virtio-mmio page that holds the network
/// device (virtio device ID 1; the UART server does not get it), a fresh
/// block of `net::DMA_BYTES` of untyped memory for the device's queues
/// and buffers, `net::SOCKET_FRAMES` of `net::SOCKET_MEMORY_BYTES` for its
/// TCP socket buffers, one of `net::UDP_MEMORY_BYTES` for its UDP ones,
/// and the receiving end of its endpoint. Returns its minting endpoint:
/// `init` registers apps through it (badge 0) and mints each app's
/// capability from it (badge = the app's client number).
fn start_netd() -> Result<Handle, &'static str> {
    use tessera_servers::net::{DMA_BYTES, NET_DEVICE, SOCKET_FRAMES, SOCKET_MEMORY_BYTES, UDP_MEMORY_BYTES};
    let untyped = untyped_memory()?;
    let page = virtio_page_with(NET_DEVICE).ok_or("no virtio network device among the virtio-mmio transports")?;
    let memory = retype(untyped, ObjectType::Untyped, DMA_BYTES).map_err(|_| "retype failed")?;
    let mut buffers = [Handle::NULL; SOCKET_FRAMES];
    for frame in &mut buffers {
        *frame = retype(untyped, ObjectType::Untyped, SOCKET_MEMORY_BYTES).map_err(|_| "retype failed")?;
    }
    let datagrams = retype(untyped, ObjectType::Untyped, UDP_MEMORY_BYTES).map_err(|_| "retype failed")?;
    // The device's interrupt and a notification for it: `netd` waits for
    // frames instead of polling (it polls if either is missing).
    let interrupt = virtio_transport_with(page, NET_DEVICE).and_then(virtio_interrupt);
    let notification = retype(untyped, ObjectType::Notification, 64).map_err(|_| "retype failed")?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let minter = cap_derive(endpoint, Rights::SEND | Rights::GRANT | Rights::DERIVE, 0).map_err(|_| "derive failed")?;
    let server = start_with("netd", SERVER_PRIORITY, network_seed(), Pages::HandedOver)?;
    give(page, server, DRIVER_DEVICE_RIGHTS)?;
    for handle in buffers.into_iter().chain([memory, datagrams, endpoint, notification]) {
        cap_move(handle, server).map_err(|_| "move failed")?;
    }
    if let Some(interrupt) = interrupt {
        give(interrupt, server, Rights::empty())?;
    }
    configure_resolver(minter);
    Ok(minter)
}

/// 32 bits from the Pluton security server's generator for the network
/// server's start argument: the seed of its stack's random numbers (TCP
/// initial sequence numbers, DHCP transaction IDs), its DNS query IDs and
/// its first local ports, which were guessable from the uptime and the
/// MAC alone. 0 if there are none (no Pluton security server, or no
/// entropy source): `netd` then says so.
fn network_seed() -> u32 {
    use tessera_servers::pluton::RANDOM;
    let (Some(&pluton), Ok(untyped)) = (PLUTON.get(), untyped_memory()) else { return 0 };
    let Ok(frame) = retype(untyped, ObjectType::Frame, 4096) else { return 0 };
    let seed = (|| {
        let request = tessera_rt::Message::with_capability(RANDOM, [4, 0, 0], frame);
        let answer = tessera_rt::call(pluton, &request, tessera_rt::Timeout::Millis(5000)).ok()?;
        if answer.message.label != 0 || answer.message.words[0] != 4 {
            return None;
        }
        let mapping = tessera_rt::Mapping::first_page(frame, ATTEST_FRAME_AT, Rights::READ).ok()?;
        let bytes = mapping.as_bytes();
        let seed = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let _ = tessera_rt::unmap(frame);
        Some(seed)
    })();
    let _ = tessera_rt::cap_delete(frame);
    seed.unwrap_or(0)
}

/// Tells the network server the DNS server of the boot argument
/// `net.dns=A.B.C.D:PORT` (`cargo xtask qemu --resolve` sets it), if
/// there is one; it asks that server before the ones DHCP names.
fn configure_resolver(netd: Handle) {
    use tessera_servers::net::{address_word, resolver::configured_server, SET_RESOLVER};
    let arguments = ATTEST_ARGUMENTS.get().copied().unwrap_or("");
    match configured_server(arguments) {
        None => {}
        Some(Err(reason)) => println!("init: net.dns ignored: {}", reason),
        Some(Ok((address, port))) => {
            let request = tessera_rt::Message::new(SET_RESOLVER, [address_word(address), u32::from(port), 0, 0]);
            let answer = tessera_rt::call(netd, &request, tessera_rt::Timeout::Millis(2000));
            if let Err(error) = answer.map_err(|error| error.name()).and_then(|reply| match reply.message.label {
                0 => Ok(()),
                code => Err(tessera_abi::Error::from_code(code).map_or("an unknown error", |error| error.name())),
            }) {
                println!("init: the network server did not take net.dns: {}", error);
            }
        }
    }
}

/// How `init` starts a system server: its minting endpoint, or why not.
type StartServer = fn() -> Result<Handle, &'static str>;

/// The system servers apps can be granted, one row per server kind: its
/// boot-image name and how `init` starts it (returning the unbadged
/// endpoint to mint app capabilities from). A new server is a new row
/// here and in `tessera_init_core::grants::SERVERS`.
const SYSTEM_SERVERS: [(ServerKind, &str, StartServer); 3] = [
    (ServerKind::GPIO, "gpiod", start_gpiod),
    (ServerKind::UART, "uartd", start_uartd_minter),
    (ServerKind::NET, "netd", start_netd),
];

/// init's original capability to the device registers at `address`.
fn device_region(address: u32) -> Option<Handle> {
    let mut found = None;
    for_each_initial_capability(|handle, info| {
        if info.kind == ObjectType::DeviceRegion && cap_object(handle).map(|o| o.0) == Ok(address) {
            found = Some(handle);
        }
    });
    found
}

/// Starts the GPIO server (`gpiod`) with the PL061's registers; returns
/// its minting endpoint.
fn start_gpiod() -> Result<Handle, &'static str> {
    let untyped = untyped_memory()?;
    let registers = device_region(tessera_programs::gpio::PL061_ADDRESS).ok_or("no capability for the PL061")?;
    let endpoint = retype(untyped, ObjectType::Endpoint, 64).map_err(|_| "retype failed")?;
    let minter = cap_derive(endpoint, Rights::SEND | Rights::GRANT | Rights::DERIVE, 0).map_err(|_| "derive failed")?;
    let server = start_server("gpiod", SERVER_PRIORITY)?;
    give(registers, server, DRIVER_DEVICE_RIGHTS)?;
    cap_move(endpoint, server).map_err(|_| "move failed")?;
    Ok(minter)
}

/// [`start_uartd`] for the table: only the minting endpoint.
fn start_uartd_minter() -> Result<Handle, &'static str> {
    start_uartd().map(|(_, minter)| minter)
}

/// Starts every server of [`SYSTEM_SERVERS`]; returns the minting
/// endpoints. A server that cannot start is one log line, and apps granted
/// it will be refused.
fn start_servers() -> Servers {
    let mut servers = Servers::new();
    for (kind, name, start) in SYSTEM_SERVERS {
        match start() {
            Ok(minter) => {
                servers.set(kind, minter);
            }
            Err(reason) => println!("init: no {} server {} ({}): apps granted it will be refused", kind, name, reason),
        }
    }
    servers
}

/// The app manager (a static: its failure log and app table would take a
/// good part of init's 16 KiB stack).
static APPS: spin::Mutex<Apps<'static>> = spin::Mutex::new(Apps::new());

/// Priority of the servers (above the apps, below init).
const SERVER_PRIORITY: u32 = 10;

/// A normal boot: the servers, then every app in the boot image,
/// supervised for as long as the system runs.
fn run_apps() -> Outcome {
    let mut apps = start_apps(false)?;
    if let Some(nonce) = attest_nonce(ATTEST_ARGUMENTS.get().copied().unwrap_or("")) {
        // After the apps started, so the evidence shows what runs.
        if let Err(reason) = nonce.and_then(|(nonce, len)| attest(&nonce[..len])) {
            println!("init: no attestation evidence: {}", reason);
            println!("ATTEST failed");
        }
    }
    // Starting the apps (and attesting) is the deepest `init` goes before it
    // only supervises.
    println!("init: stack high-water {} of {} bytes", tessera_rt::stack_high_water(), tessera_abi::layout::STACK_SIZE);
    apps.supervise(None, |_| false, ended_elsewhere);
    Ok(())
}

/// Starts the servers and the apps of the boot image (test fixtures too if
/// `include_tests`); returns the app manager, locked.
fn start_apps(include_tests: bool) -> Result<spin::MutexGuard<'static, Apps<'static>>, &'static str> {
    let servers = start_servers();
    let mut apps = APPS.lock();
    apps.attach(loader()?, servers, PLUTON.get().copied());
    let started = apps.start_all(include_tests);
    let (refused, failed) = (apps.refused(), apps.count(Status::Failed));
    if failed == 0 {
        println!("init: {} apps started, {} refused", started, refused);
    } else {
        println!("init: {} apps started, {} refused, {} could not be started", started, refused, failed);
    }
    Ok(apps)
}

/// A child that is not an app ended: report it and take back its memory.
fn ended_elsewhere(process: Handle, ended: Ended) {
    report("a system program", ended);
    collect(process);
}
