//! The Pluton security server's entropy source: QEMU's `virtio-rng-device`
//! on a virtio-mmio transport, driven with the `virtio-drivers` crate and
//! polled.
//!
//! **The device.** A virtio entropy device (virtio device ID 4,
//! [`ENTROPY_DEVICE`]) has one queue, `requestq`: the driver hands it a
//! buffer the device may write, and the device fills it with random bytes
//! and returns it on the used ring. QEMU's device takes its bytes from the
//! host (`getrandom`). xtask adds it to every image on the first
//! virtio-mmio transport, `virtio-mmio-bus.0` (0x0a00_0000 on `virt`), so
//! that it has a page of transports to itself: the UART server's virtio
//! console lands on the last transport (0x0a00_3e00), and a capability
//! covers a whole page, eight transports.
//!
//! **Transport discovery.** [`EntropySource::new`] gets a device region
//! capability (`READ`, `WRITE`, `INSPECT`) for the virtio-mmio page that
//! holds the device, as `init` found it. It checks with `CapObject` that
//! the page lies among the board's virtio-mmio transports, maps it at
//! [`TRANSPORT_MAPPED_AT`], and takes the first 512-byte transport on it
//! whose magic value is "virt" and whose device ID is 4. The page stays
//! mapped for as long as the source lives.
//!
//! **Memory.** The device reads and writes physical memory, so the driver
//! needs memory whose physical address it knows: one frame of
//! [`DMA_BYTES`] (16 KiB; `init` retypes it: a frame is physically
//! contiguous, and untyped memory cannot travel in a message), mapped
//! read-write at [`DMA_MAPPED_AT`] as a `crate::dma` pool: the queue
//! first (two contiguous pages in the legacy layout of QEMU's virtio-mmio,
//! one for each half in the modern one), then the request buffer
//! ([`REQUEST_BYTES`]), with the pool's two words at its end. Both mappings lie in the MiB of
//! [`SECRET_MAPPED_AT`](crate::pluton::SECRET_MAPPED_AT), whose
//! second-level translation table `plutond` has already used at start: a
//! process has six such tables, and `plutond` needs all the others. The
//! frame is normal cacheable memory: right for QEMU, whose devices see the
//! CPU's view of memory; a device that did not snoop the caches would need
//! cache maintenance.
//!
//! **Requests.** [`EntropySource::fill`] asks the device for at most
//! [`REQUEST_BYTES`] at a time and at least [`SAMPLE_BYTES`] (it discards
//! what it asked for beyond the caller's need), notifies it, and polls the
//! used ring, sleeping [`POLL_MICROS`] between looks, for at most
//! [`TIMEOUT_MICROS`]. No interrupt is used. The request buffer is wiped
//! once its bytes are copied out.
//!
//! **Health test.** Every answer must be as long as the request, and its
//! bytes (at least [`SAMPLE_BYTES`], so at least 16) must not all be equal:
//! a device that returns zeros, or any one byte repeated, is refused. A
//! working device fails this test with probability 2^-120 per request.
//! This catches a dead or stuck device, not a subtly biased one; the DRBG
//! the server seeds from it (docs/pluton.md) is what stands between the
//! device and the callers.
//!
//! **Failure.** Any failure is an error, never zeros or fewer bytes: a
//! device error, a timeout, a short answer or a failed health test. A
//! timeout is for now: the request stays the device's (its buffer too),
//! each later `fill` looks whether it has come back, fails with
//! [`Error::TimedOut`] if not, and once it has, discards its bytes and
//! asks anew. (Any app can make `plutond` reseed, and so ask the device,
//! as often as it likes: one slow answer must not switch randomness off
//! for the rest of the boot.) Any other failure stops the source for
//! good: every later `fill` fails with [`Error::Failed`] without touching
//! the device (a device that errs or fails a health test is not trusted
//! again). `out` is wiped when `fill` fails. `plutond` answers `NotFound`
//! for randomness then ([`Error`] converts to it).
//!
//! All of the server library's `unsafe` code is here: the `virtio-drivers`
//! HAL over the frame, the transport's registers and the queue's buffers.
#![allow(unsafe_code)]

use core::ptr::NonNull;

use tessera_rt::{cap_info, cap_object, sleep_micros, unmap, uptime_micros, Handle, Mapping, ObjectType, Rights};
use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceStatus, Transport};
use zeroize::Zeroize;

use crate::uart::{is_virtio_mmio, DEVICE_ID_OFFSET, MAGIC, MAGIC_OFFSET, TRANSPORT_BYTES};

/// The virtio device ID of an entropy source.
pub const ENTROPY_DEVICE: u32 = 4;
/// Bytes of the frame the source needs (`init` retypes one this size).
pub const DMA_BYTES: u32 = 16 * 1024;
/// Where the source maps the device's virtio-mmio page (in the secret
/// page's MiB, see the module docs).
pub const TRANSPORT_MAPPED_AT: u32 = crate::pluton::SECRET_MAPPED_AT + 0x4_0000;
/// Where the source maps its frame (the same MiB).
pub const DMA_MAPPED_AT: u32 = crate::pluton::SECRET_MAPPED_AT + 0x8_0000;
/// Most bytes one device request asks for.
pub const REQUEST_BYTES: usize = 64;
/// Fewest bytes one device request asks for: the health test's sample.
pub const SAMPLE_BYTES: usize = 16;
/// How long one request may take, in microseconds.
pub const TIMEOUT_MICROS: u64 = 100_000;
/// How long the source sleeps between looks at the used ring.
pub const POLL_MICROS: u32 = 50;

const _: () = assert!(TRANSPORT_MAPPED_AT >> 20 == crate::pluton::SECRET_MAPPED_AT >> 20);
const _: () = assert!((DMA_MAPPED_AT + DMA_BYTES - 1) >> 20 == crate::pluton::SECRET_MAPPED_AT >> 20);

/// The frame as a DMA pool (`crate::dma`): the queue, then the request
/// buffer.
type Pool = crate::dma::Pool<DMA_MAPPED_AT, DMA_BYTES>;
/// The `virtio-drivers` HAL over it.
type Hal = crate::dma::Hal<DMA_MAPPED_AT, DMA_BYTES>;
/// The device's one queue.
const REQUESTQ: u16 = 0;
/// Descriptors in it (a power of two; a request takes one).
const QUEUE_SIZE: usize = 2;
/// The most bytes of device registers the source maps (the mapping must
/// end before the frame's).
const MAX_REGION_BYTES: u32 = DMA_MAPPED_AT - TRANSPORT_MAPPED_AT;

bitflags::bitflags! {
    /// The feature bits the driver accepts: none of the ring features (a
    /// request is one descriptor, polled), and `VERSION_1`, which a driver
    /// must accept when a modern transport offers it.
    #[derive(Clone, Copy, Debug)]
    struct Features: u64 {
        const VERSION_1 = 1 << 32;
    }
}

/// Why the source cannot be made or cannot answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The kernel refused a capability given to [`EntropySource::new`]
    /// (a stale handle, a missing right, a place already mapped).
    Capability(tessera_rt::Error),
    /// The transport is not a device region among the virtio-mmio pages,
    /// or is larger than [`TRANSPORT_MAPPED_AT`] leaves room for.
    NotVirtio,
    /// No entropy device is behind any transport of the page.
    NoDevice,
    /// The memory is not a frame of [`DMA_BYTES`].
    NotEnoughMemory,
    /// Another source has the frame's address already.
    InUse,
    /// The device did not accept the driver or its queue.
    DeviceRefused,
    /// The device or the queue reported an error.
    Device,
    /// The device did not answer within [`TIMEOUT_MICROS`].
    TimedOut,
    /// The device wrote fewer bytes than asked.
    ShortAnswer,
    /// The device's bytes were all equal (the health test).
    HealthTest,
    /// An earlier request failed: the source is not used again.
    Failed,
}

impl Error {
    /// A short description, for logs.
    pub fn name(self) -> &'static str {
        match self {
            Error::Capability(error) => error.name(),
            Error::NotVirtio => "not a virtio-mmio page",
            Error::NoDevice => "no virtio entropy device on the page",
            Error::NotEnoughMemory => "the memory is not a frame of 16 KiB",
            Error::InUse => "an entropy source exists already",
            Error::DeviceRefused => "the device refused the driver",
            Error::Device => "the device failed",
            Error::TimedOut => "the device did not answer in time",
            Error::ShortAnswer => "the device answered fewer bytes than asked",
            Error::HealthTest => "the device's bytes failed the health test",
            Error::Failed => "the entropy source failed earlier",
        }
    }
}

/// What the Pluton security server answers: the kernel's error for a
/// refused capability, `NotFound` ("no entropy source is working") for
/// everything else.
impl From<Error> for tessera_rt::Error {
    fn from(error: Error) -> tessera_rt::Error {
        match error {
            Error::Capability(error) => error,
            _ => tessera_rt::Error::NotFound,
        }
    }
}

impl From<tessera_rt::Error> for Error {
    fn from(error: tessera_rt::Error) -> Error {
        Error::Capability(error)
    }
}

/// The device's bytes, polled from one virtio entropy device.
pub struct EntropySource {
    transport: MmioTransport<'static>,
    queue: VirtQueue<Hal, QUEUE_SIZE>,
    /// The request buffer (frame memory): the device's from `add` until
    /// `pop_used`.
    buffer: &'static mut [u8; REQUEST_BYTES],
    /// True once a request failed other than by a timeout.
    failed: bool,
    /// A request that timed out, and the bytes it asked for: the device
    /// still has the buffer until the request is popped.
    pending: Option<(u16, usize)>,
}

impl EntropySource {
    /// Starts the entropy device behind `transport`, a device region
    /// capability (`READ`, `WRITE`, `INSPECT`) for its virtio-mmio page,
    /// with its queue and buffer in `memory`, a frame capability (`READ`,
    /// `WRITE`, `INSPECT`) of [`DMA_BYTES`]. Maps them at
    /// [`TRANSPORT_MAPPED_AT`] and [`DMA_MAPPED_AT`] for as long as the
    /// source lives. On an error nothing stays mapped, and the caller
    /// still holds (and may delete) both capabilities.
    pub fn new(transport: Handle, memory: Handle) -> Result<EntropySource, Error> {
        let (address, bytes) = cap_object(transport)?;
        if cap_info(transport)?.kind != ObjectType::DeviceRegion || !is_virtio_mmio(address) {
            return Err(Error::NotVirtio);
        }
        if bytes > MAX_REGION_BYTES {
            return Err(Error::NotVirtio);
        }
        let (_, size) = cap_object(memory)?;
        if cap_info(memory)?.kind != ObjectType::Frame || size != DMA_BYTES {
            return Err(Error::NotEnoughMemory);
        }
        let page = Mapping::new(transport, TRANSPORT_MAPPED_AT, Rights::READ | Rights::WRITE)?;
        let registers = (0..bytes / TRANSPORT_BYTES).map(|slot| slot * TRANSPORT_BYTES).find(|&offset| {
            page.read_u32(offset + MAGIC_OFFSET) == MAGIC && page.read_u32(offset + DEVICE_ID_OFFSET) == ENTROPY_DEVICE
        });
        let Some(offset) = registers else {
            let _ = unmap(transport);
            return Err(Error::NoDevice);
        };
        // A second source finds the pool's place taken.
        let pool = Pool::from_frame(memory).map_err(|error| match error {
            tessera_rt::Error::SlotOccupied => Error::InUse,
            other => Error::Capability(other),
        });
        let started = pool.and_then(|pool| {
            let started = start(TRANSPORT_MAPPED_AT + offset, &pool);
            if started.is_err() {
                // `start` has reset the device (dropping its transport)
                // before it returned: it no longer uses the frame.
                let _ = unmap(memory);
            }
            started
        });
        if started.is_err() {
            let _ = unmap(transport);
        }
        started
    }

    /// Fills `out` with bytes from the device, [`REQUEST_BYTES`] per
    /// request; see the module docs for the health test. On an error
    /// `out` is wiped; after any error but a timeout the source fails
    /// every later call.
    pub fn fill(&mut self, out: &mut [u8]) -> Result<(), Error> {
        if self.failed {
            out.zeroize();
            return Err(Error::Failed);
        }
        let mut result = Ok(());
        for chunk in out.chunks_mut(REQUEST_BYTES) {
            result = self.request(chunk);
            if result.is_err() {
                break;
            }
        }
        if let Err(error) = result {
            self.failed = error != Error::TimedOut;
            out.zeroize();
        }
        result
    }

    /// One device request for `chunk` (at most [`REQUEST_BYTES`]).
    fn request(&mut self, chunk: &mut [u8]) -> Result<(), Error> {
        // A request that timed out earlier: the buffer is the device's
        // until it comes back; then its late bytes are thrown away.
        if let Some((token, asked)) = self.pending {
            if self.queue.peek_used() != Some(token) {
                return Err(Error::TimedOut);
            }
            // SAFETY: the buffer and length given with `token` when it was
            // added (recorded in `pending` when it timed out).
            let popped = unsafe { self.queue.pop_used(token, &[], &mut [&mut self.buffer[..asked]]) };
            self.buffer.zeroize();
            self.pending = None;
            popped.map_err(|_| Error::Device)?;
        }
        let asked = chunk.len().max(SAMPLE_BYTES);
        // SAFETY: the buffer is frame memory, mapped for the rest of the
        // process, and nothing reads or writes it until the request is
        // popped with the same buffer (below, or, after a timeout, by the
        // next request, which touches nothing before).
        let token = unsafe { self.queue.add(&[], &mut [&mut self.buffer[..asked]]) }.map_err(|_| Error::Device)?;
        if self.queue.should_notify() {
            self.transport.notify(REQUESTQ);
        }
        let deadline = uptime_micros().saturating_add(TIMEOUT_MICROS);
        while self.queue.peek_used() != Some(token) {
            if uptime_micros() > deadline {
                self.pending = Some((token, asked));
                return Err(Error::TimedOut);
            }
            sleep_micros(POLL_MICROS);
        }
        // SAFETY: the buffer given with `token` just above.
        let written = unsafe { self.queue.pop_used(token, &[], &mut [&mut self.buffer[..asked]]) };
        let written = written.map_err(|_| Error::Device)? as usize;
        let answer = &self.buffer[..asked];
        let result = if written != asked {
            Err(Error::ShortAnswer)
        } else if answer.iter().all(|&byte| byte == answer[0]) {
            Err(Error::HealthTest)
        } else {
            chunk.copy_from_slice(&answer[..chunk.len()]);
            Ok(())
        };
        self.buffer.zeroize();
        result
    }
}

/// Starts the device whose registers are mapped at `registers`, with its
/// queue and buffer in `pool`. On an error the device is reset (its
/// transport dropped) by the time this returns.
fn start(registers: u32, pool: &Pool) -> Result<EntropySource, Error> {
    let header = NonNull::new(registers as *mut VirtIOHeader).ok_or(Error::NotVirtio)?;
    // SAFETY: `registers` is the start of a virtio-mmio transport (its
    // magic value checked by the caller), 512-byte aligned, in the device
    // region the caller mapped as device memory at `TRANSPORT_MAPPED_AT`;
    // on success that mapping stays for the rest of the process, so its
    // `TRANSPORT_BYTES` of registers, config space included, stay valid,
    // and on an error the transport is dropped here before the caller
    // unmaps them. Nothing else in this process touches them. (If the
    // capability were revoked, an access would fault and end the process,
    // not reach other memory.)
    let transport = unsafe { MmioTransport::new(header, TRANSPORT_BYTES as usize) };
    let mut transport = transport.map_err(|_| Error::DeviceRefused)?;
    transport.begin_init(Features::VERSION_1);
    let queue = VirtQueue::new(&mut transport, REQUESTQ, false, false).map_err(|_| Error::DeviceRefused)?;
    transport.finish_init();
    let status = transport.get_status();
    let running = DeviceStatus::FEATURES_OK | DeviceStatus::DRIVER_OK;
    if !status.contains(running) || status.intersects(DeviceStatus::DEVICE_NEEDS_RESET | DeviceStatus::FAILED) {
        return Err(Error::DeviceRefused);
    }
    // The pool is mapped for as long as the source lives (the caller
    // unmaps it only if this fails, and then the buffer goes with it).
    let buffer = pool.buffer::<REQUEST_BYTES>().ok_or(Error::NotEnoughMemory)?;
    Ok(EntropySource { transport, queue, buffer, failed: false, pending: None })
}
