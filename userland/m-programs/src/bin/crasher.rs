//! Loaded by `init` itself (not by the kernel) into a slot of its own:
//! says which run it is (its argument) and reads the null page, a fault
//! that ends it; `init` restarts it with back-off, then holds it.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    tessera_rt::println!("run {}: started, reading 0x10", start.argument);
    tessera_m_programs::probe_at(0x10, tessera_m_programs::Attempt::Read)
}
