//! Preemption and the FPU context, the next mechanisms of the port's
//! second and third steps (docs/mt3620.md), before the portable kernel
//! runs on them: after the isolation programs, two unprivileged programs
//! run at once, switched by SysTick and PendSV, and each keeps its
//! floating-point registers across the switches.
//!
//! `fp-a` and `fp-b` each load all 32 single-precision registers and
//! `FPSCR` from a table of their own, spin long enough to be preempted,
//! and check every register against the table; a round done is reported
//! with `SVC`, and after [`ROUNDS`] rounds the program exits (with 1 if a
//! register changed under it). SysTick fires every millisecond and pends
//! PendSV, which saves the running program's `r4`-`r11` and, when its
//! `EXC_RETURN` says it has used the FPU, `s16`-`s31` on its own stack
//! (the core has already stacked `s0`-`s15` and `FPSCR` lazily), then
//! switches the MPU's stack region and restores the other program.
//! Nothing else saves those registers: without PendSV's `vstmdb` the
//! other program's values would be found.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::isolation::{self, CALL_EXIT, CALL_MARK, CALL_NULL, CALL_ROUND, CALL_YIELD, KIND_SVC};
use crate::regs::{ICSR, ICSR_PENDSVSET, SHPR3, SYST_CSR, SYST_CVR, SYST_RVR};
use crate::{write, Uart};

/// The rounds each program runs.
pub const ROUNDS: u32 = 12;
/// The programs' names, by stack slot.
const NAMES: [&str; 2] = ["fp-a", "fp-b"];
/// `EXC_RETURN` for a fresh program: Thread mode, process stack, no FP
/// frame.
const FRESH_RETURN: u32 = 0xffff_fffd;

/// Set once the programs run: PendSV switches instead of entering the
/// first program, and SVCs are counted here.
#[no_mangle]
static TESSERA_PREEMPTING: AtomicU32 = AtomicU32::new(0);
/// The slot running, each slot's saved stack pointer, rounds and end.
static RUNNING: AtomicU32 = AtomicU32::new(0);
static SAVED: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];
static ROUNDS_DONE: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];
static DONE: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];
/// The slot that reported a round last (plus one; 0: none yet), how many
/// times the reporter changed, switches and ticks.
static LAST: AtomicU32 = AtomicU32::new(0);
static TURNS: AtomicU32 = AtomicU32::new(0);
static SWITCHES: AtomicU32 = AtomicU32::new(0);
static TICKS: AtomicU32 = AtomicU32::new(0);
/// Whether the programs are the benchmark's (bench.rs): no SysTick
/// preemption, and the first program's exit ends the run with its
/// figures.
#[cfg(feature = "bench")]
static BENCH: AtomicBool = AtomicBool::new(false);
/// SysTick counts noted by `CALL_MARK`.
pub const MAX_MARKS: usize = 8;
static MARKS: [AtomicU32; MAX_MARKS] = [const { AtomicU32::new(0) }; MAX_MARKS];
static MARKED: AtomicU32 = AtomicU32::new(0);

extern "C" {
    fn user_fp();
    static user_fp_table_a: u32;
    static user_fp_table_b: u32;
}

core::arch::global_asm!(
    ".section .user_text, \"ax\", %progbits",
    ".thumb",
    ".syntax unified",
    // fp: r0 is its table (32 register values, then FPSCR).
    ".global user_fp",
    ".thumb_func",
    "user_fp:",
    "    mov r5, r0",
    "    movs r4, #0",
    "1:  vldmia r5, {{s0-s31}}",
    "    ldr r1, [r5, #128]",
    "    vmsr fpscr, r1",
    "    ldr r6, =1000000",
    "2:  subs r6, r6, #1",
    "    bne 2b",
    "    vmrs r1, fpscr",
    "    ldr r2, [r5, #128]",
    "    cmp r1, r2",
    "    bne 5f",
    "    vstmdb sp!, {{s0-s31}}",
    "    movs r3, #0",
    "3:  ldr r1, [sp, r3]",
    "    ldr r2, [r5, r3]",
    "    cmp r1, r2",
    "    bne 4f",
    "    adds r3, r3, #4",
    "    cmp r3, #128",
    "    bne 3b",
    "    add sp, sp, #128",
    "    adds r4, r4, #1",
    "    movs r0, #{round}",
    "    mov r1, r4",
    "    svc #0",
    "    cmp r4, #{rounds}",
    "    bne 1b",
    "    movs r0, #{exit}",
    "    movs r1, #0",
    "    svc #0",
    "    b .",
    "4:  add sp, sp, #128",
    "5:  movs r0, #{exit}",
    "    movs r1, #1",
    "    svc #0",
    "    b .",
    ".ltorg",
    // The tables: distinct bit patterns, and FPSCR with another rounding
    // mode each (bits 23:22) and flush-to-zero for b.
    ".balign 4",
    ".global user_fp_table_a",
    "user_fp_table_a:",
    ".set tessera_fp_i, 0",
    ".rept 32",
    "    .word 0x3f800000 + tessera_fp_i * 0x10101",
    ".set tessera_fp_i, tessera_fp_i + 1",
    ".endr",
    "    .word 0x00400000",
    ".global user_fp_table_b",
    "user_fp_table_b:",
    ".set tessera_fp_i, 0",
    ".rept 32",
    "    .word 0xc1200000 - tessera_fp_i * 0x20203",
    ".set tessera_fp_i, tessera_fp_i + 1",
    ".endr",
    "    .word 0x01800000",
    // PendSV while the programs run: save r4-r11, EXC_RETURN and (if the
    // program used the FPU) s16-s31 on its stack; `tessera_switch` picks
    // the next and maps it; restore the same from its stack.
    ".section .text.tessera_switch, \"ax\", %progbits",
    ".global tessera_pendsv_switch",
    ".thumb_func",
    "tessera_pendsv_switch:",
    "    mrs r0, psp",
    "    tst lr, #0x10",
    "    it eq",
    "    vstmdbeq r0!, {{s16-s31}}",
    "    stmdb r0!, {{r4-r11, lr}}",
    "    bl tessera_switch",
    "    ldmia r0!, {{r4-r11, lr}}",
    "    tst lr, #0x10",
    "    it eq",
    "    vldmiaeq r0!, {{s16-s31}}",
    "    msr psp, r0",
    "    bx lr",
    round = const CALL_ROUND,
    exit = const CALL_EXIT,
    rounds = const ROUNDS,
);

/// Saves the running program's stack pointer (`saved`, below its saved
/// registers), picks the other if it has not ended, maps its stack and
/// returns its saved stack pointer.
#[no_mangle]
extern "C" fn tessera_switch(saved: u32) -> u32 {
    SWITCHES.fetch_add(1, Ordering::Relaxed);
    let current = RUNNING.load(Ordering::Relaxed) as usize;
    SAVED[current].store(saved, Ordering::Relaxed);
    let other = 1 - current;
    let next = if DONE[other].load(Ordering::Relaxed) { current } else { other };
    RUNNING.store(next as u32, Ordering::Relaxed);
    isolation::map_slot(next as u32);
    SAVED[next].load(Ordering::Relaxed)
}

/// Whether the preempted programs run (exceptions go to [`exception`]).
pub fn running() -> bool {
    TESSERA_PREEMPTING.load(Ordering::Relaxed) != 0
}

/// SysTick: counts, and pends a switch while the programs run.
#[no_mangle]
extern "C" fn tessera_systick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
    if TESSERA_PREEMPTING.load(Ordering::Relaxed) != 0 {
        write(ICSR, ICSR_PENDSVSET);
    }
}

/// Writes slot `slot`'s first frames below the top of its stack: the
/// hardware's (r0 `argument`, pc `entry`, xPSR Thumb) and, below it,
/// PendSV's (r4-r11 zero, a fresh `EXC_RETURN`). Returns the hardware
/// frame and the saved stack pointer.
fn first_frames(slot: u32, entry: u32, argument: u32) -> (u32, u32) {
    let top = isolation::stacks_base() + (slot + 1) * 1024;
    let hardware = top - 32;
    let words = [argument, 0, 0, 0, 0, 0xffff_ffff, entry & !1, 1 << 24];
    let software = hardware - 36;
    for (offset, word) in words.into_iter().enumerate() {
        // SAFETY: the top 68 bytes of this slot's stack, which no program
        // runs on now (the isolation programs have ended).
        unsafe { (hardware as *mut u32).add(offset).write_volatile(word) };
    }
    for offset in 0..9 {
        let word = if offset == 8 { FRESH_RETURN } else { 0 };
        // SAFETY: as above.
        unsafe { (software as *mut u32).add(offset).write_volatile(word) };
    }
    (hardware, software)
}

/// Starts the two programs from the end of the isolation programs (in the
/// SVC of the last one's exit): returns the first's frame, which the SVC
/// returns into.
pub fn start() -> *mut u32 {
    let _ = writeln!(Uart, "kernel: two floating-point programs under SysTick preemption, {ROUNDS} rounds each");
    let entry = user_fp as *const () as usize as u32;
    let tables = [core::ptr::addr_of!(user_fp_table_a) as u32, core::ptr::addr_of!(user_fp_table_b) as u32];
    let first = begin([(entry, tables[0]), (entry, tables[1])]);
    write(SYST_RVR, crate::board::CLOCK_HZ / 1000 - 1);
    write(SYST_CVR, 0);
    write(SYST_CSR, 0b111); // enable, interrupt, the core's clock
    first
}

/// Sets up two programs (entry, r0) on stack slots 0 and 1, the first
/// mapped, and returns the first's frame; the caller starts SysTick (or
/// not) and returns into the frame.
pub fn begin(programs: [(u32, u32); 2]) -> *mut u32 {
    let (first, _) = first_frames(0, programs[0].0, programs[0].1);
    let (_, second) = first_frames(1, programs[1].0, programs[1].1);
    SAVED[1].store(second, Ordering::Relaxed);
    RUNNING.store(0, Ordering::Relaxed);
    isolation::map_slot(0);
    // PendSV lowest, SysTick above it; SVC and the faults stay at 0.
    write(SHPR3, (0x80 << 24) | (0xff << 16));
    TESSERA_PREEMPTING.store(1, Ordering::Relaxed);
    first as *mut u32
}

/// [`begin`] for the benchmark's programs: a yield switches, SysTick runs
/// free, and the first program's exit ends the run.
#[cfg(feature = "bench")]
pub fn begin_bench(programs: [(u32, u32); 2]) -> *mut u32 {
    BENCH.store(true, Ordering::Relaxed);
    begin(programs)
}

/// The SysTick counts noted so far.
#[cfg(feature = "bench")]
pub fn marks() -> impl Iterator<Item = u32> {
    let count = (MARKED.load(Ordering::Relaxed) as usize).min(MAX_MARKS);
    MARKS[..count].iter().map(|mark| mark.load(Ordering::Relaxed))
}

/// An exception from a program while they run: rounds, exits, faults.
pub fn exception(frame: *mut u32, kind: u32) -> *mut u32 {
    let current = RUNNING.load(Ordering::Relaxed) as usize;
    if kind != KIND_SVC {
        let _ = writeln!(Uart, "kernel: program {} faulted (kind {kind}), which it should not have", NAMES[current]);
        finish()
    }
    // SAFETY: the hardware stacked r0-r3, r12, lr, pc and xPSR at the
    // process stack pointer, inside the program's stack region.
    let (call, argument) = unsafe { (frame.read_volatile(), frame.add(1).read_volatile()) };
    match call {
        CALL_NULL => {}
        CALL_YIELD => write(ICSR, ICSR_PENDSVSET),
        CALL_MARK => {
            let now = crate::read(SYST_CVR);
            let index = MARKED.fetch_add(1, Ordering::Relaxed) as usize;
            if let Some(mark) = MARKS.get(index) {
                mark.store(now, Ordering::Relaxed);
            }
        }
        #[cfg(feature = "bench")]
        CALL_EXIT if argument == 0 && BENCH.load(Ordering::Relaxed) => crate::bench::report(),
        CALL_ROUND => {
            ROUNDS_DONE[current].store(argument, Ordering::Relaxed);
            let last = LAST.swap(current as u32 + 1, Ordering::Relaxed);
            if last != 0 && last != current as u32 + 1 {
                TURNS.fetch_add(1, Ordering::Relaxed);
            }
        }
        CALL_EXIT if argument == 0 => {
            DONE[current].store(true, Ordering::Relaxed);
            if DONE.iter().all(|done| done.load(Ordering::Relaxed)) {
                finish()
            }
            // It waits at `b .` until PendSV switches away for good.
            write(ICSR, ICSR_PENDSVSET);
        }
        CALL_EXIT => {
            let _ = writeln!(
                Uart,
                "kernel: program {} found a floating-point register changed under it, which it should not have",
                NAMES[current]
            );
            finish()
        }
        _ => {
            let _ = writeln!(Uart, "kernel: program {} made an unknown call, which it should not have", NAMES[current]);
            finish()
        }
    }
    frame
}

/// Ends the run with the verdict.
fn finish() -> ! {
    write(SYST_CSR, 0);
    let rounds = [ROUNDS_DONE[0].load(Ordering::Relaxed), ROUNDS_DONE[1].load(Ordering::Relaxed)];
    let turns = TURNS.load(Ordering::Relaxed);
    let switches = SWITCHES.load(Ordering::Relaxed);
    let _ = writeln!(
        Uart,
        "kernel: fp-a finished {} and fp-b {} of {ROUNDS} rounds, each round with its FPU registers intact; \
         {switches} switches in {} ticks, the rounds alternated {turns} times",
        rounds[0],
        rounds[1],
        TICKS.load(Ordering::Relaxed)
    );
    let good = rounds == [ROUNDS, ROUNDS] && DONE.iter().all(|done| done.load(Ordering::Relaxed)) && turns >= 2;
    let _ = writeln!(Uart, "kernel: preemption checks {}", if good { "passed" } else { "FAILED" });
    if good && crate::portable::ready() {
        // Next: the portable kernel with the boot image's programs.
        crate::portable::restart()
    }
    crate::exit(if good { 0 } else { 1 })
}
