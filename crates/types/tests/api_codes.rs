//! The API's typed codes keep the wire strings clients and the CLI already read.

use medchain_types::api::{ApiErrorCode, ErrorBody, ErrorDetail, NodeRole, TxState};

#[test]
fn every_error_code_round_trips_through_json_as_its_snake_case_name() {
    for &code in ApiErrorCode::ALL {
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{}\"", code.as_str()));
        assert_eq!(serde_json::from_str::<ApiErrorCode>(&json).unwrap(), code);
        assert_eq!(code.as_str().parse::<ApiErrorCode>(), Ok(code));
        assert!(
            code.as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code:?} is not snake_case on the wire"
        );
    }
}

#[test]
fn error_codes_are_distinct_on_the_wire() {
    let mut names: Vec<&str> = ApiErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ApiErrorCode::ALL.len());
}

#[test]
fn error_body_keeps_its_json_shape() {
    let body = ErrorBody {
        error: ErrorDetail {
            code: ApiErrorCode::NonceGap,
            message: "submit the missing transactions first".into(),
        },
    };
    let json = serde_json::to_value(&body).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"error": {"code": "nonce_gap", "message": "submit the missing transactions first"}})
    );
}

#[test]
fn an_unknown_error_code_is_refused_not_guessed() {
    let json = r#"{"error":{"code":"no_such_code","message":"x"}}"#;
    assert!(serde_json::from_str::<ErrorBody>(json).is_err());
    assert!("no_such_code".parse::<ApiErrorCode>().is_err());
}

#[test]
fn role_and_transaction_state_travel_as_before() {
    assert_eq!(
        serde_json::to_string(&NodeRole::Validator).unwrap(),
        "\"validator\""
    );
    assert_eq!(
        serde_json::to_string(&NodeRole::Observer).unwrap(),
        "\"observer\""
    );
    for (state, wire) in [
        (TxState::Pending, "pending"),
        (TxState::Committed, "committed"),
        (TxState::Rejected, "rejected"),
    ] {
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            format!("\"{wire}\"")
        );
        assert_eq!(state.to_string(), wire);
        assert_eq!(
            serde_json::from_str::<TxState>(&format!("\"{wire}\"")).unwrap(),
            state
        );
    }
}
