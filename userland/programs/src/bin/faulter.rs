//! Demo: a misbehaving process. It writes to kernel memory; the kernel ends
//! it and everything else keeps running.
#![no_std]
#![no_main]

use tessera_programs::probe::KERNEL_ADDRESS;
use tessera_rt::println;

tessera_rt::entry!(main);

fn main(_start: tessera_rt::Start) -> u32 {
    println!("faulter: writing to kernel memory at {:#010x}", KERNEL_ADDRESS);
    // SAFETY: none: this is the point. The kernel's pages are not accessible
    // from User mode, so the MMU stops the write and the kernel ends us.
    unsafe { core::ptr::write_volatile(KERNEL_ADDRESS as *mut u32, 0xDEAD) };
    println!("faulter: the write went through (this must never print)");
    1
}
