//! Property tests of the whole kernel on the host (`tests/support`).
//!
//! 1. **Against a model.** Several processes (the root task and three
//!    children at random priorities) share two endpoints and a
//!    notification. Whichever process the kernel runs makes a random IPC,
//!    notification, sleep, yield or exit call, with random timeouts, and
//!    time moves in random steps. A plain model of the IPC semantics (FIFO
//!    endpoint queues, reply capabilities, notification bits, deadlines)
//!    predicts each call's result, who blocks on what, and what every woken
//!    process finds in its registers; after every kernel entry the kernel
//!    must agree with it, and its own invariants must hold
//!    (`Kernel::check_invariants`: rights, run queues, IPC queues, reference
//!    counts, the timer armed for the earliest deadline).
//! 2. **Chaos.** Every process makes random syscalls with random and
//!    half-valid arguments (capability calls included), faults, interrupt
//!    lines fire and time moves: the kernel must not panic, the invariants
//!    must hold after every entry, and when time runs on every timed wait
//!    ends.
//!
//! Deterministic (fixed seeds); a failure names the case, whose seed
//! regenerates it.

mod support;

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};

use kernel_core::kernel::{Status, UserFault};
use support::{IdleForever, System, INTERRUPTS};
use tessera_abi::{ipc, Error, Handle, ObjectType, Rights, Syscall, FOREVER, NO_WAIT};
use tessera_testing::Rng;

/// What a process is doing, as the model sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Doing {
    Runnable,
    Sleeping { until: u64 },
    Sending { endpoint: usize, call: bool, until: Option<u64> },
    Receiving { endpoint: usize, until: Option<u64> },
    AwaitingReply { server: usize },
    Notification { mask: u32, until: Option<u64> },
    Ended,
}

impl Doing {
    fn until(&self) -> Option<u64> {
        match *self {
            Doing::Sleeping { until } => Some(until),
            Doing::Sending { until, .. } | Doing::Receiving { until, .. } | Doing::Notification { until, .. } => until,
            _ => None,
        }
    }
}

/// What a woken (or answered) process must find in its registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Expect {
    r0: u32,
    /// A message: info, the four words, badge (r1, r2..r5, r7).
    message: Option<(u32, [u32; 4])>,
    /// r1, for a notification.
    r1: Option<u32>,
}

impl Expect {
    fn ok() -> Expect {
        Expect { r0: 0, message: None, r1: None }
    }
    fn error(error: Error) -> Expect {
        Expect { r0: error as u32, message: None, r1: None }
    }
    fn message(label: u32, words: [u32; 4]) -> Expect {
        Expect { r0: 0, message: Some((ipc::info(label, 0), words)), r1: None }
    }
}

#[derive(Clone, Debug)]
struct Process {
    pid: u32,
    doing: Doing,
    /// Who it owes a reply.
    reply_to: Option<usize>,
    /// The message it is sending while queued.
    message: (u32, [u32; 4]),
    /// Its handles to the endpoints and the notification.
    endpoints: [Handle; 2],
    notification: Handle,
}

struct Model {
    processes: Vec<Process>,
    /// Each endpoint's queue (senders or receivers, never both).
    queues: [VecDeque<usize>; 2],
    bits: u32,
    waiters: VecDeque<usize>,
    /// Registers to check after this entry.
    expected: Vec<(usize, Expect)>,
}

impl Model {
    fn wake(&mut self, who: usize, expect: Expect) {
        self.processes[who].doing = Doing::Runnable;
        self.expected.push((who, expect));
    }

    fn unqueue(&mut self, who: usize) {
        for queue in &mut self.queues {
            queue.retain(|&p| p != who);
        }
        self.waiters.retain(|&p| p != who);
    }

    /// A message from `sender` reaches `receiver`.
    fn rendezvous(&mut self, sender: usize, receiver: usize, message: (u32, [u32; 4]), call: bool) {
        self.expected.push((receiver, Expect::message(message.0, message.1)));
        self.processes[receiver].doing = Doing::Runnable;
        if call {
            if let Some(previous) = self.processes[receiver].reply_to.take() {
                if self.processes[previous].doing == (Doing::AwaitingReply { server: receiver }) {
                    self.wake(previous, Expect::error(Error::PeerGone));
                }
            }
            self.processes[receiver].reply_to = Some(sender);
            self.processes[sender].doing = Doing::AwaitingReply { server: receiver };
        } else {
            self.wake(sender, Expect::ok());
        }
    }

    fn receivers_queued(&self, endpoint: usize) -> bool {
        self.queues[endpoint].front().is_some_and(|&p| matches!(self.processes[p].doing, Doing::Receiving { .. }))
    }

    /// `Send`/`Call` by `me`; `None` if it blocks.
    fn send(&mut self, me: usize, endpoint: usize, message: (u32, [u32; 4]), call: bool, timeout: u32, now: u64) {
        if self.receivers_queued(endpoint) {
            let receiver = self.queues[endpoint].pop_front().unwrap();
            self.rendezvous(me, receiver, message, call);
            if !call {
                // The sender's own answer: Ok, at once.
                self.processes[me].doing = Doing::Runnable;
            }
            return;
        }
        if timeout == NO_WAIT {
            self.expected.push((me, Expect::error(Error::TimedOut)));
            return;
        }
        self.processes[me].message = message;
        self.processes[me].doing = Doing::Sending { endpoint, call, until: deadline(now, timeout) };
        self.queues[endpoint].push_back(me);
    }

    fn receive(&mut self, me: usize, endpoint: usize, timeout: u32, now: u64) {
        if !self.receivers_queued(endpoint) {
            if let Some(sender) = self.queues[endpoint].pop_front() {
                let Doing::Sending { call, .. } = self.processes[sender].doing else { unreachable!() };
                let message = self.processes[sender].message;
                self.rendezvous(sender, me, message, call);
                return;
            }
        }
        if timeout == NO_WAIT {
            self.expected.push((me, Expect::error(Error::TimedOut)));
            return;
        }
        self.processes[me].doing = Doing::Receiving { endpoint, until: deadline(now, timeout) };
        self.queues[endpoint].push_back(me);
    }

    /// `Reply` by `me`: its result.
    fn reply(&mut self, me: usize, message: (u32, [u32; 4])) -> Result<(), Error> {
        let caller = self.processes[me].reply_to.take().ok_or(Error::InvalidArgument)?;
        if self.processes[caller].doing != (Doing::AwaitingReply { server: me }) {
            return Err(Error::PeerGone);
        }
        self.wake(caller, Expect::message(message.0, message.1));
        Ok(())
    }

    fn signal(&mut self, bits: u32) {
        self.bits |= bits;
        let waiting: Vec<usize> = self.waiters.drain(..).collect();
        for waiter in waiting {
            let Doing::Notification { mask, .. } = self.processes[waiter].doing else { unreachable!() };
            if self.bits & mask != 0 {
                let taken = self.bits & mask;
                self.bits &= !mask;
                self.wake(waiter, Expect { r0: 0, message: None, r1: Some(taken) });
            } else {
                self.waiters.push_back(waiter);
            }
        }
    }

    /// Ends every wait whose deadline is `now` or earlier.
    fn expire(&mut self, now: u64) {
        for who in 0..self.processes.len() {
            let doing = self.processes[who].doing;
            if doing.until().is_some_and(|until| until <= now) {
                self.unqueue(who);
                let expect =
                    if matches!(doing, Doing::Sleeping { .. }) { Expect::ok() } else { Expect::error(Error::TimedOut) };
                self.wake(who, expect);
            }
        }
    }

    fn exit(&mut self, me: usize) {
        self.processes[me].doing = Doing::Ended;
        if let Some(caller) = self.processes[me].reply_to.take() {
            if self.processes[caller].doing == (Doing::AwaitingReply { server: me }) {
                self.wake(caller, Expect::error(Error::PeerGone));
            }
        }
    }
}

fn deadline(now: u64, timeout: u32) -> Option<u64> {
    (timeout != FOREVER).then(|| now + u64::from(timeout))
}

fn random_timeout(rng: &mut Rng) -> u32 {
    match rng.below(20) {
        0..=6 => NO_WAIT,
        7..=16 => 1 + rng.below(3000) as u32,
        _ => FOREVER,
    }
}

fn random_message(rng: &mut Rng) -> (u32, [u32; 4]) {
    let word = |rng: &mut Rng| rng.next_u64() as u32;
    (rng.below(0x1_0000) as u32, [word(rng), word(rng), word(rng), word(rng)])
}

/// The kernel's view of process `pid` in the model's terms.
fn observed(system: &System, model: &Model, pid: u32, objects: &[u32; 2]) -> Doing {
    let endpoint = |object: u32| objects.iter().position(|&o| o == object).expect("a shared endpoint");
    match system.status(pid).expect("every modelled process stays in the table") {
        Status::Running | Status::Ready => Doing::Runnable,
        Status::Sleeping { until } => Doing::Sleeping { until },
        Status::Sending { endpoint: object, call, until } => Doing::Sending { endpoint: endpoint(object), call, until },
        Status::Receiving { endpoint: object, until } => Doing::Receiving { endpoint: endpoint(object), until },
        Status::AwaitingReply { server } => Doing::AwaitingReply {
            server: model.processes.iter().position(|p| p.pid == server).expect("a modelled server"),
        },
        Status::Notification { mask, until, .. } => Doing::Notification { mask, until },
        Status::Ended { .. } => Doing::Ended,
        other => panic!("unexpected status {other:?}"),
    }
}

/// One run against the model; returns how many entries it made.
fn run_model_case(seed: u64, steps: usize, identity: bool) -> usize {
    let mut rng = Rng::new(seed);
    let mut system = System::boot_in(identity);
    // Every other run idles as the A7 does: outside the kernel.
    system.fake().idle_outside.set(seed % 2 == 1);
    let root = system.root;
    // Two endpoints and a notification, held by the root with every right.
    let endpoints = [
        system.retype(system.untyped, ObjectType::Endpoint, 64),
        system.retype(system.untyped, ObjectType::Endpoint, 64),
    ];
    let notification = system.retype(system.untyped, ObjectType::Notification, 64);
    let objects = endpoints.map(|e| system.kernel.capability(root, e).unwrap().object);
    let mut processes = vec![Process {
        pid: root,
        doing: Doing::Runnable,
        reply_to: None,
        message: (0, [0; 4]),
        endpoints,
        notification,
    }];
    for n in 0..3 {
        let priority = 1 + rng.below(tessera_abi::ROOT_PRIORITY as usize) as u32;
        let (pid, process) = system.spawn(&format!("p{n}"), priority);
        let grant = |system: &mut System, handle: Handle| {
            Handle(system.ok(Syscall::CapGrant, &[handle.0, process.0, Rights::all().bits()])[0])
        };
        let theirs = [grant(&mut system, endpoints[0]), grant(&mut system, endpoints[1])];
        let their_notification = grant(&mut system, notification);
        processes.push(Process {
            pid,
            doing: Doing::Runnable,
            reply_to: None,
            message: (0, [0; 4]),
            endpoints: theirs,
            notification: their_notification,
        });
    }
    let mut model = Model {
        processes,
        queues: [VecDeque::new(), VecDeque::new()],
        bits: 0,
        waiters: VecDeque::new(),
        expected: Vec::new(),
    };
    let mut entries = 0;
    for step in 0..steps {
        let Some(current) = system.kernel.current_pid() else { break };
        let me = model.processes.iter().position(|p| p.pid == current).expect("a modelled process runs");
        let now = system.fake().now.get();
        model.expected.clear();
        let choice = rng.below(100);
        let endpoint = rng.below(2);
        let handle = model.processes[me].endpoints[endpoint];
        let (number, args, expect_now): (Option<Syscall>, [u32; 7], Option<Expect>) = match choice {
            0..=29 => {
                let call = choice >= 15;
                let message = random_message(&mut rng);
                let timeout = random_timeout(&mut rng);
                model.send(me, endpoint, message, call, timeout, now);
                let syscall = if call { Syscall::Call } else { Syscall::Send };
                let (info, w) = (ipc::info(message.0, 0), message.1);
                (Some(syscall), [handle.0, info, w[0], w[1], w[2], w[3], timeout], None)
            }
            30..=44 => {
                let timeout = random_timeout(&mut rng);
                model.receive(me, endpoint, timeout, now);
                (Some(Syscall::Receive), [handle.0, timeout, 0, 0, 0, 0, 0], None)
            }
            45..=51 => {
                let message = random_message(&mut rng);
                let result = model.reply(me, message);
                let expect = match result {
                    Ok(()) => Expect::ok(),
                    Err(error) => Expect::error(error),
                };
                let (info, w) = (ipc::info(message.0, 0), message.1);
                (Some(Syscall::Reply), [0, info, w[0], w[1], w[2], w[3], 0], Some(expect))
            }
            52..=61 => {
                let message = random_message(&mut rng);
                // Half without a limit, which the fast path may take.
                let timeout = if rng.below(2) == 0 { FOREVER } else { random_timeout(&mut rng) };
                if model.processes[me].reply_to.is_some() {
                    let _ = model.reply(me, message);
                }
                model.receive(me, endpoint, timeout, now);
                let (info, w) = (ipc::info(message.0, 0), message.1);
                (Some(Syscall::ReplyReceive), [handle.0, info, w[0], w[1], w[2], w[3], timeout], None)
            }
            62..=69 => {
                let bits = 1 + rng.below(15) as u32;
                model.signal(bits);
                (Some(Syscall::Signal), [model.processes[me].notification.0, bits, 0, 0, 0, 0, 0], Some(Expect::ok()))
            }
            70..=81 => {
                let mask = 1 + rng.below(15) as u32;
                let timeout = if choice >= 78 { NO_WAIT } else { random_timeout(&mut rng) };
                let taken = model.bits & mask;
                let expect = if taken != 0 || timeout == NO_WAIT {
                    model.bits &= !mask;
                    Some(Expect { r0: 0, message: None, r1: Some(taken) })
                } else {
                    model.processes[me].doing = Doing::Notification { mask, until: deadline(now, timeout) };
                    model.waiters.push_back(me);
                    None
                };
                let args = [model.processes[me].notification.0, mask, timeout, 0, 0, 0, 0];
                (Some(Syscall::WaitNotification), args, expect)
            }
            82..=86 => (Some(Syscall::Yield), [0; 7], Some(Expect::ok())),
            87..=90 => {
                let micros = rng.below(3000) as u32;
                if micros > 0 {
                    model.processes[me].doing = Doing::Sleeping { until: now + u64::from(micros) };
                }
                (Some(Syscall::Sleep), [micros, 0, 0, 0, 0, 0, 0], (micros == 0).then(Expect::ok))
            }
            91..=96 => (None, [1 + rng.below(3000) as u32, 0, 0, 0, 0, 0, 0], None),
            _ if me != 0 => {
                model.exit(me);
                (Some(Syscall::Exit), [0; 7], None)
            }
            _ => (Some(Syscall::Yield), [0; 7], Some(Expect::ok())),
        };
        if let Some(expect) = expect_now {
            model.expected.push((me, expect));
        }
        let entered = catch_unwind(AssertUnwindSafe(|| match number {
            Some(syscall) => {
                system.syscall_raw(syscall as u32, args);
            }
            None => system.advance(u64::from(args[0])),
        }));
        entries += 1;
        if let Err(payload) = entered {
            if payload.is::<IdleForever>() {
                // Nothing can wake anyone: the model must agree that every
                // process waits with no deadline.
                model.expire(system.fake().now.get());
                for process in &model.processes {
                    assert!(
                        process.doing != Doing::Runnable && process.doing.until().is_none(),
                        "case {seed} step {step}: the kernel idles for good, but the model has {process:?}"
                    );
                }
                return entries;
            }
            std::panic::resume_unwind(payload);
        }
        model.expire(system.fake().now.get());
        for process in &model.processes {
            let seen = observed(&system, &model, process.pid, &objects);
            assert_eq!(
                seen, process.doing,
                "case {seed} step {step}: process {} (after choice {choice} by {me})",
                process.pid
            );
        }
        for &(who, expect) in &model.expected {
            let pid = model.processes[who].pid;
            let registers = system.kernel.context(pid).unwrap().r;
            let context = format!("case {seed} step {step}: registers of {pid} (choice {choice} by {me})");
            assert_eq!(registers[0], expect.r0, "{context}: r0");
            if let Some((info, words)) = expect.message {
                assert_eq!((registers[1], &registers[2..6], registers[7]), (info, &words[..], 0), "{context}");
            }
            if let Some(r1) = expect.r1 {
                assert_eq!(registers[1], r1, "{context}: r1");
            }
        }
    }
    entries
}

#[test]
fn the_kernel_agrees_with_the_model_of_ipc_notifications_and_timeouts() {
    let mut entries = 0;
    for case in 0..2000 {
        entries += run_model_case(0x5EED_0000 + case, 400, false);
    }
    // The runs are long enough to mean something.
    assert!(entries > 30_000, "only {entries} kernel entries");
}

/// The same where user addresses are physical (the M4's MPU).
#[test]
fn the_kernel_agrees_with_the_model_with_identity_mapped_processes() {
    let mut entries = 0;
    for case in 0..500 {
        entries += run_model_case(0x1DE0_0000 + case, 400, true);
    }
    assert!(entries > 7_500, "only {entries} kernel entries");
}

/// One chaotic run: random syscalls from every process. Returns how many
/// `Map` calls succeeded.
fn run_chaos_case(seed: u64, steps: usize, identity: bool) -> usize {
    let mut rng = Rng::new(seed);
    let mut system = System::boot_in(identity);
    system.fake().idle_outside.set(seed % 2 == 1);
    let root_data = system.root_data;
    let mut mapped = 0;
    let root = system.root;
    // Some objects to aim at, and children that hold some of them.
    let endpoint = system.retype(system.untyped, ObjectType::Endpoint, 64);
    let notification = system.retype(system.untyped, ObjectType::Notification, 64);
    let mut children = Vec::new();
    for n in 0..3 {
        let priority = 1 + rng.below(tessera_abi::ROOT_PRIORITY as usize) as u32;
        let (_, process) = system.spawn(&format!("c{n}"), priority);
        for handle in [endpoint, notification, system.untyped] {
            if rng.below(2) == 0 {
                let rights = rng.next_u64() as u32 & Rights::all().bits();
                system.call(Syscall::CapGrant, &[handle.0, process.0, rights]);
            }
        }
        children.push(process);
    }
    for step in 0..steps {
        let Some(current) = system.kernel.current_pid() else { break };
        // Handles worth trying: the caller's own, sometimes with junk.
        let held: Vec<u32> = system.kernel.capabilities(current).map(|(h, _)| h.0).collect();
        // Addresses worth trying: fixed ones, and where held memory is
        // (where an identity layout maps it).
        let memory: Vec<(u32, u32)> = system
            .kernel
            .capabilities(current)
            .filter(|(_, c)| matches!(c.kind, ObjectType::Frame | ObjectType::DeviceRegion))
            .map(|(h, c)| (h.0, c.object))
            .collect();
        let places: Vec<u32> = memory.iter().map(|&(_, object)| object).collect();
        let argument = |rng: &mut Rng| -> u32 {
            match rng.below(7) {
                0 | 1 if !held.is_empty() => held[rng.below(held.len())],
                2 => rng.below(64) as u32,
                3 => [0, 1, 4, 0x1000, 0x0001_0000, root_data, 0x3FFE_F000, 0x4000_0000, FOREVER][rng.below(9)],
                4 if !places.is_empty() => places[rng.below(places.len())],
                _ => rng.next_u64() as u32,
            }
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| match rng.below(20) {
            0 => system.advance(1 + rng.below(20_000) as u64),
            1 if rng.below(2) == 0 => system.raise(INTERRUPTS[rng.below(2)]),
            1 => system.raise_acknowledged(INTERRUPTS[rng.below(2)]),
            2 if current != root => {
                let resume = system.kernel.user_fault(UserFault::Data { status: 0x7, address: rng.next_u64() as u32 });
                system.resume(resume);
                system.check();
            }
            _ => {
                let number = if rng.below(4) == 0 { rng.below(40) as u32 } else { pick_syscall(&mut rng) as u32 };
                // Shutting down ends the run; keep it rare.
                if number == Syscall::Shutdown as u32 {
                    return;
                }
                let mut args = [0u32; 7];
                for arg in &mut args {
                    *arg = argument(&mut rng);
                }
                // Small objects and sizes are more interesting than random ones.
                if number == Syscall::Retype as u32 {
                    args[1] = 1 + rng.below(7) as u32;
                    args[2] = [64, 4096, 16384, 65536][rng.below(4)];
                }
                // Often a mapping that can succeed: memory it holds, at an
                // address the layout allows, rights a mapping can have,
                // for itself.
                if number == Syscall::Map as u32 && !memory.is_empty() && rng.below(2) == 0 {
                    let (handle, object) = memory[rng.below(memory.len())];
                    args[0] = handle;
                    args[1] = if identity { object } else { 0x0100_0000 + 0x1000 * rng.below(256) as u32 };
                    args[2] = [0b001, 0b011, 0b101][rng.below(3)];
                    args[3] = 0;
                }
                // Often a slice that can succeed: of memory it holds, a
                // page or more into it, a page or a few long.
                if number == Syscall::FrameSlice as u32 && !memory.is_empty() && rng.below(2) == 0 {
                    args[0] = memory[rng.below(memory.len())].0;
                    args[1] = 0x1000 * rng.below(4) as u32;
                    args[2] = [4096, 8192, 16384][rng.below(3)];
                    args[3] = rng.below(0x400) as u32;
                }
                let answer = system.syscall_raw(number, args);
                if number == Syscall::Map as u32 && answer.is_some_and(|answer| answer.result.is_ok()) {
                    mapped += 1;
                }
            }
        }));
        if let Err(payload) = outcome {
            if payload.is::<IdleForever>() {
                break;
            }
            eprintln!("chaos case {seed} failed at step {step}\nconsole:\n{}", system.fake().output());
            std::panic::resume_unwind(payload);
        }
    }
    // Every timed wait ends when time runs on: after a long enough wait
    // nobody is left in one (forever-waits and zombies may stay).
    for _ in 0..50 {
        let outcome = catch_unwind(AssertUnwindSafe(|| system.advance(1_000_000)));
        if outcome.is_err() {
            break;
        }
    }
    let now = system.fake().now.get();
    for pid in system.kernel.pids().collect::<Vec<_>>() {
        let until = match system.status(pid).unwrap() {
            Status::Sleeping { until } => Some(until),
            Status::Sending { until, .. } | Status::Receiving { until, .. } | Status::Notification { until, .. } => {
                until
            }
            Status::Waiting { until } => until,
            _ => None,
        };
        assert!(until.is_none_or(|until| until > now), "chaos case {seed}: {pid} still waits past its deadline");
    }
    let _ = children;
    mapped
}

fn pick_syscall(rng: &mut Rng) -> Syscall {
    const CALLS: [Syscall; 25] = [
        Syscall::Send,
        Syscall::Call,
        Syscall::Receive,
        Syscall::Reply,
        Syscall::ReplyReceive,
        Syscall::Signal,
        Syscall::WaitNotification,
        Syscall::Poll,
        Syscall::Yield,
        Syscall::Sleep,
        Syscall::Exit,
        Syscall::Wait,
        Syscall::CapInfo,
        Syscall::CapDerive,
        Syscall::FrameSlice,
        Syscall::CapDelete,
        Syscall::CapRevoke,
        Syscall::CapGrant,
        Syscall::CapMove,
        Syscall::Retype,
        Syscall::Map,
        Syscall::Unmap,
        Syscall::InterruptBind,
        Syscall::InterruptAck,
        Syscall::ProcessStart,
    ];
    CALLS[rng.below(CALLS.len())]
}

#[test]
fn random_syscalls_from_every_process_keep_the_kernel_whole() {
    let mut mapped = 0;
    for case in 0..1500 {
        mapped += run_chaos_case(0xC4A0_5000 + case, 300, false);
    }
    assert!(mapped > 50, "only {mapped} successful maps");
}

/// The same where user addresses are physical (the M4's MPU).
#[test]
fn random_syscalls_keep_an_identity_mapped_kernel_whole() {
    let mut mapped = 0;
    for case in 0..500 {
        mapped += run_chaos_case(0x1DC4_0000 + case, 300, true);
    }
    // Memory does get mapped (at its own address) now and then.
    assert!(mapped > 20, "only {mapped} successful maps");
}
