//! The direct-identifier guard against a table: strings shaped like identifiers (including the
//! obfuscations a reviewer found slipping through) must be refused, ordinary clinical
//! justifications must pass. Each refused string names the kind it must be refused as.

use medchain_types::PhiViolation::{self, *};
use medchain_types::phi_guard::check;

/// (text, the violation it must be refused with)
const REFUSED: &[(&str, PhiViolation)] = &[
    // Control and invisible characters, including ones that split digit runs.
    ("call back\u{7}", ControlCharacter),
    ("line one\nline two", ControlCharacter),
    ("tab\tseparated", ControlCharacter),
    ("mrn 123\u{200b}456\u{200b}789", FormatCharacter),
    ("ssn 123\u{200c}45\u{200c}6789", FormatCharacter),
    ("ssn 123\u{200d}45\u{200d}6789", FormatCharacter),
    ("phone 555\u{2060}123\u{2060}4567", FormatCharacter),
    ("id 12\u{feff}34\u{feff}56", FormatCharacter),
    ("mrn 98\u{00ad}76\u{00ad}54", FormatCharacter),
    ("name \u{202e}eod enaj", FormatCharacter),
    ("patient \u{2066}x\u{2069}", FormatCharacter),
    ("mrn 12\u{180e}34\u{180e}56", FormatCharacter),
    ("hidden \u{e0041}\u{e0042} tag", FormatCharacter),
    ("filler \u{3164} letter", FormatCharacter),
    ("selector 1\u{fe0f}2\u{fe0f}3", FormatCharacter),
    // Digits outside ASCII (full-width digits are normalised to ASCII instead, below).
    ("mrn \u{663}\u{664}\u{665}", NonAsciiDigit),
    ("bed \u{967}\u{968}", NonAsciiDigit),
    ("code \u{e51}\u{e52}\u{e53}", NonAsciiDigit),
    ("room \u{9e6}", NonAsciiDigit),
    (
        "ref \u{1d7ce}\u{1d7cf}\u{1d7d0}\u{1d7d1}\u{1d7d2}\u{1d7d3}",
        DigitRun,
    ),
    // URLs and host names.
    ("see https://example.org/p", Url),
    ("see http://10.0.0.1/x", Url),
    ("see www.example.org", Url),
    ("portal st-mary.org", Url),
    ("records on example.com", Url),
    ("visit example dot com", Url),
    ("www dot hospital dot org", Url),
    ("ftp://files.example.net", Url),
    ("see EXAMPLE.ORG", Url),
    ("see ｗｗｗ．example．org", Url),
    // E-mail addresses, plain and obfuscated.
    ("mail jane.doe@example.org", EmailAddress),
    ("contact j@x", EmailAddress),
    ("contact jane @ example.org", EmailAddress),
    ("contact jane@ example.org", EmailAddress),
    ("write jane at example dot org", EmailAddress),
    ("write jane at example.org", EmailAddress),
    ("write jane AT example DOT com", EmailAddress),
    ("write jane[at]example", EmailAddress),
    ("write jane [at] example [dot] org", EmailAddress),
    ("write jane(at)example.org", EmailAddress),
    ("write jane {at} example", EmailAddress),
    ("write jane <at> example", EmailAddress),
    ("write jane[@]example", EmailAddress),
    ("mail jane＠example", EmailAddress),
    ("mail jane﹫example", EmailAddress),
    ("jane dot doe at hospital dot net", EmailAddress),
    // Digit runs of five or more: postal codes, MRNs, account numbers.
    ("MRN 1234567", DigitRun),
    ("mrn 123456", DigitRun),
    ("zip 02139", DigitRun),
    ("postcode 75001", DigitRun),
    ("lives in 10115", DigitRun),
    ("account 99999", DigitRun),
    ("zip 02139-4307", DigitRun),
    ("mrn １２３４５６７", DigitRun),
    ("mrn １２３４５", DigitRun),
    ("case 00042", DigitRun),
    ("id 1234５", DigitRun),
    // Phone and social security numbers, with any separator.
    ("ssn 123-45-6789", PhoneNumber),
    ("ssn 123 45 6789", PhoneNumber),
    ("ssn 123_45_6789", PhoneNumber),
    ("ssn 123–45–6789", PhoneNumber),
    ("ssn 123—45—6789", PhoneNumber),
    ("ssn 123·45·6789", PhoneNumber),
    ("ssn 123*45*6789", PhoneNumber),
    ("ssn 123~45~6789", PhoneNumber),
    ("ssn 123:45:6789", PhoneNumber),
    ("ssn 123|45|6789", PhoneNumber),
    ("ssn 123\\45\\6789", PhoneNumber),
    ("ssn 123−45−6789", PhoneNumber),
    ("ssn １２３－４５－６７８９", PhoneNumber),
    ("phone (555) 123-4567", PhoneNumber),
    ("phone 555.123.4567", PhoneNumber),
    ("tel 555 123 4567", PhoneNumber),
    ("tel +1 555 123 4567", PhoneNumber),
    ("tel 555   123   4567", PhoneNumber),
    ("tel 555-1234", PhoneNumber),
    ("tel 0171 234 567", PhoneNumber),
    ("tel 06 12 34 56 78", PhoneNumber),
    ("card 4111 1111 1111 1111", PhoneNumber),
    ("ssn 123,45,6789", PhoneNumber),
    // Dates with a year.
    ("born 1980-02-29", Date),
    ("dob 12/03/1980", Date),
    ("seen 12.03.24", Date),
    ("since 03/2024", Date),
    ("dob 1980/02/29", Date),
    ("dob 29_02_1980", Date),
    ("dob 29–02–1980", Date),
    ("dob ２９/０２/１９８０", Date),
    ("dob 2.3.80", Date),
    // Dates without a year.
    ("born 12/03", Date),
    ("born 3/12", Date),
    ("seen on 03-12", Date),
    ("admitted 12.03.", Date),
    ("dob 25-12", Date),
    ("since 03/04", Date),
    ("visit 11/11", Date),
    ("discharged 1/2", Date),
    ("birthday 07.04", Date),
    ("date: 5/6", Date),
    ("dob: 31-01", Date),
    // Month names next to numbers.
    ("born 12 March", Date),
    ("born mar 3", Date),
    ("born 3rd of may", Date),
    ("seen June 21st", Date),
    ("born 1st jan", Date),
    ("born Sept. 9", Date),
    ("dob 14 february", Date),
    ("admitted 2 Dec", Date),
    ("born Ｍarch 3", Date),
    // IP addresses and long number sequences.
    ("from 10.0.0.1", NumberSequence),
    ("from 192.168.1.20", NumberSequence),
    ("ref 1-2-3-4", NumberSequence),
];

/// Ordinary break-glass justifications: coded reasons, dosages, vitals, lab values, durations.
const PASSING: &[&str] = &[
    "patient unconscious in ED, anticoagulation status needed",
    "unconscious on arrival, suspected anaphylaxis",
    "BP 80/40, GCS 7, needs medication history",
    "BP 120/80",
    "BP 120/80, HR 110, SpO2 88%",
    "cardiac arrest in ED bay 3, dose 0.5 mg",
    "trauma team activation; allergy status unknown",
    "HbA1c 7.2 %",
    "HbA1c 7.2%",
    "5 mg",
    "give 5 mg IV then 2.5 mg",
    "2 weeks post-op",
    "2 weeks post-op, wound dehiscence suspected",
    "3 days post partum haemorrhage",
    "GCS 7/15 after fall",
    "pain 8/10",
    "1-2 tablets taken, unknown substance",
    "temp 38.5 C, suspected sepsis",
    "potassium 6.8 mmol/L, arrhythmia",
    "INR 4.5 on warfarin",
    "glucose 2.1 mmol/L, unresponsive",
    "seizure lasting 5 min, status epilepticus",
    "anaphylaxis after 1 dose of penicillin",
    "massive transfusion protocol, 4 units given",
    "stroke alert, onset 45 min ago, thrombolysis decision",
    "overdose suspected, prior medication list needed",
    "intubated, sedation history required",
    "chest pain, troponin 250 ng/L",
    "ECG shows STEMI, cath lab activated",
    "known epilepsy? medication history needed",
    "fall from 3 m, head injury",
    "burns 20 % TBSA",
    "respiratory rate 32, SpO2 85 % on 15 L",
    "child 4 years, weight 16 kg, dosing needed",
    "pregnant 32 weeks, eclampsia suspected",
    "dialysis patient, missed 2 sessions",
    "creatinine 450 umol/L, acute kidney injury",
    "platelets 20, active bleeding",
    "Hb 65 g/L, GI bleed",
    "lactate 4.2, septic shock",
    "paracetamol level 150 mg/L at 4 h",
    "allergy status unknown before surgery",
    "transferred from ICU, records needed for handover",
    "patient cannot consent, emergency surgery",
    "altered mental status, possible hypoglycaemia",
    "sodium 118, confusion",
    "QT 520 ms on ECG",
    "bradycardia 35 bpm, beta blocker overdose?",
    "e.g. insulin dose unknown, i.v. access only",
    "given 2 x 500 mg, q.i.d. dosing",
    "arrived 10 p.m., collapsed at home",
    "weight 70 kg, height 175 cm",
    "aged 80, frail, fall",
    "surgery in 2025 noted by family",
    "code 1234 (triage category)",
];

#[test]
fn every_identifier_shape_in_the_table_is_refused_with_its_kind() {
    assert!(REFUSED.len() >= 100, "{} refused strings", REFUSED.len());
    let mut wrong = Vec::new();
    for (text, expected) in REFUSED {
        let got = check(text);
        if got != Err(*expected) {
            wrong.push(format!("{text:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn ordinary_clinical_justifications_pass() {
    assert!(PASSING.len() >= 50, "{} passing strings", PASSING.len());
    let refused: Vec<String> = PASSING
        .iter()
        .filter_map(|text| check(text).err().map(|e| format!("{text:?}: {e:?}")))
        .collect();
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}
