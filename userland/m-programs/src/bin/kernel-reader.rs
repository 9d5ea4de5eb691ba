//! Reads the kernel's RAM (its boot arguments name a kernel word): must end
//! in a MemManage fault.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    tessera_m_programs::probe(start, tessera_m_programs::Attempt::Read)
}
