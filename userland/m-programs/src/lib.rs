//! The M4 programs (docs/mt3620.md step 3.7), linked at their slots
//! (build.rs): `init`, the root task, and `uartd`, the UART server; and,
//! with feature `checks`, `echo`, an IPC server `init` calls, three probes
//! that try what they must not (read another program's memory, read the
//! kernel's, write a device they were not given), each of which must end
//! in a contained MPU fault, and `fp-reader`, which must find the FPU's
//! registers clear after the others used them.
#![no_std]

/// The board's facts the programs need, from its description
/// (build.rs): the devices granted `init`, where the program and app
/// slots are, the apps' UART and the clock it divides.
pub mod board {
    include!(concat!(env!("OUT_DIR"), "/devices.rs"));
}

/// `echo`'s protocol: add the two words; `init` is done with its rounds
/// (the answer: how many rounds `echo` made); answer at once (the IPC
/// benchmark); yield the first word's number of times, then wait for the
/// next request (the context-switch benchmark); describe a capability
/// sent along.
pub const ADD: u32 = 1;
pub const DONE: u32 = 2;
pub const PING: u32 = 3;
pub const YIELD: u32 = 4;
/// Describe the capability the message carries (its type, rights and
/// badge), then delete it.
pub const INSPECT: u32 = 5;

/// The busy rounds `init` and `echo` each make ([`fp_round`]), and how
/// many times each spins: about 10 ms a round here, so six rounds outlast
/// a 10 ms time slice even on a host several times faster (QEMU's clock is
/// the host's), and only preemption can interleave them.
pub const ROUNDS: u32 = 6;
pub const ROUND_SPINS: u32 = 8_000_000;

/// The address in a program's boot arguments: the first word, `0x` and
/// hex digits.
pub fn address_argument(arguments: &str) -> Option<u32> {
    let digits = arguments.split_whitespace().next()?.strip_prefix("0x")?;
    u32::from_str_radix(digits, 16).ok()
}

/// What a probe tries at the address its boot arguments name.
#[derive(Clone, Copy)]
pub enum Attempt {
    Read,
    Write(u32),
}

/// A probe's body: tries `attempt` at the address in its boot arguments,
/// which the MPU must refuse (the kernel ends the probe with a MemManage
/// fault). Returns only if the access went through: then it says so and
/// gives 1.
pub fn probe(start: tessera_rt::Start, attempt: Attempt) -> u32 {
    let Some(address) = address_argument(tessera_rt::boot_arguments(start)) else {
        tessera_rt::println!("no address in the boot arguments");
        return 2;
    };
    probe_at(address, attempt)
}

/// A probe's body at `address` (see [`probe`]).
pub fn probe_at(address: u32, attempt: Attempt) -> u32 {
    let pointer = address as *mut u32;
    match attempt {
        Attempt::Read => {
            // SAFETY: none intended: this is the access the MPU must
            // refuse. Were it allowed, it would read a word of memory this
            // process was never given, which the kernel must prevent.
            let word = unsafe { pointer.read_volatile() };
            tessera_rt::println!("read {word:#010x} at {address:#010x}: isolation BROKEN");
        }
        Attempt::Write(value) => {
            // SAFETY: as for the read: a write the MPU must refuse.
            unsafe { pointer.write_volatile(value) };
            tessera_rt::println!("wrote {value:#x} at {address:#010x}: isolation BROKEN");
        }
    }
    1
}

/// One floating-point round: loads s0-s31 with `seed`, `seed + 1`, ... and
/// FPSCR's rounding mode with `mode` (0-3), spins `spins` times in a loop
/// that uses none of them (the kernel preempts it meanwhile), and returns
/// how many of the 33 changed under it. FPSCR is put back as it was.
/// Never inlined: the caller would save `d8`-`d15` in its own prologue,
/// making the whole program an FPU user from its start (the kernel then
/// switches its FPU state on every entry, benchmarks included).
#[inline(never)]
pub fn fp_round(seed: u32, mode: u32, spins: u32) -> u32 {
    let changed: u32;
    // SAFETY: touches only the FPU registers, declared clobbered, and
    // FPSCR, restored; no memory.
    unsafe {
        core::arch::asm!(
            "vmrs {saved}, fpscr",
            "bic {scratch}, {saved}, #0x00C00000",
            "orr {scratch}, {scratch}, {mode}",
            "vmsr fpscr, {scratch}",
            "mov {value}, {seed}",
            "vmov s0, {value}",
            "adds {value}, {value}, #1",
            "vmov s1, {value}",
            "adds {value}, {value}, #1",
            "vmov s2, {value}",
            "adds {value}, {value}, #1",
            "vmov s3, {value}",
            "adds {value}, {value}, #1",
            "vmov s4, {value}",
            "adds {value}, {value}, #1",
            "vmov s5, {value}",
            "adds {value}, {value}, #1",
            "vmov s6, {value}",
            "adds {value}, {value}, #1",
            "vmov s7, {value}",
            "adds {value}, {value}, #1",
            "vmov s8, {value}",
            "adds {value}, {value}, #1",
            "vmov s9, {value}",
            "adds {value}, {value}, #1",
            "vmov s10, {value}",
            "adds {value}, {value}, #1",
            "vmov s11, {value}",
            "adds {value}, {value}, #1",
            "vmov s12, {value}",
            "adds {value}, {value}, #1",
            "vmov s13, {value}",
            "adds {value}, {value}, #1",
            "vmov s14, {value}",
            "adds {value}, {value}, #1",
            "vmov s15, {value}",
            "adds {value}, {value}, #1",
            "vmov s16, {value}",
            "adds {value}, {value}, #1",
            "vmov s17, {value}",
            "adds {value}, {value}, #1",
            "vmov s18, {value}",
            "adds {value}, {value}, #1",
            "vmov s19, {value}",
            "adds {value}, {value}, #1",
            "vmov s20, {value}",
            "adds {value}, {value}, #1",
            "vmov s21, {value}",
            "adds {value}, {value}, #1",
            "vmov s22, {value}",
            "adds {value}, {value}, #1",
            "vmov s23, {value}",
            "adds {value}, {value}, #1",
            "vmov s24, {value}",
            "adds {value}, {value}, #1",
            "vmov s25, {value}",
            "adds {value}, {value}, #1",
            "vmov s26, {value}",
            "adds {value}, {value}, #1",
            "vmov s27, {value}",
            "adds {value}, {value}, #1",
            "vmov s28, {value}",
            "adds {value}, {value}, #1",
            "vmov s29, {value}",
            "adds {value}, {value}, #1",
            "vmov s30, {value}",
            "adds {value}, {value}, #1",
            "vmov s31, {value}",
            "adds {value}, {value}, #1",
            "1: subs {spins}, {spins}, #1",
            "bne 1b",
            "movs {changed}, #0",
            "mov {value}, {seed}",
            "vmov {scratch}, s0",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s1",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s2",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s3",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s4",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s5",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s6",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s7",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s8",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s9",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s10",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s11",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s12",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s13",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s14",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s15",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s16",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s17",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s18",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s19",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s20",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s21",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s22",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s23",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s24",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s25",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s26",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s27",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s28",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s29",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s30",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmov {scratch}, s31",
            "cmp {scratch}, {value}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "adds {value}, {value}, #1",
            "vmrs {scratch}, fpscr",
            "and {scratch}, {scratch}, #0x00C00000",
            "cmp {scratch}, {mode}",
            "it ne",
            "addne {changed}, {changed}, #1",
            "vmsr fpscr, {saved}",
            seed = in(reg) seed,
            mode = in(reg) (mode & 3) << 22,
            spins = inout(reg) spins.max(1) => _,
            saved = out(reg) _,
            scratch = out(reg) _,
            value = out(reg) _,
            changed = out(reg) changed,
            out("s0") _,
            out("s1") _,
            out("s2") _,
            out("s3") _,
            out("s4") _,
            out("s5") _,
            out("s6") _,
            out("s7") _,
            out("s8") _,
            out("s9") _,
            out("s10") _,
            out("s11") _,
            out("s12") _,
            out("s13") _,
            out("s14") _,
            out("s15") _,
            out("s16") _,
            out("s17") _,
            out("s18") _,
            out("s19") _,
            out("s20") _,
            out("s21") _,
            out("s22") _,
            out("s23") _,
            out("s24") _,
            out("s25") _,
            out("s26") _,
            out("s27") _,
            out("s28") _,
            out("s29") _,
            out("s30") _,
            out("s31") _,
            options(nomem, nostack)
        );
    }
    changed
}

/// Whether the FPU's registers s0-s31 and FPSCR all read zero (what a
/// process that never used the FPU must find, whatever ran before).
pub fn fpu_clear() -> bool {
    let seen: u32;
    // SAFETY: reads the FPU registers only.
    unsafe {
        core::arch::asm!(
            "vmrs {seen}, fpscr",
            "vmov {scratch}, s0",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s1",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s2",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s3",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s4",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s5",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s6",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s7",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s8",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s9",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s10",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s11",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s12",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s13",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s14",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s15",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s16",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s17",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s18",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s19",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s20",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s21",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s22",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s23",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s24",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s25",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s26",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s27",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s28",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s29",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s30",
            "orrs {seen}, {seen}, {scratch}",
            "vmov {scratch}, s31",
            "orrs {seen}, {seen}, {scratch}",
            seen = out(reg) seen,
            scratch = out(reg) _,
            options(nomem, nostack)
        );
    }
    seen == 0
}

/// Points the stack pointer at `address`, where the process may not write,
/// and makes a syscall: the hardware cannot stack the exception frame, so
/// the SVC stays pending under the MemManage fault that failure raises.
/// The kernel must end this process and take nothing of it into the next.
pub fn svc_with_stack_at(address: u32) -> ! {
    // SAFETY: none intended: this ends the process (the fault) and never
    // returns; it touches no memory of its own.
    unsafe {
        core::arch::asm!(
            "mov sp, {address}",
            "movs r7, #0",
            "svc #0",
            "b .",
            address = in(reg) address,
            options(noreturn)
        )
    }
}

/// A breakpoint with no debugger attached, set up as a semihosting exit
/// call (`SYS_EXIT_EXTENDED`): it must end this process, not the machine
/// (the kernel's own exit uses the same call, from privileged code).
pub fn breakpoint() -> ! {
    let block = [0x20026u32, 0];
    // SAFETY: as above: the breakpoint ends the process; the semihosting
    // block lives on its stack until then.
    unsafe {
        core::arch::asm!(
            "bkpt #0xab",
            "b .",
            in("r0") 0x20u32,
            in("r1") block.as_ptr(),
            options(noreturn)
        )
    }
}
