//! `medchain study`: a researcher proposes a study, the validators approve it by a governance
//! vote, patients enroll a ring key and contribute anonymously, institutions contribute their
//! patients' values, and anyone reads the status and the released result, every read proven
//! against the genesis. The validators' nodes close the study at its deadline and post their
//! partial decryptions themselves; nobody runs a command to release it.

use crate::commands::{
    ApiArgs, IdentityArgs, TrustArgs, code_name, parse_code, parse_id, report, submit,
};
use crate::governance::{ProposeArgs, submit_as_validator};
use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use medchain_state::{StudyEntry, StudyResult, StudyStatus, study_payloads};
use medchain_types::{
    CohortFilter, InstitutionId, MembershipChange, Payload, ProposalId, RecordCategory, Slot,
    StudyId, StudySpec, api::TxState,
};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum StudyCommand {
    /// Propose a study as a registered researcher; the validators approve it with
    /// `medchain study approve`. Values are integers in `--min..=--max`, meaning
    /// value / --scale-divisor in --unit (HbA1c in 0.1 %: --unit % --scale-divisor 10).
    Propose {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Open the consortium's vote to approve a study (as a validator; proposing counts as
    /// approving). The other validators vote with `medchain governance vote`.
    Approve {
        /// The study id printed by `medchain study propose`.
        study: String,
        #[command(flatten)]
        common: ProposeArgs,
    },
    /// Register your ring key for your pseudonym at an institution, once, well before you
    /// contribute: anonymous contributions are ring-signed among enrolled pseudonyms.
    Enroll {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        /// The institution your pseudonym is registered at.
        #[arg(long)]
        institution: String,
    },
    /// Contribute to an approved study: as a patient, your own value anonymously (--value,
    /// with --institution naming the pseudonym whose ring key signs); as an institution's
    /// admin, your eligible patients' values (--values-file, one integer per line).
    Contribute {
        /// The study id.
        study: String,
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
        /// Your value (an integer of the study's range), contributed anonymously.
        #[arg(
            long,
            required_unless_present = "values_file",
            conflicts_with = "values_file"
        )]
        value: Option<u64>,
        /// The institution of the pseudonym you contribute as (with --value).
        #[arg(long, requires = "value")]
        institution: Option<String>,
        /// Your institution's patients' values, one integer per line (as its admin).
        #[arg(long)]
        values_file: Option<PathBuf>,
    },
    /// Print a study (spec, status, contributions, partial decryptions), proven.
    Show {
        study: String,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// One line: where the study is and how many values it holds, proven.
    Status {
        study: String,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// The released result (count, sum, mean, variance, histogram), proven; says so if the
    /// study is not released or closed below its minimum cohort.
    Result {
        study: String,
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Every study on the ledger, proven complete.
    List {
        #[command(flatten)]
        api: ApiArgs,
        #[command(flatten)]
        trust: TrustArgs,
    },
}

/// What a researcher proposes.
#[derive(Args)]
pub struct SpecArgs {
    /// The coded field (e.g. hba1c); no names or other identifiers.
    #[arg(long)]
    field: String,
    #[arg(long)]
    unit: String,
    /// A value v means v / scale-divisor units.
    #[arg(long, default_value_t = 1)]
    scale_divisor: u32,
    /// Smallest value a contribution may hold.
    #[arg(long)]
    min: u64,
    /// Largest value a contribution may hold.
    #[arg(long)]
    max: u64,
    /// Record categories a contributor's pseudonym must hold (repeat; any if none).
    #[arg(long = "category")]
    categories: Vec<String>,
    /// Institutions whose pseudonyms and admins may contribute (repeat; any if none).
    #[arg(long = "institution")]
    institutions: Vec<String>,
    /// Also aggregate the squares, for the variance.
    #[arg(long)]
    sum_of_squares: bool,
    /// Histogram bucket lower edges, comma-separated, the first equal to --min.
    #[arg(long, value_delimiter = ',')]
    histogram: Vec<u64>,
    /// Nothing is decrypted unless at least this many values were contributed (k).
    #[arg(long)]
    min_cohort: u64,
    /// Most values the study takes (bounds the release's discrete logarithm).
    #[arg(long)]
    values_max: u64,
    /// Contributions are taken for this many blocks from now.
    #[arg(long)]
    deadline_in_blocks: u64,
    /// Fewest pseudonyms an anonymous contribution's ring must hold.
    #[arg(long, default_value_t = 64)]
    ring_size: u32,
    /// Release with distributed differential privacy at this ε (0.01 to 10, at most three
    /// decimals): validators add discrete Laplace noise before anything is decrypted.
    #[arg(long, value_parser = parse_epsilon_milli)]
    epsilon: Option<u32>,
}

/// `"0.5"` → 500: ε in thousandths, exactly (no binary floating point on the way).
fn parse_epsilon_milli(text: &str) -> Result<u32, String> {
    let refuse = || format!("{text:?} is not an epsilon like 0.5 or 1 (at most three decimals)");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty()
        || fraction.len() > 3
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(refuse());
    }
    let whole: u32 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| refuse())?
    };
    let fraction: u32 = format!("{fraction:0<3}").parse().map_err(|_| refuse())?;
    whole
        .checked_mul(1000)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(refuse)
}

impl SpecArgs {
    fn into_spec(self, height: u64) -> Result<StudySpec> {
        let categories = self
            .categories
            .iter()
            .map(|c| parse_code::<RecordCategory>("record category", c))
            .collect::<Result<_>>()?;
        let institutions = self
            .institutions
            .iter()
            .map(|i| InstitutionId::new(i).with_context(|| format!("--institution {i}")))
            .collect::<Result<_>>()?;
        let spec = StudySpec {
            field: self.field,
            unit: self.unit,
            scale_divisor: self.scale_divisor,
            lo: self.min,
            hi: self.max,
            cohort: CohortFilter {
                categories,
                institutions,
            },
            sum_of_squares: self.sum_of_squares,
            histogram: self.histogram,
            min_cohort: self.min_cohort,
            values_max: self.values_max,
            deadline_height: height.saturating_add(self.deadline_in_blocks),
            ring_size: self.ring_size,
            epsilon_milli: self.epsilon,
        };
        spec.validate().context("the study is refused")?;
        Ok(spec)
    }
}

fn parse_study(text: &str) -> Result<StudyId> {
    parse_id(text, "the study id must be 64 hex characters")
}

pub async fn run(cmd: StudyCommand) -> Result<()> {
    match cmd {
        StudyCommand::Propose {
            identity,
            api,
            spec,
        } => {
            let keys = identity.load()?.member_keys()?;
            let client = medchain_client::Client::new(&api.api)?;
            let height = client.status().await?.height;
            let payload = Payload::ProposeStudy {
                spec: spec.into_spec(height)?,
            };
            let outcome = submit(&client, &keys.signing, payload).await?;
            report(&outcome)?;
            if outcome.status == TxState::Committed {
                let tx: medchain_types::TxHash = parse_id(&outcome.hash, "malformed hash")?;
                let id = StudyId::from_tx(&tx);
                println!("study id: {id}");
                println!(
                    "the validators approve it with: medchain study approve {id} --node-key <validator.key>"
                );
            }
            Ok(())
        }
        StudyCommand::Approve { study, common } => {
            let study = parse_study(&study)?;
            let payload = Payload::ProposeMembership {
                change: MembershipChange::ApproveStudy { study },
                ttl_blocks: common.ttl_blocks,
            };
            let outcome = submit_as_validator(&common.signer, &common.api, payload).await?;
            if outcome.status == TxState::Committed {
                let tx: medchain_types::TxHash = parse_id(&outcome.hash, "malformed hash")?;
                let id = ProposalId::from_tx(&tx);
                println!("approval proposal id: {id}");
                println!(
                    "the other validators vote with: medchain governance vote {id} --approve --node-key <their validator.key>"
                );
            }
            Ok(())
        }
        StudyCommand::Enroll {
            identity,
            api,
            institution,
        } => {
            let institution = InstitutionId::new(&institution)?;
            let keys = identity.load()?.keys_at(&institution)?;
            let client = medchain_client::Client::new(&api.api)?;
            let chain_id = crate::commands::chain_id(&client).await?;
            let pseudonym = medchain_types::AccountId::from(
                commonware_cryptography::Signer::public_key(&keys.signing),
            );
            let payload = study_payloads::register_ring_key(
                &mut rand::rng(),
                &chain_id,
                &pseudonym,
                &keys.ring,
            )?;
            report(&submit(&client, &keys.signing, payload).await?)?;
            println!("ring key enrolled for your pseudonym at {institution}");
            Ok(())
        }
        StudyCommand::Contribute {
            study,
            identity,
            api,
            trust,
            value,
            institution,
            values_file,
        } => {
            let id = parse_study(&study)?;
            let client = trust.client(&api)?;
            let study = client.study(&id).await?.value;
            let identity = identity.load()?;
            let outcome = match (value, values_file) {
                (Some(value), _) => {
                    let Some(institution) = institution else {
                        bail!(
                            "say which pseudonym contributes: --institution ID (the institution you enrolled at)"
                        );
                    };
                    let keys = identity.keys_at(&InstitutionId::new(&institution)?)?;
                    client
                        .contribute_anonymously(&mut rand::rng(), &study, &keys.ring, value)
                        .await?
                }
                (None, Some(path)) => {
                    let values = read_values(&path)?;
                    let admin = identity.member_keys()?;
                    client
                        .contribute_for_institution(
                            &mut rand::rng(),
                            &admin.signing,
                            &study,
                            &values,
                        )
                        .await?
                }
                (None, None) => bail!("give --value (a patient) or --values-file (an institution)"),
            };
            report(&outcome)?;
            Ok(())
        }
        StudyCommand::Show { study, api, trust } => {
            let verified = trust.client(&api)?.study(&parse_study(&study)?).await?;
            print!("{}", describe(&verified.value));
            println!(
                "verified: proven in the state of finalized block {}",
                verified.height
            );
            Ok(())
        }
        StudyCommand::Status { study, api, trust } => {
            let verified = trust.client(&api)?.study(&parse_study(&study)?).await?;
            println!(
                "{} (block {})",
                status_line(&verified.value),
                verified.height
            );
            Ok(())
        }
        StudyCommand::Result { study, api, trust } => {
            let verified = trust.client(&api)?.study(&parse_study(&study)?).await?;
            let entry = &verified.value;
            match (&entry.status, &entry.result) {
                (StudyStatus::Released, Some(result)) => {
                    print!("{}", describe_result(&entry.spec, result));
                    println!(
                        "verified: proven in the state of finalized block {}",
                        verified.height
                    );
                    Ok(())
                }
                (StudyStatus::BelowMinimumCohort, _) => bail!(
                    "study {} closed with {} values, below its minimum cohort of {}: nothing was or will be decrypted",
                    entry.id,
                    entry.values,
                    entry.spec.min_cohort
                ),
                _ => bail!("no result yet: {}", status_line(entry)),
            }
        }
        StudyCommand::List { api, trust } => {
            let client = trust.client(&api)?;
            let index = client.study_index().await?;
            for line in &index.value {
                let study = client.study(&line.study).await?;
                println!("{}  {}", line.study, status_line(&study.value));
            }
            println!(
                "study index: {} studies, proven complete at block {}",
                index.value.len(),
                index.height
            );
            Ok(())
        }
    }
}

/// Values an institution contributes: one integer per line, blank lines and `#` comments
/// skipped; an error names the line.
fn read_values(path: &std::path::Path) -> Result<Vec<u64>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the values file {}", path.display()))?;
    let mut values = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let value = line.parse::<u64>().with_context(|| {
            format!(
                "{} line {}: {line:?} is not a non-negative integer",
                path.display(),
                number + 1
            )
        })?;
        values.push(value);
    }
    Ok(values)
}

fn status_line(study: &StudyEntry) -> String {
    let contributions = study.anonymous_contributions + study.institutional_contributions;
    let detail = match study.status {
        StudyStatus::Proposed => "waiting for the validators' approval vote".to_string(),
        StudyStatus::Approved => format!(
            "taking contributions until height {}",
            study.spec.deadline_height
        ),
        StudyStatus::Releasing => format!(
            "closed at height {}; {} partial decryptions posted",
            study.closed_height.unwrap_or(0),
            study.partials.len()
        ),
        StudyStatus::AddingNoise => format!(
            "closed at height {}; {} validators added their noise shares",
            study.closed_height.unwrap_or(0),
            study.noise_from.len()
        ),
        StudyStatus::Released => "released; see `medchain study result`".to_string(),
        StudyStatus::BelowMinimumCohort => format!(
            "below its minimum cohort of {}: nothing is decrypted",
            study.spec.min_cohort
        ),
    };
    format!(
        "{} ({}): {} values from {contributions} contributions ({} anonymous, {} institutional); {detail}",
        study.spec.field,
        study.status.name(),
        study.values,
        study.anonymous_contributions,
        study.institutional_contributions
    )
}

fn describe(study: &StudyEntry) -> String {
    let spec = &study.spec;
    let mut out = format!("study {}\n", study.id);
    out += &format!("  researcher:   {}\n", study.researcher);
    out += &format!(
        "  field:        {} in 1/{} {}, values {}..={}\n",
        spec.field, spec.scale_divisor, spec.unit, spec.lo, spec.hi
    );
    let categories: Vec<String> = spec.cohort.categories.iter().map(code_name).collect();
    let institutions: Vec<&str> = spec
        .cohort
        .institutions
        .iter()
        .map(|i| i.as_str())
        .collect();
    out += &format!(
        "  cohort:       categories [{}], institutions [{}] (empty: any)\n",
        categories.join(", "),
        institutions.join(", ")
    );
    let mut aggregates = vec!["count", "sum", "mean"];
    if spec.sum_of_squares {
        aggregates.push("variance");
    }
    if !spec.histogram.is_empty() {
        aggregates.push("histogram");
    }
    out += &format!("  aggregates:   {}\n", aggregates.join(", "));
    out += &format!(
        "  release:      at least {} values (k), at most {}; anonymous rings of at least {}\n",
        spec.min_cohort, spec.values_max, spec.ring_size
    );
    if let Some(epsilon_milli) = spec.epsilon_milli {
        out += &format!(
            "  privacy:      ε = {} (distributed discrete Laplace noise added before decryption)\n",
            epsilon_text(epsilon_milli)
        );
    }
    out += &format!(
        "  deadline:     height {} (proposed at {})\n",
        spec.deadline_height, study.proposed_height
    );
    if let Some(approval) = &study.approval {
        out += &format!(
            "  approved:     height {} by proposal {}, analytics key epoch {}\n",
            approval.height, approval.proposal, approval.key_epoch
        );
    }
    out += &format!("  status:       {}\n", status_line(study));
    out
}

/// The decrypted totals as a researcher reads them, in the spec's unit.
fn describe_result(spec: &StudySpec, result: &StudyResult) -> String {
    let scale = f64::from(spec.scale_divisor);
    let n = result.values as f64;
    let mut out = format!(
        "{}: {} values from {} contributions (released at height {}, decrypted by validators {:?})\n",
        spec.field, result.values, result.contributions, result.height, result.decrypted_by
    );
    let mut mean = 0.0;
    for (slot, total) in spec.slots().into_iter().zip(&result.totals) {
        match slot {
            Slot::Sum => {
                mean = *total as f64 / n;
                out += &format!(
                    "  sum:      {total} (= {} {})\n  mean:     {:.3} {}\n",
                    *total as f64 / scale,
                    spec.unit,
                    mean / scale,
                    spec.unit
                );
            }
            Slot::SumOfSquares => {
                let variance = (*total as f64 / n - mean * mean).max(0.0);
                out += &format!(
                    "  variance: {:.3} {}² (standard deviation {:.3} {})\n",
                    variance / (scale * scale),
                    spec.unit,
                    variance.sqrt() / scale,
                    spec.unit
                );
            }
            Slot::Bucket(i) => {
                let lower = spec.histogram[i];
                let upper = spec
                    .histogram
                    .get(i + 1)
                    .map_or(format!("{}]", spec.hi), |u| format!("{u})"));
                out += &format!("  bucket [{lower}, {upper}: {total}\n");
            }
        }
    }
    if let Some(noise) = &result.noise {
        out += &format!(
            "  privacy:  differentially private at ε = {} (δ < 1e-16): each total carries discrete Laplace noise from {} validators and is clamped to the range it could take; mean and variance are estimates\n",
            epsilon_text(noise.epsilon_milli),
            noise.shares
        );
        out += &noise_spread(spec, noise.shares);
    }
    out += "  each pseudonym contributes at most once; a patient with pseudonyms at several cohort institutions may have contributed once per pseudonym\n";
    out
}

/// How far the noise typically moves each total, so a researcher can judge the numbers: a
/// discrete Laplace share of scale λ has standard deviation about √2·λ, and `shares`
/// independent shares add their variances.
fn noise_spread(spec: &StudySpec, shares: u32) -> String {
    let Some(noise) = spec.slot_noise() else {
        return String::new();
    };
    let spread = |n: &medchain_types::study::SlotNoise| {
        let scale = n.scale_numerator as f64 / n.scale_denominator as f64;
        (2.0 * f64::from(shares)).sqrt() * scale
    };
    let parts: Vec<String> = noise
        .iter()
        .filter(|n| !matches!(n.slot, Slot::Bucket(i) if i > 0))
        .map(|n| match n.slot {
            Slot::Sum => format!("sum {:.0}", spread(n)),
            Slot::SumOfSquares => format!("sum of squares {:.0}", spread(n)),
            Slot::Bucket(_) => format!("each bucket {:.1}", spread(n)),
        })
        .collect();
    format!(
        "  noise:    standard deviation about {} (in the totals' integer units)\n",
        parts.join(", ")
    )
}

fn epsilon_text(epsilon_milli: u32) -> String {
    let text = format!("{}.{:03}", epsilon_milli / 1000, epsilon_milli % 1000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_is_read_in_exact_thousandths_and_malformed_ones_are_refused() {
        for (text, milli) in [
            ("0.5", 500),
            ("1", 1000),
            ("0.01", 10),
            (".25", 250),
            ("10.000", 10_000),
        ] {
            assert_eq!(parse_epsilon_milli(text), Ok(milli), "{text}");
            assert_eq!(
                epsilon_text(milli).parse::<f64>().unwrap() * 1000.0,
                milli as f64
            );
        }
        for bad in ["", ".", "0.0001", "-1", "1e-2", "abc", "0,5", "99999999"] {
            assert!(parse_epsilon_milli(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(epsilon_text(500), "0.5");
        assert_eq!(epsilon_text(2000), "2");
    }

    #[test]
    fn the_noise_spread_follows_the_scale_and_the_number_of_shares() {
        let spec = StudySpec {
            field: "hba1c".into(),
            unit: "%".into(),
            scale_divisor: 10,
            lo: 40,
            hi: 200,
            cohort: CohortFilter::default(),
            sum_of_squares: false,
            histogram: vec![40, 100],
            min_cohort: 3,
            values_max: 100,
            deadline_height: 10,
            ring_size: 3,
            epsilon_milli: Some(1_000),
        };
        // Two groups at ε = 1: the sum's scale is 160 · 2 = 320, each bucket's 2 · 2 = 4; two
        // shares give √4 = 2 times the scale.
        assert_eq!(
            noise_spread(&spec, 2),
            "  noise:    standard deviation about sum 640, each bucket 8.0 (in the totals' integer units)\n"
        );
        let plain = StudySpec {
            epsilon_milli: None,
            ..spec
        };
        assert_eq!(noise_spread(&plain, 2), "");
    }
}
