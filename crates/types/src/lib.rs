//! Transactions, blocks, identifiers, canonical encoding and limits of the medchain ledger. No I/O.
