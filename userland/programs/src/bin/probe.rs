//! A hostile program for the isolation tests: each argument (see `probe` in
//! lib.rs) makes it try one thing User mode must not be able to do. The
//! kernel should end it with a fault report; nothing else may notice.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};
use tessera_programs::probe::*;
use tessera_rt::{println, sleep_micros};

tessera_rt::entry!(main);

/// `bx lr`: a harmless function body to try to execute from data.
const RETURN_INSTRUCTION: u32 = 0xE12F_FF1E;
const SECRET: u32 = 0x5EC2_E700;

/// Lives at the same address in every process running this program.
static SHARED_LOOKING: AtomicU32 = AtomicU32::new(0);
/// A data (execute-never) page holding an instruction.
static DATA_CODE: AtomicU32 = AtomicU32::new(RETURN_INSTRUCTION);

fn read(address: u32) -> u32 {
    // SAFETY: deliberately unchecked; the MMU decides.
    unsafe { core::ptr::read_volatile(address as *const u32) }
}

fn write(address: u32, value: u32) {
    // SAFETY: deliberately unchecked; the MMU decides.
    unsafe { core::ptr::write_volatile(address as *mut u32, value) }
}

fn call(address: u32) {
    // SAFETY: deliberately unchecked: jumps to `address`, which holds a
    // `bx lr` if the MMU lets it run at all.
    let function: extern "C" fn() = unsafe { core::mem::transmute(address as usize) };
    function();
}

fn main(start: tessera_rt::Start) -> u32 {
    match start.argument {
        READ_KERNEL => {
            println!("probe: reading kernel memory at {:#010x}", KERNEL_ADDRESS);
            let value = read(KERNEL_ADDRESS);
            println!("probe: read {:#010x} from the kernel (must never print)", value);
        }
        WRITE_KERNEL => {
            println!("probe: writing kernel memory at {:#010x}", KERNEL_ADDRESS);
            write(KERNEL_ADDRESS, 0);
            println!("probe: wrote kernel memory (must never print)");
        }
        EXECUTE_DATA => {
            let address = DATA_CODE.as_ptr() as u32;
            println!("probe: executing from a data page at {:#010x}", address);
            call(address);
            println!("probe: executed data (must never print)");
        }
        EXECUTE_STACK => {
            let code = [RETURN_INSTRUCTION; 2];
            let address = core::hint::black_box(&code).as_ptr() as u32;
            println!("probe: executing from the stack at {:#010x}", address);
            call(address);
            println!("probe: executed stack (must never print)");
        }
        READ_UNMAPPED => {
            println!("probe: reading unmapped address {:#010x}", UNMAPPED_ADDRESS);
            read(UNMAPPED_ADDRESS);
        }
        READ_NULL => {
            println!("probe: reading through a null pointer");
            read(core::hint::black_box(0));
        }
        UNDEFINED => {
            println!("probe: executing an undefined instruction");
            // SAFETY: deliberately undefined; the kernel ends us.
            unsafe { core::arch::asm!("udf #0") };
        }
        MISALIGNED => {
            let address = SHARED_LOOKING.as_ptr() as u32 + 1;
            println!("probe: multi-word load from misaligned {:#010x}", address);
            // SAFETY: deliberately misaligned; LDM always faults on it.
            unsafe { core::arch::asm!("ldm {0}, {{r2, r3}}", in(reg) address, out("r2") _, out("r3") _) };
        }
        WRITE_TEXT => {
            let address = main as *const () as u32;
            println!("probe: writing to its own code at {:#010x}", address);
            write(address, 0);
        }
        READ_CYCLE_COUNTER => {
            println!("probe: reading the cycle counter (PMCCNTR)");
            let value: u32;
            // SAFETY: a coprocessor read with no memory effect; outside the
            // benchmark image User mode may not do it and the kernel ends us.
            unsafe { core::arch::asm!("mrc p15, 0, {0}, c9, c13, 0", out(reg) value) };
            println!("probe: read the cycle counter: {} (must never print)", value);
        }
        STOP_CYCLE_COUNTER => {
            println!("probe: stopping the PMU counters (PMCR.E = 0)");
            // SAFETY: a coprocessor write that would stop every PMU counter;
            // User mode may not do it and the kernel ends us.
            unsafe { core::arch::asm!("mcr p15, 0, {0}, c9, c12, 0", in(reg) 0u32) };
            println!("probe: stopped the PMU counters (must never print)");
        }
        OPEN_PMU => {
            println!("probe: writing PMUSERENR to open the PMU to User mode");
            // SAFETY: PMUSERENR is writable only from privileged modes: the
            // write is an undefined instruction here and the kernel ends us.
            unsafe { core::arch::asm!("mcr p15, 0, {0}, c9, c14, 0", in(reg) 1u32) };
            println!("probe: opened the PMU (must never print)");
        }
        OWNER => {
            SHARED_LOOKING.store(SECRET, Ordering::SeqCst);
            println!("probe: owner stored its secret at {:#010x}", SHARED_LOOKING.as_ptr() as u32);
            sleep_micros(200_000);
            let value = SHARED_LOOKING.load(Ordering::SeqCst);
            if value == SECRET {
                println!("probe: owner's secret intact");
                return 0;
            }
            println!("probe: owner's secret CHANGED to {:#010x}", value);
            return 1;
        }
        INTRUDER => {
            let address = SHARED_LOOKING.as_ptr() as u32;
            let value = SHARED_LOOKING.load(Ordering::SeqCst);
            if value == SECRET {
                println!("probe: intruder READ THE OWNER'S SECRET at {:#010x}", address);
                return 1;
            }
            println!("probe: intruder sees its own memory: {:#010x} at {:#010x}", value, address);
            SHARED_LOOKING.store(0xBAD, Ordering::SeqCst);
            println!("probe: intruder trying physical RAM at 0x40000000");
            read(0x4000_0000);
            println!("probe: intruder read physical RAM (must never print)");
        }
        VFP => {
            println!("probe: executing a VFP instruction (vmrs r0, fpscr)");
            // SAFETY: deliberately executes what User mode may not: the
            // kernel ends us (cp10/cp11 are closed).
            unsafe { core::arch::asm!(".word 0xeef10a10", out("r0") _) };
        }
        SIMD => {
            println!("probe: executing an Advanced SIMD instruction (vadd.i32 d0, d0, d0)");
            // SAFETY: as for VFP.
            unsafe { core::arch::asm!(".word 0xf2200800") };
        }
        THUMBEE => {
            println!("probe: reading ThumbEE's TEEHBR");
            // SAFETY: as for VFP (TEECR.XED is set).
            unsafe { core::arch::asm!("mrc p14, 6, {}, c1, c0, 0", out(reg) _) };
        }
        TIMER => {
            println!("probe: reading the physical timer's control register");
            // SAFETY: as for VFP (CNTKCTL gives User mode no timer access).
            unsafe { core::arch::asm!("mrc p15, 0, {}, c14, c2, 1", out(reg) _) };
        }
        other => {
            println!("probe: unknown argument {}", other);
            return 2;
        }
    }
    1
}
