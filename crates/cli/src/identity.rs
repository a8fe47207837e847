//! Who the CLI acts as. An identity is a 32-byte master seed: a patient derives a separate
//! pseudonym at each institution from it, a member (clinician, admin, ...) uses the key set
//! derived for their home institution. Seeds live in passphrase-sealed key files
//! (`--key FILE`, passphrase from `MEDCHAIN_PASSPHRASE`) or, for the demo consortium only, in
//! `demo/identities.toml` (`--as NAME`).

use anyhow::{Context as _, Result, bail};
use commonware_cryptography::Signer as _;
use medchain_crypto::keys::{
    MasterSeed, PseudonymKeys,
    file::{KeyFileParams, open_key_file, seal_key_file},
};
use medchain_types::{AccountId, InstitutionId};
use serde::{Deserialize, Serialize};
use std::{
    collections::BTreeMap,
    io::Write as _,
    path::{Path, PathBuf},
};
use zeroize::Zeroizing;

/// The environment variable a sealed key file's passphrase is read from.
pub const PASSPHRASE_ENV: &str = "MEDCHAIN_PASSPHRASE";

/// One identity: a master seed and, for members, their home institution.
pub struct Identity {
    seed: MasterSeed,
    home: Option<InstitutionId>,
}

impl Identity {
    pub fn generate() -> Self {
        Self {
            seed: MasterSeed::generate(&mut rand::rng()),
            home: None,
        }
    }

    pub fn with_home(mut self, home: InstitutionId) -> Self {
        self.home = Some(home);
        self
    }

    pub fn home(&self) -> Option<&InstitutionId> {
        self.home.as_ref()
    }

    /// The key set this identity uses at `institution`.
    pub fn keys_at(&self, institution: &InstitutionId) -> Result<PseudonymKeys> {
        Ok(self.seed.pseudonym_keys(institution.as_str().as_bytes())?)
    }

    /// The key set of a member at their home institution.
    pub fn member_keys(&self) -> Result<PseudonymKeys> {
        match &self.home {
            Some(home) => self.keys_at(home),
            None => bail!(
                "this identity has no home institution; it is a patient identity, name an institution"
            ),
        }
    }

    /// The account of a member at their home institution.
    pub fn account(&self) -> Result<AccountId> {
        Ok(AccountId::from(self.member_keys()?.signing.public_key()))
    }

    /// The Umbral public key a member receives re-encrypted data keys under.
    pub fn pre_public_key(&self) -> Result<[u8; 33]> {
        pre_public_key(&self.member_keys()?)
    }

    /// The X25519 key a member receives sealed messages under.
    pub fn encryption_public_key(&self) -> Result<[u8; 32]> {
        Ok(self.member_keys()?.encryption.public_key().to_bytes())
    }

    /// Loads an identity from a passphrase-sealed key file.
    pub fn load_sealed(path: &Path) -> Result<Self> {
        let passphrase = Zeroizing::new(std::env::var(PASSPHRASE_ENV).with_context(|| {
            format!(
                "set {PASSPHRASE_ENV} to the passphrase of {}",
                path.display()
            )
        })?);
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read key file {}", path.display()))?;
        let secret = open_key_file(&bytes, passphrase.as_bytes())
            .with_context(|| format!("cannot open key file {}", path.display()))?;
        SealedIdentity::decode(&secret)
    }

    /// Writes this identity to a new passphrase-sealed key file (never overwrites).
    pub fn save_sealed(&self, path: &Path) -> Result<()> {
        let passphrase = Zeroizing::new(std::env::var(PASSPHRASE_ENV).with_context(|| {
            format!("set {PASSPHRASE_ENV} to the passphrase to seal the key with")
        })?);
        let secret = SealedIdentity::encode(self);
        let sealed = seal_key_file(
            &mut rand::rng(),
            &secret,
            passphrase.as_bytes(),
            KeyFileParams::RECOMMENDED,
        )?;
        write_new_secret_file(path, &sealed)
    }
}

/// The plaintext inside a sealed key file: the seed, then the home institution if any.
struct SealedIdentity;

impl SealedIdentity {
    fn encode(identity: &Identity) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(identity.seed.as_bytes().to_vec());
        if let Some(home) = &identity.home {
            out.extend_from_slice(home.as_str().as_bytes());
        }
        out
    }

    fn decode(secret: &[u8]) -> Result<Identity> {
        if secret.len() < 32 {
            bail!(
                "key file content is too short to hold a seed; was it written by `medchain keys generate`?"
            );
        }
        let seed = MasterSeed::from_slice(&secret[..32])?;
        let home = if secret.len() > 32 {
            let slug = std::str::from_utf8(&secret[32..])
                .context("key file names an institution that is not UTF-8")?;
            Some(InstitutionId::new(slug)?)
        } else {
            None
        };
        Ok(Identity { seed, home })
    }
}

/// The compressed secp256k1 point of a key set's Umbral key.
pub fn pre_public_key(keys: &PseudonymKeys) -> Result<[u8; 33]> {
    Ok(pre_secret_key(keys)?.public_key().to_compressed_bytes())
}

/// A key set's Umbral secret key.
pub fn pre_secret_key(keys: &PseudonymKeys) -> Result<medchain_crypto::umbral::SecretKey> {
    medchain_crypto::umbral::SecretKey::from_be_bytes(keys.pre.as_bytes())
        .context("derived proxy re-encryption key is out of range; generate a new identity")
}

/// `demo/identities.toml`: the demo consortium's identities, by name. Plaintext secrets: for
/// trying the CLI on a local consortium only.
#[derive(Default, Serialize, Deserialize)]
pub struct IdentityFile {
    identities: BTreeMap<String, StoredIdentity>,
}

#[derive(Serialize, Deserialize)]
struct StoredIdentity {
    seed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    institution: Option<String>,
}

impl IdentityFile {
    pub fn insert(&mut self, name: &str, identity: &Identity) {
        self.identities.insert(
            name.to_string(),
            StoredIdentity {
                seed: hex::encode(identity.seed.as_bytes()),
                institution: identity.home.as_ref().map(|h| h.as_str().to_string()),
            },
        );
    }

    pub fn get(&self, name: &str) -> Result<Identity> {
        let stored = self.identities.get(name).with_context(|| {
            let names: Vec<_> = self.identities.keys().cloned().collect();
            format!("no identity named {name:?}; known: {}", names.join(", "))
        })?;
        let bytes = Zeroizing::new(hex::decode(&stored.seed).context("identity seed is not hex")?);
        let seed = MasterSeed::from_slice(&bytes)?;
        let home = stored
            .institution
            .as_deref()
            .map(InstitutionId::new)
            .transpose()?;
        Ok(Identity { seed, home })
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {}; was the consortium created with `medchain up`?",
                path.display()
            )
        })?;
        toml::from_str(&text)
            .with_context(|| format!("{} is not a valid identities file", path.display()))
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let text = toml::to_string_pretty(self).context("cannot encode identities")?;
        write_new_secret_file(path, text.as_bytes())
    }
}

impl IdentityFile {
    /// Rewrites the file in place: a new file next to it, then an atomic rename, so a crash
    /// leaves either the old or the new identities, never half of them.
    pub fn save_replacing(&self, path: &Path) -> Result<()> {
        let temp = path.with_extension("toml.new");
        let _ = std::fs::remove_file(&temp);
        let text = toml::to_string_pretty(self).context("cannot encode identities")?;
        write_new_secret_file(&temp, text.as_bytes())?;
        std::fs::rename(&temp, path).with_context(|| format!("cannot replace {}", path.display()))
    }
}

/// Writes a file readable by its owner only, refusing to replace an existing one.
pub fn write_new_secret_file(path: &Path, contents: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    file.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(())
}

/// Where `--as NAME` looks for demo identities.
pub fn demo_identities_path(data_dir: &Path) -> PathBuf {
    data_dir.join("demo").join("identities.toml")
}
