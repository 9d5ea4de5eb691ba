//! Blinky: toggles the LED on the GPIO pin its manifest grants, twice a
//! second, and reads the pin back each time.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::gpio::Level;
use tessera_sdk::time::{Duration, Timer};
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The LED's pin: `$QEMU_VIRT_GPIO5` in app_manifest.json.
const LED: u32 = 5;

fn main(app: App) -> Result<(), Error> {
    let mut led = app.gpio()?.output(LED, Level::Low)?;
    log!("blinky: LED on pin {} set up", LED);
    let mut timer = Timer::every(Duration::from_millis(250));
    for tick in 1.. {
        timer.wait();
        led.toggle()?;
        let read_back = led.read()?;
        log!("blinky: tick {}: LED {} (reads {})", tick, led.level(), read_back);
        if read_back != led.level() {
            return Err(Error::InvalidArgument);
        }
    }
    Ok(())
}
