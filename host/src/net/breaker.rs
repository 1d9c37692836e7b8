//! A circuit breaker per upstream authority, in the host's HTTP layer. Once `threshold` different calls in a row
//! have failed (no response, or a 500, 502 or 504) the circuit opens: requests fail at once, without touching the
//! network, and the component reports `circuit-open` instead of retrying. A call is one component call (a CLI
//! transfer, one service request): its retries and its parts in flight count once, so one caller's bad luck — a
//! request the store cannot serve, retried — never opens the circuit for everyone; failures of different calls
//! are what an outage looks like. After `cool_down` one probe request is let through (half-open); its success
//! closes the circuit, its failure opens it again. Pure: callers pass the time.

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
    /// The calls that failed since the last success, each once.
    failed_calls: Vec<u64>,
    /// When the circuit opened, or when the current half-open probe started.
    since: Instant,
    state: State,
}

/// Why a request was refused: how long until a probe may go, and how many failures opened the circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub retry_after: Duration,
    /// Different calls that failed in a row.
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
                    let failures = u32::try_from(c.failed_calls.len()).unwrap_or(u32::MAX);
                    Err(Refusal { retry_after: self.settings.cool_down - waited, failures })
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

    /// Records how a request of `call` that was admitted ended; returns the circuit's new state.
    pub(crate) fn record(&self, authority: &str, success: bool, call: u64, now: Instant) -> State {
        let mut circuits = self.circuits.lock().unwrap_or_else(|e| e.into_inner());
        if success {
            circuits.remove(authority);
            return State::Closed;
        }
        let fresh = Circuit { failed_calls: Vec::new(), since: now, state: State::Closed };
        let c = circuits.entry(authority.to_string()).or_insert(fresh);
        if !c.failed_calls.contains(&call) {
            c.failed_calls.push(call);
        }
        let failures = u32::try_from(c.failed_calls.len()).unwrap_or(u32::MAX);
        if c.state == State::HalfOpen || failures >= self.settings.threshold {
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
        assert_eq!(b.record(A, false, 1, t), State::Closed);
        assert_eq!(b.record(A, false, 2, t), State::Closed);
        assert_eq!(b.record(A, true, 3, t), State::Closed, "a success resets the count");
        for call in [4, 40] {
            b.record(A, false, call, t);
        }
        assert_eq!(b.admit(A, t), Ok(State::Closed));
        assert_eq!(b.record(A, false, 5, t), State::Open);
        let refused = b.admit(A, t + Duration::from_secs(4)).unwrap_err();
        assert_eq!(refused, Refusal { retry_after: Duration::from_secs(6), failures: 3 });
        assert_eq!(b.admit("other:443", t), Ok(State::Closed), "circuits are per authority");
        assert_eq!(b.states(), vec![(A.to_string(), State::Open)]);
    }

    #[test]
    fn one_probe_after_the_cool_down_closes_or_reopens() {
        let b = breakers();
        let t = Instant::now();
        for call in [6, 60, 600] {
            b.record(A, false, call, t);
        }
        let later = t + Duration::from_secs(10);
        assert_eq!(b.admit(A, later), Ok(State::HalfOpen));
        assert!(b.admit(A, later + Duration::from_secs(1)).is_err(), "one probe at a time");
        assert_eq!(b.record(A, false, 7, later + Duration::from_secs(1)), State::Open, "a failed probe reopens");
        assert!(b.admit(A, later + Duration::from_secs(5)).is_err());
        let again = later + Duration::from_secs(11);
        assert_eq!(b.admit(A, again), Ok(State::HalfOpen));
        assert_eq!(b.record(A, true, 8, again), State::Closed);
        assert_eq!(b.admit(A, again), Ok(State::Closed));
    }

    #[test]
    fn one_call_failing_however_often_does_not_open_the_circuit() {
        let b = breakers();
        let t = Instant::now();
        for _ in 0..20 {
            assert_eq!(b.record(A, false, 7, t), State::Closed, "retries and parts of one call count once");
        }
        assert_eq!(b.record(A, false, 8, t), State::Closed);
        assert_eq!(b.record(A, false, 9, t), State::Open, "the third call that fails opens it");
    }

    #[test]
    fn a_probe_that_never_reports_is_replaced() {
        let b = breakers();
        let t = Instant::now();
        for call in [9, 90, 900] {
            b.record(A, false, call, t);
        }
        assert_eq!(b.admit(A, t + Duration::from_secs(10)), Ok(State::HalfOpen));
        assert_eq!(b.admit(A, t + Duration::from_secs(20)), Ok(State::HalfOpen));
    }
}
