//! One pipeline, two transports: what `salespulse replay` and the live
//! service share, so that "live equals replay" holds by construction.
//!
//! A [`Pipeline`] owns the engines of some partitions (replay: all of them;
//! a service instance: those the consumer group assigned it). A record goes
//! to the engine of its rep's partition ([`routing`], Kafka's murmur2);
//! assist credits go to the helper's engine, applied here when this
//! pipeline owns every partition ([`Credits::Local`]) or handed to the sink
//! for the by-rep topic ([`Credits::Remote`]). Outputs reach the [`Sink`] in
//! one order: partition by partition, each engine's outbox in the order the
//! engine queued it. [`Emit::All`] is the final-records rule: every owned
//! rep gets a record at its partition's stream time, so the last record per
//! rep equals a replay of the same input.
//!
//! Nothing here does I/O: sources and sinks are the drivers' (files in
//! `replay`, Kafka in `crates/kafka`).

mod credit_wire;
pub mod routing;

use std::collections::BTreeMap;

use salespulse_engine::{
    Applied, Credit, CreditOutcome, Emit, Engine, EngineConfig, Output, Stats,
};
use salespulse_model::record::{
    CoachingRecord, KpiRecord, LastPeriodsRecord, ScoreRecord, StatementRecord,
};
use salespulse_model::{AlertRecord, Rejection};

pub use credit_wire::{decode_credit, encode_credit, KIND_CREDIT, KIND_HEADER};
pub use routing::{murmur2, partition_for, rep_id_of};

/// Where the pipeline's outputs go.
pub trait Sink {
    /// What a failed send is.
    type Error;
    /// A score record or period summary of an engine of `partition`.
    fn record(&mut self, partition: i32, record: &ScoreRecord) -> Result<(), Self::Error>;
    /// An alert record.
    fn alert(&mut self, partition: i32, alert: &AlertRecord) -> Result<(), Self::Error>;
    /// A rep's KPI record, when due (after the score record it goes with).
    fn kpis(&mut self, partition: i32, kpis: &KpiRecord) -> Result<(), Self::Error>;
    /// A rep's coaching that changed (after the score record it goes with).
    fn coaching(&mut self, partition: i32, coaching: &CoachingRecord) -> Result<(), Self::Error>;
    /// A rep's last periods that changed (after its KPI record).
    fn last_periods(&mut self, partition: i32, l: &LastPeriodsRecord) -> Result<(), Self::Error>;
    /// A commission statement that changed (after the record it goes with).
    fn statement(&mut self, partition: i32, statement: &StatementRecord)
        -> Result<(), Self::Error>;
    /// An assist credit for a helper on another instance ([`Credits::Remote`]).
    fn credit(&mut self, from: i32, credit: &Credit) -> Result<(), Self::Error>;
    /// A rep's changelog record.
    fn state(&mut self, partition: i32, rep_id: &str, bytes: &[u8]) -> Result<(), Self::Error>;
}

/// A sink that keeps what it is sent, in order: for replay, which writes
/// files after each record, and for tests.
#[derive(Debug, Default)]
pub struct Collected {
    /// Score records and period summaries.
    pub records: Vec<ScoreRecord>,
    /// Alert records.
    pub alerts: Vec<AlertRecord>,
    /// KPI records.
    pub kpis: Vec<KpiRecord>,
    /// Coaching records.
    pub coaching: Vec<CoachingRecord>,
    /// Last periods records.
    pub last_periods: Vec<LastPeriodsRecord>,
    /// Commission statements.
    pub statements: Vec<StatementRecord>,
    /// Credits for other instances, with the partition that made them.
    pub credits: Vec<(i32, Credit)>,
    /// Changelog records: (partition, rep_id, value).
    pub states: Vec<(i32, Box<str>, Vec<u8>)>,
}

impl Sink for Collected {
    type Error = std::convert::Infallible;
    fn record(&mut self, _: i32, record: &ScoreRecord) -> Result<(), Self::Error> {
        self.records.push(record.clone());
        Ok(())
    }
    fn alert(&mut self, _: i32, alert: &AlertRecord) -> Result<(), Self::Error> {
        self.alerts.push(alert.clone());
        Ok(())
    }
    fn kpis(&mut self, _: i32, kpis: &KpiRecord) -> Result<(), Self::Error> {
        self.kpis.push(kpis.clone());
        Ok(())
    }
    fn coaching(&mut self, _: i32, coaching: &CoachingRecord) -> Result<(), Self::Error> {
        self.coaching.push(coaching.clone());
        Ok(())
    }
    fn last_periods(&mut self, _: i32, l: &LastPeriodsRecord) -> Result<(), Self::Error> {
        self.last_periods.push(l.clone());
        Ok(())
    }
    fn statement(&mut self, _: i32, statement: &StatementRecord) -> Result<(), Self::Error> {
        self.statements.push(statement.clone());
        Ok(())
    }
    fn credit(&mut self, from: i32, credit: &Credit) -> Result<(), Self::Error> {
        self.credits.push((from, credit.clone()));
        Ok(())
    }
    fn state(&mut self, partition: i32, rep_id: &str, bytes: &[u8]) -> Result<(), Self::Error> {
        self.states.push((partition, rep_id.into(), bytes.to_vec()));
        Ok(())
    }
}

impl Collected {
    /// Takes what was collected, leaving it empty.
    pub fn take(&mut self) -> Collected {
        std::mem::take(self)
    }
}

/// Where assist credits are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credits {
    /// This pipeline owns every partition: a credit is applied in the
    /// helper's engine at once (one engine applies its own).
    Local,
    /// Partitions are spread over instances: credits go to the sink, which
    /// sends them through the by-rep topic to the helper's owner.
    Remote,
}

/// Where a record sits in the input (the live service tracks offsets per
/// input topic, numbered by `slot`; replay does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    /// The input topic's slot.
    pub slot: usize,
    /// The record's offset in its partition.
    pub offset: i64,
    /// Sum over the partition's topics of the next offset to read, which
    /// only grows: record versions are at least `position << 10`.
    pub position: u64,
}

/// An owned partition's engine and the outputs drained from it that wait
/// for the next [`Pipeline::emit`].
struct Owned {
    engine: Engine,
    held: Vec<Output>,
}

/// The engines of the partitions this pipeline owns.
pub struct Pipeline {
    cfg: EngineConfig,
    partitions: i32,
    credits: Credits,
    owned: BTreeMap<i32, Owned>,
}

impl Pipeline {
    /// A pipeline over `partitions` partitions that owns none yet.
    pub fn new(cfg: EngineConfig, partitions: i32, credits: Credits) -> Self {
        Pipeline {
            cfg,
            partitions: partitions.max(1),
            credits,
            owned: BTreeMap::new(),
        }
    }

    /// A pipeline that owns all `partitions` partitions, each with a fresh
    /// engine, and applies credits itself: a replay.
    pub fn owning_all(cfg: EngineConfig, partitions: i32) -> Self {
        let mut p = Pipeline::new(cfg, partitions, Credits::Local);
        for partition in 0..p.partitions {
            let e = p.fresh_engine(partition);
            p.assign(partition, e);
        }
        p
    }

    /// A new engine for `partition`, set up as this pipeline runs engines.
    pub fn fresh_engine(&self, partition: i32) -> Engine {
        let mut e = Engine::new(self.cfg.clone());
        self.configure(&mut e, partition);
        e
    }

    fn configure(&self, e: &mut Engine, partition: i32) {
        // One engine owning everything applies its own credits; otherwise
        // they leave the engine and are routed to the helper's partition.
        let single = self.credits == Credits::Local && self.partitions == 1;
        e.set_route_credits(!single);
        e.set_partition(partition);
    }

    /// Takes `partition` over with `engine` (fresh or restored).
    pub fn assign(&mut self, partition: i32, mut engine: Engine) {
        self.configure(&mut engine, partition);
        let held = engine.drain().0;
        self.owned.insert(partition, Owned { engine, held });
    }

    /// Gives `partition` up; the caller emits and checkpoints first.
    pub fn revoke(&mut self, partition: i32) -> Option<Engine> {
        self.owned.remove(&partition).map(|o| o.engine)
    }

    /// Whether `partition` is owned.
    pub fn owns(&self, partition: i32) -> bool {
        self.owned.contains_key(&partition)
    }

    /// The owned partitions, ascending.
    pub fn owned(&self) -> impl Iterator<Item = i32> + '_ {
        self.owned.keys().copied()
    }

    /// Partitions of the processed topics.
    pub fn partitions(&self) -> i32 {
        self.partitions
    }

    /// The engine of an owned partition.
    pub fn engine(&self, partition: i32) -> Option<&Engine> {
        self.owned.get(&partition).map(|o| &o.engine)
    }

    /// Every owned engine, by partition.
    pub fn engines(&self) -> impl Iterator<Item = (i32, &Engine)> + '_ {
        self.owned.iter().map(|(p, o)| (*p, &o.engine))
    }

    /// Every owned engine, mutably, by partition.
    pub fn engines_mut(&mut self) -> impl Iterator<Item = (i32, &mut Engine)> + '_ {
        self.owned.iter_mut().map(|(p, o)| (*p, &mut o.engine))
    }

    /// The partition of `rep_id`.
    pub fn partition_of(&self, rep_id: &str) -> i32 {
        partition_for(rep_id.as_bytes(), self.partitions)
    }

    /// The partition an event record belongs to, by its rep_id (a record
    /// without a readable one goes to partition 0, whose engine rejects it).
    pub fn route(&self, record: &[u8]) -> i32 {
        if self.partitions == 1 {
            return 0; // reading the key would parse the record twice
        }
        rep_id_of(record).map_or(0, |rep| self.partition_of(rep))
    }

    /// Applies an event record in `partition`'s engine (which must be
    /// owned); `now_ms` is the ingest clock of the future check. Credits it
    /// makes are routed at once; its other outputs wait for [`Pipeline::emit`].
    pub fn ingest<S: Sink>(
        &mut self,
        partition: i32,
        record: &[u8],
        now_ms: Option<i64>,
        at: Option<At>,
        sink: &mut S,
    ) -> Result<Result<Applied, Rejection>, S::Error> {
        let Some(o) = self.owned.get_mut(&partition) else {
            return Ok(Ok(Applied::AlreadyApplied));
        };
        let result = match at {
            Some(at) => {
                o.engine.set_position(at.position);
                o.engine.ingest_from(record, now_ms, at.slot, at.offset)
            }
            None => o.engine.ingest(record, now_ms).map(Applied::Event),
        };
        self.settle(partition, sink)?;
        Ok(result)
    }

    /// Applies an assist credit in `partition`'s engine (the helper's).
    pub fn apply_credit<S: Sink>(
        &mut self,
        partition: i32,
        credit: &Credit,
        at: Option<At>,
        sink: &mut S,
    ) -> Result<CreditOutcome, S::Error> {
        let Some(o) = self.owned.get_mut(&partition) else {
            return Ok(CreditOutcome::AlreadyApplied);
        };
        let outcome = match at {
            Some(at) => {
                o.engine.set_position(at.position);
                o.engine.apply_credit_from(credit, at.slot, at.offset)
            }
            None => o.engine.apply_credit(credit),
        };
        self.settle(partition, sink)?;
        Ok(outcome)
    }

    /// Moves `partition`'s stream time to `t` without an event (an idle
    /// partition's clock, live or recorded; [`Engine::advance_clock`]).
    /// What the move raised waits for the next [`Pipeline::emit`]. Returns
    /// whether stream time moved.
    pub fn advance_clock<S: Sink>(
        &mut self,
        partition: i32,
        t: i64,
        sink: &mut S,
    ) -> Result<bool, S::Error> {
        let Some(o) = self.owned.get_mut(&partition) else {
            return Ok(false);
        };
        let moved = o.engine.advance_clock(t);
        self.settle(partition, sink)?;
        Ok(moved)
    }

    /// Drains `partition`'s engine: credits are routed now, the rest held
    /// for the next emission.
    fn settle<S: Sink>(&mut self, partition: i32, sink: &mut S) -> Result<(), S::Error> {
        let Some(o) = self.owned.get_mut(&partition) else {
            return Ok(());
        };
        let mut credits = Vec::new();
        for out in o.engine.drain() {
            match out {
                Output::Credit(c) => credits.push(c),
                other => o.held.push(other),
            }
        }
        for c in credits {
            let to = self.partition_of(&c.rep_id);
            match self.credits {
                Credits::Local if self.owned.contains_key(&to) => {
                    if let Some(target) = self.owned.get_mut(&to) {
                        target.engine.apply_credit(&c);
                        let drained = target.engine.drain().0;
                        target.held.extend(drained);
                    }
                }
                _ => sink.credit(partition, &c)?,
            }
        }
        Ok(())
    }

    /// Sends every owned partition's held outputs and what `emit` asks of
    /// its engine ([`Emit`]), partition by partition.
    pub fn emit<S: Sink>(&mut self, emit: Emit, sink: &mut S) -> Result<(), S::Error> {
        let partitions: Vec<i32> = self.owned.keys().copied().collect();
        for p in partitions {
            if let Some(o) = self.owned.get_mut(&p) {
                o.engine.flush(emit);
            }
            self.send(p, sink)?;
        }
        Ok(())
    }

    /// Sends every owned partition's changelog records of the reps changed
    /// since the last checkpoint (and whatever else is held).
    pub fn checkpoint<S: Sink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let partitions: Vec<i32> = self.owned.keys().copied().collect();
        for p in partitions {
            if let Some(o) = self.owned.get_mut(&p) {
                o.engine.checkpoint();
            }
            self.send(p, sink)?;
        }
        Ok(())
    }

    fn send<S: Sink>(&mut self, p: i32, sink: &mut S) -> Result<(), S::Error> {
        let Some(o) = self.owned.get_mut(&p) else {
            return Ok(());
        };
        let mut out = std::mem::take(&mut o.held);
        out.extend(o.engine.drain());
        let mut credits = Vec::new();
        for output in out {
            match output {
                Output::Record(r) => sink.record(p, &r)?,
                Output::Alert(a) => sink.alert(p, &a)?,
                Output::Kpis(k) => sink.kpis(p, &k)?,
                Output::Coaching(c) => sink.coaching(p, &c)?,
                Output::LastPeriods(l) => sink.last_periods(p, &l)?,
                Output::Statement(s) => sink.statement(p, &s)?,
                Output::State { rep_id, bytes } => sink.state(p, &rep_id, &bytes)?,
                Output::Credit(c) => credits.push(c),
            }
        }
        for c in credits {
            sink.credit(p, &c)?;
        }
        Ok(())
    }

    /// Hands a new profile timeline to every owned engine (and to engines
    /// created later); returns the partitions where a version took effect
    /// before stream time reached it (see `Engine::set_profiles`).
    pub fn set_profiles(&mut self, cfg: &EngineConfig) -> Vec<i32> {
        self.cfg.profiles = cfg.profiles.clone();
        let mut late = Vec::new();
        for (p, o) in &mut self.owned {
            if o.engine.set_profiles(cfg.profiles.clone()) {
                late.push(*p);
            }
        }
        late
    }

    /// Counters over every owned engine.
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        for o in self.owned.values() {
            total.add(o.engine.stats());
        }
        total
    }

    /// Reps held over every owned engine.
    pub fn rep_count(&self) -> usize {
        self.owned.values().map(|o| o.engine.rep_count()).sum()
    }

    /// Estimated heap bytes of every owned engine's rep state.
    pub fn heap_bytes(&self) -> usize {
        self.owned.values().map(|o| o.engine.heap_bytes()).sum()
    }
}
