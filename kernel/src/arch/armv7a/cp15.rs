//! CP15 system register accessors used by the kernel. aarch32-cpu 0.4 has no
//! TTBR1 or TTBCR, so every register the kernel touches is named here the
//! same way, one line each.

use core::arch::asm;

macro_rules! cp15_register {
    ($(#[$doc:meta])* $name:ident, $read:ident, $write:ident, $op1:literal, $crn:literal, $crm:literal, $op2:literal) => {
        $(#[$doc])*
        #[inline(always)]
        #[allow(dead_code)]
        pub fn $read() -> u32 {
            let value: u32;
            // SAFETY: reading this system register has no side effects.
            unsafe {
                asm!(concat!("mrc p15, ", $op1, ", {}, ", $crn, ", ", $crm, ", ", $op2), out(reg) value, options(nomem, nostack, preserves_flags));
            }
            value
        }

        $(#[$doc])*
        ///
        /// # Safety
        /// Changing system state can break memory safety (e.g. the MMU);
        /// the caller upholds the register's architectural requirements.
        #[inline(always)]
        #[allow(dead_code)]
        pub unsafe fn $write(value: u32) {
            // SAFETY: the caller upholds this function's contract.
            unsafe {
                asm!(concat!("mcr p15, ", $op1, ", {}, ", $crn, ", ", $crm, ", ", $op2), in(reg) value, options(nostack, preserves_flags));
            }
        }
    };
}

cp15_register!(/// System control register.
    sctlr, read_sctlr, write_sctlr, "0", "c1", "c0", "0");
cp15_register!(/// Coprocessor access control (who may use cp10/cp11: VFP and Advanced SIMD).
    cpacr, read_cpacr, write_cpacr, "0", "c1", "c0", "2");
cp15_register!(/// Processor feature register 0 (which instruction set states exist).
    id_pfr0, read_id_pfr0, write_id_pfr0_unused, "0", "c0", "c1", "0");
cp15_register!(/// User translation table base.
    ttbr0, read_ttbr0, write_ttbr0, "0", "c2", "c0", "0");
cp15_register!(/// Kernel translation table base.
    ttbr1, read_ttbr1, write_ttbr1, "0", "c2", "c0", "1");
cp15_register!(/// Translation table base control.
    ttbcr, read_ttbcr, write_ttbcr, "0", "c2", "c0", "2");
cp15_register!(/// Domain access control.
    dacr, read_dacr, write_dacr, "0", "c3", "c0", "0");
cp15_register!(/// Data fault status.
    dfsr, read_dfsr, write_dfsr, "0", "c5", "c0", "0");
cp15_register!(/// Instruction fault status.
    ifsr, read_ifsr, write_ifsr, "0", "c5", "c0", "1");
cp15_register!(/// Data fault address.
    dfar, read_dfar, write_dfar, "0", "c6", "c0", "0");
cp15_register!(/// Instruction fault address.
    ifar, read_ifar, write_ifar, "0", "c6", "c0", "2");
cp15_register!(/// Invalidate all unified TLB entries (write only).
    tlbiall, read_tlbiall_unused, write_tlbiall, "0", "c8", "c7", "0");
cp15_register!(/// Invalidate unified TLB entry by address and ASID (write only).
    tlbimva, read_tlbimva_unused, write_tlbimva, "0", "c8", "c7", "1");
cp15_register!(/// Invalidate unified TLB entries by ASID (write only).
    tlbiasid, read_tlbiasid_unused, write_tlbiasid, "0", "c8", "c7", "2");
cp15_register!(/// Invalidate all branch predictors (write only).
    bpiall, read_bpiall_unused, write_bpiall, "0", "c7", "c5", "6");
cp15_register!(/// Invalidate all instruction caches to PoU (write only).
    iciallu, read_iciallu_unused, write_iciallu, "0", "c7", "c5", "0");
cp15_register!(/// Clean data cache line by address to the point of unification (write only).
    dccmvau, read_dccmvau_unused, write_dccmvau, "0", "c7", "c11", "1");
cp15_register!(/// Cache type.
    ctr, read_ctr, write_ctr_unused, "0", "c0", "c0", "1");
cp15_register!(/// Context ID (ASID in bits 7:0).
    contextidr, read_contextidr, write_contextidr, "0", "c13", "c0", "1");
cp15_register!(/// User read/write thread ID (TPIDRURW): User mode reads and writes it.
    tpidrurw, read_tpidrurw, write_tpidrurw, "0", "c13", "c0", "2");
cp15_register!(/// User read-only thread ID (TPIDRURO): User mode reads it.
    tpidruro, read_tpidruro, write_tpidruro, "0", "c13", "c0", "3");
cp15_register!(/// Performance monitor user enable.
    pmuserenr, read_pmuserenr, write_pmuserenr, "0", "c9", "c14", "0");
cp15_register!(/// Performance monitor cycle counter.
    pmccntr, read_pmccntr, write_pmccntr, "0", "c9", "c13", "0");
cp15_register!(/// Generic timer frequency.
    cntfrq, read_cntfrq, write_cntfrq, "0", "c14", "c0", "0");
cp15_register!(/// Physical timer control.
    cntp_ctl, read_cntp_ctl, write_cntp_ctl, "0", "c14", "c2", "1");
cp15_register!(/// Timer PL0 access control.
    cntkctl, read_cntkctl, write_cntkctl, "0", "c14", "c1", "0");

/// Physical count (CNTPCT).
#[inline(always)]
pub fn read_cntpct() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: reading the counter has no side effects.
    unsafe { asm!("mrrc p15, 0, {}, {}, c14", out(reg) low, out(reg) high, options(nomem, nostack, preserves_flags)) };
    ((high as u64) << 32) | low as u64
}

/// Sets the physical timer compare value (CNTP_CVAL).
#[inline(always)]
pub fn write_cntp_cval(value: u64) {
    // SAFETY: the compare value only decides when the timer interrupt
    // becomes pending; it cannot affect memory safety.
    unsafe {
        asm!("mcrr p15, 2, {}, {}, c14", in(reg) value as u32, in(reg) (value >> 32) as u32, options(nostack, preserves_flags))
    };
}
