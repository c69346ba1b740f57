//! Encryption of secrets in state and plan files.
//!
//! A secret is sealed with XChaCha20-Poly1305 under a 256-bit key, with a
//! fresh random 24-byte nonce for every value; the sealed text is the
//! standard base64 of the nonce followed by the ciphertext (which ends with
//! the 16-byte authentication tag). Random nonces of that size never repeat
//! in practice, so the same key can seal any number of values.
//!
//! The key comes from `ORCH_STATE_KEY` (base64 of 32 bytes, or 64 hex
//! digits). Without it, the local backend keeps a key file in the user's
//! configuration folder, never in the state folder: a copied or committed
//! `.orch/` folder must not carry the key that opens it. The file is made on
//! first use and the run says where.
//!
//! Nothing here prints or formats a key: errors describe what is wrong with
//! a key without quoting it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::codec::Sealer;

/// The variable that holds the key.
pub const KEY_ENV: &str = "ORCH_STATE_KEY";
/// The variable that names the folder of the key file.
pub const CONFIG_DIR_ENV: &str = "ORCH_CONFIG_DIR";
/// The name of the key file inside the configuration folder.
pub const KEY_FILE_NAME: &str = "state.key";
/// The length of a key in bytes.
pub const KEY_LEN: usize = 32;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const HOW_TO_MAKE_ONE: &str = "make one with `openssl rand -base64 32`";

/// The key that seals the secrets of a state and of its plan files.
pub struct StateKey {
    cipher: XChaCha20Poly1305,
    /// The key that authenticates plan files, derived from the state key
    /// (never the state key itself, so the two uses cannot interfere).
    mac_key: [u8; KEY_LEN],
    /// What to check when a secret cannot be opened: which key was used.
    wrong_key_hint: String,
}

impl StateKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> StateKey {
        StateKey {
            cipher: XChaCha20Poly1305::new(Key::from_slice(bytes)),
            mac_key: derive_mac_key(bytes),
            wrong_key_hint: format!("wrong {KEY_ENV}?"),
        }
    }

    /// A key from its text: base64 of 32 bytes (standard or URL-safe
    /// alphabet, padded or not), or 64 hex digits. Surrounding whitespace
    /// is ignored. The error says what is wrong and how to make a key,
    /// without quoting the text.
    pub fn from_text(text: &str) -> Result<StateKey, String> {
        parse_key(text.trim()).map(|bytes| StateKey::from_bytes(&bytes))
    }

    /// A new random key with its text (base64), to be written somewhere.
    fn generate() -> (StateKey, String) {
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let text = STANDARD.encode(key.as_slice());
        let mut bytes = [0u8; KEY_LEN];
        bytes.copy_from_slice(key.as_slice());
        let key = StateKey {
            cipher: XChaCha20Poly1305::new(&key),
            mac_key: derive_mac_key(&bytes),
            wrong_key_hint: format!("wrong {KEY_ENV}?"),
        };
        (key, text)
    }

    /// Says which key file to check when a secret cannot be opened.
    fn hinting_file(mut self, path: &Path) -> StateKey {
        self.wrong_key_hint = format!(
            "wrong key? (the key was read from {}; set {KEY_ENV} to use another)",
            path.display()
        );
        self
    }
}

impl StateKey {
    /// The authentication tag of `data` (HMAC-SHA256 under the derived
    /// plan key), in base64.
    pub fn authenticate(&self, data: &[u8]) -> String {
        STANDARD.encode(self.mac(data).finalize().into_bytes())
    }

    /// Whether `tag` is the authentication tag of `data` (compared in
    /// constant time).
    pub fn verify(&self, data: &[u8], tag: &str) -> bool {
        match STANDARD.decode(tag) {
            Ok(tag) => self.mac(data).verify_slice(&tag).is_ok(),
            Err(_) => false,
        }
    }

    fn mac(&self, data: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.mac_key)
            .expect("HMAC takes a key of any length");
        mac.update(data);
        mac
    }
}

/// The plan-file authentication key: HMAC-SHA256 of a fixed label under
/// the state key.
fn derive_mac_key(state_key: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(state_key)
        .expect("HMAC takes a key of any length");
    mac.update(b"orch plan-file authentication v1");
    let mut out = [0u8; KEY_LEN];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key itself.
        f.write_str("StateKey(..)")
    }
}

impl Sealer for StateKey {
    fn seal(&self, plaintext: &[u8]) -> Result<String, String> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext)
            .map_err(|_| "cannot encrypt a secret".to_string())?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(nonce.as_slice());
        sealed.extend_from_slice(&ciphertext);
        Ok(STANDARD.encode(sealed))
    }

    fn open(&self, sealed: &str) -> Result<Vec<u8>, String> {
        let bytes = STANDARD.decode(sealed).map_err(|_| {
            "a sealed secret in the state is not base64: the file was damaged".to_string()
        })?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err("a sealed secret in the state is too short: the file was damaged".into());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| format!("cannot decrypt a secret in the state: {}", self.wrong_key_hint))
    }
}

fn parse_key(text: &str) -> Result<[u8; KEY_LEN], String> {
    let expected = format!(
        "a key is 32 random bytes in base64 (44 characters) or hex (64 digits): {HOW_TO_MAKE_ONE}"
    );
    if text.is_empty() {
        return Err(format!("the key is empty; {expected}"));
    }
    if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut bytes = [0u8; KEY_LEN];
        for (index, byte) in bytes.iter_mut().enumerate() {
            // Two ASCII hex digits, checked above.
            *byte = u8::from_str_radix(&text[2 * index..2 * index + 2], 16)
                .map_err(|_| format!("the key is not valid hex; {expected}"))?;
        }
        return Ok(bytes);
    }
    const ENGINES: [&GeneralPurpose; 4] =
        [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD];
    match ENGINES.iter().find_map(|engine| engine.decode(text).ok()) {
        Some(bytes) => <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| {
            format!("the key is {} bytes long, not {KEY_LEN}; {expected}", bytes.len())
        }),
        None => Err(format!("the key is neither base64 nor hex; {expected}")),
    }
}

/// Where a key came from, for the run to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `ORCH_STATE_KEY`.
    Env,
    /// An existing key file.
    File(PathBuf),
    /// A key file made by this call: the run must say where, once.
    Generated(PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env => write!(f, "the key in {KEY_ENV}"),
            KeySource::File(path) => write!(f, "the key in {}", path.display()),
            KeySource::Generated(path) => write!(
                f,
                "a new key generated in {} (keep it: the secrets in this state cannot be read without it; \
                 set {KEY_ENV} to its content to use the state elsewhere)",
                path.display()
            ),
        }
    }
}

/// The environment that decides where the key is, read once so that the
/// lookup itself takes it as a value (tests pass their own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyEnv {
    /// `ORCH_STATE_KEY`, set (even to an empty text) or not.
    pub state_key: Option<String>,
    /// `ORCH_CONFIG_DIR`.
    pub config_dir: Option<PathBuf>,
    /// `XDG_CONFIG_HOME`.
    pub xdg_config_home: Option<PathBuf>,
    /// `HOME`.
    pub home: Option<PathBuf>,
}

impl KeyEnv {
    /// This process's environment.
    pub fn from_process() -> KeyEnv {
        let path = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        KeyEnv {
            // A key that is not UTF-8 is not a key; the lossy text makes
            // the parse fail with the usual message.
            state_key: std::env::var_os(KEY_ENV).map(|v| v.to_string_lossy().into_owned()),
            config_dir: path(CONFIG_DIR_ENV),
            xdg_config_home: path("XDG_CONFIG_HOME"),
            home: path("HOME"),
        }
    }

    /// Where the key file is: `$ORCH_CONFIG_DIR/state.key`, else
    /// `$XDG_CONFIG_HOME/orch/state.key` (when absolute, as the XDG
    /// specification requires), else `$HOME/.config/orch/state.key`.
    pub fn key_file(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.config_dir {
            return Some(dir.join(KEY_FILE_NAME));
        }
        if let Some(dir) = self.xdg_config_home.as_ref().filter(|dir| dir.is_absolute()) {
            return Some(dir.join("orch").join(KEY_FILE_NAME));
        }
        self.home.as_ref().map(|home| home.join(".config").join("orch").join(KEY_FILE_NAME))
    }
}

/// The key for this process's environment; see [`state_key_in`].
pub fn state_key(generate: bool) -> Result<Option<(StateKey, KeySource)>, String> {
    state_key_in(&KeyEnv::from_process(), generate)
}

/// The key: `ORCH_STATE_KEY` when set (an invalid one is an error, never
/// a reason to fall back), else the key file. `generate` (the local
/// backend) makes the key file when there is none; otherwise a missing
/// key is `Ok(None)`, and a backend that must store a secret refuses.
pub fn state_key_in(env: &KeyEnv, generate: bool) -> Result<Option<(StateKey, KeySource)>, String> {
    if let Some(text) = &env.state_key {
        let key =
            StateKey::from_text(text).map_err(|e| format!("{KEY_ENV} is not a valid key: {e}"))?;
        return Ok(Some((key, KeySource::Env)));
    }
    match env.key_file() {
        Some(path) => key_file(&path, generate),
        None if generate => Err(format!(
            "no key to encrypt the secrets in the state: set {KEY_ENV} ({HOW_TO_MAKE_ONE}), \
             or {CONFIG_DIR_ENV} or HOME so that a key file can be kept"
        )),
        None => Ok(None),
    }
}

/// The key in the file at `path`; when it does not exist and `generate`
/// is set, a new key written there (folder 0700, file 0600, atomically:
/// two runs that race both end up with the same key).
pub fn key_file(path: &Path, generate: bool) -> Result<Option<(StateKey, KeySource)>, String> {
    if let Some(key) = read_key_file(path)? {
        return Ok(Some((key, KeySource::File(path.to_path_buf()))));
    }
    if !generate {
        return Ok(None);
    }
    write_new_key_file(path).map(Some)
}

fn read_key_file(path: &Path) -> Result<Option<StateKey>, String> {
    match fs::read_to_string(path) {
        Ok(text) => StateKey::from_text(&text)
            .map(|key| Some(key.hinting_file(path)))
            .map_err(|e| format!("the state key file {} is not a valid key: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read the state key file {}: {e}", path.display())),
    }
}

fn write_new_key_file(path: &Path) -> Result<(StateKey, KeySource), String> {
    let fail = |what: &str, e: std::io::Error| {
        format!("cannot {what} the state key file {}: {e}", path.display())
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    create_private_dir(dir)
        .map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
    let (key, text) = StateKey::generate();
    let temporary = dir.join(format!(".{KEY_FILE_NAME}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&temporary);
    let written = write_private_file(&temporary, format!("{text}\n").as_bytes());
    if let Err(e) = written {
        let _ = fs::remove_file(&temporary);
        return Err(fail("write", e));
    }
    // A hard link publishes the complete file and fails if another run
    // published its key first, where a rename would replace that key and
    // lose the secrets it already sealed.
    let published = match fs::hard_link(&temporary, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        // A file system without hard links: create the file in place,
        // still never over an existing one.
        Err(_) => match write_private_file(path, format!("{text}\n").as_bytes()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        },
    };
    let _ = fs::remove_file(&temporary);
    match published.map_err(|e| fail("write", e))? {
        true => {
            sync_dir(dir).map_err(|e| fail("save", e))?;
            Ok((key.hinting_file(path), KeySource::Generated(path.to_path_buf())))
        }
        false => match read_key_file(path)? {
            Some(key) => Ok((key, KeySource::File(path.to_path_buf()))),
            None => {
                Err(format!("the state key file {} vanished while it was made", path.display()))
            }
        },
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes a new file readable by its owner only, and flushes it to disk.
fn write_private_file(path: &Path, content: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(content)?;
    file.sync_all()
}

/// Makes the entries of a folder durable (a new or renamed file).
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
