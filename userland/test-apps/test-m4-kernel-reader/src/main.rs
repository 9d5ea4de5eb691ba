//! Test fixture (M4 only, `qemu:mps2-boot`): an app that reads a word of
//! the M4 kernel's data, at the start of `mps2-an386`'s RAM. No region
//! grants it, so the MPU must stop the read: the kernel ends this app with
//! a MemManage fault and the supervisor restarts it, then holds it.
#![no_std]
#![no_main]

use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The board's description, as constants (`tessera_app_build::m_board_constants`).
#[allow(dead_code)]
mod board {
    include!(concat!(env!("OUT_DIR"), "/board.rs"));
}

/// The kernel's `.data`, at the start of RAM (the board description's
/// `memory.ram_base`).
const KERNEL_DATA: usize = board::RAM_BASE as usize;

fn main(_app: App) -> Result<(), Error> {
    log!("test-m4-kernel-reader: reading {KERNEL_DATA:#x}");
    // SAFETY: none intended: the read the MPU must refuse. Were it allowed,
    // it would only read a word.
    let word = unsafe { core::ptr::read_volatile(KERNEL_DATA as *const u32) };
    log!("test-m4-kernel-reader: read {word:#x}: isolation BROKEN");
    Ok(())
}
