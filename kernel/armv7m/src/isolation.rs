//! The second step's mechanisms, before the portable kernel runs on them:
//! unprivileged programs (Thread mode, process stack) that may touch only
//! their MPU regions, a supervisor call back into the kernel, and faults
//! that end the program that took them while the kernel goes on.
//!
//! Five programs run one after another, each with two regions: the
//! programs' code (read-only, executable) and its own 1 KiB stack (read
//! and write, never executed). The kernel runs privileged on the default
//! memory map (`PRIVDEFENA`). `hello` calls the kernel and exits; the next
//! three try what they must not, the kernel's RAM, a device they were not
//! given and code on their own stack, and each must end in a MemManage
//! fault at that address; `peeker` reads the stack `hello` used, which is
//! no longer mapped for it. Then `hello` runs again: the kernel and the
//! programs after a fault are unharmed. Then preempt.rs runs two programs
//! at once.

use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};

use kernel_core::fault::{cfsr, classify_armv7m};
use kernel_core::mpu::Region;
use kernel_core::pagetable::MemoryType;
use kernel_core::Access;
use tessera_abi::FaultKind;

use crate::regs::{BFAR, CFSR, MMFAR, MPU_CTRL, MPU_RASR, MPU_RBAR, SHCSR};
use crate::{read, write, Uart};

/// `SVC` calls a program makes (r0): say a number (r1), exit (status in
/// r1), a round done (preempt.rs; its number in r1).
const CALL_SAY: u32 = 1;
pub const CALL_EXIT: u32 = 2;
pub const CALL_ROUND: u32 = 3;
/// Calls of the benchmark programs (bench.rs): nothing, give the core to
/// the other program, note the time.
pub const CALL_NULL: u32 = 4;
pub const CALL_YIELD: u32 = 5;
pub const CALL_MARK: u32 = 6;

/// What the exception trampolines pass.
pub const KIND_SVC: u32 = 0;
const KIND_MEMMANAGE: u32 = 1;
const KIND_BUSFAULT: u32 = 2;
const KIND_USAGEFAULT: u32 = 3;

extern "C" {
    static __user_text_start: u32;
    static __user_stacks: u32;
    fn user_hello();
    fn user_kernel_reader();
    fn user_uart_writer();
    fn user_stack_runner();
    fn user_peeker();
}

/// A word of kernel data in RAM, which the `reader` program aims at.
#[no_mangle]
static KERNEL_WORD: AtomicU32 = AtomicU32::new(0x5ec2_e7a1);

// The programs, in `.user_text`. Each has only its own code (the region
// holds nothing else) and uses no library code.
core::arch::global_asm!(
    ".section .user_text, \"ax\", %progbits",
    ".thumb",
    ".syntax unified",
    // hello: says 42, writes a mark on its stack, exits with 0.
    ".global user_hello",
    ".thumb_func",
    "user_hello:",
    "    movs r0, #1",
    "    movs r1, #42",
    "    svc #0",
    "    ldr r2, =0xc0ffee",
    "    str r2, [sp, #-4]",
    "    movs r0, #2",
    "    movs r1, #0",
    "    svc #0",
    "    b .",
    // reader: loads a word of kernel data.
    ".global user_kernel_reader",
    ".thumb_func",
    "user_kernel_reader:",
    "    ldr r2, =KERNEL_WORD",
    "    ldr r1, [r2]",
    "    movs r0, #1",
    "    svc #0",
    "    b .",
    // uart writer: writes to the board's UART, which it was not given.
    ".global user_uart_writer",
    ".thumb_func",
    "user_uart_writer:",
    "    ldr r2, ={uart}",
    "    movs r1, #0x41",
    "    str r1, [r2]",
    "    movs r0, #2",
    "    svc #0",
    "    b .",
    // stack runner: writes an instruction to its stack and jumps there.
    ".global user_stack_runner",
    ".thumb_func",
    "user_stack_runner:",
    "    ldr r2, =0xe7fee7fe",
    "    sub sp, sp, #8",
    "    str r2, [sp]",
    "    mov r3, sp",
    "    adds r3, r3, #1",
    "    bx r3",
    // peeker: reads the first stack (hello's), not its own.
    ".global user_peeker",
    ".thumb_func",
    "user_peeker:",
    "    ldr r2, =__user_stacks",
    "    ldr r1, [r2, #1020]",
    "    movs r0, #1",
    "    svc #0",
    "    b .",
    ".ltorg",
    // Exception entry from a program: the frame is on its process stack;
    // `tessera_exception` returns the process stack to go on with (the
    // same, or the next program's first frame).
    ".section .text.tessera_traps, \"ax\", %progbits",
    // PendSV, pended once by `run`: Thread mode becomes unprivileged and
    // the exception returns to the first program's frame on its stack.
    ".global tessera_pendsv",
    ".thumb_func",
    "tessera_pendsv:",
    // Once programs run at once (preempt.rs) and Thread mode is already
    // unprivileged, PendSV switches; the first PendSV enters the first.
    "    mrs r0, control",
    "    tst r0, #1",
    "    beq 1f",
    "    ldr r0, =TESSERA_PREEMPTING",
    "    ldr r0, [r0]",
    "    cmp r0, #0",
    "    bne.w tessera_pendsv_switch",
    "1:",
    "    mrs r0, control",
    "    orr r0, r0, #1",
    "    msr control, r0",
    "    isb",
    "    ldr lr, =0xfffffffd",
    "    bx lr",
    ".ltorg",
    ".global tessera_svc",
    ".thumb_func",
    "tessera_svc:",
    "    movs r1, #0",
    "    b 1f",
    ".global tessera_memmanage",
    ".thumb_func",
    "tessera_memmanage:",
    "    movs r1, #1",
    "    b 1f",
    ".global tessera_busfault",
    ".thumb_func",
    "tessera_busfault:",
    "    movs r1, #2",
    "    b 1f",
    ".global tessera_usagefault",
    ".thumb_func",
    "tessera_usagefault:",
    "    movs r1, #3",
    // An exception taken from Handler mode (EXC_RETURN bit 2 clear: the
    // main stack) is the kernel's own: not a program's to take the blame.
    "1:  tst lr, #4",
    "    beq.w tessera_fault",
    "    mrs r0, psp",
    "    push {{r4, lr}}",
    "    bl tessera_exception",
    "    msr psp, r0",
    "    pop {{r4, pc}}",
    uart = const crate::board::UART,
);

/// A program: its name, its entry, which stack slot it runs on, and the
/// fault it must take (`None`: it must exit with 0), with the address.
struct Program {
    name: &'static str,
    entry: unsafe extern "C" fn(),
    stack: u32,
    expect: Expect,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Exit,
    /// A MemManage fault of this kind, at this address if given.
    Fault(FaultKind, Option<u32>),
}

fn programs() -> [Program; 6] {
    let stacks = stacks_base();
    [
        Program { name: "hello", entry: user_hello, stack: 0, expect: Expect::Exit },
        Program {
            name: "reader",
            entry: user_kernel_reader,
            stack: 1,
            expect: Expect::Fault(FaultKind::Unmapped, Some(KERNEL_WORD.as_ptr() as u32)),
        },
        Program {
            name: "uart-writer",
            entry: user_uart_writer,
            stack: 1,
            expect: Expect::Fault(FaultKind::Unmapped, Some(crate::board::UART)),
        },
        Program {
            name: "stack-runner",
            entry: user_stack_runner,
            stack: 1,
            expect: Expect::Fault(FaultKind::ExecuteNever, None),
        },
        Program {
            name: "peeker",
            entry: user_peeker,
            stack: 1,
            expect: Expect::Fault(FaultKind::Unmapped, Some(stacks + 1020)),
        },
        Program { name: "hello", entry: user_hello, stack: 0, expect: Expect::Exit },
    ]
}

pub fn stacks_base() -> u32 {
    core::ptr::addr_of!(__user_stacks) as u32
}

/// The program running (index into `programs()`), and how many ended as
/// they should.
static CURRENT: AtomicU32 = AtomicU32::new(0);
static AS_EXPECTED: AtomicU32 = AtomicU32::new(0);

/// What a program on stack slot `slot` may do at `address`: the
/// programs' code region and its stack region, as `map_slot` maps them.
fn mapped(slot: u32, address: u32) -> Option<Access> {
    let code = core::ptr::addr_of!(__user_text_start) as u32;
    let stack = stacks_base() + slot * 1024;
    if address.wrapping_sub(code) < 1024 {
        Some(Access::READ_EXECUTE)
    } else if address.wrapping_sub(stack) < 1024 {
        Some(Access::READ_WRITE)
    } else {
        None
    }
}

/// Programs the MPU for program `index`. Returns its stack's top.
fn map(index: usize) -> u32 {
    map_slot(programs()[index].stack)
}

/// The stack slots programs run on (`.user_stacks` in link.x).
const SLOTS: usize = 2;

/// Each slot's two regions as `MPU_RBAR`/`MPU_RASR` values, encoded once
/// (a process's registers are computed when it is mapped, not on every
/// switch); all zero until then.
static SLOT_REGISTERS: [[AtomicU32; 4]; SLOTS] = [const { [const { AtomicU32::new(0) }; 4] }; SLOTS];

/// Encodes slot `slot`'s registers: region 0 the programs' code, region 1
/// that stack. The encoding is kernel-core's (`mpu::Region`), tested on
/// the host against the architecture's rules.
#[cold]
#[inline(never)]
fn prepare_slot(slot: usize) {
    let code = core::ptr::addr_of!(__user_text_start) as u32;
    let stack = stacks_base() + slot as u32 * 1024;
    let regions = [
        Region::new(code, 1024, Access::READ_EXECUTE, MemoryType::Normal),
        Region::new(stack, 1024, Access::READ_WRITE, MemoryType::Normal),
    ];
    for (number, region) in regions.into_iter().enumerate() {
        let Ok(region) = region else { panic!("the programs' code and stacks are 1 KiB aligned (link.x)") };
        let (rbar, rasr) = region.encode(number as u8);
        SLOT_REGISTERS[slot][number * 2].store(rbar, Ordering::Relaxed);
        SLOT_REGISTERS[slot][number * 2 + 1].store(rasr, Ordering::Relaxed);
    }
}

/// Programs the MPU for a program on stack slot `slot` (two `RBAR`/`RASR`
/// pairs). Returns the stack's top.
pub fn map_slot(slot: u32) -> u32 {
    let words = &SLOT_REGISTERS[slot as usize];
    if words[1].load(Ordering::Relaxed) == 0 {
        prepare_slot(slot as usize);
    }
    for pair in words.chunks_exact(2) {
        write(MPU_RBAR, pair[0].load(Ordering::Relaxed));
        write(MPU_RASR, pair[1].load(Ordering::Relaxed));
    }
    // SAFETY: barriers only.
    unsafe { core::arch::asm!("dsb", "isb", options(nostack, preserves_flags)) };
    stacks_base() + (slot + 1) * 1024
}

/// Turns the MPU and the fault exceptions on, then drops to the first
/// program (unprivileged Thread mode on the process stack). Never returns:
/// the last program's end ends the run.
#[cfg_attr(feature = "bench", allow(dead_code))]
pub fn run() -> ! {
    let _ = writeln!(Uart, "kernel: running 6 unprivileged programs under the MPU, one at a time");
    enter(first_frame(0))
}

/// Turns the MPU and the fault exceptions on, then drops to the program
/// whose first frame is `first` (mapped already). Never returns.
pub fn enter(first: *mut u32) -> ! {
    write(SHCSR, read(SHCSR) | (0b111 << 16));
    write(MPU_CTRL, 0b101); // ENABLE, PRIVDEFENA: the kernel keeps the default map.
                            // SAFETY: the process stack holds the first program's frame, in its
                            // own region; PendSV (`tessera_pendsv`) makes Thread mode
                            // unprivileged and returns into that frame. The kernel never comes
                            // back here: from now on it runs only in its exception handlers, on
                            // the main stack.
    unsafe {
        core::arch::asm!(
            "msr psp, {first}",
            "str {pend}, [{icsr}]",
            "dsb",
            "isb",
            "2: b 2b",
            first = in(reg) first,
            pend = in(reg) 1u32 << 28,
            icsr = in(reg) 0xE000_ED04u32,
            options(noreturn)
        )
    }
}

/// Maps program `index` and writes its first exception frame at the top
/// of its stack (registers zero, its entry as pc without the Thumb bit,
/// xPSR with only T set, lr a return nowhere); returns the frame.
fn first_frame(index: usize) -> *mut u32 {
    let top = map(index);
    let first = (top - 32) as *mut u32;
    let entry = programs()[index].entry as usize as u32 & !1;
    let words = [0, 0, 0, 0, 0, 0xffff_ffff, entry, 1 << 24];
    for (offset, word) in words.into_iter().enumerate() {
        // SAFETY: the 32 bytes below the top of the program's stack, its
        // own region, which nothing else uses now.
        unsafe { first.add(offset).write_volatile(word) };
    }
    first
}

/// The exceptions a program raises: `kind` says which, `frame` is its
/// process stack (r0-r3, r12, lr, pc, xPSR). Returns the process stack to
/// return to.
#[no_mangle]
extern "C" fn tessera_exception(frame: *mut u32, kind: u32) -> *mut u32 {
    if crate::preempt::running() {
        return crate::preempt::exception(frame, kind);
    }
    let index = CURRENT.load(Ordering::Relaxed) as usize;
    let programs = programs();
    let program = &programs[index];
    let ended = if kind == KIND_SVC {
        // SAFETY: the hardware stacked eight words at the process stack
        // pointer, inside the program's stack region.
        let (call, argument) = unsafe { (frame.read_volatile(), frame.add(1).read_volatile()) };
        match call {
            CALL_SAY => {
                let _ = writeln!(Uart, "kernel: program {} ({}) says {}", index + 1, program.name, argument);
                None
            }
            CALL_EXIT => Some((argument == 0 && program.expect == Expect::Exit, "exited")),
            _ => Some((false, "made an unknown call")),
        }
    } else {
        // The address registers first: on the M4 MMFAR and BFAR share one
        // register, and clearing CFSR's valid bits may end what they hold.
        let (mmfar, bfar) = (read(MMFAR), read(BFAR));
        let status = read(CFSR);
        // Clear what was recorded (write ones).
        write(CFSR, status);
        let what = match kind {
            KIND_MEMMANAGE => "MemManage fault",
            KIND_BUSFAULT => "bus fault",
            KIND_USAGEFAULT => "usage fault",
            _ => "exception",
        };
        // A stacking error leaves no frame to trust; otherwise pc is its
        // seventh word.
        let pc = if status & cfsr::STACKING != 0 {
            0
        } else {
            // SAFETY: as for the SVC above: the stacked frame, in the
            // program's stack region.
            unsafe { frame.add(6).read_volatile() }
        };
        // The portable classification (kernel-core), against this
        // program's two regions.
        let (fault, address) = classify_armv7m(status, mmfar, bfar, pc, |address| mapped(program.stack, address));
        match address {
            Some(address) => {
                let _ = writeln!(
                    Uart,
                    "kernel: program {} ({}): {what}, {} at {address:#010x}; ended, the kernel goes on",
                    index + 1,
                    program.name,
                    fault.name(),
                );
            }
            None => {
                let _ = writeln!(
                    Uart,
                    "kernel: program {} ({}): {what}, {}; ended, the kernel goes on",
                    index + 1,
                    program.name,
                    fault.name(),
                );
            }
        }
        let expected = match program.expect {
            Expect::Fault(kind_expected, at) => {
                kind == KIND_MEMMANAGE && fault == kind_expected && at.is_none_or(|at| address == Some(at))
            }
            Expect::Exit => false,
        };
        Some((expected, "faulted"))
    };
    let Some((expected, how)) = ended else { return frame };
    if expected {
        AS_EXPECTED.fetch_add(1, Ordering::Relaxed);
    } else {
        let _ = writeln!(Uart, "kernel: program {} ({}) {how}, which it should not have", index + 1, program.name);
    }
    let next = index + 1;
    if next == programs.len() {
        let good = AS_EXPECTED.load(Ordering::Relaxed) as usize == programs.len();
        let _ = writeln!(
            Uart,
            "kernel: isolation checks {} ({} of {} programs as expected)",
            if good { "passed" } else { "FAILED" },
            AS_EXPECTED.load(Ordering::Relaxed),
            programs.len()
        );
        if !good {
            crate::exit(1);
        }
        // Next: two programs at once, preempted (preempt.rs).
        return crate::preempt::start();
    }
    CURRENT.store(next as u32, Ordering::Relaxed);
    // The next program starts on the EXC_RETURN this exception came with:
    // right while none of these programs uses the FPU (a program that did
    // would leave an FP frame expected and lazy state pending; preempt.rs
    // switches with its own EXC_RETURN per program).
    first_frame(next)
}
