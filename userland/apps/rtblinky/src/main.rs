//! RtBlinky: the real-time sample. It toggles LED 1 red of the MT3620
//! reference board (GPIO 8, `$MT3620_GPIO8` in app_manifest.json) every
//! half second through the M4's GPIO server and reads the pin back each
//! time.
//! On QEMU's `mps2-an386` GPIO 8 is the FPGA I/O block's LED 0, so the
//! same build runs there (`cargo xtask qemu --board mps2-an386`); on a
//! board it goes into the image package (`cargo xtask mt3620 package --app
//! rtblinky`, with `"Gpio": [8]` in boards/mt3620/app_manifest.json).
//! `ApplicationType: RealTimeCapable` keeps it off the A7.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::gpio::Level;
use tessera_sdk::time::{Duration, Timer};
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// LED 1 red on the MT3620 RDB.
const LED: u32 = 8;

fn main(app: App) -> Result<(), Error> {
    let mut led = app.gpio()?.output(LED, Level::Low)?;
    log!("rtblinky: LED on GPIO {LED} set up");
    let mut timer = Timer::every(Duration::from_millis(500));
    for tick in 1u32.. {
        timer.wait();
        led.toggle()?;
        let read_back = led.read()?;
        if read_back != led.level() {
            log!("rtblinky: GPIO {LED} drives {} but reads {read_back}", led.level());
            return Err(Error::InvalidArgument);
        }
        // A line every fourth tick: the M4's console is slow.
        if tick % 4 == 0 {
            log!("rtblinky: tick {tick}: GPIO {LED} {} (reads {read_back})", led.level());
        }
    }
    Ok(())
}
