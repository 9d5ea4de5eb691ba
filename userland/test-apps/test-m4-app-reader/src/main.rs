//! Test fixture (M4 only, `qemu:mps2-boot`): an app that reads another
//! program's code, `init`'s, in the first program slot of `mps2-an386`
//! (every app and program has its own slot; user addresses are physical).
//! No region grants it, so the MPU must stop the read: the kernel ends
//! this app with a MemManage fault and the supervisor restarts it, then
//! holds it.
#![no_std]
#![no_main]

use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The board's description, as constants (`tessera_app_build::m_board_constants`).
#[allow(dead_code)]
mod board {
    include!(concat!(env!("OUT_DIR"), "/board.rs"));
}

/// `init`'s first code page (the board description's `programs.base`).
const INIT_CODE: usize = board::PROGRAMS_BASE as usize;

fn main(_app: App) -> Result<(), Error> {
    log!("test-m4-app-reader: reading {INIT_CODE:#x}");
    // SAFETY: none intended: the read the MPU must refuse. Were it allowed,
    // it would only read a word.
    let word = unsafe { core::ptr::read_volatile(INIT_CODE as *const u32) };
    log!("test-m4-app-reader: read {word:#x}: isolation BROKEN");
    Ok(())
}
