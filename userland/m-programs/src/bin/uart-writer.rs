//! Writes the console UART's data register, a device it was not given
//! (its boot arguments name it): must end in a MemManage fault.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    tessera_m_programs::probe(start, tessera_m_programs::Attempt::Write(u32::from(b'!')))
}
