//! Classifying aborts from the fault status registers (short-descriptor
//! format DFSR/IFSR) into the [`FaultKind`] the kernel reports.

use tessera_abi::FaultKind;

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

#[cfg(test)]
mod tests {
    use super::*;

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
