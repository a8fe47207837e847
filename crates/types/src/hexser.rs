//! Serde helpers that show bytes as lowercase hex strings in the JSON API.

use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

pub mod bytes {
    use super::*;

    pub fn serialize<S: Serializer>(value: &::bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<::bytes::Bytes, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        hex::decode(text.as_ref())
            .map(::bytes::Bytes::from)
            .map_err(|e| D::Error::custom(format!("expected a hex string: {e}")))
    }
}

/// A list of byte strings, each as a hex string.
pub mod bytes_list {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: Serializer>(value: &[::bytes::Bytes], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(value.len()))?;
        for item in value {
            seq.serialize_element(&hex::encode(item))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<::bytes::Bytes>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|text| {
                hex::decode(text)
                    .map(::bytes::Bytes::from)
                    .map_err(|e| D::Error::custom(format!("expected a hex string: {e}")))
            })
            .collect()
    }
}

/// A list of fixed-size byte arrays, each as a hex string.
pub mod array_list {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: Serializer, const N: usize>(
        value: &[[u8; N]],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(value.len()))?;
        for item in value {
            seq.serialize_element(&hex::encode(item))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<Vec<[u8; N]>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|text| parse::<N>(text).map_err(D::Error::custom))
            .collect()
    }
}

pub mod array {
    use super::*;

    pub fn serialize<S: Serializer, const N: usize>(
        value: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse::<N>(text.as_ref()).map_err(D::Error::custom)
    }
}

/// Parses exactly `N` hex-encoded bytes.
pub fn parse<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out)
        .map_err(|e| format!("expected {} hex characters ({N} bytes): {e}", 2 * N))?;
    Ok(out)
}
