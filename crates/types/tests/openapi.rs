//! With feature `openapi`: the transaction's schema and every schema it refers
//! to are available, and hex-encoded types are described as hex strings.
#![cfg(feature = "openapi")]

use medchain_types::*;
use utoipa::ToSchema;

#[test]
fn the_signed_transaction_schema_names_all_its_parts() {
    let mut schemas = Vec::new();
    <SignedTransaction as ToSchema>::schemas(&mut schemas);
    let names: Vec<&str> = schemas.iter().map(|(name, _)| name.as_str()).collect();
    for expected in [
        "Transaction",
        "Payload",
        "ChainId",
        "AccountId",
        "ConsentPolicy",
        "Purpose",
        "MembershipChange",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let account = serde_json::to_value(<AccountId as utoipa::PartialSchema>::schema()).unwrap();
    assert_eq!(account["type"], "string");
    assert_eq!(account["pattern"], "^[0-9a-f]{64}$");
    let genesis = serde_json::to_value(<Genesis as utoipa::PartialSchema>::schema()).unwrap();
    assert!(genesis["properties"]["validators"].is_object());
}
