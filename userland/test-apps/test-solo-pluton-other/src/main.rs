//! Test fixture for the Pluton security server (the `pluton` QEMU test):
//! the same commands as `test-solo-pluton` (it includes its
//! `commands.rs`), as another app: another ComponentId and no
//! `DeviceAuthentication`, so it must not unseal that app's data nor sign.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

#[path = "../../test-solo-pluton/src/commands.rs"]
mod commands;

tessera_sdk::app!(main);

fn main(app: tessera_sdk::App) -> Result<(), tessera_sdk::Error> {
    commands::run(app, "pluton-other")
}
