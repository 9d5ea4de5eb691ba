//! The smallest program: proves a process starts, prints and exits.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

tessera_rt::entry!(main);

fn main(_start: tessera_rt::Start) -> u32 {
    tessera_rt::println!("hello: running in user mode");
    0
}
