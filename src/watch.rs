//! The watch hub: one actor through which every committed workspace change
//! reaches the streams watching it. Each subscriber has a bounded buffer; a
//! subscriber that falls behind is told to resynchronise instead of being
//! dropped behind or slowing the others.
//!
//! The hub hears of changes through an [`EventBus`]: on SQLite the
//! in-process bus (every commit of this process, after it commits); on
//! PostgreSQL the same plus LISTEN/NOTIFY, which brings every other
//! replica's commits and a resync when the listening connection was lost.

use std::collections::{HashMap, HashSet};

use std::sync::Arc;
use std::time::Instant;

use actix::{Actor, AsyncContext, Context, Handler, Message};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use uuid::Uuid;

use crate::domain::{Change, ChangeSink, Event};

/// Where committed changes come from; see the module documentation.
pub trait EventBus {
    /// Hands every event from now on to `sink`.
    fn subscribe(&self, sink: ChangeSink);
}

impl EventBus for crate::domain::Db {
    fn subscribe(&self, sink: ChangeSink) {
        self.set_change_sink(sink);
    }
}

/// Feeds the hub at `hub` from `bus`.
pub fn listen(bus: &dyn EventBus, hub: actix::Addr<Hub>) {
    bus.subscribe(Arc::new(move |event| match event {
        // Another replica's commit is timed from when this one heard it.
        Event::Changed(changes) => hub.do_send(Publish(changes, Instant::now())),
        Event::Resync => hub.do_send(ResyncAll),
    }));
}

/// Buffered notes per subscriber before it must resynchronise.
pub const BUFFER: usize = 64;

/// What a subscriber is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// This workspace changed (the kind is informative).
    Changed(Uuid, &'static str),
    /// Notes were lost: reload everything.
    Resync,
}

/// What a subscriber follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scope {
    Workspace(Uuid),
    /// Every workspace; the subscriber filters by visibility and query.
    All,
}

struct Sub {
    scope: Scope,
    tx: mpsc::Sender<Note>,
    overflowed: bool,
}

/// Given the watched workspaces, those whose state changed by the clock
/// alone (an agent timing out or going silent) since they were last shown.
pub type Clock = Box<dyn Fn(&[Uuid]) -> Vec<Uuid> + Send>;

/// How many subscribers the hub holds, readable at any time and waitable:
/// monitoring reads it, tests wait on it instead of polling.
#[derive(Debug, Default)]
pub struct Gauge {
    value: std::sync::Mutex<usize>,
    changed: std::sync::Condvar,
}

impl Gauge {
    pub fn get(&self) -> usize {
        *self.value.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, n: usize) {
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = n;
        self.changed.notify_all();
    }

    /// Blocks until `pred` holds of the value or `timeout` passes; returns
    /// the last value seen.
    pub fn wait_until(&self, timeout: std::time::Duration, pred: impl Fn(usize) -> bool) -> usize {
        let value = self.value.lock().unwrap_or_else(|e| e.into_inner());
        let (value, _) = self
            .changed
            .wait_timeout_while(value, timeout, |v| !pred(*v))
            .unwrap_or_else(|e| e.into_inner());
        *value
    }
}

/// How often the hub looks for changes made by the clock.
const TICK: std::time::Duration = std::time::Duration::from_secs(1);

pub struct Hub {
    clock: Option<Clock>,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    subs: HashMap<u64, Sub>,
    by_workspace: HashMap<Uuid, HashSet<u64>>,
    all: HashSet<u64>,
    next: u64,
    count: Arc<Gauge>,
}

impl Hub {
    pub fn new(count: Arc<Gauge>) -> Hub {
        Hub {
            clock: None,
            metrics: None,
            subs: HashMap::new(),
            by_workspace: HashMap::new(),
            all: HashSet::new(),
            next: 1,
            count,
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some(sub) = self.subs.remove(&id) {
            match sub.scope {
                Scope::Workspace(w) => {
                    if let Some(set) = self.by_workspace.get_mut(&w) {
                        set.remove(&id);
                        if set.is_empty() {
                            self.by_workspace.remove(&w);
                        }
                    }
                }
                Scope::All => {
                    self.all.remove(&id);
                }
            }
        }
        self.count.set(self.subs.len());
    }

    /// Delivers one note; returns false when the subscriber is gone.
    fn deliver(sub: &mut Sub, note: Note, metrics: Option<&crate::metrics::Metrics>) -> bool {
        if sub.overflowed {
            match sub.tx.try_send(Note::Resync) {
                Ok(()) => {
                    sub.overflowed = false;
                    if let Some(m) = metrics {
                        m.watch_resyncs.inc();
                    }
                }
                Err(TrySendError::Closed(_)) => return false,
                Err(TrySendError::Full(_)) => return true,
            }
            // The resync covers this note too.
            return true;
        }
        match sub.tx.try_send(note) {
            Ok(()) => {
                if let Some(m) = metrics {
                    m.watch_deliveries.inc();
                }
                true
            }
            Err(TrySendError::Closed(_)) => false,
            Err(TrySendError::Full(_)) => {
                sub.overflowed = true;
                true
            }
        }
    }
}

impl Hub {
    /// Counts deliveries, resyncs and their latency.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Hub {
        self.metrics = Some(metrics);
        self
    }

    /// Also push changes that only time makes.
    pub fn with_clock(mut self, clock: Clock) -> Hub {
        self.clock = Some(clock);
        self
    }

    fn tick(&mut self) {
        let Some(clock) = &self.clock else { return };
        let watched: Vec<Uuid> = self.by_workspace.keys().copied().collect();
        if watched.is_empty() {
            return;
        }
        let changed: Vec<Change> = clock(&watched).into_iter().map(|w| (w, "agent")).collect();
        if !changed.is_empty() {
            self.publish(changed, Instant::now());
        }
    }

    /// Hands each change to its subscribers; `committed` is when the
    /// changes were made.
    fn publish(&mut self, changes: Vec<Change>, committed: Instant) {
        let metrics = self.metrics.clone();
        let mut reached = false;
        let mut gone = Vec::new();
        let mut seen: HashSet<(u64, Uuid)> = HashSet::new();
        for (workspace, kind) in changes {
            let targets: Vec<u64> = self
                .by_workspace
                .get(&workspace)
                .into_iter()
                .flatten()
                .chain(self.all.iter())
                .copied()
                .collect();
            for id in targets {
                // One note per subscriber and workspace per transaction.
                if !seen.insert((id, workspace)) {
                    continue;
                }
                if let Some(sub) = self.subs.get_mut(&id) {
                    reached = true;
                    if !Hub::deliver(sub, Note::Changed(workspace, kind), metrics.as_deref()) {
                        gone.push(id);
                    }
                }
            }
        }
        if let Some(m) = metrics.as_ref().filter(|_| reached) {
            m.watch_latency.observe(committed.elapsed().as_secs_f64());
        }
        for id in gone {
            self.remove(id);
        }
    }
}

impl Actor for Hub {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(TICK, |hub, _| hub.tick());
    }
}

#[derive(Message)]
#[rtype(result = "u64")]
pub struct Subscribe {
    pub scope: Scope,
    pub tx: mpsc::Sender<Note>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe(pub u64);

/// Changes committed at the given instant.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish(pub Vec<Change>, pub Instant);

/// Changes may have been missed (the bus lost its connection): every
/// subscriber reloads.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResyncAll;

impl Handler<ResyncAll> for Hub {
    type Result = ();

    fn handle(&mut self, _: ResyncAll, _: &mut Context<Self>) {
        let mut gone = Vec::new();
        for (id, sub) in self.subs.iter_mut() {
            match sub.tx.try_send(Note::Resync) {
                Ok(()) => sub.overflowed = false,
                // Its next delivery will be the resync.
                Err(TrySendError::Full(_)) => sub.overflowed = true,
                Err(TrySendError::Closed(_)) => gone.push(*id),
            }
        }
        for id in gone {
            self.remove(id);
        }
    }
}

/// The server is stopping: every subscriber is let go, which ends its stream.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseAll;

impl Handler<CloseAll> for Hub {
    type Result = ();

    fn handle(&mut self, _: CloseAll, _: &mut Context<Self>) {
        self.subs.clear();
        self.by_workspace.clear();
        self.all.clear();
        self.count.set(0);
    }
}

impl Handler<Subscribe> for Hub {
    type Result = u64;

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) -> u64 {
        let id = self.next;
        self.next += 1;
        match msg.scope {
            Scope::Workspace(w) => {
                self.by_workspace.entry(w).or_default().insert(id);
            }
            Scope::All => {
                self.all.insert(id);
            }
        }
        self.subs.insert(
            id,
            Sub {
                scope: msg.scope,
                tx: msg.tx,
                overflowed: false,
            },
        );
        self.count.set(self.subs.len());
        id
    }
}

impl Handler<Unsubscribe> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        self.remove(msg.0);
    }
}

impl Handler<Publish> for Hub {
    type Result = ();

    fn handle(&mut self, msg: Publish, _: &mut Context<Self>) {
        self.publish(msg.0, msg.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix::test]
    async fn slow_subscribers_are_told_to_resync_and_gone_ones_removed() {
        let count = Arc::new(Gauge::default());
        let hub = Hub::new(count.clone()).start();
        let w = Uuid::new_v4();
        let (tx, mut rx) = mpsc::channel(1);
        let (fast_tx, mut fast_rx) = mpsc::channel(BUFFER);
        hub.send(Subscribe {
            scope: Scope::Workspace(w),
            tx,
        })
        .await
        .unwrap();
        hub.send(Subscribe {
            scope: Scope::All,
            tx: fast_tx,
        })
        .await
        .unwrap();
        assert_eq!(count.get(), 2);
        for _ in 0..5 {
            hub.send(Publish(vec![(w, "state_change")], Instant::now()))
                .await
                .unwrap();
        }
        // The slow one got the first note, then was marked for resync.
        assert_eq!(rx.try_recv().unwrap(), Note::Changed(w, "state_change"));
        hub.send(Publish(vec![(w, "state_change")], Instant::now()))
            .await
            .unwrap();
        assert_eq!(rx.try_recv().unwrap(), Note::Resync);
        // The fast one saw every note.
        let mut n = 0;
        while fast_rx.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, 6);
        drop(rx);
        drop(fast_rx);
        hub.send(Publish(vec![(w, "state_change")], Instant::now()))
            .await
            .unwrap();
        assert_eq!(count.get(), 0);
    }

    #[actix::test]
    async fn a_resync_reaches_every_subscriber() {
        let count = Arc::new(Gauge::default());
        let hub = Hub::new(count.clone()).start();
        let (one, mut one_rx) = mpsc::channel(BUFFER);
        let (all, mut all_rx) = mpsc::channel(1);
        hub.send(Subscribe {
            scope: Scope::Workspace(Uuid::new_v4()),
            tx: one,
        })
        .await
        .unwrap();
        hub.send(Subscribe {
            scope: Scope::All,
            tx: all,
        })
        .await
        .unwrap();
        // The second one's buffer is full: it gets the resync next.
        hub.send(Publish(vec![(Uuid::new_v4(), "x")], Instant::now()))
            .await
            .unwrap();
        hub.send(ResyncAll).await.unwrap();
        assert_eq!(one_rx.try_recv().unwrap(), Note::Resync);
        assert!(matches!(all_rx.try_recv().unwrap(), Note::Changed(..)));
        hub.send(Publish(vec![(Uuid::new_v4(), "x")], Instant::now()))
            .await
            .unwrap();
        assert_eq!(all_rx.try_recv().unwrap(), Note::Resync);
    }
}
