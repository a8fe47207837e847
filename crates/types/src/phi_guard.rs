//! A conservative filter for the ledger's only free text (the break-glass
//! justification): refuse anything shaped like a direct identifier.
//!
//! What it rejects: control characters; URLs (`://`, `www.`); e-mail addresses
//! (`x@y`); any run of 6 or more digits (MRNs, SSNs, account numbers); numbers
//! of 7 or more digits split by separators (phone numbers, `123-45-6789`);
//! numeric dates (`2024-03-12`, `12/03/2024`, `12.03.24`, `03/2024`); four or
//! more dot/dash-separated number groups (IP addresses); a month name next to a
//! number (`12 March`, `mar 3`).
//!
//! Its limits: it cannot recognise names, addresses or free-form descriptions
//! ("the tall patient from room 3"), so clients must still use coded reasons;
//! it errs on the side of refusing (a dose like `1-2-3` reads as a date). It is
//! a backstop, not a de-identification service.

use std::fmt;

/// Which kind of direct identifier the text looked like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhiViolation {
    ControlCharacter,
    Url,
    EmailAddress,
    DigitRun,
    PhoneNumber,
    Date,
    NumberSequence,
}

impl fmt::Display for PhiViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PhiViolation::ControlCharacter => "a control character",
            PhiViolation::Url => "a URL",
            PhiViolation::EmailAddress => "an e-mail address",
            PhiViolation::DigitRun => {
                "a run of 6 or more digits, like a record or social security number"
            }
            PhiViolation::PhoneNumber => "a phone-number-like group of 7 or more digits",
            PhiViolation::Date => "a date",
            PhiViolation::NumberSequence => {
                "a sequence of 4 or more number groups, like an IP address"
            }
        })
    }
}

impl std::error::Error for PhiViolation {}

/// Accepts `text` only if none of the patterns in the module doc occur.
pub fn check(text: &str) -> Result<(), PhiViolation> {
    if text.chars().any(char::is_control) {
        return Err(PhiViolation::ControlCharacter);
    }
    let lower = text.to_lowercase();
    if lower.contains("://") || lower.contains("www.") {
        return Err(PhiViolation::Url);
    }
    if has_email(&lower) {
        return Err(PhiViolation::EmailAddress);
    }
    for cluster in numeric_clusters(&lower) {
        cluster.classify()?;
    }
    if month_next_to_number(&lower) {
        return Err(PhiViolation::Date);
    }
    Ok(())
}

fn has_email(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        *c == '@'
            && i > 0
            && !chars[i - 1].is_whitespace()
            && chars.get(i + 1).is_some_and(|next| !next.is_whitespace())
    })
}

/// Digit groups joined by short runs of separators, e.g. `(555) 123-4567`.
struct NumericCluster {
    groups: Vec<usize>,
    separators: Vec<String>,
}

const SEPARATOR_CHARS: &str = "-/.() +";
const SEPARATOR_RUN_MAX_CHARS: usize = 2;

fn numeric_clusters(text: &str) -> Vec<NumericCluster> {
    let chars: Vec<char> = text.chars().collect();
    let mut clusters = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut cluster = NumericCluster {
            groups: Vec::new(),
            separators: Vec::new(),
        };
        loop {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            cluster.groups.push(i - start);
            let sep_start = i;
            while i < chars.len()
                && SEPARATOR_CHARS.contains(chars[i])
                && i - sep_start < SEPARATOR_RUN_MAX_CHARS
            {
                i += 1;
            }
            if i > sep_start && i < chars.len() && chars[i].is_ascii_digit() {
                cluster
                    .separators
                    .push(chars[sep_start..i].iter().collect());
            } else {
                i = sep_start;
                break;
            }
        }
        clusters.push(cluster);
    }
    clusters
}

impl NumericCluster {
    fn classify(&self) -> Result<(), PhiViolation> {
        if self.groups.iter().any(|len| *len >= 6) {
            return Err(PhiViolation::DigitRun);
        }
        let date_separators = self
            .separators
            .iter()
            .all(|s| s == "/" || s == "-" || s == ".");
        let same_separator = self.separators.windows(2).all(|w| w[0] == w[1]);
        let years = self.groups.iter().filter(|len| **len == 4).count();
        let day_or_month = self.groups.iter().filter(|len| **len <= 2).count();
        // d.m.y / y-m-d / m/d/yy: two short groups and a year or a third short group.
        let full_date = self.groups.len() == 3 && day_or_month + years == 3 && years <= 1;
        let month_year = self.groups.len() == 2
            && years == 1
            && day_or_month == 1
            && !self.separators.contains(&".".to_string());
        if date_separators && same_separator && (full_date || month_year) {
            return Err(PhiViolation::Date);
        }
        if date_separators && self.groups.len() >= 4 {
            return Err(PhiViolation::NumberSequence);
        }
        let digits: usize = self.groups.iter().sum();
        if self.groups.len() >= 2 && digits >= 7 {
            return Err(PhiViolation::PhoneNumber);
        }
        Ok(())
    }
}

const MONTHS: [&str; 24] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
];

fn month_next_to_number(text: &str) -> bool {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let is_number = |w: &&str| w.chars().any(|c| c.is_ascii_digit());
    words.iter().enumerate().any(|(i, w)| {
        MONTHS.contains(w)
            && (i > 0 && is_number(&words[i - 1]) || words.get(i + 1).is_some_and(is_number))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coded_clinical_reasons_pass() {
        for text in [
            "unconscious on arrival, suspected anaphylaxis",
            "BP 80/40, GCS 7, needs medication history",
            "cardiac arrest in ED bay 3, dose 0.5 mg",
            "trauma team activation; allergy status unknown",
            "",
        ] {
            assert_eq!(check(text), Ok(()), "{text:?}");
        }
    }

    #[test]
    fn each_identifier_shape_is_refused_with_its_kind() {
        let cases = [
            ("call me\u{7}", PhiViolation::ControlCharacter),
            ("see https://example.org/p", PhiViolation::Url),
            ("see www.example.org", PhiViolation::Url),
            ("mail jane.doe@example.org", PhiViolation::EmailAddress),
            ("MRN 1234567", PhiViolation::DigitRun),
            ("mrn 123456", PhiViolation::DigitRun),
            ("ssn 123-45-6789", PhiViolation::PhoneNumber),
            ("phone (555) 123-4567", PhiViolation::PhoneNumber),
            ("tel 555 123 4567", PhiViolation::PhoneNumber),
            ("born 1980-02-29", PhiViolation::Date),
            ("dob 12/03/1980", PhiViolation::Date),
            ("seen 12.03.24", PhiViolation::Date),
            ("since 03/2024", PhiViolation::Date),
            ("from 10.0.0.1", PhiViolation::NumberSequence),
            ("born 12 March", PhiViolation::Date),
            ("born mar 3", PhiViolation::Date),
        ];
        for (text, expected) in cases {
            assert_eq!(check(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn five_digit_run_passes_six_is_refused() {
        assert_eq!(check("code 12345"), Ok(()));
        assert_eq!(check("code 123456"), Err(PhiViolation::DigitRun));
    }
}
