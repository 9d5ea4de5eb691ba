//! One safe function per syscall (see `abi/src/lib.rs` and `docs/abi.md`).
//! The kernel checks every argument, so even the `raw_*` calls, which pass
//! arbitrary values, are safe to make.

use core::arch::asm;
use tessera_abi::{Error, ExitKind, FaultKind, Syscall, ANY_PROCESS, FOREVER};

/// Makes syscall `number` with `r0`..`r3` = `args`; returns `r0`..`r3`.
#[inline(always)]
pub fn raw_syscall(number: u32, args: [u32; 4]) -> [u32; 4] {
    let (r0, r1, r2, r3);
    // SAFETY: `svc` enters the kernel, which validates all arguments,
    // preserves every register other than r0-r3 and only writes user memory
    // through checked pointers.
    unsafe {
        asm!(
            "svc #0",
            inlateout("r0") args[0] => r0,
            inlateout("r1") args[1] => r1,
            inlateout("r2") args[2] => r2,
            inlateout("r3") args[3] => r3,
            in("r7") number,
            options(nostack),
        );
    }
    [r0, r1, r2, r3]
}

fn status(r0: u32) -> Result<(), Error> {
    match r0 {
        0 => Ok(()),
        code => Err(Error::from_code(code).unwrap_or(Error::InvalidArgument)),
    }
}

/// The cheapest syscall: does nothing.
#[inline(always)]
pub fn null() {
    raw_syscall(Syscall::Null as u32, [0; 4]);
}

/// Writes bytes to the debug console.
pub fn debug_write(bytes: &[u8]) -> Result<(), Error> {
    raw_debug_write(bytes.as_ptr() as u32, bytes.len() as u32)
}

/// `DebugWrite` with any address and length (for tests of the checks).
pub fn raw_debug_write(address: u32, len: u32) -> Result<(), Error> {
    status(raw_syscall(Syscall::DebugWrite as u32, [address, len, 0, 0])[0])
}

/// Gives the CPU to another ready thread of the same priority.
#[inline(always)]
pub fn yield_now() {
    raw_syscall(Syscall::Yield as u32, [0; 4]);
}

/// Sleeps for at least `micros` microseconds.
pub fn sleep_micros(micros: u32) {
    raw_syscall(Syscall::Sleep as u32, [micros, 0, 0, 0]);
}

/// Ends this process with `code`.
pub fn exit(code: u32) -> ! {
    raw_syscall(Syscall::Exit as u32, [code, 0, 0, 0]);
    unreachable!("the kernel returned from Exit")
}

/// A process id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pid(pub u32);

/// Root task only: starts boot-image program `name` at `priority` with
/// `argument` in its `r0`.
pub fn spawn(name: &str, priority: u32, argument: u32) -> Result<Pid, Error> {
    let [r0, r1, _, _] =
        raw_syscall(Syscall::Spawn as u32, [name.as_ptr() as u32, name.len() as u32, priority, argument]);
    status(r0).map(|()| Pid(r1))
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It called `exit` with this code.
    Exited(u32),
    /// The kernel ended it for this fault.
    Faulted(FaultKind),
}

/// Waits up to `timeout_micros` (`None`: forever) for child `pid` (`None`:
/// any child) to end.
pub fn wait(pid: Option<Pid>, timeout_micros: Option<u32>) -> Result<(Pid, Ended), Error> {
    let target = pid.map_or(ANY_PROCESS, |p| p.0);
    let [r0, r1, r2, r3] = raw_syscall(Syscall::Wait as u32, [target, timeout_micros.unwrap_or(FOREVER), 0, 0]);
    status(r0)?;
    let ended = if r2 == ExitKind::Faulted as u32 {
        Ended::Faulted(FaultKind::from_code(r3).unwrap_or(FaultKind::OtherAbort))
    } else {
        Ended::Exited(r3)
    };
    Ok((Pid(r1), ended))
}

/// Root task only: powers off with `status`.
pub fn shutdown(status: u32) -> Result<(), Error> {
    self::status(raw_syscall(Syscall::Shutdown as u32, [status, 0, 0, 0])[0])
}

/// Microseconds since boot.
pub fn uptime_micros() -> u64 {
    let [_, low, high, _] = raw_syscall(Syscall::Uptime as u32, [0; 4]);
    ((high as u64) << 32) | low as u64
}

/// The cycle counter (PMCCNTR); under QEMU `-icount` it counts instructions.
#[inline(always)]
pub fn cycles() -> u32 {
    let value: u32;
    // SAFETY: the kernel enables User-mode reads of the PMU (PMUSERENR.EN);
    // reading it has no side effects.
    unsafe { asm!("mrc p15, 0, {}, c9, c13, 0", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}
