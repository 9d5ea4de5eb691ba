//! Receives on the endpoint `init` gave it with the notification it was
//! given bound to its receives (`NotificationBind`), and checks that the
//! notification's bits answer a receive whenever they are set (the `ipc`
//! scenario; on the A7 each case must leave an assembly fast path for the
//! general one): bits `init` signals while this waits, bits it sets itself
//! before a `Receive`, and bits it sets itself while it serves a call,
//! before its `ReplyReceive`. Before that it signals the notification a
//! waiter of a higher priority waits on, which must run at once. Exits with
//! 0 if each came as it should, else the number of the step that did not
//! (see `binder` in lib.rs).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::NOTIFIED_BADGE;
use tessera_programs::binder::*;
use tessera_rt::{
    for_each_initial_capability, notification_bind, println, receive, reply_receive, signal, Error, Handle, Message,
    ObjectType, Received, Rights, Timeout,
};

tessera_rt::entry!(main);

/// True if `received` is the bound notification's `bits`.
fn notified(received: &Result<Received, Error>, bits: u32) -> bool {
    matches!(received, Ok(r) if r.badge == NOTIFIED_BADGE && r.message.words[0] == bits)
}

fn show(step: u32, received: &Result<Received, Error>) -> u32 {
    match received {
        Ok(r) => println!(
            "binder: step {}: badge {:#x}, label {}, word {:#x}",
            step, r.badge, r.message.label, r.message.words[0]
        ),
        Err(error) => println!("binder: step {}: {}", step, error.name()),
    }
    step
}

fn main(_start: tessera_rt::Start) -> u32 {
    // Its endpoint (RECEIVE), its own notification (WAIT and SIGNAL) and
    // the waiter's (SIGNAL only).
    let (mut endpoint, mut own, mut waiters) = (Handle::NULL, Handle::NULL, Handle::NULL);
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::Endpoint => endpoint = handle,
        ObjectType::Notification if info.rights.contains(Rights::WAIT) => own = handle,
        ObjectType::Notification => waiters = handle,
        _ => {}
    });
    if [endpoint, own, waiters].contains(&Handle::NULL) {
        println!("binder: missing a capability");
        return 100;
    }
    if notification_bind(own).is_err() {
        println!("binder: NotificationBind failed");
        return 101;
    }
    // 1. The waiter of a higher priority runs as soon as its bit is set:
    // this process's next entry into the kernel (the print) finds nothing
    // ready above it (the test kernel checks that at every entry).
    if signal(waiters, WAITER_BIT).is_err() {
        return 1;
    }
    println!("binder: signalled the waiter");
    // 2. `init` signals while this waits (a thread below keeps the CPU
    // busy, so that the wait may take the fast path).
    let received = receive(endpoint, Timeout::Forever);
    if !notified(&received, FROM_INIT) {
        return show(2, &received);
    }
    // 3. Bits set before a receive answer it at once.
    if signal(own, BEFORE_RECEIVE).is_err() {
        return 3;
    }
    let received = receive(endpoint, Timeout::Forever);
    if !notified(&received, BEFORE_RECEIVE) {
        return show(3, &received);
    }
    // 4. `init`'s call; bits set while serving it answer the receive of
    // the `ReplyReceive` that answers it, at once.
    let received = receive(endpoint, Timeout::Forever);
    if !matches!(received, Ok(ref r) if r.badge != NOTIFIED_BADGE && r.message.label == CALL) {
        return show(4, &received);
    }
    if signal(own, WHILE_SERVING).is_err() {
        return 4;
    }
    let received = reply_receive(endpoint, &Message::new(CALL, [ANSWER, 0, 0, 0]));
    if !notified(&received, WHILE_SERVING) {
        return show(5, &received);
    }
    println!("binder: its notification's bits answered each receive");
    0
}
