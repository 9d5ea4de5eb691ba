//! Takes `turns::ROUNDS` turns at yielding, logging each in the page `init`
//! gives it, mapped at `turns::LOG_ADDRESS` (the `priority` scenario runs three at one
//! priority and checks they went round in order). Argument: its letter.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::turns::{LETTERS, LOG_ADDRESS, ROUNDS};
use tessera_rt::{find_initial_capability, println, yield_now, Mapping, ObjectType, Rights};

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    let letter = (start.argument & 0xFF) as u8;
    let Some(page) = find_initial_capability(ObjectType::Frame, Rights::READ | Rights::WRITE) else {
        println!("turns: no page to log in");
        return 1;
    };
    let Ok(log) = Mapping::first_page(page, LOG_ADDRESS, Rights::READ | Rights::WRITE) else {
        println!("turns: cannot map the log page");
        return 1;
    };
    for _ in 0..ROUNDS {
        let logged = log.read_u32(0);
        log.write_bytes(LETTERS + logged, &[letter]);
        log.write_u32(0, logged + 1);
        yield_now();
    }
    println!("turns {}: took {} turns", letter as char, ROUNDS);
    0
}
