//! A circuit breaker per upstream authority, in the host's HTTP layer. After `threshold` consecutive failures
//! (no response, or a 500, 502 or 504) the circuit opens: requests fail at once, without touching the network,
//! and the component reports `circuit-open` instead of retrying. After `cool_down` one probe request is let through
//! (half-open); its success closes the circuit, its failure opens it again. Pure: callers pass the time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settings {
    pub threshold: u32,
    pub cool_down: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        // Recovery from a transient outage must take well under 30 s: a probe goes out 10 s after opening.
        Settings { threshold: 5, cool_down: Duration::from_secs(10) }
    }
}

/// What a circuit is doing, as `/metrics` shows it (0, 1, 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum State {
    Closed = 0,
    HalfOpen = 1,
    Open = 2,
}

#[derive(Debug)]
struct Circuit {
    failures: u32,
    /// When the circuit opened, or when the current half-open probe started.
    since: Instant,
    state: State,
}

/// Why a request was refused: how long until a probe may go, and how many failures opened the circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub retry_after: Duration,
    pub failures: u32,
}

#[derive(Debug, Default)]
pub(crate) struct Breakers {
    settings: Settings,
    circuits: Mutex<HashMap<String, Circuit>>,
}

impl Breakers {
    pub(crate) fn new(settings: Settings) -> Self {
        Breakers { settings, circuits: Mutex::default() }
    }

    /// May a request to `authority` go out now? While half-open only one probe is in flight at a time (a probe
    /// that never reports back is replaced after another cool-down). Returns the state after admission.
    pub(crate) fn admit(&self, authority: &str, now: Instant) -> Result<State, Refusal> {
        let mut circuits = self.circuits.lock().unwrap_or_else(|e| e.into_inner());
        let Some(c) = circuits.get_mut(authority) else { return Ok(State::Closed) };
        match c.state {
            State::Closed => Ok(State::Closed),
            State::Open | State::HalfOpen => {
                let waited = now.saturating_duration_since(c.since);
                if waited >= self.settings.cool_down {
                    c.state = State::HalfOpen;
                    c.since = now;
                    Ok(State::HalfOpen)
                } else {
                    Err(Refusal { retry_after: self.settings.cool_down - waited, failures: c.failures })
                }
            }
        }
    }

    /// Every circuit that has seen a failure since its last success, sorted by authority.
    pub(crate) fn states(&self) -> Vec<(String, State)> {
        let circuits = self.circuits.lock().unwrap_or_else(|e| e.into_inner());
        let mut states: Vec<_> = circuits.iter().map(|(a, c)| (a.clone(), c.state)).collect();
        states.sort();
        states
    }

    /// Records how a request that was admitted ended; returns the circuit's new state.
    pub(crate) fn record(&self, authority: &str, success: bool, now: Instant) -> State {
        let mut circuits = self.circuits.lock().unwrap_or_else(|e| e.into_inner());
        if success {
            circuits.remove(authority);
            return State::Closed;
        }
        let c =
            circuits.entry(authority.to_string()).or_insert(Circuit { failures: 0, since: now, state: State::Closed });
        c.failures += 1;
        if c.state == State::HalfOpen || c.failures >= self.settings.threshold {
            if c.state != State::Open {
                c.since = now;
            }
            c.state = State::Open;
        }
        c.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "storage.example:443";

    fn breakers() -> Breakers {
        Breakers::new(Settings { threshold: 3, cool_down: Duration::from_secs(10) })
    }

    #[test]
    fn opens_after_consecutive_failures_only() {
        let b = breakers();
        let t = Instant::now();
        assert_eq!(b.record(A, false, t), State::Closed);
        assert_eq!(b.record(A, false, t), State::Closed);
        assert_eq!(b.record(A, true, t), State::Closed, "a success resets the count");
        for _ in 0..2 {
            b.record(A, false, t);
        }
        assert_eq!(b.admit(A, t), Ok(State::Closed));
        assert_eq!(b.record(A, false, t), State::Open);
        let refused = b.admit(A, t + Duration::from_secs(4)).unwrap_err();
        assert_eq!(refused, Refusal { retry_after: Duration::from_secs(6), failures: 3 });
        assert_eq!(b.admit("other:443", t), Ok(State::Closed), "circuits are per authority");
        assert_eq!(b.states(), vec![(A.to_string(), State::Open)]);
    }

    #[test]
    fn one_probe_after_the_cool_down_closes_or_reopens() {
        let b = breakers();
        let t = Instant::now();
        for _ in 0..3 {
            b.record(A, false, t);
        }
        let later = t + Duration::from_secs(10);
        assert_eq!(b.admit(A, later), Ok(State::HalfOpen));
        assert!(b.admit(A, later + Duration::from_secs(1)).is_err(), "one probe at a time");
        assert_eq!(b.record(A, false, later + Duration::from_secs(1)), State::Open, "a failed probe reopens");
        assert!(b.admit(A, later + Duration::from_secs(5)).is_err());
        let again = later + Duration::from_secs(11);
        assert_eq!(b.admit(A, again), Ok(State::HalfOpen));
        assert_eq!(b.record(A, true, again), State::Closed);
        assert_eq!(b.admit(A, again), Ok(State::Closed));
    }

    #[test]
    fn a_probe_that_never_reports_is_replaced() {
        let b = breakers();
        let t = Instant::now();
        for _ in 0..3 {
            b.record(A, false, t);
        }
        assert_eq!(b.admit(A, t + Duration::from_secs(10)), Ok(State::HalfOpen));
        assert_eq!(b.admit(A, t + Duration::from_secs(20)), Ok(State::HalfOpen));
    }
}
