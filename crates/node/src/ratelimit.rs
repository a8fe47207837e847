//! Per-client request rate limiting for the HTTP API: one token bucket per client IP address
//! (GCRA, through the `governor` crate), so that one misbehaving integration cannot starve the
//! hospitals sharing a node. Refusals are 429 JSON errors with `Retry-After`.

use crate::api::ApiError;
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
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::Arc,
    time::Duration,
};

/// Default sustained requests per second one client IP may make to one node.
pub const API_REQUESTS_PER_SECOND_PER_CLIENT: u32 = 2_000;
/// How many requests above the sustained rate a client may make at once, as a multiple of the
/// per-second rate (a client may send two seconds' worth in a burst).
pub const API_BURST_SECONDS: u32 = 2;
/// How often buckets of clients that went quiet are dropped, bounding the limiter's memory to
/// the clients active in the last burst window.
pub const RATE_LIMIT_SWEEP_INTERVAL_MS: u64 = 10_000;

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
}
