//! The Tessera app SDK.
//!
//! An app is a Rust binary with an `app_manifest.json` beside its
//! `Cargo.toml` (see `userland/apps/` and the README). `init` starts it
//! holding exactly what the manifest grants; this crate is how the app uses
//! that: [`gpio`], [`uart`], [`log!`], [`time`] and one [`Error`] type.
//! Apps use only safe Rust (`#![forbid(unsafe_code)]`).
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
pub mod log;
pub mod time;
pub mod uart;

pub use error::Error;

use tessera_abi::app::StartWord;

/// What the app was started with: its grants, as `init` passed them.
#[derive(Clone, Copy, Debug)]
pub struct App {
    start: StartWord,
}

impl App {
    /// Reads the start word `init` passed in `r0`. A process not started as
    /// an app (no start word) holds nothing here.
    pub fn from_start(start: tessera_rt::Start) -> App {
        App { start: StartWord::decode(start.argument).unwrap_or_default() }
    }

    /// The GPIO pins the manifest's `Gpio` granted; `Err(NotGranted)` if it
    /// has no `Gpio`.
    pub fn gpio(&self) -> Result<gpio::Gpio, Error> {
        self.start.gpio.map(gpio::Gpio::new).ok_or(Error::NotGranted("Gpio"))
    }

    /// UART `number` (as the board numbers them: QEMU virt has UART 0);
    /// `Err(NotGranted)` without a `Uart` grant, `Err(Denied)` if the grant
    /// does not include this UART.
    pub fn uart(&self, number: u32) -> Result<uart::Uart, Error> {
        let endpoint = self.start.uart.ok_or(Error::NotGranted("Uart"))?;
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
