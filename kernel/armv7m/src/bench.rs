//! The M-profile benchmarks (feature `bench`; `cargo xtask bench` boots
//! them on QEMU `mps2-an386` under `-icount shift=0`, where one
//! instruction takes one virtual nanosecond). SysTick runs free from the
//! reset on the core's clock, so each of its ticks is
//! `1e9 / CLOCK_HZ` instructions (40 at 25 MHz); a measurement repeats an
//! operation [`ITERATIONS`] times between two `CALL_MARK`s and subtracts a
//! baseline loop, which leaves a fortieth of an instruction of rounding
//! per operation.
//!
//! Two unprivileged programs on the MPU, as in preempt.rs: `bench-a`
//! notes the time, makes [`ITERATIONS`] null calls, runs the same loop
//! with a `nop` for the call (the baseline), then yields to `bench-b`
//! [`ITERATIONS`] times (each yield pends PendSV, which switches; `bench-b`
//! yields back in the same loop). The figures printed, as
//! `BENCH <key> <value>` lines:
//!
//! - `mps2_trampoline_null_syscall_instructions`: from the `svc` to the
//!   program's next instruction, the `svc` counted: the exception
//!   mechanism alone, a floor for the portable kernel's null syscall;
//! - `mps2_trampoline_context_switch_instructions`: from one program's
//!   yield `svc` to the other's next instruction, likewise.
//!
//! Then the portable kernel runs in benchmark mode (portable.rs): `init`
//! reports `mps2_null_syscall_instructions`,
//! `mps2_ipc_roundtrip_instructions` and
//! `mps2_context_switch_instructions` for the kernel apps run on, and the
//! kernel `mps2_boot_to_first_app_instructions`: from the reset to the
//! end of the boot checks, plus from the portable kernel's start to the
//! first entry of a program (leaving out these mechanism benchmarks,
//! which run in between).

use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::isolation::{CALL_EXIT, CALL_MARK, CALL_NULL, CALL_YIELD};
use crate::regs::{SYST_CSR, SYST_CVR, SYST_RVR};
use crate::{board, write, Uart};

/// How many times each operation runs.
pub const ITERATIONS: u32 = 4096;

/// SysTick counts 24 bits down.
const SYSTICK_MASK: u32 = 0x00ff_ffff;

extern "C" {
    fn user_bench_a();
    fn user_bench_b();
}

core::arch::global_asm!(
    ".section .user_text, \"ax\", %progbits",
    ".thumb",
    ".syntax unified",
    // bench-a: r0 is the iteration count.
    ".global user_bench_a",
    ".thumb_func",
    "user_bench_a:",
    "    mov r4, r0",
    "    movs r0, #{mark}",
    "    svc #0",
    "    mov r5, r4",
    "1:  movs r0, #{null}",
    "    svc #0",
    "    subs r5, r5, #1",
    "    bne 1b",
    "    movs r0, #{mark}",
    "    svc #0",
    "    mov r5, r4",
    "2:  movs r0, #{null}",
    "    nop",
    "    subs r5, r5, #1",
    "    bne 2b",
    "    movs r0, #{mark}",
    "    svc #0",
    "    mov r5, r4",
    "3:  movs r0, #{yield}",
    "    svc #0",
    "    subs r5, r5, #1",
    "    bne 3b",
    "    movs r0, #{mark}",
    "    svc #0",
    "    movs r0, #{exit}",
    "    movs r1, #0",
    "    svc #0",
    "    b .",
    // bench-b: yields for good, in a loop of the same four instructions.
    ".global user_bench_b",
    ".thumb_func",
    "user_bench_b:",
    "    mov r5, r0",
    "1:  movs r0, #{yield}",
    "    svc #0",
    "    subs r5, r5, #1",
    "    b 1b",
    mark = const CALL_MARK,
    null = const CALL_NULL,
    yield = const CALL_YIELD,
    exit = const CALL_EXIT,
);

/// Starts SysTick running free (no interrupt) from its largest count:
/// the first thing the reset handler does in a benchmark build.
pub fn start_clock() {
    write(SYST_RVR, SYSTICK_MASK);
    write(SYST_CVR, 0);
    write(SYST_CSR, 0b101); // enable, the core's clock, no interrupt
}

/// SysTick ticks from the reset to the end of the boot checks (the first
/// part of `mps2_boot_to_first_app_instructions`; portable.rs adds its own
/// start).
static CHECKS_TICKS: AtomicU32 = AtomicU32::new(0);

/// Instructions from the reset to the end of the boot checks.
pub fn boot_checks_instructions() -> u64 {
    instructions(u64::from(CHECKS_TICKS.load(Ordering::Relaxed)))
}

/// Instructions in `ticks` SysTick ticks from its largest count to `now`.
pub fn instructions_since_start(now: u32) -> u64 {
    instructions(ticks(SYSTICK_MASK, now))
}

/// Runs the benchmark programs; their end prints the figures.
pub fn run() -> ! {
    CHECKS_TICKS.store(ticks(SYSTICK_MASK, crate::read(SYST_CVR)) as u32, Ordering::Relaxed);
    let _ = writeln!(Uart, "kernel: benchmarks, {ITERATIONS} iterations each");
    let first = crate::preempt::begin_bench([
        (user_bench_a as *const () as usize as u32, ITERATIONS),
        (user_bench_b as *const () as usize as u32, ITERATIONS),
    ]);
    crate::isolation::enter(first)
}

/// Instructions in `ticks` SysTick ticks under `-icount shift=0`.
fn instructions(ticks: u64) -> u64 {
    ticks * 1_000_000_000 / u64::from(board::CLOCK_HZ)
}

/// Ticks from SysTick count `from` to `to` (it counts down and wraps).
fn ticks(from: u32, to: u32) -> u64 {
    u64::from(from.wrapping_sub(to) & SYSTICK_MASK)
}

/// `total` instructions over `n` operations, `minus` per operation taken
/// off and the rest split `ways`, rounded to the nearest.
fn per_operation(total: u64, minus: u64, ways: u64, n: u64) -> u64 {
    let each = total.saturating_sub(minus * n);
    (each + ways * n / 2) / (ways * n)
}

/// Prints the figures from the marks `bench-a` made, and ends the run.
pub fn report() -> ! {
    let mut marks = [0u32; 4];
    let mut count = 0;
    for (slot, mark) in marks.iter_mut().zip(crate::preempt::marks()) {
        *slot = mark;
        count += 1;
    }
    if count != marks.len() {
        let _ = writeln!(Uart, "kernel: the benchmark made {count} marks, not {}", marks.len());
        crate::exit(1);
    }
    let n = u64::from(ITERATIONS);
    let interval = |index: usize| instructions(ticks(marks[index], marks[index + 1]));
    let (null, baseline, switch) = (interval(0), interval(1), interval(2));
    // Over the baseline, a null call adds the kernel's instructions (the
    // `svc` replaces the `nop`); count the `svc` itself back in.
    let null_syscall = per_operation(null.saturating_sub(baseline), 0, 1, n) + 1;
    // A yield round is bench-a's loop (as the baseline's, the `svc` for
    // the `nop`), the kernel's yield and switch, bench-b's loop (four
    // instructions, its `svc` among them) and the kernel's again: over
    // the baseline, bench-b's four and twice the kernel's part. Each
    // switch is that part and its `svc`.
    let context_switch = per_operation(switch.saturating_sub(baseline), 4, 2, n) + 1;
    let _ = writeln!(Uart, "BENCH mps2_trampoline_null_syscall_instructions {null_syscall}");
    let _ = writeln!(Uart, "BENCH mps2_trampoline_context_switch_instructions {context_switch}");
    // Then the portable kernel's own figures (portable.rs, and `init` in
    // userland/m-programs).
    if crate::portable::ready() {
        crate::portable::restart_bench()
    }
    let _ = writeln!(Uart, "kernel: no M4 programs in the boot image: no portable kernel figures");
    crate::exit(1)
}
