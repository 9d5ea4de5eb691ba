//! Tessera on Armv7E-M (a Cortex-M4F with the MPU): the first steps of the
//! port docs/mt3620.md designs. The core boots from the vector table at
//! the start of code memory; [`tessera_reset`] points `VTOR` at it, copies
//! data into RAM (unless the board's loader wrote it) and clears BSS, and
//! [`main`] prints on the board's UART what it found: the core (CPUID),
//! the MPU's region count against the board description's, the FPU, and
//! the portable kernel core's clock conversions running on this core.
//! In the build with the mechanism checks (feature `checks`), `isolation`
//! then runs unprivileged programs under the MPU and `preempt` two at once
//! under SysTick preemption with their FPU state. Where the board has
//! program slots and the kernel was built with its boot image, `portable`
//! then runs the portable kernel (`kernel_core::kernel`) on the MPU with
//! those programs (in the system build, straight after the boot checks:
//! `init` alone, which starts the servers and the apps); the run ends
//! when `init` switches the machine off (through semihosting on QEMU,
//! halted on a board). docs/mt3620.md has the steps still to come.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

mod board {
    include!(concat!(env!("OUT_DIR"), "/board.rs"));
}
#[cfg(feature = "bench")]
mod bench;
#[cfg(feature = "checks")]
mod isolation;
mod portable;
#[cfg(feature = "checks")]
mod preempt;
mod regs;

use core::fmt::{self, Write};
use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};

use kernel_core::time::Clock;
use regs::{CPACR, CPUID, ICSR, MPU_TYPE, VTOR};

// The vector table: the initial stack pointer, then the handlers. The
// system exceptions and the board's external interrupts all end the run
// (nothing enables them) but for those the mechanism checks use, where
// they run (isolation.rs); the portable kernel has a table of its own
// (portable.rs).
macro_rules! vector_table {
    ($memmanage:literal, $busfault:literal, $usagefault:literal, $svc:literal, $pendsv:literal, $systick:literal) => {
        core::arch::global_asm!(
            ".section .vectors, \"a\", %progbits",
            ".global tessera_vectors",
            "tessera_vectors:",
            "    .word __stack_top",
            "    .word tessera_reset",
            // NMI, HardFault.
            "    .word tessera_fault, tessera_fault",
            // MemManage, BusFault, UsageFault.
            concat!("    .word ", $memmanage, ", ", $busfault, ", ", $usagefault),
            // Reserved (4), SVCall, DebugMonitor, reserved, PendSV, SysTick.
            "    .word 0, 0, 0, 0",
            concat!("    .word ", $svc, ", tessera_fault, 0, ", $pendsv, ", ", $systick),
            // The board's external interrupts.
            "    .rept {interrupts}",
            "    .word tessera_fault",
            "    .endr",
            interrupts = const board::INTERRUPTS,
        );
    };
}
#[cfg(feature = "checks")]
vector_table!(
    "tessera_memmanage",
    "tessera_busfault",
    "tessera_usagefault",
    "tessera_svc",
    "tessera_pendsv",
    "tessera_systick"
);
#[cfg(not(feature = "checks"))]
vector_table!("tessera_fault", "tessera_fault", "tessera_fault", "tessera_fault", "tessera_fault", "tessera_fault");

extern "C" {
    static tessera_vectors: u32;
    static mut __data_start: u32;
    static mut __data_end: u32;
    static __data_load: u32;
    static mut __bss_start: u32;
    static mut __bss_end: u32;
}

/// The reset handler: the core starts here with the stack pointer from the
/// vector table.
///
/// # Safety
///
/// Only the core's reset may call it (through the vector table): it
/// overwrites every static in RAM.
#[no_mangle]
pub unsafe extern "C" fn tessera_reset() -> ! {
    #[cfg(feature = "bench")]
    bench::start_clock();
    // Exceptions use this vector table wherever the image was loaded (a
    // loader that starts the core at the table's reset entry need not
    // have set VTOR).
    write(VTOR, addr_of!(tessera_vectors) as u32);
    // SAFETY: the linker script places `.data` in RAM between
    // `__data_start` and `__data_end` (word-aligned), loaded at
    // `__data_load` in code memory, and `.bss` between `__bss_start` and
    // `__bss_end`; nothing has read or written either yet (this is the
    // first code to run, with no Rust statics in use). Where the board's
    // loader writes `.data` itself, `__data_load` is `__data_start` and
    // the copy rewrites each word with its own value.
    unsafe {
        let mut from = addr_of!(__data_load);
        let mut to = addr_of_mut!(__data_start);
        while to < addr_of_mut!(__data_end) {
            write_volatile(to, read_volatile(from));
            to = to.add(1);
            from = from.add(1);
        }
        let mut to = addr_of_mut!(__bss_start);
        while to < addr_of_mut!(__bss_end) {
            write_volatile(to, 0);
            to = to.add(1);
        }
    }
    let status = main();
    if status != 0 {
        exit(status)
    }
    #[cfg(feature = "bench")]
    bench::run();
    #[cfg(all(feature = "checks", not(feature = "bench")))]
    isolation::run();
    #[cfg(not(feature = "checks"))]
    portable::boot()
}

/// Any exception: nothing should raise one yet.
#[no_mangle]
pub extern "C" fn tessera_fault() -> ! {
    let _ = writeln!(Uart, "kernel: unexpected exception (ICSR {:#010x})", read(ICSR));
    exit(1)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let _ = writeln!(Uart, "kernel panic: {info}");
    exit(101)
}

/// Reads the 32-bit register at `address`.
fn read(address: u32) -> u32 {
    // SAFETY: only called with the architecture's system registers above
    // and the board's UART, which are always mapped on this core and
    // have no read side effects that matter here.
    unsafe { read_volatile(address as *const u32) }
}

/// Writes `value` to the 32-bit register at `address`.
fn write(address: u32, value: u32) {
    // SAFETY: only called with the board's UART registers, CPACR and VTOR,
    // which the kernel alone drives.
    unsafe { write_volatile(address as *mut u32, value) }
}

/// The board's UART (`tessera_abi::uart`): a CMSDK APB UART, or a 16550
/// with 32-bit registers, at the address the board description gives.
struct Uart;

/// The board's UART's registers, at their physical addresses.
struct ConsoleRegisters;

impl tessera_abi::uart::Registers for ConsoleRegisters {
    fn read(&self, offset: u32) -> u32 {
        read(board::UART + offset)
    }

    fn write(&self, offset: u32, value: u32) {
        write(board::UART + offset, value)
    }
}

const UART_KIND: tessera_abi::uart::Kind =
    if board::UART_16550 { tessera_abi::uart::Kind::Ns16550 } else { tessera_abi::uart::Kind::Cmsdk };

impl Uart {
    fn init() {
        tessera_abi::uart::init(&ConsoleRegisters, UART_KIND, board::CLOCK_HZ);
    }

    fn put(byte: u8) {
        while !tessera_abi::uart::can_send(&ConsoleRegisters, UART_KIND) {}
        tessera_abi::uart::send(&ConsoleRegisters, UART_KIND, byte);
    }
}

impl Write for Uart {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        text.bytes().for_each(Uart::put);
        Ok(())
    }
}

fn main() -> u32 {
    Uart::init();
    let _ = writeln!(Uart, "kernel: Tessera on {} (Armv7E-M)", board::NAME);
    let cpuid = read(CPUID);
    // Implementer Arm (0x41), part number 0xC24: a Cortex-M4.
    let cortex_m4 = cpuid >> 24 == 0x41 && (cpuid >> 4) & 0xfff == 0xc24;
    let _ = writeln!(Uart, "kernel: CPUID {cpuid:#010x}{}", if cortex_m4 { ": a Cortex-M4" } else { "" });
    // MPU_TYPE.DREGION (bits 15:8): the data regions the MPU has.
    let regions = (read(MPU_TYPE) >> 8) & 0xff;
    let _ = writeln!(Uart, "kernel: MPU with {regions} regions (the board description says {})", board::MPU_REGIONS);
    // Full access to the FPU (CP10, CP11) for the programs; the kernel's
    // own code has no floating-point instructions (built for eabihf, but
    // it does no floating-point arithmetic). Reading it back says whether
    // it exists.
    write(CPACR, read(CPACR) | (0xf << 20));
    let fpu = (read(CPACR) >> 20) & 0xf == 0xf;
    let _ = writeln!(Uart, "kernel: FPU {}", if fpu { "present, enabled for User mode" } else { "absent" });
    // The portable kernel's clock, on this core's frequency.
    let clock = Clock::new(u64::from(board::CLOCK_HZ));
    let second = clock.micros(u64::from(board::CLOCK_HZ));
    let tick = clock.ticks(1);
    let _ = writeln!(
        Uart,
        "kernel: kernel-core's clock at {} Hz: {} ticks = {second} us, 1 us = {tick} ticks",
        board::CLOCK_HZ,
        board::CLOCK_HZ
    );
    let good = cortex_m4 && regions == board::MPU_REGIONS && fpu && second == 1_000_000;
    let _ = writeln!(Uart, "kernel: boot checks {}", if good { "passed" } else { "FAILED" });
    if good {
        0
    } else {
        1
    }
}

/// Ends the run with `status`: through semihosting on a board that has a
/// host for it (`SYS_EXIT_EXTENDED`; QEMU needs `-semihosting-config
/// enable=on`; on M-profile the call is `bkpt 0xab`), else by waiting for
/// interrupts forever (a real board, where the breakpoint would fault).
fn exit(status: u32) -> ! {
    if !board::SEMIHOSTING {
        let _ = writeln!(Uart, "kernel: halted with status {status}");
        loop {
            // SAFETY: `wfi` only waits; every interrupt is masked or ends
            // in `tessera_fault`, which comes back here.
            unsafe { core::arch::asm!("wfi", options(nomem, nostack)) };
        }
    }
    const SYS_EXIT_EXTENDED: u32 = 0x20;
    const ADP_STOPPED_APPLICATION_EXIT: u32 = 0x20026;
    let block = [ADP_STOPPED_APPLICATION_EXIT, status];
    // SAFETY: the semihosting call reads the two-word block we pass and
    // touches no other memory.
    unsafe {
        core::arch::asm!(
            "bkpt 0xab",
            inout("r0") SYS_EXIT_EXTENDED => _,
            in("r1") block.as_ptr(),
            options(nostack)
        );
    }
    loop {
        core::hint::spin_loop();
    }
}
