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
    // memory takes its share of the 24 mappings a process may have.
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
/// The device reads and writes physical memory: the pool and the
/// `virtio-drivers` HAL over it are `tessera_servers::dma`'s (one frame of
/// `uart::DMA_BYTES`, from the untyped memory `init` moved here, mapped at
/// `DMA_AT`): the receive and write buffers, then the queues.
///
/// The crate's own console driver (`VirtIOConsole`) is not used: it needs
/// `alloc` and a 4 KiB receive buffer on the heap, and with it `uartd` would
/// need more than the 24 mappings a process may have.
#[allow(unsafe_code)]
mod virtio {
    use core::ptr::NonNull;
    use tessera_rt::{cap_delete, cap_object, unmap, Handle, Mapping, Rights};
    use tessera_servers::dma;
    use tessera_servers::uart::{
        CONSOLE_DEVICE, DEVICE_ID_OFFSET, DMA_AT, DMA_BYTES, MAGIC, MAGIC_OFFSET, REGISTERS_AT, TRANSPORT_BYTES,
    };
    use virtio_drivers::queue::VirtQueue;
    use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
    use virtio_drivers::transport::Transport;

    const PAGE: u32 = tessera_abi::layout::PAGE_SIZE as u32;
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

    /// The DMA pool (`tessera_servers::dma`).
    pub type Pool = dma::Pool<DMA_AT, DMA_BYTES>;
    /// The `virtio-drivers` HAL over it.
    type Hal = dma::Hal<DMA_AT, DMA_BYTES>;

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
            let (Some(received), Some(transmit)) = (pool.buffer::<RECEIVE_BYTES>(), pool.buffer::<TRANSMIT_BYTES>())
            else {
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
