//! Test fixture (M4 only, `qemu:mps2-boot`, `qemu:mps2-mt3620-ram`): an
//! app granted GPIO 9, which on `mps2-an386` is the FPGA I/O block's LED 1
//! (where the MT3620 RDB has LED 1's green), drives it high and low through
//! the GPIO server and reads each level back from the device. The other
//! LED (GPIO 8, not granted: the `rtblinky` sample's) must be denied, and
//! GPIO 20 (not on the board) refused; then it finishes with 0.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::gpio::Level;
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The granted pin (`$MT3620_GPIO9` in app_manifest.json), the one beside
/// it, and one the board lacks.
const GRANTED: u32 = 9;
const OTHER: u32 = 8;
const ABSENT: u32 = 20;

fn main(app: App) -> Result<(), Error> {
    let gpio = app.gpio()?;
    let mut led = gpio.output(GRANTED, Level::High)?;
    let high = led.read()?;
    led.set(Level::Low)?;
    let low = led.read()?;
    log!("test-m4-gpio: pin {GRANTED} drove high and read {high}, drove low and read {low}");
    if (high, low) != (Level::High, Level::Low) {
        log!("test-m4-gpio: the pin did not read back what it drove: WRONG");
        return Err(Error::InvalidArgument);
    }
    let other = [gpio.output(OTHER, Level::High).err(), gpio.read(OTHER).err()];
    let absent = gpio.read(ABSENT).err();
    if other != [Some(Error::Denied); 2] || absent != Some(Error::InvalidArgument) {
        log!("test-m4-gpio: pin {OTHER} or {ABSENT} was not refused: isolation BROKEN");
        return Err(Error::InvalidArgument);
    }
    log!("test-m4-gpio: pin {OTHER} (not granted) denied, pin {ABSENT} (not on the board) refused");
    Ok(())
}
