//! Classifying aborts from the fault status registers (short-descriptor
//! format DFSR/IFSR on Armv7-A; `CFSR` on Armv7-M) into the [`FaultKind`]
//! the kernel reports.

use tessera_abi::{Access, FaultKind};

/// The 5-bit fault status: FS[4] is bit 10 of the register, FS[3:0] bits 3..0.
pub const fn fault_status(fsr: u32) -> u32 {
    ((fsr >> 6) & 0x10) | (fsr & 0xF)
}

/// True if a data abort was caused by a write (DFSR.WnR).
pub const fn is_write(dfsr: u32) -> bool {
    dfsr & (1 << 11) != 0
}

/// Kind of a data abort with status register `dfsr`.
pub const fn classify_data_abort(dfsr: u32) -> FaultKind {
    match fault_status(dfsr) {
        0b00001 => FaultKind::Alignment,
        0b00101 | 0b00111 => FaultKind::Unmapped,
        0b01101 | 0b01111 | 0b01001 | 0b01011 => FaultKind::Permission,
        _ => FaultKind::OtherAbort,
    }
}

/// Kind of a prefetch abort with status register `ifsr`. A permission fault
/// on an instruction fetch from a user page the process may read but not
/// execute (`user_data_page`) is an execute-never violation.
pub const fn classify_prefetch_abort(ifsr: u32, user_data_page: bool) -> FaultKind {
    match fault_status(ifsr) {
        0b00101 | 0b00111 => FaultKind::Unmapped,
        0b01101 | 0b01111 | 0b01001 | 0b01011 if user_data_page => FaultKind::ExecuteNever,
        0b01101 | 0b01111 | 0b01001 | 0b01011 => FaultKind::Permission,
        _ => FaultKind::OtherAbort,
    }
}

/// Armv7-M's Configurable Fault Status Register (`CFSR`, 0xE000_ED28):
/// the MemManage status in bits 0-7, the BusFault status in 8-15, the
/// UsageFault status in 16-31.
pub mod cfsr {
    /// Instruction fetch from a place the MPU does not allow.
    pub const IACCVIOL: u32 = 1 << 0;
    /// Load or store the MPU does not allow.
    pub const DACCVIOL: u32 = 1 << 1;
    /// MemManage faults on exception return, entry and lazy FP stacking.
    pub const MUNSTKERR: u32 = 1 << 3;
    pub const MSTKERR: u32 = 1 << 4;
    pub const MLSPERR: u32 = 1 << 5;
    /// `MMFAR` holds the faulting address.
    pub const MMARVALID: u32 = 1 << 7;
    /// Bus errors: instruction fetch, precise and imprecise data, on
    /// exception return, entry and lazy FP stacking.
    pub const IBUSERR: u32 = 1 << 8;
    pub const PRECISERR: u32 = 1 << 9;
    pub const IMPRECISERR: u32 = 1 << 10;
    pub const UNSTKERR: u32 = 1 << 11;
    pub const STKERR: u32 = 1 << 12;
    pub const LSPERR: u32 = 1 << 13;
    /// `BFAR` holds the faulting address.
    pub const BFARVALID: u32 = 1 << 15;
    /// Undefined instruction, invalid state (e.g. ARM state), invalid
    /// `EXC_RETURN`, no coprocessor (the FPU off).
    pub const UNDEFINSTR: u32 = 1 << 16;
    pub const INVSTATE: u32 = 1 << 17;
    pub const INVPC: u32 = 1 << 18;
    pub const NOCP: u32 = 1 << 19;
    /// Unaligned access where alignment is required, division by zero.
    pub const UNALIGNED: u32 = 1 << 24;
    pub const DIVBYZERO: u32 = 1 << 25;

    /// Stacking errors: the exception frame could not be written or read,
    /// so its saved registers cannot be trusted.
    pub const STACKING: u32 = MUNSTKERR | MSTKERR | MLSPERR | UNSTKERR | STKERR | LSPERR;
}

/// A fault on Armv7-M: its kind, and the address it concerns if the core
/// recorded one (or, for a fetch, the instruction's).
///
/// `cfsr`, `mmfar` and `bfar` are the registers as the fault left them,
/// `pc` the stacked program counter (exact on M-profile) and `mapped` what
/// the process may do at an address (its region map), which tells an
/// access to nothing (unmapped) from one its rights forbid. The
/// MemManage status comes first, then the bus fault, then the usage fault.
pub fn classify_armv7m(
    cfsr: u32,
    mmfar: u32,
    bfar: u32,
    pc: u32,
    mapped: impl Fn(u32) -> Option<Access>,
) -> (FaultKind, Option<u32>) {
    use cfsr::*;
    let unmapped_or = |address: u32, kind: FaultKind| match mapped(address) {
        None => FaultKind::Unmapped,
        Some(_) => kind,
    };
    if cfsr & DACCVIOL != 0 {
        let address = (cfsr & MMARVALID != 0).then_some(mmfar);
        return match address {
            Some(address) => (unmapped_or(address, FaultKind::Permission), Some(address)),
            None => (FaultKind::Permission, None),
        };
    }
    if cfsr & IACCVIOL != 0 {
        let kind = match mapped(pc) {
            None => FaultKind::Unmapped,
            Some(access) if !access.execute => FaultKind::ExecuteNever,
            Some(_) => FaultKind::Permission,
        };
        return (kind, Some(pc));
    }
    if cfsr & (MSTKERR | MUNSTKERR | MLSPERR) != 0 {
        // The stack pointer led outside the process's memory.
        return (FaultKind::Unmapped, None);
    }
    if cfsr & IBUSERR != 0 {
        return (FaultKind::OtherAbort, Some(pc));
    }
    if cfsr & (PRECISERR | IMPRECISERR | STKERR | UNSTKERR | LSPERR) != 0 {
        return (FaultKind::OtherAbort, (cfsr & (PRECISERR | BFARVALID) == PRECISERR | BFARVALID).then_some(bfar));
    }
    if cfsr & UNALIGNED != 0 {
        return (FaultKind::Alignment, None);
    }
    if cfsr & (UNDEFINSTR | INVSTATE | INVPC | NOCP) != 0 {
        return (FaultKind::UndefinedInstruction, Some(pc));
    }
    // Division by zero (when trapped), or nothing recorded.
    (FaultKind::OtherAbort, Some(pc))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process with code at 0x1000 (read, execute) and its stack at
    /// 0x2000 (read, write): what `classify_armv7m` asks.
    fn regions(address: u32) -> Option<Access> {
        match address {
            0x1000..=0x1fff => Some(Access::READ_EXECUTE),
            0x2000..=0x2fff => Some(Access::READ_WRITE),
            _ => None,
        }
    }

    #[test]
    fn armv7m_faults_are_classified_by_status_and_region() {
        use cfsr::*;
        let pc = 0x1010;
        let classify = |status: u32, mmfar: u32, bfar: u32| classify_armv7m(status, mmfar, bfar, pc, regions);
        // A load from kernel RAM; a store to its own code; no address.
        assert_eq!(classify(DACCVIOL | MMARVALID, 0x2000_0000, 0), (FaultKind::Unmapped, Some(0x2000_0000)));
        assert_eq!(classify(DACCVIOL | MMARVALID, 0x1004, 0), (FaultKind::Permission, Some(0x1004)));
        assert_eq!(classify(DACCVIOL, 0xdead, 0), (FaultKind::Permission, None));
        // Fetches: from its stack (execute-never), from nowhere.
        let on_stack = classify_armv7m(IACCVIOL, 0, 0, 0x2ff8, regions);
        assert_eq!(on_stack, (FaultKind::ExecuteNever, Some(0x2ff8)));
        assert_eq!(classify_armv7m(IACCVIOL, 0, 0, 0x8000, regions), (FaultKind::Unmapped, Some(0x8000)));
        // A stack pointer aimed outside its memory.
        assert_eq!(classify(MSTKERR, 0, 0), (FaultKind::Unmapped, None));
        // Bus faults: a device that refuses, precise with its address, imprecise without.
        assert_eq!(classify(PRECISERR | BFARVALID, 0, 0x4000_4000), (FaultKind::OtherAbort, Some(0x4000_4000)));
        assert_eq!(classify(IMPRECISERR, 0, 0x4000_4000), (FaultKind::OtherAbort, None));
        assert_eq!(classify(IBUSERR, 0, 0), (FaultKind::OtherAbort, Some(pc)));
        // Usage faults.
        assert_eq!(classify(UNALIGNED, 0, 0), (FaultKind::Alignment, None));
        for status in [UNDEFINSTR, INVSTATE, INVPC, NOCP] {
            assert_eq!(classify(status, 0, 0), (FaultKind::UndefinedInstruction, Some(pc)), "{status:#x}");
        }
        for status in [DIVBYZERO, 0] {
            assert_eq!(classify(status, 0, 0), (FaultKind::OtherAbort, Some(pc)), "{status:#x}");
        }
        // MemManage outranks a bus fault recorded with it.
        assert_eq!(classify(DACCVIOL | MMARVALID | PRECISERR, 0x3000, 0), (FaultKind::Unmapped, Some(0x3000)));
    }

    #[test]
    fn classifies() {
        assert_eq!(classify_data_abort(0x007), FaultKind::Unmapped);
        assert_eq!(classify_data_abort(0x80F), FaultKind::Permission);
        assert!(is_write(0x80F));
        assert_eq!(classify_data_abort(0x001), FaultKind::Alignment);
        assert_eq!(classify_data_abort(0x408), FaultKind::OtherAbort);
        assert_eq!(classify_prefetch_abort(0x00F, true), FaultKind::ExecuteNever);
        assert_eq!(classify_prefetch_abort(0x00D, false), FaultKind::Permission);
        assert_eq!(classify_prefetch_abort(0x005, false), FaultKind::Unmapped);
    }
}
