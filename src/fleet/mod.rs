//! Many ports at once: bounded concurrency, one throttle, one store.

mod inputs;
mod leases;
mod progress;
mod trace;

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::cancel::CancelToken;
pub use inputs::{FleetInputs, InputMap};
pub use progress::{
    FleetEvent, FleetProgress, FleetReport, ProgressColumn, SessionOutcome, SessionResult,
};

use crate::actor::Actor;
use crate::client::{PortingClient, PortingClientBuilder};
use crate::error::{ApiErrorKind, ConfigError, Error, WaitReason};
use crate::operation::Operation;
use crate::params::{CodeMethod, Language};
use crate::session::{NextAction, PortingSession, CODE_LIFETIME};
use crate::state::{PortingState, StateName};
use crate::store::{Acquired, Claimed, SessionKey, SessionStore, StoreError, WorkerId};
use crate::throttle::Throttle;
use crate::time::Timestamp;
use leases::{LeaseBook, LeasedCheckpoint};

/// The default number of sessions a fleet advances at once.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// The shortest lease a fleet takes by default (see [`FleetBuilder::lease`]).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5 * 60);

/// The default of [`FleetBuilder::max_code_requests`].
pub const DEFAULT_MAX_CODE_REQUESTS: u32 = 3;

/// The default of [`FleetBuilder::recheck_after`]: how long a step Meta
/// refused until someone acts waits before the fleet sends it again.
pub const DEFAULT_RECHECK_AFTER: Duration = Duration::from_secs(10 * 60);

/// Steps one session may take in one run (a port needs at most six: a
/// reconcile, four steps and a spare); a bound, so no input can make a
/// session loop.
const MAX_STEPS_PER_RUN: usize = 8;

type EventSink = dyn Fn(&FleetEvent<'_>, &FleetProgress) + Send + Sync;

/// Ports many numbers, one [`PortingSession`] each, on one
/// [`PortingClient`]: up to [`concurrency`](FleetBuilder::concurrency)
/// sessions at once, every request paced by one shared [`Throttle`], every
/// session saved to one [`SessionStore`] before each side-effecting request
/// and after each outcome.
///
/// A run advances each session as far as it can without a person — start,
/// request the code; verify and register once [`FleetInputs`] has the code
/// and the PIN — and stops it at the first state that waits for someone
/// (the customer's approval or code, the previous provider's two-step
/// change, a time to retry at). One session failing stops no other. Run
/// the fleet again (or [`resume`](Self::resume) after a restart) to move
/// the waiting ones on: each session continues from the store, and a step
/// whose outcome was lost is reconciled first, never blindly repeated.
///
/// The run is one future: poll it on any runtime. It drives its sessions
/// concurrently on the task that polls it (like
/// `futures::stream::buffer_unordered`), which suits the I/O-bound work.
///
/// (The example runs on the simulator, with the default `simulator` feature.)
#[cfg_attr(
    feature = "simulator",
    doc = r#"
```
use std::sync::Arc;
use waba_porting::simulator::Scenario;
use waba_porting::{Fleet, InMemoryStore, Pin};

# #[tokio::main(flavor = "current_thread")]
# async fn main() -> Result<(), Box<dyn std::error::Error>> {
let sim = Scenario::happy_path().build();
let sessions: Vec<_> = (0..10)
    .map(|i| sim.add_number(&Scenario::happy_path().numbered(i)))
    .collect();
let fleet = Fleet::builder(sim.client_builder(), Arc::new(InMemoryStore::new()))
    .inputs(sim.customers(Pin::new("482913")?))
    .concurrency(4)
    .build()?;
let report = fleet.run(sessions).await;
assert_eq!(report.progress.registered, 10);
# Ok(()) }
```
"#
)]
pub struct Fleet {
    client: PortingClient,
    settings: Settings,
    /// The leases this fleet's runs hold, which its client's checkpoint
    /// saves under.
    leases: Arc<LeaseBook>,
    /// How long a lease lasts.
    lease_for: Duration,
    /// The longest one step can take (retries, throttle waits and the
    /// last request's timeout included): a step starts only with at least
    /// this much of its lease left.
    step_bound: Duration,
    /// When this fleet last shared its rate view with the store.
    rate_synced: Mutex<Option<Timestamp>>,
}

/// What a fleet is configured with, besides its client.
struct Settings {
    store: Arc<dyn SessionStore>,
    worker: WorkerId,
    lease: Option<Duration>,
    inputs: Arc<dyn FleetInputs>,
    throttle: Throttle,
    concurrency: usize,
    code_method: CodeMethod,
    language: Language,
    code_wait: Duration,
    max_code_requests: u32,
    recheck_after: Duration,
    cancel: CancelToken,
    on_event: Option<Arc<EventSink>>,
}

impl fmt::Debug for Fleet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fleet")
            .field("client", &self.client)
            .field("settings", &self.settings)
            .field("lease_for", &self.lease_for)
            .finish()
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("store", &self.store)
            .field("worker", &self.worker)
            .field("lease", &self.lease)
            .field("inputs", &self.inputs)
            .field("throttle", &self.throttle)
            .field("concurrency", &self.concurrency)
            .field("code_method", &self.code_method)
            .field("language", &self.language)
            .field("code_wait", &self.code_wait)
            .field("max_code_requests", &self.max_code_requests)
            .field("recheck_after", &self.recheck_after)
            .field("cancelled", &self.cancel.is_cancelled())
            .field("on_event", &self.on_event.is_some())
            .finish()
    }
}

const _: fn() = || {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Fleet>();
};

/// Configures a [`Fleet`]; see [`Fleet::builder`].
#[must_use = "a builder does nothing until build() is called"]
pub struct FleetBuilder {
    client: PortingClientBuilder,
    settings: Settings,
}

impl fmt::Debug for FleetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetBuilder")
            .field("client", &self.client)
            .field("settings", &self.settings)
            .finish()
    }
}

impl FleetBuilder {
    /// Where codes and PINs come from (default: an empty [`InputMap`] —
    /// every session stops at the code).
    pub fn inputs(mut self, inputs: impl FleetInputs + 'static) -> Self {
        self.settings.inputs = Arc::new(inputs);
        self
    }

    /// How many sessions advance at once (default
    /// [`DEFAULT_CONCURRENCY`]; at least 1).
    pub fn concurrency(mut self, sessions: usize) -> Self {
        self.settings.concurrency = sessions.max(1);
        self
    }

    /// The throttle every request goes through (default: [`Throttle::new`],
    /// no budget). Share one throttle between fleets to share its budget.
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.settings.throttle = throttle;
        self
    }

    /// How codes are requested (default SMS).
    pub fn code_method(mut self, method: CodeMethod) -> Self {
        self.settings.code_method = method;
        self
    }

    /// The language of code messages (default `en_US`).
    pub fn language(mut self, language: Language) -> Self {
        self.settings.language = language;
        self
    }

    /// How long a session waits for the customer's code after a code
    /// request whose answer was lost (the code may never have left: a
    /// process stopped between saving and sending, a timeout) before the
    /// fleet requests a new one by itself (default [`CODE_LIFETIME`]: by
    /// then a code sent would have expired anyway). Until then, and after a
    /// confirmed request, the session waits for the customer.
    pub fn code_wait(mut self, wait: Duration) -> Self {
        self.settings.code_wait = wait;
        self
    }

    /// How many code requests may be outstanding — sent since the last
    /// verify attempt ([`Counters::code_requests_since_verify`](crate::Counters::code_requests_since_verify))
    /// — for the fleet to request another code by itself (default
    /// [`DEFAULT_MAX_CODE_REQUESTS`](crate::DEFAULT_MAX_CODE_REQUESTS)):
    /// after a lost answer, or after a code that expired. Past it the
    /// session waits (on us), so nobody is texted again and again by a wire
    /// that keeps losing answers. A code the customer sends, even an
    /// expired one, answers them all.
    pub fn max_code_requests(mut self, requests: u32) -> Self {
        self.settings.max_code_requests = requests;
        self
    }

    /// How long a session whose step Meta refused until someone acts
    /// ([`Recovery::AfterAction`](crate::Recovery::AfterAction) that leaves
    /// the session where it was: a display name to approve, a payment
    /// method to attach, an app to subscribe, a source account to finish)
    /// waits before the fleet sends that step again (default
    /// [`DEFAULT_RECHECK_AFTER`], 10 minutes). Until then each run reports
    /// the session [`Waiting`](SessionOutcome::Waiting) on whoever must
    /// act, with the time of the next try as its `not_before`, and sends
    /// nothing: replicas looping over the store do not resend a refused
    /// request every pass. Once the person acted, call the client's step
    /// yourself to move on at once.
    pub fn recheck_after(mut self, wait: Duration) -> Self {
        self.settings.recheck_after = wait;
        self
    }

    /// Who this fleet is when it leases sessions (default: a fresh
    /// [`WorkerId::random`]). Give each replica a recognizable one (its
    /// host and process id) to read the store's lease columns and
    /// [`SessionOutcome::HeldElsewhere`] reports by.
    pub fn worker_id(mut self, worker: WorkerId) -> Self {
        self.settings.worker = worker;
        self
    }

    /// How long a session stays leased to this fleet without a renewal
    /// (default: the longer of [`DEFAULT_LEASE`] and twice the longest a
    /// step can take — the retry policy's deadline plus two request
    /// timeouts). A step starts only with at least one step's worth of
    /// lease left (the fleet renews it first), so a lease never lapses
    /// mid-step, retries and throttle waits included; a worker that dies
    /// holds its sessions for at most this long before another takes them
    /// over.
    ///
    /// [`build`](Self::build) refuses a lease shorter than a step
    /// ([`ConfigError::LeaseTooShort`]).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.settings.lease = Some(lease);
        self
    }

    /// The token that stops the runs of this fleet (default: a new one; see
    /// [`Fleet::cancel_token`]).
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.settings.cancel = token;
        self
    }

    /// Called on every [`FleetEvent`] with the counts after it, on the task
    /// that polls the run: keep it quick (update a progress bar, send on a
    /// channel).
    pub fn on_event(
        mut self,
        sink: impl Fn(&FleetEvent<'_>, &FleetProgress) + Send + Sync + 'static,
    ) -> Self {
        self.settings.on_event = Some(Arc::new(sink));
        self
    }

    /// Builds the fleet's client (with a checkpoint that saves to the
    /// store under the fleet's leases, the fleet's throttle and cancel
    /// token — replacing any the client builder had) and the fleet.
    ///
    /// # Errors
    /// The client builder's [`ConfigError`], or
    /// [`ConfigError::LeaseTooShort`].
    pub fn build(self) -> Result<Fleet, ConfigError> {
        let leases = Arc::new(LeaseBook::default());
        let client = self
            .client
            .throttle(self.settings.throttle.clone())
            .cancel_token(self.settings.cancel.clone())
            .build()?;
        let step_bound = client
            .retry_policy()
            .deadline()
            .saturating_add(client.timeout().saturating_mul(2));
        let lease_for = match self.settings.lease {
            Some(lease) if lease <= step_bound => {
                return Err(ConfigError::LeaseTooShort {
                    lease,
                    step: step_bound,
                })
            }
            Some(lease) => lease,
            None => DEFAULT_LEASE.max(step_bound.saturating_mul(2)),
        };
        let checkpoint = LeasedCheckpoint::new(
            Arc::clone(&self.settings.store),
            Arc::clone(&leases),
            Arc::clone(client.clock()),
        );
        let client = client.with_checkpoint(Arc::new(checkpoint));
        Ok(Fleet {
            client,
            settings: self.settings,
            leases,
            lease_for,
            step_bound,
            rate_synced: Mutex::new(None),
        })
    }
}

/// Where a run's sessions come from.
enum Feed<I> {
    /// A list, each session leased as it comes ([`Fleet::run`]).
    List(I),
    /// Claims from the store ([`Fleet::resume`]), in batches into `ready`:
    /// after the first, only sessions whose last lease token is below
    /// `floor` (the smallest token of the first batch).
    Claims {
        floor: Option<u64>,
        ready: VecDeque<Claimed>,
    },
}

/// A session to advance: listed (to lease), or claimed (leased).
enum Work {
    Listed(PortingSession),
    Claimed(Claimed),
}

impl Work {
    fn session(&self) -> &PortingSession {
        match self {
            Self::Listed(session) => session,
            Self::Claimed(claimed) => claimed.session(),
        }
    }
}

/// The shared state of one run.
struct Run<'a> {
    fleet: &'a Fleet,
    progress: Mutex<FleetProgress>,
}

impl Run<'_> {
    /// Counts `claimed` sessions into the run, queued.
    fn report_claimed(&self, claimed: usize) {
        let mut progress = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        progress.total += claimed;
        progress.queued += claimed;
    }

    /// Applies `change` to the counts and reports `event` with the result.
    fn report(&self, event: &FleetEvent<'_>, change: impl FnOnce(&mut FleetProgress)) {
        let snapshot = {
            let mut progress = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
            change(&mut progress);
            *progress
        };
        if let Some(sink) = &self.fleet.settings.on_event {
            sink(event, &snapshot);
        }
    }
}

impl Fleet {
    /// Starts configuring a fleet over the client `client` would build and
    /// `store` (pass an `Arc` of your store to keep a handle on it).
    pub fn builder(
        client: PortingClientBuilder,
        store: impl SessionStore + 'static,
    ) -> FleetBuilder {
        FleetBuilder {
            client,
            settings: Settings {
                store: Arc::new(store),
                worker: WorkerId::random(),
                lease: None,
                inputs: Arc::new(InputMap::new()),
                throttle: Throttle::new(),
                concurrency: DEFAULT_CONCURRENCY,
                code_method: CodeMethod::Sms,
                language: Language::default(),
                code_wait: CODE_LIFETIME,
                max_code_requests: DEFAULT_MAX_CODE_REQUESTS,
                recheck_after: DEFAULT_RECHECK_AFTER,
                cancel: CancelToken::new(),
                on_event: None,
            },
        }
    }

    /// The client every session goes through.
    pub fn client(&self) -> &PortingClient {
        &self.client
    }

    /// The store sessions are saved to.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.settings.store
    }

    /// Who this fleet is when it leases sessions.
    pub fn worker_id(&self) -> &WorkerId {
        &self.settings.worker
    }

    /// How long its leases last (see [`FleetBuilder::lease`]).
    pub fn lease_duration(&self) -> Duration {
        self.lease_for
    }

    /// The shared throttle.
    pub fn throttle(&self) -> &Throttle {
        &self.settings.throttle
    }

    /// A clone of the token that cancels this fleet's runs.
    pub fn cancel_token(&self) -> CancelToken {
        self.settings.cancel.clone()
    }

    /// Advances `sessions`, each under a lease of this fleet. A session
    /// the store already holds (same [`SessionKey`]) continues from the
    /// stored one — so running the same list again after a crash neither
    /// restarts a port nor repeats a step — and a new one is saved (as
    /// revision 1) before its first step.
    ///
    /// A session another worker (another replica, another run of this
    /// fleet) holds a live lease on is not run: it ends
    /// [`SessionOutcome::HeldElsewhere`]. So do sessions whose lease is
    /// lost mid-run (a save refused as [`Conflict`](crate::StoreErrorKind::Conflict)
    /// or [`Fenced`](crate::StoreErrorKind::Fenced)): nothing more is sent for them.
    ///
    /// Never fails as a whole: a session the fleet cannot lease or first
    /// save ends [`SessionOutcome::StoreFailed`]; one whose save fails
    /// inside a step ends [`SessionOutcome::Failed`] with
    /// [`Error::Checkpoint`] (the step's own outcome inside); the others go
    /// on. A session listed twice is advanced once (the copy that comes
    /// while the first is active ends [`SessionOutcome::Duplicate`]).
    pub async fn run<I>(&self, sessions: I) -> FleetReport
    where
        I: IntoIterator<Item = PortingSession>,
        I::IntoIter: ExactSizeIterator,
    {
        let sessions = sessions.into_iter();
        let (report, _) = self.drive(Feed::List(sessions)).await;
        report
    }

    /// Claims and advances the store's unfinished, due sessions that no
    /// other worker holds: what a restarted process, a timer, or each of
    /// several replicas calls. Sessions are claimed in batches as room
    /// frees up (earliest due first), each leased to this fleet while it
    /// advances and released after; the run ends when nothing more can be
    /// claimed. Each session is claimed at most once per run, and runs
    /// that overlap (of this fleet, of other fleets or processes on the
    /// same store) share the sessions, never advancing one at once.
    ///
    /// # Errors
    /// The store could not claim sessions (the sessions already claimed
    /// were advanced, saved and released first).
    pub async fn resume(&self) -> Result<FleetReport, StoreError> {
        let feed = Feed::<std::iter::Empty<PortingSession>>::Claims {
            floor: None,
            ready: VecDeque::new(),
        };
        match self.drive(feed).await {
            (_, Some(error)) => Err(error),
            (report, None) => Ok(report),
        }
    }

    /// Applies a webhook delivery to the store's sessions it concerns
    /// ([`apply_delivery`](crate::webhook::apply_delivery), at this
    /// fleet's clock): a session whose person likely acted is woken, and
    /// the next [`resume`](Self::resume) reads Meta for it at once instead
    /// of at its next poll. Changes nothing twice: a copy of a change, or
    /// an older one, is refused per session.
    ///
    /// ```ignore
    /// match receiver.receive(signature, &body) {
    ///     Ok(delivery) => match fleet.apply_webhook(&delivery).await {
    ///         Ok(applied) if applied.is_complete() => { receiver.commit(&delivery); 200 }
    ///         // A session was held or the store failed: Meta retries.
    ///         _ => { receiver.forget(&delivery); 503 }
    ///     },
    ///     Err(e) => e.http_status(),
    /// }
    /// ```
    ///
    /// # Errors
    /// The store could not list its sessions (nothing was applied).
    #[cfg(feature = "webhooks")]
    #[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
    pub async fn apply_webhook(
        &self,
        delivery: &crate::webhook::Delivery,
    ) -> Result<crate::webhook::DeliveryOutcome, StoreError> {
        let now = self.client.clock().now();
        crate::webhook::apply_delivery(self.settings.store.as_ref(), delivery, now).await
    }

    async fn drive<I>(&self, mut feed: Feed<I>) -> (FleetReport, Option<StoreError>)
    where
        I: ExactSizeIterator<Item = PortingSession>,
    {
        let listed = match &feed {
            Feed::List(sessions) => Some(sessions.len()),
            Feed::Claims { .. } => None,
        };
        trace::fleet_started(
            listed.unwrap_or(0),
            self.settings.concurrency,
            listed.is_none(),
        );
        let run = Run {
            fleet: self,
            progress: Mutex::new(FleetProgress::new(listed.unwrap_or(0))),
        };
        let concurrency = self.settings.concurrency;
        let mut results = Vec::with_capacity(listed.unwrap_or(concurrency));
        let mut active = FuturesUnordered::new();
        // The keys being advanced: a second copy of one is skipped, never
        // run beside the first (a copy that comes after the first finished
        // continues from the store, which sends nothing twice).
        let mut in_flight: HashSet<SessionKey> = HashSet::new();
        let mut claim_error = None;
        let mut exhausted = false;
        loop {
            while active.len() < concurrency {
                let work = match &mut feed {
                    Feed::List(sessions) => match sessions.next() {
                        Some(session) => Work::Listed(session),
                        None => break,
                    },
                    Feed::Claims { floor, ready } => {
                        if ready.is_empty() && !exhausted && claim_error.is_none() {
                            // Claim in batches: once half the room is free.
                            if active.len() > concurrency / 2 || self.settings.cancel.is_cancelled()
                            {
                                break;
                            }
                            match self.claim(concurrency - active.len(), *floor).await {
                                Ok(claimed) => {
                                    exhausted = claimed.is_empty();
                                    // Anything leased from the first claim
                                    // on (tokens grow store-wide) was seen
                                    // by this run or claimed by another
                                    // meanwhile: not again in this run.
                                    if floor.is_none() {
                                        *floor = claimed.iter().map(|c| c.lease().token()).min();
                                    }
                                    run.report_claimed(claimed.len());
                                    ready.extend(claimed);
                                }
                                Err(error) => claim_error = Some(error),
                            }
                        }
                        match ready.pop_front() {
                            Some(claimed) => Work::Claimed(claimed),
                            None => break,
                        }
                    }
                };
                let key = SessionKey::of(work.session());
                if in_flight.contains(&key) {
                    let state = work.session().state().name();
                    let outcome = SessionOutcome::Duplicate;
                    results.push(finish(&run, key, state, outcome, ProgressColumn::Queued));
                    continue;
                }
                in_flight.insert(key);
                active.push(self.one(&run, work));
            }
            match active.next().await {
                Some(result) => {
                    in_flight.remove(&result.key);
                    results.push(result);
                    // Sessions that came due meanwhile can be claimed.
                    exhausted = false;
                }
                None => {
                    let claims_left = matches!(&feed, Feed::Claims { ready, .. } if !ready.is_empty())
                        || (matches!(feed, Feed::Claims { .. })
                            && !exhausted
                            && claim_error.is_none()
                            && !self.settings.cancel.is_cancelled());
                    if !claims_left {
                        break;
                    }
                }
            }
        }
        let progress = *run.progress.lock().unwrap_or_else(PoisonError::into_inner);
        trace::fleet_finished(&progress, self.settings.cancel.is_cancelled());
        let report = FleetReport {
            progress,
            sessions: results,
        };
        (report, claim_error)
    }

    /// Claims up to `limit` due sessions not leased since the run's first
    /// claim (`floor`, the smallest token it drew).
    async fn claim(&self, limit: usize, floor: Option<u64>) -> Result<Vec<Claimed>, StoreError> {
        self.share_rate().await;
        let now = self.client.clock().now();
        self.settings
            .store
            .claim(&self.settings.worker, limit, now, self.lease_for, floor)
            .await
    }

    /// One session's run: lease it (a listed one), advance, release,
    /// report.
    async fn one(&self, run: &Run<'_>, work: Work) -> SessionResult {
        let (mut session, lease) = match work {
            Work::Claimed(claimed) => claimed.into_parts(),
            Work::Listed(session) => {
                let key = SessionKey::of(&session);
                match self.acquire(session).await {
                    Ok(Ok(claimed)) => claimed.into_parts(),
                    Ok(Err(outcome)) | Err(outcome) => {
                        return finish(run, key, StateName::Draft, outcome, ProgressColumn::Queued)
                    }
                }
            }
        };
        let key = SessionKey::of(&session);
        let token = lease.token();
        self.leases.hold(lease);
        let result = self.leased(run, &key, &mut session).await;
        // Only this run's lease (a later run of this fleet may have taken
        // the session over after it lapsed).
        if let Some(lease) = self.leases.drop_lease(&key, token) {
            // A release that fails leaves a lease that lapses.
            let _ = self.settings.store.release(&lease).await;
        }
        result
    }

    /// Advances a leased session and reports it.
    async fn leased(
        &self,
        run: &Run<'_>,
        key: &SessionKey,
        session: &mut PortingSession,
    ) -> SessionResult {
        if self.settings.cancel.is_cancelled() {
            // Saved (a new session by acquire), not stepped.
            let state = session.state().name();
            let outcome = SessionOutcome::Cancelled;
            return finish(run, key.clone(), state, outcome, ProgressColumn::Queued);
        }
        let started = FleetEvent::Started {
            key,
            state: session.state().name(),
        };
        run.report(&started, |p| {
            p.shift(ProgressColumn::Queued, ProgressColumn::Active)
        });
        let outcome = self.advance(run, key, session).await;
        let state = session.state().name();
        finish(run, key.clone(), state, outcome, ProgressColumn::Active)
    }

    /// Leases `session`'s key: the stored session, or `session` saved new;
    /// the outcome to report when another worker holds it.
    async fn acquire(
        &self,
        mut session: PortingSession,
    ) -> Result<Result<Claimed, SessionOutcome>, SessionOutcome> {
        // Saved as revision 1 when nothing is stored; ignored otherwise.
        session.set_revision(1);
        let now = self.client.clock().now();
        let acquired = self
            .settings
            .store
            .acquire(&session, &self.settings.worker, now, self.lease_for)
            .await
            .map_err(|error| SessionOutcome::StoreFailed { error })?;
        Ok(match acquired {
            Acquired::Claimed(claimed) => Ok(claimed),
            Acquired::Held(holder) => Err(SessionOutcome::HeldElsewhere {
                holder: Some(holder),
            }),
        })
    }

    /// Shares the throttle's view with the other workers on the store (at
    /// most every [`RATE_SYNC_INTERVAL`](crate::RATE_SYNC_INTERVAL)): a
    /// pause this worker saw goes to the store, a pause another saw holds
    /// this throttle, and the budget is split among the workers stepping.
    /// A store that cannot answer leaves the throttle as it is.
    async fn share_rate(&self) {
        let now = self.client.clock().now();
        {
            let mut last = self
                .rate_synced
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| {
                now.saturating_since(at) < crate::store::RATE_SYNC_INTERVAL && at <= now
            }) {
                return;
            }
            *last = Some(now);
        }
        let throttle = &self.settings.throttle;
        let local = throttle.paused_until().filter(|until| *until > now);
        if let Ok(share) = self
            .settings
            .store
            .share_rate(&throttle.budget_id(), now, local)
            .await
        {
            throttle.set_share(share.workers);
            if let Some(until) = share.paused_until {
                throttle.pause_until(now, until);
            }
        }
    }

    /// Makes sure `key`'s lease lasts at least one more step, renewing it
    /// when it would not; the outcome to end with when it is lost.
    async fn keep_lease(&self, key: &SessionKey) -> Result<(), SessionOutcome> {
        self.share_rate().await;
        let Some(lease) = self.leases.get(key) else {
            // Another run of this fleet took the session over (ours lapsed)
            // and has finished with it.
            return Err(SessionOutcome::HeldElsewhere { holder: None });
        };
        let now = self.client.clock().now();
        if lease.until().saturating_since(now) > self.step_bound {
            return Ok(());
        }
        match self.settings.store.renew(&lease, now, self.lease_for).await {
            Ok(renewed) => {
                self.leases.hold(renewed);
                Ok(())
            }
            Err(error) if error.is_superseded() => Err(SessionOutcome::HeldElsewhere {
                holder: error.holder().cloned(),
            }),
            Err(error) => Err(SessionOutcome::StoreFailed { error }),
        }
    }

    /// Steps `session` until it is finished or waits for someone.
    async fn advance(
        &self,
        run: &Run<'_>,
        key: &SessionKey,
        session: &mut PortingSession,
    ) -> SessionOutcome {
        // A webhook said someone likely acted: read the number before
        // anything (a wait for a person ends only when the read shows the
        // number past it), and let a step Meta refused until someone acts
        // go again at once. The intent of a solution migration is read by
        // its own step below.
        let woken = session.events().pending_wake();
        let due = session.is_due(self.client.clock().now());
        if woken.is_some()
            && due
            && session.in_flight().is_none()
            && reads_number_when_woken(session)
        {
            if let Err(error) = self.keep_lease(key).await {
                return error;
            }
            // One read per wake: a read Meta refuses (a permission gone
            // after an unshare) is not made again on every pass.
            session.clear_wake();
            if let Err(error) = self.client.refresh(session).await {
                if superseded(&error).is_some() {
                    let now = self.client.clock().now();
                    return self.after_failure(session, error, now);
                }
                // The read failed without recording anything: the wake is
                // spent all the same (a failed save leaves it for the next
                // pass, which reads once more).
                let _ = self.client.save_session(session).await;
            }
        }
        let progress_since = woken
            .filter(|wake| wake.meaning == crate::session_events::EventMeaning::Progress)
            .map(|wake| wake.at);
        for _ in 0..MAX_STEPS_PER_RUN {
            if let Some(outcome) = settled(session) {
                return outcome;
            }
            if self.settings.cancel.is_cancelled() {
                return SessionOutcome::Cancelled;
            }
            let next = session.next_action();
            let now = self.client.clock().now();
            if next.not_before.is_some_and(|until| until > now) {
                return SessionOutcome::Waiting { next, error: None };
            }
            if let Some(next) = self.refused_until_someone_acts(session, next, now, progress_since)
            {
                return SessionOutcome::Waiting { next, error: None };
            }
            if let Err(outcome) = self.keep_lease(key).await {
                return outcome;
            }
            let client = &self.client;
            let result = match next.action {
                NextAction::StartMigration => client.start_migration(session).await,
                NextAction::RequestNewCode if !self.may_request_code(session) => {
                    // Code requests keep getting no answer: not another one
                    // by ourselves (the customer may be texted each time).
                    return SessionOutcome::Waiting { next, error: None };
                }
                NextAction::RequestCode => {
                    // Read before texting the customer: a number whose
                    // ownership is verified already (another provider's
                    // verification can last days) needs no code. A read
                    // that fails leaves the request to go ahead.
                    if let Err(error) = client.refresh(session).await {
                        if superseded(&error).is_some() {
                            return self.after_failure(session, error, now);
                        }
                    }
                    if session.next_action().action != NextAction::RequestCode {
                        continue;
                    }
                    if let Err(outcome) = self.keep_lease(key).await {
                        return outcome;
                    }
                    client
                        .request_code(session, self.settings.code_method, &self.settings.language)
                        .await
                }
                NextAction::RequestNewCode => {
                    client
                        .request_code(session, self.settings.code_method, &self.settings.language)
                        .await
                }
                NextAction::VerifyCode => {
                    let inputs = &self.settings.inputs;
                    let Some(code) = inputs.verification_code(session).await else {
                        match self.no_code_yet(session, now) {
                            // The code may never have left: ask again.
                            NoCode::RequestAgain => {
                                if let Err(outcome) = self.keep_lease(key).await {
                                    return outcome;
                                }
                                let result = client
                                    .request_code(
                                        session,
                                        self.settings.code_method,
                                        &self.settings.language,
                                    )
                                    .await;
                                let stepped = FleetEvent::Stepped {
                                    key,
                                    step: Operation::RequestCode,
                                    state: session.state().name(),
                                    error: result.as_ref().err(),
                                };
                                run.report(&stepped, |p| p.steps += 1);
                                match result {
                                    Ok(_) => continue,
                                    Err(error) => return self.after_failure(session, error, now),
                                }
                            }
                            // The customer may send it at any time (a
                            // later run asks again once `code_wait` passed).
                            NoCode::WaitForCustomer => {
                                return SessionOutcome::Waiting { next, error: None };
                            }
                            // Requests keep getting no answer and the bound
                            // is reached: the customer may have nothing to
                            // send; it is ours to look at.
                            NoCode::Stuck => {
                                let mut next = next;
                                next.actor = Actor::Us;
                                return SessionOutcome::Waiting { next, error: None };
                            }
                        }
                    };
                    if let Err(outcome) = self.keep_lease(key).await {
                        return outcome;
                    }
                    let result = client.verify_code(session, &code).await;
                    if let Some(accepted) = verdict(&result) {
                        inputs.code_judged(session, &code, accepted).await;
                    }
                    result
                }
                NextAction::Register => match self.settings.inputs.pin(session).await {
                    Some(pin) => {
                        let region = self.settings.inputs.data_localization_region(session).await;
                        if let Err(outcome) = self.keep_lease(key).await {
                            return outcome;
                        }
                        client.register(session, &pin, region.as_ref()).await
                    }
                    None => {
                        // Our PIN is what is missing, not the customer's act.
                        let mut next = next;
                        next.actor = Actor::Us;
                        return SessionOutcome::Waiting { next, error: None };
                    }
                },
                NextAction::Reconcile { .. } => client.reconcile(session).await,
                NextAction::SubscribeApp => client.subscribe_app_for(session).await,
                NextAction::SetMigrationIntent => client.set_migration_intent(session).await,
                // A read: the customer may have accepted since (the client
                // spaces the reads of a pending intent).
                NextAction::AcceptMigrationIntent => client.refresh_migration_intent(session).await,
                // Waiting for a person, finished, or rejected: settled()
                // reports it on the next turn.
                _ => return SessionOutcome::Waiting { next, error: None },
            };
            let step = next.action.step().unwrap_or(Operation::StartMigration);
            let error = result.err();
            let stepped = FleetEvent::Stepped {
                key,
                step,
                state: session.state().name(),
                error: error.as_ref(),
            };
            run.report(&stepped, |p| p.steps += 1);
            if let Some(error) = error {
                // A code that expired needs a new one, which needs nobody.
                let expired = step == Operation::VerifyCode
                    && step_kind(&error) == Some(ApiErrorKind::VerificationCodeExpired);
                if expired {
                    continue;
                }
                return self.after_failure(session, error, self.client.clock().now());
            }
        }
        settled(session).unwrap_or(SessionOutcome::Waiting {
            next: session.next_action(),
            error: None,
        })
    }
}

/// Whether a woken session is read by [`PortingClient::refresh`] first:
/// it has a number id, and is not an Embedded Signup whose popup result
/// (only the page's code moves it) is still to be exchanged.
fn reads_number_when_woken(session: &PortingSession) -> bool {
    !matches!(session.state(), PortingState::SignupFinished { .. })
        && session.state().phone_number_id().is_some()
        && !session.is_finished()
}

/// Whether a verify's result is Meta's verdict on the code: accepted (the
/// step succeeded, or the number read showed it verified), or refused as
/// wrong or expired. Anything else (a rate limit, a lost answer, a wait)
/// judged nothing: the code is kept for the next run.
fn verdict(result: &Result<StateName, Error>) -> Option<bool> {
    match result {
        Ok(_) => Some(true),
        Err(error) => match step_kind(error) {
            Some(
                ApiErrorKind::VerificationCodeRejected | ApiErrorKind::VerificationCodeExpired,
            ) => Some(false),
            _ => None,
        },
    }
}

impl Fleet {
    /// Whether `session`, waiting for the customer's code, should have a
    /// new code requested now: its last request got no answer (the code
    /// may never have left), [`code_wait`](FleetBuilder::code_wait) has
    /// passed since, and the session is within
    /// [`max_code_requests`](FleetBuilder::max_code_requests). Otherwise
    /// when that will be the case, if ever.
    /// Whether the fleet may request a code for `session` by itself: fewer
    /// than [`max_code_requests`](FleetBuilder::max_code_requests) code
    /// requests are outstanding — sent since the last verify attempt (a
    /// customer who sends a code, even an expired one, answers them all).
    fn may_request_code(&self, session: &PortingSession) -> bool {
        session.counters().code_requests_since_verify < self.settings.max_code_requests
    }

    /// What to do for `session`, waiting for the customer's code, when the
    /// inputs have none: request a new one when the last request got no
    /// answer (the code may never have left) and
    /// [`code_wait`](FleetBuilder::code_wait) has passed since, within
    /// [`max_code_requests`](FleetBuilder::max_code_requests); else wait.
    fn no_code_yet(&self, session: &PortingSession, now: Timestamp) -> NoCode {
        let PortingState::CodeRequested { at, .. } = session.state() else {
            return NoCode::WaitForCustomer;
        };
        if !session.code_request_unconfirmed() {
            return NoCode::WaitForCustomer;
        }
        if !self.may_request_code(session) {
            return NoCode::Stuck;
        }
        if now >= at.saturating_add(self.settings.code_wait) {
            NoCode::RequestAgain
        } else {
            NoCode::WaitForCustomer
        }
    }
}

impl Fleet {
    /// `next` as a wait on whoever must act, when its step is the one Meta
    /// last refused until someone acts and
    /// [`recheck_after`](FleetBuilder::recheck_after) has not passed since.
    /// The refusal must be the latest answer the session got — reads of the
    /// number (a dashboard refreshing it) answer no step and are looked
    /// past — and nothing may be in flight: a step sent since (by the
    /// operator's own client) is reconciled at once, never held.
    fn refused_until_someone_acts(
        &self,
        session: &PortingSession,
        mut next: crate::session::NextStep,
        now: Timestamp,
        progress_since: Option<Timestamp>,
    ) -> Option<crate::session::NextStep> {
        if session.in_flight().is_some() || matches!(next.action, NextAction::Reconcile { .. }) {
            return None;
        }
        let step = next.action.step()?;
        let last = session
            .history()
            .iter()
            .rev()
            .find(|t| !matches!(t.outcome, crate::state::StepOutcome::NumberRead { .. }))?;
        let crate::state::StepOutcome::Failed {
            operation, kind, ..
        } = &last.outcome
        else {
            return None;
        };
        if *operation != step || kind.recovery() != crate::actor::Recovery::AfterAction {
            return None;
        }
        // A webhook since the refusal says someone acted: try again now.
        if progress_since.is_some_and(|woken| woken >= last.at) {
            return None;
        }
        let again = last.at.saturating_add(self.settings.recheck_after);
        if again <= now {
            return None;
        }
        next.actor = kind.who_must_act();
        next.not_before = Some(again);
        Some(next)
    }
}

/// See [`Fleet::no_code_yet`].
enum NoCode {
    RequestAgain,
    WaitForCustomer,
    Stuck,
}

impl Fleet {
    /// Where a session ends after a failed step ([`after_failure`]); a
    /// failure the run would have retried but for a cancel is the cancel's.
    fn after_failure(
        &self,
        session: &PortingSession,
        error: Error,
        now: Timestamp,
    ) -> SessionOutcome {
        if let Some(holder) = superseded(&error) {
            return SessionOutcome::HeldElsewhere { holder };
        }
        let outcome = after_failure(session, error, now);
        let cut_short = match &outcome {
            SessionOutcome::Failed { error }
            | SessionOutcome::Waiting {
                error: Some(error), ..
            } => error.is_retryable() && !matches!(error, Error::WaitRequired(_)),
            _ => false,
        };
        if cut_short && self.settings.cancel.is_cancelled() {
            SessionOutcome::Cancelled
        } else {
            outcome
        }
    }
}

/// When `error` is a save the store refused because another worker holds
/// the session (or saved it since): who holds it, if known.
fn superseded(error: &Error) -> Option<Option<crate::store::Holder>> {
    let Error::Checkpoint(checkpoint) = error else {
        return None;
    };
    let source = std::error::Error::source(checkpoint)?;
    let store = source.downcast_ref::<StoreError>()?;
    store.is_superseded().then(|| store.holder().cloned())
}

/// Meta's answer to the step, even when saving the session after it failed
/// (the checkpoint error carries the step's own).
fn step_kind(error: &Error) -> Option<ApiErrorKind> {
    match error {
        Error::Checkpoint(checkpoint) => checkpoint.step_error().and_then(Error::api_kind),
        _ => error.api_kind(),
    }
}

/// Reports that the run is done with a session (counted in `from` until now).
fn finish(
    run: &Run<'_>,
    key: SessionKey,
    state: StateName,
    outcome: SessionOutcome,
    from: ProgressColumn,
) -> SessionResult {
    let finished = FleetEvent::Finished {
        key: &key,
        state,
        outcome: &outcome,
    };
    run.report(&finished, |p| p.shift(from, outcome.column()));
    trace::fleet_session_finished(&key, state, &outcome);
    SessionResult {
        key,
        state,
        outcome,
    }
}

/// The outcome of a session no step can move now: finished, or waiting
/// for a person.
fn settled(session: &PortingSession) -> Option<SessionOutcome> {
    match session.state() {
        PortingState::Registered { .. } if session.in_flight().is_none() => {
            Some(SessionOutcome::Registered)
        }
        PortingState::Rejected { reason } => Some(SessionOutcome::Rejected { reason: *reason }),
        _ => {
            let next = session.next_action();
            let person = matches!(next.actor, Actor::Customer | Actor::PreviousProvider);
            // A code to verify is an input question, not a stop; an intent
            // the customer may have accepted is read (the client spaces
            // the reads of a pending one; a webhook wakes it at once).
            let asks_for_input = matches!(
                next.action,
                NextAction::VerifyCode | NextAction::AcceptMigrationIntent
            );
            (person && !asks_for_input).then_some(SessionOutcome::Waiting { next, error: None })
        }
    }
}

/// Where a session ends after a failed step: a refusal that made it wait
/// for someone (or a time) is a wait; one that ended the port is a
/// rejection; the rest are failures.
fn after_failure(session: &PortingSession, error: Error, now: Timestamp) -> SessionOutcome {
    if let PortingState::Rejected { reason } = session.state() {
        return SessionOutcome::Rejected { reason: *reason };
    }
    let mut next = session.next_action();
    if let Error::WaitRequired(wait) = &error {
        if wait.reason() == WaitReason::Cancelled {
            return SessionOutcome::Cancelled;
        }
        // A wait the client could not make (a throttle pause past the
        // deadline): the session is due again when it ends, and nobody but
        // us has anything to do (the customer's code, if any, is kept).
        next.not_before = next.not_before.max(Some(wait.until()));
        next.actor = Actor::Us;
    }
    let person = |actor| matches!(actor, Actor::Customer | Actor::PreviousProvider);
    // The answer may name a person the state does not wait for (a display
    // name to get approved): then that person is who the session waits for.
    if !person(next.actor) && person(error.who_must_act()) {
        next.actor = error.who_must_act();
    }
    // A wait still ahead (a long Retry-After the retries could not sit
    // out) is a time to come back at, not a failure.
    let must_wait = next.not_before.is_some_and(|until| until > now);
    if person(next.actor) || must_wait || matches!(error, Error::WaitRequired(_)) {
        SessionOutcome::Waiting {
            next,
            error: Some(error),
        }
    } else {
        SessionOutcome::Failed { error }
    }
}
