//! `init`'s app manager on the M4 (docs/mt3620.md, "Apps"): the packages
//! of the boot image become apps the way they do on the A7
//! (`userland/programs/src/apps.rs`), with the same decisions
//! (`tessera_init_core`): each package is parsed, its manifest decoded and
//! planned against what this image offers ([`offer`]: a real-time core,
//! UART 0 when the UART server runs, the board's GPIO pins when the GPIO
//! server does, no network or Pluton server), so a capability it cannot give is refused by name; admission
//! across apps; then each admitted app is loaded into the app slot its ELF
//! is linked at (`tessera_loader::identity::start_app`: start information
//! and heap after its program) holding an endpoint to each server it was
//! granted, badged with its plan's mask, and supervised: a crash is
//! recorded in the failure log and the app restarts after the policy's
//! back-off (its slot revoked and loaded again), until it crashes too
//! often and is held.
//!
//! A package's signature is checked first, against the boot image's
//! `trusted-keys` entry (`tessera_abi::package::parse_and_verify`): on the
//! A7 the Pluton security server does this for `init`, but the M4 image has
//! none, so `init` links the verifier itself.

use tessera_abi::app::{Grant, ServerKind, MAX_GRANTS};
use tessera_abi::manifest::{ComponentId, Manifest};
use tessera_abi::package::{self, TrustedKeys};
use tessera_init_core::admission::{self, Candidate, ServerPorts};
use tessera_init_core::grants::{self, BoardOffer, Plan};
use tessera_init_core::lifecycle::{self, Event, Status};
use tessera_init_core::supervisor::{Decision, Failure, FailureLog, Health, POLICY};
use tessera_rt::{
    cap_delete, cap_derive, cap_grant, cap_revoke, exit_record, println, uptime_micros, wait, Ended, Error, Handle,
    Rights,
};

use crate::Memory;

/// The servers apps can be granted: `init`'s endpoint to each that runs.
#[derive(Clone, Copy)]
pub struct Servers {
    /// The UART server (UART 0).
    pub uart: Option<Handle>,
    /// The GPIO server (the board's GPIO blocks).
    pub gpio: Option<Handle>,
}

impl Servers {
    fn endpoint(&self, kind: ServerKind) -> Option<Handle> {
        match kind {
            ServerKind::UART => self.uart,
            ServerKind::GPIO => self.gpio,
            _ => None,
        }
    }
}

/// What apps get on this image: it runs on a real-time core, grants UART 0
/// if the UART server runs and the board's GPIO pins if the GPIO server
/// does, and has no network or Pluton server (docs/mt3620.md, "Apps").
pub fn offer(servers: &Servers) -> BoardOffer {
    let pins = tessera_m_programs::board::GPIO_BLOCKS.iter().fold(0, |pins, (_, _, block)| pins | block.mask());
    BoardOffer {
        name: env!("TESSERA_M_BOARD_NAME"),
        gpio_pins: if servers.gpio.is_some() { pins } else { 0 },
        uarts: u32::from(servers.uart.is_some()),
        wifi: false,
        max_mutable_storage_kib: 0,
        real_time: true,
        network: false,
        pluton: false,
    }
}

/// Most apps `init` manages on the M4 (the board's app slots bound it
/// further).
const MAX_APPS: usize = 20;
/// Each app's heap: a power of two, placed after its start information.
pub const HEAP_BYTES: u32 = 16 * 1024;
/// The priority apps run at (below `init`).
const APP_PRIORITY: u32 = 1;

/// One package of the boot image and where it is in its life.
#[derive(Clone, Copy)]
struct App<'a> {
    name: &'a str,
    elf: &'a [u8],
    component_id: ComponentId,
    plan: Plan,
    status: Status,
    slot: Handle,
    process: Handle,
    /// `init`'s badged endpoint per grant of the running app (deleted when
    /// it ends).
    minted: [Handle; MAX_MINTED],
    health: Health,
}

/// Most servers one app is granted.
const MAX_MINTED: usize = 4;

/// The apps of the boot image, as `init` manages them.
pub struct Apps<'a> {
    apps: [Option<App<'a>>; MAX_APPS],
    servers: Servers,
    log: FailureLog,
    /// Packages refused because the table was full (not in `apps`).
    unmanaged: usize,
    /// The boot image's frame, for apps whose code runs in place.
    code: tessera_loader::identity::BootImageFrame,
}

impl<'a> Apps<'a> {
    /// Reads every package of the boot image and checks each on its own;
    /// a refusal is one log line.
    pub fn check(memory: &'a Memory, servers: Servers) -> Result<Apps<'a>, Error> {
        let mut apps =
            Apps { apps: [None; MAX_APPS], servers, log: FailureLog::new(), unmanaged: 0, code: memory.frame };
        let offer = offer(&servers);
        let image = memory.image()?;
        let trusted = image.find(TRUSTED_KEYS).and_then(|entry| TrustedKeys::parse(entry.elf).ok());
        if trusted.is_none() {
            println!("no trusted keys in the boot image: every app will be refused");
        }
        let packages = image.iter().filter(|entry| entry.elf.starts_with(&tessera_abi::package::MAGIC));
        for (index, entry) in packages.enumerate() {
            if index >= MAX_APPS {
                println!("app '{}' refused: init manages at most {MAX_APPS} apps", entry.name);
                apps.unmanaged += 1;
                continue;
            }
            let mut app = App {
                name: entry.name,
                elf: &[],
                component_id: ComponentId::NIL,
                plan: Plan::default(),
                status: Status::Refused,
                slot: Handle::NULL,
                process: Handle::NULL,
                minted: [Handle::NULL; MAX_MINTED],
                health: Health::new(),
            };
            let checked = check_one(memory, &offer, trusted.as_ref(), entry.elf).and_then(|checked| {
                // A slot carries one app: revoking it on a restart must not
                // take another app with it.
                let holder =
                    apps.apps.iter().flatten().find(|other| other.status == Status::Checked && other.slot == checked.3);
                holder.map_or(Ok(checked), |holder| Err(Reason::SlotTaken(holder.name)))
            });
            match checked {
                Ok((elf, component_id, plan, slot)) => {
                    (app.elf, app.component_id, app.plan, app.slot) = (elf, component_id, plan, slot);
                    app.status = Status::Checked;
                }
                Err(reason) => println!("app '{}' refused: {}", entry.name, reason),
            }
            apps.apps[index] = Some(app);
        }
        apps.admit();
        Ok(apps)
    }

    /// Admission over every checked app, in boot-image order.
    // Not inlined: its lists are large, and apart its frame is never on
    // the stack with the supervisor's.
    #[inline(never)]
    fn admit(&mut self) {
        let entries = self.apps.iter().enumerate().filter_map(|(index, app)| {
            let app = app.filter(|app| app.status == Status::Checked)?;
            let ports = ServerPorts::NONE;
            Some((index, Candidate { name: app.name, component_id: app.component_id, plan: app.plan, ports }))
        });
        let mut refused = [None; MAX_APPS];
        admission::admit_places::<MAX_APPS>(entries, |index, conflict| refused[index] = Some(conflict));
        for (app, conflict) in self.apps.iter_mut().zip(refused) {
            if let (Some(app), Some(conflict)) = (app.as_mut(), conflict) {
                println!("app '{}' refused: {}", app.name, conflict);
                app.status = app.status.after(Event::Refused);
            }
        }
    }

    /// Starts every admitted app and supervises them until none is left
    /// to run or restart (each finished, held, refused or failed), or
    /// until `until` (microseconds of uptime) if given. Apps that run
    /// forever keep `init` here for as long as they do.
    pub fn run(&mut self, until: Option<u64>) {
        let started = (0..MAX_APPS).filter(|&index| self.launch(index)).count();
        let refused = self.refused();
        let failed = self.count(Status::Failed);
        println!("{started} apps started, {refused} refused, {failed} could not be started");
        loop {
            let now = uptime_micros();
            for index in 0..MAX_APPS {
                if self.apps[index].is_some_and(|app| app.status.restart_due(now)) {
                    self.launch(index);
                }
            }
            let statuses = self.apps.iter().flatten().map(|app| app.status);
            if statuses.clone().all(Status::is_final) {
                break;
            }
            if until.is_some_and(|until| now >= until) {
                let running = self.count(Status::Running);
                println!("stopped supervising the apps at the deadline, {running} still running");
                break;
            }
            let wake = lifecycle::next_wake(statuses, until);
            // Below `u32::MAX`, which `wait` takes as "forever".
            let timeout = wake.map(|at| at.saturating_sub(now).min(u64::from(u32::MAX - 1)) as u32);
            match wait(None, timeout) {
                Ok((process, ended)) => self.ended(process, ended),
                Err(Error::TimedOut) => {}
                Err(Error::NotFound) => tessera_rt::sleep_micros(timeout.unwrap_or(1000)),
                Err(error) => {
                    println!("wait failed: {}", error.name());
                    break;
                }
            }
        }
        println!(
            "apps: {} finished, {} held, {} refused, {} could not be started; failure log: {} crashes",
            self.count(Status::Finished),
            self.count(Status::Held),
            self.refused(),
            self.count(Status::Failed),
            self.log.total()
        );
    }

    /// Loads app `index` into its slot and starts it, if it is admitted or
    /// due to restart; true if it started.
    fn launch(&mut self, index: usize) -> bool {
        let code = self.code;
        let Some(app) = self.apps[index].as_mut() else { return false };
        if app.status != Status::Checked && app.status.restart_at().is_none() {
            return false;
        }
        let servers = self.servers;
        let (plan, minted) = (app.plan, &mut app.minted);
        // One endpoint per server the plan grants, badged with its mask:
        // `init` keeps the badged copy, the app gets a copy with SEND only.
        let grant = |process: Handle, list: &mut [Grant; MAX_GRANTS]| {
            let mut count = 0;
            for (server, badge) in plan.badges().filter(|&(_, badge)| badge != 0) {
                let endpoint = servers.endpoint(server.kind).ok_or(Error::NotFound)?;
                let kept = minted.get_mut(count).ok_or(Error::InvalidArgument)?;
                let badged = cap_derive(endpoint, Rights::SEND | Rights::GRANT, badge)?;
                *kept = badged;
                let handle = cap_grant(badged, process, Rights::SEND)?;
                let entry = list.get_mut(count).ok_or(Error::InvalidArgument)?;
                *entry = Grant { server: server.kind, slot: handle.index() as u16 };
                count += 1;
            }
            Ok(count)
        };
        match tessera_loader::identity::start_app(
            app.slot,
            Some(code),
            app.name,
            app.elf,
            HEAP_BYTES,
            APP_PRIORITY,
            grant,
        ) {
            Ok(placed) => {
                app.process = placed.process;
                app.status = app.status.after(Event::Started);
                let at = tessera_rt::cap_object(app.slot).map_or(0, |(base, _)| base);
                match placed.code_in_place {
                    Some(code) => {
                        println!(
                            "app '{}' started in its slot at {at:#010x}, its code in place at {code:#010x}",
                            app.name
                        )
                    }
                    None => println!("app '{}' started in its slot at {at:#010x}", app.name),
                }
                true
            }
            Err(error) => {
                println!("app '{}' could not be started: {}", app.name, error.name());
                let _ = cap_revoke(app.slot);
                unmint(&mut app.minted);
                app.status = app.status.after(Event::StartFailed);
                false
            }
        }
    }

    /// Handles the end of child `process`: records a crash and decides a
    /// restart, or notes that the app finished.
    fn ended(&mut self, process: Handle, ended: Ended) {
        let found = self.apps.iter_mut().flatten().find(|app| app.status == Status::Running && app.process == process);
        let Some(app) = found else { return };
        let record = exit_record().unwrap_or_default();
        let now = uptime_micros();
        // Everything it was made of goes back to its slot, and its
        // servers' badged endpoints go.
        let _ = cap_revoke(app.slot);
        unmint(&mut app.minted);
        if ended == Ended::Exited(0) {
            println!("app '{}' finished (exit 0); not restarted", app.name);
            app.status = app.status.after(Event::Exited);
            return;
        }
        let failure = self.log.record(Failure::new(app.name, app.component_id, record, now, app.health.restarts()));
        println!("{failure}");
        let decision = app.health.crashed(now, &POLICY);
        match decision {
            Decision::RestartAt(at) => println!("app '{}' restarts in {} ms", app.name, (at - now) / 1000),
            Decision::Hold => println!(
                "app '{}' held: {} crashes within {} s; not restarted",
                app.name,
                app.health.recent_crashes(),
                POLICY.window_us / 1_000_000
            ),
        }
        app.status = app.status.after(Event::Crashed(decision));
    }

    fn count(&self, status: Status) -> usize {
        self.apps.iter().flatten().filter(|app| app.status == status).count()
    }

    /// Every package refused: those in the table and those it had no
    /// room for (each had its own refusal line).
    fn refused(&self) -> usize {
        self.count(Status::Refused) + self.unmanaged
    }
}

/// Deletes `init`'s badged endpoints of an app that ended.
fn unmint(minted: &mut [Handle; MAX_MINTED]) {
    for handle in minted.iter_mut().filter(|handle| **handle != Handle::NULL) {
        let _ = cap_delete(*handle);
        *handle = Handle::NULL;
    }
}

/// The boot-image entry with the keys packages must be signed with.
const TRUSTED_KEYS: &str = "trusted-keys";

/// Why a package is refused on its own.
enum Reason<'a> {
    Package(package::Refused),
    /// The boot image has no (readable) trusted keys.
    NoTrustedKeys,
    Manifest(tessera_abi::manifest::DecodeError),
    Board(grants::Refusal),
    /// Its ELF is not linked at one of the app slots `init` was given.
    NoSlot,
    /// Its slot is this earlier app's.
    SlotTaken(&'a str),
}

impl core::fmt::Display for Reason<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Reason::Package(refused) => write!(f, "{refused}"),
            Reason::NoTrustedKeys => write!(f, "no trusted keys to check its signature with"),
            Reason::Manifest(error) => write!(f, "bad manifest: {error}"),
            Reason::Board(refusal) => write!(f, "{refusal}"),
            Reason::NoSlot => write!(f, "its program is not linked at an app slot of this board"),
            Reason::SlotTaken(holder) => write!(f, "its program is linked at the slot of app '{holder}'"),
        }
    }
}

/// Checks one package on its own: it parses and is signed with a trusted
/// key, its manifest decodes and this image can grant what it asks, and
/// its program is linked at a slot.
// Not inlined: the signature check's frame is large, and apart it is never
// on the stack with the supervisor's.
#[inline(never)]
fn check_one<'a>(
    memory: &Memory,
    offer: &BoardOffer,
    trusted: Option<&TrustedKeys<'_>>,
    bytes: &'a [u8],
) -> Result<(&'a [u8], ComponentId, Plan, Handle), Reason<'a>> {
    let trusted = trusted.ok_or(Reason::NoTrustedKeys)?;
    let package = package::parse_and_verify(bytes, trusted).map_err(Reason::Package)?;
    let manifest = Manifest::decode(package.manifest()).map_err(Reason::Manifest)?;
    let plan = grants::plan(&manifest, offer).map_err(Reason::Board)?;
    // Only an app slot: a program slot (the UART server's) is not an app's
    // to take, nor to have revoked when its start fails.
    let slot = memory.slot_for(package.elf()).ok_or(Reason::NoSlot)?;
    let at = tessera_rt::cap_object(slot).map_or(0, |(base, _)| base);
    if !(tessera_m_programs::board::APP_SLOTS.0..tessera_m_programs::board::APP_SLOTS.1).contains(&at) {
        return Err(Reason::NoSlot);
    }
    Ok((package.elf(), manifest.component_id(), plan, slot))
}
