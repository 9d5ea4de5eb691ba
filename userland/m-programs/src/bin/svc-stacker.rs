//! Loaded by `init`: makes a syscall with its stack pointer in the null
//! page, so the hardware cannot stack the frame; the kernel must end it
//! and nothing of it may reach the process that runs next (`init`, whose
//! wait for it must end with the fault).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

tessera_rt::entry!(main);

fn main(_start: tessera_rt::Start) -> u32 {
    tessera_m_programs::svc_with_stack_at(0x1000)
}
