//! The device and what it needs from this process: the DMA pool and the
//! `virtio-drivers` HAL over it (`tessera_servers::dma`: one frame of
//! `DMA_BYTES` from the untyped memory `init` gave, mapped at `DMA_AT`; the
//! virtqueues come first, then the buffers), the transport's registers,
//! the buffers lent to the device, and smoltcp's `phy::Device` over the
//! raw driver, which does the TCP and UDP checksums for the stack
//! (`tessera_net_core::checksum`).
//!
//! Every buffer is the device's from the moment it is added to a queue
//! until the request is popped from the used ring: `Buffers` records the
//! token of the request holding each one, and nothing reads or writes a
//! buffer's bytes while it has one.

use core::ptr::NonNull;
use smoltcp::phy::{self, Checksum, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use tessera_net_core::checksum;
use tessera_net_core::frame::{self, Neighbors, UdpHeaders, UDP_PAYLOAD_AT};
use tessera_net_core::queue::Steering;
use tessera_rt::{cap_object, Handle, Mapping, Rights};
use tessera_servers::dma;
use tessera_servers::net::{
    BUFFER_BYTES, DMA_AT, DMA_BYTES, NET_DEVICE, QUEUE_SIZE, RECEIVE_BUFFERS, REGISTERS_AT, TRANSMIT_BUFFERS,
    UDP_DATAGRAMS, UDP_SOCKETS,
};
use tessera_servers::uart::{is_virtio_mmio, DEVICE_ID_OFFSET, MAGIC, MAGIC_OFFSET, TRANSPORT_BYTES};
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};

/// The largest Ethernet frame, without its check sequence: a 1500-byte
/// IP packet and its 14-byte header.
const ETHERNET_FRAME_BYTES: usize = 1514;

/// The DMA pool (`tessera_servers::dma`): one frame of `DMA_BYTES` at
/// `DMA_AT`.
pub type Pool = dma::Pool<DMA_AT, DMA_BYTES>;
/// The `virtio-drivers` HAL over it.
type Hal = dma::Hal<DMA_AT, DMA_BYTES>;

/// Maps the virtio-mmio page `region` at `REGISTERS_AT` for good and
/// finds the first transport on it whose device is a network device;
/// returns its physical address and its transport.
pub fn find_device(region: Handle) -> Result<(u32, MmioTransport<'static>), &'static str> {
    let (physical, bytes) = cap_object(region).map_err(|_| "cannot see the device region's address")?;
    if !is_virtio_mmio(physical) {
        return Err("the device region it was given holds no virtio-mmio transport");
    }
    let page = Mapping::new(region, REGISTERS_AT, Rights::READ | Rights::WRITE)
        .map_err(|_| "cannot map the virtio-mmio page")?;
    let offset = (0..bytes / TRANSPORT_BYTES).map(|slot| slot * TRANSPORT_BYTES).find(|&offset| {
        page.read_u32(offset + MAGIC_OFFSET) == MAGIC && page.read_u32(offset + DEVICE_ID_OFFSET) == NET_DEVICE
    });
    let offset = offset.ok_or("no virtio network device on the virtio-mmio page it was given")?;
    let header = NonNull::new((REGISTERS_AT + offset) as *mut VirtIOHeader).ok_or("REGISTERS_AT is not null")?;
    // SAFETY: the header is the start of a virtio-mmio transport (its
    // magic value checked above), 512-byte aligned, in a device region
    // mapped just above as device memory and never unmapped, so its
    // `TRANSPORT_BYTES` of registers, config space included, stay valid
    // for the rest of the process; nothing else in this process
    // touches them from here on. (If the capability were revoked, an
    // access would fault and end the process, not reach other memory.)
    let transport = unsafe { MmioTransport::new(header, TRANSPORT_BYTES as usize) };
    Ok((physical + offset, transport.map_err(|_| "the network device's transport was refused")?))
}

/// Buffers lent to the device one request each.
struct Buffers<const N: usize> {
    bytes: [&'static mut [u8; BUFFER_BYTES]; N],
    /// The token of the request holding each buffer and the length it
    /// was lent with, while the device has it; `None`: it is ours.
    lent: [Option<(u16, usize)>; N],
}

impl<const N: usize> Buffers<N> {
    fn new(pool: &Pool) -> Option<Buffers<N>> {
        let mut bytes = [const { None }; N];
        for buffer in &mut bytes {
            *buffer = Some(pool.buffer::<BUFFER_BYTES>()?);
        }
        Some(Buffers { bytes: bytes.map(|buffer| buffer.expect("every buffer was made above")), lent: [None; N] })
    }

    /// The buffer the request `token` holds.
    fn holding(&self, token: u16) -> Option<usize> {
        self.lent.iter().position(|lent| lent.is_some_and(|(held, _)| held == token))
    }
}

/// The raw driver on the MMIO transport.
type Driver = VirtIONetRaw<Hal, MmioTransport<'static>, QUEUE_SIZE>;

/// The network device, with its buffers: what smoltcp's interface
/// sends and receives through.
pub struct Nic {
    device: Driver,
    receive: Buffers<RECEIVE_BUFFERS>,
    transmit: Buffers<TRANSMIT_BUFFERS>,
    /// A receive buffer taken back from the device whose frame the
    /// stack is handed (or was): it goes back to the device at the next
    /// `receive`, once the token that lent it to the stack is gone.
    received: Option<usize>,
    /// The stack asked for a transmit buffer and found none free since
    /// the last `steer`.
    starved: bool,
    /// Transmit buffers not lent (`transmit.lent`'s `None`s, counted: the
    /// stack asks for one many times a poll).
    transmit_free: usize,
    /// The length of the device's header that starts every frame (10 or
    /// 12 bytes): written into each transmit buffer once, in `new`
    /// (zeros, no offloads; nothing writes there after), not at every
    /// frame sent.
    header: usize,
    /// The neighbours' MACs, from the ARP packets that came
    /// (`send_datagram`).
    pub neighbors: Neighbors<4>,
    /// The IPv4 identification of the next datagram sent directly.
    identification: u16,
    /// Where the apps' datagrams go as they come.
    pub steering: Steering<'static, UDP_SOCKETS, UDP_DATAGRAMS>,
    /// A receive buffer taken from the device whose frame is for the
    /// stack, not handed to it yet (`steer` stopped there): its index,
    /// and where the frame lies in it.
    pending: Option<(usize, usize, usize)>,
}

impl Nic {
    /// Starts the device (the driver negotiates its features, reads the
    /// MAC and sets up the two queues in `pool`) and lends it every
    /// receive buffer.
    pub fn new(transport: MmioTransport<'static>, pool: Pool) -> Result<Nic, virtio_drivers::Error> {
        let device = VirtIONetRaw::new(transport)?;
        let (Some(receive), Some(mut transmit)) = (Buffers::new(&pool), Buffers::new(&pool)) else {
            return Err(virtio_drivers::Error::DmaError);
        };
        let (neighbors, identification) = (Neighbors::new(), 0);
        // The device's MAC, read from its configuration once.
        let mut steering = Steering::new();
        steering.mac = device.mac_address();
        let (received, pending, starved) = (None, None, false);
        let transmit_free = TRANSMIT_BUFFERS;
        let mut header = 0;
        for buffer in transmit.bytes.iter_mut() {
            header = device.fill_buffer_header(&mut buffer[..])?;
        }
        let mut nic = Nic {
            device,
            receive,
            transmit,
            received,
            starved,
            transmit_free,
            header,
            neighbors,
            identification,
            steering,
            pending,
        };
        for index in 0..RECEIVE_BUFFERS {
            nic.lend_receive_buffer(index)?;
        }
        Ok(nic)
    }

    /// Acknowledges the device's interrupt (reads and clears its
    /// interrupt status).
    pub fn ack_interrupt(&mut self) {
        let _ = self.device.ack_interrupt();
    }

    pub fn mac_address(&self) -> [u8; 6] {
        self.steering.mac
    }

    /// Sends a UDP datagram without the stack (`tessera_net_core::frame`):
    /// `payload` writes its bytes into the frame's buffer and says how
    /// many; `headers` without the source MAC (this device's) and the
    /// identification. Says whether it went out: `false` if no transmit
    /// buffer is free, the payload is too long or the queue is full (the
    /// stack's path then sends it).
    pub fn send_datagram(&mut self, mut headers: UdpHeaders, payload: impl FnOnce(&mut [u8]) -> usize) -> bool {
        if !self.transmit_buffer_free() {
            return false;
        }
        let Some(index) = self.transmit.lent.iter().position(Option::is_none) else { return false };
        let (buffer, header) = (&mut self.transmit.bytes[index][..], self.header);
        let frame = &mut buffer[header..];
        let len = payload(&mut frame[UDP_PAYLOAD_AT..]);
        (headers.source_mac, headers.identification) = (self.steering.mac, self.identification);
        let Some(end) = frame::write_udp(frame, &headers, len) else { return false };
        self.identification = self.identification.wrapping_add(1);
        // SAFETY: as in `TransmitToken::consume`: the buffer is ours
        // (not lent) and stays untouched until `reclaim_transmitted` pops
        // it with this token and length.
        match unsafe { self.device.transmit_begin(&buffer[..header + end]) } {
            Ok(token) => {
                self.transmit.lent[index] = Some((token, header + end));
                self.transmit_free -= 1;
                true
            }
            Err(_) => false,
        }
    }

    /// Lends receive buffer `index` (ours) to the device.
    fn lend_receive_buffer(&mut self, index: usize) -> Result<(), virtio_drivers::Error> {
        // SAFETY: the buffer lives as long as the process, and nothing
        // reads or writes it until the request is popped with the same
        // buffer: `lent` holds the token, and `receive` pops it before
        // it looks at the bytes.
        let token = unsafe { self.device.receive_begin(&mut self.receive.bytes[index][..])? };
        self.receive.lent[index] = Some((token, BUFFER_BYTES));
        Ok(())
    }

    /// After an interrupt: takes the frames that came, steering the
    /// apps' datagrams into their queues (`Steering`), up to the first
    /// frame for the stack, which it keeps for the stack's next
    /// `receive`. Says whether the stack has nothing new to work on: no
    /// frame for it, and it had a transmit buffer whenever it wanted one
    /// since the last time (so it sent all it had). A frame that comes
    /// after this raises the interrupt again (its status was read and
    /// cleared before).
    pub fn steer(&mut self, time: u64) -> bool {
        if self.pending.is_none() {
            self.pending = self.next_for_stack(time);
        }
        let starved = core::mem::take(&mut self.starved);
        !starved && self.pending.is_none()
    }

    /// The next frame for the stack (its buffer's index, and where the
    /// frame lies in it), taken from the device; the frames before it
    /// that are not the stack's are dealt with and their buffers lent
    /// again: datagrams for the apps' sockets steered, frames that fail
    /// their checksum dropped. ARP packets teach `neighbors` on the way.
    fn next_for_stack(&mut self, time: u64) -> Option<(usize, usize, usize)> {
        loop {
            let token = self.device.poll_receive()?;
            let index = self.receive.holding(token)?;
            // SAFETY: the buffer given with `token` in `lend_receive_buffer`.
            let received = unsafe { self.device.receive_complete(token, &mut self.receive.bytes[index][..]) };
            let (header, length) = match received {
                Ok(sizes) => sizes,
                // Taken back, but shorter than its header: dropped.
                Err(virtio_drivers::Error::IoError) => (0, 0),
                // Not taken back (the token was just seen at the head of
                // the used ring, so this does not happen): still lent.
                Err(_) => return None,
            };
            self.receive.lent[index] = None;
            let frame = self.receive.bytes[index].get(header..header + length).unwrap_or(&[]);
            // A datagram for an app's socket goes to its queue (its
            // checksum checked there); a TCP or UDP frame for the stack
            // whose checksum is wrong (or that cannot be checked) is
            // dropped here.
            let taken = self.steering.steer(frame) || !checksum::verify(frame);
            // Answers to the stack's ARP requests (and other hosts'
            // requests for this one) say where a neighbour is: datagrams
            // sent directly go there.
            let own = self.steering.own;
            if let Some((address, mac)) = own.and_then(|own| frame::arp_neighbor(frame, own, self.steering.mac)) {
                self.neighbors.learn(address, mac, time);
            }
            if !taken {
                return Some((index, header, length));
            }
            // If lending fails, the queue is broken and the buffer stays ours.
            let _ = self.lend_receive_buffer(index);
        }
    }

    /// Whether a transmit buffer is free, taking back the ones whose
    /// frames were sent only if none is: each take-back asks the device
    /// (`used_event`) to interrupt for the next frame it sends, and until
    /// then it sends without interrupting, so frames sent in a row cost
    /// one interrupt, not one each. Notes a shortage (`steer`).
    fn transmit_buffer_free(&mut self) -> bool {
        if self.transmit_free > 0 {
            return true;
        }
        self.reclaim_transmitted();
        let free = self.transmit_free > 0;
        self.starved |= !free;
        free
    }

    /// Takes back the transmit buffers whose frames the device has sent.
    fn reclaim_transmitted(&mut self) {
        while let Some(token) = self.device.poll_transmit() {
            let Some(index) = self.transmit.holding(token) else { return };
            let Some((_, length)) = self.transmit.lent[index] else { return };
            // SAFETY: the buffer and length given with `token` in
            // `TransmitToken::consume`.
            if unsafe { self.device.transmit_complete(token, &self.transmit.bytes[index][..length]) }.is_err() {
                return;
            }
            self.transmit.lent[index] = None;
            self.transmit_free += 1;
        }
    }
}

/// A frame the device received, for the stack.
pub struct ReceiveToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for ReceiveToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// A free transmit buffer, for the stack to write a frame into.
pub struct TransmitToken<'a> {
    device: &'a mut Driver,
    buffer: &'a mut [u8; BUFFER_BYTES],
    lent: &'a mut Option<(u16, usize)>,
    /// The device's count of free transmit buffers.
    free: &'a mut usize,
    /// The length of the device's header, there already (`Nic::header`).
    header: usize,
}

impl<'a> TransmitToken<'a> {
    /// A token on the first free buffer of `transmit`, if there is one.
    fn on_free_buffer(
        device: &'a mut Driver,
        transmit: &'a mut Buffers<TRANSMIT_BUFFERS>,
        free: &'a mut usize,
        header: usize,
    ) -> Option<Self> {
        let index = transmit.lent.iter().position(Option::is_none)?;
        Some(TransmitToken { device, buffer: transmit.bytes[index], lent: &mut transmit.lent[index], free, header })
    }
}

impl phy::TxToken for TransmitToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        // The header is 10 or 12 bytes; `len` is at most the MTU the
        // capabilities state, so the frame fits (`min` only guards).
        let header = self.header;
        let end = (header + len).min(BUFFER_BYTES);
        let result = f(&mut self.buffer[header..end]);
        // The stack leaves TCP and UDP checksums to the device
        // (`capabilities`): this layer is that device.
        checksum::fill(&mut self.buffer[header..end]);
        // SAFETY: the buffer lives as long as the process, and nothing
        // reads or writes it until the request is popped with the same
        // buffer and length: `lent` holds them, the buffer is handed
        // out again only once `reclaim_transmitted` has popped it.
        // A frame the queue has no room for is dropped, as a full NIC
        // would; the stack's protocols resend.
        if let Ok(token) = unsafe { self.device.transmit_begin(&self.buffer[..end]) } {
            *self.lent = Some((token, end));
            *self.free -= 1;
        }
        result
    }
}

impl phy::Device for Nic {
    type RxToken<'a> = ReceiveToken<'a>;
    type TxToken<'a> = TransmitToken<'a>;

    fn receive(&mut self, timestamp: Instant) -> Option<(ReceiveToken<'_>, TransmitToken<'_>)> {
        // The frame handed out last time has been dealt with: its
        // buffer goes back to the device. (If lending fails, the queue
        // is broken and the buffer stays ours.)
        if let Some(index) = self.received.take() {
            let _ = self.lend_receive_buffer(index);
        }
        // A reply may be needed: only take a frame if it can be sent.
        if !self.transmit_buffer_free() {
            return None;
        }
        let pending = self.pending.take();
        let (index, header, length) = match pending {
            Some(pending) => pending,
            None => self.next_for_stack(timestamp.total_micros() as u64)?,
        };
        self.received = Some(index);
        let frame = self.receive.bytes[index].get(header..header + length)?;
        let transmit =
            TransmitToken::on_free_buffer(&mut self.device, &mut self.transmit, &mut self.transmit_free, self.header)?;
        Some((ReceiveToken { frame }, transmit))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TransmitToken<'_>> {
        if !self.transmit_buffer_free() {
            return None;
        }
        TransmitToken::on_free_buffer(&mut self.device, &mut self.transmit, &mut self.transmit_free, self.header)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = ETHERNET_FRAME_BYTES;
        capabilities.max_burst_size = Some(RECEIVE_BUFFERS);
        // TCP and UDP checksums are this layer's (`checksum::fill` and
        // `verify`, several times faster than the stack's loop); the
        // IPv4 header's and ICMP's stay the stack's. `checksum` knows
        // IPv4 only and refuses fragments: turning on smoltcp's IPv6 or
        // IPv4 fragmentation needs it taught those first.
        capabilities.checksum.tcp = Checksum::None;
        capabilities.checksum.udp = Checksum::None;
        capabilities
    }
}
