//! Looking at the kernel from outside: what each process is doing, its
//! registers and capabilities, and a check of the invariants the kernel
//! keeps between entries. The host tests drive the whole kernel through its
//! entry points and use these to see the result; nothing on the target calls
//! them (the linker drops them).

use super::ipc::{Ipc, CALLER_GONE, NO_CALLER};
use super::{Kernel, Platform, State, UserContext};
use crate::capability::Capability;
use tessera_abi::capability::CSPACE_SLOTS;
use tessera_abi::{ExitKind, Handle, ObjectType, Rights};

/// What a process is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// On the CPU.
    Running,
    /// In a run queue.
    Ready,
    /// In `Sleep` until the counter reaches `until`.
    Sleeping { until: u64 },
    /// In `Wait` for a child (`until`: its deadline, if any).
    Waiting { until: Option<u64> },
    /// Queued on an endpoint with a message (`call`: a `Call`).
    Sending { endpoint: u32, call: bool, until: Option<u64> },
    /// Queued on an endpoint for a message.
    Receiving { endpoint: u32, until: Option<u64> },
    /// Waiting for the server with pid `server` to reply.
    AwaitingReply { server: u32 },
    /// Queued on a notification for a bit of `mask`.
    Notification { object: u32, mask: u32, until: Option<u64> },
    /// Ended, not yet collected by its parent.
    Ended { kind: ExitKind, value: u32 },
    /// Made by `Retype`, not started.
    Inactive,
}

/// One process as [`Kernel::process`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    pub status: Status,
    /// The pid of the process that made it, while that one lives.
    pub parent: Option<u32>,
    /// Current priority (raised while serving a call) and its own.
    pub priority: u32,
    pub base_priority: u32,
    /// The pid of the caller waiting for its reply.
    pub reply_to: Option<u32>,
}

/// An invariant the kernel broke: which, and for which process (0: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub pid: u32,
}

fn finite(until: u64) -> Option<u64> {
    (until != u64::MAX).then_some(until)
}

impl<P: Platform> Kernel<P> {
    /// The pid of the process on the CPU.
    pub fn current_pid(&self) -> Option<u32> {
        self.current.map(|index| self.processes.pid(index))
    }

    /// Whether the `len` bytes at `address` are mapped writable for the
    /// current process (the one `prepare_return` resumes): an Armv7-M
    /// platform writes the exception frame it returns through there, with
    /// the kernel's rights, so it checks first (a process may aim its stack
    /// pointer anywhere).
    pub fn current_may_write(&self, address: u32, len: u32) -> bool {
        self.current
            .is_some_and(|index| self.processes[index].regions.check(address, len, crate::Access::READ_WRITE).is_ok())
    }

    /// Every process in the table (running, blocked, ended or not started).
    pub fn pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.processes.live().map(|(index, _)| self.processes.pid(index))
    }

    /// The process `pid` names, if it is in the table.
    pub fn process(&self, pid: u32) -> Option<ProcessInfo> {
        let index = self.processes.index_of_pid(pid)?;
        let process = &self.processes[index];
        let status = match process.state {
            State::Running => Status::Running,
            State::Ready => Status::Ready,
            State::Sleeping { until } => Status::Sleeping { until },
            State::Waiting { until, .. } => Status::Waiting { until: finite(until) },
            State::Ipc { until } => match process.ipc {
                Ipc::Sending { endpoint, call, .. } => Status::Sending { endpoint, call, until: finite(until) },
                Ipc::Receiving { endpoint } => Status::Receiving { endpoint, until: finite(until) },
                Ipc::AwaitingReply { server } => Status::AwaitingReply { server: self.processes.pid(server as usize) },
                Ipc::Notification { object, mask } => Status::Notification { object, mask, until: finite(until) },
                Ipc::None => return None,
            },
            State::Zombie { kind, value } => Status::Ended { kind, value },
            State::Inactive => Status::Inactive,
            // Only while `end_process` runs, never between entries.
            State::Ending => return None,
        };
        Some(ProcessInfo {
            pid,
            status,
            parent: process.parent().map(|parent| self.processes.pid(parent)),
            priority: process.priority,
            base_priority: process.base_priority,
            reply_to: self.processes.waiting_caller(process.reply_to).map(|caller| self.processes.pid(caller)),
        })
    }

    /// The saved registers of process `pid` (those of the running one are
    /// the ones it will resume with).
    pub fn context(&self, pid: u32) -> Option<&UserContext> {
        Some(&self.processes[self.processes.index_of_pid(pid)?].context)
    }

    /// The saved registers of process `pid`, to change: how a test plays
    /// the part of user code (arguments of its next syscall).
    pub fn context_mut(&mut self, pid: u32) -> Option<&mut UserContext> {
        let index = self.processes.index_of_pid(pid)?;
        Some(&mut self.processes[index].context)
    }

    /// The capability `handle` names in process `pid`'s CSpace.
    pub fn capability(&self, pid: u32, handle: Handle) -> Option<Capability> {
        self.held_capability(self.processes.index_of_pid(pid)?, handle).ok()
    }

    /// Every capability in process `pid`'s CSpace, with its handle.
    pub fn capabilities(&self, pid: u32) -> impl Iterator<Item = (Handle, Capability)> + '_ {
        let index = self.processes.index_of_pid(pid);
        (1..CSPACE_SLOTS).filter_map(move |slot| {
            let slot_entry = &self.processes.cspace(index?)[slot];
            let capability = *slot_entry.capability()?;
            Some((Handle::new(slot, slot_entry.generation()), capability))
        })
    }

    /// How many syscalls the fast paths served (debug builds).
    #[cfg(debug_assertions)]
    pub fn fast_paths(&self) -> u32 {
        self.fast_paths
    }

    /// Checks what must hold between kernel entries (after `prepare_return`
    /// chose who runs):
    ///
    /// - exactly the current process is Running;
    /// - a process is in a run queue exactly when it is Ready, at its
    ///   priority, and no Ready process outranks the running one;
    /// - a process blocked in IPC is queued on its object exactly once, and
    ///   every queued process is blocked there;
    /// - a caller awaiting a reply has a live server that holds it as its
    ///   caller (else nobody could ever wake it);
    /// - the timer is armed no later than the earliest deadline of a blocked
    ///   process (so every timed wait ends), and no timer work is left
    ///   pending while a thread runs, in its own address space;
    /// - a process that has not ended has its address space; its ASID, if
    ///   not 0, is one the allocator handed out and no other live process
    ///   holds, and the one whose address space is loaded has one; slot 0
    ///   of its CSpace stays empty;
    /// - a process's reference count is the number of `Process`
    ///   capabilities naming it, and an endpoint's or notification's counts
    ///   are those of the capabilities to it;
    /// - a priority is never below the process's own, and only a process
    ///   serving a call runs above it;
    /// - a capability never holds rights its type does not have.
    pub fn check_invariants(&self) -> Result<(), Violation> {
        self.check(true)
    }

    /// The invariants of [`Kernel::check_invariants`] that need no scan of
    /// every CSpace per capability: all but the reference and receiver
    /// counts and the rights of each capability (the queues are checked
    /// from their members). Cheap enough for a kernel to check at every
    /// entry into Rust, which the A7's test image does (its assembly fast
    /// paths rely on them and the host tests never run those paths).
    pub fn check_entry_invariants(&self) -> Result<(), Violation> {
        self.check(false)
    }

    fn check(&self, counts: bool) -> Result<(), Violation> {
        let fail = |invariant, index: usize| Err(Violation { invariant, pid: self.processes.pid(index) });
        let mut earliest = u64::MAX;
        let current_priority = self.current.map(|index| self.processes[index].priority);
        let mut asids_held = [0u32; 8];
        for (index, process) in self.processes.live() {
            let running = process.state == State::Running;
            if running != (self.current == Some(index)) {
                return fail("exactly the current process is running", index);
            }
            let queued = process.run_level != 0;
            if queued != (process.state == State::Ready) {
                return fail("a process is in a run queue exactly when it is ready", index);
            }
            if queued && u32::from(process.run_level) != process.priority + 1 {
                return fail("a ready process is queued at its priority", index);
            }
            if queued && current_priority.is_some_and(|current| process.priority > current) {
                return fail("no ready process outranks the running one", index);
            }
            if process.priority < process.base_priority
                || (process.priority != process.base_priority && process.reply_to == NO_CALLER)
            {
                return fail("only a process serving a call runs above its own priority", index);
            }
            if let Some(deadline) = process.state.deadline() {
                earliest = earliest.min(deadline);
            }
            // The A7's fast paths run a ready, blocked or called process
            // without looking at either (svc.s, RUNNABLE).
            if !process.mapped && !matches!(process.state, State::Zombie { .. } | State::Ending) {
                return fail("a process that has not ended has its address space", index);
            }
            if process.table_word != self.platform.table_word(process.memory) {
                return fail("a process's table word is its object's", index);
            }
            if process.asid != 0 {
                let (word, bit) = (usize::from(process.asid) / 32, 1 << (process.asid % 32));
                if u32::from(process.asid) > self.asids.handed_out() || asids_held[word] & bit != 0 {
                    return fail("a process's ASID is 0 or its own, handed out since they were last taken back", index);
                }
                asids_held[word] |= bit;
            }
            // The A7's handle look-ups let index 0 reach the slot and refuse
            // it by its kind (svc.s, LOOKUP and CapDelete's).
            if self.processes.cspace(index)[0].capability().is_some() {
                return fail("slot 0 of a CSpace stays empty", index);
            }
            // The A7's fast paths reach a process by its link and take its
            // index from its entry (svc.s).
            if process.index != index as u32 {
                return fail("a process's entry holds its own index", index);
            }
            // A turn is spent only by a caller a server works for (set at a
            // slice's end, cleared when it is made ready); one resumed with
            // it set skipped the back of its queue (the A7's `ReplyReceive`
            // leaves such a caller to the general path).
            let awaiting = matches!(process.ipc, Ipc::AwaitingReply { .. });
            if process.slice_spent && !awaiting && !matches!(process.state, State::Zombie { .. } | State::Ending) {
                return fail("only a caller awaiting a reply has its turn spent", index);
            }
            let in_ipc = matches!(process.state, State::Ipc { .. });
            if in_ipc == (process.ipc == Ipc::None) {
                return fail("a process blocked in IPC says what for, and only then", index);
            }
            if let Ipc::AwaitingReply { server } = process.ipc {
                let server = server as usize;
                let serving = self.processes.is_live(server)
                    && self.processes[server].reply_to == self.processes.link(index)
                    && !matches!(self.processes[server].state, State::Zombie { .. } | State::Ending);
                if !serving {
                    return fail("a caller awaiting a reply has a live server holding it", index);
                }
            }
            // Checked before `waiting_caller`, which assumes a link.
            if process.reply_to < CALLER_GONE {
                let awaiting = self.processes.is_link(process.reply_to)
                    && self.processes[self.processes.index_of_link(process.reply_to)].ipc
                        == (Ipc::AwaitingReply { server: index as u32 });
                if !awaiting {
                    return fail("the caller a server owes a reply is waiting for it", index);
                }
            }
            let queued_on = match process.ipc {
                Ipc::Sending { endpoint, .. } | Ipc::Receiving { endpoint } => {
                    if let Err(invariant) = self.check_queue(ObjectType::Endpoint, endpoint) {
                        return fail(invariant, index);
                    }
                    Some(self.queue_members(self.load::<super::ipc::EndpointObject>(endpoint).queue, index))
                }
                Ipc::Notification { object, .. } => {
                    if let Err(invariant) = self.check_queue(ObjectType::Notification, object) {
                        return fail(invariant, index);
                    }
                    Some(self.queue_members(self.load::<super::ipc::NotificationObject>(object).queue, index))
                }
                _ => None,
            };
            if queued_on.is_some_and(|count| count != 1) {
                return fail("a process blocked in IPC is queued on its object exactly once", index);
            }
            if process.ipc_next != 0 && queued_on.is_none() {
                return fail("only a process blocked on an object is linked into its queue", index);
            }
            if !counts {
                continue;
            }
            // The root task is the kernel's: no capability names it.
            if process.memory != self.root_object
                && process.references != self.capabilities_naming(ObjectType::Process, process.memory)
            {
                return fail("a process's reference count is the capabilities naming it", index);
            }
            for (handle, capability) in self.capabilities(self.processes.pid(index)) {
                if !capability.kind.meaningful_rights().contains(capability.rights) {
                    return fail("a capability holds only rights its type has", index);
                }
                // Each object's counts once: at the first capability to it.
                if !self.first_naming(index, handle.index(), &capability) {
                    continue;
                }
                if matches!(capability.kind, ObjectType::Endpoint | ObjectType::Notification) {
                    if let Err(invariant) = self.check_queue(capability.kind, capability.object) {
                        return fail(invariant, index);
                    }
                }
                if capability.kind == ObjectType::Endpoint {
                    let endpoint = self.load::<super::ipc::EndpointObject>(capability.object);
                    if endpoint.references != self.capabilities_naming(ObjectType::Endpoint, capability.object)
                        || endpoint.receivers != self.receivers_of(capability.object)
                    {
                        return fail("an endpoint's counts are those of its capabilities", index);
                    }
                }
                if capability.kind == ObjectType::Notification {
                    let notification = self.load::<super::ipc::NotificationObject>(capability.object);
                    if notification.references != self.capabilities_naming(ObjectType::Notification, capability.object)
                    {
                        return fail("a notification's count is that of its capabilities", index);
                    }
                }
            }
        }
        if !self.timer_dirty && earliest < self.armed_deadline {
            return Err(Violation { invariant: "the timer is armed for the earliest deadline", pid: 0 });
        }
        // The A7's fast paths switch and return without programming the
        // timer (svc.s, RUNNABLE), and switch from a thread whose address
        // space is the loaded one (fast_switch).
        if self.current.is_some() && self.timer_dirty {
            return Err(Violation { invariant: "a thread runs with no timer work pending", pid: 0 });
        }
        // The A7's fast paths that switch from a running thread's syscall
        // give the next one a slice from now without arming the timer
        // (svc.s, NEW_SLICE none).
        if self.current.is_some()
            && (self.armed_deadline > self.slice_end
                || self.slice_end > self.platform.now().saturating_add(self.slice_ticks))
        {
            return Err(Violation {
                invariant: "a running thread's slice ends at most a slice from now, the timer armed no later",
                pid: 0,
            });
        }
        if self.current.is_some_and(|current| self.loaded != self.processes[current].memory) {
            return Err(Violation { invariant: "a thread runs in its own address space", pid: 0 });
        }
        // The address space loaded is that of a live process that has one
        // (not ended: `end_process` unloads it first), tagged with its
        // ASID (`load_address_space`), never reserved ASID 0.
        let loaded = self.processes.index_of_object(self.loaded);
        if self.loaded != 0 && !loaded.is_some_and(|index| self.processes[index].mapped) {
            return Err(Violation { invariant: "the loaded address space is a live process's own", pid: 0 });
        }
        if let Some(index) = loaded {
            if self.processes[index].asid == 0 {
                return fail("the loaded address space's process holds an ASID", index);
            }
        }
        // An architecture's own idle wait sleeps on the timer as it is
        // (the A7's: svc.s trusts `prepare_return` to have armed it).
        if self.current.is_none() && self.platform.idles_outside() && self.timer_dirty {
            return Err(Violation { invariant: "an idle wait outside the kernel has the timer armed", pid: 0 });
        }
        Ok(())
    }

    /// Checks the queue of the endpoint or notification at `object`: every
    /// member is blocked in IPC on this very object; an endpoint's members
    /// are all senders or all receivers, as its first receiver says (the
    /// head, or 0 for senders and for an empty queue); the tail is the last
    /// member.
    fn check_queue(&self, kind: ObjectType, object: u32) -> Result<(), &'static str> {
        let (queue, holds_receivers) = if kind == ObjectType::Endpoint {
            let endpoint = self.load::<super::ipc::EndpointObject>(object);
            if endpoint.first_receiver != 0 && endpoint.first_receiver != endpoint.queue.head {
                return Err("an endpoint's first receiver is its queue's head, or 0");
            }
            (endpoint.queue, Some(endpoint.holds_receivers()))
        } else {
            (self.load::<super::ipc::NotificationObject>(object).queue, None)
        };
        let mut cursor = queue.head;
        let mut last = 0;
        let mut steps = 0;
        while cursor != 0 {
            steps += 1;
            if steps > self.processes.live().count() {
                return Err("an IPC queue has no end");
            }
            if !self.processes.is_link(cursor) {
                return Err("every link in an IPC queue is a live process's");
            }
            let member = self.processes.index_of_link(cursor);
            if !matches!(self.processes[member].state, State::Ipc { .. }) {
                return Err("every member of an IPC queue is blocked in IPC");
            }
            let here = match self.processes[member].ipc {
                Ipc::Sending { endpoint, .. } => endpoint == object && holds_receivers == Some(false),
                Ipc::Receiving { endpoint } => endpoint == object && holds_receivers == Some(true),
                Ipc::Notification { object: waited, .. } => waited == object && holds_receivers.is_none(),
                _ => false,
            };
            if !here {
                return Err("every member of an IPC queue waits on that object, as its first receiver says");
            }
            last = cursor;
            cursor = self.processes[member].ipc_next;
        }
        if queue.tail != last {
            return Err("an IPC queue's tail is its last member");
        }
        Ok(())
    }

    /// How often `index` is in `queue`, checking on the way that every
    /// member is blocked; a member that is not counts as a second entry.
    fn queue_members(&self, queue: super::ipc::Queue, index: usize) -> u32 {
        let mut count = 0;
        let mut cursor = queue.head;
        let mut steps = 0;
        while cursor != 0 && steps <= CSPACE_SLOTS * 64 {
            let member = self.processes.index_of_link(cursor);
            if !self.processes.is_link(cursor) || !matches!(self.processes[member].state, State::Ipc { .. }) {
                return u32::MAX;
            }
            if member == index {
                count += 1;
            }
            cursor = self.processes[member].ipc_next;
            steps += 1;
        }
        count
    }

    /// True if slot `slot` of process `index` holds the first capability
    /// (in table and slot order) to the object `capability` names.
    fn first_naming(&self, index: usize, slot: usize, capability: &Capability) -> bool {
        for (other, _) in self.processes.live() {
            for (at, held) in self.processes.cspace(other).iter().enumerate().skip(1) {
                if other == index && at == slot {
                    return true;
                }
                if held.capability().is_some_and(|c| c.kind == capability.kind && c.object == capability.object) {
                    return false;
                }
            }
        }
        true
    }

    fn capabilities_naming(&self, kind: ObjectType, object: u32) -> u32 {
        self.all_capabilities().filter(|c| c.kind == kind && c.object == object).count() as u32
    }

    fn receivers_of(&self, object: u32) -> u32 {
        self.all_capabilities()
            .filter(|c| c.kind == ObjectType::Endpoint && c.object == object && c.rights.contains(Rights::RECEIVE))
            .count() as u32
    }

    fn all_capabilities(&self) -> impl Iterator<Item = Capability> + '_ {
        self.processes.live().flat_map(move |(index, _)| {
            self.processes.cspace(index).iter().filter_map(|slot| slot.capability().copied())
        })
    }
}
