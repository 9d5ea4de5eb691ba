//! Test fixture for the Pluton security server (the `pluton` QEMU test):
//! runs the app requests the host sends on the UART (`commands.rs`).
//! Its manifest grants `DeviceAuthentication`. Started only by name
//! (`test-solo-` apps are never started with the other fixtures).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

mod commands;

tessera_sdk::app!(main);

fn main(app: tessera_sdk::App) -> Result<(), tessera_sdk::Error> {
    commands::run(app, "pluton-probe")
}
