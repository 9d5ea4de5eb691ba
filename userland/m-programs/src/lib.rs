//! The programs the M4 kernel starts itself (docs/mt3620.md step 3.7),
//! linked at their slots (build.rs): `init`, the root task; `echo`, an IPC
//! server `init` calls; and three probes that try what they must not (read
//! another program's memory, read the kernel's, write a device they were
//! not given), each of which must end in a contained MPU fault.
#![no_std]

use tessera_rt::uptime_micros;

/// `echo`'s protocol: add the two words; `init` is done with its rounds
/// (the answer: how many rounds `echo` made).
pub const ADD: u32 = 1;
pub const DONE: u32 = 2;

/// The busy rounds `init` and `echo` each make, and how long each takes:
/// together longer than a time slice, so only preemption interleaves them.
pub const ROUNDS: u32 = 6;
pub const ROUND_MICROS: u64 = 4_000;

/// Spins (no syscall but the clock) for `micros`.
pub fn spin(micros: u64) {
    let start = uptime_micros();
    while uptime_micros() - start < micros {
        core::hint::spin_loop();
    }
}

/// The address in a probe's boot arguments (`0x` and hex digits).
pub fn address_argument(arguments: &str) -> Option<u32> {
    let digits = arguments.trim().strip_prefix("0x")?;
    u32::from_str_radix(digits, 16).ok()
}

/// What a probe tries at the address its boot arguments name.
#[derive(Clone, Copy)]
pub enum Attempt {
    Read,
    Write(u32),
}

/// A probe's body: tries `attempt` at the address in its boot arguments,
/// which the MPU must refuse (the kernel ends the probe with a MemManage
/// fault). Returns only if the access went through: then it says so and
/// gives 1.
pub fn probe(start: tessera_rt::Start, attempt: Attempt) -> u32 {
    let Some(address) = address_argument(tessera_rt::boot_arguments(start)) else {
        tessera_rt::println!("no address in the boot arguments");
        return 2;
    };
    let pointer = address as *mut u32;
    match attempt {
        Attempt::Read => {
            // SAFETY: none intended: this is the access the MPU must
            // refuse. Were it allowed, it would read a word of memory this
            // process was never given, which the kernel must prevent.
            let word = unsafe { pointer.read_volatile() };
            tessera_rt::println!("read {word:#010x} at {address:#010x}: isolation BROKEN");
        }
        Attempt::Write(value) => {
            // SAFETY: as for the read: a write the MPU must refuse.
            unsafe { pointer.write_volatile(value) };
            tessera_rt::println!("wrote {value:#x} at {address:#010x}: isolation BROKEN");
        }
    }
    1
}
