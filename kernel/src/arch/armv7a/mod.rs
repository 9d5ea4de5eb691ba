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
mod svc;
pub mod timer;

core::arch::global_asm!(include_str!("entry.s"), options(raw));

/// Waits for an interrupt to become pending. IRQs stay masked: the kernel
/// polls the interrupt controller afterwards, so it is never re-entered.
pub fn wait_for_interrupt() {
    aarch32_cpu::asm::wfi();
}

/// Closes the user-visible CPU state that is shared by every process unless
/// the kernel keeps it apart (see docs/architecture.md, "CPU state a process
/// can see"). Called once at boot, before any process runs:
///
/// - CPACR: no access to cp10/cp11 at any level, so there is no shared VFP
///   or Advanced SIMD register file (the kernel and the programs are built
///   soft-float); a User-mode VFP or SIMD instruction is undefined, and the
///   process that runs it is ended as a fault.
/// - TPIDRURW and TPIDRURO: zero (the first is then kept per process by
///   `context::enter_process`; the kernel never writes the second).
/// - ThumbEE, which a Cortex-A7 implements: its handler base (TEEHBR) would
///   be a register every process can read and write, so TEECR.XED makes it
///   undefined in User mode; TEEHBR itself is zeroed.
/// - CNTKCTL: User mode may read the physical counter and its frequency
///   (PL0PCTEN: the clock `Uptime` answers from, which the runtime reads
///   without a syscall), nothing else of the generic timer: not the
///   virtual counter, not the timers, which the kernel owns (the reset
///   value is UNKNOWN).
/// - PMUSERENR: no User-mode access to the performance monitor (only the
///   benchmark image's kernel opens it, after this).
/// - DBGDSCRext.UDCCdis: no User-mode access to the debug communications
///   channel, whose registers every process would share.
pub fn close_user_state() {
    /// CNTKCTL.PL0PCTEN: User mode may read CNTPCT (and CNTFRQ).
    const CNTKCTL_PL0PCTEN: u32 = 1;
    // SAFETY: the kernel is built soft-float and never uses cp10/cp11;
    // the thread registers are scratch registers the kernel keeps nothing
    // in; CNTKCTL only gates User-mode access to timer registers (a read
    // of the counter changes nothing).
    unsafe {
        cp15::write_cpacr(0);
        cp15::write_tpidrurw(0);
        cp15::write_tpidruro(0);
        cp15::write_cntkctl(CNTKCTL_PL0PCTEN);
        // No User-mode PMU access whatever the reset value or firmware
        // left (the benchmark image's kernel opens it again afterwards).
        cp15::write_pmuserenr(0);
    }
    // The debug communications channel (DBGDTRRX/TX and DBGDSCRint): its
    // registers would be shared by every process. DBGDSCRext.UDCCdis
    // (bit 12) makes User-mode access to them undefined.
    // SAFETY: DBGDSCRext is a PL1 debug register; setting UDCCdis only
    // closes the channel to User mode, and the kernel never uses it.
    unsafe {
        core::arch::asm!(
            "mrc p14, 0, {value}, c0, c2, 2",
            "orr {value}, {value}, #0x1000",
            "mcr p14, 0, {value}, c0, c2, 2",
            value = out(reg) _,
            options(nostack, preserves_flags)
        );
    }
    // ID_PFR0.State3 (bits 15:12) is nonzero when ThumbEE is implemented;
    // only then do its cp14 registers exist.
    if (cp15::read_id_pfr0() >> 12) & 0xF != 0 {
        // SAFETY: TEEHBR is only used by ThumbEE handler branches in user
        // code; TEECR.XED (bit 0) only makes User-mode access to TEEHBR
        // undefined.
        unsafe {
            core::arch::asm!(
                "mcr p14, 6, {zero}, c1, c0, 0",
                "mcr p14, 6, {disable}, c0, c0, 0",
                zero = in(reg) 0u32,
                disable = in(reg) 1u32,
                options(nostack, preserves_flags)
            );
        }
    }
    aarch32_cpu::asm::isb();
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
