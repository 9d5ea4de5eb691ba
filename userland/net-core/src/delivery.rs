//! Deliveries: a datagram the network server puts into an app's window
//! before it signals the app, so that the app takes it without a
//! `RECEIVE_FROM` (`tessera_abi::app::net::DELIVERS`, docs/network.md).
//!
//! The server offers one when it answers an app's `SEND_TO` with the
//! app's wait noted (the app is likely to wait for the answer next). Any
//! request of the app ends the offer, since the app may have written over
//! the window to make it. A datagram delivered stays its socket's first
//! until the app's next request: with `DELIVERY_TAKEN` in its label it
//! leaves the socket then; without, the app did not take it (it wrote
//! over the window, or gave up waiting first) and `RECEIVE_FROM` gets it
//! as ever. So no datagram is lost to the window, and none is dropped on
//! the app's word unless it was delivered.

/// One app's delivery, by the server's socket slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing offered or delivered.
    #[default]
    Off,
    /// The next datagram to come to this slot goes into the window.
    Offered {
        /// The socket's slot in the server's pool.
        slot: usize,
    },
    /// The slot's first datagram is in the window.
    Made {
        /// The socket's slot in the server's pool.
        slot: usize,
    },
}

impl Delivery {
    /// The app made a request; `took` says that its label carries
    /// `DELIVERY_TAKEN`. Returns the slot whose first datagram now leaves
    /// the socket (one delivered, and taken). Either way the offer, or the
    /// delivery, is over.
    pub fn request(&mut self, took: bool) -> Option<usize> {
        let taken = match *self {
            Delivery::Made { slot } if took => Some(slot),
            _ => None,
        };
        *self = Delivery::Off;
        taken
    }

    /// Offers the app the next datagram of `slot` (it has just cleared the
    /// window's delivery record).
    pub fn offer(&mut self, slot: usize) {
        *self = Delivery::Offered { slot };
    }

    /// The slot whose next datagram the app was offered, if any.
    pub fn offered(&self) -> Option<usize> {
        match *self {
            Delivery::Offered { slot } => Some(slot),
            _ => None,
        }
    }

    /// The offered datagram of `slot` is in the window. Changes nothing
    /// unless that slot was offered.
    pub fn made(&mut self, slot: usize) {
        if *self == (Delivery::Offered { slot }) {
            *self = Delivery::Made { slot };
        }
    }

    /// What was offered for `slot` was told without a datagram (a
    /// connection's state): the offer is over, and nothing leaves the
    /// socket later. Changes nothing unless that slot was offered.
    pub fn told(&mut self, slot: usize) {
        if *self == (Delivery::Offered { slot }) {
            *self = Delivery::Off;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_delivery_leaves_its_socket_once() {
        let mut delivery = Delivery::default();
        delivery.offer(20);
        assert_eq!(delivery.offered(), Some(20));
        delivery.made(20);
        assert_eq!(delivery.offered(), None, "one datagram per offer");
        assert_eq!(delivery.request(true), Some(20));
        assert_eq!(delivery.request(true), None, "a second request drops nothing more");
        assert_eq!(delivery, Delivery::Off);
    }

    #[test]
    fn a_request_without_the_flag_leaves_the_datagram_and_ends_the_offer() {
        let mut delivery = Delivery::default();
        delivery.offer(17);
        delivery.made(17);
        assert_eq!(delivery.request(false), None);
        assert_eq!(delivery, Delivery::Off);
        delivery.offer(17);
        assert_eq!(delivery.request(false), None);
        assert_eq!(delivery.offered(), None, "any request ends an offer");
    }

    #[test]
    fn a_state_told_leaves_nothing_to_drop() {
        let mut delivery = Delivery::default();
        delivery.offer(2);
        delivery.told(3);
        assert_eq!(delivery.offered(), Some(2), "another slot's news is not this offer's");
        delivery.told(2);
        assert_eq!(delivery, Delivery::Off);
        assert_eq!(delivery.request(true), None, "a state told is no datagram to drop");
    }

    #[test]
    fn the_flag_drops_nothing_that_was_not_delivered() {
        let mut delivery = Delivery::default();
        assert_eq!(delivery.request(true), None);
        delivery.offer(18);
        assert_eq!(delivery.request(true), None, "offered, not delivered");
        delivery.offer(18);
        delivery.made(19);
        assert_eq!(delivery.offered(), Some(18), "another slot's datagram is not this offer's");
        assert_eq!(delivery.request(true), None);
    }
}
