//! Test fixture (M4 only, `qemu:mps2-boot`): an app that writes to the
//! kernel's console, `mps2-an386`'s first CMSDK UART, which no manifest
//! can grant. No region grants it, so the MPU must stop the write: the
//! kernel ends this app with a MemManage fault and the supervisor restarts
//! it, then holds it.
#![no_std]
#![no_main]

use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The board's description, as constants (`tessera_app_build::m_board_constants`).
#[allow(dead_code)]
mod board {
    include!(concat!(env!("OUT_DIR"), "/board.rs"));
}

/// The console UART's data register (the board description's
/// `kernel_devices.uart`).
const CONSOLE_DATA: usize = board::UART as usize;

fn main(_app: App) -> Result<(), Error> {
    log!("test-m4-uart-writer: writing to {CONSOLE_DATA:#x}");
    // SAFETY: none intended: the write the MPU must refuse. Were it
    // allowed, it would put one byte on the console.
    unsafe { core::ptr::write_volatile(CONSOLE_DATA as *mut u32, u32::from(b'!')) };
    log!("test-m4-uart-writer: wrote to the console: isolation BROKEN");
    Ok(())
}
