//! A probe of the CPU state that is not in the saved registers: each
//! argument (see `cpustate` in lib.rs) checks that the thread registers,
//! the exclusive monitor and the GE bits are the process's own. Exits 0
//! when every check held. (`probe` tries the coprocessors.)
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::AtomicU32;
use tessera_programs::cpustate::*;
use tessera_rt::{println, set_thread_register, thread_register, yield_now};

tessera_rt::entry!(main);

/// Lives at the same virtual address in every process running this
/// program, so an exclusive monitor left open by one would match the
/// other's `strex`.
static SHARED_LOOKING: AtomicU32 = AtomicU32::new(0);

/// The user read-only thread register (TPIDRURO).
fn read_only_thread_register() -> u32 {
    let value: u32;
    // SAFETY: reading TPIDRURO is allowed in User mode and has no effects.
    unsafe { asm!("mrc p15, 0, {}, c13, c0, 3", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// The APSR's GE bits (19:16).
fn ge_bits() -> u32 {
    let value: u32;
    // SAFETY: reading the APSR has no effects.
    unsafe { asm!("mrs {}, apsr", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value & (0xF << 16)
}

fn set_ge_bits(bits: u32) {
    // SAFETY: writes only the APSR's flags, Q and GE bits (hence no
    // `preserves_flags`).
    unsafe { asm!("msr APSR_nzcvqg, {}", in(reg) bits, options(nomem, nostack)) };
}

fn load_exclusive() -> u32 {
    let value: u32;
    // SAFETY: an exclusive load of a static word of this program.
    unsafe {
        asm!("ldrex {}, [{}]", out(reg) value, in(reg) SHARED_LOOKING.as_ptr(), options(nostack, preserves_flags))
    };
    value
}

/// 0 if the exclusive store happened, 1 if it failed.
fn store_exclusive(value: u32) -> u32 {
    let status: u32;
    // SAFETY: an exclusive store to a static word of this program.
    unsafe {
        asm!(
            "strex {status}, {value}, [{address}]",
            status = out(reg) status,
            value = in(reg) value,
            address = in(reg) SHARED_LOOKING.as_ptr(),
            options(nostack, preserves_flags)
        )
    };
    status
}

/// Prints both thread registers; true if both are zero.
fn starts_clean(who: &str) -> bool {
    let (read_write, read_only) = (thread_register(), read_only_thread_register());
    println!("cpustate {}: at start TPIDRURW {:#010x}, TPIDRURO {:#010x}", who, read_write, read_only);
    read_write == 0 && read_only == 0
}

/// User mode reads the generic timer's counter (not its timers: `probe`)
/// and converts it to the kernel's clock: the uptime it gives lies
/// between two of the kernel's `Uptime` answers around it.
fn counter_is_the_kernels_clock() -> bool {
    let before = tessera_rt::kernel_uptime_micros();
    let counted = tessera_rt::counter_uptime_micros();
    let after = tessera_rt::kernel_uptime_micros();
    let between = counted.is_some_and(|counted| before <= counted && counted <= after);
    println!(
        "cpustate fresh: the counter's uptime {} between the kernel's",
        match (counted, between) {
            (None, _) => "cannot be read",
            (Some(_), true) => "lies",
            (Some(_), false) => "does NOT lie",
        }
    );
    between
}

fn main(start: tessera_rt::Start) -> u32 {
    let good = match start.argument {
        FIRST => {
            let mut good = starts_clean("first");
            set_thread_register(SECRET);
            set_ge_bits(GE_BITS);
            // Nothing between the `ldrex` and the `strex` but yields (no
            // printing: the console lock uses exclusives itself).
            let loaded = load_exclusive();
            for _ in 0..3 {
                yield_now();
            }
            let failed = store_exclusive(loaded.wrapping_add(1));
            let (kept, ge) = (thread_register(), ge_bits());
            println!("cpustate first: strex after switches {}", if failed == 1 { "failed" } else { "SUCCEEDED" });
            println!("cpustate first: own TPIDRURW {:#010x}, GE bits {:#x} after switches", kept, ge >> 16);
            good &= failed == 1 && kept == SECRET && ge == GE_BITS;
            good
        }
        SECOND => {
            // Runs while FIRST sits between its `ldrex` and `strex`.
            let mut good = starts_clean("second");
            let ge = ge_bits();
            println!("cpustate second: GE bits {:#x} at start", ge >> 16);
            let failed = store_exclusive(7);
            println!(
                "cpustate second: strex without its own ldrex {}",
                if failed == 1 { "failed" } else { "SUCCEEDED" }
            );
            set_thread_register(SECOND_VALUE);
            for _ in 0..3 {
                yield_now();
            }
            let kept = thread_register();
            println!("cpustate second: own TPIDRURW {:#010x} after switches", kept);
            good &= ge == 0 && failed == 1 && kept == SECOND_VALUE;
            good
        }
        FRESH => starts_clean("fresh") & counter_is_the_kernels_clock(),
        other => {
            println!("cpustate: unknown argument {}", other);
            false
        }
    };
    u32::from(!good)
}
