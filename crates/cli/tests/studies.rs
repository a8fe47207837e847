//! A consortium made by `medchain init` with four `medchain node` processes runs the genesis
//! DKG on its own, and the ledger adopts the analytics key: a proven read shows a key with one
//! participant per validator that 2f+1 = 3 of them decrypt with, and each validator keeps its
//! share sealed (never in the clear) under its storage directory.

mod common;

use common::{init_consortium, start_node, wait_for};
use medchain_client::{Client, Trust};

const VALIDATORS: usize = 4;
/// This test's ports among the process's (see `common::base_ports`).
const PORT_OFFSET: u16 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_run_the_dkg_and_the_ledger_adopts_the_analytics_key() {
    let (dir, http) = init_consortium("analytics-key", VALIDATORS, PORT_OFFSET);
    let _nodes: Vec<_> = (0..VALIDATORS).map(|i| start_node(&dir, i)).collect();
    let genesis = medchain_node::config::load_genesis(&dir.join("genesis.toml")).unwrap();
    let client = Client::new(&format!("http://127.0.0.1:{http}"))
        .unwrap()
        .trusting(Trust::new(genesis));
    wait_for("the ledger to adopt the analytics key", async || {
        client.analytics_key().await.is_ok()
    })
    .await;
    let key = client.analytics_key().await.unwrap().value;
    assert_eq!(key.epoch, 0, "the genesis round");
    assert_eq!(key.participants.len(), VALIDATORS);
    let sharing = medchain_crypto::analytics::threshold::AnalyticsKey::from_bytes(&key.sharing, 64)
        .expect("the adopted sharing decodes");
    assert_eq!(sharing.required(), 3);
    assert_eq!(
        sharing.public_key().to_bytes().to_vec(),
        key.public_key.to_vec()
    );
    // The ledger adopts the key once 2f+1 submitted; a slower validator may still be sealing
    // its share, so each one is waited for (its file is written atomically by a rename).
    for index in 0..VALIDATORS {
        let node_dir = dir.join(format!("validators/node-{index}"));
        wait_for(
            &format!("validator {index} to seal its round file"),
            async || !common::files_named(&node_dir, "round-0.dkg").is_empty(),
        )
        .await;
        let found = common::files_named(&node_dir, "round-0.dkg");
        assert_eq!(
            found.len(),
            1,
            "validator {index} keeps one sealed round file"
        );
    }
}
