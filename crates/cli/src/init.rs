//! `medchain init`: a new local consortium's genesis, validator keys, node configurations and,
//! for `up`, a demo membership (institutions, admins, clinicians, researchers, an auditor).
//!
//! Layout of a data directory:
//! ```text
//! DIR/genesis.toml
//! DIR/validators/node-<i>/{node.toml, validator.key, storage/, node.log}
//! DIR/observers/node-<i>/{node.toml, observer.key, storage/, node.log}
//! DIR/demo/identities.toml     demo secret keys (hex), for trying the CLI
//! ```

use crate::identity::{Identity, IdentityFile, pre_secret_key, write_new_secret_file};
use anyhow::{Context as _, Result, bail};
use commonware_cryptography::Signer as _;
use medchain_crypto::keys::MasterSeed;
use medchain_node::config::NodeConfig;
use medchain_node::config::validator_keys;
use medchain_state::registration::{GenesisKeyring, MemberKeys};
use medchain_types::{
    Genesis, GenesisInstitution, GenesisMember, GenesisObserver, GenesisValidator, InstitutionId,
    InstitutionKind, MemberKeyProofs, Role, ValidatorKeyProofs, limits,
};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

/// Validators a local consortium may have: n = 3f+1 up to f = 10.
pub const LOCAL_VALIDATORS_MAX: usize = 31;
/// Observers a local consortium may have.
pub const LOCAL_OBSERVERS_MAX: usize = 8;
/// The institution whose observer node `init` creates: the regulator audits without voting.
const OBSERVER_INSTITUTION: &str = "health-regulator";

/// The demo consortium's institutions: two hospitals, a laboratory and a regulator.
const DEMO_INSTITUTIONS: [(&str, InstitutionKind); 4] = [
    ("st-mary-hospital", InstitutionKind::Hospital),
    ("riverside-hospital", InstitutionKind::Hospital),
    ("central-lab", InstitutionKind::Laboratory),
    ("health-regulator", InstitutionKind::Regulator),
];

/// Demo members registered in the genesis: (name in identities.toml, institution, role).
const DEMO_MEMBERS: [(&str, &str, Role); 7] = [
    ("dr-alice", "st-mary-hospital", Role::Clinician),
    ("dr-bob", "st-mary-hospital", Role::Clinician),
    ("dr-carol", "riverside-hospital", Role::Clinician),
    ("researcher-dan", "central-lab", Role::Researcher),
    ("auditor-eve", "health-regulator", Role::Auditor),
    (
        EMERGENCY_SERVICES[0].0,
        EMERGENCY_SERVICES[0].1,
        Role::EmergencyService,
    ),
    (
        EMERGENCY_SERVICES[1].0,
        EMERGENCY_SERVICES[1].1,
        Role::EmergencyService,
    ),
];

/// The hospitals' break-glass key services `up` runs: (identity name, institution).
pub const EMERGENCY_SERVICES: [(&str, &str); 2] = [
    ("emergency-st-mary-hospital", "st-mary-hospital"),
    ("emergency-riverside-hospital", "riverside-hospital"),
];

/// Port of the first emergency key service, above the first validator's HTTP port.
pub const EMERGENCY_SERVICE_PORT_OFFSET: u16 = 200;

/// A proof before the keyring signs it (the proofs sign the genesis with every proof zeroed).
const UNSIGNED: [u8; 64] = [0; 64];

/// Where the files of a data directory live.
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
    pub fn genesis(&self) -> PathBuf {
        self.root.join("genesis.toml")
    }
    pub fn node_dir(&self, index: usize) -> PathBuf {
        self.root.join("validators").join(format!("node-{index}"))
    }
    pub fn node_config(&self, index: usize) -> PathBuf {
        self.node_dir(index).join("node.toml")
    }
    pub fn node_log(&self, index: usize) -> PathBuf {
        self.node_dir(index).join("node.log")
    }
    pub fn observer_dir(&self, index: usize) -> PathBuf {
        self.root.join("observers").join(format!("node-{index}"))
    }
    pub fn observer_config(&self, index: usize) -> PathBuf {
        self.observer_dir(index).join("node.toml")
    }
    pub fn observer_log(&self, index: usize) -> PathBuf {
        self.observer_dir(index).join("node.log")
    }
    pub fn identities(&self) -> PathBuf {
        self.root.join("demo").join("identities.toml")
    }
    pub fn emergency_dir(&self, institution: &str) -> PathBuf {
        self.root.join("emergency").join(institution)
    }
}

/// Ports of validator `index` given the first validator's HTTP address.
pub fn addresses(
    http_first: SocketAddr,
    p2p_base_port: u16,
    index: usize,
) -> Result<(SocketAddr, SocketAddr)> {
    let offset = u16::try_from(index).context("validator index out of range")?;
    let http_port = http_first
        .port()
        .checked_add(offset)
        .context("HTTP port out of range; choose a lower --http port")?;
    let p2p_port = p2p_base_port
        .checked_add(offset)
        .context("p2p port out of range")?;
    let mut http = http_first;
    http.set_port(http_port);
    let p2p = SocketAddr::new(http_first.ip(), p2p_port);
    Ok((p2p, http))
}

/// What `init` and `up` make a new local consortium of.
pub struct ConsortiumSpec<'a> {
    pub validators: usize,
    pub observers: usize,
    /// The first validator's HTTP address; the others take the next ports.
    pub http_first: SocketAddr,
    pub p2p_base_port: u16,
    pub chain_name: &'a str,
    /// Blocks per consensus epoch: a validator-set change waits for the next boundary.
    pub epoch_length_blocks: u64,
}

/// Creates a new consortium in `root`, refusing to overwrite an existing one.
pub fn create(root: &Path, spec: &ConsortiumSpec) -> Result<Genesis> {
    let ConsortiumSpec {
        validators,
        observers,
        http_first,
        p2p_base_port,
        chain_name,
        epoch_length_blocks,
    } = *spec;
    if !(1..=LOCAL_VALIDATORS_MAX).contains(&validators) {
        bail!(
            "--validators must be between 1 and {LOCAL_VALIDATORS_MAX} (n = 3f+1 tolerates f faults; 4 is the usual choice)"
        );
    }
    if observers > LOCAL_OBSERVERS_MAX {
        bail!("--observers must be at most {LOCAL_OBSERVERS_MAX}");
    }
    if epoch_length_blocks < limits::EPOCH_LENGTH_MIN_BLOCKS {
        bail!(
            "--epoch-length-blocks must be at least {} (each epoch starts a new consensus instance)",
            limits::EPOCH_LENGTH_MIN_BLOCKS
        );
    }
    let layout = Layout::new(root);
    if layout.genesis().exists() {
        bail!(
            "{} already holds a consortium; use another --data-dir or remove it",
            root.display()
        );
    }
    std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;

    // `medchain init` generates every founding key, so it signs every proof of possession.
    let mut keyring = GenesisKeyring::default();
    let mut identities = IdentityFile::default();
    let mut institutions = Vec::new();
    for (slug, kind) in DEMO_INSTITUTIONS {
        let id = InstitutionId::new(slug)?;
        let admin = Identity::generate().with_home(id.clone());
        keyring.account(&admin.member_keys()?.signing);
        institutions.push(GenesisInstitution {
            id,
            kind,
            admin: admin.account()?,
            admin_proof: UNSIGNED,
        });
        identities.insert(&format!("admin-{slug}"), &admin);
    }

    let mut genesis_validators = Vec::new();
    for index in 0..validators {
        let seed = MasterSeed::generate(&mut rand::rng());
        let keys = validator_keys(&seed)?;
        let (p2p, http) = addresses(http_first, p2p_base_port, index)?;
        let institution = InstitutionId::new(DEMO_INSTITUTIONS[index % DEMO_INSTITUTIONS.len()].0)?;
        keyring.validator(&keys.signing, &keys.encryption);
        genesis_validators.push(GenesisValidator {
            account: keys.signing.public_key().into(),
            encryption_key: keys.encryption.public_key().to_bytes(),
            institution,
            p2p_address: p2p.to_string(),
            http_address: http.to_string(),
            proofs: ValidatorKeyProofs {
                account: UNSIGNED,
                encryption_key: UNSIGNED,
            },
        });
        write_node_files(
            &layout.node_dir(index),
            "validator.key",
            &seed,
            (p2p, http),
            Path::new("../../genesis.toml"),
        )?;
    }

    let mut genesis_observers = Vec::new();
    for index in 0..observers {
        let seed = MasterSeed::generate(&mut rand::rng());
        let keys = validator_keys(&seed)?;
        // Observers take the ports after the validators'.
        let (p2p, http) = addresses(http_first, p2p_base_port, validators + index)?;
        keyring.account(&keys.signing);
        genesis_observers.push(GenesisObserver {
            account: keys.signing.public_key().into(),
            institution: InstitutionId::new(OBSERVER_INSTITUTION)?,
            p2p_address: p2p.to_string(),
            http_address: http.to_string(),
            account_proof: UNSIGNED,
        });
        write_node_files(
            &layout.observer_dir(index),
            "observer.key",
            &seed,
            (p2p, http),
            Path::new("../../genesis.toml"),
        )?;
    }

    let mut members = Vec::new();
    for (name, institution, role) in DEMO_MEMBERS {
        let institution = InstitutionId::new(institution)?;
        let member = Identity::generate().with_home(institution.clone());
        let keys = member.member_keys()?;
        keyring.member(&MemberKeys {
            account: &keys.signing,
            pre: &pre_secret_key(&keys)?,
            encryption: &keys.encryption,
        });
        members.push(GenesisMember {
            account: member.account()?,
            institution,
            role,
            pre_public_key: member.pre_public_key()?,
            encryption_key: member.encryption_public_key()?,
            proofs: MemberKeyProofs {
                account: UNSIGNED,
                pre_public_key: UNSIGNED,
                encryption_key: UNSIGNED,
            },
        });
        identities.insert(name, &member);
    }

    let mut genesis = Genesis {
        chain_name: chain_name.to_string(),
        genesis_time_ms: now_ms(),
        institutions,
        validators: genesis_validators,
        observers: genesis_observers,
        members,
        epoch_length_blocks,
    };
    keyring.sign(&mut rand::rng(), &mut genesis)?;
    medchain_state::check_genesis(&genesis).context("generated genesis is invalid")?;
    let text = toml::to_string_pretty(&genesis).context("cannot encode genesis")?;
    std::fs::write(layout.genesis(), text).context("cannot write genesis.toml")?;
    identities.save(&layout.identities())?;
    Ok(genesis)
}

/// A node's directory: its key (the master seed, readable by its owner only), node.toml and
/// storage. `genesis_file` is relative to `dir`.
pub(crate) fn write_node_files(
    dir: &Path,
    key_file: &str,
    seed: &MasterSeed,
    (p2p, http): (SocketAddr, SocketAddr),
    genesis_file: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir.join("storage"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let secret = zeroize::Zeroizing::new(hex::encode(seed.as_bytes()));
    write_new_secret_file(&dir.join(key_file), secret.as_bytes())?;
    let config = NodeConfig {
        genesis_file: genesis_file.to_path_buf(),
        key_file: PathBuf::from(key_file),
        storage_dir: PathBuf::from("storage"),
        p2p_listen: p2p,
        http_listen: http,
        api_requests_per_second_per_client: std::num::NonZeroU32::new(
            medchain_node::ratelimit::API_REQUESTS_PER_SECOND_PER_CLIENT,
        )
        .context("the default API rate is not zero")?,
        p2p_peers_max: None,
        blobs: None,
        page_cache_pages: None,
        uncommitted_blob_max_age_seconds: std::num::NonZeroU64::new(
            medchain_node::blobsync::UNCOMMITTED_BLOB_MAX_AGE_SECONDS_DEFAULT,
        )
        .context("the default blob age is not zero")?,
    };
    let text = toml::to_string_pretty(&config).context("cannot encode node.toml")?;
    std::fs::write(dir.join("node.toml"), text).context("cannot write node.toml")?;
    Ok(())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
