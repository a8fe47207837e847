//! One test per ledger rule, named after the behaviour.

mod access;
mod consent;
mod directory;
mod governance;
mod harness;
mod policy;
mod records;
mod review;
mod studies;
mod transactions;
