//! A conservative filter for the ledger's free text (the break-glass justification, institution
//! slugs): refuse anything shaped like a direct identifier.
//!
//! The text is first checked for characters that hide what it says: control characters and
//! invisible ones (Unicode general category Cf, e.g. zero-width spaces and bidi controls, and
//! the other default-ignorable code points), which could split `123<ZWSP>456<ZWSP>789` so that
//! no pattern sees a number. It is then normalised (NFKC, so full-width `１２３` and `＠` read as
//! `123` and `@`; combining marks dropped) and lower-cased, and must hold no digit outside
//! ASCII (`٣`, `३`). On that form it refuses:
//! - URLs (`://`, `www.`, a host name like `example.org`, `example dot com`);
//! - e-mail addresses, also obfuscated (`x@y`, `jane @ example.org`, `name at host dot com`,
//!   `name[at]host`, `name(at)host.org`);
//! - any run of 5 or more digits (postal codes, MRNs, SSNs, account numbers);
//! - numbers of 7 or more digits split by any separator (`123-45-6789`, `123_45_6789`,
//!   `123–45–6789`, `(555) 123 4567`);
//! - numeric dates with a year (`2024-03-12`, `12/03/2024`, `12.03.24`, `03/2024`) and without
//!   one where the shape says date (`12/03`, `03-12`, `12.03.`, `born 3/12`);
//! - four or more number groups (IP addresses);
//! - a month name next to a number (`12 March`, `mar 3`, `3rd of may`).
//!
//! Its limits: it cannot recognise names, street addresses or free-form descriptions ("the tall
//! patient from room 3"), so clients must still use coded reasons; it errs on the side of
//! refusing (`1/12` reads as a date, `12000 units` as a postal code). It is a backstop, not a
//! de-identification service.

use std::fmt;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Which kind of direct identifier the text looked like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhiViolation {
    ControlCharacter,
    /// An invisible character (Unicode Cf or another default-ignorable code point).
    FormatCharacter,
    /// A digit outside ASCII, e.g. Arabic-Indic or Devanagari.
    NonAsciiDigit,
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
            PhiViolation::FormatCharacter => {
                "an invisible formatting character such as a zero-width space"
            }
            PhiViolation::NonAsciiDigit => "a digit outside 0-9; write numbers with ASCII digits",
            PhiViolation::Url => "a URL or host name",
            PhiViolation::EmailAddress => "an e-mail address",
            PhiViolation::DigitRun => {
                "a run of 5 or more digits, like a postal code, record or social security number"
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

/// Digits in one group from which a run reads as an identifier (5: US ZIP and most postal codes).
const DIGIT_RUN_MIN_DIGITS: usize = 5;
/// Digits across separated groups from which a cluster reads as a phone or social security number.
const PHONE_MIN_DIGITS: usize = 7;
/// Separator characters allowed between two digit groups of one cluster (`) ` in `(555) 123`).
const SEPARATOR_RUN_MAX_CHARS: usize = 3;

/// Accepts `text` only if none of the patterns in the module doc occur.
pub fn check(text: &str) -> Result<(), PhiViolation> {
    if text.chars().any(char::is_control) {
        return Err(PhiViolation::ControlCharacter);
    }
    if text.chars().any(is_invisible) {
        return Err(PhiViolation::FormatCharacter);
    }
    let normal: String = text
        .nfkc()
        .filter(|c| !is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase();
    // NFKC can compose new invisible or control characters only from ones refused above; checked
    // again so the rest of the guard reads exactly what it was built for.
    if normal.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(PhiViolation::FormatCharacter);
    }
    if normal
        .chars()
        .any(|c| c.is_numeric() && !c.is_ascii_digit())
    {
        return Err(PhiViolation::NonAsciiDigit);
    }
    let chars: Vec<char> = normal.chars().collect();
    let words: Vec<&str> = normal.split_whitespace().collect();
    // E-mail first: an address holds a host name, and the more precise kind helps the writer.
    if has_email(&chars, &normal, &words) {
        return Err(PhiViolation::EmailAddress);
    }
    if has_url(&normal, &words) {
        return Err(PhiViolation::Url);
    }
    for cluster in numeric_clusters(&chars) {
        cluster.classify(&chars)?;
    }
    if month_next_to_number(&normal) {
        return Err(PhiViolation::Date);
    }
    Ok(())
}

/// Unicode general category Cf (Unicode 15.1, `DerivedGeneralCategory.txt`) and the other
/// default-ignorable code points that render as nothing (Hangul fillers, variation selectors,
/// the combining grapheme joiner, Khmer inherent vowels, Mongolian free variation selectors).
fn is_invisible(c: char) -> bool {
    matches!(
        c as u32,
        0x00AD
            | 0x034F
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF0..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

const TOP_LEVEL_DOMAIN_MAX_CHARS: usize = 6;

/// `example.org`, `mail.st-mary.co.uk`: labels of letters, digits and '-' joined by '.', the
/// first with a letter, the last 2 to 6 letters. Abbreviations (`e.g.`, `b.i.d.`, `a.m.`) and
/// decimals (`7.2`) are not host names.
fn is_host_name(token: &str) -> bool {
    let token = token.trim_matches(|c: char| !c.is_alphanumeric());
    let labels: Vec<&str> = token.split('.').collect();
    let label_ok =
        |l: &&str| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let Some(tld) = labels.last() else {
        return false;
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels[0].chars().any(|c| c.is_ascii_alphabetic())
        && labels[0].len() >= 2
        && (2..=TOP_LEVEL_DOMAIN_MAX_CHARS).contains(&tld.len())
        && tld.chars().all(|c| c.is_ascii_alphabetic())
}

fn is_dot_word(word: &str) -> bool {
    matches!(word, "dot" | "." | "[dot]" | "(dot)" | "{dot}" | "<dot>")
}

fn is_tld_word(word: &str) -> bool {
    let word = word.trim_matches(|c: char| !c.is_alphanumeric());
    (2..=TOP_LEVEL_DOMAIN_MAX_CHARS).contains(&word.len())
        && word.chars().all(|c| c.is_ascii_alphabetic())
}

fn has_url(text: &str, words: &[&str]) -> bool {
    if text.contains("://") || text.contains("www.") || text.contains("www dot") {
        return true;
    }
    // `example dot com`: a word, "dot", a top-level domain that is not an everyday word.
    let spelled_host = words.windows(3).any(|w| {
        is_dot_word(w[1])
            && w[0].chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && matches!(
                w[2].trim_matches(|c: char| !c.is_alphanumeric()),
                "com" | "org" | "net" | "edu" | "gov" | "io" | "info" | "uk" | "de" | "fr"
            )
    });
    spelled_host || words.iter().any(|w| !w.contains('@') && is_host_name(w))
}

fn has_email(chars: &[char], compact_source: &str, words: &[&str]) -> bool {
    // `name[at]host`, `name (at) host`: brackets around "at" only obfuscate an address.
    let compact: String = compact_source
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if ["[at]", "(at)", "{at}", "<at>", "[@]", "(@)", "{@}", "<@>"]
        .iter()
        .any(|pattern| compact.contains(pattern))
    {
        return true;
    }
    let at_sign = chars.iter().enumerate().any(|(i, c)| {
        if *c != '@' {
            return false;
        }
        let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
        let after_tight = chars.get(i + 1).is_some_and(|n| !n.is_whitespace());
        let before_tight = i > 0 && !chars[i - 1].is_whitespace();
        // `jane@example` is an address; `jane @ example.org` too; `infusion @ 5 ml/h` is not.
        let rest: String = chars[i + 1..].iter().collect();
        let next_word = rest.split_whitespace().next().unwrap_or("");
        (before_tight && after_tight)
            || (before.is_some_and(|c| c.is_alphanumeric()) && is_host_name(next_word))
    });
    if at_sign {
        return true;
    }
    // `name at host dot com`, `name at host.org`.
    words.windows(3).enumerate().any(|(i, w)| {
        let word_ok = |word: &str| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        w[0] != "at"
            && w[1] == "at"
            && word_ok(w[0])
            && (is_host_name(w[2])
                || (word_ok(w[2])
                    && words.get(i + 3).is_some_and(|d| is_dot_word(d))
                    && words.get(i + 4).is_some_and(|t| is_tld_word(t))))
    })
}

/// Digit groups joined by short runs of separators, e.g. `(555) 123-4567`.
struct NumericCluster {
    /// The groups as (start, end) char indices.
    groups: Vec<(usize, usize)>,
    separators: Vec<String>,
}

/// Anything between digits that is neither a letter nor a digit joins groups, except `%` and
/// `;`, which end a value, and a comma followed by a space, which lists values (`GCS 7, 80/40`).
fn is_separator(c: char) -> bool {
    !c.is_alphanumeric() && c != '%' && c != ';'
}

fn numeric_clusters(chars: &[char]) -> Vec<NumericCluster> {
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
            cluster.groups.push((start, i));
            let sep_start = i;
            while i < chars.len()
                && is_separator(chars[i])
                && i - sep_start < SEPARATOR_RUN_MAX_CHARS
            {
                i += 1;
            }
            let separator: String = chars[sep_start..i].iter().collect();
            let listing = separator.contains(',') && separator != ",";
            if i > sep_start && !listing && i < chars.len() && chars[i].is_ascii_digit() {
                cluster.separators.push(separator);
            } else {
                i = sep_start;
                break;
            }
        }
        clusters.push(cluster);
    }
    clusters
}

/// Words that, just before two small numbers, say they are a day and a month.
const DATE_WORDS: [&str; 13] = [
    "born",
    "dob",
    "d.o.b",
    "d.o.b.",
    "birthday",
    "birth",
    "on",
    "since",
    "seen",
    "admitted",
    "discharged",
    "date",
    "dated",
];

impl NumericCluster {
    fn lens(&self) -> Vec<usize> {
        self.groups.iter().map(|(s, e)| e - s).collect()
    }

    fn classify(&self, chars: &[char]) -> Result<(), PhiViolation> {
        let lens = self.lens();
        if lens.iter().any(|len| *len >= DIGIT_RUN_MIN_DIGITS) {
            return Err(PhiViolation::DigitRun);
        }
        // A date separator is one non-space character, the same between every group.
        let date_separators = self
            .separators
            .iter()
            .all(|s| s.chars().count() == 1 && !s.contains(char::is_whitespace) && s != ",");
        let same_separator = self.separators.windows(2).all(|w| w[0] == w[1]);
        let years = lens.iter().filter(|len| **len == 4).count();
        let day_or_month = lens.iter().filter(|len| **len <= 2).count();
        // d.m.y / y-m-d / m/d/yy: two short groups and a year or a third short group.
        let full_date = lens.len() == 3 && day_or_month + years == 3 && years <= 1;
        let month_year = lens.len() == 2
            && years == 1
            && day_or_month == 1
            && !self.separators.contains(&".".to_string());
        if date_separators && same_separator && (full_date || month_year) {
            return Err(PhiViolation::Date);
        }
        if date_separators && same_separator && self.is_day_and_month(chars) {
            return Err(PhiViolation::Date);
        }
        if date_separators && lens.len() >= 4 {
            return Err(PhiViolation::NumberSequence);
        }
        let digits: usize = lens.iter().sum();
        if lens.len() >= 2 && digits >= PHONE_MIN_DIGITS {
            return Err(PhiViolation::PhoneNumber);
        }
        Ok(())
    }

    /// Two groups of one or two digits that form a day and a month, written the way dates are
    /// (`03/12`, `12-03`, `12.03.`), or after a word that announces a date (`born 3/12`).
    /// Scores out of ten (`8/10`), decimals (`7.2`) and ranges (`1-2 tablets`) pass.
    fn is_day_and_month(&self, chars: &[char]) -> bool {
        let [(s0, e0), (s1, e1)] = self.groups[..] else {
            return false;
        };
        if e0 - s0 > 2 || e1 - s1 > 2 {
            return false;
        }
        let value = |s: usize, e: usize| {
            chars[s..e]
                .iter()
                .fold(0u32, |n, c| n * 10 + c.to_digit(10).unwrap_or(0))
        };
        let (a, b) = (value(s0, e0), value(s1, e1));
        let day_month = |d: u32, m: u32| (1..=31).contains(&d) && (1..=12).contains(&m);
        if !(day_month(a, b) || day_month(b, a)) {
            return false;
        }
        let separator = self.separators[0].as_str();
        let zero_padded = (e0 - s0 == 2 && chars[s0] == '0') || (e1 - s1 == 2 && chars[s1] == '0');
        let announced = previous_word(chars, s0).is_some_and(|w| DATE_WORDS.contains(&w.as_str()));
        if announced {
            return true;
        }
        if separator == "." {
            let trailing_dot = chars.get(e1) == Some(&'.')
                && chars.get(e1 + 1).is_none_or(|c| !c.is_ascii_digit());
            return e0 - s0 == 2 && e1 - s1 == 2 && (zero_padded || trailing_dot);
        }
        let score = separator == "/" && b == 10;
        !score && (zero_padded || (e0 - s0 == 2 && e1 - s1 == 2))
    }
}

fn previous_word(chars: &[char], start: usize) -> Option<String> {
    let before: String = chars[..start].iter().collect();
    before
        .split(|c: char| c.is_whitespace() || c == ':' || c == ',')
        .rfind(|w| !w.is_empty())
        .map(str::to_owned)
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
            && (i > 0 && is_number(&words[i - 1])
                || words.get(i + 1).is_some_and(is_number)
                || (i > 1 && words[i - 1] == "of" && is_number(&words[i - 2])))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_identifier_shape_is_refused_with_its_kind() {
        let cases = [
            ("call me\u{7}", PhiViolation::ControlCharacter),
            ("mrn 123\u{200b}456", PhiViolation::FormatCharacter),
            ("mrn \u{663}\u{664}", PhiViolation::NonAsciiDigit),
            ("see https://example.org/p", PhiViolation::Url),
            ("see www.example.org", PhiViolation::Url),
            ("mail jane.doe@example.org", PhiViolation::EmailAddress),
            ("MRN 1234567", PhiViolation::DigitRun),
            ("zip 02139", PhiViolation::DigitRun),
            ("ssn 123-45-6789", PhiViolation::PhoneNumber),
            ("phone (555) 123-4567", PhiViolation::PhoneNumber),
            ("born 1980-02-29", PhiViolation::Date),
            ("born 12/03", PhiViolation::Date),
            ("from 10.0.0.1", PhiViolation::NumberSequence),
            ("born 12 March", PhiViolation::Date),
        ];
        for (text, expected) in cases {
            assert_eq!(check(text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn four_digit_run_passes_five_is_refused() {
        assert_eq!(check("code 1234"), Ok(()));
        assert_eq!(check("code 12345"), Err(PhiViolation::DigitRun));
    }
}
