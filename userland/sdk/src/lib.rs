//! The Tessera app SDK.
//!
//! An app is a Rust binary with an `app_manifest.json` beside its
//! `Cargo.toml` (see `userland/apps/` and the README). `init` starts it
//! holding exactly what the manifest grants; this crate is how the app uses
//! that: [`gpio`], [`uart`], [`pluton`] (the device's identity,
//! randomness, sealing, device authentication), [`net`] (TCP connections
//! to the hosts the manifest allows), [`log!`], [`time`], a heap ([`heap`]: `alloc`'s
//! `Vec`, `String`, `Box` work after `extern crate alloc;`) and one
//! [`Error`] type. Apps use only safe Rust (`#![forbid(unsafe_code)]`).
//!
//! `init` tells an app where its heap is and which servers it may call in
//! its start information (`tessera_abi::app::StartInfo`): a list of
//! (server kind, capability slot) entries. Each server has a module here
//! and an accessor on [`App`]; a new server is a new module and a new
//! `ServerKind`, not a new start layout.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! #![forbid(unsafe_code)]
//!
//! use tessera_sdk::{gpio::Level, log, time, App, Error};
//!
//! tessera_sdk::app!(main);
//!
//! fn main(app: App) -> Result<(), Error> {
//!     let mut led = app.gpio()?.output(5, Level::Low)?;
//!     loop {
//!         led.toggle()?;
//!         log!("blinky: LED {}", led.level());
//!         time::sleep(time::Duration::from_millis(500));
//!     }
//! }
//! ```
#![no_std]
#![forbid(unsafe_code)]

pub mod error;
pub mod gpio;
pub mod heap;
pub mod log;
pub mod net;
pub mod pluton;
pub mod time;
pub mod uart;

pub use error::Error;

use tessera_abi::app::{ServerKind, StartInfo};
use tessera_rt::Handle;

/// What the app was started with: its grants, as `init` listed them.
#[derive(Clone, Copy, Debug)]
pub struct App {
    start: Option<StartInfo<'static>>,
}

impl App {
    /// Reads the start information `init` gave the app and hands its heap
    /// to the allocator. A process not started as an app (no start
    /// information) holds nothing here and has no heap.
    pub fn from_start(start: tessera_rt::Start) -> App {
        let start = tessera_rt::app::start_info(start).ok();
        if let Some(info) = &start {
            tessera_rt::app::heap::init(info);
        }
        App { start }
    }

    /// The endpoint of the server of `kind` the app was granted, if any.
    pub fn grant(&self, kind: ServerKind) -> Option<Handle> {
        self.start.and_then(|info| info.grant(kind))
    }

    /// The GPIO pins the manifest's `Gpio` granted; `Err(NotGranted)` if it
    /// has no `Gpio`.
    pub fn gpio(&self) -> Result<gpio::Gpio, Error> {
        self.grant(ServerKind::GPIO).map(gpio::Gpio::new).ok_or(Error::NotGranted("Gpio"))
    }

    /// The Pluton security server (every app started by `init` has it);
    /// `Err(NotGranted)` in a process that was not started as an app.
    pub fn pluton(&self) -> Result<pluton::Pluton, Error> {
        let info = self.start.ok_or(Error::NotGranted("Pluton"))?;
        let buffer = tessera_rt::app::pluton_buffer(&info).ok_or(Error::NotGranted("Pluton"))?;
        let endpoint = info.grants().filter(|grant| grant.server == ServerKind::PLUTON).find(|grant| {
            tessera_rt::cap_info(grant.handle()).is_ok_and(|cap| cap.kind == tessera_abi::ObjectType::Endpoint)
        });
        let endpoint = endpoint.ok_or(Error::NotGranted("Pluton"))?;
        Ok(pluton::Pluton::new(endpoint.handle(), buffer))
    }

    /// The network server, for an app whose manifest asks for the network
    /// (`AllowedConnections`); `Err(NotGranted("AllowedConnections"))`
    /// without it.
    ///
    /// ```ignore
    /// let net = app.net()?;
    /// let stream = tessera_sdk::net::TcpStream::connect(&net, [10, 0, 2, 2], 8080)?;
    /// ```
    pub fn net(&self) -> Result<net::Net, Error> {
        let not_granted = Error::NotGranted("AllowedConnections");
        let info = self.start.ok_or(not_granted)?;
        let window = tessera_rt::app::net_window(&info).ok_or(not_granted)?;
        let endpoint = info.grants().filter(|grant| grant.server == ServerKind::NET).find(|grant| {
            tessera_rt::cap_info(grant.handle()).is_ok_and(|cap| cap.kind == tessera_abi::ObjectType::Endpoint)
        });
        let endpoint = endpoint.ok_or(not_granted)?;
        // The readiness notification the server signals (waits use it).
        let ready = info.grants().filter(|grant| grant.server == ServerKind::NET).find(|grant| {
            tessera_rt::cap_info(grant.handle()).is_ok_and(|cap| {
                cap.kind == tessera_abi::ObjectType::Notification && cap.rights.contains(tessera_abi::Rights::WAIT)
            })
        });
        Ok(net::Net::new(endpoint.handle(), window, ready.map(|grant| grant.handle())))
    }

    /// UART `number` (as the board numbers them: QEMU virt has UART 0);
    /// `Err(NotGranted)` without a `Uart` grant, `Err(Denied)` if the grant
    /// does not include this UART, `Err(InvalidArgument)` for a number
    /// above 255, which no board has.
    pub fn uart(&self, number: u32) -> Result<uart::Uart, Error> {
        let endpoint = self.grant(ServerKind::UART).ok_or(Error::NotGranted("Uart"))?;
        uart::Uart::new(endpoint, number)
    }
}

/// Declares the app's `main`: `fn main(app: App) -> Result<(), Error>`.
/// Returning `Ok` exits with code 0; an `Err` is logged and exits with
/// code 1 (which `init`'s supervisor counts as a failure).
#[macro_export]
macro_rules! app {
    ($main:path) => {
        $crate::__rt::entry!(__tessera_app_main);
        fn __tessera_app_main(start: $crate::__rt::Start) -> u32 {
            let main: fn($crate::App) -> Result<(), $crate::Error> = $main;
            match main($crate::App::from_start(start)) {
                Ok(()) => 0,
                Err(error) => {
                    $crate::log!("app error: {}", error);
                    1
                }
            }
        }
    };
}

#[doc(hidden)]
pub use tessera_rt as __rt;
