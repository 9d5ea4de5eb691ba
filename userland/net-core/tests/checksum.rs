//! `checksum::fill` and `checksum::verify` on random IPv4 TCP and UDP
//! frames, checked against smoltcp's own checksum code (an independent
//! implementation), at every alignment; any one byte changed in a frame
//! is caught; and the fuzz body on random and cut frames.

use smoltcp::wire::{IpAddress, Ipv4Address, TcpPacket, UdpPacket};
use tessera_net_core::checksum::{fill, verify};
use tessera_net_core::fuzzing::checksum_frames;
use tessera_testing::Rng;

const TCP: u8 = 6;
const UDP: u8 = 17;

/// An Ethernet frame holding an IPv4 packet of `protocol` from
/// 10.0.2.15 to 10.0.2.2 with `payload` after a transport header of the
/// smallest size (random ports and fields, checksum field random too).
fn frame(rng: &mut Rng, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = rng.bytes(12);
    out.extend_from_slice(&[0x08, 0x00]);
    let header = if protocol == TCP { 20 } else { 8 };
    let total = 20 + header + payload.len();
    out.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0x12, 0x34, 0x40, 0, 64, protocol, 0, 0]);
    out.extend_from_slice(&[10, 0, 2, 15, 10, 0, 2, 2]);
    let mut transport = rng.bytes(header);
    if protocol == TCP {
        transport[12] = 0x50; // data offset: 5 words
    } else {
        transport[4..6].copy_from_slice(&((header + payload.len()) as u16).to_be_bytes());
    }
    out.extend_from_slice(&transport);
    out.extend_from_slice(payload);
    out
}

/// Round `round`'s frame: TCP on even rounds, UDP on odd ones, with a
/// random payload of under `most` bytes; and its protocol.
fn random_frame(rng: &mut Rng, round: usize, most: usize) -> (Vec<u8>, u8) {
    let protocol = if round.is_multiple_of(2) { TCP } else { UDP };
    let len = rng.below(most);
    let payload = rng.bytes(len);
    (frame(rng, protocol, &payload), protocol)
}

fn smoltcp_accepts(frame: &[u8], protocol: u8) -> bool {
    let (source, destination) =
        (IpAddress::Ipv4(Ipv4Address::new(10, 0, 2, 15)), IpAddress::Ipv4(Ipv4Address::new(10, 0, 2, 2)));
    let segment = &frame[34..];
    if protocol == TCP {
        TcpPacket::new_checked(segment).unwrap().verify_checksum(&source, &destination)
    } else {
        UdpPacket::new_checked(segment).unwrap().verify_checksum(&source, &destination)
    }
}

#[test]
fn filled_frames_verify_here_and_in_smoltcp_at_every_alignment() {
    let mut rng = Rng::new(0x5eed_c0de);
    for round in 0..2_000 {
        let (built, protocol) = random_frame(&mut rng, round, 1_460);
        // The same frame at offsets 0..4 of a buffer: every alignment of
        // the segment.
        let shift = round % 4;
        let mut buffer = vec![0u8; shift];
        buffer.extend_from_slice(&built);
        let frame = &mut buffer[shift..];
        assert!(fill(frame), "round {round}: not filled");
        assert!(verify(frame), "round {round}: its own checksum refused");
        assert!(smoltcp_accepts(frame, protocol), "round {round}: smoltcp refuses the checksum");
        // One byte changed anywhere in the checked part (the addresses,
        // the segment) is caught.
        let at = if rng.below(4) == 0 { 26 + rng.below(8) } else { 34 + rng.below(frame.len() - 34) };
        let before = frame[at];
        frame[at] = before ^ (1 + rng.below(255) as u8);
        let changed_udp_checksum_to_zero = protocol == UDP && (40..42).contains(&at) && frame[40..42] == [0, 0];
        if !changed_udp_checksum_to_zero {
            assert!(!verify(frame), "round {round}: byte {at} changed but the frame verifies");
        }
    }
}

#[test]
fn frames_smoltcp_fills_verify_here() {
    let mut rng = Rng::new(17);
    let (source, destination) =
        (IpAddress::Ipv4(Ipv4Address::new(10, 0, 2, 15)), IpAddress::Ipv4(Ipv4Address::new(10, 0, 2, 2)));
    for round in 0..500 {
        let (mut frame, protocol) = random_frame(&mut rng, round, 600);
        if protocol == TCP {
            TcpPacket::new_unchecked(&mut frame[34..]).fill_checksum(&source, &destination);
        } else {
            UdpPacket::new_unchecked(&mut frame[34..]).fill_checksum(&source, &destination);
        }
        assert!(verify(&frame), "round {round}");
    }
}

#[test]
fn udp_without_checksum_passes_and_a_computed_zero_is_sent_as_ones() {
    let mut rng = Rng::new(3);
    let mut frame = frame(&mut rng, UDP, b"no checksum");
    frame[40..42].copy_from_slice(&[0, 0]);
    assert!(verify(&frame));
    // Find a payload whose checksum computes to zero: fill must send
    // 0xffff instead.
    for value in 0..=u16::MAX {
        let mut candidate = frame.clone();
        candidate[42..44].copy_from_slice(&value.to_be_bytes());
        fill(&mut candidate);
        if candidate[40..42] == [0xff, 0xff] {
            assert!(verify(&candidate));
            assert!(smoltcp_accepts(&candidate, UDP));
            return;
        }
    }
    panic!("no payload gave a zero checksum");
}

#[test]
fn fragments_and_bad_lengths_are_refused_and_other_frames_pass() {
    let mut rng = Rng::new(9);
    let mut good = frame(&mut rng, TCP, b"hello");
    fill(&mut good);
    // More fragments, or a fragment offset.
    for flags in [[0x20, 0], [0, 1], [0x1f, 0xff]] {
        let mut fragment = good.clone();
        fragment[20..22].copy_from_slice(&flags);
        assert!(!verify(&fragment));
    }
    // Total length beyond the frame, or shorter than a TCP header.
    for total in [good.len() as u16, 20 + 19] {
        let mut bad = good.clone();
        bad[16..18].copy_from_slice(&total.to_be_bytes());
        assert!(!verify(&bad));
    }
    // Trailing Ethernet padding is not part of the packet.
    let mut padded = good.clone();
    padded.extend_from_slice(&[0xaa; 20]);
    assert!(verify(&padded));
    // ARP, ICMP, and a runt pass through to the stack, which checks them.
    let mut arp = good.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert!(verify(&arp));
    let mut icmp = good.clone();
    icmp[23] = 1;
    assert!(verify(&icmp) && !fill(&mut icmp));
    assert!(verify(&good[..10]));
}

#[test]
fn fuzz_body_on_random_and_cut_frames() {
    let mut rng = Rng::new(0xf00d);
    for round in 0..3_000 {
        let (mut frame, _) = random_frame(&mut rng, round, 200);
        fill(&mut frame);
        checksum_frames(&frame);
        checksum_frames(&frame[..rng.below(frame.len())]);
        let at = rng.below(frame.len());
        frame[at] = rng.next_u64() as u8;
        checksum_frames(&frame);
        let len = rng.below(100);
        checksum_frames(&rng.bytes(len));
    }
}

#[test]
fn the_fuzz_seeds_are_what_they_are_named() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/checksum_frames");
    for name in ["tcp.bin", "udp.bin", "udp_odd.bin"] {
        let frame = std::fs::read(seeds.join(name)).unwrap();
        assert!(verify(&frame), "{name} does not verify");
        let mut refilled = frame.clone();
        assert!(fill(&mut refilled), "{name} is not TCP or UDP");
        assert_eq!(refilled, frame, "{name}'s checksum is not the one fill writes");
        checksum_frames(&frame);
    }
    let arp = std::fs::read(seeds.join("arp.bin")).unwrap();
    assert!(verify(&arp) && !fill(&mut arp.clone()));
}
