//! The CLI's side of client-side encryption: the flags of `put`/`get`/`sync`, `spaces keygen`, and reading keys
//! from where people keep them — recipients on the command line or in files, identities in files that must not be
//! readable by others (refused, as ssh refuses a private key), passphrases from SPACES_PASSPHRASE or asked for on
//! the terminal without echo. What the keys are and how they encrypt is the component's business.

use crate::error::{Failure, Outcome};
use crate::runtime::bindings::storage::{Decryption, Encryption};
use crate::runtime::bindings::types::{self, ObjectMeta};
use std::path::{Path, PathBuf};

/// Where a passphrase comes from when no terminal is asked.
const PASSPHRASE_ENV: &str = "SPACES_PASSPHRASE";

/// How uploads are encrypted.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct EncryptArgs {
    /// Encrypt in age format to RECIPIENT (an age1… public key, from `spaces keygen` or age-keygen) or to each
    /// recipient in FILE, one a line (repeatable). Only their identities decrypt it: `spaces get --identity`, or
    /// `age -d -i` alone
    #[arg(long = "encrypt-to", value_name = "RECIPIENT|FILE")]
    encrypt_to: Vec<String>,
    /// Encrypt in age format with a passphrase: SPACES_PASSPHRASE, or asked for on the terminal
    #[arg(long = "passphrase", conflicts_with = "encrypt_to")]
    passphrase: bool,
}

/// How downloads are decrypted.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct DecryptArgs {
    /// Decrypt age-encrypted objects with the identities in FILE (AGE-SECRET-KEY-1… lines; repeatable). The file
    /// must not be readable by group or others. Objects that are not encrypted download as they are
    #[arg(long = "identity", short = 'i', value_name = "FILE")]
    identity: Vec<PathBuf>,
    /// Decrypt with a passphrase: SPACES_PASSPHRASE, or asked for on the terminal
    #[arg(long = "passphrase", conflicts_with = "identity")]
    passphrase: bool,
    /// Download an encrypted object's ciphertext as stored, without decrypting it
    #[arg(long, conflicts_with_all = ["identity", "passphrase"])]
    raw: bool,
}

impl EncryptArgs {
    /// Encryption to `recipients` (age1… keys or files of them, as `--encrypt-to` gives them) or, with
    /// `passphrase`, with one.
    pub(crate) fn new(recipients: Vec<String>, passphrase: bool) -> Self {
        EncryptArgs { encrypt_to: recipients, passphrase }
    }

    /// The encryption the flags ask for, if any.
    pub(crate) fn encryption(&self) -> Outcome<Option<Encryption>> {
        if self.passphrase {
            return Ok(Some(Encryption::Passphrase(passphrase("Passphrase to encrypt with", true)?)));
        }
        if self.encrypt_to.is_empty() {
            return Ok(None);
        }
        let mut recipients = Vec::new();
        for given in &self.encrypt_to {
            if given.starts_with("age1") {
                recipients.push(given.clone());
                continue;
            }
            let text = std::fs::read_to_string(given).map_err(|e| {
                Failure::usage(format!("--encrypt-to {given}: not an age1… recipient, and not a readable file ({e})"))
            })?;
            let before = recipients.len();
            recipients.extend(keys_in(&text));
            if recipients.len() == before {
                return Err(Failure::usage(format!("recipients file {given} holds no recipient")));
            }
        }
        Ok(Some(Encryption::Recipients(recipients)))
    }
}

impl DecryptArgs {
    /// Decryption with the identity files `paths` (as `--identity` gives them) or, with `passphrase`, with one.
    pub(crate) fn new(paths: Vec<PathBuf>, passphrase: bool) -> Self {
        DecryptArgs { identity: paths, passphrase, raw: false }
    }

    /// The decryption the flags ask for, if any.
    pub(crate) fn decryption(&self) -> Outcome<Option<Decryption>> {
        if self.passphrase {
            return Ok(Some(Decryption::Passphrase(passphrase("Passphrase to decrypt with", false)?)));
        }
        if self.identity.is_empty() {
            return Ok(None);
        }
        let mut text = String::new();
        for path in &self.identity {
            text.push_str(&read_identity_file(path)?);
            text.push('\n');
        }
        Ok(Some(Decryption::Identities(text)))
    }

    /// Refuses to write an encrypted object's ciphertext as if it were the object, unless `--raw` asked for it.
    pub(crate) fn check(&self, meta: &ObjectMeta, decrypting: bool) -> Outcome<()> {
        if decrypting || self.raw || !is_encrypted(meta) {
            return Ok(());
        }
        Err(Failure::Storage(types::Error::Undecryptable(format!(
            "{:?} is encrypted (age): pass --identity FILE or --passphrase to decrypt it, or --raw for the ciphertext",
            meta.key
        ))))
    }
}

/// Whether the object's metadata says it holds age ciphertext.
pub(crate) fn is_encrypted(meta: &ObjectMeta) -> bool {
    meta.metadata.iter().any(|(k, v)| k == "spaces-encryption" && v == "age")
}

/// The non-comment lines of a keys file.
fn keys_in(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from)
}

/// The text of an identity file, refused if others may read it.
fn read_identity_file(path: &Path) -> Outcome<String> {
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| Failure::usage(format!("cannot read identity file {shown}: {e}")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Failure::usage(format!(
                "identity file {shown} is readable by others (mode {mode:04o}); `chmod 600 {shown}` and try again"
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    std::fs::read_to_string(path).map_err(|e| Failure::usage(format!("cannot read identity file {shown}: {e}")))
}

/// A passphrase from SPACES_PASSPHRASE, else asked for on the terminal (twice when `confirm`).
fn passphrase(prompt: &str, confirm: bool) -> Outcome<String> {
    if let Some(p) = std::env::var(PASSPHRASE_ENV).ok().filter(|p| !p.is_empty()) {
        return Ok(p);
    }
    let first = ask(&format!("{prompt}: "))?;
    if first.is_empty() {
        return Err(Failure::usage("the passphrase is empty"));
    }
    if confirm && ask("Again, to confirm: ")? != first {
        return Err(Failure::usage("the passphrases differ"));
    }
    Ok(first)
}

/// One line read from the terminal with echo off.
fn ask(prompt: &str) -> Outcome<String> {
    use rustix::termios::{tcgetattr, tcsetattr, LocalModes, OptionalActions};
    use std::io::{BufRead, Write};
    let no_tty = |e: std::io::Error| {
        Failure::usage(format!("no terminal to ask for the passphrase on ({e}); set {PASSPHRASE_ENV}"))
    };
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty").map_err(no_tty)?;
    let saved = tcgetattr(&tty).map_err(|e| no_tty(e.into()))?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    tcsetattr(&tty, OptionalActions::Flush, &quiet).map_err(|e| no_tty(e.into()))?;
    let mut line = String::new();
    let read = (&tty).write_all(prompt.as_bytes()).and_then(|()| std::io::BufReader::new(&tty).read_line(&mut line));
    let _ = tcsetattr(&tty, OptionalActions::Flush, &saved);
    let _ = (&tty).write_all(b"\n");
    read.map_err(no_tty)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// `spaces keygen`: a new identity, into FILE (created private, never overwritten) or onto stdout, and its
/// recipient on stderr, as age-keygen does.
pub(crate) fn keygen(pair: (String, String), out: Option<&Path>) -> Outcome<()> {
    let (identity, recipient) = pair;
    let text = format!("# public key: {recipient}\n{identity}\n");
    match out {
        None => crate::output::say!("{}", text.trim_end()),
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(|e| {
                Failure::usage(format!("cannot create {} (it must not exist yet): {e}", path.display()))
            })?;
            std::io::Write::write_all(&mut file, text.as_bytes())
                .map_err(|e| Failure::caused(format!("writing {}", path.display()), e))?;
        }
    }
    eprintln!("Public key: {recipient}");
    Ok(())
}
