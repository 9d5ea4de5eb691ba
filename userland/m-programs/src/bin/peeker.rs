//! Reads another program's memory (its boot arguments name `echo`'s code):
//! must end in a MemManage fault.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    tessera_m_programs::probe(start, tessera_m_programs::Attempt::Read)
}
