//! Synchronous IPC on endpoints, notifications, and interrupts delivered to
//! notifications (docs/capabilities.md, "IPC").
//!
//! Endpoint and notification state lives in the object's own memory (carved
//! from untyped memory by `Retype`, zeroed then): a FIFO of blocked threads,
//! linked through the process table, and reference counts the capability
//! code keeps. Nothing is queued in the kernel but blocked threads; a sender
//! that finds no receiver waits with its message in its own process entry.

use super::capabilities::Slots;
use super::{Kernel, Platform, Reply, State};
use crate::capability::{self, Capability};
use crate::syscall::{Call, Message};
use tessera_abi::{ipc, Error, Handle, ObjectType, Rights, FOREVER, NO_WAIT};

/// What a thread blocked in IPC is waiting for. `repr(u32)`, as `State`
/// is, for the architectures' fast paths (`fast_path::Layout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[repr(u32)]
pub(super) enum Ipc {
    /// Not blocked in IPC.
    #[default]
    None = 0,
    /// Queued on an endpoint with a message to deliver.
    Sending { endpoint: u32, message: Message, badge: u32, call: bool } = 1,
    /// Queued on an endpoint for a message.
    Receiving { endpoint: u32 } = 2,
    /// Waiting for server `server` (a process index) to reply. The server's
    /// `reply_to` names this process for as long as it waits.
    AwaitingReply { server: u32 } = 3,
    /// Queued on a notification for a bit of `mask`.
    Notification { object: u32, mask: u32 },
}

/// A FIFO of threads, as process links (`ProcessTable::link`: the
/// entry's address; 0: empty), each one's `Process::ipc_next` the next.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Queue {
    pub(super) head: u32,
    pub(super) tail: u32,
}

/// An endpoint as it lies in its 64 bytes of memory.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct EndpointObject {
    pub(super) queue: Queue,
    /// The queue's head while it holds receivers, 0 while it holds senders
    /// or is empty (see [`EndpointObject::set_receivers`]): a `Call`'s fast
    /// path finds the waiting server in one load.
    pub(super) first_receiver: u32,
    /// Live capabilities to the endpoint.
    pub(super) references: u32,
    /// Live capabilities with `RECEIVE`.
    pub(super) receivers: u32,
}

impl EndpointObject {
    /// True if the queue holds receivers (none if it is empty).
    pub(super) fn holds_receivers(&self) -> bool {
        self.first_receiver != 0
    }

    /// After any change to the queue: it holds receivers (the head is
    /// then the first, 0 if the queue emptied) or not.
    pub(super) fn set_receivers(&mut self, receivers: bool) {
        self.first_receiver = if receivers { self.queue.head } else { 0 };
    }
}

/// A notification as it lies in its 64 bytes of memory.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct NotificationObject {
    pub(super) queue: Queue,
    bits: u32,
    pub(super) references: u32,
    /// The process bound to it (`NotificationBind`): index + 1, 0: none.
    pub(super) bound: u32,
}

/// Where a notification's bits lie, for the architectures' fast paths.
pub(super) const NOTIFICATION_BITS_OFFSET: usize = core::mem::offset_of!(NotificationObject, bits);

/// `Process::reply_to` when it owes nobody a reply.
pub(super) const NO_CALLER: u32 = u32::MAX;
/// `Process::reply_to` when the caller it owes a reply ended: the reply
/// fails with `PeerGone`. Any other value is the caller's link
/// (`ProcessTable::link`), and that caller is `AwaitingReply` on this
/// process (`cancel_ipc` keeps it so). Both lie above every link (RAM ends
/// below them: `ProcessTable::init`): the A7's paths test them with one
/// compare.
pub(super) const CALLER_GONE: u32 = u32::MAX - 1;

impl super::table::ProcessTable {
    /// The index of the caller a `reply_to` value names, if one still waits.
    #[inline(always)]
    pub(super) fn waiting_caller(&self, reply_to: u32) -> Option<usize> {
        debug_assert!(reply_to >= CALLER_GONE || self.is_link(reply_to), "a reply_to names a live process");
        (reply_to < CALLER_GONE).then(|| self.index_of_link(reply_to))
    }
}

/// Most interrupts bound to notifications at once.
pub(super) const MAX_BINDINGS: usize = 32;

/// An interrupt delivered to a notification. Its interrupt number comes
/// first: the A7's `InterruptAck` and IRQ entry in assembly walk the
/// bindings by it (fast_path.rs).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub(super) struct Binding {
    /// Interrupt ID (0: unused entry).
    interrupt: u32,
    /// Notification object address.
    notification: u32,
    /// Bits signalled.
    bits: u32,
}

const _: () = assert!(core::mem::offset_of!(Binding, interrupt) == 0);
/// Where a binding keeps its notification and bits (fast_path.rs).
pub(super) const BINDING_NOTIFICATION_OFFSET: usize = core::mem::offset_of!(Binding, notification);
pub(super) const BINDING_BITS_OFFSET: usize = core::mem::offset_of!(Binding, bits);

impl Binding {
    /// An unused entry.
    pub(super) const ZERO: Binding = Binding { interrupt: 0, notification: 0, bits: 0 };
}

impl<P: Platform> Kernel<P> {
    /// The endpoint or notification at `address`.
    #[inline(always)]
    pub(super) fn load<T: Copy>(&self, address: u32) -> T {
        // SAFETY: `address` comes from a live endpoint or notification
        // capability: `Retype` carved (and zeroed) 64 bytes there from
        // untyped memory in RAM (which `ram` reaches), and that memory is not
        // reused while any capability to the object lives (the untyped's
        // watermark only resets once all its descendants are gone). The
        // kernel is the only user of the object's memory and runs one entry
        // at a time. Both object types are 4-byte aligned plain words.
        unsafe { core::ptr::read(self.platform.ram().pointer::<T>(address)) }
    }

    /// Writes back the endpoint or notification at `address`.
    #[inline(always)]
    fn store<T>(&self, address: u32, value: T) {
        // SAFETY: as for `load`.
        unsafe { core::ptr::write(self.platform.ram().pointer::<T>(address), value) }
    }

    // --- queues -------------------------------------------------------------

    fn enqueue(&mut self, queue: &mut Queue, index: usize) {
        self.processes[index].ipc_next = 0;
        let link = self.processes.link(index);
        if queue.tail == 0 {
            queue.head = link;
        } else {
            let tail = self.processes.index_of_link(queue.tail);
            self.processes[tail].ipc_next = link;
        }
        queue.tail = link;
    }

    fn dequeue(&mut self, queue: &mut Queue) -> Option<usize> {
        if queue.head == 0 {
            return None;
        }
        let index = self.processes.index_of_link(queue.head);
        queue.head = self.processes[index].ipc_next;
        if queue.head == 0 {
            queue.tail = 0;
        }
        self.processes[index].ipc_next = 0;
        Some(index)
    }

    fn unlink(&mut self, queue: &mut Queue, index: usize) {
        let target = self.processes.link(index);
        let mut previous = 0u32;
        let mut cursor = queue.head;
        while cursor != 0 {
            let next = self.processes[self.processes.index_of_link(cursor)].ipc_next;
            if cursor == target {
                if previous == 0 {
                    queue.head = next;
                } else {
                    let previous = self.processes.index_of_link(previous);
                    self.processes[previous].ipc_next = next;
                }
                if queue.tail == target {
                    queue.tail = previous;
                }
                break;
            }
            previous = cursor;
            cursor = next;
        }
        self.processes[index].ipc_next = 0;
    }

    // --- reference counts (called by the capability code) -------------------

    /// A capability to an endpoint or notification was made.
    /// Only endpoints and notifications: callers use `referenced`, which
    /// covers every type (processes included).
    pub(super) fn object_referenced(&mut self, capability: &Capability) {
        match capability.kind {
            ObjectType::Endpoint => {
                let mut endpoint: EndpointObject = self.load(capability.object);
                endpoint.references += 1;
                if capability.rights.contains(Rights::RECEIVE) {
                    endpoint.receivers += 1;
                }
                self.store(capability.object, endpoint);
            }
            ObjectType::Notification => {
                let mut notification: NotificationObject = self.load(capability.object);
                notification.references += 1;
                self.store(capability.object, notification);
            }
            _ => {}
        }
    }

    /// An endpoint capability lost its `RECEIVE` right (a narrowing
    /// `CapMove`): one receiver less; with none left, nobody queued can
    /// ever meet anybody, as in `object_released`.
    pub(super) fn receive_right_dropped(&mut self, capability: &Capability) {
        if capability.kind != ObjectType::Endpoint {
            return;
        }
        let mut endpoint: EndpointObject = self.load(capability.object);
        endpoint.receivers = endpoint.receivers.saturating_sub(1);
        if endpoint.receivers == 0 {
            while let Some(index) = self.dequeue(&mut endpoint.queue) {
                self.wake_with_error(index, Error::PeerGone);
            }
            endpoint.set_receivers(false);
        }
        self.store(capability.object, endpoint);
    }

    /// A capability to an endpoint or notification was destroyed: the last
    /// receiver going fails the waiting senders; the last capability going
    /// fails everyone still queued and unbinds interrupts.
    pub(super) fn object_released(&mut self, capability: &Capability) {
        match capability.kind {
            ObjectType::Endpoint => {
                let mut endpoint: EndpointObject = self.load(capability.object);
                endpoint.references = endpoint.references.saturating_sub(1);
                if capability.rights.contains(Rights::RECEIVE) {
                    endpoint.receivers = endpoint.receivers.saturating_sub(1);
                }
                // With no receive right left, nobody queued can ever meet
                // anybody: senders would wait forever, and so would queued
                // receivers whose right was just revoked.
                if endpoint.references == 0 || endpoint.receivers == 0 {
                    while let Some(index) = self.dequeue(&mut endpoint.queue) {
                        self.wake_with_error(index, Error::PeerGone);
                    }
                    endpoint.set_receivers(false);
                }
                self.store(capability.object, endpoint);
            }
            ObjectType::Notification => {
                let mut notification: NotificationObject = self.load(capability.object);
                notification.references = notification.references.saturating_sub(1);
                if notification.references == 0 {
                    while let Some(index) = self.dequeue(&mut notification.queue) {
                        self.wake_with_error(index, Error::PeerGone);
                    }
                    // Its bound process receives without it from now on.
                    if let Some(process) = (core::mem::take(&mut notification.bound) as usize).checked_sub(1) {
                        self.processes[process].bound = 0;
                    }
                    for binding in self.bindings.iter_mut() {
                        if binding.interrupt != 0 && binding.notification == capability.object {
                            self.platform.disable_interrupt(binding.interrupt);
                            *binding = Binding::ZERO;
                        }
                    }
                }
                self.store(capability.object, notification);
            }
            _ => {}
        }
    }

    // --- blocking and waking ------------------------------------------------

    fn wake_with_error(&mut self, index: usize, error: Error) {
        self.processes[index].ipc = Ipc::None;
        self.processes[index].context.r[0] = error as u32;
        if matches!(self.processes[index].state, State::Ipc { .. }) {
            self.make_ready(index);
        }
    }

    /// Blocks the current thread in IPC for up to `timeout` microseconds
    /// (`FOREVER`: no limit; `NO_WAIT` is dealt with before blocking).
    fn block_in_ipc(&mut self, index: usize, ipc: Ipc, timeout: u32) {
        self.processes[index].ipc = ipc;
        let until = self.clock.deadline(self.platform.now(), timeout).until().unwrap_or(u64::MAX);
        self.block_current(State::Ipc { until });
    }

    /// The timeout of a thread blocked in IPC expired.
    pub(super) fn ipc_timed_out(&mut self, index: usize) {
        self.cancel_ipc(index);
        self.processes[index].context.r[0] = Error::TimedOut as u32;
        self.make_ready(index);
    }

    /// Takes process `index` out of whatever IPC it is blocked in (it timed
    /// out or is ending), and fails the caller waiting for its reply.
    pub(super) fn cancel_ipc(&mut self, index: usize) {
        match self.processes[index].ipc {
            Ipc::Sending { endpoint, .. } | Ipc::Receiving { endpoint } => {
                let mut object: EndpointObject = self.load(endpoint);
                self.unlink(&mut object.queue, index);
                object.set_receivers(object.holds_receivers());
                self.store(endpoint, object);
            }
            Ipc::Notification { object, .. } => {
                let mut notification: NotificationObject = self.load(object);
                self.unlink(&mut notification.queue, index);
                self.store(object, notification);
            }
            Ipc::AwaitingReply { server } => {
                // The server learns at its reply that the caller is gone.
                assert!(self.processes.is_live(server as usize), "a caller awaits a reply from a free process slot");
                let link = self.processes.link(index);
                let server = &mut self.processes[server as usize];
                if server.reply_to == link {
                    server.reply_to = CALLER_GONE;
                }
            }
            Ipc::None => {}
        }
        self.processes[index].ipc = Ipc::None;
    }

    /// Process `index` is ending: leave IPC, fail the caller waiting on us.
    pub(super) fn ipc_process_ending(&mut self, index: usize) {
        self.cancel_ipc(index);
        // Its notification may bind another process.
        let bound = core::mem::take(&mut self.processes[index].bound);
        if bound != 0 {
            let mut object: NotificationObject = self.load(bound);
            object.bound = 0;
            self.store(bound, object);
        }
        // It serves nobody any more.
        self.processes[index].priority = self.processes[index].base_priority;
        let reply_to = core::mem::replace(&mut self.processes[index].reply_to, NO_CALLER);
        if let Some(caller) = self.processes.waiting_caller(reply_to) {
            assert!(self.processes.is_live(caller), "a server owes a reply to a free process slot");
            self.wake_with_error(caller, Error::PeerGone);
        }
    }

    // --- messages -----------------------------------------------------------

    /// Writes `message` into `receiver`'s registers with `badge` in `r7`,
    /// passing on its capabilities from `sender`'s CSpace: each is copied (a
    /// child of the sender's, same rights) into a free slot of the
    /// receiver's, and the new handle replaces the sender's in its word. A
    /// capability that is gone by now, or that finds no free slot, arrives
    /// as handle 0.
    fn deliver(&mut self, sender: usize, receiver: usize, message: Message, badge: u32) {
        let words = self.transfer(sender, receiver, message);
        let caps = ipc::caps(message.info);
        let context = &mut self.processes[receiver].context;
        context.r[0] = 0;
        context.r[1] = ipc::info(ipc::label(message.info), caps);
        context.r[2..6].copy_from_slice(&words);
        context.r[7] = badge;
    }

    /// The message's words as `receiver` gets them: each capability it
    /// carries (the last words) granted into `receiver`'s CSpace and named
    /// by its new handle there, or 0 if it could not be (no free slot, or
    /// the sender's handle no longer names one).
    #[inline(never)]
    fn transfer(&mut self, sender: usize, receiver: usize, message: Message) -> [u32; 4] {
        let mut words = message.words;
        let caps = ipc::caps(message.info) as usize;
        for word in &mut words[4 - caps..] {
            let handle = Handle(*word);
            *word = 0;
            let Ok(source) = self.lookup(sender, handle) else { continue };
            let Ok(destination) = self.free_slot(receiver) else { continue };
            if capability::grant(&mut Slots(&mut self.processes), source, destination, Rights::all()).is_ok() {
                let granted = self.capability_at(destination);
                self.referenced(&granted);
                *word = self.handle_at(destination).0;
            }
        }
        words
    }

    /// A message from `sender` meets `receiver`: deliver it; for a call the
    /// sender waits for the reply, the receiver may answer it and runs at
    /// least at the sender's priority meanwhile.
    fn rendezvous(&mut self, sender: usize, receiver: usize, message: Message, badge: u32, call: bool) {
        self.deliver(sender, receiver, message, badge);
        if call {
            let link = self.processes.link(sender);
            let previous = core::mem::replace(&mut self.processes[receiver].reply_to, link);
            if let Some(previous) = self.processes.waiting_caller(previous) {
                assert!(self.processes.is_live(previous), "a server owes a reply to a free process slot");
                self.wake_with_error(previous, Error::PeerGone);
            }
            self.processes[sender].ipc = Ipc::AwaitingReply { server: receiver as u32 };
            let caller_priority = self.processes[sender].priority;
            if caller_priority > self.processes[receiver].priority {
                self.processes[receiver].priority = caller_priority;
            }
        } else {
            self.processes[sender].ipc = Ipc::None;
            self.processes[sender].context.r[0] = 0;
        }
    }

    /// The capability `handle` names in process `index`'s CSpace, which must
    /// be of type `kind` and hold the rights `needed`.
    fn typed_capability(
        &self,
        index: usize,
        handle: Handle,
        kind: ObjectType,
        needed: Rights,
    ) -> Result<Capability, Error> {
        let capability = self.held_capability(index, handle)?;
        if capability.kind != kind {
            return Err(Error::WrongType);
        }
        if !capability.rights.contains(needed) {
            return Err(Error::MissingRight);
        }
        Ok(capability)
    }

    fn endpoint_capability(&self, index: usize, handle: Handle, needed: Rights) -> Result<Capability, Error> {
        self.typed_capability(index, handle, ObjectType::Endpoint, needed)
    }

    fn check_transfer(&self, index: usize, message: &Message) -> Result<(), Error> {
        let caps = ipc::caps(message.info) as usize;
        for position in 4 - caps..4 {
            let capability = self.capability_at(self.lookup(index, Handle(message.words[position]))?);
            if !capability.rights.contains(Rights::GRANT) {
                return Err(Error::MissingRight);
            }
        }
        Ok(())
    }

    fn send(
        &mut self,
        index: usize,
        endpoint: Handle,
        message: Message,
        call: bool,
        timeout: u32,
    ) -> Result<(), Error> {
        let capability = self.endpoint_capability(index, endpoint, Rights::SEND)?;
        self.check_transfer(index, &message)?;
        let mut object: EndpointObject = self.load(capability.object);
        if object.receivers == 0 {
            return Err(Error::PeerGone);
        }
        if object.holds_receivers() {
            if let Some(receiver) = self.dequeue(&mut object.queue) {
                object.set_receivers(true);
                self.store(capability.object, object);
                self.processes[receiver].ipc = Ipc::None;
                self.rendezvous(index, receiver, message, capability.badge, call);
                self.make_ready(receiver);
                if call {
                    self.block_current(State::Ipc { until: u64::MAX });
                }
                return Ok(());
            }
        }
        if timeout == NO_WAIT {
            return Err(Error::TimedOut);
        }
        self.enqueue(&mut object.queue, index);
        object.set_receivers(false);
        self.store(capability.object, object);
        let ipc = Ipc::Sending { endpoint: capability.object, message, badge: capability.badge, call };
        self.block_in_ipc(index, ipc, timeout);
        Ok(())
    }

    fn receive(&mut self, index: usize, endpoint: Handle, timeout: u32) -> Result<(), Error> {
        let capability = self.endpoint_capability(index, endpoint, Rights::RECEIVE)?;
        // Its bound notification's bits, if any are set, come first.
        let bound = self.processes[index].bound;
        if bound != 0 {
            let mut object: NotificationObject = self.load(bound);
            if object.bits != 0 {
                let bits = core::mem::take(&mut object.bits);
                self.store(bound, object);
                self.notify_receiver(index, bits);
                return Ok(());
            }
        }
        let mut object: EndpointObject = self.load(capability.object);
        if !object.holds_receivers() {
            if let Some(sender) = self.dequeue(&mut object.queue) {
                self.store(capability.object, object);
                let Ipc::Sending { message, badge, call, .. } = self.processes[sender].ipc else {
                    unreachable!("a queued sender without a message")
                };
                self.rendezvous(sender, index, message, badge, call);
                if call {
                    // A call's timeout covers the send phase only; the
                    // answer is waited for without one, on every path. (Its
                    // deadline stays in `earliest_wakeup`, a bound.)
                    self.processes[sender].state = State::Ipc { until: u64::MAX };
                } else {
                    self.make_ready(sender);
                }
                return Ok(());
            }
        }
        if timeout == NO_WAIT {
            return Err(Error::TimedOut);
        }
        self.enqueue(&mut object.queue, index);
        object.set_receivers(true);
        self.store(capability.object, object);
        self.block_in_ipc(index, Ipc::Receiving { endpoint: capability.object }, timeout);
        Ok(())
    }

    fn reply(&mut self, index: usize, message: Message) -> Result<(), Error> {
        let caller = self.processes[index].reply_to;
        if caller == NO_CALLER {
            return Err(Error::InvalidArgument);
        }
        self.check_transfer(index, &message)?;
        self.processes[index].reply_to = NO_CALLER;
        self.processes[index].priority = self.processes[index].base_priority;
        let caller = self.processes.waiting_caller(caller).ok_or(Error::PeerGone)?;
        assert!(self.processes.is_live(caller), "a server owes a reply to a free process slot");
        self.deliver(index, caller, message, 0);
        self.processes[caller].ipc = Ipc::None;
        self.make_ready(caller);
        Ok(())
    }

    fn notification_capability(&self, index: usize, handle: Handle, needed: Rights) -> Result<Capability, Error> {
        self.typed_capability(index, handle, ObjectType::Notification, needed)
    }

    /// Sets `bits` in the notification at `address` and wakes the waiters
    /// they satisfy, in order.
    fn signal_object(&mut self, address: u32, bits: u32) {
        let mut object: NotificationObject = self.load(address);
        object.bits |= bits;
        let mut waiting = object.queue;
        object.queue = Queue::default();
        while let Some(waiter) = self.dequeue(&mut waiting) {
            let Ipc::Notification { mask, .. } = self.processes[waiter].ipc else { continue };
            if object.bits & mask != 0 {
                let taken = object.bits & mask;
                object.bits &= !mask;
                let context = &mut self.processes[waiter].context;
                context.r[0] = 0;
                context.r[1] = taken;
                self.processes[waiter].ipc = Ipc::None;
                self.make_ready(waiter);
            } else {
                self.enqueue(&mut object.queue, waiter);
            }
        }
        // Bits nobody waiting took go to a bound process receiving, if any.
        if let Some(process) = (object.bound as usize).checked_sub(1) {
            if object.bits != 0 && matches!(self.processes[process].ipc, Ipc::Receiving { .. }) {
                self.cancel_ipc(process);
                let bits = core::mem::take(&mut object.bits);
                self.notify_receiver(process, bits);
                self.processes[process].ipc = Ipc::None;
                self.make_ready(process);
            }
        }
        self.store(address, object);
    }

    /// Answers process `index`'s receive with its bound notification's
    /// `bits`: badge `NOTIFIED_BADGE`, label 0, word 0 the bits.
    fn notify_receiver(&mut self, index: usize, bits: u32) {
        let context = &mut self.processes[index].context;
        context.r[0] = 0;
        context.r[1] = ipc::info(0, 0);
        context.r[2] = bits;
        context.r[3..6].copy_from_slice(&[0; 3]);
        context.r[7] = tessera_abi::NOTIFIED_BADGE;
    }

    /// Removes interrupt `number`'s binding, if any, and disables it.
    pub(super) fn unbind_interrupt(&mut self, number: u32) {
        for binding in self.bindings.iter_mut() {
            if binding.interrupt == number {
                self.platform.disable_interrupt(number);
                *binding = Binding::ZERO;
            }
        }
    }

    /// An interrupt bound to a notification fired: mask it until the driver
    /// acknowledges it, and signal.
    pub(super) fn deliver_interrupt(&mut self, interrupt: u32) -> bool {
        let Some(binding) = self.bindings.iter().find(|b| b.interrupt == interrupt && interrupt != 0).copied() else {
            return false;
        };
        self.platform.disable_interrupt(interrupt);
        self.signal_object(binding.notification, binding.bits);
        true
    }

    fn interrupt_number(&self, index: usize, handle: Handle) -> Result<u32, Error> {
        Ok(self.typed_capability(index, handle, ObjectType::Interrupt, Rights::empty())?.object)
    }

    /// Performs an IPC syscall for process `index`. A message delivered to
    /// it is in its registers already; one that blocks gets them from
    /// whoever wakes it; `handle_syscall` writes the answer (`Reply`).
    pub(super) fn invoke_ipc(&mut self, index: usize, call: Call) -> Result<Reply, Error> {
        match call {
            Call::Send { endpoint, message, call, timeout } => {
                self.send(index, endpoint, message, call, timeout).map(|()| Reply::Done)
            }
            Call::Receive { endpoint, timeout } => self.receive(index, endpoint, timeout).map(|()| Reply::Done),
            Call::Reply { message } => {
                self.reply(index, message)?;
                Ok(Reply::Done)
            }
            Call::ReplyReceive { endpoint, message, timeout } => {
                // A caller that gave up or died is no reason not to receive.
                if self.processes[index].reply_to != NO_CALLER && self.reply(index, message).is_err() {
                    // The answer was refused (a capability it names cannot
                    // be passed on) or the caller is gone: the server still
                    // stops running at the caller's priority.
                    self.processes[index].priority = self.processes[index].base_priority;
                }
                self.receive(index, endpoint, timeout).map(|()| Reply::Done)
            }
            Call::Signal { notification, bits } => {
                let capability = self.notification_capability(index, notification, Rights::SIGNAL)?;
                self.signal_object(capability.object, bits);
                Ok(Reply::Done)
            }
            Call::NotificationBind { notification } => {
                let capability = self.notification_capability(index, notification, Rights::WAIT)?;
                let mut object: NotificationObject = self.load(capability.object);
                let me = index as u32 + 1;
                if object.bound != 0 && object.bound != me {
                    return Err(Error::SlotOccupied);
                }
                // One binding per process: an earlier one ends.
                let previous = self.processes[index].bound;
                if previous != 0 && previous != capability.object {
                    let mut old: NotificationObject = self.load(previous);
                    old.bound = 0;
                    self.store(previous, old);
                }
                object.bound = me;
                self.store(capability.object, object);
                self.processes[index].bound = capability.object;
                Ok(Reply::Done)
            }
            Call::WaitNotification { notification, mask, timeout } => {
                let capability = self.notification_capability(index, notification, Rights::WAIT)?;
                let mut object: NotificationObject = self.load(capability.object);
                let taken = object.bits & mask;
                if taken != 0 || timeout == NO_WAIT {
                    object.bits &= !mask;
                    self.store(capability.object, object);
                    return Ok(Reply::Values([taken, 0, 0]));
                }
                self.enqueue(&mut object.queue, index);
                self.store(capability.object, object);
                self.block_in_ipc(index, Ipc::Notification { object: capability.object, mask }, timeout);
                Ok(Reply::Done)
            }
            Call::InterruptBind { interrupt, notification, bit } => {
                let number = self.interrupt_number(index, interrupt)?;
                let target = self.notification_capability(index, notification, Rights::SIGNAL)?;
                let existing = self.bindings.iter().position(|b| b.interrupt == number);
                let free = || self.bindings.iter().position(|b| b.interrupt == 0);
                let slot = existing.or_else(free).ok_or(Error::OutOfMemory)?;
                self.bindings[slot] = Binding { interrupt: number, notification: target.object, bits: 1 << bit };
                self.platform.enable_interrupt(number);
                Ok(Reply::Done)
            }
            Call::InterruptAck { interrupt } => {
                let number = self.interrupt_number(index, interrupt)?;
                if !self.bindings.iter().any(|b| b.interrupt == number) {
                    return Err(Error::InvalidArgument);
                }
                self.platform.unmask_interrupt(number);
                Ok(Reply::Done)
            }
            _ => unreachable!("not an IPC call"),
        }
    }
}

/// The IPC fast paths: `Call` to an endpoint where a receiver waits, and
/// `ReplyReceive` answering a waiting caller when no sender is queued. Each
/// first checks every condition without changing anything, then does the
/// whole operation and switches straight to the other thread, skipping
/// decoding and the scheduler; anything else returns `None` and takes the
/// general path, which implements the same semantics.
impl<P: Platform> Kernel<P> {
    /// Tries the fast path for syscall `number` of the current thread `index`.
    #[inline]
    pub(super) fn ipc_fastpath(&mut self, index: usize, number: u32) -> Option<*mut u32> {
        const CALL: u32 = tessera_abi::Syscall::Call as u32;
        const REPLY_RECEIVE: u32 = tessera_abi::Syscall::ReplyReceive as u32;
        const SIGNAL: u32 = tessera_abi::Syscall::Signal as u32;
        const WAIT_NOTIFICATION: u32 = tessera_abi::Syscall::WaitNotification as u32;
        const POLL: u32 = tessera_abi::Syscall::Poll as u32;
        if number == CALL || number == REPLY_RECEIVE {
            if P::IPC_FAST_PATH_OUTSIDE {
                return None;
            }
            // Only a label: a message that passes capabilities, or has a
            // reserved bit set, takes the general path (on the A7 the
            // assembly takes a call that passes one frame first).
            if self.processes[index].context.r[1] & !ipc::LABEL_MASK != 0 {
                return None;
            }
            return if number == CALL { self.fast_call(index) } else { self.fast_reply_receive(index) };
        }
        match number {
            SIGNAL => self.fast_signal(index),
            WAIT_NOTIFICATION if !P::IPC_FAST_PATH_OUTSIDE => {
                let timeout = self.processes[index].context.r[2];
                self.fast_wait_notification(index, timeout)
            }
            POLL => self.fast_wait_notification(index, NO_WAIT),
            _ => None,
        }
    }

    /// The notification `handle` names in process `index`'s CSpace, if it
    /// holds `needed` there: its object.
    #[inline(always)]
    fn fast_notification(&self, index: usize, handle: Handle, needed: Rights) -> Option<u32> {
        let capability = self.held(index, handle).ok()?;
        (capability.kind == ObjectType::Notification && capability.rights.contains(needed)).then_some(capability.object)
    }

    /// `Signal`: the same as the general path (decoding checks nothing for
    /// it), without decoding; the caller keeps the CPU unless a thread it
    /// woke outranks it.
    fn fast_signal(&mut self, index: usize) -> Option<*mut u32> {
        let (handle, bits) = {
            let r = &self.processes[index].context.r;
            (Handle(r[0]), r[1])
        };
        let object = self.fast_notification(index, handle, Rights::SIGNAL)?;
        self.processes[index].context.r[0] = 0;
        self.signal_object(object, bits);
        Some(self.prepare_return())
    }

    /// `WaitNotification` and `Poll`: take the bits if any are set (or
    /// return at once for `NO_WAIT`), else block; as the general path.
    fn fast_wait_notification(&mut self, index: usize, timeout: u32) -> Option<*mut u32> {
        let (handle, mask) = {
            let r = &self.processes[index].context.r;
            (Handle(r[0]), r[1])
        };
        let object = self.fast_notification(index, handle, Rights::WAIT)?;
        let mut notification: NotificationObject = self.load(object);
        let taken = notification.bits & mask;
        if taken != 0 || timeout == NO_WAIT {
            notification.bits &= !mask;
            self.store(object, notification);
            let context = &mut self.processes[index].context;
            context.r[0] = 0;
            context.r[1] = taken;
            context.r[2] = 0;
            context.r[3] = 0;
            return Some(self.prepare_return());
        }
        self.enqueue(&mut notification.queue, index);
        self.store(object, notification);
        self.processes[index].context.r[0] = 0;
        self.block_in_ipc(index, Ipc::Notification { object, mask }, timeout);
        Some(self.prepare_return())
    }

    /// The endpoint `handle` names in process `index`'s CSpace, if it
    /// holds `needed` there: its object and badge. The checks of
    /// `endpoint_capability`, without building an error.
    #[inline(always)]
    fn fast_endpoint(&self, index: usize, handle: Handle, needed: Rights) -> Option<(u32, u32)> {
        let capability = self.held(index, handle).ok()?;
        (capability.kind == ObjectType::Endpoint && capability.rights.contains(needed))
            .then_some((capability.object, capability.badge))
    }

    /// The endpoint object at `address`, in place.
    #[inline(always)]
    fn endpoint_object(&mut self, address: u32) -> &mut EndpointObject {
        // SAFETY: as for `load`: `address` comes from a live endpoint
        // capability, so 64 bytes carved by `Retype` lie there, which only
        // the kernel uses; `&mut self` makes this the only reference.
        unsafe { &mut *self.platform.ram().pointer::<EndpointObject>(address) }
    }

    fn fast_call(&mut self, caller: usize) -> Option<*mut u32> {
        let handle = Handle(self.processes[caller].context.r[0]);
        let (endpoint, badge) = self.fast_endpoint(caller, handle, Rights::SEND)?;
        let first = self.endpoint_object(endpoint).first_receiver;
        if first == 0 {
            return None;
        }
        let server = self.processes.index_of_link(first);
        if self.processes[server].reply_to != NO_CALLER || !self.processes[server].mapped {
            return None;
        }
        // Only a label (`ipc_fastpath`): the info word the server gets.
        let info = self.processes[caller].context.r[1];
        // Commit: take the server off the endpoint...
        let next = self.processes[server].ipc_next;
        self.processes[server].ipc_next = 0;
        let object = self.endpoint_object(endpoint);
        object.queue.head = next;
        object.first_receiver = next;
        if next == 0 {
            object.queue.tail = 0;
        }
        // ...give it the message...
        let (words, priority) = {
            let source = &self.processes[caller];
            let r = &source.context.r;
            ([r[2], r[3], r[4], r[5]], source.priority)
        };
        let caller_link = self.processes.link(caller);
        let target = &mut self.processes[server];
        target.context.r[0] = 0;
        target.context.r[1] = info;
        target.context.r[2..6].copy_from_slice(&words);
        target.context.r[7] = badge;
        target.ipc = Ipc::None;
        target.reply_to = caller_link;
        target.priority = target.priority.max(priority);
        // A receive with a timeout: its deadline is no longer anyone's, but
        // stays in `earliest_wakeup` (a bound: the timer may fire once for
        // nothing).
        target.state = State::Running;
        // ...and the caller waits for the answer (r0 = 0, as the general
        // path answers a call that blocks).
        let source = &mut self.processes[caller];
        source.context.r[0] = 0;
        source.ipc = Ipc::AwaitingReply { server: server as u32 };
        source.state = State::Ipc { until: u64::MAX };
        // The server runs at least at the caller's priority, and nothing
        // ready was above the running caller: no scheduling decision needed.
        Some(self.switch_to_thread(server))
    }

    fn fast_reply_receive(&mut self, server: usize) -> Option<*mut u32> {
        // A bound notification may answer the receive, and a receive with
        // a time limit needs its deadline: the general path.
        if self.processes[server].bound != 0 || self.processes[server].context.r[12] != FOREVER {
            return None;
        }
        let caller = self.processes.waiting_caller(self.processes[server].reply_to)?;
        // The pairing is an invariant (`cancel_ipc` keeps it); a broken one
        // goes to the general path, which stops the kernel on it.
        if !self.processes.is_live(caller) {
            return None;
        }
        let handle = Handle(self.processes[server].context.r[0]);
        let (endpoint, _) = self.fast_endpoint(server, handle, Rights::RECEIVE)?;
        let object = self.endpoint_object(endpoint);
        if !object.holds_receivers() && object.queue.head != 0 {
            return None; // a sender waits: the general path takes it
        }
        if self.queues.highest_priority().is_some_and(|top| top > self.processes[caller].priority) {
            return None; // someone else should run: let the scheduler decide
        }
        if self.processes[caller].slice_spent {
            return None; // its turn is over: the general path queues it
        }
        // Commit: answer the caller...
        let label = ipc::label(self.processes[server].context.r[1]);
        let words = {
            let r = &self.processes[server].context.r;
            [r[2], r[3], r[4], r[5]]
        };
        let target = &mut self.processes[caller];
        target.context.r[0] = 0;
        target.context.r[1] = label;
        target.context.r[2..6].copy_from_slice(&words);
        target.context.r[7] = 0;
        target.ipc = Ipc::None;
        target.state = State::Running;
        // ...and wait for the next message, last in the endpoint's queue.
        let link = self.processes.link(server);
        let object = self.endpoint_object(endpoint);
        let tail = object.queue.tail;
        object.queue.tail = link;
        if tail == 0 {
            object.queue.head = link;
            object.first_receiver = link;
        } else {
            let tail = self.processes.index_of_link(tail);
            self.processes[tail].ipc_next = link;
        }
        let this = &mut self.processes[server];
        this.context.r[0] = 0;
        this.ipc_next = 0;
        this.reply_to = NO_CALLER;
        this.priority = this.base_priority;
        this.ipc = Ipc::Receiving { endpoint };
        this.state = State::Ipc { until: u64::MAX };
        Some(self.switch_to_thread(caller))
    }
}
