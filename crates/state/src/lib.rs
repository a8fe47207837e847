//! The deterministic medchain state machine (governance, directory, patients, records, consent, access) over an authenticated store. No network, no clock.
