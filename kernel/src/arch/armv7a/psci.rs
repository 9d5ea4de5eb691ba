//! Powering off through PSCI `SYSTEM_OFF`, for images without semihosting.
//!
//! QEMU's `virt` machine (without `virtualization=on` or secure firmware)
//! implements PSCI itself and takes calls through `hvc` (its device tree says
//! `method = "hvc"`). The call does not return on QEMU; on a machine with
//! nothing there the core sleeps forever.

use core::arch::asm;

/// PSCI 0.2 `SYSTEM_OFF` (32-bit calling convention).
const SYSTEM_OFF: u32 = 0x8400_0008;

/// Asks the firmware (QEMU) to power the machine off.
pub fn system_off() -> ! {
    // SAFETY: `SYSTEM_OFF` takes no memory arguments; QEMU ends the run.
    // If nothing handles the call, the core just carries on to the loop.
    unsafe {
        asm!(
            ".arch_extension virt",
            "hvc #0",
            inout("r0") SYSTEM_OFF => _,
            options(nostack)
        );
    }
    loop {
        aarch32_cpu::asm::wfi();
    }
}
