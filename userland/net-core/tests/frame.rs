//! `frame::write_udp` checked by smoltcp's own parsers (an independent
//! reading of Ethernet, IPv4 and UDP, checksums included) on random
//! headers and payloads of every length up to the largest; and the fuzz
//! body `link_frames` on random bytes, on ARP packets and on their
//! mutations, and on the seeds.

use smoltcp::wire::{EthernetAddress, EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, UdpPacket};
use tessera_net_core::frame::{arp_sender, write_udp, UdpHeaders, MAX_UDP_PAYLOAD, UDP_PAYLOAD_AT};
use tessera_net_core::fuzzing::link_frames;
use tessera_testing::Rng;

fn random_headers(rng: &mut Rng) -> UdpHeaders {
    let mut mac = || -> [u8; 6] { rng.bytes(6).try_into().unwrap() };
    let (source_mac, destination_mac) = (mac(), mac());
    let mut address = || -> [u8; 4] { rng.bytes(4).try_into().unwrap() };
    let (from, to) = (address(), address());
    UdpHeaders {
        source_mac,
        destination_mac,
        source: (from, rng.below(65_536) as u16),
        destination: (to, rng.below(65_536) as u16),
        identification: rng.below(65_536) as u16,
    }
}

#[test]
fn written_datagrams_read_back_in_smoltcp() {
    let mut rng = Rng::new(0x00f4_a3e5);
    for round in 0..3_000 {
        let len = if round < MAX_UDP_PAYLOAD + 1 { round } else { rng.below(MAX_UDP_PAYLOAD + 1) };
        let headers = random_headers(&mut rng);
        let payload = rng.bytes(len);
        // Garbage where the headers go: every byte of them must be written.
        let mut buffer = rng.bytes(UDP_PAYLOAD_AT + MAX_UDP_PAYLOAD + 8);
        buffer[UDP_PAYLOAD_AT..UDP_PAYLOAD_AT + len].copy_from_slice(&payload);
        let end = write_udp(&mut buffer, &headers, len).expect("room for the datagram");
        assert_eq!(end, UDP_PAYLOAD_AT + len);
        let ethernet = EthernetFrame::new_checked(&buffer[..end]).unwrap();
        assert_eq!(ethernet.dst_addr(), EthernetAddress(headers.destination_mac));
        assert_eq!(ethernet.src_addr(), EthernetAddress(headers.source_mac));
        assert_eq!(ethernet.ethertype(), EthernetProtocol::Ipv4);
        let ip = Ipv4Packet::new_checked(ethernet.payload()).unwrap();
        assert!(ip.verify_checksum(), "round {round}: IPv4 header checksum");
        assert_eq!((ip.version(), ip.header_len(), ip.total_len() as usize), (4, 20, 28 + len));
        assert_eq!((ip.next_header(), ip.hop_limit(), ip.ident()), (IpProtocol::Udp, 64, headers.identification));
        assert!(ip.dont_frag() && !ip.more_frags() && ip.frag_offset() == 0);
        assert_eq!((ip.src_addr().octets(), ip.dst_addr().octets()), (headers.source.0, headers.destination.0));
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        let (from, to) = (IpAddress::Ipv4(ip.src_addr()), IpAddress::Ipv4(ip.dst_addr()));
        assert!(udp.verify_checksum(&from, &to), "round {round}: UDP checksum");
        assert_ne!(udp.checksum(), 0, "zero means no checksum");
        assert_eq!((udp.src_port(), udp.dst_port()), (headers.source.1, headers.destination.1));
        assert_eq!(udp.payload(), &payload[..]);
        assert_eq!(arp_sender(&buffer[..end]), None);
    }
}

#[test]
fn too_long_or_too_little_room_writes_nothing() {
    let mut rng = Rng::new(7);
    let headers = random_headers(&mut rng);
    let mut buffer = vec![0xa5; UDP_PAYLOAD_AT + MAX_UDP_PAYLOAD + 1];
    assert_eq!(write_udp(&mut buffer, &headers, MAX_UDP_PAYLOAD + 1), None);
    assert_eq!(write_udp(&mut buffer[..UDP_PAYLOAD_AT + 9], &headers, 10), None);
    assert!(buffer.iter().all(|&byte| byte == 0xa5));
}

/// An ARP reply from 10.0.2.2 at 52:55:0a:00:02:02 to 10.0.2.15.
fn arp_reply() -> Vec<u8> {
    let mut frame = vec![0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x55, 10, 0, 2, 2, 0x08, 0x06];
    frame.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2, 0x52, 0x55, 10, 0, 2, 2, 10, 0, 2, 2]);
    frame.extend_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56, 10, 0, 2, 15]);
    frame
}

#[test]
fn link_frames_fuzz_body_holds() {
    let mut rng = Rng::new(0x114b);
    let reply = arp_reply();
    assert_eq!(arp_sender(&reply), Some(([10, 0, 2, 2], [0x52, 0x55, 10, 0, 2, 2])));
    link_frames(&reply);
    for _ in 0..20_000 {
        let len = rng.below(1_600);
        link_frames(&rng.bytes(len));
        let mut changed = reply.clone();
        for _ in 0..=rng.below(3) {
            let at = rng.below(changed.len());
            changed[at] = rng.below(256) as u8;
        }
        changed.truncate(rng.below(changed.len() + 8).max(1));
        link_frames(&changed);
    }
    for seed in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/link_frames")).unwrap() {
        link_frames(&std::fs::read(seed.unwrap().path()).unwrap());
    }
}

#[test]
fn link_frames_steers_datagrams_longer_than_its_queue() {
    // A frame longer than any Ethernet frame holding a datagram of 2,100
    // bytes: the fuzz body's 2 KiB queue cannot take it.
    let mut rng = Rng::new(3);
    let headers = random_headers(&mut rng);
    let headers = UdpHeaders { source: ([10, 0, 2, 2], 9), ..headers };
    let mut buffer = vec![7u8; UDP_PAYLOAD_AT + 2_100];
    // `write_udp` refuses more than an MTU: the headers are written for
    // 1,472 bytes and the lengths patched to 2,100.
    write_udp(&mut buffer, &headers, MAX_UDP_PAYLOAD).unwrap();
    let ip_total = (20 + 8 + 2_100) as u16;
    buffer[16..18].copy_from_slice(&ip_total.to_be_bytes());
    buffer[24..26].fill(0);
    let sum = !tessera_net_core::checksum::finish(tessera_net_core::checksum::sum(&buffer[14..34]));
    buffer[24..26].copy_from_slice(&(!sum).to_be_bytes());
    buffer[38..40].copy_from_slice(&((8 + 2_100) as u16).to_be_bytes());
    assert!(tessera_net_core::frame::udp_datagram(&buffer).is_some());
    link_frames(&buffer);
}
