//! The whole kernel on the host (`tests/support`): IPC, the process
//! lifecycle, scheduling and timeouts, driven through the kernel's entry
//! points exactly as the Armv7-A entry code drives them, with the kernel's
//! invariants checked after every entry.

mod support;

use kernel_core::kernel::{Status, UserFault};
use support::{IdleForever, System, INTERRUPTS, ROOT_DATA, ROOT_OBJECT};
use tessera_abi::{
    ipc, Error, ExitKind, Handle, ObjectType, Rights, Syscall, ANY_PROCESS, FOREVER, NOTIFIED_BADGE, NO_WAIT,
};

/// The root task makes an endpoint and hands `pid` (named by `process`) a
/// copy with `rights`; returns the root's handle and the child's.
fn share_endpoint(system: &mut System, process: Handle, rights: Rights) -> (Handle, Handle) {
    let endpoint = system.retype(system.untyped, ObjectType::Endpoint, 64);
    let theirs = Handle(system.ok(Syscall::CapGrant, &[endpoint.0, process.0, rights.bits()])[0]);
    (endpoint, theirs)
}

/// Same for a notification.
fn share_notification(system: &mut System, process: Handle, rights: Rights) -> (Handle, Handle) {
    let notification = system.retype(system.untyped, ObjectType::Notification, 64);
    let theirs = Handle(system.ok(Syscall::CapGrant, &[notification.0, process.0, rights.bits()])[0]);
    (notification, theirs)
}

#[test]
fn boot_starts_the_root_task_with_its_capabilities() {
    let system = System::boot();
    assert_eq!(system.current(), system.root);
    let info = system.info(system.root);
    assert_eq!(info.priority, tessera_abi::ROOT_PRIORITY);
    assert_eq!(info.parent, None);
    let kinds: Vec<ObjectType> = system.kernel.capabilities(system.root).map(|(_, c)| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ObjectType::Untyped,
            ObjectType::DeviceRegion,
            ObjectType::PowerControl,
            ObjectType::Interrupt,
            ObjectType::Interrupt
        ]
    );
    // The boot arguments are at the top of its stack: r0 points at them.
    let context = system.kernel.context(system.root).unwrap();
    assert_eq!(context.r[1], 4);
    assert_eq!(system.fake().read_user_bytes(ROOT_OBJECT, context.r[0], 4), b"test");
}

#[test]
fn call_and_reply_take_the_fast_path_both_ways() {
    let mut system = System::boot();
    let (server, server_process) = system.spawn("server", tessera_abi::ROOT_PRIORITY);
    let (endpoint, server_endpoint) = share_endpoint(&mut system, server_process, Rights::RECEIVE);
    // The root yields to the server (same priority), which waits for a message.
    system.ok(Syscall::Yield, &[]);
    assert_eq!(system.current(), server);
    assert_eq!(system.call(Syscall::Receive, &[server_endpoint.0, FOREVER]), None);
    assert!(matches!(system.status(server), Some(Status::Receiving { .. })));
    assert_eq!(system.current(), system.root);

    // Call: straight to the server, message in its registers.
    let fast = system.kernel.fast_paths();
    let sent = system.syscall_raw(Syscall::Call as u32, [endpoint.0, ipc::info(7, 0), 1, 2, 3, 4, FOREVER]);
    assert_eq!(sent, None, "the caller waits for the reply");
    assert_eq!(system.current(), server);
    let registers = system.kernel.context(server).unwrap().r;
    assert_eq!(registers[0], 0);
    assert_eq!(ipc::label(registers[1]), 7);
    assert_eq!(registers[2..6], [1, 2, 3, 4]);
    assert_eq!(system.info(server).reply_to, Some(system.root));
    assert_eq!(system.status(system.root), Some(Status::AwaitingReply { server }));

    // ReplyReceive: the answer reaches the caller; the server waits again.
    let answered =
        system.syscall_raw(Syscall::ReplyReceive as u32, [server_endpoint.0, ipc::info(9, 0), 5, 6, 7, 8, FOREVER]);
    assert_eq!(answered, None);
    assert_eq!(system.current(), system.root);
    let registers = system.kernel.context(system.root).unwrap().r;
    assert_eq!((registers[0], ipc::label(registers[1])), (0, 9));
    assert_eq!(registers[2..6], [5, 6, 7, 8]);
    assert!(matches!(system.status(server), Some(Status::Receiving { .. })));
    assert_eq!(system.info(server).reply_to, None);
    assert_eq!(system.kernel.fast_paths(), fast + 2, "both calls took the fast path");
    // Each blocked thread's r0 is 0 while it waits, as the general path leaves it.
    assert_eq!(system.kernel.context(server).unwrap().r[0], 0);
}

/// A server of the root's priority waits on an endpoint the root may send
/// on; the root holds a frame, and a copy of it without `GRANT`. Returns
/// the system, the server, the root's endpoint, the frame and the copy.
fn server_waits_and_root_holds_a_frame() -> (System, u32, Handle, Handle, Handle) {
    let mut system = System::boot();
    let (server, server_process) = system.spawn("server", tessera_abi::ROOT_PRIORITY);
    let (endpoint, server_endpoint) = share_endpoint(&mut system, server_process, Rights::RECEIVE);
    let frame = system.retype(system.untyped, ObjectType::Frame, 4096);
    let no_grant = Handle(system.ok(Syscall::CapDerive, &[frame.0, Rights::READ.bits(), 0])[0]);
    system.ok(Syscall::Yield, &[]);
    assert_eq!(system.call(Syscall::Receive, &[server_endpoint.0, FOREVER]), None);
    (system, server, endpoint, frame, no_grant)
}

#[test]
fn a_call_carrying_a_capability_takes_the_general_path_and_checks_grant() {
    let (mut system, server, endpoint, frame, no_grant) = server_waits_and_root_holds_a_frame();
    // Without GRANT: refused as the general path refuses it, nothing moves.
    let fast = system.kernel.fast_paths();
    let refused = system.syscall_raw(Syscall::Call as u32, [endpoint.0, ipc::info(3, 1), 0, 0, 0, no_grant.0, FOREVER]);
    assert_eq!(refused.map(|a| a.result), Some(Err(Error::MissingRight)));
    assert_eq!(system.kernel.fast_paths(), fast, "the refusal is the general path's");
    assert!(matches!(system.status(server), Some(Status::Receiving { .. })));
    // With it: to the server, which holds its own copy. The Rust fast
    // path passes no capability (the A7's assembly takes one frame).
    let sent = system.syscall_raw(Syscall::Call as u32, [endpoint.0, ipc::info(3, 1), 1, 2, 3, frame.0, FOREVER]);
    assert_eq!(sent, None, "the caller waits for the reply");
    assert_eq!(system.kernel.fast_paths(), fast, "the general path took the call");
    assert_eq!(system.current(), server);
    let registers = system.kernel.context(server).unwrap().r;
    assert_eq!((registers[0], ipc::label(registers[1]), ipc::caps(registers[1])), (0, 3, 1));
    assert_eq!(registers[2..5], [1, 2, 3]);
    let received = system.kernel.capability(server, Handle(registers[5])).expect("the server holds the frame");
    assert_eq!(received.kind, ObjectType::Frame);
    assert_eq!(system.status(system.root), Some(Status::AwaitingReply { server }));
}

#[test]
fn a_server_runs_at_its_callers_priority_until_it_replies() {
    let mut system = System::boot();
    let (server, server_process) = system.spawn("server", 3);
    let (endpoint, server_endpoint) = share_endpoint(&mut system, server_process, Rights::RECEIVE);
    // The root calls first: no receiver yet, so it queues as a sender and
    // the low-priority server gets the CPU.
    assert_eq!(system.syscall_raw(Syscall::Call as u32, [endpoint.0, ipc::info(1, 0), 0, 0, 0, 0, FOREVER]), None);
    assert!(matches!(system.status(system.root), Some(Status::Sending { call: true, .. })));
    assert_eq!(system.current(), server);
    system.ok(Syscall::Receive, &[server_endpoint.0, FOREVER]);
    assert_eq!(system.info(server).priority, tessera_abi::ROOT_PRIORITY, "raised to the caller's");
    assert_eq!(system.info(server).base_priority, 3);
    system.ok(Syscall::Reply, &[0, ipc::info(2, 0)]);
    // The root outranks the server again and takes the CPU back.
    assert_eq!(system.info(server).priority, 3);
    assert_eq!(system.current(), system.root);
    assert_eq!(system.status(server), Some(Status::Ready));
}

#[test]
fn capabilities_travel_with_a_message_and_need_grant() {
    let (mut system, server, endpoint, frame, no_grant) = server_waits_and_root_holds_a_frame();
    // Without GRANT, the send is refused and nothing moves.
    let refused = system.syscall_raw(Syscall::Send as u32, [endpoint.0, ipc::info(1, 1), 0, 0, 0, no_grant.0, 0]);
    assert_eq!(refused.map(|a| a.result), Some(Err(Error::MissingRight)));
    // With it, the server gets its own handle to the frame.
    let sent = system.syscall_raw(Syscall::Send as u32, [endpoint.0, ipc::info(1, 1), 0, 0, 0, frame.0, 0]);
    assert_eq!(sent.map(|a| a.result), Some(Ok(())));
    let registers = system.kernel.context(server).unwrap().r;
    assert_eq!(ipc::caps(registers[1]), 1);
    let received = system.kernel.capability(server, Handle(registers[5])).expect("the server holds the frame");
    assert_eq!(received.kind, ObjectType::Frame);
    assert_eq!(received.object, system.kernel.capability(system.root, frame).unwrap().object);
}

#[test]
fn timeouts_end_blocking_calls_and_forever_waits_for_good() {
    let mut system = System::boot();
    let endpoint = system.retype(system.untyped, ObjectType::Endpoint, 64);
    // NO_WAIT never blocks.
    let answer = system.now(Syscall::Receive, &[endpoint.0, NO_WAIT]);
    assert_eq!(answer.result, Err(Error::TimedOut));
    // A timed receive with nobody else to run: the kernel idles until the
    // deadline, then the caller gets TimedOut, no earlier.
    let before = system.fake().now.get();
    let answer = system.now(Syscall::Receive, &[endpoint.0, 1500]);
    assert_eq!(answer.result, Err(Error::TimedOut));
    let waited = system.fake().now.get() - before;
    assert!((1500..1600).contains(&waited), "waited {waited} µs for a 1500 µs timeout");
    // Sleep, the same way.
    let before = system.fake().now.get();
    system.ok(Syscall::Sleep, &[2000]);
    assert!(system.fake().now.get() - before >= 2000);
    // Waiting forever with nothing that could wake the caller: the kernel
    // idles with no deadline armed.
    let forever = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        system.call(Syscall::Receive, &[endpoint.0, FOREVER]);
    }));
    let payload = forever.expect_err("nothing can wake the root task");
    assert!(payload.is::<IdleForever>());
}

#[test]
fn a_platform_that_idles_outside_is_handed_the_wait_with_the_timer_armed() {
    let mut system = System::boot();
    system.fake().idle_outside.set(true);
    let endpoint = system.retype(system.untyped, ObjectType::Endpoint, 64);
    // A timed receive with nobody else to run: no thread is current, the
    // timer is armed for the deadline and the resume pointer is null (the
    // A7 goes on to its idle wait in assembly).
    let root = system.root;
    let context = system.kernel.context_mut(root).expect("the root lives");
    (context.r[0], context.r[1], context.r[7]) = (endpoint.0, 1500, Syscall::Receive as u32);
    context.pc += 4;
    let before = system.fake().now.get();
    assert!(system.kernel.syscall().is_null(), "the platform idles");
    assert_eq!(system.kernel.current_pid(), None);
    system.check();
    let armed = system.fake().deadline.get() - before;
    assert!((1500..1600).contains(&armed), "the timer armed {armed} µs ahead for a 1500 µs timeout");
    // Its wait ends with the timer's interrupt: the root runs again with
    // TimedOut.
    system.fake().now.set(system.fake().deadline.get());
    assert!(!system.kernel.interrupt().is_null());
    assert_eq!(system.kernel.current_pid(), Some(root));
    assert_eq!(system.answer_of(root).map(|answer| answer.result), Some(Err(Error::TimedOut)));
    system.check();
    // An interrupt that leaves nobody ready hands the wait back again.
    let context = system.kernel.context_mut(root).expect("the root lives");
    (context.r[0], context.r[1], context.r[7]) = (endpoint.0, 5000, Syscall::Receive as u32);
    context.pc += 4;
    assert!(system.kernel.syscall().is_null());
    assert!(system.kernel.interrupt().is_null(), "nothing is due yet");
    assert_eq!(system.kernel.current_pid(), None);
    system.check();
}

#[test]
fn a_timed_reply_receive_answers_then_waits_only_so_long() {
    let mut system = System::boot();
    let (server, server_process) = system.spawn("server", tessera_abi::ROOT_PRIORITY);
    let (endpoint, server_endpoint) = share_endpoint(&mut system, server_process, Rights::RECEIVE);
    system.ok(Syscall::Yield, &[]);
    assert_eq!(system.call(Syscall::Receive, &[server_endpoint.0, FOREVER]), None);
    let call = |system: &mut System, label: u32| {
        let sent = system.syscall_raw(Syscall::Call as u32, [endpoint.0, ipc::info(label, 0), 0, 0, 0, 0, FOREVER]);
        assert_eq!(sent, None);
        assert_eq!(system.current(), server);
    };
    // NO_WAIT: the answer goes out, the receive fails at once, the server
    // goes on running.
    call(&mut system, 1);
    let fast = system.kernel.fast_paths();
    let answer =
        system.syscall_raw(Syscall::ReplyReceive as u32, [server_endpoint.0, ipc::info(2, 0), 3, 0, 0, 0, NO_WAIT]);
    assert_eq!(answer.map(|a| a.result), Some(Err(Error::TimedOut)));
    assert_eq!(system.kernel.fast_paths(), fast, "a time limit is the general path's");
    assert_eq!(system.current(), server);
    assert_eq!(system.info(server).reply_to, None);
    let registers = system.kernel.context(system.root).unwrap().r;
    assert_eq!((registers[0], ipc::label(registers[1]), registers[2]), (0, 2, 3), "the root has its answer");
    // 2 ms: the answer goes out and the root runs; the root then sleeps,
    // nothing is sent, and the server's receive ends in TimedOut at its
    // deadline, no earlier.
    assert_eq!(system.call(Syscall::Receive, &[server_endpoint.0, FOREVER]), None);
    assert_eq!(system.current(), system.root);
    call(&mut system, 4);
    let answer =
        system.syscall_raw(Syscall::ReplyReceive as u32, [server_endpoint.0, ipc::info(5, 0), 6, 0, 0, 0, 2000]);
    assert_eq!(answer, None, "the server waits");
    assert_eq!(system.current(), system.root);
    let registers = system.kernel.context(system.root).unwrap().r;
    assert_eq!((registers[0], ipc::label(registers[1]), registers[2]), (0, 5, 6), "the root has its answer");
    let before = system.fake().now.get();
    assert_eq!(system.call(Syscall::Sleep, &[10_000_000]), None);
    assert_eq!(system.current(), server);
    assert_eq!(system.answer_of(server).unwrap().result, Err(Error::TimedOut));
    let waited = system.fake().now.get() - before;
    assert!((2000..2100).contains(&waited), "waited {waited} µs for a 2000 µs timeout");
}

#[test]
fn a_timed_out_sender_leaves_the_queue() {
    let mut system = System::boot();
    let (child, child_process) = system.spawn("child", 1);
    let (endpoint, _) = share_endpoint(&mut system, child_process, Rights::RECEIVE);
    // The root's send waits 5 ms for a receiver; the child runs meanwhile.
    let sent = system.syscall_raw(Syscall::Send as u32, [endpoint.0, ipc::info(1, 0), 0, 0, 0, 0, 5000]);
    assert_eq!(sent, None);
    assert_eq!(system.current(), child);
    system.advance(4999);
    assert!(matches!(system.status(system.root), Some(Status::Sending { .. })));
    system.advance(1);
    assert_eq!(system.current(), system.root);
    assert_eq!(system.answer_of(system.root).unwrap().result, Err(Error::TimedOut));
    // Nothing is left queued: a later receive by the child finds no sender.
}

#[test]
fn notifications_and_bound_interrupts_wake_their_waiter() {
    let mut system = System::boot();
    let (child, child_process) = system.spawn("driver", 1);
    let (notification, theirs) = share_notification(&mut system, child_process, Rights::WAIT);
    // Signal before anyone waits: the bits are kept for the next poll.
    system.ok(Syscall::Signal, &[notification.0, 0b101]);
    // The root blocks (sleeps); the child polls and then waits.
    system.ok(Syscall::Sleep, &[0]);
    let sleep = system.call(Syscall::Sleep, &[10_000]);
    assert_eq!(sleep, None);
    assert_eq!(system.current(), child);
    assert_eq!(system.ok(Syscall::Poll, &[theirs.0, 0b100])[0], 0b100);
    assert_eq!(system.call(Syscall::WaitNotification, &[theirs.0, 0b1_0000, FOREVER]), None);
    assert!(matches!(system.status(child), Some(Status::Notification { mask: 0b1_0000, .. })));
    // The root wakes, binds an interrupt to bit 4 and sleeps again.
    system.advance(10_000);
    assert_eq!(system.current(), system.root);
    system.ok(Syscall::InterruptBind, &[system.interrupts[0].0, notification.0, 4]);
    assert!(system.fake().enabled.borrow().contains(&INTERRUPTS[0]));
    // The line fires while the root runs: the child is woken with bit 4
    // (and waits its turn below the root); the line stays masked until the
    // driver acknowledges it.
    system.raise(INTERRUPTS[0]);
    assert_eq!(system.current(), system.root);
    assert_eq!(system.status(child), Some(Status::Ready));
    assert_eq!(system.answer_of(child).unwrap().values[0], 0b1_0000);
    assert_eq!(system.call(Syscall::Sleep, &[10_000]), None);
    assert_eq!(system.current(), child);
    assert!(!system.fake().enabled.borrow().contains(&INTERRUPTS[0]));
    // The child has no capability to the interrupt, so cannot acknowledge.
    assert_eq!(system.now(Syscall::InterruptAck, &[system.interrupts[0].0]).result, Err(Error::InvalidHandle));
}

/// An interrupt the architecture acknowledged before the kernel
/// (`interrupt_acknowledged`, the A7's assembly leaving a case to Rust) is
/// delivered as one the kernel acknowledged: the bound receiver gets its
/// bits and, outranking the interrupted thread, runs at once.
#[test]
fn an_interrupt_acknowledged_outside_is_delivered_the_same() {
    let mut system = System::boot();
    let (driver, driver_process) = system.spawn("driver", 10);
    let (low, _) = system.spawn("low", 1);
    let (notification, theirs) = share_notification(&mut system, driver_process, Rights::WAIT);
    let (_, their_endpoint) = share_endpoint(&mut system, driver_process, Rights::RECEIVE);
    system.ok(Syscall::InterruptBind, &[system.interrupts[0].0, notification.0, 2]);
    // The root sleeps; the driver binds the notification to its receives
    // and waits on its endpoint; the low process runs.
    assert_eq!(system.call(Syscall::Sleep, &[50_000]), None);
    assert_eq!(system.current(), driver);
    system.ok(Syscall::NotificationBind, &[theirs.0]);
    assert_eq!(system.call(Syscall::Receive, &[their_endpoint.0, FOREVER]), None);
    assert_eq!(system.current(), low);
    system.raise_acknowledged(INTERRUPTS[0]);
    assert_eq!(system.current(), driver, "the woken driver outranks the interrupted thread");
    assert_eq!(system.status(low), Some(Status::Ready));
    let answer = system.answer_of(driver).unwrap();
    assert_eq!(answer.result, Ok(()));
    assert_eq!(answer.values, [0, 0b100, 0], "label 0, the bound notification's bits in word 0");
    assert_eq!(system.kernel.context(driver).unwrap().r[7], tessera_abi::NOTIFIED_BADGE);
    assert!(!system.fake().enabled.borrow().contains(&INTERRUPTS[0]), "masked until acknowledged");
}

#[test]
fn a_child_that_exits_is_collected_with_its_record() {
    let mut system = System::boot();
    let (child, process) = system.spawn("worker", 1);
    // The root waits for it; the child runs and exits with 7.
    assert_eq!(system.call(Syscall::Wait, &[process.0, FOREVER]), None);
    assert_eq!(system.current(), child);
    assert_eq!(system.call(Syscall::Exit, &[7, 0, 0, 0, 0, 0x55]), None);
    assert_eq!(system.current(), system.root);
    let answer = system.answer_of(system.root).unwrap();
    assert_eq!(answer.result, Ok(()));
    assert_eq!(answer.values, [process.0, ExitKind::Exited as u32, 7]);
    assert_eq!(system.status(child), None, "collected: out of the table");
    // The record, copied into the root's data page.
    system.ok(Syscall::ExitRecord, &[ROOT_DATA]);
    let record = system.fake().read_user_bytes(ROOT_OBJECT, ROOT_DATA, tessera_abi::EXIT_RECORD_BYTES);
    let word = |n: usize| u32::from_le_bytes(record[n * 4..n * 4 + 4].try_into().unwrap());
    assert_eq!((word(0), word(1), word(2)), (child, ExitKind::Exited as u32, 7));
    assert_eq!(word(4 + 5), 0x55, "r5 at its end");
    // Nothing more to wait for.
    assert_eq!(system.now(Syscall::Wait, &[ANY_PROCESS, NO_WAIT]).result, Err(Error::NotFound));
}

#[test]
fn a_fault_ends_only_the_faulting_process_and_is_reported() {
    let mut system = System::boot();
    let (child, process) = system.spawn("crasher", 1);
    assert_eq!(system.call(Syscall::Wait, &[process.0, FOREVER]), None);
    assert_eq!(system.current(), child);
    // A data abort (translation fault, DFSR 0x7) at 0x1234.
    system.kernel.user_fault(UserFault::Data { status: 0x7, address: 0x1234 });
    system.check();
    assert_eq!(system.current(), system.root);
    let answer = system.answer_of(system.root).unwrap();
    assert_eq!(answer.values[1], ExitKind::Faulted as u32);
    let output = system.fake().output();
    assert!(output.contains("kernel: fault in process 'crasher'"), "{output}");
    assert!(output.contains("address 0x00001234"), "{output}");
    system.ok(Syscall::ExitRecord, &[ROOT_DATA]);
    let record = system.fake().read_user_bytes(ROOT_OBJECT, ROOT_DATA, 16);
    assert_eq!(u32::from_le_bytes(record[12..16].try_into().unwrap()), 0x1234);
}

#[test]
fn deleting_the_last_capability_to_a_process_ends_it_and_frees_its_memory() {
    let mut system = System::boot();
    let (child, process) = system.spawn("doomed", 1);
    let object = system.object_of(child);
    system.ok(Syscall::CapDelete, &[process.0]);
    assert_eq!(system.status(child), None);
    assert!(system.fake().output().contains("process 'doomed'"));
    assert!(!system.fake().spaces.borrow().contains_key(&object), "its address space is gone");
    // The same memory makes a new process later, with a fresh pid.
    let revoke_all = system.untyped;
    system.ok(Syscall::CapRevoke, &[revoke_all.0]);
    let (again, _) = system.spawn("again", 1);
    assert_eq!(system.object_of(again), object, "the untyped memory came back");
    assert_ne!(again, child, "a stale pid never names the new process");
}

/// When the 255 ASIDs run out, the kernel takes every one back: every
/// process's is cleared and the TLB is flushed once, with no address space
/// loaded (the fake platform checks); a process that ran before runs again
/// with a fresh one. No two processes share an ASID at any step (the
/// invariants, checked after every syscall).
#[test]
fn running_out_of_asids_takes_every_one_back() {
    let mut system = System::boot();
    let root = system.current();
    // A process that runs once and sleeps through the rest.
    let (sleeper, _) = system.spawn("sleeper", tessera_abi::ROOT_PRIORITY);
    system.ok(Syscall::Yield, &[]);
    assert_eq!(system.current(), sleeper);
    let (_, first_asid) = system.fake().loaded.get().expect("the sleeper's space is loaded");
    assert_eq!(system.call(Syscall::Sleep, &[1_000_000]), None);
    assert_eq!(system.current(), root);
    // 300 more, each run once, from untyped memory revoked after every
    // ten (the root's CSpace holds their capabilities meanwhile): the
    // ASIDs run out and are taken back.
    let untyped = system.untyped;
    let pool = system.retype(untyped, ObjectType::Untyped, 1 << 20);
    system.untyped = pool;
    for spawned in 1..=300 {
        let (child, _) = system.spawn("child", tessera_abi::ROOT_PRIORITY);
        system.ok(Syscall::Yield, &[]);
        assert_eq!(system.current(), child);
        assert_eq!(system.call(Syscall::Exit, &[0]), None);
        assert_eq!(system.current(), root);
        if spawned % 10 == 0 {
            system.ok(Syscall::CapRevoke, &[pool.0]);
        }
    }
    assert_eq!(system.fake().flushes.get(), 1, "one whole-TLB flush");
    assert!(system.fake().output().contains("all 255 ASIDs are in use"));
    // The sleeper wakes with a fresh ASID, not the one it had.
    assert_eq!(system.call(Syscall::Sleep, &[10_000_000]), None);
    for _ in 0..5 {
        system.advance(1_000_000);
    }
    assert_eq!(system.current(), sleeper);
    let (_, asid) = system.fake().loaded.get().expect("the sleeper's space is loaded");
    assert_ne!(asid, first_asid);
}

#[test]
fn same_priority_processes_share_the_cpu_and_higher_ones_preempt() {
    let mut system = System::boot();
    let (a, _) = system.spawn("a", 4);
    let (b, _) = system.spawn("b", 4);
    let (high, _) = system.spawn("high", 9);
    // The root sleeps: `high` runs, then sleeps too; a and b take turns.
    assert_eq!(system.call(Syscall::Sleep, &[1_000_000]), None);
    assert_eq!(system.current(), high);
    assert_eq!(system.call(Syscall::Sleep, &[50_000]), None);
    assert_eq!(system.current(), a);
    system.ok(Syscall::Yield, &[]);
    assert_eq!(system.current(), b);
    system.ok(Syscall::Yield, &[]);
    assert_eq!(system.current(), a);
    // A time slice (10 ms) ends: b's turn, without a yield.
    system.advance(10_000);
    assert_eq!(system.current(), b);
    // `high` wakes and preempts at once.
    system.advance(40_000);
    assert_eq!(system.current(), high);
    assert_eq!(system.status(b), Some(Status::Ready));
}

/// A caller whose time slice runs out while a server of a higher priority
/// works for it has had its turn: answered, it goes to the back of its
/// queue, so calling a server buys no CPU from its peers (a hostile
/// review's finding: the fast reply let it go on on the server's fresh
/// slice).
#[test]
fn a_caller_whose_slice_ends_in_a_server_goes_to_the_back_of_its_queue() {
    let mut system = System::boot();
    let (server, server_process) = system.spawn("server", 5);
    let (a, a_process) = system.spawn("a", 4);
    let (b, _) = system.spawn("b", 4);
    let (endpoint, server_endpoint) = share_endpoint(&mut system, server_process, Rights::RECEIVE);
    let a_endpoint = Handle(system.ok(Syscall::CapGrant, &[endpoint.0, a_process.0, Rights::SEND.bits()])[0]);
    // The root sleeps, the server waits for a message, `a` runs.
    assert_eq!(system.call(Syscall::Sleep, &[10_000_000]), None);
    assert_eq!(system.current(), server);
    assert_eq!(system.call(Syscall::Receive, &[server_endpoint.0, FOREVER]), None);
    assert_eq!(system.current(), a);
    let call = |system: &mut System| {
        let sent = system.syscall_raw(Syscall::Call as u32, [a_endpoint.0, ipc::info(1, 0), 0, 0, 0, 0, FOREVER]);
        assert_eq!(sent, None);
        assert_eq!(system.current(), server);
    };
    let reply = |system: &mut System| {
        let sent =
            system.syscall_raw(Syscall::ReplyReceive as u32, [server_endpoint.0, ipc::info(2, 0), 0, 0, 0, 0, FOREVER]);
        assert_eq!(sent, None);
    };
    // Answered within its slice: `a` goes on at once, on the fast path.
    let fast = system.kernel.fast_paths();
    call(&mut system);
    reply(&mut system);
    assert_eq!(system.current(), a);
    assert_eq!(system.kernel.fast_paths(), fast + 2);
    // Its slice ends while the server works for it: the server goes on
    // (nothing of its priority is ready), but the answer sends `a` behind
    // `b`, which runs.
    call(&mut system);
    system.advance(10_000);
    assert_eq!(system.current(), server);
    reply(&mut system);
    assert_eq!(system.current(), b);
    assert_eq!(system.status(a), Some(Status::Ready));
    // `b`'s slice ends: `a` again, its turn whole.
    system.advance(10_000);
    assert_eq!(system.current(), a);
    call(&mut system);
    reply(&mut system);
    assert_eq!(system.current(), a, "a new turn is not spent");
    system.check();
}

#[test]
fn a_revoke_stopped_by_an_interrupt_restarts_and_finishes() {
    let mut system = System::boot();
    let endpoint = system.retype(system.untyped, ObjectType::Endpoint, 64);
    for _ in 0..20 {
        system.ok(Syscall::CapDerive, &[endpoint.0, Rights::all().bits(), 0]);
    }
    let held = |system: &System| system.kernel.capabilities(system.root).count();
    let before = held(&system);
    // Every step looks interrupted: each call destroys one child and asks
    // to be restarted (its pc moved back to the `svc`).
    system.fake().always_pending.set(true);
    let pc = system.kernel.context(system.root).unwrap().pc;
    system.kernel.context_mut(system.root).unwrap().pc = pc - 4;
    let mut calls = 0;
    loop {
        calls += 1;
        let restart_pc = system.kernel.context(system.root).unwrap().pc;
        system.call(Syscall::CapRevoke, &[endpoint.0]);
        if system.kernel.context(system.root).unwrap().pc != restart_pc {
            break;
        }
        assert!(calls < 100, "the revoke never finishes");
    }
    assert!(calls > 1, "the revoke was never stopped");
    assert_eq!(held(&system), before - 20);
    assert!(system.fake().output().contains("revoke stopped at a pending interrupt"));
}

/// A restarted call steps back over a Thumb `svc` (2 bytes) whatever bit
/// the platform's status word uses for Thumb: on Armv7-M it is xPSR bit 24.
#[test]
fn a_restart_steps_back_by_the_platforms_thumb_bit() {
    let mut system = System::boot();
    let endpoint = system.retype(system.untyped, ObjectType::Endpoint, 64);
    for _ in 0..3 {
        system.ok(Syscall::CapDerive, &[endpoint.0, Rights::all().bits(), 0]);
    }
    system.fake().xpsr.set(true);
    system.fake().always_pending.set(true);
    let context = system.kernel.context_mut(system.root).unwrap();
    context.cpsr = 1 << 24;
    let before = context.pc;
    // The harness steps over a 4-byte `svc`; the restart must take back
    // the 2 bytes of the Thumb `svc` the status word says it was.
    system.call(Syscall::CapRevoke, &[endpoint.0]);
    assert_eq!(system.kernel.context(system.root).unwrap().pc, before + 4 - 2);
}

#[test]
fn process_output_is_labelled_and_cannot_forge_kernel_lines() {
    let mut system = System::boot();
    let text = b"hello\nkernel: fault in process 'x'\n";
    system.fake().write_user_bytes(ROOT_OBJECT, ROOT_DATA, text);
    system.ok(Syscall::DebugWrite, &[ROOT_DATA, text.len() as u32]);
    let output = system.fake().output();
    assert!(output.contains("init: hello\n"), "{output}");
    assert!(output.lines().all(|line| !line.starts_with("kernel: fault")), "{output}");
    // Memory it does not have: refused, nothing printed.
    let answer = system.now(Syscall::DebugWrite, &[0x0800_0000, 4]);
    assert_eq!(answer.result, Err(Error::BadAddress));
}

#[test]
fn bad_requests_are_refused_without_harm() {
    let mut system = System::boot();
    assert_eq!(system.syscall_raw(999, [0; 7]).unwrap().result, Err(Error::UnknownSyscall));
    assert_eq!(system.now(Syscall::CapInfo, &[0]).result, Err(Error::InvalidHandle));
    assert_eq!(system.now(Syscall::CapInfo, &[0xFFFF_FFFF]).result, Err(Error::InvalidHandle));
    // Write and execute at once is refused.
    let frame = system.retype(system.untyped, ObjectType::Frame, 4096);
    assert_eq!(system.now(Syscall::Map, &[frame.0, 0x0040_0000, 0b111, 0]).result, Err(Error::InvalidArgument));
    // Into the kernel's half or over the stack guard: refused.
    assert_eq!(system.now(Syscall::Map, &[frame.0, 0x4000_0000, 0b011, 0]).result, Err(Error::BadAddress));
    // A process may not start another above its own priority.
    let process = system.retype(system.untyped, ObjectType::Process, tessera_abi::PROCESS_OBJECT_BYTES);
    let code = system.retype(system.untyped, ObjectType::Frame, 4096);
    system.ok(Syscall::Map, &[code.0, 0x0001_0000, 0b101, process.0]);
    system.ok(Syscall::ProcessSetup, &[process.0, 0x0001_0000, 0x3FFF_0000, 0]);
    let too_high = system.now(Syscall::ProcessStart, &[process.0, tessera_abi::ROOT_PRIORITY + 1]);
    assert_eq!(too_high.result, Err(Error::PermissionDenied));
    // Untyped memory runs out with an error, not a panic.
    let mut made = 0;
    loop {
        let answer = system.now(Syscall::Retype, &[system.untyped.0, ObjectType::Frame as u32, 1 << 16]);
        match answer.result {
            Ok(()) => made += 1,
            Err(error) => {
                assert!(matches!(error, Error::OutOfMemory | Error::SlotOccupied), "{error:?}");
                break;
            }
        }
        assert!(made < 1000);
    }
}

#[test]
fn shutdown_needs_the_power_capability() {
    let mut system = System::boot();
    let endpoint = system.retype(system.untyped, ObjectType::Endpoint, 64);
    assert_eq!(system.now(Syscall::Shutdown, &[endpoint.0, 3]).result, Err(Error::WrongType));
    assert_eq!(system.fake().powered_off.get(), None);
    system.ok(Syscall::Shutdown, &[system.power.0, 3]);
    assert_eq!(system.fake().powered_off.get(), Some(3));
}

#[test]
fn a_child_cannot_use_what_it_was_not_given() {
    let mut system = System::boot();
    let (child, _) = system.spawn("hostile", 1);
    assert_eq!(system.call(Syscall::Sleep, &[1000]), None);
    assert_eq!(system.current(), child);
    // Its CSpace is empty: every handle is refused, whatever its bits.
    for handle in [1u32, 2, 3, 0x0001_0001, 0xFFFF_FFFF] {
        for (syscall, more) in [
            (Syscall::CapInfo, [0, 0]),
            (Syscall::Shutdown, [0, 0]),
            (Syscall::Signal, [1, 0]),
            (Syscall::Retype, [ObjectType::Frame as u32, 4096]),
        ] {
            let refused = system.now(syscall, &[handle, more[0], more[1]]).result;
            assert!(matches!(refused, Err(Error::InvalidHandle | Error::StaleHandle)), "{syscall:?}: {refused:?}");
        }
    }
    // It cannot print from memory it does not have (the root's data page).
    assert_eq!(system.now(Syscall::DebugWrite, &[ROOT_DATA, 4]).result, Err(Error::BadAddress));
    assert_eq!(system.now(Syscall::Wait, &[ANY_PROCESS, NO_WAIT]).result, Err(Error::NotFound));
    assert_eq!(system.fake().powered_off.get(), None);
}

#[test]
fn moving_away_the_last_receive_right_fails_the_waiting_senders() {
    let mut system = System::boot();
    let (child, process) = system.spawn("sender", 1);
    let (endpoint, theirs) = share_endpoint(&mut system, process, Rights::SEND);
    // The child sends with no receiver waiting and queues.
    assert_eq!(system.call(Syscall::Sleep, &[1000]), None);
    assert_eq!(system.current(), child);
    assert_eq!(system.syscall_raw(Syscall::Send as u32, [theirs.0, ipc::info(1, 0), 0, 0, 0, 0, FOREVER]), None);
    system.advance(1000);
    assert_eq!(system.current(), system.root);
    assert!(matches!(system.status(child), Some(Status::Sending { .. })));
    // The root moves its (only) receiving capability away without RECEIVE:
    // nobody can ever receive, so the queued sender fails now.
    let narrowed = (Rights::SEND | Rights::GRANT).bits();
    system.ok(Syscall::CapMove, &[endpoint.0, process.0, narrowed]);
    assert_eq!(system.status(child), Some(Status::Ready));
    assert_eq!(system.answer_of(child).unwrap().result, Err(Error::PeerGone));
}

/// The root task makes a server (priority 1) and a client (priority 2)
/// sharing an endpoint; the server waits for a message. Returns (server,
/// server's process handle, client, client's process handle, client's
/// endpoint handle).
fn server_and_client(system: &mut System) -> (u32, Handle, u32, Handle, Handle) {
    let (server, server_process) = system.spawn("server", 1);
    let (client, client_process) = system.spawn("client", 2);
    let (endpoint, server_endpoint) = share_endpoint(system, server_process, Rights::RECEIVE);
    let client_endpoint = Handle(system.ok(Syscall::CapGrant, &[endpoint.0, client_process.0, Rights::SEND.bits()])[0]);
    // The root sleeps; the client (higher) sleeps too; the server receives.
    assert_eq!(system.call(Syscall::Sleep, &[1_000_000]), None);
    assert_eq!(system.current(), client);
    assert_eq!(system.call(Syscall::Sleep, &[1000]), None);
    assert_eq!(system.current(), server);
    assert_eq!(system.call(Syscall::Receive, &[server_endpoint.0, FOREVER]), None);
    (server, server_process, client, client_process, client_endpoint)
}

#[test]
fn a_caller_that_ends_while_awaiting_its_reply_fails_the_reply_with_peer_gone() {
    let mut system = System::boot();
    let (server, _, client, client_process, endpoint) = server_and_client(&mut system);
    // The client wakes and calls; the server (raised to 2) gets the call.
    system.advance(1000);
    assert_eq!(system.current(), client);
    assert_eq!(system.syscall_raw(Syscall::Call as u32, [endpoint.0, ipc::info(1, 0), 0, 0, 0, 0, FOREVER]), None);
    assert_eq!(system.current(), server);
    assert_eq!(system.status(client), Some(Status::AwaitingReply { server }));
    // The root wakes and kills the client; a new process may take its slot.
    system.advance(1_000_000);
    assert_eq!(system.current(), system.root);
    system.ok(Syscall::CapDelete, &[client_process.0]);
    assert_eq!(system.status(client), None);
    let (_, _) = system.spawn("newcomer", 1);
    assert_eq!(system.call(Syscall::Sleep, &[1_000_000]), None);
    // The server's answer reaches nobody: PeerGone, and its priority is its own.
    while system.current() != server {
        assert_eq!(system.call(Syscall::Sleep, &[1_000_000]), None);
    }
    assert_eq!(system.now(Syscall::Reply, &[0, ipc::info(2, 0)]).result, Err(Error::PeerGone));
    assert_eq!(system.info(server).priority, 1);
    assert_eq!(system.now(Syscall::Reply, &[0, ipc::info(2, 0)]).result, Err(Error::InvalidArgument));
}

#[test]
fn a_server_that_ends_fails_its_waiting_caller() {
    let mut system = System::boot();
    let (server, server_process, client, _, endpoint) = server_and_client(&mut system);
    system.advance(1000);
    assert_eq!(system.syscall_raw(Syscall::Call as u32, [endpoint.0, ipc::info(1, 0), 0, 0, 0, 0, FOREVER]), None);
    assert_eq!(system.current(), server);
    // The server faults before it answers.
    system.kernel.user_fault(UserFault::Undefined);
    system.check();
    assert_eq!(system.answer_of(client).unwrap().result, Err(Error::PeerGone));
    let _ = server_process;
}

#[test]
fn a_second_call_before_the_reply_fails_the_first_caller() {
    let mut system = System::boot();
    let (server, server_process, client, _, endpoint) = server_and_client(&mut system);
    // The root can call the server too.
    let root_endpoint = system
        .kernel
        .capabilities(system.root)
        .find(|(_, c)| c.kind == ObjectType::Endpoint)
        .map(|(handle, _)| handle)
        .unwrap();
    system.advance(1000);
    assert_eq!(system.syscall_raw(Syscall::Call as u32, [endpoint.0, ipc::info(1, 0), 0, 0, 0, 0, FOREVER]), None);
    assert_eq!(system.current(), server);
    // The server receives again without replying; the root's call arrives.
    let server_endpoint = system.kernel.capabilities(server).find(|(_, c)| c.kind == ObjectType::Endpoint).unwrap().0;
    assert_eq!(system.call(Syscall::Receive, &[server_endpoint.0, FOREVER]), None);
    system.advance(1_000_000);
    assert_eq!(system.current(), system.root);
    assert_eq!(system.syscall_raw(Syscall::Call as u32, [root_endpoint.0, ipc::info(3, 0), 0, 0, 0, 0, FOREVER]), None);
    // The first caller is failed; the server now owes the root.
    assert_eq!(system.answer_of(client).unwrap().result, Err(Error::PeerGone));
    assert_eq!(system.info(server).reply_to, Some(system.root));
    let _ = server_process;
}

#[test]
fn a_bound_notification_ends_a_receive() {
    let mut system = System::boot();
    let (server, server_process) = system.spawn("server", 1);
    let (_, endpoint) = share_endpoint(&mut system, server_process, Rights::RECEIVE);
    let (notification, theirs) = share_notification(&mut system, server_process, Rights::WAIT);
    // The root sleeps; the server binds the notification and receives.
    assert_eq!(system.call(Syscall::Sleep, &[10_000]), None);
    assert_eq!(system.current(), server);
    system.ok(Syscall::NotificationBind, &[theirs.0]);
    assert_eq!(system.call(Syscall::Receive, &[endpoint.0, FOREVER]), None);
    // A signal while it is queued on the endpoint ends the receive with
    // the bits, under the badge no sender can have.
    system.advance(10_000);
    assert_eq!(system.current(), system.root);
    system.ok(Syscall::Signal, &[notification.0, 0b110]);
    assert_eq!(system.status(server), Some(Status::Ready));
    let context = system.kernel.context(server).unwrap();
    assert_eq!((context.r[0], context.r[1], context.r[2], context.r[7]), (0, 0, 0b110, NOTIFIED_BADGE));
    // Bits set before a receive end it at once, and are taken.
    system.ok(Syscall::Signal, &[notification.0, 0b1]);
    assert_eq!(system.call(Syscall::Sleep, &[10_000]), None);
    assert_eq!(system.current(), server);
    system.ok(Syscall::Receive, &[endpoint.0, FOREVER]);
    let context = system.kernel.context(server).unwrap();
    assert_eq!((context.r[2], context.r[7]), (0b1, NOTIFIED_BADGE));
    assert_eq!(system.now(Syscall::Receive, &[endpoint.0, NO_WAIT]).result, Err(Error::TimedOut));
    system.check();
    assert_eq!(system.call(Syscall::Sleep, &[FOREVER]), None);
    // One process per notification; no badge can pass for a notification.
    system.advance(10_000);
    assert_eq!(system.current(), system.root);
    assert_eq!(system.now(Syscall::NotificationBind, &[notification.0]).result, Err(Error::SlotOccupied));
    let (mine, _) = share_endpoint(&mut system, server_process, Rights::SEND);
    let forged = system.now(Syscall::CapDerive, &[mine.0, Rights::SEND.bits(), NOTIFIED_BADGE]);
    assert_eq!(forged.result, Err(Error::InvalidArgument));
    // The server's end ends the binding: the root may bind it now.
    system.ok(Syscall::CapDelete, &[server_process.0]);
    assert_eq!(system.status(server), None);
    system.ok(Syscall::NotificationBind, &[notification.0]);
    system.check();
}
