//! An app's life as `init`'s app manager tracks it: its states and the
//! moves between them, without syscalls.
//!
//! ```text
//! Checked --Refused--> Refused            (admission)
//! Checked --Started--> Running --Exited--> Finished
//! Checked --StartFailed--> Failed
//! Running --Crashed(RestartAt(t))--> RestartAt(t) --Started--> Running
//! Running --Crashed(Hold)--> Held          RestartAt(t) --StartFailed--> Failed
//! ```
//!
//! `Refused`, `Failed`, `Held` and `Finished` are final. An event that
//! cannot happen in a state leaves the state as it is.

use crate::supervisor::Decision;

/// Where an app is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Refused at admission (the log line said why).
    Refused,
    /// Passed its own checks; admission across every app is not decided
    /// yet.
    Checked,
    /// Admitted, but could not be started (the log line said why); not
    /// retried.
    Failed,
    /// Running.
    Running,
    /// Crashed; starts again at this uptime (microseconds).
    RestartAt(u64),
    /// Crashed too often; not restarted.
    Held,
    /// Exited with code 0; not restarted.
    Finished,
}

/// What happened to an app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Admission refused it.
    Refused,
    /// Its process was started.
    Started,
    /// Starting it failed.
    StartFailed,
    /// It exited with code 0.
    Exited,
    /// It crashed (a fault or a non-zero exit); the supervisor decided.
    Crashed(Decision),
}

impl Status {
    /// The status after `event`.
    pub fn after(self, event: Event) -> Status {
        match (self, event) {
            (Status::Checked, Event::Refused) => Status::Refused,
            (Status::Checked | Status::RestartAt(_), Event::Started) => Status::Running,
            (Status::Checked | Status::RestartAt(_), Event::StartFailed) => Status::Failed,
            (Status::Running, Event::Exited) => Status::Finished,
            (Status::Running, Event::Crashed(Decision::RestartAt(at))) => Status::RestartAt(at),
            (Status::Running, Event::Crashed(Decision::Hold)) => Status::Held,
            (status, _) => status,
        }
    }

    /// When it is to start again, if it waits to.
    pub fn restart_at(self) -> Option<u64> {
        match self {
            Status::RestartAt(at) => Some(at),
            _ => None,
        }
    }

    /// True if it is waiting to start again and `now` (microseconds of
    /// uptime) is the time.
    pub fn restart_due(self, now: u64) -> bool {
        self.restart_at().is_some_and(|at| at <= now)
    }

    /// True if nothing will happen to it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Refused | Status::Failed | Status::Held | Status::Finished)
    }
}

/// When the app manager must wake next: the earliest restart among
/// `statuses`, or `until` (its own deadline) if that is earlier; `None`
/// if neither (it waits for a child to end).
pub fn next_wake(statuses: impl Iterator<Item = Status>, until: Option<u64>) -> Option<u64> {
    let restart = statuses.filter_map(Status::restart_at).min();
    match (restart, until) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_EVENTS: [Event; 6] = [
        Event::Refused,
        Event::Started,
        Event::StartFailed,
        Event::Exited,
        Event::Crashed(Decision::RestartAt(5)),
        Event::Crashed(Decision::Hold),
    ];

    #[test]
    fn an_app_goes_through_its_life() {
        let crash_loop = [
            Event::Started,
            Event::Crashed(Decision::RestartAt(100)),
            Event::Started,
            Event::Crashed(Decision::RestartAt(300)),
            Event::Started,
            Event::Crashed(Decision::Hold),
        ];
        let mut status = Status::Checked;
        let mut seen = [Status::Checked; 6];
        for (index, event) in crash_loop.into_iter().enumerate() {
            status = status.after(event);
            seen[index] = status;
        }
        assert_eq!(
            seen,
            [
                Status::Running,
                Status::RestartAt(100),
                Status::Running,
                Status::RestartAt(300),
                Status::Running,
                Status::Held
            ]
        );
        assert_eq!(Status::Checked.after(Event::Refused), Status::Refused);
        assert_eq!(Status::Checked.after(Event::StartFailed), Status::Failed);
        assert_eq!(Status::RestartAt(9).after(Event::StartFailed), Status::Failed);
        assert_eq!(Status::Checked.after(Event::Started).after(Event::Exited), Status::Finished);
    }

    #[test]
    fn final_states_stay_and_impossible_events_change_nothing() {
        for status in [Status::Refused, Status::Failed, Status::Held, Status::Finished] {
            assert!(status.is_final());
            for event in ALL_EVENTS {
                assert_eq!(status.after(event), status, "{status:?} after {event:?}");
            }
        }
        // A running app is not refused or started again; an app that does
        // not run cannot exit or crash.
        for event in [Event::Refused, Event::Started, Event::StartFailed] {
            assert_eq!(Status::Running.after(event), Status::Running);
        }
        for event in [Event::Exited, Event::Crashed(Decision::Hold)] {
            assert_eq!(Status::Checked.after(event), Status::Checked);
            assert_eq!(Status::RestartAt(3).after(event), Status::RestartAt(3));
        }
        assert_eq!(Status::RestartAt(3).after(Event::Refused), Status::RestartAt(3));
    }

    #[test]
    fn restarts_come_due_and_set_the_wake_time() {
        assert!(!Status::RestartAt(10).restart_due(9));
        assert!(Status::RestartAt(10).restart_due(10));
        assert!(!Status::Running.restart_due(u64::MAX));
        let statuses = [Status::Running, Status::RestartAt(50), Status::RestartAt(20), Status::Held];
        assert_eq!(next_wake(statuses.into_iter(), None), Some(20));
        assert_eq!(next_wake(statuses.into_iter(), Some(10)), Some(10));
        assert_eq!(next_wake([Status::Running].into_iter(), Some(7)), Some(7));
        assert_eq!(next_wake([Status::Running].into_iter(), None), None);
    }

    /// Random event sequences: a final state is never left, and every
    /// state reached is one the diagram allows from the one before.
    #[test]
    fn random_lives_follow_the_diagram() {
        let mut rng = tessera_testing::Rng::new(0x11FE_C7C1E);
        for _ in 0..2_000 {
            let mut status = Status::Checked;
            for _ in 0..12 {
                let event = ALL_EVENTS[rng.below(ALL_EVENTS.len())];
                let next = status.after(event);
                if status.is_final() {
                    assert_eq!(next, status);
                }
                let allowed = next == status
                    || matches!(
                        (status, next),
                        (Status::Checked, Status::Refused | Status::Running | Status::Failed)
                            | (Status::Running, Status::Finished | Status::RestartAt(_) | Status::Held)
                            | (Status::RestartAt(_), Status::Running | Status::Failed)
                    );
                assert!(allowed, "{status:?} -> {next:?} on {event:?}");
                status = next;
            }
        }
    }
}
