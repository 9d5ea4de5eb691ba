//! Runs when every other program waits, after `init` and `echo` used the
//! FPU: it has never used it, so its registers must read zero, not what
//! another process left there.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

tessera_rt::entry!(main);

fn main(_start: tessera_rt::Start) -> u32 {
    if tessera_m_programs::fpu_clear() {
        tessera_rt::println!("the FPU registers read zero");
        0
    } else {
        tessera_rt::println!("the FPU registers hold another process's values: isolation BROKEN");
        1
    }
}
