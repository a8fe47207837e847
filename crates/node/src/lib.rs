//! A medchain validator or observer: consensus adapter, mempool, p2p, persistence and the HTTP API.
