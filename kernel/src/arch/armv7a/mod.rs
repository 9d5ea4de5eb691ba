//! Armv7-A (Cortex-A7) support: entry code, system registers, translation
//! tables, the GICv2 interrupt controller and the generic timer.

pub mod context;
pub mod cp15;
pub mod gic;
pub mod mmu;
#[cfg(not(feature = "semihosting"))]
pub mod psci;
#[cfg(feature = "semihosting")]
pub mod semihosting;
pub mod timer;

core::arch::global_asm!(include_str!("entry.s"), options(raw));

/// Waits for an interrupt to become pending. IRQs stay masked: the kernel
/// polls the interrupt controller afterwards, so it is never re-entered.
pub fn wait_for_interrupt() {
    aarch32_cpu::asm::wfi();
}

/// Lets user mode read the cycle counter (PMCCNTR), for benchmarks. Only
/// the benchmark image calls it: with PMUSERENR.EN set, User mode may also
/// write the PMU's control registers (stop or reset the counter for
/// everyone) and gets a fine clock to time other processes with.
#[cfg(feature = "bench")]
pub fn allow_user_cycle_counter() {
    // SAFETY: PMUSERENR.EN only grants User mode read access to PMU
    // counters; it does not affect memory safety.
    unsafe { cp15::write_pmuserenr(1) };
}

/// Ends the run: through semihosting with `status` in the test and
/// benchmark images, else PSCI SYSTEM_OFF (the status is lost).
pub fn power_off(status: u32) -> ! {
    #[cfg(feature = "semihosting")]
    semihosting::exit(status);
    #[cfg(not(feature = "semihosting"))]
    {
        let _ = status;
        psci::system_off()
    }
}
