//! The one kernel instance: `kernel_core::kernel::Kernel` over the Armv7-A
//! platform, and the exclusive access each entry point takes to it.

use crate::platform::Armv7a;
use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// The kernel on this machine.
pub type Kernel = kernel_core::kernel::Kernel<Armv7a>;

/// The one kernel instance, entered by each entry point for its whole run.
/// All zeros (the platform is a zero-sized type), so it lives in `.bss`.
pub static KERNEL: KernelCell =
    KernelCell { entered: AtomicBool::new(false), kernel: UnsafeCell::new(Kernel::new(Armv7a)) };

/// Where the kernel state lies in [`KERNEL`] (for the IPC fast paths in
/// assembly, which reach it directly: they run between entries, when no
/// `KernelGuard` exists).
pub const KERNEL_IN_CELL: usize = core::mem::offset_of!(KernelCell, kernel);

/// Holds the kernel state and hands out exclusive access to it.
///
/// Tessera runs on one core, the kernel runs with IRQs masked, and an
/// exception taken in the kernel goes to the panic path, never to an entry
/// point: so entries never overlap. `enter` checks that with a flag anyway
/// and panics if it is broken. A lock (`spin::Mutex`) gave the same
/// guarantee at the cost of an exclusive load/store pair and two barriers on
/// every entry; a second core will need it back (see docs/CAVEATS.md).
pub struct KernelCell {
    entered: AtomicBool,
    kernel: UnsafeCell<Kernel>,
}

// SAFETY: access to `kernel` only goes through `enter`, which hands out one
// `KernelGuard` at a time (checked by `entered`); on the single core the
// kernel runs on, with IRQs masked, nothing can interleave with the check.
unsafe impl Sync for KernelCell {}

impl KernelCell {
    /// Exclusive access for one kernel entry.
    pub fn enter(&self) -> KernelGuard<'_> {
        if self.entered.load(Ordering::Relaxed) {
            panic!("kernel entered while already running");
        }
        self.entered.store(true, Ordering::Relaxed);
        KernelGuard { cell: self }
    }
}

/// Exclusive access to the kernel state until dropped.
pub struct KernelGuard<'a> {
    cell: &'a KernelCell,
}

impl Deref for KernelGuard<'_> {
    type Target = Kernel;
    fn deref(&self) -> &Kernel {
        // SAFETY: this guard is the only one (see `KernelCell::enter`).
        unsafe { &*self.cell.kernel.get() }
    }
}

impl DerefMut for KernelGuard<'_> {
    fn deref_mut(&mut self) -> &mut Kernel {
        // SAFETY: this guard is the only one (see `KernelCell::enter`).
        unsafe { &mut *self.cell.kernel.get() }
    }
}

impl Drop for KernelGuard<'_> {
    fn drop(&mut self) {
        self.cell.entered.store(false, Ordering::Relaxed);
    }
}
