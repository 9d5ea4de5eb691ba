//! `init`'s app manager: admits the signed app packages of the boot image,
//! starts each app holding exactly what its manifest grants, and
//! supervises them (restart with back-off, hold, failure log).
//!
//! The decisions (which grants, when to restart, what a failure record
//! says) are `tessera_init_core`'s and host-tested there; this module acts
//! on them with syscalls. `docs/apps.md` describes the whole path.
//!
//! For each package, in boot-image order:
//!
//! 1. parse it (`tessera_abi::package::Package::parse`) and have the
//!    Pluton security server check its signature against the boot image's
//!    trusted keys (`VERIFY_PACKAGE`, `tessera_abi::app::pluton`): `init`
//!    links no signature verifier;
//! 2. decode its manifest (`tessera_abi::manifest::Manifest::decode`);
//! 3. plan its grants for this board (`tessera_init_core::grants::plan`),
//!    refusing it, by capability, if the board or its servers cannot
//!    honour one.
//!
//! Then, over every app that passed those checks at once
//! (`tessera_init_core::admission::admit`): an app whose `ComponentId` or
//! whose GPIO pin or UART an app before it (in boot-image order) already
//! has is refused, naming the conflict. Then each admitted app is started:
//! its ELF is loaded into a memory block carved for it (the capabilities
//! to its pages go into its own CSpace, so `init` keeps two slots per app
//! whatever its size, plus one per grant, and the Pluton buffer and the
//! network window it shares with a server), it gets one badged endpoint per
//! server it was granted, and a heap; the Pluton security server records
//! it (`RECORD_APP`: its measurement goes into the log the evidence
//! carries) as client number `index + 1`, and the app gets an endpoint to
//! that server badged with that number and a request buffer (a frame at
//! `PLUTON_BUFFER_AT`); an app whose manifest asks for the network
//! (`tessera_init_core::grants::wants_network`) is registered with the
//! network server under the same number (`REGISTER_APP`: its policy, the
//! IPv4 literals of its `AllowedConnections`, in its transfer window, a
//! 16 KiB frame at `NET_WINDOW_AT`), and gets an endpoint to that server
//! badged with the number and the window; its start information lists
//! (server kind, slot) for each grant and says where the heap is
//! (`tessera_abi::app::StartInfo`, written by the loader's `start_app`),
//! and it is started. When it ends, the network server forgets it
//! (`UNREGISTER_APP`: its sockets are aborted).
//!
//! Any refusal is one log line, `init: app 'NAME' refused: REASON`; an app
//! that was admitted but could not be started is one line `init: app
//! 'NAME' could not be started: REASON`; the other apps go on.

use tessera_abi::app::{net, pluton, Grant, ServerKind};
use tessera_abi::layout::{NET_WINDOW_AT, PAGE_SIZE, PLUTON_BUFFER_AT};
use tessera_abi::manifest::{ComponentId, Manifest};
use tessera_abi::package::{self, Package, VerifyError};
use tessera_abi::ObjectType;
use tessera_init_core::admission::{self, Candidate, ServerPorts};
use tessera_init_core::grants::{self, BoardOffer, Plan, SERVER_COUNT};
use tessera_init_core::lifecycle::{self, Event};
use tessera_init_core::supervisor::{Decision, Failure, FailureLog, Health, POLICY};
use tessera_rt::{
    call, cap_delete, cap_derive, cap_grant, cap_move_narrowed, cap_revoke, exit_record, map_into, println, retype,
    unmap, uptime_micros, wait, Ended, Error, Handle, Mapping, Message, Rights, Timeout,
};
use tessera_servers::net::registration::{Registration, Transport, MAX_RECORD_BYTES};

use crate::loader::{Loader, Program};

/// Boot-image names of test fixtures: started only when asked for.
pub const TEST_PREFIX: &str = "test-";
/// Test fixtures a scenario starts alone, by name (they hold what other
/// fixtures hold, such as the app UART): never started with the others.
pub const SOLO_PREFIX: &str = "test-solo-";
/// The priority apps run at (below `init` and the servers).
pub const APP_PRIORITY: u32 = 8;
/// Most apps `init` manages (refused ones included). Each costs about
/// 330 bytes of `init`'s data, which the kernel copies at boot.
pub const MAX_APPS: usize = 16;
/// The board this build runs on.
pub const BOARD: BoardOffer = grants::QEMU_VIRT;
/// Where `init` maps an app's network window while it writes the app's
/// registration record into it (below the loader's windows).
const NET_RECORD_AT: u32 = 0x3500_0000;
/// How long `init` waits for the network server to answer.
const NET_TIMEOUT: Timeout = Timeout::Millis(2000);

/// The server endpoints `init` mints app capabilities from, one per row
/// of `tessera_init_core::grants::SERVERS` (keyed by server kind), and the
/// network server's (which badges by client number, not by a resource
/// mask, so it is no row there): unbadged copies with `SEND`, `GRANT` and
/// `DERIVE` (the servers hold the `RECEIVE` side).
#[derive(Clone, Copy, Debug, Default)]
pub struct Servers {
    endpoints: [Option<Handle>; SERVER_COUNT],
    net: Option<Handle>,
}

impl Servers {
    /// No server running.
    pub const fn new() -> Servers {
        Servers { endpoints: [None; SERVER_COUNT], net: None }
    }

    /// Records the minting endpoint of the server of `kind`; false if no
    /// row of `SERVERS` has that kind and it is not the network server.
    pub fn set(&mut self, kind: ServerKind, endpoint: Handle) -> bool {
        if kind == ServerKind::NET {
            self.net = Some(endpoint);
            return true;
        }
        let Some(index) = grants::server_index(kind) else { return false };
        self.endpoints[index] = Some(endpoint);
        true
    }

    /// The minting endpoint of the server of `kind`, if it runs.
    pub fn get(&self, kind: ServerKind) -> Option<Handle> {
        if kind == ServerKind::NET {
            return self.net;
        }
        grants::server_index(kind).and_then(|index| self.endpoints[index])
    }
}

/// Where an app is in its life: `tessera_init_core::lifecycle`'s states,
/// moved by its events (host-tested there).
pub use tessera_init_core::lifecycle::Status;

#[derive(Clone, Copy, Debug)]
struct App<'a> {
    name: &'a str,
    /// Its package's index in the boot image (how the Pluton security
    /// server names it).
    entry: u32,
    elf: &'a [u8],
    component_id: ComponentId,
    plan: Plan,
    /// Its binary manifest, checked (decoded again when it is needed: a
    /// decoded `Manifest` is large, and this table is in `init`'s data).
    manifest: &'a [u8],
    status: Status,
    program: Option<Program>,
    /// Its memory block, kept across restarts.
    memory: Option<Handle>,
    /// `init`'s badged copies for the current run, one per server (in
    /// `SERVERS` order): the app's capabilities are their children.
    minted: [Option<Handle>; SERVER_COUNT],
    /// `init`'s badged copy of the Pluton security server's endpoint.
    minted_pluton: Option<Handle>,
    /// Whether its manifest asks for the network
    /// (`tessera_init_core::grants::wants_network`).
    network: bool,
    /// `init`'s badged copy of the network server's endpoint, for the
    /// current run.
    minted_net: Option<Handle>,
    health: Health,
}

/// The apps of the boot image and their supervision.
pub struct Apps<'a> {
    loader: Option<&'a Loader>,
    servers: Servers,
    /// `init`'s unbadged endpoint to the Pluton security server: it
    /// verifies and records packages, and apps' capabilities are badged
    /// copies.
    pluton: Option<Handle>,
    apps: [Option<App<'a>>; MAX_APPS],
    log: FailureLog,
    /// Refused packages no longer (or never) in `apps`: a refused package
    /// gives its place up to a later one, so refusals cannot crowd out the
    /// apps that would start.
    refused_elsewhere: usize,
    /// The names of the first [`REFUSED_NAMES`] packages that gave their
    /// place up, so [`status`](Apps::status) still answers `Refused` for
    /// them.
    refused_names: [Option<&'a str>; REFUSED_NAMES],
}

/// How many names of refused packages without a place are remembered.
pub const REFUSED_NAMES: usize = 16;

impl Default for Apps<'_> {
    fn default() -> Self {
        Apps::new()
    }
}

/// Takes back a minted capability (its children went with the app).
fn unmint(minted: &mut [Option<Handle>]) {
    for handle in minted.iter_mut().filter_map(Option::take) {
        let _ = cap_revoke(handle);
        let _ = cap_delete(handle);
    }
}

impl<'a> Apps<'a> {
    /// An empty app manager (a `const fn`, so it can be built in place in
    /// a static: it is too big for a small stack).
    pub const fn new() -> Apps<'a> {
        Apps {
            loader: None,
            servers: Servers::new(),
            pluton: None,
            apps: [None; MAX_APPS],
            log: FailureLog::new(),
            refused_elsewhere: 0,
            refused_names: [None; REFUSED_NAMES],
        }
    }

    /// Sets what it loads with and mints from, and the Pluton security
    /// server that verifies packages (without it every app is refused).
    pub fn attach(&mut self, loader: &'a Loader, servers: Servers, pluton: Option<Handle>) {
        self.loader = Some(loader);
        self.servers = servers;
        self.pluton = pluton;
    }

    /// Admits and starts every package in the boot image (test fixtures
    /// too if `include_tests`); returns how many were started.
    pub fn start_all(&mut self, include_tests: bool) -> usize {
        self.start_matching(&|name| (include_tests || !name.starts_with(TEST_PREFIX)) && !name.starts_with(SOLO_PREFIX))
    }

    /// Admits and starts the package called `name` (a benchmark's): true
    /// if it was started.
    pub fn start_one(&mut self, name: &str) -> bool {
        self.start_matching(&|entry| entry == name) == 1
    }

    /// Checks every package `wanted` accepts, admits them across all apps
    /// and starts the admitted ones; returns how many were started.
    /// (`wanted` is a `dyn`, so `init` holds one copy of this: the kernel
    /// copies `init`'s pages at boot.)
    fn start_matching(&mut self, wanted: &dyn Fn(&str) -> bool) -> usize {
        let Some(loader) = self.loader else {
            println!("init: the app manager has no loader");
            return 0;
        };
        let image = match loader.image() {
            Ok(image) => image,
            Err(error) => {
                println!("init: no boot image, so no apps: {}", error.name());
                return 0;
            }
        };
        if self.pluton.is_none() {
            println!("init: no Pluton security server to verify packages: every app will be refused");
        }
        for (index, entry) in image.iter().enumerate() {
            if entry.elf.starts_with(&package::MAGIC) && wanted(entry.name) {
                self.check(entry.name, index as u32, entry.elf);
            }
        }
        self.admit_checked();
        let mut started = 0;
        for index in 0..MAX_APPS {
            let Some(app) = self.apps[index].filter(|app| app.status == Status::Checked) else { continue };
            if let Ok(manifest) = Manifest::decode(app.manifest) {
                if grants::wants_network(&manifest) {
                    let registration = Registration::from_manifest(&manifest);
                    println!(
                        "init: app '{}': network grants recorded for the network server: IPv4 addresses: {}, host names: {}, entries that allow nothing: {}, TCP server ports: {}, UDP server ports: {}",
                        app.name,
                        registration.literals().len(),
                        registration.name_count(),
                        registration.ignored(),
                        registration.server_ports(Transport::Tcp).len(),
                        registration.server_ports(Transport::Udp).len()
                    );
                }
                for placeholder in grants::placeholders(&manifest) {
                    println!(
                        "init: app '{}': {} recorded for the {} server (not built yet; no authority granted)",
                        app.name, placeholder.capability, placeholder.server
                    );
                }
                println!(
                    "init: app '{}' ({}, component {}) verified; grants: {}",
                    app.name,
                    manifest.name(),
                    app.component_id,
                    app.plan
                );
            }
            if self.launch(index) {
                started += 1;
            }
        }
        started
    }

    /// Checks one package on its own (signature, manifest, board and
    /// servers) and records it as `Checked`, or `Refused` with a log line.
    // Not inlined: each of these has large locals, and `init`'s stack is
    // 16 KiB; apart, their frames are never on the stack at once.
    #[inline(never)]
    fn check(&mut self, name: &'a str, entry: u32, bytes: &'a [u8]) {
        let free = self.apps.iter().position(Option::is_none);
        // A package refused earlier was logged and is counted; its place
        // serves this one.
        let reused = || self.apps.iter().position(|app| app.is_some_and(|app| app.status == Status::Refused));
        let Some(index) = free.or_else(reused) else {
            println!("init: app '{}' refused: init manages at most {} apps", name, MAX_APPS);
            self.refused_elsewhere += 1;
            return;
        };
        if free.is_none() {
            self.refused_elsewhere += 1;
            let given_up = self.apps[index].map(|app| app.name);
            if let Some(slot) = self.refused_names.iter_mut().find(|slot| slot.is_none()) {
                *slot = given_up;
            }
        }
        let verified = Package::parse(bytes)
            .map_err(|error| Reason::Package(package::Refused::Malformed(error)))
            .and_then(|package| self.verify(entry).map(|()| package));
        let mut app = App {
            name,
            entry,
            elf: &[],
            component_id: ComponentId::NIL,
            plan: Plan::default(),
            manifest: &[],
            status: Status::Refused,
            program: None,
            memory: None,
            minted: [None; SERVER_COUNT],
            minted_pluton: None,
            network: false,
            minted_net: None,
            health: Health::new(),
        };
        let checked = verified.and_then(|package| {
            let manifest = Manifest::decode(package.manifest()).map_err(Reason::Manifest)?;
            let plan = grants::plan(&manifest, &BOARD).map_err(Reason::Board)?;
            for (server, badge) in plan.badges() {
                if badge != 0 && self.servers.get(server.kind).is_none() {
                    return Err(Reason::NotRunning(server));
                }
            }
            let network = grants::wants_network(&manifest);
            if network && self.servers.get(ServerKind::NET).is_none() {
                return Err(Reason::NoNetwork);
            }
            // A refusal with a reason, before admission and before any
            // server records it (the loader asks again when it starts it).
            tessera_loader::check_app_program(package.elf()).map_err(Reason::Program)?;
            Ok((package.elf(), package.manifest(), manifest.component_id(), plan, network))
        });
        match checked {
            Ok((elf, manifest, component_id, plan, network)) => {
                app.elf = elf;
                app.component_id = component_id;
                app.plan = plan;
                app.manifest = manifest;
                app.network = network;
                app.status = Status::Checked;
            }
            Err(reason) => println!("init: app '{}' refused: {}", name, reason),
        }
        self.apps[index] = Some(app);
    }

    /// Decides admission over every app that is not refused: the apps
    /// admitted before first (they keep what they have), then the
    /// `Checked` ones in boot-image order, whatever places they were given
    /// (`admission::admission_order`); a `Checked` app that conflicts with
    /// one before it is refused with a log line naming the conflict.
    // Not inlined: each of these has large locals, and `init`'s stack is
    // 16 KiB; apart, their frames are never on the stack at once.
    #[inline(never)]
    fn admit_checked(&mut self) {
        let places: [Option<(bool, u32)>; MAX_APPS] = core::array::from_fn(|index| {
            let app = self.apps[index].as_ref().filter(|app| app.status != Status::Refused)?;
            Some((app.status != Status::Checked, app.entry))
        });
        let (order, count) = admission::admission_order(&places);
        let entries = order[..count].iter().filter_map(|&index| {
            let app = self.apps[index]?;
            let ports = Manifest::decode(app.manifest).map_or(ServerPorts::NONE, |m| ServerPorts::from_manifest(&m));
            Some((index, Candidate { name: app.name, component_id: app.component_id, plan: app.plan, ports }))
        });
        let mut refused = [None; MAX_APPS];
        admission::admit_places::<MAX_APPS>(entries, |index, conflict| refused[index] = Some(conflict));
        for (app, conflict) in self.apps.iter_mut().zip(refused) {
            let (Some(app), Some(conflict)) = (app.as_mut(), conflict) else { continue };
            // Only an app not yet running can be refused: those admitted
            // before come first and conflict with nothing before them.
            if app.status == Status::Checked {
                println!("init: app '{}' refused: {}", app.name, conflict);
                app.status = app.status.after(Event::Refused);
            }
        }
    }

    /// Asks the Pluton security server whether the package at boot-image
    /// entry `entry` is signed by a trusted key.
    fn verify(&self, entry: u32) -> Result<(), Reason> {
        let pluton = self.pluton.ok_or(Reason::NoVerifier(None))?;
        let request = Message::new(pluton::VERIFY_PACKAGE, [entry, 0, 0, 0]);
        let answer = call(pluton, &request, Timeout::Forever).map_err(|error| Reason::NoVerifier(Some(error)))?;
        let words = answer.message.words;
        match answer.message.label {
            0 => Ok(()),
            _ => match VerifyError::from_words([words[1], words[2], words[3]]) {
                Some(error) => Err(Reason::Package(package::Refused::Untrusted(error))),
                None => Err(Reason::NoVerifier(Error::from_code(answer.message.label))),
            },
        }
    }

    /// Starts app `index` (again); false if it could not be.
    // Not inlined: each of these has large locals, and `init`'s stack is
    // 16 KiB; apart, their frames are never on the stack at once.
    #[inline(never)]
    fn launch(&mut self, index: usize) -> bool {
        let (Some(mut app), Some(loader)) = (self.apps[index], self.loader) else { return false };
        let servers = self.servers;
        let pluton = self.pluton;
        let net = servers.get(ServerKind::NET).filter(|_| app.network);
        let mut minted = [None; SERVER_COUNT];
        let mut minted_pluton = None;
        let mut minted_net = None;
        let mut registered = false;
        let client = index as u32 + 1;
        let entry = app.entry;
        let memory = app.memory.take();
        let result = loader.start_app(app.name, app.elf, APP_PRIORITY, memory, |memory, process, list| {
            let mut count = 0;
            let mut push = |grant: Grant| -> Result<(), Error> {
                *list.get_mut(count).ok_or(Error::InvalidArgument)? = grant;
                count += 1;
                Ok(())
            };
            let granted = |server: ServerKind, handle: Handle| {
                // A new process's slots are fresh: generation 0.
                if handle.generation() != 0 {
                    return Err(Error::InvalidArgument);
                }
                Ok(Grant { server, slot: handle.index() as u16 })
            };
            // The network window first: carved before the page-sized
            // frames, it wastes none of the block to its alignment.
            let window = match net {
                Some(_) => Some(retype(memory, ObjectType::Frame, net::WINDOW_BYTES as u32)?),
                None => None,
            };
            // The Pluton security server: it records the app as client
            // `index + 1` with its request buffer (the app's measurement
            // joins its log; a restart records nothing new), and the app
            // gets an endpoint badged with that number and the buffer
            // mapped read-write, with a capability to it that has no
            // rights.
            if let Some(pluton) = pluton {
                let buffer = retype(memory, ObjectType::Frame, PAGE_SIZE as u32)?;
                map_into(buffer, process, PLUTON_BUFFER_AT as u32, Rights::READ | Rights::WRITE)?;
                let request = Message::with_capability(pluton::RECORD_APP, [entry, client, 0], buffer);
                let answer = call(pluton, &request, Timeout::Forever)?;
                if answer.message.label != 0 {
                    let error = Error::from_code(answer.message.label).unwrap_or(Error::InvalidArgument);
                    println!("init: the Pluton security server did not record it: {}", error.name());
                    return Err(error);
                }
                let badged = cap_derive(pluton, Rights::SEND | Rights::GRANT, client)?;
                minted_pluton = Some(badged);
                let endpoint = cap_grant(badged, process, Rights::SEND)?;
                // `init` keeps the buffer (mapped into the app above), as it
                // keeps the network window: `plutond`'s copy is its child,
                // and an app holding the parent could revoke it, and the
                // mapping with it, while `plutond` works on its request.
                // The app gets a copy with no rights, which says it has a
                // buffer and nothing more.
                let buffer = cap_grant(buffer, process, Rights::empty())?;
                for handle in [endpoint, buffer] {
                    push(granted(ServerKind::PLUTON, handle)?)?;
                }
            }
            // The network server: it registers the app as client `index +
            // 1` with its policy, written into its window, and the app
            // gets an endpoint badged with that number and the window.
            if let (Some(net), Some(window)) = (net, window) {
                let manifest = Manifest::decode(app.manifest).map_err(|_| Error::BadImage)?;
                let mut record = [0u8; MAX_RECORD_BYTES];
                let size = Registration::from_manifest(&manifest).encode(&mut record).ok_or(Error::TooLong)?;
                let rights = Rights::READ | Rights::WRITE;
                Mapping::new(window, NET_RECORD_AT, rights)?.write_bytes(0, &record[..size]);
                unmap(window)?;
                map_into(window, process, NET_WINDOW_AT as u32, rights)?;
                // Its readiness notification: `netd` gets a copy to signal,
                // the app the original to wait on (`init` keeps no slot
                // for it: if the app revokes `netd`'s copy, only its own
                // wake-ups stop).
                let ready = retype(memory, ObjectType::Notification, 64)?;
                let request = Message { label: net::REGISTER_APP, words: [client, 0, ready.0, window.0], caps: 2 };
                let answer = call(net, &request, NET_TIMEOUT)?;
                if answer.message.label != 0 {
                    let error = Error::from_code(answer.message.label).unwrap_or(Error::InvalidArgument);
                    // `BadAddress`: the server could not map the window,
                    // most likely because its 24 regions are in use
                    // (docs/CAVEATS.md, "Fixed limits").
                    let hint =
                        if error == Error::BadAddress { " (are the network server's 24 regions in use?)" } else { "" };
                    println!("init: the network server did not register it: {}{}", error.name(), hint);
                    return Err(error);
                }
                registered = true;
                let badged = cap_derive(net, Rights::SEND | Rights::GRANT, client)?;
                minted_net = Some(badged);
                let endpoint = cap_grant(badged, process, Rights::SEND)?;
                // `init` keeps the window (mapped into the app above),
                // whose child `netd`'s copy is: had the app it, revoking it
                // would take `netd`'s copy, and the mapping `netd` keeps
                // between requests, away under the server. The app gets a
                // copy with no rights, which says it has a window and
                // nothing more. All go with the app's memory when it ends.
                let window = cap_grant(window, process, Rights::empty())?;
                let ready = cap_move_narrowed(ready, process, Rights::WAIT)?;
                for handle in [endpoint, window, ready] {
                    push(granted(ServerKind::NET, handle)?)?;
                }
            }
            for (index, (server, badge)) in app.plan.badges().enumerate() {
                let (Some(endpoint), true) = (servers.get(server.kind), badge != 0) else { continue };
                let badged = cap_derive(endpoint, Rights::SEND | Rights::GRANT, badge)?;
                minted[index] = Some(badged);
                let handle = cap_grant(badged, process, Rights::SEND)?;
                push(granted(server.kind, handle)?)?;
            }
            Ok(count)
        });
        match result {
            Ok(program) => {
                app.program = Some(program);
                app.memory = Some(program.memory);
                app.minted = minted;
                app.minted_pluton = minted_pluton;
                app.minted_net = minted_net;
                app.status = app.status.after(Event::Started);
                self.apps[index] = Some(app);
                true
            }
            Err(error) => {
                unmint(&mut minted);
                unmint(core::slice::from_mut(&mut minted_pluton));
                unmint(core::slice::from_mut(&mut minted_net));
                // The loader took the block back (the window with it)
                // already; the app never ran, so the network server was
                // offered nothing to write into the window meanwhile.
                if registered {
                    self.unregister_network(client);
                }
                println!("init: app '{}' could not be started: {}", app.name, error.name());
                // The block (if it was a spare) was revoked and is kept.
                app.memory = memory;
                app.status = app.status.after(Event::StartFailed);
                self.apps[index] = Some(app);
                false
            }
        }
    }

    /// Tells the network server that client `client` has ended (or never
    /// started): it aborts the app's sockets and forgets its window. A
    /// server that does not answer changes nothing here: registering the
    /// number again replaces the registration anyway.
    fn unregister_network(&self, client: u32) {
        let Some(net) = self.servers.get(ServerKind::NET) else { return };
        let request = Message::new(net::UNREGISTER_APP, [client, 0, 0, 0]);
        match call(net, &request, NET_TIMEOUT) {
            Ok(answer) if answer.message.label == 0 => {}
            Ok(answer) => println!(
                "init: the network server did not unregister client {}: {}",
                client,
                Error::from_code(answer.message.label).map_or("an unknown error", Error::name)
            ),
            Err(error) => println!("init: the network server did not unregister client {}: {}", client, error.name()),
        }
    }

    /// Handles the end of child `process`; false if it is not an app.
    pub fn ended(&mut self, process: Handle, ended: Ended) -> bool {
        let found = self.apps.iter().position(|app| {
            app.is_some_and(|app| {
                app.program.is_some_and(|program| process != Handle::NULL && program.process == process)
            })
        });
        let Some(index) = found else { return false };
        let Some(mut app) = self.apps[index] else { return false };
        let record = exit_record();
        let now = uptime_micros();
        // The network server forgets the app first: it may write the app's
        // window on its own (a datagram delivered, docs/network.md), and
        // the window goes with the app's pages.
        if app.network {
            self.unregister_network(index as u32 + 1);
        }
        // Take back its process and pages; the block stays for a restart.
        if let Some(program) = app.program.take() {
            let _ = cap_revoke(program.memory);
        }
        unmint(&mut app.minted);
        unmint(core::slice::from_mut(&mut app.minted_pluton));
        unmint(core::slice::from_mut(&mut app.minted_net));
        if ended == Ended::Exited(0) {
            println!("init: app '{}' finished (exit 0); not restarted", app.name);
            app.status = app.status.after(Event::Exited);
        } else {
            let record = record.unwrap_or_default();
            let failure = self.log.record(Failure::new(app.name, app.component_id, record, now, app.health.restarts()));
            println!("init: {}", failure);
            println!("init:   {}", failure.registers());
            let decision = app.health.crashed(now, &POLICY);
            match decision {
                Decision::RestartAt(at) => {
                    println!("init: app '{}' restarts in {} ms", app.name, (at - now) / 1000);
                }
                Decision::Hold => {
                    println!(
                        "init: app '{}' held: {} crashes within {} s; not restarted",
                        app.name,
                        app.health.recent_crashes(),
                        POLICY.window_us / 1_000_000
                    );
                }
            }
            app.status = app.status.after(Event::Crashed(decision));
        }
        self.apps[index] = Some(app);
        true
    }

    /// Supervises: restarts apps when due and handles every child that
    /// ends (`other` gets the children that are not apps), until `stop`
    /// says so or the uptime reaches `until` (microseconds; `None`: no
    /// limit). Returns when there is nothing left to wait for.
    pub fn supervise(
        &mut self,
        until: Option<u64>,
        mut stop: impl FnMut(&Apps<'a>) -> bool,
        mut other: impl FnMut(Handle, Ended),
    ) {
        loop {
            let now = uptime_micros();
            for index in 0..MAX_APPS {
                if self.apps[index].is_some_and(|app| app.status.restart_due(now)) {
                    self.launch(index);
                }
            }
            if stop(self) || until.is_some_and(|until| now >= until) {
                return;
            }
            let wake = lifecycle::next_wake(self.apps.iter().flatten().map(|app| app.status), until);
            let timeout = wake.map(|at| u32::try_from(at.saturating_sub(now)).unwrap_or(u32::MAX));
            match wait(None, timeout) {
                Ok((process, ended)) => {
                    if !self.ended(process, ended) {
                        other(process, ended);
                    }
                }
                Err(Error::TimedOut) => {}
                Err(Error::NotFound) if wake.is_some() => {
                    tessera_rt::sleep_micros(timeout.unwrap_or(0));
                }
                Err(Error::NotFound) => return,
                Err(error) => {
                    println!("init: wait failed: {}", error.name());
                    return;
                }
            }
        }
    }

    /// The status of app `name`, if the boot image has it.
    pub fn status(&self, name: &str) -> Option<Status> {
        let status = self.apps.iter().flatten().find(|app| app.name == name).map(|app| app.status);
        status.or_else(|| self.refused_names.contains(&Some(name)).then_some(Status::Refused))
    }

    /// How many apps have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.apps.iter().flatten().filter(|app| app.status == status).count()
    }

    /// How many packages were refused, those that gave their place in the
    /// table up to a later one (or never had one) included.
    pub fn refused(&self) -> usize {
        self.count(Status::Refused) + self.refused_elsewhere
    }

    /// The failure log.
    pub fn failure_log(&self) -> &FailureLog {
        &self.log
    }

    /// Prints the failure log, oldest entry first.
    pub fn print_failure_log(&self) {
        println!("init: failure log: {} entries kept, {} crashes since boot", self.log.len(), self.log.total());
        for failure in self.log.iter() {
            println!("init: {}", failure);
            println!("init:   {}", failure.registers());
        }
    }
}

/// Why a package is refused on its own.
enum Reason {
    Package(package::Refused),
    Manifest(tessera_abi::manifest::DecodeError),
    Board(grants::Refusal),
    NotRunning(&'static grants::Server),
    /// It asks for the network and the network server is not running.
    NoNetwork,
    /// The Pluton security server could not verify it (none, or it failed).
    NoVerifier(Option<Error>),
    /// Its program does not load: a bad ELF, or a segment in the MiB the
    /// loader maps the app's start information, buffers and heap into.
    Program(&'static str),
}

impl core::fmt::Display for Reason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Reason::Package(refusal) => write!(f, "{}", refusal),
            Reason::Manifest(error) => write!(f, "undecodable manifest: {}", error),
            Reason::Board(refusal) => write!(f, "{}", refusal),
            Reason::NotRunning(server) => write!(f, "{}: the {} server is not running", server.field, server.kind),
            Reason::NoNetwork => write!(f, "network access: the network server is not running"),
            Reason::Program(why) => write!(f, "its program {}", why),
            Reason::NoVerifier(None) => write!(f, "no Pluton security server to verify its signature"),
            Reason::NoVerifier(Some(error)) => {
                write!(f, "the Pluton security server could not verify its signature: {}", error.name())
            }
        }
    }
}
