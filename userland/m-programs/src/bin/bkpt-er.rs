//! Loaded by `init`: executes a breakpoint set up as a semihosting exit
//! call. With no debugger attached it is a fault of this process; it must
//! not stop the machine.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

tessera_rt::entry!(main);

fn main(_start: tessera_rt::Start) -> u32 {
    tessera_m_programs::breakpoint()
}
