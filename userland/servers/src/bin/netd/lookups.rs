//! The server's DNS lookups for apps (docs/network.md, "Lookups"): which
//! servers it asks, the queries it sends on its own UDP socket, the
//! answers it reads, and what a lookup's end does (the addresses found are
//! remembered for the app). The decisions are `tessera_net_core::resolver`'s,
//! the messages `tessera_net_core::dns`'s.

use smoltcp::socket::udp;
use smoltcp::wire::{IpAddress, IpEndpoint};
use tessera_net_core::dns::{self, encode_query, MAX_QUERY_BYTES};
use tessera_net_core::resolver::{Lookup, Outcome, Step, MAX_SERVERS};
use tessera_rt::{println, uptime_micros, Error, Message};
use tessera_servers::net::address_word;

use super::{bits, reply_words, Addresses, Server, DNS_ANSWER_BYTES};

impl Server<'_> {
    /// The DNS servers, in the order lookups ask them (docs/network.md):
    /// the configured one, then the lease's; and how many there are.
    fn dns_servers(&self) -> ([([u8; 4], u16); MAX_SERVERS], usize) {
        let mut servers = [([0; 4], dns::PORT); MAX_SERVERS];
        let leased = self.leased_dns.iter().flatten().map(|&address| (address, dns::PORT));
        let mut count = 0;
        for server in self.configured_dns.into_iter().chain(leased) {
            // The same server twice would waste a turn.
            if !servers[..count].contains(&server) {
                servers[count] = server;
                count += 1;
            }
        }
        (servers, count)
    }

    /// A fresh DNS query ID: SplitMix64's output for a counter started at
    /// the server's seed (`random_seed`: 32 bits from the Pluton security
    /// server, the uptime and the MAC). The finaliser is not linear, so
    /// IDs seen on the wire do not give the state away (an xorshift's
    /// output, as before, did, after about four IDs).
    fn next_id(&mut self) -> u16 {
        self.ids = self.ids.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.ids;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 48) as u16
    }

    /// Carries out `step` of client `client`'s lookup: sends its query.
    /// A query the socket has no room for is not sent; the lookup's
    /// deadline sends it again.
    fn ask(&mut self, client: u32, step: Step) {
        let Step::Ask { server, id } = step else { return };
        let index = client as usize - 1;
        let (Some(app), Some(lookup)) = (&self.book.clients[index], &self.book.lookups[index]) else { return };
        let Some(name) = app.registration.name(lookup.name()) else { return };
        let mut query = [0u8; MAX_QUERY_BYTES];
        let Some(size) = encode_query(id, name, &mut query) else { return };
        let (servers, count) = self.dns_servers();
        let Some(&([a, b, c, d], port)) = servers[..count].get(server) else { return };
        let socket = self.sockets.set.get_mut::<udp::Socket>(self.dns);
        let _ = socket.send_slice(&query[..size], IpEndpoint::new(IpAddress::v4(a, b, c, d), port));
    }

    /// Reads the DNS answers that came, moves the lookups on (an answer,
    /// or a deadline passed), and sends the queries that follow; `now` is
    /// the uptime. True if a lookup moved on (its app may be waiting).
    pub(super) fn poll_dns(&mut self, now: u64) -> bool {
        let mut moved = false;
        loop {
            let socket = self.sockets.set.get_mut::<udp::Socket>(self.dns);
            // Checked first: this runs every time round the loop, and
            // clearing the buffer costs more than the rest when idle.
            if !socket.can_recv() {
                break;
            }
            let mut answer = [0u8; DNS_ANSWER_BYTES];
            let Ok((size, metadata)) = socket.recv_slice(&mut answer) else { break };
            let IpAddress::Ipv4(from) = metadata.endpoint.addr;
            let (servers, count) = self.dns_servers();
            let Some(server) = servers[..count].iter().position(|&s| s == (from.octets(), metadata.endpoint.port))
            else {
                continue;
            };
            let Some(&[high, low]) = answer.get(..2).and_then(|id| <&[u8; 2]>::try_from(id).ok()) else { continue };
            let id = u16::from_be_bytes([high, low]);
            let waiting = self
                .book
                .lookups
                .iter()
                .position(|lookup| lookup.and_then(|lookup| lookup.in_flight()) == Some((server, id)));
            let Some(index) = waiting else { continue };
            let next_id = self.next_id();
            let (Some(app), Some(lookup)) = (&self.book.clients[index], &mut self.book.lookups[index]) else {
                continue;
            };
            let Some(name) = app.registration.name(lookup.name()) else { continue };
            let result = dns::decode_response(&answer[..size], id, name);
            let step = lookup.on_answer(server, id, result, next_id, count, now);
            self.after(index as u32 + 1, step);
            moved = true;
        }
        // Only the clients with a lookup (most rounds of the loop have none).
        for index in bits(self.book.looking) {
            if self.book.lookups[index].and_then(|lookup| lookup.deadline()).is_some_and(|deadline| now >= deadline) {
                let next_id = self.next_id();
                let (_, count) = self.dns_servers();
                let Some(lookup) = &mut self.book.lookups[index] else { continue };
                let step = lookup.on_time(next_id, count, now);
                self.after(index as u32 + 1, step);
                moved = true;
            }
        }
        moved
    }

    /// What follows a step of client `client`'s lookup: a query sent, or,
    /// when it ended, the addresses remembered for the client and a log
    /// line.
    fn after(&mut self, client: u32, step: Step) {
        let index = client as usize - 1;
        if step != Step::Done {
            self.ask(client, step);
            return;
        }
        let (Some(app), Some(lookup)) = (&self.book.clients[index], &self.book.lookups[index]) else { return };
        let name = app.registration.name(lookup.name()).and_then(|name| core::str::from_utf8(name).ok());
        let name = name.unwrap_or("?");
        match lookup.outcome() {
            Some(Outcome::Found(answer)) => {
                for &address in answer.addresses() {
                    self.book.resolved[index].remember(address);
                }
                println!("netd: app {} looked up {}: {}", client, name, Addresses(answer.addresses()));
            }
            Some(Outcome::NotFound) => println!("netd: app {} looked up {}: no address (no such name)", client, name),
            Some(Outcome::TimedOut) | None => {
                println!("netd: app {} looked up {}: no DNS server answered", client, name)
            }
        }
    }

    /// `LOOKUP` of client `client`'s name `name` (an index into its
    /// names): the answer, or 0 addresses while it is under way. A lookup
    /// of another name replaces one under way.
    pub(super) fn lookup(&mut self, client: u32, name: usize) -> Result<Message, Error> {
        let index = client as usize - 1;
        if let Some(lookup) = self.book.lookups[index].filter(|lookup| lookup.name() == name) {
            let Some(outcome) = lookup.outcome() else { return Ok(reply_words([0; 4])) };
            self.book.set_lookup(index, None);
            return match outcome {
                Outcome::Found(answer) => {
                    let mut words = [0; 4];
                    let addresses = answer.addresses().iter().take(3);
                    for (word, &address) in words[1..].iter_mut().zip(addresses.clone()) {
                        *word = address_word(address);
                    }
                    words[0] = addresses.count() as u32;
                    Ok(reply_words(words))
                }
                Outcome::NotFound => Err(Error::NotFound),
                Outcome::TimedOut => Err(Error::TimedOut),
            };
        }
        // One lookup under way per app: asking for another name meanwhile
        // gets "under way" too, so a loop of lookups cannot flood the
        // servers (or push other apps' answers out of the DNS socket).
        if self.book.lookups[index].is_some_and(|lookup| lookup.outcome().is_none()) {
            return Ok(reply_words([0; 4]));
        }
        let (_, count) = self.dns_servers();
        if count == 0 {
            // No lease yet (or one without DNS servers): the app asks again
            // until its timeout.
            self.book.set_lookup(index, None);
            return Ok(reply_words([0; 4]));
        }
        let id = self.next_id();
        let (lookup, step) = Lookup::start(name, count, id, uptime_micros());
        self.book.set_lookup(index, Some(lookup));
        self.ask(client, step);
        Ok(reply_words([0; 4]))
    }
}
