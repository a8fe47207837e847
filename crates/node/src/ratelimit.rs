//! Per-client request rate limiting for the HTTP API: one token bucket per client IP address
//! (GCRA, through the `governor` crate), so that one misbehaving integration cannot starve the
//! hospitals sharing a node. Refusals are 429 JSON errors with `Retry-After`.
//!
//! A second, much smaller budget counts the transactions a client gets refused at admission
//! (replayed or gapped nonces, bad signatures, rule failures). An honest integration is refused
//! now and then; a spammer on every try. A client over that budget is held back: each
//! submission it makes waits out the penalty and is refused unread, which costs the node a
//! timer instead of a decode, two state reads and a signature check.

use crate::api::ApiError;
use axum::http::Method;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::NoOpMiddleware,
    state::keyed::HashMapStateStore,
};
use medchain_types::api::ApiErrorCode;
use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::time::Instant;

/// Default sustained requests per second one client IP may make to one node.
pub const API_REQUESTS_PER_SECOND_PER_CLIENT: u32 = 2_000;
/// How many requests above the sustained rate a client may make at once, as a multiple of the
/// per-second rate (a client may send two seconds' worth in a burst).
pub const API_BURST_SECONDS: u32 = 2;
/// How often buckets of clients that went quiet are dropped, bounding the limiter's memory to
/// the clients active in the last burst window.
pub const RATE_LIMIT_SWEEP_INTERVAL_MS: u64 = 10_000;

/// Transactions one client IP may have refused at admission per second, sustained (bursts of
/// `API_BURST_SECONDS` times that), before its submissions are held back.
pub const ADMISSION_REFUSALS_PER_SECOND_PER_CLIENT: u32 = 5;
/// How long a client over its refusal budget is held back. Each submission it makes meanwhile
/// waits until the penalty ends and is then refused unread.
pub const ADMISSION_PENALTY_MS: u64 = 2_000;
/// The route whose refusals count against a client's admission budget.
pub const SUBMIT_PATH: &str = "/v1/tx";

/// GCRA buckets keyed by client IP address.
type PerClientLimiter<C> =
    RateLimiter<IpAddr, HashMapStateStore<IpAddr>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// One bucket per client IP address.
#[derive(Clone)]
pub struct ClientRateLimit<C: Clock = DefaultClock> {
    limiter: Arc<PerClientLimiter<C>>,
    clock: C,
    per_second: NonZeroU32,
}

impl ClientRateLimit {
    /// `per_second` sustained requests per client IP, bursts of `API_BURST_SECONDS` times that.
    pub fn new(per_second: NonZeroU32) -> Self {
        Self::with_clock(per_second, DefaultClock::default())
    }
}

impl<C: Clock + Clone> ClientRateLimit<C> {
    pub fn with_clock(per_second: NonZeroU32, clock: C) -> Self {
        let burst =
            per_second.saturating_mul(NonZeroU32::MIN.saturating_add(API_BURST_SECONDS - 1));
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Self {
            limiter: Arc::new(RateLimiter::hashmap_with_clock(quota, clock.clone())),
            clock,
            per_second,
        }
    }

    /// Whether `client` may make a request now; if not, how long until it may.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets clients whose buckets are full again (they have been quiet for a burst window).
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Clients currently tracked.
    pub fn tracked_clients(&self) -> usize {
        self.limiter.len()
    }
}

/// Axum middleware: refuses a request over its client's rate with 429 and `Retry-After`.
pub async fn limit<C: Clock + Clone>(
    State(limit): State<ClientRateLimit<C>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    match limit.check(peer.ip()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let retry_after_s = wait.as_secs().max(1);
            let mut response = ApiError::new(
                ApiErrorCode::RateLimited,
                format!(
                    "this client sent more than {} requests per second to this node; retry after {retry_after_s} s or spread requests over the consortium's nodes",
                    limit.per_second
                ),
            )
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&retry_after_s.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

/// The admission-refusal budget of each client IP, and the clients held back for exceeding it.
#[derive(Clone)]
pub struct AdmissionPenalty<C: Clock = DefaultClock> {
    refusals: Arc<PerClientLimiter<C>>,
    held_until: Arc<Mutex<HashMap<IpAddr, Instant>>>,
}

impl AdmissionPenalty {
    pub fn new() -> Self {
        Self::with_clock(DefaultClock::default())
    }
}

impl Default for AdmissionPenalty {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock + Clone> AdmissionPenalty<C> {
    /// `clock` counts refusals; the penalty itself runs on tokio's clock (it is a sleep).
    pub fn with_clock(clock: C) -> Self {
        let per_second =
            NonZeroU32::new(ADMISSION_REFUSALS_PER_SECOND_PER_CLIENT).unwrap_or(NonZeroU32::MIN);
        let burst =
            per_second.saturating_mul(NonZeroU32::MIN.saturating_add(API_BURST_SECONDS - 1));
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Self {
            refusals: Arc::new(RateLimiter::hashmap_with_clock(quota, clock)),
            held_until: Arc::default(),
        }
    }

    /// Until when `client` is held back, if it is.
    pub fn held_until(&self, client: IpAddr) -> Option<Instant> {
        let mut held = self.held_until.lock().unwrap_or_else(|e| e.into_inner());
        match held.get(&client) {
            Some(until) if *until > Instant::now() => Some(*until),
            Some(_) => {
                held.remove(&client);
                None
            }
            None => None,
        }
    }

    /// Counts one transaction refused at admission; a client over its budget is held back.
    pub fn refused(&self, client: IpAddr) {
        if self.refusals.check_key(&client).is_err() {
            let until = Instant::now() + Duration::from_millis(ADMISSION_PENALTY_MS);
            self.held_until
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(client, until);
        }
    }

    /// Forgets clients whose budget is full again and whose penalty is over.
    pub fn sweep(&self) {
        self.refusals.retain_recent();
        self.refusals.shrink_to_fit();
        let now = Instant::now();
        self.held_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, until| *until > now);
    }
}

/// Axum middleware on transaction submissions: a held-back client waits out its penalty and is
/// refused unread; any other client's refused submission counts against its budget.
pub async fn penalize<C: Clock + Clone>(
    State(penalty): State<AdmissionPenalty<C>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::POST || request.uri().path() != SUBMIT_PATH {
        return next.run(request).await;
    }
    let client = peer.ip();
    if let Some(until) = penalty.held_until(client) {
        tokio::time::sleep_until(until).await;
        let mut response = ApiError::new(
            ApiErrorCode::RateLimited,
            format!(
                "more than {ADMISSION_REFUSALS_PER_SECOND_PER_CLIENT} of this client's transactions a second were refused at admission, so its submissions are held back for {ADMISSION_PENALTY_MS} ms; read the refusals' error codes and fix the nonces or signatures before resubmitting"
            ),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() && status != axum::http::StatusCode::TOO_MANY_REQUESTS {
        penalty.refused(client);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{Router, body::Body, http::StatusCode, routing::get};
    use governor::clock::FakeRelativeClock;
    use tower::ServiceExt as _;

    fn app(limit: ClientRateLimit<FakeRelativeClock>) -> Router {
        Router::new()
            .route("/v1/status", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(limit, super::limit))
    }

    async fn status_from(app: &Router, client: [u8; 4]) -> (StatusCode, Option<String>) {
        let mut request = Request::builder()
            .uri("/v1/status")
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((client, 40_000))));
        let response = app.clone().oneshot(request).await.unwrap();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        (response.status(), retry)
    }

    #[tokio::test]
    async fn a_client_over_its_rate_gets_429_until_its_bucket_refills() {
        let clock = FakeRelativeClock::default();
        let limit = ClientRateLimit::with_clock(NonZeroU32::new(3).unwrap(), clock.clone());
        let app = app(limit.clone());
        let burst = 3 * API_BURST_SECONDS;
        for _ in 0..burst {
            assert_eq!(status_from(&app, [10, 0, 0, 1]).await.0, StatusCode::OK);
        }
        assert_eq!(
            status_from(&app, [10, 0, 0, 1]).await,
            (StatusCode::TOO_MANY_REQUESTS, Some("1".to_string()))
        );
        // Another client is not affected by the first one's flood.
        assert_eq!(status_from(&app, [10, 0, 0, 2]).await.0, StatusCode::OK);
        // One token comes back every 1/3 s.
        clock.advance(Duration::from_millis(334));
        assert_eq!(status_from(&app, [10, 0, 0, 1]).await.0, StatusCode::OK);
        assert_eq!(
            status_from(&app, [10, 0, 0, 1]).await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[tokio::test]
    async fn quiet_clients_are_forgotten_by_the_sweep() {
        let clock = FakeRelativeClock::default();
        let limit = ClientRateLimit::with_clock(NonZeroU32::new(100).unwrap(), clock.clone());
        for last in 0..50u8 {
            limit.check(IpAddr::from([10, 1, 0, last])).unwrap();
        }
        assert_eq!(limit.tracked_clients(), 50);
        clock.advance(Duration::from_secs(u64::from(API_BURST_SECONDS)));
        limit.sweep();
        assert_eq!(limit.tracked_clients(), 0);
    }

    fn submit_app(penalty: AdmissionPenalty<FakeRelativeClock>) -> Router {
        use axum::routing::post;
        // Even nonces are admitted, odd ones refused, as admission would.
        let admission = |body: String| async move {
            if body.parse::<u64>().unwrap() % 2 == 0 {
                StatusCode::ACCEPTED
            } else {
                StatusCode::CONFLICT
            }
        };
        Router::new().route(SUBMIT_PATH, post(admission)).layer(
            axum::middleware::from_fn_with_state(penalty, super::penalize),
        )
    }

    async fn submit_from(app: &Router, client: [u8; 4], nonce: u64) -> StatusCode {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(SUBMIT_PATH)
            .body(Body::from(nonce.to_string()))
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((client, 40_000))));
        app.clone().oneshot(request).await.unwrap().status()
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_refused_past_its_budget_is_held_back_and_others_are_not() {
        let penalty = AdmissionPenalty::with_clock(FakeRelativeClock::default());
        let app = submit_app(penalty.clone());
        let spammer = [10, 0, 0, 9];
        let budget = u64::from(ADMISSION_REFUSALS_PER_SECOND_PER_CLIENT * API_BURST_SECONDS);
        for _ in 0..budget {
            assert_eq!(submit_from(&app, spammer, 1).await, StatusCode::CONFLICT);
        }
        assert!(penalty.held_until([10, 0, 0, 9].into()).is_none());
        // The refusal over budget is answered, and from then on the client is held back.
        assert_eq!(submit_from(&app, spammer, 1).await, StatusCode::CONFLICT);
        let held = penalty
            .held_until([10, 0, 0, 9].into())
            .expect("held back after its budget");
        let before = Instant::now();
        // Even a valid transaction waits the penalty out and is refused unread.
        assert_eq!(
            submit_from(&app, spammer, 2).await,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert!(Instant::now() >= held);
        assert_eq!(
            Instant::now() - before,
            Duration::from_millis(ADMISSION_PENALTY_MS)
        );
        // An honest client on another address is answered at once.
        let honest_start = Instant::now();
        assert_eq!(
            submit_from(&app, [10, 0, 0, 1], 2).await,
            StatusCode::ACCEPTED
        );
        assert_eq!(Instant::now(), honest_start);
        // Once the penalty is over the spammer is read again.
        assert_eq!(submit_from(&app, spammer, 2).await, StatusCode::ACCEPTED);
    }

    #[tokio::test(start_paused = true)]
    async fn admitted_transactions_never_count_against_the_budget() {
        let penalty = AdmissionPenalty::with_clock(FakeRelativeClock::default());
        let app = submit_app(penalty.clone());
        for nonce in 0..100 {
            assert_eq!(
                submit_from(&app, [10, 0, 0, 3], nonce * 2).await,
                StatusCode::ACCEPTED
            );
        }
        assert!(penalty.held_until([10, 0, 0, 3].into()).is_none());
        penalty.sweep();
        assert!(penalty.held_until([10, 0, 0, 3].into()).is_none());
    }
}
