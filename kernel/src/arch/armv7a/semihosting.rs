//! Ending the QEMU run with an exit status through Arm semihosting
//! (`SYS_EXIT_EXTENDED`; QEMU needs `-semihosting-config enable=on`).

use core::arch::asm;

const SYS_EXIT_EXTENDED: u32 = 0x20;
const ADP_STOPPED_APPLICATION_EXIT: u32 = 0x20026;

/// Asks the host to exit with `status`. If no debugger or emulator handles
/// semihosting the call traps like any `svc`, so this must only run in a
/// privileged mode; if it returns anyway, the core sleeps forever.
pub fn exit(status: u32) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, status];
    // SAFETY: the semihosting call reads the two-word block we pass and
    // does not touch other memory.
    unsafe {
        asm!("svc 0x123456", inout("r0") SYS_EXIT_EXTENDED => _, in("r1") block.as_ptr(), options(nostack));
    }
    loop {
        aarch32_cpu::asm::wfi();
    }
}
