//! The request decoder's fuzz body (`fuzzing::request_decoding`) on many
//! generated inputs: random bytes, requests built near every limit, and
//! mutations of good requests; and the decoder against a second, plain
//! statement of the protocol's rules, so that it refuses exactly what the
//! rules refuse (the fuzz body only checks what it accepts).

use tessera_abi::app::pluton::{
    ATTEST, BUFFER_BYTES, DEVICE_ID, ENTROPY_SOURCE, MAX_CHALLENGE, MAX_CLIENTS, MAX_SEAL_INPUT, RANDOM, RECORD_APP,
    SEAL, SEAL_OVERHEAD, SIGN_CHALLENGE, UNSEAL, VERIFY_PACKAGE,
};
use tessera_abi::Error;
use tessera_pluton_core::fuzzing::{request_decoding, request_input, REQUEST_INPUT_BYTES};
use tessera_pluton_core::protocol::decode;

/// xorshift64: a fixed, dependency-free stream of test inputs.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// A u32 near a limit most of the time, any u32 otherwise.
    fn word(&mut self) -> u32 {
        const INTERESTING: [u32; 22] = [
            0,
            1,
            2,
            7,
            8,
            16,
            17,
            28,
            29,
            64,
            65,
            1024,
            1025,
            4066,
            4067,
            4068,
            4095,
            4096,
            4097,
            0x7fff_ffff,
            0x8000_0000,
            u32::MAX,
        ];
        if self.below(4) == 0 {
            self.next() as u32
        } else {
            self.pick(&INTERESTING)
        }
    }
}

const LABELS: [u32; 9] =
    [DEVICE_ID, ATTEST, RANDOM, SEAL, UNSEAL, SIGN_CHALLENGE, VERIFY_PACKAGE, RECORD_APP, ENTROPY_SOURCE];

/// The protocol's rules, written out once more: whether a request is
/// accepted, and if not, with which error.
fn rules(label: u32, words: [u32; 4], caps: u32, badge: u32) -> Result<(), Error> {
    let loader = badge == 0;
    if badge > MAX_CLIENTS {
        return Err(Error::PermissionDenied);
    }
    if !LABELS.contains(&label) {
        return Err(Error::InvalidArgument);
    }
    let loader_only = [VERIFY_PACKAGE, RECORD_APP, ENTROPY_SOURCE].contains(&label);
    let apps_only = [SEAL, UNSEAL, SIGN_CHALLENGE].contains(&label);
    if (loader_only && !loader) || (apps_only && loader) {
        return Err(Error::PermissionDenied);
    }
    // An app's buffer was recorded with it; the loader brings its own.
    let buffer = u32::from(loader);
    let wanted_caps = match label {
        ENTROPY_SOURCE => 2,
        RECORD_APP => 1,
        ATTEST | RANDOM | SEAL | UNSEAL | SIGN_CHALLENGE => buffer,
        _ => 0,
    };
    if caps != wanted_caps {
        return Err(Error::InvalidArgument);
    }
    let n = u64::from(words[0]);
    let good = match label {
        DEVICE_ID => n <= 1,
        ATTEST => (8..=64).contains(&n),
        RANDOM => (1..=BUFFER_BYTES as u64).contains(&n),
        SEAL => n <= MAX_SEAL_INPUT as u64,
        UNSEAL => (SEAL_OVERHEAD as u64..=BUFFER_BYTES as u64).contains(&n),
        SIGN_CHALLENGE => (1..=MAX_CHALLENGE as u64).contains(&n),
        RECORD_APP => (1..=MAX_CLIENTS).contains(&words[1]),
        _ => true,
    };
    if good {
        Ok(())
    } else {
        Err(Error::InvalidArgument)
    }
}

#[test]
fn random_bytes_never_break_the_decoder() {
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let len = random.below(REQUEST_INPUT_BYTES as u64 + 8) as usize;
        let data: Vec<u8> = (0..len).map(|_| random.next() as u8).collect();
        request_decoding(&data);
    }
}

#[test]
fn requests_near_every_limit_follow_the_rules() {
    let mut random = Xorshift(0x2545_f491_4f6c_dd1d);
    let mut accepted = [0u32; 9];
    for _ in 0..200_000 {
        let label = if random.below(16) == 0 { random.word() } else { random.pick(&LABELS) };
        let words = [random.word(), random.word(), random.word(), random.word()];
        let caps = if random.below(16) == 0 { random.word() } else { random.below(4) as u32 };
        let any = random.word();
        let badge = random.pick(&[0, 0, 1, 2, MAX_CLIENTS, MAX_CLIENTS + 1, any]);
        request_decoding(&request_input(label, words, caps, badge));
        let decoded = decode(label, words, caps, badge);
        assert_eq!(decoded.map(|_| ()), rules(label, words, caps, badge), "{label} {words:?} {caps} {badge}");
        if decoded.is_ok() {
            accepted[LABELS.iter().position(|&known| known == label).unwrap()] += 1;
        }
    }
    // The inputs reach every request, so the checks above saw each one.
    assert!(accepted.iter().all(|&count| count > 100), "accepted per label: {accepted:?}");
}

#[test]
fn mutations_of_good_requests_never_break_the_decoder() {
    let good = [
        request_input(DEVICE_ID, [1, 0, 0, 0], 0, 3),
        request_input(ATTEST, [32, 0, 0, 0], 1, 0),
        request_input(RANDOM, [4096, 0, 0, 9], 0, 5),
        request_input(SEAL, [4067, 0, 0, 9], 0, 1),
        request_input(UNSEAL, [29, 0, 0, 9], 0, 16),
        request_input(SIGN_CHALLENGE, [1024, 0, 0, 9], 0, 2),
        request_input(VERIFY_PACKAGE, [4, 0, 0, 0], 0, 0),
        request_input(RECORD_APP, [4, 16, 0, 9], 1, 0),
        request_input(ENTROPY_SOURCE, [0, 0, 8, 9], 2, 0),
    ];
    let mut random = Xorshift(0xdead_beef_cafe_f00d);
    for seed in good {
        request_decoding(&seed);
        assert!(decode_bytes(&seed).is_ok(), "seed {seed:?}");
        for _ in 0..5_000 {
            let mut input = seed;
            for _ in 0..=random.below(3) {
                let index = random.below(REQUEST_INPUT_BYTES as u64) as usize;
                match random.below(3) {
                    0 => input[index] ^= 1 << random.below(8),
                    1 => input[index] = random.next() as u8,
                    _ => input[index] = input[index].wrapping_add(1),
                }
            }
            request_decoding(&input);
            let len = random.below(REQUEST_INPUT_BYTES as u64 + 1) as usize;
            request_decoding(&input[..len]);
        }
    }
}

fn decode_bytes(data: &[u8; REQUEST_INPUT_BYTES]) -> Result<(), Error> {
    let word = |index: usize| u32::from_le_bytes(data[index * 4..index * 4 + 4].try_into().unwrap());
    decode(word(0), [word(1), word(2), word(3), word(4)], word(5), word(6)).map(|_| ())
}
