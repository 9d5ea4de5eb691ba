//! Test fixture: its manifest, resolved against the MT3620 hardware
//! definition, asks for an I2C master. QEMU virt has none, so `init` must
//! refuse to start it, naming `I2cMaster`; this code never runs there.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

fn main(_app: App) -> Result<(), Error> {
    log!("test-needs-i2c: started, which init should have refused");
    Err(Error::InvalidArgument)
}
