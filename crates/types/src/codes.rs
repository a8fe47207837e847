//! Closed code lists used on the ledger. Closed enums, never free text, so no
//! identifier can hide in a field. Purpose codes are HL7 v3 PurposeOfUse.

use crate::impl_tag_codec;
use serde::{Deserialize, Serialize};

/// A member's role inside its institution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    Admin,
    Clinician,
    Researcher,
    Auditor,
    /// The institution's break-glass key service: it holds the emergency PRE key patients
    /// delegate to, and hands a record's key to one of its clinicians only for a final,
    /// flagged ETREAT read. It never asks for access itself.
    EmergencyService,
}
impl_tag_codec!(Role {
    Admin = 0,
    Clinician = 1,
    Researcher = 2,
    Auditor = 3,
    EmergencyService = 4,
});

/// An auditor's finding on a flagged (break-glass) read in the review queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReviewFinding {
    /// The emergency and the justification hold up.
    Justified,
    /// The read was not warranted; the institution follows it up.
    Unjustified,
}
impl_tag_codec!(ReviewFinding {
    Justified = 0,
    Unjustified = 1,
});

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum InstitutionKind {
    Hospital,
    Laboratory,
    Regulator,
    ResearchCentre,
}
impl_tag_codec!(InstitutionKind { Hospital = 0, Laboratory = 1, Regulator = 2, ResearchCentre = 3 });

/// Coarse record category: enough to scope consent, too coarse to identify anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RecordCategory {
    Encounter,
    Laboratory,
    Imaging,
    Medication,
    Allergy,
    Immunization,
    Procedure,
    Diagnosis,
    MentalHealth,
    Genomic,
    Other,
}
impl_tag_codec!(RecordCategory {
    Encounter = 0,
    Laboratory = 1,
    Imaging = 2,
    Medication = 3,
    Allergy = 4,
    Immunization = 5,
    Procedure = 6,
    Diagnosis = 7,
    MentalHealth = 8,
    Genomic = 9,
    Other = 10,
});

/// HL7 v3 PurposeOfUse (code system 2.16.840.1.113883.1.11.20448), the subset this ledger decides on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Purpose {
    /// Treatment.
    Treat,
    /// Emergency treatment: the break-glass purpose.
    Etreat,
    /// Healthcare payment.
    Hpaymt,
    /// Healthcare operations.
    Hoperat,
    /// Healthcare research.
    Hresch,
    /// Public health.
    Pubhlth,
    /// Patient requested.
    Patrqt,
}
impl_tag_codec!(Purpose {
    Treat = 0,
    Etreat = 1,
    Hpaymt = 2,
    Hoperat = 3,
    Hresch = 4,
    Pubhlth = 5,
    Patrqt = 6,
});

impl Purpose {
    /// The HL7 code as written in FHIR (`TREAT`, `ETREAT`, ...).
    pub fn code(self) -> &'static str {
        match self {
            Purpose::Treat => "TREAT",
            Purpose::Etreat => "ETREAT",
            Purpose::Hpaymt => "HPAYMT",
            Purpose::Hoperat => "HOPERAT",
            Purpose::Hresch => "HRESCH",
            Purpose::Pubhlth => "PUBHLTH",
            Purpose::Patrqt => "PATRQT",
        }
    }
}

/// FHIR consent-action: access (read), correct (write), disclose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ConsentAction {
    Access,
    Correct,
    Disclose,
}
impl_tag_codec!(ConsentAction { Access = 0, Correct = 1, Disclose = 2 });

/// FHIR Consent.provision.type (and the outcome of an access decision).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Decision {
    Permit,
    Deny,
}
impl_tag_codec!(Decision { Permit = 0, Deny = 1 });
