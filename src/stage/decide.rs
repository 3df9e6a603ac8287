//! The decide stage: per-frame probabilities → a vote over recent frames → an action,
//! with a cooldown between actions and a stop when no confident digit has been seen for
//! `hold_ms`. Stopping is never delayed by the cooldown.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::stage::model::{Probabilities, NO_DIGIT};
use crate::util::argmax;

/// What an action does with the wheels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Motion {
    Stop,
    Forward,
    Backward,
    /// Spin left on the spot.
    Left,
    /// Spin right on the spot.
    Right,
    /// Recognise the digit (LEDs show it) but do not move.
    None,
}

impl Motion {
    pub fn name(&self) -> &'static str {
        match self {
            Motion::Stop => "stop",
            Motion::Forward => "forward",
            Motion::Backward => "backward",
            Motion::Left => "left",
            Motion::Right => "right",
            Motion::None => "none",
        }
    }

    /// Wheel speeds (left, right) for a speed in 0..=1.
    pub fn wheels(&self, speed: f32) -> (f32, f32) {
        match self {
            Motion::Forward => (speed, speed),
            Motion::Backward => (-speed, -speed),
            Motion::Left => (-speed, speed),
            Motion::Right => (speed, -speed),
            Motion::Stop | Motion::None => (0.0, 0.0),
        }
    }
}

/// What a digit makes the robot do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ActionSpec {
    pub motion: Motion,
    /// 0..=1.
    pub speed: f32,
    /// How long the motion lasts before the wheels stop by themselves.
    pub duration_ms: u64,
}

/// Validated decision settings (see `config/robot.toml` for each key's meaning).
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionConfig {
    pub threshold: f32,
    pub votes: usize,
    pub agreement: usize,
    pub cooldown_ms: u64,
    pub hold_ms: u64,
    pub actions: [Option<ActionSpec>; 10],
}

/// A command for the actuators.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    Drive { motion: Motion, left: f32, right: f32 },
    Stop,
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Drive { motion, .. } => motion.name(),
            Command::Stop => "stop",
        }
    }
}

/// Why a command was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The vote agreed on a digit whose action this is.
    Digit,
    /// The action's duration ran out.
    Done,
    /// No confident digit for `hold_ms`.
    Hold,
}

impl Reason {
    /// As the decision log and the printer say it.
    pub fn describe(&self) -> &'static str {
        match self {
            Reason::Digit => "digit",
            Reason::Done => "action done",
            Reason::Hold => "no digit for hold_ms",
        }
    }
}

/// The outcome of one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    /// This frame's reading: the digit if confident enough.
    pub digit: Option<u8>,
    /// Probability of the most likely digit (0 when there was nothing to read).
    pub confidence: f32,
    /// The digit the recent frames agree on, if they do.
    pub voted: Option<u8>,
    /// A new command for the actuators, if anything changes.
    pub command: Option<(Command, Reason)>,
    /// Wheel speeds after this frame.
    pub wheels: (f32, f32),
}

/// Turns per-frame readings into actions.
#[derive(Debug)]
pub struct Decider {
    cfg: DecisionConfig,
    history: VecDeque<Option<u8>>,
    last_confident_ms: Option<u64>,
    last_action_ms: Option<u64>,
    motion_until_ms: u64,
    wheels: (f32, f32),
    /// Held stopped from outside (an emergency stop, a pause): read, but never act.
    inhibited: bool,
}

/// The digit `probs` read (the most probable, when it reaches `threshold` and beats the
/// model's "no digit"), and its probability; no digit and 0 for no probabilities.
pub fn read(probs: Option<&Probabilities>, threshold: f32) -> (Option<u8>, f32) {
    let Some(p) = probs else {
        return (None, 0.0);
    };
    let i = argmax(&p[..10]);
    let conf = if p[i].is_nan() { 0.0 } else { p[i] };
    (Some(i as u8).filter(|_| conf > p[NO_DIGIT] && conf >= threshold), conf)
}

impl Decider {
    pub fn new(cfg: DecisionConfig) -> Self {
        Decider {
            cfg,
            history: VecDeque::new(),
            last_confident_ms: None,
            last_action_ms: None,
            motion_until_ms: 0,
            wheels: (0.0, 0.0),
            inhibited: false,
        }
    }

    /// Forgets everything seen and marks the wheels stopped: after the camera failed, or
    /// whenever the actuators were stopped from outside.
    pub fn reset(&mut self) {
        let inhibited = self.inhibited;
        *self = Decider::new(self.cfg.clone());
        self.inhibited = inhibited;
    }

    /// Holds the robot still (an emergency stop, a pause): readings go on, votes and
    /// actions do not, and the wheels count as stopped. Releasing starts from a fresh vote,
    /// so nothing seen before the hold acts after it.
    pub fn inhibit(&mut self, on: bool) {
        if on != self.inhibited {
            self.reset();
            self.inhibited = on;
        }
    }

    pub fn inhibited(&self) -> bool {
        self.inhibited
    }

    pub fn config(&self) -> &DecisionConfig {
        &self.cfg
    }

    fn moving(&self) -> bool {
        self.wheels != (0.0, 0.0)
    }

    /// Most common digit among the last `votes` readings, if it has `agreement` of them
    /// (ties go to the most recent).
    fn vote(&self) -> Option<u8> {
        let mut counts = [0usize; 10];
        for d in self.history.iter().flatten() {
            counts[*d as usize] += 1;
        }
        let best = (0..10).filter(|&d| counts[d] > 0).max_by_key(|&d| {
            let recency = self.history.iter().rposition(|h| *h == Some(d as u8)).unwrap_or(0);
            (counts[d], recency)
        })?;
        (counts[best] >= self.cfg.agreement).then_some(best as u8)
    }

    /// One frame at time `t_ms`: `probs` are the model's probabilities, or `None` when
    /// preprocessing found no digit. A reading is the most probable digit when it reaches
    /// the threshold and beats the model's "no digit".
    pub fn update(&mut self, t_ms: u64, probs: Option<&Probabilities>) -> Decision {
        let (digit, confidence) = read(probs, self.cfg.threshold);
        if self.inhibited {
            return Decision { digit, confidence, voted: None, command: None, wheels: (0.0, 0.0) };
        }
        self.history.push_back(digit);
        while self.history.len() > self.cfg.votes {
            self.history.pop_front();
        }
        if digit.is_some() {
            self.last_confident_ms = Some(t_ms);
        }
        let voted = self.vote();
        let mut command = None;
        if let Some(spec) = voted.and_then(|d| self.cfg.actions[d as usize]) {
            let cooled = self.last_action_ms.is_none_or(|t| t_ms.saturating_sub(t) >= self.cfg.cooldown_ms);
            match spec.motion {
                // Stopping ignores the cooldown: it is never unsafe.
                Motion::Stop if self.moving() => command = Some((Command::Stop, Reason::Digit)),
                Motion::Stop | Motion::None => {}
                motion if cooled => {
                    let (left, right) = motion.wheels(spec.speed);
                    command = Some((Command::Drive { motion, left, right }, Reason::Digit));
                    self.motion_until_ms = t_ms + spec.duration_ms;
                    self.last_action_ms = Some(t_ms);
                }
                _ => {}
            }
        }
        if command.is_none() && self.moving() {
            let since_confident = self.last_confident_ms.map_or(u64::MAX, |t| t_ms.saturating_sub(t));
            if t_ms >= self.motion_until_ms {
                command = Some((Command::Stop, Reason::Done));
            } else if since_confident >= self.cfg.hold_ms {
                command = Some((Command::Stop, Reason::Hold));
            }
        }
        match command {
            Some((Command::Drive { left, right, .. }, _)) => self.wheels = (left, right),
            Some((Command::Stop, _)) => self.wheels = (0.0, 0.0),
            None => {}
        }
        Decision { digit, confidence, voted, command, wheels: self.wheels }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> DecisionConfig {
        let mut actions = [None; 10];
        actions[0] = Some(ActionSpec { motion: Motion::Stop, speed: 0.0, duration_ms: 0 });
        actions[1] = Some(ActionSpec { motion: Motion::Forward, speed: 0.5, duration_ms: 1000 });
        actions[3] = Some(ActionSpec { motion: Motion::Left, speed: 0.3, duration_ms: 500 });
        actions[7] = Some(ActionSpec { motion: Motion::None, speed: 0.0, duration_ms: 0 });
        DecisionConfig { threshold: 0.8, votes: 5, agreement: 3, cooldown_ms: 2000, hold_ms: 300, actions }
    }

    fn probs(d: usize, p: f32) -> Probabilities {
        let mut v = [(1.0 - p) / 9.0; 11];
        v[NO_DIGIT] = 0.0;
        v[d] = p;
        v
    }

    #[test]
    fn vote_needs_agreement_then_acts_once_per_cooldown() {
        let mut d = Decider::new(cfg());
        let p1 = probs(1, 0.95);
        assert_eq!(d.update(0, Some(&p1)).command, None);
        assert_eq!(d.update(100, Some(&p1)).command, None);
        let third = d.update(200, Some(&p1));
        assert_eq!(third.voted, Some(1));
        assert_eq!(
            third.command,
            Some((Command::Drive { motion: Motion::Forward, left: 0.5, right: 0.5 }, Reason::Digit))
        );
        // Still voting 1, but within the cooldown: no new command.
        assert_eq!(d.update(300, Some(&p1)).command, None);
        assert_eq!(d.update(300, Some(&p1)).wheels, (0.5, 0.5));
        // Duration over at 1200.
        assert_eq!(d.update(1200, Some(&p1)).command, Some((Command::Stop, Reason::Done)));
        // Cooldown over at 2200: acts again.
        assert!(matches!(d.update(2200, Some(&p1)).command, Some((Command::Drive { .. }, Reason::Digit))));
    }

    #[test]
    fn low_confidence_is_no_digit() {
        let mut d = Decider::new(cfg());
        for t in 0..10 {
            let out = d.update(t * 100, Some(&probs(1, 0.6)));
            assert_eq!((out.digit, out.command), (None, None));
            assert!((out.confidence - 0.6).abs() < 1e-6);
        }
    }

    #[test]
    fn stops_after_hold_without_a_confident_digit() {
        let mut d = Decider::new(cfg());
        for t in 0..3 {
            d.update(t * 100, Some(&probs(1, 0.95)));
        }
        assert_eq!(d.update(300, None).command, None);
        assert_eq!(d.update(400, None).command, None);
        // Last confident at 200; 200 + 300 = 500.
        assert_eq!(d.update(500, None).command, Some((Command::Stop, Reason::Hold)));
        assert_eq!(d.update(600, None).command, None, "already stopped");
    }

    #[test]
    fn stop_digit_overrides_cooldown_and_none_never_moves() {
        let mut d = Decider::new(cfg());
        for t in 0..3 {
            d.update(t * 10, Some(&probs(3, 0.99)));
        }
        assert_eq!(d.update(30, Some(&probs(3, 0.99))).wheels, (-0.3, 0.3));
        d.update(40, Some(&probs(0, 0.99)));
        d.update(50, Some(&probs(0, 0.99)));
        let out = d.update(60, Some(&probs(0, 0.99)));
        assert_eq!(out.voted, Some(0));
        assert_eq!(out.command, Some((Command::Stop, Reason::Digit)));
        let mut d = Decider::new(cfg());
        for t in 0..10 {
            let out = d.update(t * 10, Some(&probs(7, 0.99)));
            assert_eq!((out.command, out.wheels), (None, (0.0, 0.0)));
        }
    }

    #[test]
    fn an_inhibited_decider_reads_but_never_acts_and_starts_afresh() {
        let mut d = Decider::new(cfg());
        let p1 = probs(1, 0.95);
        for t in [0, 10] {
            d.update(t, Some(&p1));
        }
        d.inhibit(true);
        for t in [20, 30, 40, 50] {
            let r = d.update(t, Some(&p1));
            assert_eq!((r.digit, r.voted, r.command, r.wheels), (Some(1), None, None, (0.0, 0.0)), "t={t}");
        }
        d.inhibit(false);
        // Two readings before the hold do not count: three fresh ones are needed.
        assert_eq!(d.update(60, Some(&p1)).command, None);
        assert_eq!(d.update(70, Some(&p1)).command, None);
        assert!(matches!(d.update(80, Some(&p1)).command, Some((Command::Drive { .. }, Reason::Digit))));
    }

    #[test]
    fn the_models_no_digit_wins_over_a_weaker_digit() {
        let mut d = Decider::new(DecisionConfig { threshold: 0.3, ..cfg() });
        let mut p = probs(1, 0.35);
        p[NO_DIGIT] = 0.6;
        let r = d.update(0, Some(&p));
        assert_eq!((r.digit, r.confidence), (None, 0.35), "no digit, though 1 passed the threshold");
        p[NO_DIGIT] = 0.2;
        assert_eq!(d.update(10, Some(&p)).digit, Some(1));
    }
}
