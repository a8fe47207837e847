//! Consent policy, shaped like FHIR R5 Consent: one provision (permit or deny)
//! with actors, actions, purposes, period and data scope, and deny exceptions
//! nested one level deep inside a permit.

use crate::codec_util::vec_cfg;
use crate::codes::{ConsentAction, Decision, Purpose, RecordCategory, Role};
use crate::error::ValidationError;
use crate::ids::{AccountId, InstitutionId, RecordId};
use crate::{impl_struct_codec, limits};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// Who a provision applies to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConsentActor {
    /// One member, by account.
    Person(AccountId),
    /// Every member with this role, at one institution or (None) at any.
    Role {
        institution: Option<InstitutionId>,
        role: Role,
    },
    /// Every member of this institution.
    Institution(InstitutionId),
}

impl Write for ConsentActor {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            ConsentActor::Person(account) => {
                buf.put_u8(0);
                account.write(buf);
            }
            ConsentActor::Role { institution, role } => {
                buf.put_u8(1);
                institution.write(buf);
                role.write(buf);
            }
            ConsentActor::Institution(id) => {
                buf.put_u8(2);
                id.write(buf);
            }
        }
    }
}

impl EncodeSize for ConsentActor {
    fn encode_size(&self) -> usize {
        1 + match self {
            ConsentActor::Person(account) => account.encode_size(),
            ConsentActor::Role { institution, role } => {
                institution.encode_size() + role.encode_size()
            }
            ConsentActor::Institution(id) => id.encode_size(),
        }
    }
}

impl Read for ConsentActor {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        match u8::read(buf)? {
            0 => Ok(ConsentActor::Person(AccountId::read(buf)?)),
            1 => Ok(ConsentActor::Role {
                institution: Option::<InstitutionId>::read_cfg(buf, &())?,
                role: Role::read(buf)?,
            }),
            2 => Ok(ConsentActor::Institution(InstitutionId::read(buf)?)),
            other => Err(Error::InvalidEnum(other)),
        }
    }
}

/// Which data a provision covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DataScope {
    All,
    Categories(Vec<RecordCategory>),
    Records(Vec<RecordId>),
}

impl DataScope {
    fn validate(&self) -> Result<(), ValidationError> {
        let items = match self {
            DataScope::All => return Ok(()),
            DataScope::Categories(list) => list.len(),
            DataScope::Records(list) => list.len(),
        };
        if items == 0 {
            return Err(ValidationError::Policy(
                "a data scope list must name at least one item; use `all` for everything",
            ));
        }
        ValidationError::check_len(
            "consent_scope_max_items",
            items,
            limits::CONSENT_SCOPE_MAX_ITEMS,
        )
    }
}

impl Write for DataScope {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            DataScope::All => buf.put_u8(0),
            DataScope::Categories(list) => {
                buf.put_u8(1);
                list.write(buf);
            }
            DataScope::Records(list) => {
                buf.put_u8(2);
                list.write(buf);
            }
        }
    }
}

impl EncodeSize for DataScope {
    fn encode_size(&self) -> usize {
        1 + match self {
            DataScope::All => 0,
            DataScope::Categories(list) => list.encode_size(),
            DataScope::Records(list) => list.encode_size(),
        }
    }
}

impl Read for DataScope {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, Error> {
        let cfg = vec_cfg(limits::CONSENT_SCOPE_MAX_ITEMS);
        match u8::read(buf)? {
            0 => Ok(DataScope::All),
            1 => Ok(DataScope::Categories(Vec::read_cfg(buf, &cfg)?)),
            2 => Ok(DataScope::Records(Vec::read_cfg(buf, &cfg)?)),
            other => Err(Error::InvalidEnum(other)),
        }
    }
}

/// Validity window in milliseconds since the Unix epoch: `start_ms <= t < end_ms`,
/// compared with the block's timestamp, never a local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Period {
    pub start_ms: u64,
    pub end_ms: u64,
}
impl_struct_codec!(Period {
    start_ms: (),
    end_ms: ()
});

impl Period {
    pub fn contains(&self, timestamp_ms: u64) -> bool {
        self.start_ms <= timestamp_ms && timestamp_ms < self.end_ms
    }
}

/// A nested deny provision; an empty list means "any" for that criterion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentProvision {
    pub actors: Vec<ConsentActor>,
    pub actions: Vec<ConsentAction>,
    pub purposes: Vec<Purpose>,
    pub data: DataScope,
}
impl_struct_codec!(ConsentProvision {
    actors: vec_cfg(limits::CONSENT_ACTORS_MAX),
    actions: vec_cfg(limits::CONSENT_ACTIONS_MAX),
    purposes: vec_cfg(limits::CONSENT_PURPOSES_MAX),
    data: (),
});

/// The list limits shared by the top-level provision and its exceptions.
fn validate_lists(
    actors: &[ConsentActor],
    actions: &[ConsentAction],
    purposes: &[Purpose],
    data: &DataScope,
) -> Result<(), ValidationError> {
    ValidationError::check_len(
        "consent_actors_max",
        actors.len(),
        limits::CONSENT_ACTORS_MAX,
    )?;
    ValidationError::check_len(
        "consent_actions_max",
        actions.len(),
        limits::CONSENT_ACTIONS_MAX,
    )?;
    ValidationError::check_len(
        "consent_purposes_max",
        purposes.len(),
        limits::CONSENT_PURPOSES_MAX,
    )?;
    data.validate()
}

/// A patient's consent. A `Permit` may carry deny `exceptions`; a `Deny` may not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentPolicy {
    pub decision: Decision,
    pub actors: Vec<ConsentActor>,
    pub actions: Vec<ConsentAction>,
    pub purposes: Vec<Purpose>,
    pub period: Period,
    pub data: DataScope,
    pub exceptions: Vec<ConsentProvision>,
}
impl_struct_codec!(ConsentPolicy {
    decision: (),
    actors: vec_cfg(limits::CONSENT_ACTORS_MAX),
    actions: vec_cfg(limits::CONSENT_ACTIONS_MAX),
    purposes: vec_cfg(limits::CONSENT_PURPOSES_MAX),
    period: (),
    data: (),
    exceptions: vec_cfg(limits::CONSENT_EXCEPTIONS_MAX),
});

impl ConsentPolicy {
    /// The person a permit's re-encryption fragments are for: its first `Person` actor. Roles
    /// and institutions may be named beside it, but keys are released to one person.
    pub fn grantee(&self) -> Option<&AccountId> {
        self.actors.iter().find_map(|actor| match actor {
            ConsentActor::Person(account) => Some(account),
            _ => None,
        })
    }

    /// Structural rules that need no ledger state.
    pub fn validate(&self) -> Result<(), ValidationError> {
        validate_lists(&self.actors, &self.actions, &self.purposes, &self.data)?;
        // An empty top-level list would read as "anyone"/"anything": too easy to grant by mistake.
        if self.actors.is_empty() || self.actions.is_empty() || self.purposes.is_empty() {
            return Err(ValidationError::Policy(
                "name at least one actor, one action and one purpose",
            ));
        }
        if self.period.start_ms >= self.period.end_ms {
            return Err(ValidationError::Policy(
                "period.start_ms must be before period.end_ms",
            ));
        }
        ValidationError::check_len(
            "consent_exceptions_max",
            self.exceptions.len(),
            limits::CONSENT_EXCEPTIONS_MAX,
        )?;
        if self.decision == Decision::Deny && !self.exceptions.is_empty() {
            return Err(ValidationError::Policy(
                "exceptions are deny provisions inside a permit; a deny consent cannot carry them",
            ));
        }
        self.exceptions
            .iter()
            .try_for_each(|e| validate_lists(&e.actors, &e.actions, &e.purposes, &e.data))
    }
}
