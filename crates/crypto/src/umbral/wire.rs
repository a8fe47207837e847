//! The exact MessagePack subset umbral-pre 0.11.0 emits for its objects: a fixarray header per
//! struct, `bin8` for every byte field, `c2`/`c3` for booleans (notes A.5). The reader is strict:
//! any other encoding, a wrong length or trailing bytes is an error, so each object has one encoding.

use super::UmbralError;

const FIXARRAY_PREFIX: u8 = 0x90;
const BIN8_PREFIX: u8 = 0xc4;
const FALSE_BYTE: u8 = 0xc2;
const TRUE_BYTE: u8 = 0xc3;

pub(crate) struct Writer(Vec<u8>);

impl Writer {
    pub(crate) fn with_capacity(capacity_bytes: usize) -> Self {
        Self(Vec::with_capacity(capacity_bytes))
    }

    pub(crate) fn array(&mut self, len: u8) {
        assert!(len < 16, "fixarray holds at most 15 fields");
        self.0.push(FIXARRAY_PREFIX | len);
    }

    pub(crate) fn bin(&mut self, bytes: &[u8]) {
        let len = u8::try_from(bytes.len()).expect("umbral fields are shorter than 256 bytes");
        self.0.push(BIN8_PREFIX);
        self.0.push(len);
        self.0.extend_from_slice(bytes);
    }

    pub(crate) fn bool(&mut self, value: bool) {
        self.0.push(if value { TRUE_BYTE } else { FALSE_BYTE });
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0
    }
}

pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self {
            bytes,
            position: 0,
            what,
        }
    }

    fn byte(&mut self) -> Result<u8, UmbralError> {
        let byte = *self
            .bytes
            .get(self.position)
            .ok_or(UmbralError::Truncated {
                what: self.what,
                offset_bytes: self.position,
            })?;
        self.position += 1;
        Ok(byte)
    }

    fn malformed(&self, reason: &'static str) -> UmbralError {
        UmbralError::MalformedEncoding {
            what: self.what,
            offset_bytes: self.position,
            reason,
        }
    }

    pub(crate) fn array(&mut self, len: u8) -> Result<(), UmbralError> {
        if self.byte()? != FIXARRAY_PREFIX | len {
            return Err(self.malformed("expected a msgpack fixarray of the field count"));
        }
        Ok(())
    }

    pub(crate) fn bin(&mut self, len: usize) -> Result<&'a [u8], UmbralError> {
        if self.byte()? != BIN8_PREFIX {
            return Err(self.malformed("expected a msgpack bin8 byte field"));
        }
        if usize::from(self.byte()?) != len {
            return Err(self.malformed("byte field has the wrong length"));
        }
        let end = self.position + len;
        let field = self
            .bytes
            .get(self.position..end)
            .ok_or(UmbralError::Truncated {
                what: self.what,
                offset_bytes: self.bytes.len(),
            })?;
        self.position = end;
        Ok(field)
    }

    pub(crate) fn bool(&mut self) -> Result<bool, UmbralError> {
        match self.byte()? {
            FALSE_BYTE => Ok(false),
            TRUE_BYTE => Ok(true),
            _ => Err(self.malformed("expected a msgpack boolean")),
        }
    }

    pub(crate) fn finish(self) -> Result<(), UmbralError> {
        let trailing_bytes = self.bytes.len() - self.position;
        if trailing_bytes != 0 {
            return Err(UmbralError::TrailingBytes {
                what: self.what,
                trailing_bytes,
            });
        }
        Ok(())
    }
}
