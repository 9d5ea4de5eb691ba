//! Tessera: a capability-based microkernel for Armv7-A.
//!
//! Boot flow: `entry.s` sets up stacks and vectors and calls [`kernel_main`],
//! which reads the device tree, turns the MMU on, starts the interrupt
//! controller and timer, and starts the root task `init` from the boot image.
//! From then on the kernel only runs on entry from user mode, or from the
//! idle wait in svc.s (its interrupts): the handlers at the bottom of this
//! file.
#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

mod arch;
mod board;
mod console;
mod kernel;
mod path_meter;
mod platform;

use arch::{gic, mmu, timer};
use core::sync::atomic::AtomicU32;
use kernel::KERNEL;
use kernel_core::capability::Capability;
use kernel_core::kernel::{Boot, UserFault, PROCESS_OBJECT_BYTES};
use kernel_core::text::Line;
use tessera_abi::bootimage::BootImage;
use tessera_abi::{ObjectType, Rights};
// Linked for its `memcpy`, which replaces the library's.
use tessera_copy as _;

/// Memory the kernel keeps for the programs it starts itself (the Pluton
/// security server and the root task).
const KERNEL_POOL_BYTES: u32 = 2 << 20;

/// Aligns the embedded boot image.
#[repr(C, align(4))]
struct Aligned<T: ?Sized>(T);

const BOOT_IMAGE_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/boot.img"));

/// The user programs xtask packed (see `abi/src/bootimage.rs`).
#[link_section = ".bootimage"]
#[used]
static BOOT_IMAGE: Aligned<[u8; BOOT_IMAGE_BYTES.len()]> =
    Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/boot.img")));

/// The root task's process object (the kernel makes it, not `Retype`), in
/// `.bss`: zero, as a new process object must be.
#[repr(C, align(16384))]
struct RootObject([AtomicU32; PROCESS_OBJECT_BYTES as usize / 4]);
// TTBR0 needs the first-level table 16 KiB aligned: the A7's objects are
// 16 KiB (the Armv7-M size must never reach this kernel).
const _: () = assert!(PROCESS_OBJECT_BYTES == 16384 && core::mem::align_of::<RootObject>() == 16384);

static ROOT_OBJECT: RootObject = RootObject([const { AtomicU32::new(0) }; PROCESS_OBJECT_BYTES as usize / 4]);

/// The Pluton security server's process object (the kernel makes it too,
/// before `init`: docs/pluton.md).
static PLUTON_OBJECT: RootObject = RootObject([const { AtomicU32::new(0) }; PROCESS_OBJECT_BYTES as usize / 4]);

/// The Pluton security server's priority: above `init`, so it takes and
/// wipes the device secret before `init` starts anything.
const PLUTON_PRIORITY: u32 = tessera_abi::ROOT_PRIORITY + 1;

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __kernel_end: u8;
}

/// Called once by `entry.s` in SVC mode with the MMU off and IRQs masked.
#[no_mangle]
extern "C" fn kernel_main() -> ! {
    let info = board::discover();
    console::set_uart(info.devices.uart as usize);
    let image = mmu::KernelImage {
        text_start: &raw const __text_start as u32,
        text_end: &raw const __text_end as u32,
        rodata_end: &raw const __rodata_end as u32,
    };
    let kernel_start = image.text_start;
    let kernel_end = &raw const __kernel_end as u32;
    let devices = board::DeviceMap::new(&info.devices);
    mmu::init(board::RAM_START, info.ram_size, &image, devices.sections());
    arch::close_user_state();
    console::set_uart(devices.virtual_address(info.devices.uart));
    log!(|line| line
        .str(concat!("Tessera ", env!("CARGO_PKG_VERSION"), " booting on "))
        .str(tessera_board_constants::NAME)
        .str(" (Cortex-A7)"));
    log!(|line| line
        .str("RAM ")
        .dec(info.ram_size >> 20)
        .str(" MiB at ")
        .hex(board::RAM_START)
        .str(", kernel ")
        .hex(kernel_start)
        .str("..")
        .hex(kernel_end)
        .str(" (")
        .str(info.found)
        .str(")"));
    gic::init(
        devices.virtual_address(info.devices.gic_distributor),
        devices.virtual_address(info.devices.gic_cpu_interface),
    );
    gic::enable(info.devices.timer_interrupt);
    timer::init(info.devices.timer_interrupt);
    let bootargs = &info.bootargs[..info.bootargs_len];
    #[cfg(feature = "bench")]
    {
        // Only the benchmark image lets User mode read the cycle counter.
        arch::allow_user_cycle_counter();
        // The kernel reports its own figures at shutdown, outside the
        // measured boot.
        platform::set_benchmark_mode(bootargs.split(|&b| b == b' ').any(|word| word == b"bench"));
    }
    let preempt_test =
        cfg!(feature = "test-hooks") && bootargs.split(|&b| b == b' ').any(|word| word == b"kernel.preempt-test");
    #[cfg(feature = "test-hooks")]
    {
        if bootargs.split(|&b| b == b' ').any(|word| word == b"kernel.panic-test") {
            // Lets the test suite check the panic path end to end.
            panic!("requested by the kernel.panic-test boot argument");
        }
    }

    let boot_image = match BootImage::parse(&BOOT_IMAGE.0) {
        Ok(image) => Some(image),
        Err(error) => {
            log!(|line| line
                .str("no usable boot image (")
                .str(error.reason())
                .str("); build with `cargo xtask build`"));
            None
        }
    };
    // Free RAM: the kernel keeps 2 MiB (the root task's program, stack and
    // second-level page tables: the only memory it allocates itself); all
    // the rest, from a 1 MiB boundary, becomes the root task's untyped memory,
    // up to the page QEMU's loader puts the device secret in, which no
    // untyped capability covers (docs/pluton.md).
    let ram_end = board::RAM_START + info.ram_size;
    let untyped_end = ram_end.min(board::SECRET);
    if untyped_end < ram_end - 0x1000 {
        log!(|line| line.str("RAM above the device secret's page ").hex(board::SECRET).str(" is not used"));
    }
    let untyped_start = (kernel_end + KERNEL_POOL_BYTES).next_multiple_of(1 << 20).min(untyped_end);
    let mut kernel = KERNEL.enter();
    kernel.init(Boot {
        ram: (board::RAM_START, info.ram_size),
        pool: (kernel_end, untyped_start),
        root_object: ROOT_OBJECT.0.as_ptr() as u32,
        boot_image,
        boot_image_address: BOOT_IMAGE.0.as_ptr() as u32,
        preempt_test,
    });
    log!(|line| line
        .dec(boot_image.map_or(0, |i| i.len()) as u32)
        .str(" programs in the boot image, ")
        .dec(kernel.free_frames() as u32 * 4)
        .str(" KiB for the kernel, ")
        .dec((untyped_end - untyped_start) / 1024)
        .str(" KiB untyped for init, timer ")
        .dec(timer::frequency() as u32)
        .str(" Hz"));
    // The Pluton security server first: the only process that gets the
    // device secret's page, and an endpoint whose sending side only `init`
    // gets (docs/pluton.md).
    let pluton = if boot_image.is_some_and(|image| image.elf("plutond").is_some()) {
        let pid =
            kernel.spawn_program("plutond", PLUTON_OBJECT.0.as_ptr() as u32, PLUTON_PRIORITY, bootargs).unwrap_or_else(
                |error| fail(Line::new().str("cannot start the Pluton security server: ").str(error.name())),
            );
        let endpoint = kernel.kernel_endpoint().unwrap_or_else(|_| panic!("no memory for plutond's endpoint"));
        let secret =
            Capability::new(ObjectType::Frame, Rights::READ | Rights::WRITE | Rights::INSPECT, board::SECRET, 4096);
        let receive = Capability::new(ObjectType::Endpoint, Rights::RECEIVE, endpoint, 64);
        // What it measures (docs/pluton.md, "The boot chain"): the kernel's
        // code and read-only data as loaded, then the boot image. Read-only,
        // in this order, after the secret and the endpoint.
        let measured = Rights::READ | Rights::INSPECT;
        let code = Capability::new(ObjectType::Frame, measured, kernel_start, image.rodata_end - kernel_start);
        let boot_image_bytes = (BOOT_IMAGE_BYTES.len() as u32).next_multiple_of(4096);
        let programs = Capability::new(ObjectType::Frame, measured, BOOT_IMAGE.0.as_ptr() as u32, boot_image_bytes);
        let given = [secret, receive, code, programs]
            .into_iter()
            .try_for_each(|capability| kernel.give(pid, capability).map(drop));
        if given.is_err() {
            panic!("cannot give the Pluton security server its capabilities");
        }
        Some(endpoint)
    } else {
        // Nobody may read the secret, so nobody keeps it: a driver given a
        // DMA-capable device could otherwise find it in RAM.
        // SAFETY: the secret's page is RAM in the kernel's identity map,
        // outside the kernel's image, its pool and every untyped range (it
        // was excluded above), and no process exists yet to map it.
        unsafe { core::ptr::write_bytes(board::SECRET as *mut u8, 0, 4096) };
        log!("no Pluton security server in the boot image: the device secret was wiped unread");
        None
    };
    let root_pid = match kernel.spawn_root(bootargs) {
        Ok(pid) => pid,
        Err(error) => fail(Line::new().str("cannot start the root task 'init': ").str(error.name())),
    };
    let root = (root_pid & 0xFFFF) as usize;
    let devices = &info.user_devices;
    let grants = kernel_core::kernel::RootGrants {
        untyped: (untyped_start, untyped_end - untyped_start),
        device_regions: &devices.regions[..devices.region_count],
        interrupts: &devices.interrupts[..devices.interrupt_count],
        boot_image: (BOOT_IMAGE.0.as_ptr() as u32, (BOOT_IMAGE_BYTES.len() as u32).next_multiple_of(4096)),
    };
    if let Err(error) = kernel.give_root_capabilities(root, &grants) {
        fail(Line::new().str("cannot give the root task its capabilities: ").str(error.name()));
    }
    if let Some(endpoint) = pluton {
        // `init` mints a badge per client from this (docs/pluton.md).
        let rights = Rights::SEND | Rights::GRANT | Rights::DERIVE;
        if kernel.give(root_pid, Capability::new(ObjectType::Endpoint, rights, endpoint, 64)).is_err() {
            panic!("cannot give the root task the Pluton security server's endpoint");
        }
    }
    let resume = kernel.prepare_return();
    drop(kernel);
    #[cfg(feature = "bench")]
    {
        // From the first instruction of `entry.s` (which starts the counter)
        // to here, the last before `init`'s first: `cargo xtask bench` reads
        // it from a boot of the user image's programs.
        let cycles = arch::cp15::read_pmccntr();
        console::begin_kernel_line();
        console::write_bytes(Line::new().str("BENCH boot_to_init_instructions ").dec(cycles).str("\n").as_bytes());
    }
    // SAFETY: `prepare_return` returned the root task's context (never null
    // here: it is ready), which lives in the static process table and has a
    // User mode CPSR.
    unsafe { arch::context::enter_user(resume) }
}

/// Exclusive access to the kernel for one entry (see `kernel::KernelCell`).
fn enter() -> kernel::KernelGuard<'static> {
    let kernel = KERNEL.enter();
    #[cfg(feature = "check-invariants")]
    if let Err(violation) = kernel.check_entry_invariants() {
        fail(
            Line::new()
                .str("invariant broken at a kernel entry: ")
                .str(violation.invariant)
                .str(" (pid ")
                .dec(violation.pid)
                .str(")"),
        );
    }
    kernel
}

/// `svc` from user mode: the caller's registers are saved at `_saved` (its
/// context in the process table). Returns the context to resume.
#[no_mangle]
extern "C" fn tessera_syscall(saved: *mut u32) -> *mut u32 {
    #[cfg(feature = "path-meter")]
    // SAFETY: `entry.s` passes the caller's saved context, r0-r12 first, so
    // word 7 is its r7 (the syscall number); nothing writes it meanwhile.
    path_meter::begin(unsafe { saved.add(7).read() });
    #[cfg(not(feature = "path-meter"))]
    let _ = saved;
    let resume = enter().syscall();
    path_meter::end();
    resume
}

/// IRQ from user mode or the idle wait, from svc.s's IRQ path, which
/// acknowledged interrupt `id` and left it to Rust (anything but its common
/// case), or found none pending (`id` of at least `gic::SPURIOUS`).
#[no_mangle]
extern "C" fn tessera_irq(_saved: *mut u32, id: u32) -> *mut u32 {
    path_meter::begin(path_meter::what::IRQ);
    let resume = if id < gic::SPURIOUS { enter().interrupt_acknowledged(id) } else { enter().interrupt() };
    path_meter::end();
    resume
}

/// Undefined instruction (0), prefetch abort (1) or data abort (2) in user mode.
#[no_mangle]
extern "C" fn tessera_user_fault(_saved: *mut u32, kind: u32) -> *mut u32 {
    path_meter::begin(path_meter::what::FAULT + kind);
    let fault = match kind {
        0 => UserFault::Undefined,
        1 => UserFault::Prefetch { status: arch::cp15::read_ifsr(), address: arch::cp15::read_ifar() },
        _ => UserFault::Data { status: arch::cp15::read_dfsr(), address: arch::cp15::read_dfar() },
    };
    let resume = enter().user_fault(fault);
    path_meter::end();
    resume
}

/// An exception taken in the kernel itself: always a bug.
#[no_mangle]
extern "C" fn tessera_kernel_fault(kind: u32, return_address: u32, saved_status: u32) -> ! {
    let what = match kind {
        0 => "undefined instruction",
        1 => "prefetch abort",
        2 => "data abort",
        3 => "reset vector",
        4 => "reserved vector",
        _ => "FIQ",
    };
    fail(
        Line::new()
            .str(what)
            .str(" in kernel mode: lr ")
            .hex(return_address)
            .str(", spsr ")
            .hex(saved_status)
            .str(", DFAR ")
            .hex(arch::cp15::read_dfar())
            .str(", DFSR ")
            .hex(arch::cp15::read_dfsr())
            .str(", IFAR ")
            .hex(arch::cp15::read_ifar())
            .str(", IFSR ")
            .hex(arch::cp15::read_ifsr()),
    );
}

/// Ends the kernel: prints `kernel panic: ` and `text` and powers off with
/// `PANIC_EXIT_STATUS`, as a panic does.
fn fail(text: &Line) -> ! {
    console::begin_kernel_line();
    console::write_bytes(b"kernel panic: ");
    console::write_bytes(text.as_bytes());
    console::write_bytes(b"\n");
    arch::power_off(tessera_abi::PANIC_EXIT_STATUS)
}

/// Where the panic was raised. Not its message: most of the kernel's
/// panics (`expect`, bounds checks) format theirs from arguments, and
/// formatting needs `core::fmt`, about 8 KiB of text and read-only data
/// that the kernel otherwise does without (docs/benchmarks.md, "The kernel
/// without core::fmt"); the source line says what the message would.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut line = Line::new();
    line.str("raised at ");
    match info.location() {
        Some(location) => line.str(location.file()).str(":").dec(location.line()),
        None => line.str("an unknown place"),
    };
    fail(&line)
}
