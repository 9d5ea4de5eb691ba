//! Hostile: a sample app that tries every access its manifest does not
//! grant and logs each denial. Its manifest grants GPIO pin 6 and the
//! network with `AllowedConnections: ["example.test"]`: a host name, so
//! it may connect only to what the network server finds for that name,
//! and it tries addresses it learned elsewhere, unlisted names and
//! addresses the name did not resolve to (and it records a
//! `MutableStorage` placeholder); it has no UART. It exits 0 if every attempt was denied,
//! and 1 if anything it was not granted worked (the line says `ALLOWED`).
//! The test fixture `test-hostile-bare` runs this code with a manifest
//! granting nothing.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::fmt;

use tessera_abi::app::{net as net_abi, pluton as pluton_abi, ServerKind};
use tessera_rt::{
    call, cap_derive, cap_info, cap_object, cap_revoke, for_each_initial_capability, map, retype, send, shutdown,
    signal, Handle, Message, ObjectType, Rights, Timeout,
};
use tessera_sdk::gpio::Level;
use tessera_sdk::net::{TcpListener, TcpStream, UdpSocket};
use tessera_sdk::time::{sleep, Duration};
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

/// The pin the manifest grants (`$QEMU_VIRT_GPIO6`).
const GRANTED_PIN: u32 = 6;
/// Where it tries to map devices (the PL061 GPIO block on QEMU virt).
const MAP_AT: u32 = 0x3000_0000;

/// Counts attempts and the ones that were (wrongly) allowed.
#[derive(Default)]
struct Tally {
    attempts: u32,
    allowed: u32,
}

impl Tally {
    /// Logs one attempt: denied (with the reason) or ALLOWED.
    fn check<T, E: fmt::Display>(&mut self, what: fmt::Arguments<'_>, result: Result<T, E>) {
        self.attempts += 1;
        match result {
            Err(reason) => log!("hostile: {}: denied ({})", what, reason),
            Ok(_) => {
                self.allowed += 1;
                log!("hostile: {}: ALLOWED", what);
            }
        }
    }
}

/// A reason given as text.
struct Because(&'static str);

impl fmt::Display for Because {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl From<tessera_rt::Error> for Because {
    fn from(error: tessera_rt::Error) -> Because {
        Because(error.name())
    }
}

/// See its call in `main`.
fn pluton_mid_request(app: &App, tally: &mut Tally) {
    let endpoint = app
        .grant(ServerKind::PLUTON)
        .filter(|&handle| cap_info(handle).is_ok_and(|cap| cap.kind == ObjectType::Endpoint));
    let Some(endpoint) = endpoint else { return };
    let request = Message::new(pluton_abi::RANDOM, [4096, 0, 0, 0]);
    // A `Send` that does not wait is taken only by a server waiting for
    // requests: refused, the one before is still being answered. Whether
    // the server ever waits mid-request depends on how soon QEMU's
    // entropy device answers, so it tries through many reseeds (about
    // 60: 4 MiB), and finding none is no success for the attack.
    let busy = (0..1024).any(|_| send(endpoint, &request, Timeout::NoWait) == Err(tessera_rt::Error::TimedOut));
    // Its buffer's capability is one of its frame capabilities: revoking
    // each takes whatever was derived from it.
    for_each_initial_capability(|handle, info| {
        if info.kind == ObjectType::Frame {
            let _ = cap_revoke(handle);
        }
    });
    let answer = if !busy {
        log!("hostile: the Pluton server never waited mid-request: nothing to take the buffer from under");
        Err(Because("the Pluton server never waited mid-request"))
    } else {
        // Its answer written (or refused), the server takes requests again.
        sleep(Duration::from_millis(300));
        match call(endpoint, &Message::new(pluton_abi::RANDOM, [16, 0, 0, 0]), Timeout::Millis(2000)) {
            Ok(_) => Err(Because("the Pluton server still answers")),
            Err(_) => Ok("the Pluton server is gone"),
        }
    };
    tally.check(format_args!("take its Pluton buffer away while the server answers a request"), answer);
}

fn main(app: App) -> Result<(), Error> {
    let mut tally = Tally::default();

    // What it holds: one endpoint per server its manifest grants, and the
    // capabilities to its own pages (init moves them here once they are
    // mapped; each is mapped already, so it maps nothing more: the guesses
    // below try).
    let (mut held, mut own_pages, mut notifications) = (0, 0, 0);
    for_each_initial_capability(|handle, info| {
        if info.kind == ObjectType::Frame {
            own_pages += 1;
            return;
        }
        if info.kind == ObjectType::Notification {
            notifications += 1;
        }
        held += 1;
        log!(
            "hostile: holds slot {}: {:?}, rights {:?}, badge {:#x}",
            handle.index(),
            info.kind,
            info.rights,
            info.badge
        );
    });
    log!("hostile: holds {} capabilities to its own pages", own_pages);
    match app.gpio() {
        Ok(gpio) => {
            let mut pin = gpio.output(GRANTED_PIN, Level::High)?;
            pin.set(Level::Low)?;
            log!("hostile: GPIO pin {} (granted) works", GRANTED_PIN);
            // Pins it was not granted.
            for other in (0..8).filter(|&p| p != GRANTED_PIN) {
                tally.check(format_args!("GPIO pin {}", other), gpio.output(other, Level::High));
            }
            tally.check(format_args!("read GPIO pin 5 (blinky's)"), gpio.read(5));
        }
        // No `Gpio` in the manifest: nothing to ask the GPIO server with.
        Err(error) => tally.check(format_args!("use GPIO"), Err::<(), _>(error)),
    }

    // A UART it was not granted.
    tally.check(format_args!("open UART 0"), app.uart(0));

    // A server in the middle of its request: `Send` (not `Call`)
    // `RANDOM` requests until one finds the Pluton security server still
    // busy with the one before (it waits for its entropy device when its
    // generator reseeds, every 64 KiB), then take its request buffer away
    // under it: revoke every frame capability it holds. Had the app the
    // parent of the server's copy (as until December 2026), the server
    // would fault on the buffer when it wrote the answer, and Pluton would
    // be gone for every app.
    pluton_mid_request(&app, &mut tally);

    // The network: addresses its manifest does not list (it lists only a
    // name; 10.0.2.2 is what that name resolves to where a test serves it,
    // but the app learned it another way), names it does not list (no
    // query may go out for them), addresses the listed name did not
    // resolve to, sockets it never opened (numbers are its own: another
    // app's socket 0 is not its socket 0), and init's requests.
    let mut udp = None;
    match app.net() {
        Ok(net) => {
            // Server ports it was not granted (it has none).
            tally.check(format_args!("listen on TCP port 8080 (not granted)"), TcpListener::bind(&net, 8080));
            tally.check(format_args!("bind UDP port 7 (not granted)"), UdpSocket::bind(&net, 7));
            // Granted, but the network server's DHCP client's port: a
            // socket there would take the lease's answers.
            tally.check(format_args!("bind UDP port 68 (granted, but DHCP's)"), UdpSocket::bind(&net, 68));
            // A client socket is fine; sending to an unlisted host is not.
            match UdpSocket::bind(&net, 0) {
                Ok(mut socket) => {
                    tally.check(
                        format_args!("send a datagram to 10.0.2.3:53 (not listed)"),
                        socket.send_to(b"hostile", [10, 0, 2, 3], 53),
                    );
                    udp = Some(socket);
                }
                Err(error) => log!("hostile: a UDP client socket: {}", error),
            }
            for ([a, b, c, d], port) in [([10, 0, 2, 2], 8080), ([10, 0, 2, 3], 53)] {
                tally.check(
                    format_args!("connect to {}.{}.{}.{}:{} (not listed, not looked up)", a, b, c, d, port),
                    TcpStream::connect(&net, [a, b, c, d], port),
                );
            }
            for name in ["unlisted.test", "example.test.unlisted.test", "test"] {
                tally.check(format_args!("look up {} (not listed)", name), net.lookup(name));
            }
            // The listed name itself is allowed: what it finds is the only
            // address the name makes reachable.
            match net.lookup("example.test") {
                Ok(found) => {
                    log!("hostile: looked up example.test (listed): {}", found);
                    let [a, b, c, d] = found.octets();
                    let other = [a, b, c, d.wrapping_add(1)];
                    tally.check(
                        format_args!(
                            "connect to {}.{}.{}.{}:8080 as example.test (not what it resolved to)",
                            other[0], other[1], other[2], other[3]
                        ),
                        TcpStream::connect(&net, other, 8080),
                    );
                }
                Err(error) => log!("hostile: looked up example.test (listed): {}", error),
            }
            // Take the network server's copy of its window away: revoke
            // whatever was derived from its page capabilities, the
            // window's included. `netd` keeps the window mapped between
            // requests; were its copy a child of the app's, this would
            // unmap it under the server, and the next request that reads
            // the window (a lookup of an unlisted name: read, then
            // denied) would fault `netd` and take the network down for
            // every app.
            // Its readiness notification is for waiting only.
            for_each_initial_capability(|handle, info| {
                if info.kind == ObjectType::Notification {
                    tally.check(
                        format_args!("signal its readiness notification (slot {})", handle.index()),
                        signal(handle, 1).map_err(Because::from),
                    );
                }
            });
            let mut revoked = 0;
            for_each_initial_capability(|handle, info| {
                if info.kind == ObjectType::Frame && cap_revoke(handle).is_ok() {
                    revoked += 1;
                }
            });
            let answer = match net.lookup("unlisted.test") {
                Err(Error::Denied) => Err(Because("the network server still reads its window and answers")),
                Err(error) => {
                    log!("hostile: after revoking, the network server answers: {}", error);
                    Ok(())
                }
                Ok(_) => Ok(()),
            };
            tally.check(
                format_args!("take the network server's copy of its window (revoked {} capabilities)", revoked),
                answer,
            );
        }
        Err(error) => tally.check(format_args!("use the network"), Err::<(), _>(error)),
    }
    if let Some(endpoint) = app.grant(ServerKind::NET) {
        let asks: [(&str, u32, [u32; 4]); 14] = [
            ("send on socket 0, its UDP socket, as on a stream", net_abi::SEND, [0, 1, 0, 0]),
            ("claim a delivered datagram on a request no server knows", 0x7F | net_abi::DELIVERY_TAKEN, [0; 4]),
            (
                "claim a delivered datagram while receiving on socket 1, which it never opened",
                net_abi::RECEIVE_FROM | net_abi::DELIVERY_TAKEN,
                [1, 16, 0, 0],
            ),
            ("accept on socket 0, its UDP socket", net_abi::TCP_ACCEPT, [0, 0, 0, 0]),
            ("receive a datagram on socket 1, which it never opened", net_abi::RECEIVE_FROM, [1, 16, 0, 0]),
            ("send a datagram of 1473 bytes", net_abi::SEND_TO, [0, 0x0a00_0202, 7, 1473]),
            ("receive on socket 3, which it never opened", net_abi::RECEIVE, [3, 16, 0, 0]),
            ("close socket 4 (beyond any app's sockets)", net_abi::CLOSE, [4, 0, 0, 0]),
            ("connect to 0.0.0.0:80", net_abi::TCP_CONNECT, [0, 80, 0, 0]),
            ("register itself as another app (init's request)", net_abi::REGISTER_APP, [1, 0, 0, 0]),
            ("unregister another app (init's request)", net_abi::UNREGISTER_APP, [1, 0, 0, 0]),
            (
                "point the network server at its own DNS server (init's request)",
                net_abi::SET_RESOLVER,
                [0x0a00_0202, 53, 0, 0],
            ),
            ("look up a name of 0 bytes", net_abi::LOOKUP, [0, 0, 0, 0]),
            ("look up a name of 254 bytes", net_abi::LOOKUP, [254, 0, 0, 0]),
        ];
        for (what, label, words) in asks {
            let answer = call(endpoint, &Message::new(label, words), Timeout::Millis(1000)).map_err(Because::from);
            let answer = answer.and_then(|reply| match reply.message.label {
                0 => Ok(()),
                code => Err(Because(tessera_rt::Error::from_code(code).map_or("refused", tessera_rt::Error::name))),
            });
            tally.check(format_args!("network: {}", what), answer);
        }
    }
    drop(udp);

    // The Pluton security server: what only `init`'s loader may ask, what
    // only `DeviceAuthentication` allows, requests out of bounds, and data
    // it did not seal. (No request returns the device secret or a key.)
    let pluton = app.pluton()?;
    if let Some(endpoint) = app.grant(ServerKind::PLUTON) {
        let asks: [(&str, u32, [u32; 4]); 5] = [
            ("record itself as another app (init's request)", pluton_abi::RECORD_APP, [0, 1, 0, 0]),
            ("verify a package (init's request)", pluton_abi::VERIFY_PACKAGE, [0; 4]),
            ("hand over an entropy source (init's request)", pluton_abi::ENTROPY_SOURCE, [0; 4]),
            ("ask for more random bytes than its buffer holds", pluton_abi::RANDOM, [4097, 0, 0, 0]),
            ("unseal fewer bytes than sealing adds", pluton_abi::UNSEAL, [3, 0, 0, 0]),
        ];
        for (what, label, words) in asks {
            let answer = call(endpoint, &Message::new(label, words), Timeout::Millis(1000)).map_err(Because::from);
            let answer = answer.and_then(|reply| match reply.message.label {
                0 => Ok(()),
                code => Err(Because(tessera_rt::Error::from_code(code).map_or("refused", tessera_rt::Error::name))),
            });
            tally.check(format_args!("Pluton: {}", what), answer);
        }
    }
    // Costly requests in a loop: the Pluton security server runs above
    // every server and `init`, so it gives each app a share of them (a
    // burst of 3, then one a second) and refuses the rest as busy; no app
    // can hold the CPU through it.
    if let Some(endpoint) = app.grant(ServerKind::PLUTON) {
        let (mut answered, mut busy) = (0u32, 0u32);
        let started = tessera_rt::uptime_micros();
        for _ in 0..8 {
            let ask = Message::new(pluton_abi::ATTEST, [8, 0, 0, 0]);
            match call(endpoint, &ask, Timeout::Millis(5000)).map(|reply| reply.message.label) {
                Ok(0) => answered += 1,
                Ok(code) if code == tessera_rt::Error::Busy as u32 => busy += 1,
                _ => {}
            }
        }
        let seconds = tessera_rt::uptime_micros().saturating_sub(started) / 1_000_000;
        log!("hostile: asked for evidence 8 times in a row: {} answered, {} refused as busy", answered, busy);
        // Its share: 3 at once and one a second (on a slow machine the
        // eight calls may take seconds, and earn more). A request not
        // refused as busy took a share, answered or not (with many apps
        // recorded, evidence outgrows an app's one-page buffer and the
        // answer is `OutOfMemory`, after the work).
        let share = 3 + seconds + 1;
        let result = if busy > 0 && u64::from(8 - busy) <= share {
            Err(Because("refused as busy once its share was spent"))
        } else {
            Ok(())
        };
        tally.check(format_args!("Pluton: ask for evidence 8 times in a row"), result);
    }
    tally.check(format_args!("Pluton: sign without DeviceAuthentication"), pluton.sign_challenge(b"challenge"));
    let mut plain = [0u8; 64];
    tally.check(format_args!("Pluton: unseal bytes it did not seal"), pluton.unseal(&[1u8; 64], &mut plain));

    // Capabilities it might guess: every slot of its CSpace, at generation
    // 0 and 1, as a device mapping, as untyped memory and as the power
    // switch.
    let mut mapped = None;
    let mut retyped = None;
    let mut powered = None;
    // Every slot of its CSpace (128).
    for slot in 1..128 {
        for generation in 0..2 {
            let handle = Handle::new(slot, generation);
            if map(handle, MAP_AT, Rights::READ | Rights::WRITE).is_ok() {
                mapped = Some(handle);
            }
            if retype(handle, ObjectType::Frame, 4096).is_ok() {
                retyped = Some(handle);
            }
            if shutdown(handle, 0).is_ok() {
                powered = Some(handle);
            }
        }
    }
    tally
        .check(format_args!("map a device through a guessed handle"), mapped.ok_or(Because("no handle maps anything")));
    tally.check(
        format_args!("retype memory through a guessed handle"),
        retyped.ok_or(Because("it holds no untyped memory")),
    );
    tally.check(format_args!("power the machine off"), powered.ok_or(Because("it holds no PowerControl")));

    // Where the objects behind its capabilities are (physical addresses):
    // `CapObject` needs INSPECT, which no app is given.
    for_each_initial_capability(|handle, _| {
        tally.check(
            format_args!("CapObject on its capability in slot {}", handle.index()),
            cap_object(handle).map_err(Because::from),
        );
    });

    // Its own pages: init hands them over with only the rights of their
    // mappings, so it can neither copy nor pass them on, nor map code
    // writable or data executable.
    for_each_initial_capability(|handle, info| {
        if info.kind != ObjectType::Frame {
            return;
        }
        tally.check(
            format_args!("copy its page capability in slot {}", handle.index()),
            cap_derive(handle, info.rights, 0).map_err(Because::from),
        );
        let extra = info.rights & (Rights::GRANT | Rights::DERIVE | Rights::INSPECT);
        let both = info.rights.contains(Rights::WRITE | Rights::EXECUTE);
        let widened = if extra.is_empty() && !both { Err(Because("only its mapping's rights")) } else { Ok(()) };
        tally.check(format_args!("widen its page in slot {} ({:?})", handle.index(), info.rights), widened);
    });

    // Widen its own grant: re-badge the GPIO capability to all pins, or
    // copy it with more rights.
    if let Some(gpio_handle) = app.grant(ServerKind::GPIO) {
        tally.check(
            format_args!("re-badge its GPIO capability to every pin"),
            cap_derive(gpio_handle, Rights::SEND, 0xFF).map_err(Because::from),
        );
        let copy = cap_derive(gpio_handle, Rights::SEND | Rights::RECEIVE, 0);
        let receive = copy.map_err(Because::from).and_then(|handle| {
            let info = cap_info(handle)?;
            if info.rights.contains(Rights::RECEIVE) {
                Ok(())
            } else {
                Err(Because("the copy has no RECEIVE right"))
            }
        });
        tally.check(format_args!("receive on the GPIO server's endpoint"), receive);
    }

    log!(
        "hostile: {} attempts, {} allowed; capabilities held at start: {} (besides its {} pages)",
        tally.attempts,
        tally.allowed,
        held,
        own_pages
    );
    // It holds one capability per server its manifest grants (two for
    // the network: the endpoint and its readiness notification, which it
    // may only wait on) and its own pages, nothing else.
    let net = u32::from(app.net().is_ok());
    let granted =
        u32::from(app.gpio().is_ok()) + u32::from(app.uart(0).is_ok()) + u32::from(app.pluton().is_ok()) + 2 * net;
    if tally.allowed == 0 && held == granted && notifications == net {
        Ok(())
    } else {
        Err(Error::InvalidArgument)
    }
}
