//! One process of `qemu:storm`: it makes random syscalls at the other storm
//! processes through the two endpoints, two notifications and the frame
//! `init` shares among them, well formed and not (bad, stale and empty
//! handles, wrong kinds, missing rights, reserved bits, capabilities passed,
//! derived, deleted and revoked, timeouts from none to a few milliseconds),
//! and checks every answer against what the kernel must say. The test
//! image's kernel checks its own invariants at every entry into Rust, so
//! the states the A7's assembly fast paths leave are checked after a mix no
//! scenario spells out, with processes ended by `init` in the middle of it.
//!
//! What it checks:
//! - Every error is one the ABI defines and, for a bad handle, kind or
//!   right, the one `CapInfo` (the general path's look-up) predicts: the
//!   fast paths must answer as the general path does. A reserved bit in a
//!   message's info word is `InvalidArgument`.
//! - A request arrives as it was sent (a check word over its label and
//!   sequence number, the info word's reserved bits clear), and a call's
//!   answer is the answer to that call: its label, sequence number, check
//!   word, and the badge of the capability the call went through.
//! - Waits and polls take only bits of their mask; a receive that a bound
//!   notification ends carries bits.
//! - A capability deleted or revoked is gone: what `CapInfo` described
//!   before a successful delete, and everything derived from the frame
//!   after a revoke of it.
//!
//! In chaos mode (`storm::CHAOS`) it makes any syscall with random
//! registers instead, on endpoints of its own, and checks only that the
//! kernel answers with a code the ABI defines; `init` ends it.
//!
//! Argument: `storm::argument(id, operations)`, with `storm::CHAOS` for
//! chaos mode. Exits with 0, or with 1 after printing its first wrong
//! answers.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::capability::CSPACE_SLOTS;
use tessera_abi::{ipc, Syscall, NOTIFIED_BADGE};
use tessera_programs::storm;
use tessera_rt::{
    cap_delete, cap_derive, cap_info, cap_revoke, for_each_initial_capability, notification_bind, null, println,
    raw_ipc_syscall, yield_now, Error, Handle, ObjectType, Rights, Timeout,
};
use tessera_testing::Rng;

tessera_rt::entry!(main);

/// Labels of the requests storm processes make with `Call`...
const CALL_LABELS: u32 = 0x1000;
/// ...and with `Send` (no answer is owed).
const SEND_LABELS: u32 = 0x1800;
/// An answer's label is its request's plus this.
const ANSWERED: u32 = 0x2000;
/// Labels of the raw messages, which nobody checks: no request has one.
const RAW_LABELS: u32 = 0xF000;

/// Handles kept besides the initial ones: derived and received.
const POOL: usize = 20;

/// In chaos mode, a line every this many operations.
const CHAOS_REPORT: u32 = 5_000;

/// How many wrong answers are printed.
const SHOWN: u32 = 5;

/// The word a request's sender puts beside its sequence number.
fn check_word(label: u32, sequence: u32) -> u32 {
    (label.wrapping_mul(0x9E37_79B9) ^ sequence).rotate_left(7) ^ 0x5A5A_5A5A
}

/// Whether a pooled handle descends from the shared frame (a revoke of the
/// frame must destroy it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Frame,
    Other,
}

/// A call received and not yet answered.
#[derive(Clone, Copy)]
struct Request {
    label: u32,
    sequence: u32,
    check: u32,
    badge: u32,
}

#[derive(Default)]
struct Tally {
    answered: u32,
    carried: u32,
    served: u32,
    bits: u32,
    refused: u32,
    timed_out: u32,
    revokes: u32,
    wrong: u32,
}

struct Storm {
    id: u32,
    /// The same storm for the same seed (its number).
    rng: Rng,
    /// The badged endpoint (badge `id`) and the unbadged one.
    endpoints: [Handle; 2],
    notifications: [Handle; 2],
    frame: Handle,
    pool: [Option<(Handle, Origin)>; POOL],
    pending: Option<Request>,
    sequence: u32,
    tally: Tally,
}

/// The error the kernel must give for `handle` used as a `kind` with
/// `right`, if any: what `CapInfo`'s look-up says, then the kind, then the
/// right.
fn predicted(handle: Handle, kind: ObjectType, right: Rights) -> Option<Error> {
    match cap_info(handle) {
        Err(error) => Some(error),
        Ok(info) if info.kind != kind => Some(Error::WrongType),
        Ok(info) if !info.rights.contains(right) => Some(Error::MissingRight),
        Ok(_) => None,
    }
}

/// The error passing `handles` in a message must give, if any.
fn refused_transfer(handles: &[Handle]) -> Option<Error> {
    handles.iter().find_map(|&handle| match cap_info(handle) {
        Err(error) => Some(error),
        Ok(info) if !info.rights.contains(Rights::GRANT) => Some(Error::MissingRight),
        Ok(_) => None,
    })
}

/// Whether `result` is what `prediction` says: its error, or with none,
/// success, a timeout or one of `also`.
fn agrees(result: Result<(), Error>, prediction: Option<Error>, also: &[Error]) -> bool {
    match (result, prediction) {
        (Err(error), Some(predicted)) => error == predicted,
        (Ok(()), Some(_)) => false,
        (Ok(()), None) => true,
        (Err(error), None) => error == Error::TimedOut || also.contains(&error),
    }
}

/// r0 as a result; `None` for a code the ABI does not define.
fn status(r0: u32) -> Option<Result<(), Error>> {
    match r0 {
        0 => Some(Ok(())),
        code => Error::from_code(code).map(Err),
    }
}

impl Storm {
    fn wrong(&mut self, what: &str, detail: u32) {
        self.tally.wrong += 1;
        if self.tally.wrong <= SHOWN {
            println!("storm {}: WRONG: {} ({:#x})", self.id, what, detail);
        }
    }

    /// Checks syscall result `r0` against the predictions made before and
    /// after it (a capability another process passed may go meanwhile,
    /// when that process revokes or deletes its own); true if it
    /// succeeded (and may be looked at further).
    fn judge(&mut self, r0: u32, before: Option<Error>, after: Option<Error>, also: &[Error], what: &str) -> bool {
        let Some(result) = status(r0) else {
            self.wrong("an error code the ABI does not define", r0);
            return false;
        };
        if !agrees(result, before, also) && !agrees(result, after, also) {
            self.wrong(what, (before.map_or(0, |error| error as u32)) << 16 | r0);
            return false;
        }
        match result {
            Ok(()) => return true,
            Err(Error::TimedOut) => self.tally.timed_out += 1,
            Err(_) => self.tally.refused += 1,
        }
        false
    }

    fn timeout(&mut self) -> u32 {
        match self.rng.below_u32(8) {
            0 => Timeout::NoWait,
            1 => Timeout::Millis(1 + self.rng.below_u32(2)),
            _ => Timeout::Micros(1 + self.rng.below_u32(400)),
        }
        .micros()
    }

    fn pooled(&mut self) -> Option<Handle> {
        let start = self.rng.below_u32(POOL as u32) as usize;
        (0..POOL).find_map(|i| self.pool[(start + i) % POOL].map(|(handle, _)| handle))
    }

    fn garbage(&mut self) -> Handle {
        match self.rng.below_u32(5) {
            0 => Handle::NULL,
            1 => Handle(self.rng.next_u32()),
            2 => Handle::new(self.rng.below_u32(CSPACE_SLOTS as u32 + 16) as usize, self.rng.below_u32(3)),
            3 => {
                // A real slot at a generation it does not have.
                let real = self.endpoints[self.rng.below_u32(2) as usize];
                Handle::new(real.index(), real.generation() + 1 + self.rng.below_u32(3))
            }
            _ => Handle::new(CSPACE_SLOTS - 1 - self.rng.below_u32(8) as usize, 0),
        }
    }

    /// A handle to use as an endpoint: mostly one, sometimes anything.
    fn endpoint(&mut self) -> Handle {
        match self.rng.below_u32(16) {
            0 => self.garbage(),
            1 | 2 => self.pooled().unwrap_or(self.endpoints[0]),
            3 => self.notifications[0],
            n => self.endpoints[(n & 1) as usize],
        }
    }

    fn notification(&mut self) -> Handle {
        match self.rng.below_u32(16) {
            0 => self.garbage(),
            1 => self.pooled().unwrap_or(self.frame),
            2 => self.endpoints[1],
            n => self.notifications[(n & 1) as usize],
        }
    }

    /// A capability to pass in a message.
    fn passable(&mut self) -> Handle {
        match self.rng.below_u32(8) {
            0 => self.garbage(),
            1 | 2 => self.frame,
            3 => self.endpoints[self.rng.below_u32(2) as usize],
            _ => self.pooled().unwrap_or(self.frame),
        }
    }

    fn keep(&mut self, handle: Handle, origin: Origin) {
        if !self.pool.iter().any(|entry| entry.is_none()) {
            self.delete();
        }
        if let Some(free) = self.pool.iter_mut().find(|entry| entry.is_none()) {
            *free = Some((handle, origin));
        }
    }

    fn step(&mut self) {
        match self.rng.below_u32(100) {
            0..=21 => self.send(true),
            22..=28 => self.send(false),
            29..=42 => self.reply_receive(),
            43..=50 => self.receive(),
            51..=54 => self.reply(),
            55..=62 => self.signal(),
            63..=69 => self.wait(),
            70..=72 => self.poll(),
            73..=74 => yield_now(),
            75 => null(),
            76..=81 => self.derive(),
            82..=87 => self.delete(),
            88..=89 => self.revoke(),
            90..=91 => self.bind(),
            _ => self.raw(),
        }
    }

    /// A request by `Call` or `Send`: sometimes with one or two
    /// capabilities, sometimes with a reserved bit set.
    fn send(&mut self, is_call: bool) {
        let endpoint = self.endpoint();
        let caps = match self.rng.below_u32(8) {
            0 => 1,
            1 => 2,
            _ => 0,
        };
        self.sequence = self.sequence.wrapping_add(1);
        let sequence = self.sequence;
        let label = if is_call { CALL_LABELS } else { SEND_LABELS } + self.rng.below_u32(SEND_LABELS - CALL_LABELS);
        let check = check_word(label, sequence);
        let mut words = [sequence, check, self.rng.next_u32(), self.rng.next_u32()];
        // The capabilities in the last words, in the order the kernel
        // checks them (word 2 before word 3).
        let mut passed = [Handle::NULL; 2];
        for (k, handle) in passed.iter_mut().enumerate().take(caps) {
            *handle = self.passable();
            words[4 - caps + k] = handle.0;
        }
        let mut info = ipc::info(label, caps as u32);
        let reserved = self.rng.below_u32(32) == 0;
        if reserved {
            info |= 1 << (18 + self.rng.below_u32(14));
        }
        let timeout = self.timeout();
        let predict = || {
            if reserved {
                Some(Error::InvalidArgument)
            } else {
                predicted(endpoint, ObjectType::Endpoint, Rights::SEND).or_else(|| refused_transfer(&passed[..caps]))
            }
        };
        let before = predict();
        let badge = cap_info(endpoint).map(|info| info.badge).unwrap_or(0);
        let number = if is_call { Syscall::Call } else { Syscall::Send } as u32;
        let (registers, _) =
            raw_ipc_syscall(number, [endpoint.0, info, words[0], words[1], words[2], words[3]], timeout);
        // PeerGone: no receiver holds the endpoint any more, the server
        // ended, or a newer call replaced this one; TooDeep: a capability
        // passed from too deep a derivation.
        let what =
            if is_call { "a call was not answered as predicted" } else { "a send was not answered as predicted" };
        let after = predict();
        if self.judge(registers[0], before, after, &[Error::PeerGone, Error::TooDeep], what) && is_call {
            self.check_answer(registers, label, sequence, check, badge);
        }
    }

    fn check_answer(&mut self, registers: [u32; 6], label: u32, sequence: u32, check: u32, badge: u32) {
        let info = registers[1];
        let caps = ipc::caps(info);
        if ipc::label(info) != label + ANSWERED || info & ipc::RESERVED_MASK != 0 || caps > 1 {
            return self.wrong("an answer to another call (its info word, the call's label)", info << 16 | label);
        }
        if registers[2] != sequence.wrapping_add(1) {
            return self
                .wrong("an answer with another sequence number (its, the call's)", registers[2] << 16 | sequence);
        }
        if registers[3] != badge {
            return self.wrong("an answer with another badge (its, the call's)", registers[3] << 16 | badge);
        }
        if registers[4] != check {
            return self.wrong("an answer's third word changed on the way (its, the call's)", registers[4] ^ check);
        }
        if caps == 0 && registers[5] != !sequence {
            return self.wrong("an answer's last word changed on the way (its, the call's)", registers[5] ^ !sequence);
        }
        self.tally.answered += 1;
        if caps == 1 {
            self.tally.carried += 1;
            if registers[5] != 0 {
                self.keep(Handle(registers[5]), Origin::Other);
            }
        }
    }

    /// What a receive delivered (and the badge it came with).
    fn received(&mut self, registers: [u32; 6], badge: u32) {
        let info = registers[1];
        let label = ipc::label(info);
        if badge == NOTIFIED_BADGE {
            if registers[2] == 0 || label != 0 {
                self.wrong("a bound notification ended a receive with no bits", registers[2]);
            } else {
                self.tally.bits += 1;
            }
            return;
        }
        if info & ipc::RESERVED_MASK != 0 || ipc::caps(info) > ipc::MAX_CAPS {
            return self.wrong("a message with a reserved bit arrived", info);
        }
        let is_call = (CALL_LABELS..SEND_LABELS).contains(&label);
        if is_call || (SEND_LABELS..CALL_LABELS + 0x1000).contains(&label) {
            if registers[3] != check_word(label, registers[2]) {
                return self.wrong("a request arrived changed", label);
            }
            self.tally.served += 1;
            if is_call {
                self.pending = Some(Request { label, sequence: registers[2], check: registers[3], badge });
            }
        } else if label < RAW_LABELS {
            return self.wrong("a message nobody sent", label);
        }
        for k in 0..ipc::caps(info) as usize {
            if registers[5 - k] != 0 {
                self.keep(Handle(registers[5 - k]), Origin::Other);
            }
        }
    }

    /// The answer to the pending call: its info word and words, and the
    /// capability it passes (`NULL` if none, or handle 0 passed).
    fn answer(&mut self, request: Request) -> (u32, [u32; 4], Handle) {
        let mut words = [request.sequence.wrapping_add(1), request.badge, request.check, !request.sequence];
        let passes = self.rng.below_u32(8) == 0;
        let passed = if passes { self.passable() } else { Handle::NULL };
        if passes {
            words[3] = passed.0;
        }
        (ipc::info(request.label + ANSWERED, passes as u32), words, passed)
    }

    fn reply(&mut self) {
        let Some(request) = self.pending else {
            // Nothing to answer: a reserved bit, refused before anything.
            let info = ipc::info(RAW_LABELS, 0) | ipc::RESERVED_MASK;
            let (registers, _) = raw_ipc_syscall(Syscall::Reply as u32, [0, info, 0, 0, 0, 0], 0);
            let refused = Some(Error::InvalidArgument);
            self.judge(registers[0], refused, refused, &[], "a reply with a reserved bit was not refused");
            return;
        };
        let (info, words, passed) = self.answer(request);
        let predict = || if ipc::caps(info) == 0 { None } else { refused_transfer(&[passed]) };
        let before = predict();
        let (registers, _) =
            raw_ipc_syscall(Syscall::Reply as u32, [0, info, words[0], words[1], words[2], words[3]], 0);
        let after = predict();
        // Delivered, or the caller is gone (PeerGone) or nobody waits for
        // an answer any more (InvalidArgument): either way it is not owed.
        if registers[0] == 0 || registers[0] == Error::PeerGone as u32 || registers[0] == Error::InvalidArgument as u32
        {
            self.pending = None;
        }
        let also = [Error::PeerGone, Error::InvalidArgument];
        self.judge(registers[0], before, after, &also, "a reply was not answered as predicted");
    }

    fn reply_receive(&mut self) {
        let Some(request) = self.pending else {
            return self.receive();
        };
        let endpoint = self.endpoint();
        let (info, words, passed) = self.answer(request);
        if ipc::caps(info) == 0 || refused_transfer(&[passed]).is_none() {
            self.pending = None;
        }
        let timeout = self.timeout();
        let predict = || predicted(endpoint, ObjectType::Endpoint, Rights::RECEIVE);
        let before = predict();
        let (registers, badge) = raw_ipc_syscall(
            Syscall::ReplyReceive as u32,
            [endpoint.0, info, words[0], words[1], words[2], words[3]],
            timeout,
        );
        let after = predict();
        if self.judge(registers[0], before, after, &[], "a reply-and-receive was not answered as predicted") {
            self.received(registers, badge);
        }
    }

    fn receive(&mut self) {
        let endpoint = self.endpoint();
        let timeout = self.timeout();
        let predict = || predicted(endpoint, ObjectType::Endpoint, Rights::RECEIVE);
        let before = predict();
        let (registers, badge) = raw_ipc_syscall(Syscall::Receive as u32, [endpoint.0, timeout, 0, 0, 0, 0], 0);
        let after = predict();
        if self.judge(registers[0], before, after, &[], "a receive was not answered as predicted") {
            self.received(registers, badge);
        }
    }

    fn signal(&mut self) {
        let notification = self.notification();
        let predict = || predicted(notification, ObjectType::Notification, Rights::SIGNAL);
        let before = predict();
        let bits = 1 << self.rng.below_u32(8);
        let (registers, _) = raw_ipc_syscall(Syscall::Signal as u32, [notification.0, bits, 0, 0, 0, 0], 0);
        let after = predict();
        self.judge(registers[0], before, after, &[], "a signal was not answered as predicted");
    }

    fn wait(&mut self) {
        let notification = self.notification();
        let predict = || predicted(notification, ObjectType::Notification, Rights::WAIT);
        let before = predict();
        let mask = 1 + self.rng.below_u32(0xFF);
        let timeout = self.timeout();
        let (registers, _) =
            raw_ipc_syscall(Syscall::WaitNotification as u32, [notification.0, mask, timeout, 0, 0, 0], 0);
        let after = predict();
        if self.judge(registers[0], before, after, &[], "a wait was not answered as predicted") {
            self.took(registers[1], mask, timeout != tessera_abi::NO_WAIT);
        }
    }

    fn poll(&mut self) {
        let notification = self.notification();
        let predict = || predicted(notification, ObjectType::Notification, Rights::WAIT);
        let before = predict();
        let mask = 1 + self.rng.below_u32(0xFF);
        let (registers, _) = raw_ipc_syscall(Syscall::Poll as u32, [notification.0, mask, 0, 0, 0, 0], 0);
        let after = predict();
        if self.judge(registers[0], before, after, &[], "a poll was not answered as predicted") {
            self.took(registers[1], mask, false);
        }
    }

    fn took(&mut self, bits: u32, mask: u32, blocked: bool) {
        if bits & !mask != 0 || (blocked && bits == 0) {
            self.wrong("a wait took bits outside its mask, or none", bits << 16 | mask);
        } else if bits != 0 {
            self.tally.bits += 1;
        }
    }

    fn derive(&mut self) {
        let (source, origin) = match self.rng.below_u32(6) {
            0 => (self.frame, Origin::Frame),
            1 => (self.endpoints[self.rng.below_u32(2) as usize], Origin::Other),
            2 => (self.notifications[self.rng.below_u32(2) as usize], Origin::Other),
            3 => (self.garbage(), Origin::Other),
            _ => match self.pool[self.rng.below_u32(POOL as u32) as usize] {
                Some(entry) => entry,
                None => (self.frame, Origin::Frame),
            },
        };
        let rights = Rights::from_bits_truncate(self.rng.next_u32());
        let badge = if self.rng.below_u32(4) == 0 { self.rng.below_u32(1000) } else { 0 };
        let predicted = cap_info(source).err();
        match cap_derive(source, rights, badge) {
            Ok(handle) if predicted.is_none() => self.keep(handle, origin),
            Ok(handle) => self.wrong("derived from a capability CapInfo did not know", handle.0),
            Err(error) if Some(error) == predicted || Some(error) == cap_info(source).err() => self.tally.refused += 1,
            // A full CSpace, a derivation too deep, a badge on a badged
            // capability or on a kind that takes none, a right to derive
            // missing.
            Err(
                Error::SlotOccupied | Error::TooDeep | Error::InvalidArgument | Error::WrongType | Error::MissingRight,
            ) if predicted.is_none() => self.tally.refused += 1,
            Err(error) => self.wrong("a derive was not answered as predicted", error as u32),
        }
    }

    /// Deletes a pooled capability (or a garbage handle): it goes if
    /// `CapInfo` described it, and is gone after.
    fn delete(&mut self) {
        let at = self.rng.below_u32(POOL as u32) as usize;
        let handle = match self.pool[at].take() {
            Some((handle, _)) => handle,
            None => self.garbage(),
        };
        if self.endpoints.contains(&handle) || self.notifications.contains(&handle) || handle == self.frame {
            return;
        }
        let predicted = cap_info(handle).err();
        let result = cap_delete(handle);
        // A capability another process passed may go before the delete.
        if result.err() != predicted && (predicted.is_some() || result.err() != cap_info(handle).err()) {
            return self.wrong("a delete was not answered as predicted", handle.0);
        }
        if cap_info(handle).is_ok() {
            return self.wrong("a capability outlived its delete", handle.0);
        }
        self.tally.refused += predicted.is_some() as u32;
    }

    /// Revokes the frame: everything derived from it, here and wherever
    /// it was passed, goes.
    fn revoke(&mut self) {
        if let Err(error) = cap_revoke(self.frame) {
            return self.wrong("a revoke of the frame failed", error as u32);
        }
        self.tally.revokes += 1;
        for at in 0..POOL {
            if let Some((handle, Origin::Frame)) = self.pool[at] {
                self.pool[at] = None;
                if cap_info(handle).is_ok() {
                    self.wrong("a capability derived from the frame outlived its revoke", handle.0);
                }
            }
        }
    }

    fn bind(&mut self) {
        let notification = self.notification();
        let predict = || predicted(notification, ObjectType::Notification, Rights::WAIT);
        let before = predict();
        let result = notification_bind(notification).err().map_or(0, |error| error as u32);
        let after = predict();
        // SlotOccupied: another storm process has it bound.
        self.judge(result, before, after, &[Error::SlotOccupied], "a bind was not answered as predicted");
    }

    /// A syscall with random registers: nothing but a known error or
    /// success may come back. Its messages carry labels no request has,
    /// and its replies a reserved bit (refused before they reach anyone);
    /// its timeouts are short.
    fn raw(&mut self) {
        let numbers = [
            Syscall::Call,
            Syscall::Send,
            Syscall::Receive,
            Syscall::Reply,
            Syscall::ReplyReceive,
            Syscall::Signal,
            Syscall::WaitNotification,
            Syscall::Poll,
            Syscall::CapInfo,
            Syscall::Null,
        ];
        let number = numbers[self.rng.below_u32(numbers.len() as u32) as usize];
        let mut r = [0u32; 6];
        for register in r.iter_mut() {
            *register = self.rng.next_u32();
        }
        if self.rng.below_u32(4) != 0 {
            r[0] = match number {
                Syscall::Signal | Syscall::WaitNotification | Syscall::Poll => self.notification().0,
                _ => self.endpoint().0,
            };
        }
        let label_free = r[1] & !ipc::LABEL_MASK;
        r[1] = match number {
            Syscall::Receive => self.timeout(),
            Syscall::Reply | Syscall::ReplyReceive => label_free | RAW_LABELS | 1 << 31,
            _ => label_free | RAW_LABELS | (r[1] & 0xFFF),
        };
        if number == Syscall::WaitNotification {
            r[2] = self.timeout();
        }
        let timeout = self.timeout();
        let (registers, badge) = raw_ipc_syscall(number as u32, r, timeout);
        if status(registers[0]).is_none() {
            self.wrong("an error code the ABI does not define", registers[0]);
        }
        if number == Syscall::Receive && registers[0] == 0 {
            // A call it took is owed an answer like any other.
            self.received(registers, badge);
        }
        if matches!(number, Syscall::Reply | Syscall::ReplyReceive) && registers[0] != Error::InvalidArgument as u32 {
            self.wrong("a reply with a reserved bit was not refused", registers[0]);
        }
    }

    /// A handle among its own: initial, pooled, or garbage.
    fn any_handle(&mut self) -> Handle {
        match self.rng.below_u32(8) {
            0 => self.garbage(),
            1 => self.frame,
            2 | 3 => self.endpoints[self.rng.below_u32(2) as usize],
            4 | 5 => self.notifications[self.rng.below_u32(2) as usize],
            _ => self.pooled().unwrap_or(self.frame),
        }
    }

    /// Chaos mode: any syscall number but `Exit` (and a few past the
    /// last) with random registers, shaped only so that its waits stay
    /// short (it is to be ended, not to hang) and every address the kernel
    /// would read or write is in the kernel's half (refused: nothing it
    /// prints, no word of its own overwritten). Nothing is checked but
    /// that the kernel answers with a code the ABI defines: the test
    /// kernel checks its own invariants at every entry meanwhile.
    fn chaos(&mut self) {
        let number = self.rng.below_u32(Syscall::FrameSlice as u32 + 4);
        if number == Syscall::Exit as u32 {
            return;
        }
        let mut r = [0u32; 6];
        for register in r.iter_mut() {
            *register = self.rng.next_u32();
        }
        if self.rng.below_u32(4) != 0 {
            r[0] = self.any_handle().0;
        }
        if self.rng.below_u32(2) != 0 {
            r[1] = self.any_handle().0;
        }
        let short = self.timeout();
        const DEBUG_WRITE: u32 = Syscall::DebugWrite as u32;
        const SLEEP: u32 = Syscall::Sleep as u32;
        const WAIT: u32 = Syscall::Wait as u32;
        const RECEIVE: u32 = Syscall::Receive as u32;
        const WAIT_NOTIFICATION: u32 = Syscall::WaitNotification as u32;
        const MAP: u32 = Syscall::Map as u32;
        const PROCESS_NAME: u32 = Syscall::ProcessName as u32;
        const EXIT_RECORD: u32 = Syscall::ExitRecord as u32;
        const FRAME_SLICE: u32 = Syscall::FrameSlice as u32;
        const DERIVE: u32 = Syscall::CapDerive as u32;
        const UNMAP: u32 = Syscall::Unmap as u32;
        const DELETE: u32 = Syscall::CapDelete as u32;
        match number {
            DEBUG_WRITE | EXIT_RECORD => r[0] |= 0x8000_0000,
            PROCESS_NAME => r[1] |= 0x8000_0000,
            SLEEP => r[0] %= 2_000,
            WAIT | RECEIVE => r[1] = short,
            WAIT_NOTIFICATION => r[2] = short,
            // A frame somewhere in the lower half, often page-aligned,
            // with rights a frame may have, into its own address space:
            // its frames in new places (or refused over what is there).
            MAP => {
                r[0] = if self.rng.below_u32(2) == 0 { self.frame } else { self.pooled().unwrap_or(self.frame) }.0;
                r[1] &= 0x3FFF_FFFF;
                if self.rng.below_u32(8) != 0 {
                    r[1] &= !0xFFF;
                }
                r[2] = match self.rng.below_u32(8) {
                    0 => r[2] & (Rights::READ | Rights::WRITE | Rights::EXECUTE).bits(),
                    1..=3 => Rights::READ.bits(),
                    _ => (Rights::READ | Rights::WRITE).bits(),
                };
                r[3] = 0;
            }
            // Half of them with no badge (a badge fits endpoints only).
            DERIVE if self.rng.below_u32(2) == 0 => r[2] = 0,
            FRAME_SLICE => {
                r[0] = self.frame.0;
                r[1] = self.rng.below_u32(2) * 4096;
                r[2] = 4096 << self.rng.below_u32(2);
                r[3] &= 0x3FF;
            }
            // Its own initial capabilities stay (a delete would leave
            // it nothing to make chaos with): pooled ones and garbage go.
            DELETE => {
                r[0] =
                    if self.rng.below_u32(2) == 0 { self.garbage() } else { self.pooled().unwrap_or(Handle::NULL) }.0;
            }
            UNMAP => {
                r[0] = if self.rng.below_u32(2) == 0 { self.frame } else { self.pooled().unwrap_or(self.frame) }.0;
            }
            _ => {}
        }
        let (registers, _) = raw_ipc_syscall(number, r, short);
        // Counted among the answers: chaos mode has no calls of its own.
        self.tally.answered += (registers[0] == 0) as u32;
        if status(registers[0]).is_none() {
            self.wrong("an error code the ABI does not define", registers[0]);
        }
        let made = [Syscall::CapDerive as u32, FRAME_SLICE].contains(&number);
        if made && registers[0] == 0 && registers[1] != 0 {
            self.keep(Handle(registers[1]), Origin::Other);
        }
    }
}

fn main(start: tessera_rt::Start) -> u32 {
    let id = storm::id(start.argument);
    let (mut endpoints, mut notifications, mut frame) = ([Handle::NULL; 2], [Handle::NULL; 2], Handle::NULL);
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::Endpoint if info.badge != 0 => endpoints[0] = handle,
        ObjectType::Endpoint => endpoints[1] = handle,
        ObjectType::Notification if notifications[0] == Handle::NULL => notifications[0] = handle,
        ObjectType::Notification => notifications[1] = handle,
        ObjectType::Frame => frame = handle,
        _ => {}
    });
    if endpoints.contains(&Handle::NULL) || notifications.contains(&Handle::NULL) || frame == Handle::NULL {
        println!("storm {}: not given its capabilities", id);
        return 2;
    }
    let mut storm = Storm {
        id,
        rng: Rng::new(u64::from(id)),
        endpoints,
        notifications,
        frame,
        pool: [None; POOL],
        pending: None,
        sequence: 0,
        tally: Tally::default(),
    };
    let operations = storm::operations(start.argument);
    if storm::chaos(start.argument) {
        for done in 1..=operations {
            storm.chaos();
            if done % CHAOS_REPORT == 0 {
                println!("storm {}: {} operations of chaos, {} succeeded", id, done, storm.tally.answered);
            }
        }
        return 0;
    }
    for _ in 0..operations {
        storm.step();
    }
    let tally = &storm.tally;
    println!(
        "storm {}: {} operations: {} calls answered ({} passing a capability), {} requests served, {} takes of notification bits, {} refused as predicted, {} timed out, {} revokes, {} wrong",
        id,
        operations,
        tally.answered,
        tally.carried,
        tally.served,
        tally.bits,
        tally.refused,
        tally.timed_out,
        tally.revokes,
        tally.wrong
    );
    (tally.wrong != 0) as u32
}
