//! GPIO pins, through the GPIO server.
//!
//! The manifest's `"Gpio": [5]` gives the app one capability to the GPIO
//! server whose badge is the pin mask `1 << 5`; the server refuses any
//! other pin with [`Error::Denied`]. Several apps share one GPIO block.
//!
//! ```ignore
//! let gpio = app.gpio()?;                       // Err(NotGranted) without "Gpio"
//! let mut led = gpio.output(5, Level::Low)?;    // pin 5 drives low
//! led.set(Level::High)?;
//! assert_eq!(led.read()?, Level::High);
//! assert_eq!(gpio.output(4, Level::Low).err(), Some(Error::Denied));
//! ```

use core::fmt;

use tessera_abi::app::gpio::{CONFIGURE_OUTPUT, READ, WRITE};
use tessera_abi::Handle;

use crate::error::{request, Error};

/// A pin's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Driven or read as 0.
    Low,
    /// Driven or read as 1.
    High,
}

impl Level {
    /// The other level.
    pub fn toggled(self) -> Level {
        match self {
            Level::Low => Level::High,
            Level::High => Level::Low,
        }
    }

    fn word(self) -> u32 {
        u32::from(self == Level::High)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Low => "low",
            Level::High => "high",
        })
    }
}

/// The app's GPIO grant.
#[derive(Clone, Copy, Debug)]
pub struct Gpio {
    endpoint: Handle,
}

impl Gpio {
    pub(crate) fn new(endpoint: Handle) -> Gpio {
        Gpio { endpoint }
    }

    /// Makes `pin` an output driving `level`.
    pub fn output(&self, pin: u32, level: Level) -> Result<OutputPin, Error> {
        request(self.endpoint, CONFIGURE_OUTPUT, [pin, level.word(), 0, 0])?;
        Ok(OutputPin { gpio: *self, pin, level })
    }

    /// Reads `pin`'s level.
    pub fn read(&self, pin: u32) -> Result<Level, Error> {
        let words = request(self.endpoint, READ, [pin, 0, 0, 0])?;
        Ok(if words[0] != 0 { Level::High } else { Level::Low })
    }
}

/// A pin configured as an output.
#[derive(Debug)]
pub struct OutputPin {
    gpio: Gpio,
    pin: u32,
    level: Level,
}

impl OutputPin {
    /// Drives the pin to `level`.
    pub fn set(&mut self, level: Level) -> Result<(), Error> {
        request(self.gpio.endpoint, WRITE, [self.pin, level.word(), 0, 0])?;
        self.level = level;
        Ok(())
    }

    /// Drives the pin to the other level.
    pub fn toggle(&mut self) -> Result<(), Error> {
        self.set(self.level.toggled())
    }

    /// The level the pin was last set to.
    pub fn level(&self) -> Level {
        self.level
    }

    /// Reads the pin back from the hardware.
    pub fn read(&self) -> Result<Level, Error> {
        self.gpio.read(self.pin)
    }

    /// The pin number.
    pub fn pin(&self) -> u32 {
        self.pin
    }
}
