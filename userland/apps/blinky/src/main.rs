//! Blinky: toggles the LED on the GPIO pin its manifest grants, twice a
//! second, and reads the pin back each time. It keeps the levels it read
//! in a `String` on its heap and logs them every eight ticks.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
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
    // What the pin read, one letter per tick, on the heap.
    let mut history = String::with_capacity(8);
    for tick in 1.. {
        timer.wait();
        led.toggle()?;
        let read_back = led.read()?;
        log!("blinky: tick {}: LED {} (reads {})", tick, led.level(), read_back);
        if read_back != led.level() {
            return Err(Error::InvalidArgument);
        }
        history.push(if read_back == Level::High { 'H' } else { 'L' });
        if history.len() == 8 {
            log!("blinky: last 8 reads {} (kept on its heap, {} bytes free)", history, tessera_sdk::heap::free());
            history.clear();
        }
    }
    Ok(())
}
