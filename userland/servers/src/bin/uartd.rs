//! The UART server: QEMU virt's app UART is a virtio console (its one PL011
//! is the kernel's console), on a virtio-mmio transport, driven with the
//! `virtio-drivers` crate. Apps reach it through endpoint capabilities whose
//! badge is the set of UARTs they were granted. Protocol: `uart` in the
//! servers library (`userland/servers/src/uart.rs`).
//!
//! Needs: the device regions of the virtio-mmio transports (read, write; it
//! looks for the console in them and deletes the capabilities to the pages
//! without it), `uart::DMA_BYTES` of untyped memory (moved to it) and an
//! endpoint to receive on. Runs until its process is ended. It takes no
//! capabilities from clients: any that come with a request are deleted at
//! once.
//!
//! It polls: the transport's interrupt is not used. A `READ` looks at the
//! receive ring when it is asked, and a `WRITE` waits (spinning) until the
//! device has taken the bytes, which QEMU does during the notifying register
//! write.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use tessera_rt::server::{self, Answer, Capabilities};
use tessera_rt::{for_each_initial_capability, println, Error, Handle, Message, ObjectType, Received, Rights};
use tessera_servers::uart::*;
use virtio::Console;

tessera_rt::entry!(main);

/// A failure the driver reports (QEMU's device gives none): the device is
/// as good as gone.
fn device_error(_error: virtio_drivers::Error) -> Error {
    println!("uartd: the virtio console failed");
    Error::PeerGone
}

/// Performs one request; the reply's label is 0 or an error code.
fn serve(console: &mut Console, request: &Received) -> Message {
    let [header, a, b, c] = request.message.words;
    let (number, count) = split_header(header);
    let mut bytes = [0; CHUNK];
    let result = if number >= UARTS || count > CHUNK {
        Err(Error::InvalidArgument)
    } else if request.badge & badge(number) == 0 {
        Err(Error::PermissionDenied)
    } else {
        match request.message.label {
            WRITE => {
                let count = unpack([a, b, c], count, &mut bytes);
                console.write(&bytes[..count]).map(|sent| (sent, [0; 3])).map_err(device_error)
            }
            READ => {
                let received = console.read(&mut bytes[..count]).map_err(device_error);
                received.map(|received| (received, pack(&bytes[..received])))
            }
            _ => Err(Error::InvalidArgument),
        }
    };
    match result {
        Ok((count, [a, b, c])) => Message::new(0, [count as u32, a, b, c]),
        Err(error) => Message::new(error as u32, [0; 4]),
    }
}

fn start() -> Result<(Console, Handle), &'static str> {
    let (mut regions, mut found) = ([Handle::NULL; TRANSPORT_PAGES], 0);
    let (mut memory, mut endpoint) = (None, None);
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::DeviceRegion if info.rights.contains(Rights::READ | Rights::WRITE) => {
            let virtio = tessera_rt::cap_object(handle).is_ok_and(|(address, _)| is_virtio_mmio(address));
            if virtio && found < regions.len() {
                regions[found] = handle;
                found += 1;
            }
        }
        ObjectType::Untyped => memory = Some(handle),
        ObjectType::Endpoint if info.rights.contains(Rights::RECEIVE) => endpoint = Some(handle),
        _ => {}
    });
    let endpoint = endpoint.ok_or("needs an endpoint to receive on")?;
    let memory = memory.ok_or("needs untyped memory for the device's rings and buffers")?;
    // The console first: the pages without it are unmapped before the DMA
    // memory takes its share of the 16 mappings a process may have.
    let (address, transport) = virtio::find_console(&regions[..found])?;
    let pool = virtio::Pool::new(memory)?;
    let console = Console::new(transport, pool).map_err(|_| "the virtio console did not start")?;
    println!("uartd: serving UART 0: the virtio console at {:#010x}, polled", address);
    Ok((console, endpoint))
}

fn main(_start: tessera_rt::Start) -> u32 {
    let (mut console, endpoint) = match start() {
        Ok(started) => started,
        Err(reason) => {
            println!("uartd: {}", reason);
            return 1;
        }
    };
    // It takes no capabilities from clients, and serves until it is ended.
    let served = server::serve(endpoint, Capabilities::Refuse, |request| Answer::Reply(serve(&mut console, request)));
    if let Err(error) = served {
        println!("uartd: receive failed: {}", error.name());
    }
    1
}

/// The device and what it needs from this process, with all of `uartd`'s
/// `unsafe` code: DMA memory, the `virtio-drivers` HAL over it, the
/// transport's registers, and a console driver (one port, polled) on the
/// crate's transport and virtqueues.
///
/// The device reads and writes physical memory, so the driver needs memory
/// whose physical addresses it knows: frames carved one after the other from
/// a fresh block of untyped memory, which are physically contiguous because
/// `Retype` carves each at the block's watermark (checked with `CapObject`
/// all the same), mapped one after the other at `DMA_AT` (the pool). It only
/// grows: the queues and buffers are made once and never freed. Its first
/// page holds the pool's own state (no writable static, which would cost the
/// program a page and a mapping), the write buffer and the receive buffer;
/// the queues follow. The frames are normal cacheable memory: right for
/// QEMU, whose devices see the CPU's view of memory; a device that did not
/// snoop the caches would need cache maintenance.
///
/// The crate's own console driver (`VirtIOConsole`) is not used: it needs
/// `alloc` and a 4 KiB receive buffer on the heap, and with it `uartd` would
/// need more than the 16 mappings a process may have.
#[allow(unsafe_code)]
mod virtio {
    use core::ptr::NonNull;
    use core::sync::atomic::{AtomicU32, Ordering};
    use tessera_abi::layout::PAGE_SIZE;
    use tessera_rt::{cap_delete, cap_object, map, retype, unmap, Handle, Mapping, ObjectType, Rights};
    use tessera_servers::uart::{
        CONSOLE_DEVICE, DEVICE_ID_OFFSET, DMA_AT, DMA_PAGES, MAGIC, MAGIC_OFFSET, REGISTERS_AT, TRANSPORT_BYTES,
    };
    use virtio_drivers::queue::VirtQueue;
    use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
    use virtio_drivers::transport::Transport;
    use virtio_drivers::{BufferDirection, PhysAddr};

    const PAGE: u32 = PAGE_SIZE as u32;
    /// Bytes of the pool.
    const BYTES: u32 = DMA_PAGES * PAGE;
    /// The pool's state at its start: its physical address, then the bytes
    /// handed out.
    const STATE_BYTES: u32 = 8;
    /// Bytes the device may deliver at once.
    const RECEIVE_BYTES: usize = 2048;
    /// Bytes one write sends at most.
    const TRANSMIT_BYTES: usize = 64;
    /// Descriptors per queue (each request takes one).
    const QUEUE_SIZE: usize = 2;
    /// Port 0's queues (without `MULTIPORT`, the only port).
    const RECEIVEQ: u16 = 0;
    const TRANSMITQ: u16 = 1;

    bitflags::bitflags! {
        /// The console's feature bits; the driver asks for none of them (one
        /// port, no size, no emergency write).
        #[derive(Clone, Copy, Debug)]
        struct Features: u64 {
            const SIZE = 1 << 0;
            const MULTIPORT = 1 << 1;
            const EMERGENCY_WRITE = 1 << 2;
        }
    }

    /// The pool's state words, in its first page.
    fn state() -> &'static [AtomicU32; 2] {
        // SAFETY: only called through a `Pool` or by the HAL. A `Pool` exists
        // only once `Pool::new` has mapped the pool read-write at `DMA_AT`
        // (never unmapped) and written the words; the HAL is only called by
        // the queues, which `Console::new` makes from a `Pool`. The words
        // are aligned, and only ever used as atomics.
        unsafe { &*(DMA_AT as *const [AtomicU32; 2]) }
    }

    /// Hands out `bytes` aligned to `align`: their offset in the pool.
    fn take(bytes: u32, align: u32) -> Option<u32> {
        let place = |used: u32| {
            let start = used.checked_next_multiple_of(align)?;
            start.checked_add(bytes).filter(|&end| end <= BYTES && bytes > 0).map(|end| (start, end))
        };
        let before =
            state()[1].fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| place(used).map(|(_, end)| end));
        before.ok().and_then(place).map(|(start, _)| start)
    }

    fn physical(offset: u32) -> PhysAddr {
        PhysAddr::from(state()[0].load(Ordering::Acquire) + offset)
    }

    /// Proof that the pool is set up.
    pub struct Pool(());

    impl Pool {
        /// Carves `DMA_PAGES` frames from `untyped` (untouched so far),
        /// checks they are contiguous and maps them read-write at `DMA_AT`.
        pub fn new(untyped: Handle) -> Result<Pool, &'static str> {
            let mut first = 0;
            for page in 0..DMA_PAGES {
                let frame =
                    retype(untyped, ObjectType::Frame, PAGE).map_err(|_| "too little untyped memory for DMA")?;
                let (physical, _) = cap_object(frame).map_err(|_| "cannot see a DMA frame's address")?;
                if page == 0 {
                    first = physical;
                } else if physical != first + page * PAGE {
                    return Err("the DMA frames are not contiguous (was the untyped memory used before?)");
                }
                let mapped = map(frame, DMA_AT + page * PAGE, Rights::READ | Rights::WRITE);
                mapped.map_err(|_| "cannot map DMA memory")?;
            }
            // SAFETY: the first page is mapped now (zeroed by `Retype`), and
            // no reference to the state words exists yet.
            unsafe { core::ptr::write(DMA_AT as *mut [u32; 2], [first, STATE_BYTES]) };
            Ok(Pool(()))
        }

        /// A buffer of `N` bytes in the pool, for the device.
        fn buffer<const N: usize>(&self) -> Option<&'static mut [u8; N]> {
            let offset = take(N as u32, 4)?;
            // SAFETY: the `N` bytes at `offset` are in the pool, mapped
            // read-write for the rest of the process, zeroed, and handed
            // out only now, so this is the only reference to them.
            Some(unsafe { &mut *((DMA_AT + offset) as *mut [u8; N]) })
        }
    }

    /// The `virtio-drivers` HAL over the pool.
    pub struct Hal;

    // SAFETY: `dma_alloc` returns zeroed, page-aligned pool memory that
    // nothing else uses (`take` never hands out the same bytes twice) with
    // its physical address (the pool is physically contiguous, checked in
    // `Pool::new`), or a physical address of 0, which the crate takes as a
    // failure. `share` returns the physical address of the very bytes it is
    // given, after checking they lie in the pool (the console shares only
    // its two buffers, which do), so `unshare` has nothing to copy back.
    unsafe impl virtio_drivers::Hal for Hal {
        fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
            let bytes = u32::try_from(pages).ok().and_then(|pages| pages.checked_mul(PAGE));
            let Some(offset) = bytes.and_then(|bytes| take(bytes, PAGE)) else {
                return (0, NonNull::dangling());
            };
            let address = (DMA_AT + offset) as *mut u8;
            // SAFETY: the `pages` pages at `address` are in the pool, mapped
            // read-write and handed out only now.
            unsafe { core::ptr::write_bytes(address, 0, pages * PAGE_SIZE) };
            (physical(offset), NonNull::new(address).expect("DMA_AT is not null"))
        }

        unsafe fn dma_dealloc(_physical: PhysAddr, _address: NonNull<u8>, _pages: usize) -> i32 {
            0
        }

        unsafe fn mmio_phys_to_virt(_physical: PhysAddr, _bytes: usize) -> NonNull<u8> {
            panic!("uartd: only the MMIO transport is used, which maps nothing")
        }

        unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
            let offset = (buffer.cast::<u8>().as_ptr() as u32).wrapping_sub(DMA_AT);
            let inside = offset < BYTES && buffer.len() as u32 <= BYTES - offset;
            assert!(inside, "uartd: a buffer outside DMA memory was given to the device");
            physical(offset)
        }

        unsafe fn unshare(_physical: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
    }

    /// Maps the virtio-mmio pages of `regions` at `REGISTERS_AT`, one at a
    /// time, and finds the first transport whose device is a console. Keeps
    /// its page mapped for good, unmaps and deletes the others, and returns
    /// the console's physical address and its transport.
    pub fn find_console(regions: &[Handle]) -> Result<(u32, MmioTransport<'static>), &'static str> {
        let mut console = None;
        for (index, &region) in regions.iter().enumerate() {
            let at = REGISTERS_AT + index as u32 * PAGE;
            let Ok(page) = Mapping::new(region, at, Rights::READ | Rights::WRITE) else { continue };
            let (physical, bytes) = cap_object(region).unwrap_or((0, 0));
            let slot = (0..bytes / TRANSPORT_BYTES).map(|slot| slot * TRANSPORT_BYTES).find(|&offset| {
                console.is_none()
                    && page.read_u32(offset + MAGIC_OFFSET) == MAGIC
                    && page.read_u32(offset + DEVICE_ID_OFFSET) == CONSOLE_DEVICE
            });
            match slot {
                Some(offset) => console = Some((physical + offset, at + offset)),
                None => {
                    let _ = unmap(region);
                    let _ = cap_delete(region);
                }
            }
        }
        let (physical, address) = console.ok_or("no virtio console among the virtio-mmio transports it was given")?;
        let header = NonNull::new(address as *mut VirtIOHeader).ok_or("REGISTERS_AT is not null")?;
        // SAFETY: `address` is the start of a virtio-mmio transport (its
        // magic value checked above), 512-byte aligned, in a device region
        // mapped just above as device memory and never unmapped, so its
        // `TRANSPORT_BYTES` of registers, config space included, stay valid
        // for the rest of the process; nothing else in this process
        // touches them from here on. (If the capability were revoked, an
        // access would fault and end the process, not reach other memory.)
        let transport = unsafe { MmioTransport::new(header, TRANSPORT_BYTES as usize) };
        Ok((physical, transport.map_err(|_| "the virtio console's transport was refused")?))
    }

    /// A virtio console with one port, polled.
    pub struct Console {
        transport: MmioTransport<'static>,
        receiveq: VirtQueue<Hal, QUEUE_SIZE>,
        transmitq: VirtQueue<Hal, QUEUE_SIZE>,
        /// What the device receives into (pool memory).
        received: &'static mut [u8; RECEIVE_BYTES],
        /// What writes are sent from (pool memory).
        transmit: &'static mut [u8; TRANSMIT_BYTES],
        /// The token of the receive request the device holds, if any: then
        /// `received` is the device's until the request is popped.
        receiving: Option<u16>,
        /// The bytes of `received` not read yet.
        unread: core::ops::Range<usize>,
    }

    impl Console {
        /// Negotiates no features, sets up port 0's two queues in `pool` and
        /// hands the device its first receive buffer.
        pub fn new(mut transport: MmioTransport<'static>, pool: Pool) -> Result<Console, virtio_drivers::Error> {
            let (Some(received), Some(transmit)) = (pool.buffer(), pool.buffer()) else {
                return Err(virtio_drivers::Error::DmaError);
            };
            transport.begin_init(Features::empty());
            let receiveq = VirtQueue::new(&mut transport, RECEIVEQ, false, false)?;
            let transmitq = VirtQueue::new(&mut transport, TRANSMITQ, false, false)?;
            transport.finish_init();
            let mut console =
                Console { transport, receiveq, transmitq, received, transmit, receiving: None, unread: 0..0 };
            console.give_receive_buffer()?;
            Ok(console)
        }

        /// Hands the device the receive buffer once everything in it is read.
        fn give_receive_buffer(&mut self) -> Result<(), virtio_drivers::Error> {
            if self.receiving.is_some() || !self.unread.is_empty() {
                return Ok(());
            }
            // SAFETY: the buffer lives as long as the process, and nothing
            // reads or writes it until the request is popped with the same
            // buffer (`receiving` holds the token; `take_received` pops it
            // before `read` looks at the buffer).
            let token = unsafe { self.receiveq.add(&[], &mut [&mut self.received[..]])? };
            self.receiving = Some(token);
            if self.receiveq.should_notify() {
                self.transport.notify(RECEIVEQ);
            }
            Ok(())
        }

        /// Takes back the receive buffer if the device has filled it.
        fn take_received(&mut self) -> Result<(), virtio_drivers::Error> {
            let Some(token) = self.receiving else { return Ok(()) };
            if self.receiveq.peek_used() != Some(token) {
                return Ok(());
            }
            // SAFETY: the buffer given with `token` in `give_receive_buffer`.
            let length = unsafe { self.receiveq.pop_used(token, &[], &mut [&mut self.received[..]])? };
            self.receiving = None;
            self.unread = 0..(length as usize).min(RECEIVE_BYTES);
            Ok(())
        }

        /// Copies into `buffer` the bytes that have arrived (0 if none have),
        /// without waiting.
        pub fn read(&mut self, buffer: &mut [u8]) -> Result<usize, virtio_drivers::Error> {
            self.take_received()?;
            let count = self.unread.len().min(buffer.len());
            let start = self.unread.start;
            buffer[..count].copy_from_slice(&self.received[start..start + count]);
            self.unread.start += count;
            self.give_receive_buffer()?;
            Ok(count)
        }

        /// Sends `bytes` (at most 64), returning once the device has taken
        /// them (it spins until then; QEMU takes them during the notifying
        /// register write).
        pub fn write(&mut self, bytes: &[u8]) -> Result<usize, virtio_drivers::Error> {
            let count = bytes.len().min(TRANSMIT_BYTES);
            if count == 0 {
                return Ok(0);
            }
            self.transmit[..count].copy_from_slice(&bytes[..count]);
            self.transmitq.add_notify_wait_pop(&[&self.transmit[..count]], &mut [], &mut self.transport)?;
            Ok(count)
        }
    }
}
