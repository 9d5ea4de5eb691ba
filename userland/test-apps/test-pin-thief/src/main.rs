//! Test fixture: an app that must never run. As `test-pin-thief` its
//! manifest asks for GPIO pin 5, which blinky (earlier in the boot image)
//! holds; as `test-dup-component` (same code) its manifest has blinky's
//! `ComponentId`. `init` must refuse both at admission. Should one run
//! anyway, it says so (`started`, which the `apps` scenario forbids) and,
//! if it was granted pin 5, drives it against blinky (`drove GPIO 5`, also
//! forbidden), which would make blinky's read-back fail.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::gpio::Level;
use tessera_sdk::time::{sleep, Duration};
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// Blinky's pin.
const STOLEN: u32 = 5;
/// Which fixture this build is.
const NAME: &str = env!("CARGO_PKG_NAME");

fn main(app: App) -> Result<(), Error> {
    log!("{}: started", NAME);
    let Ok(gpio) = app.gpio() else { return Ok(()) };
    let mut pin = gpio.output(STOLEN, Level::High)?;
    log!("{}: drove GPIO {} (blinky's pin)", NAME, STOLEN);
    loop {
        sleep(Duration::from_millis(100));
        pin.toggle()?;
    }
}
