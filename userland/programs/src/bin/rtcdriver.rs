//! A user-space driver for QEMU virt's PL031 real-time clock: maps its
//! registers through a device capability, binds its interrupt to a
//! notification, arms the match interrupt one second ahead and waits for
//! it, then clears and acknowledges it.
//!
//! With argument 1 it waits as a server does instead (as `netd` waits for
//! its device): the notification bound to its receives
//! (`NotificationBind`), in a `Receive` on the endpoint it was given, for
//! a match three seconds ahead, which the receive gets as the
//! notification's bits.
//!
//! With argument 2 it waits on another notification it was given while
//! the match comes (nothing else runs: on the A7 the kernel's idle wait in
//! assembly takes the interrupt, whose bits must stay in the bound
//! notification while the wait goes on to its timeout), then takes them.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_programs::rtc::*;
use tessera_rt::{
    for_each_initial_capability, interrupt_ack, interrupt_bind, notification_bind, poll, println, receive,
    uptime_micros, wait_notification, Error, Handle, Mapping, ObjectType, Rights, Timeout,
};

/// Argument 2's wait on the other notification, in milliseconds: past the
/// match, which comes within a second (the RTC counts whole seconds).
const OTHER_WAIT_MILLIS: u32 = 2_500;

tessera_rt::entry!(main);

fn main(start: tessera_rt::Start) -> u32 {
    let (mut registers, mut interrupt, mut notification, mut endpoint) = (None, None, None, None);
    let mut other = None;
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::DeviceRegion => registers = Some(handle),
        ObjectType::Interrupt => interrupt = Some(handle),
        ObjectType::Notification if notification.is_none() => notification = Some(handle),
        ObjectType::Notification => other = Some(handle),
        ObjectType::Endpoint => endpoint = Some(handle),
        _ => {}
    });
    let (Some(registers), Some(interrupt), Some(notification)) = (registers, interrupt, notification) else {
        println!("rtcdriver: missing a capability");
        return 1;
    };
    let Ok(rtc) = Mapping::new(registers, MAPPED_AT, Rights::READ | Rights::WRITE) else {
        println!("rtcdriver: cannot map the RTC");
        return 1;
    };
    if let Err(error) = interrupt_bind(interrupt, notification, 0) {
        println!("rtcdriver: cannot bind the interrupt: {}", error.name());
        return 1;
    }
    let delivered = match (start.argument, endpoint, other) {
        (1, Some(endpoint), _) => receive_interrupt(&rtc, notification, endpoint),
        (2, _, Some(other)) => bits_kept(&rtc, notification, other),
        (1 | 2, _, _) => {
            println!("rtcdriver: argument {} needs another capability", start.argument);
            return 1;
        }
        _ => notified(&rtc, notification),
    };
    if delivered && interrupt_ack(interrupt).is_ok() {
        println!("rtcdriver: interrupt cleared and acknowledged");
        0
    } else {
        1
    }
}

/// The match one second ahead, taken by a wait on the bound
/// `notification`; then cleared.
fn notified(rtc: &Mapping, notification: Handle) -> bool {
    let now = arm(rtc, 1);
    let start = uptime_micros();
    println!("rtcdriver: RTC reads {} s; match interrupt armed for {} s", now, now + 1);
    let delivered = match wait_notification(notification, 1, Timeout::Millis(3000)) {
        Ok(bits) if bits & 1 != 0 => {
            let waited = (uptime_micros() - start) / 1000;
            println!("rtcdriver: RTC interrupt delivered through its notification after {} ms", waited);
            true
        }
        other => {
            println!("rtcdriver: no interrupt: {:?}", other);
            false
        }
    };
    disarm(rtc);
    delivered
}

/// Argument 1: the match three seconds ahead, answered as the bits of the
/// notification bound to a `Receive` on `endpoint`; then cleared.
fn receive_interrupt(rtc: &Mapping, notification: Handle, endpoint: Handle) -> bool {
    if let Err(error) = notification_bind(notification) {
        println!("rtcdriver: cannot bind the notification: {}", error.name());
        return false;
    }
    let now = arm(rtc, 3);
    let start = uptime_micros();
    println!("rtcdriver: match interrupt armed for {} s; waiting in a receive, the notification bound", now + 3);
    let delivered = match receive(endpoint, Timeout::Millis(8000)) {
        Ok(received) if received.badge == tessera_abi::NOTIFIED_BADGE && received.message.words[0] & 1 != 0 => {
            let waited = (uptime_micros() - start) / 1000;
            println!("rtcdriver: RTC interrupt answered the receive after {} ms", waited);
            true
        }
        other => {
            println!("rtcdriver: the receive did not get the interrupt: {:?}", other);
            false
        }
    };
    disarm(rtc);
    delivered
}

/// Argument 2: the match one second ahead while the driver waits on
/// `other` until its timeout; then the bound `notification` must hold the
/// interrupt's bit. Cleared after.
fn bits_kept(rtc: &Mapping, notification: Handle, other: Handle) -> bool {
    let now = arm(rtc, 1);
    let start = uptime_micros();
    println!("rtcdriver: match interrupt armed for {} s; waiting on another notification", now + 1);
    let waited = wait_notification(other, 1, Timeout::Millis(OTHER_WAIT_MILLIS));
    let millis = (uptime_micros() - start) / 1000;
    let kept = poll(notification, 1);
    disarm(rtc);
    match (waited, kept) {
        (Err(Error::TimedOut), Ok(1)) if millis >= u64::from(OTHER_WAIT_MILLIS) => {
            println!(
                "rtcdriver: the other wait timed out after {} ms; the interrupt's bit waited in its notification",
                millis
            );
            true
        }
        (waited, kept) => {
            println!(
                "rtcdriver: the other wait ended {:?} after {} ms, the bound notification held {:?}",
                waited, millis, kept
            );
            false
        }
    }
}

/// Arms the RTC's match interrupt `seconds` ahead of its count, which it
/// returns.
fn arm(rtc: &Mapping, seconds: u32) -> u32 {
    let now = rtc.read_u32(DATA);
    rtc.write_u32(CLEAR, 1);
    rtc.write_u32(MATCH, now + seconds);
    rtc.write_u32(MASK, 1);
    now
}

/// Masks the match interrupt and clears it.
fn disarm(rtc: &Mapping) {
    rtc.write_u32(MASK, 0);
    rtc.write_u32(CLEAR, 1);
}
