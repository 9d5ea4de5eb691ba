//! DMA memory for the servers' virtio drivers (`netd`, `uartd`, `plutond`'s
//! entropy source): one pool per program, and the `virtio-drivers` HAL
//! over it.
//!
//! A virtio device reads and writes physical memory, so its driver needs
//! memory whose physical addresses it knows: one frame (physically
//! contiguous, as every frame is), retyped from untyped memory the server
//! was given and mapped read-write at the program's chosen address `AT`
//! for as long as the program runs. The pool only grows: the queues and
//! buffers are made once and never freed. Its state (the frame's physical
//! address, then the bytes handed out) is two words at its end, not a
//! writable static, which would cost the program a page and a mapping (a
//! process has 24). The frame is normal cacheable memory: right for QEMU,
//! whose devices see the CPU's view of memory; a device that did not snoop
//! the caches would need cache maintenance.
//!
//! `Pool<AT, BYTES>` and `Hal<AT, BYTES>` name the same pool by its address
//! and size; a program has one.
#![allow(unsafe_code)]

use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use tessera_abi::capability::MAX_FRAME_BYTES;
use tessera_abi::layout::PAGE_SIZE;
use tessera_rt::{cap_object, map, retype, Handle, ObjectType, Rights};
use virtio_drivers::{BufferDirection, PhysAddr};

const PAGE: u32 = PAGE_SIZE as u32;
/// Bytes of the pool's state, at its end.
const STATE_BYTES: u32 = 8;

/// Proof that the pool of `BYTES` at `AT` is set up.
pub struct Pool<const AT: u32, const BYTES: u32>(PhantomData<()>);

impl<const AT: u32, const BYTES: u32> Pool<AT, BYTES> {
    /// Bytes that can be handed out.
    const HANDED_OUT: u32 = {
        assert!(BYTES.is_power_of_two() && BYTES >= PAGE && BYTES <= MAX_FRAME_BYTES, "a pool is one frame");
        assert!(AT.is_multiple_of(PAGE), "a pool is mapped at a page");
        BYTES - STATE_BYTES
    };

    /// Makes one frame of `BYTES` from `untyped` (zeroed by `Retype`) and
    /// maps it read-write at `AT`.
    pub fn new(untyped: Handle) -> Result<Self, &'static str> {
        let frame = retype(untyped, ObjectType::Frame, BYTES).map_err(|_| "too little untyped memory for DMA")?;
        let (physical, _) = cap_object(frame).map_err(|_| "cannot see the DMA frame's address")?;
        map(frame, AT, Rights::READ | Rights::WRITE).map_err(|_| "cannot map DMA memory")?;
        // SAFETY: the frame is mapped read-write at `AT` now, for good, and
        // no reference to the state words exists yet.
        unsafe { core::ptr::write((AT + Self::HANDED_OUT) as *mut [u32; 2], [physical, 0]) };
        Ok(Pool(PhantomData))
    }

    /// Makes `frame` (a frame capability of exactly `BYTES`, with `READ`,
    /// `WRITE` and `INSPECT`, given rather than retyped here) the pool:
    /// maps it read-write at `AT`. Fails with the kernel's error if it
    /// cannot be mapped there (a pool exists already: `AT` is taken), and
    /// with `InvalidArgument` for another size.
    pub fn from_frame(frame: Handle) -> Result<Self, tessera_rt::Error> {
        let (physical, size) = cap_object(frame)?;
        if size != BYTES || tessera_rt::cap_info(frame)?.kind != ObjectType::Frame {
            return Err(tessera_rt::Error::InvalidArgument);
        }
        map(frame, AT, Rights::READ | Rights::WRITE)?;
        // SAFETY: the frame is mapped read-write at `AT` now, and no
        // reference to the state words exists yet.
        unsafe { core::ptr::write((AT + Self::HANDED_OUT) as *mut [u32; 2], [physical, 0]) };
        Ok(Pool(PhantomData))
    }

    /// The pool's state words, at its end.
    fn state() -> &'static [AtomicU32; 2] {
        // SAFETY: only called through a `Pool` or by the HAL. A `Pool` exists
        // only once `Pool::new` has mapped the pool read-write at `AT` (never
        // unmapped) and written the words; the HAL is only called by queues
        // a driver makes from a `Pool`. The words are aligned, never handed
        // out (`take` stops before them), and only ever used as atomics.
        unsafe { &*((AT + Self::HANDED_OUT) as *const [AtomicU32; 2]) }
    }

    /// Hands out `bytes` aligned to `align`: their offset in the pool.
    fn take(bytes: u32, align: u32) -> Option<u32> {
        let place = |used: u32| {
            let start = used.checked_next_multiple_of(align)?;
            start.checked_add(bytes).filter(|&end| end <= Self::HANDED_OUT && bytes > 0).map(|end| (start, end))
        };
        let before =
            Self::state()[1].fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| place(used).map(|(_, end)| end));
        before.ok().and_then(place).map(|(start, _)| start)
    }

    /// The physical address of the pool's byte at `offset`.
    fn physical(offset: u32) -> PhysAddr {
        PhysAddr::from(Self::state()[0].load(Ordering::Acquire) + offset)
    }

    /// A buffer of `N` bytes in the pool, for the device.
    pub fn buffer<const N: usize>(&self) -> Option<&'static mut [u8; N]> {
        let offset = Self::take(N as u32, 4)?;
        // SAFETY: the `N` bytes at `offset` are in the pool, mapped
        // read-write for as long as the pool is (`Pool::new` or
        // `from_frame`, which a `Pool` proves has run), and handed out only
        // now (`take` never hands out the same bytes twice), so this is the
        // only reference to them.
        let buffer = unsafe { &mut *((AT + offset) as *mut [u8; N]) };
        // A given frame may hold old bytes.
        buffer.fill(0);
        Some(buffer)
    }
}

/// The `virtio-drivers` HAL over the pool of `BYTES` at `AT`.
pub struct Hal<const AT: u32, const BYTES: u32>;

// SAFETY: `dma_alloc` returns zeroed, page-aligned pool memory that nothing
// else uses (`take` never hands out the same bytes twice) with its physical
// address (the pool is one frame, so physically contiguous), or a physical
// address of 0, which the crate takes as a failure. `share` returns the
// physical address of the very bytes it is given, after checking they lie
// in the pool (the drivers share only buffers from the pool), so `unshare`
// has nothing to copy back.
unsafe impl<const AT: u32, const BYTES: u32> virtio_drivers::Hal for Hal<AT, BYTES> {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let bytes = u32::try_from(pages).ok().and_then(|pages| pages.checked_mul(PAGE));
        let Some(offset) = bytes.and_then(|bytes| Pool::<AT, BYTES>::take(bytes, PAGE)) else {
            return (0, NonNull::dangling());
        };
        let address = (AT + offset) as *mut u8;
        // SAFETY: the `pages` pages at `address` are in the pool, mapped
        // read-write (queues are made from a `Pool`) and handed out only now.
        unsafe { core::ptr::write_bytes(address, 0, pages * PAGE_SIZE) };
        (Pool::<AT, BYTES>::physical(offset), NonNull::new(address).expect("a pool is not at address 0"))
    }

    unsafe fn dma_dealloc(_physical: PhysAddr, _address: NonNull<u8>, _pages: usize) -> i32 {
        0
    }

    unsafe fn mmio_phys_to_virt(_physical: PhysAddr, _bytes: usize) -> NonNull<u8> {
        panic!("only the MMIO transport is used, which maps nothing")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        let offset = (buffer.cast::<u8>().as_ptr() as u32).wrapping_sub(AT);
        let limit = Pool::<AT, BYTES>::HANDED_OUT;
        let inside = offset < limit && buffer.len() as u32 <= limit - offset;
        assert!(inside, "a buffer outside DMA memory was given to the device");
        Pool::<AT, BYTES>::physical(offset)
    }

    unsafe fn unshare(_physical: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
