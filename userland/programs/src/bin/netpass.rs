//! The `net-handoff` scenario's two sides (argument [`GIVER`] or
//! [`TAKER`]): a socket handed from the process that opened it to one that
//! holds nothing of the network, as a capability (docs/network.md).
//!
//! - The **giver** is a network client like an app (`init` registers it
//!   with the network server, policy: 10.0.2.2 only): it connects to the
//!   host's echo server (10.0.2.2:7007), has a line echoed, makes a
//!   capability for the socket (`DELEGATE`) and sends it to the taker over
//!   an endpoint `init` gave both. When the taker has used it, the giver
//!   closes the socket, which revokes the capability, and tells the taker.
//! - The **taker** has no network grant, only that endpoint and a frame of
//!   its own: it sends a line through the socket capability and reads the
//!   echo (the frame carries the bytes), is refused a new connection with
//!   it (`PermissionDenied`: the capability is one socket, not the owner's
//!   policy) and a send without a frame, and after the giver's close finds
//!   the capability gone.
//!
//! Each exits 0 if everything went as it should.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_abi::app::net::{
    address_word, state, CLOSE, DELEGATE, RECEIVE, RECEIVED, RECEIVE_FROM, SEND, SEND_TO, STATUS, TCP_CONNECT, UDP_BIND,
};
use tessera_rt::{
    call, cap_info, for_each_initial_capability, println, receive, reply, sleep_micros, Error, Handle, Mapping,
    Message, ObjectType, Received, Rights, Timeout,
};

tessera_rt::entry!(main);

use tessera_programs::netpass::{CHANNEL_BADGE, GIVER, TAKER};

/// Where each maps its frame.
const FRAME_AT: u32 = 0x3000_0000;
/// The host's echo server.
const ECHO: ([u8; 4], u16) = ([10, 0, 2, 2], 7007);
/// The giver's line, and the taker's.
const OWNER_LINE: &[u8] = b"the owner's line\n";
const TAKER_LINE: &[u8] = b"the taker's line\n";
/// The giver's message to the taker: the socket capability comes.
const HANDED: u32 = 1;
/// The giver's message to the taker: the socket is closed.
const CLOSED: u32 = 2;
/// The giver's message to the taker: a UDP socket's capability comes.
const HANDED_UDP: u32 = 3;
/// The host's UDP echo server.
const UDP_ECHO: ([u8; 4], u16) = ([10, 0, 2, 2], 7008);
/// The taker's datagram.
const TAKER_DATAGRAM: &[u8] = b"the taker's datagram";
/// How many times a waiting side asks again, 5 ms apart.
const TRIES: u32 = 2000;

/// One request: the answer's words, or the error in its label.
fn request(endpoint: Handle, message: &Message) -> Result<[u32; 4], Error> {
    let reply = call(endpoint, message, Timeout::Millis(2000))?;
    match reply.message.label {
        0 => Ok(reply.message.words),
        code => Err(Error::from_code(code).unwrap_or(Error::InvalidArgument)),
    }
}

/// Sends `line` through the frame and reads its echo back into it:
/// `send` and `receive` make the two requests (on the owner's endpoint or
/// the socket capability).
fn echo(
    frame: &Mapping,
    line: &[u8],
    send: &dyn Fn(usize) -> Result<[u32; 4], Error>,
    receive: &dyn Fn(usize) -> Result<[u32; 4], Error>,
) -> Result<bool, Error> {
    frame.write_bytes(0, line);
    let mut tries = 0;
    while send(line.len())?[0] as usize != line.len() {
        tries += 1;
        if tries > TRIES {
            return Err(Error::TimedOut);
        }
        sleep_micros(5_000);
    }
    // The echo must come into the frame: nothing of the line is left there.
    frame.write_bytes(0, &[0; 64][..line.len()]);
    let mut got = [0u8; 64];
    let mut count = 0;
    while count < line.len() {
        let [n, ..] = receive(line.len() - count)?;
        let n = n as usize;
        if n > 0 {
            got[count..count + n].copy_from_slice(&frame.as_bytes()[..n]);
            count += n;
        } else {
            tries += 1;
            if tries > TRIES {
                return Err(Error::TimedOut);
            }
            sleep_micros(5_000);
        }
    }
    Ok(&got[..count] == line)
}

fn giver(net: Handle, window: Handle, channel: Handle) -> Result<(), Error> {
    let frame = Mapping::new(window, FRAME_AT, Rights::READ | Rights::WRITE)?;
    let ([a, b, c, d], port) = ECHO;
    let connect = Message::new(TCP_CONNECT, [address_word([a, b, c, d]), u32::from(port), 0, 0]);
    let mut tries = 0;
    let socket = loop {
        match request(net, &connect) {
            Ok([socket, ..]) => break socket,
            // No address yet (DHCP).
            Err(Error::NotFound) if tries < TRIES => tries += 1,
            Err(error) => return Err(error),
        }
        sleep_micros(5_000);
    };
    while request(net, &Message::new(STATUS, [socket, 0, 0, 0]))?[0] == state::CONNECTING {
        sleep_micros(5_000);
    }
    let send = |len: usize| request(net, &Message::new(SEND, [socket, len as u32, 0, 0]));
    let receive = |len: usize| request(net, &Message::new(RECEIVE, [socket, len as u32, 0, 0]));
    let echoed = echo(&frame, OWNER_LINE, &send, &receive)?;
    println!("netpass: the owner's line came back: {}", echoed);
    let reply = call(net, &Message::new(DELEGATE, [socket, 0, 0, 0]), Timeout::Millis(2000))?;
    if reply.message.label != 0 || reply.message.caps != 1 {
        println!("netpass: DELEGATE gave no capability");
        return Err(Error::InvalidArgument);
    }
    let capability = Handle(reply.message.words[3]);
    println!("netpass: the owner made a capability for its socket and hands it over");
    let taken = call(channel, &Message::with_capability(HANDED, [0; 3], capability), Timeout::Millis(30_000))?;
    // A UDP client socket too: the taker sends a datagram through it.
    let [datagrams, ..] = request(net, &Message::new(UDP_BIND, [0; 4]))?;
    let reply = call(net, &Message::new(DELEGATE, [datagrams, 0, 0, 0]), Timeout::Millis(2000))?;
    if reply.message.label != 0 || reply.message.caps != 1 {
        println!("netpass: DELEGATE gave no capability for the UDP socket");
        return Err(Error::InvalidArgument);
    }
    let udp = Handle(reply.message.words[3]);
    let sent = call(channel, &Message::with_capability(HANDED_UDP, [0; 3], udp), Timeout::Millis(30_000))?;
    request(net, &Message::new(CLOSE, [datagrams, 0, 0, 0]))?;
    request(net, &Message::new(CLOSE, [socket, 0, 0, 0]))?;
    println!("netpass: the owner closed its socket");
    let gone = call(channel, &Message::new(CLOSED, [0; 4]), Timeout::Millis(30_000))?;
    if echoed && taken.message.label == 0 && sent.message.label == 0 && gone.message.label == 0 {
        Ok(())
    } else {
        Err(Error::InvalidArgument)
    }
}

fn taker(channel: Handle, frame_handle: Handle) -> Result<(), Error> {
    let frame = Mapping::new(frame_handle, FRAME_AT, Rights::READ | Rights::WRITE)?;
    let handed: Received = receive(channel, Timeout::Millis(30_000))?;
    if handed.message.label != HANDED || handed.message.caps != 1 {
        println!("netpass: the taker got no socket capability");
        return Err(Error::InvalidArgument);
    }
    let socket = Handle(handed.message.words[3]);
    let info = cap_info(socket)?;
    println!("netpass: the taker holds {:?} with {:?}", info.kind, info.rights);
    let with_frame = |label: u32, len: usize| Message::with_capability(label, [0, len as u32, 0], frame_handle);
    let send = |len: usize| request(socket, &with_frame(SEND, len));
    let take = |len: usize| request(socket, &with_frame(RECEIVE, len));
    let echoed = echo(&frame, TAKER_LINE, &send, &take)?;
    println!("netpass: the taker's line came back through the owner's socket: {}", echoed);
    let connect = request(socket, &Message::new(TCP_CONNECT, [address_word([10, 0, 2, 2]), 80, 0, 0]));
    println!("netpass: the taker connects elsewhere with it: {}", connect.err().map_or("ALLOWED", Error::name));
    let bare = request(socket, &Message::new(SEND, [0, 4, 0, 0]));
    println!("netpass: the taker sends without a frame: {}", bare.err().map_or("ALLOWED", Error::name));
    let first = echoed && connect == Err(Error::PermissionDenied) && bare == Err(Error::InvalidArgument);
    reply(&Message::new(if first { 0 } else { 1 }, [0; 4]))?;
    let datagram = udp_through(channel, &frame, frame_handle)?;
    reply(&Message::new(if datagram { 0 } else { 1 }, [0; 4]))?;
    let closed = receive(channel, Timeout::Millis(30_000))?;
    let after = request(socket, &Message::new(STATUS, [0; 4]));
    println!(
        "netpass: after the owner's close the taker's capability: {}",
        after.err().map_or("still ALLOWED", Error::name)
    );
    // Revoked: the kernel no longer knows the handle (not netd refusing).
    let revoked = matches!(after, Err(Error::StaleHandle | Error::InvalidHandle));
    let gone = closed.message.label == CLOSED && revoked;
    reply(&Message::new(if gone { 0 } else { 1 }, [0; 4]))?;
    if first && datagram && gone {
        Ok(())
    } else {
        Err(Error::InvalidArgument)
    }
}

/// The taker's UDP part: takes the UDP socket's capability, sends a
/// datagram to the host's echo server through it (the length in word 0,
/// the frame's handle in word 3) and receives the echo into its frame.
fn udp_through(channel: Handle, frame: &Mapping, frame_handle: Handle) -> Result<bool, Error> {
    let handed = receive(channel, Timeout::Millis(30_000))?;
    if handed.message.label != HANDED_UDP || handed.message.caps != 1 {
        println!("netpass: the taker got no UDP socket capability");
        return Ok(false);
    }
    let socket = Handle(handed.message.words[3]);
    let ([a, b, c, d], port) = UDP_ECHO;
    let to = address_word([a, b, c, d]);
    let len = TAKER_DATAGRAM.len() as u32;
    frame.write_bytes(0, TAKER_DATAGRAM);
    let mut tries = 0;
    while request(socket, &Message::with_capability(SEND_TO, [len, to, u32::from(port)], frame_handle))?[0] != 1 {
        tries += 1;
        if tries > TRIES {
            return Err(Error::TimedOut);
        }
        sleep_micros(5_000);
    }
    frame.write_bytes(0, &[0; 64][..TAKER_DATAGRAM.len()]);
    loop {
        let [count, from, from_port, flags] =
            request(socket, &Message::with_capability(RECEIVE_FROM, [0, 64, 0], frame_handle))?;
        if flags & RECEIVED != 0 {
            let echoed = &frame.as_bytes()[..count as usize] == TAKER_DATAGRAM;
            let right_peer = from == to && from_port == u32::from(port);
            println!(
                "netpass: the taker's datagram came back through the owner's UDP socket: {}",
                echoed && right_peer
            );
            return Ok(echoed && right_peer);
        }
        tries += 1;
        if tries > TRIES {
            return Err(Error::TimedOut);
        }
        sleep_micros(5_000);
    }
}

fn main(start: tessera_rt::Start) -> u32 {
    let (mut net, mut channel, mut frame) = (None, None, None);
    for_each_initial_capability(|handle, info| match info.kind {
        ObjectType::Endpoint if info.badge == CHANNEL_BADGE || info.rights.contains(Rights::RECEIVE) => {
            channel = Some(handle)
        }
        ObjectType::Endpoint => net = Some(handle),
        ObjectType::Frame if info.rights.contains(Rights::INSPECT) => frame = Some(handle),
        _ => {}
    });
    let result = match (start.argument, net, channel, frame) {
        (GIVER, Some(net), Some(channel), Some(window)) => giver(net, window, channel),
        (TAKER, None, Some(channel), Some(frame)) => taker(channel, frame),
        _ => {
            println!("netpass: not given what its role needs");
            return 2;
        }
    };
    match result {
        Ok(()) => 0,
        Err(error) => {
            println!("netpass: {}", error.name());
            1
        }
    }
}
