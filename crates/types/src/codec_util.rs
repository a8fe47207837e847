//! Small helpers so every on-ledger type encodes the same way: fixed-width
//! big-endian integers, length-prefixed byte strings and vectors whose decoded
//! length is checked against a named limit before anything is allocated.

use bytes::{BufMut, Bytes};
use commonware_codec::{Buf, EncodeSize, Error, RangeCfg, Read, Write};

/// Decode config for a vector of at most `max` items of a type without config.
pub fn vec_cfg(max: usize) -> (RangeCfg<usize>, ()) {
    (RangeCfg::new(0..=max), ())
}

/// Decode config for a byte string of at most `max` bytes.
pub fn bytes_cfg(max: usize) -> RangeCfg<usize> {
    RangeCfg::new(0..=max)
}

pub fn write_str(value: &str, buf: &mut impl BufMut) {
    value.len().write(buf);
    buf.put_slice(value.as_bytes());
}

pub fn str_encode_size(value: &str) -> usize {
    value.len().encode_size() + value.len()
}

/// Reads a length-prefixed UTF-8 string of `min..=max` bytes.
pub fn read_str(buf: &mut impl Buf, min: usize, max: usize) -> Result<String, Error> {
    let raw = Bytes::read_cfg(buf, &RangeCfg::new(min..=max))?;
    String::from_utf8(raw.to_vec()).map_err(|_| Error::Invalid("string", "not valid UTF-8"))
}

/// Optional string: a presence byte, then the string.
pub fn write_opt_str(value: Option<&str>, buf: &mut impl BufMut) {
    match value {
        None => buf.put_u8(0),
        Some(text) => {
            buf.put_u8(1);
            write_str(text, buf);
        }
    }
}

pub fn opt_str_encode_size(value: Option<&str>) -> usize {
    1 + value.map_or(0, str_encode_size)
}

pub fn read_opt_str(buf: &mut impl Buf, max: usize) -> Result<Option<String>, Error> {
    match u8::read_cfg(buf, &())? {
        0 => Ok(None),
        1 => read_str(buf, 0, max).map(Some),
        _ => Err(Error::InvalidBool),
    }
}

/// Implements `Write`, `EncodeSize` and `Read<Cfg = ()>` for a struct by
/// encoding its fields in declaration order; each field names its decode config.
#[macro_export]
macro_rules! impl_struct_codec {
    ($ty:ident { $($field:ident : $cfg:expr),* $(,)? }) => {
        impl $crate::__codec::Write for $ty {
            fn write(&self, buf: &mut impl $crate::__bytes::BufMut) {
                $( $crate::__codec::Write::write(&self.$field, buf); )*
            }
        }
        impl $crate::__codec::EncodeSize for $ty {
            fn encode_size(&self) -> usize {
                0 $( + $crate::__codec::EncodeSize::encode_size(&self.$field) )*
            }
        }
        impl $crate::__codec::Read for $ty {
            type Cfg = ();
            fn read_cfg(
                buf: &mut impl $crate::__codec::Buf,
                _: &(),
            ) -> Result<Self, $crate::__codec::Error> {
                Ok(Self { $( $field: $crate::__codec::Read::read_cfg(buf, &$cfg)?, )* })
            }
        }
    };
}

/// Implements the codec for a field-less enum as a one-byte tag.
#[macro_export]
macro_rules! impl_tag_codec {
    ($ty:ident { $($variant:ident = $tag:literal),* $(,)? }) => {
        impl $ty {
            /// Every variant, in tag order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];
        }
        impl $crate::__codec::Write for $ty {
            fn write(&self, buf: &mut impl $crate::__bytes::BufMut) {
                let tag: u8 = match self { $( $ty::$variant => $tag, )* };
                $crate::__bytes::BufMut::put_u8(buf, tag);
            }
        }
        impl $crate::__codec::FixedSize for $ty {
            const SIZE: usize = 1;
        }
        impl $crate::__codec::Read for $ty {
            type Cfg = ();
            fn read_cfg(
                buf: &mut impl $crate::__codec::Buf,
                _: &(),
            ) -> Result<Self, $crate::__codec::Error> {
                let tag = <u8 as $crate::__codec::ReadExt>::read(buf)?;
                match tag {
                    $( $tag => Ok($ty::$variant), )*
                    other => Err($crate::__codec::Error::InvalidEnum(other)),
                }
            }
        }
    };
}
