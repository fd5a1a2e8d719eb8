//! Key files for `--key-file`: reading one (its bytes, less trailing whitespace, are the
//! secret the session key is derived from; a file others can read gets a warning) and
//! writing a new one (`pistream keygen`).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::output::pistream::protocol::keys::Psk;

/// Random bytes in a new key (written as hex).
const KEY_BYTES: usize = 32;

/// Reads a `--key-file` and derives the session's pre-shared key from it.
pub fn read(path: &str) -> Result<Psk, String> {
    let mut key = std::fs::read(path).map_err(|e| format!("--key-file {path}: {e}"))?;
    while key.last().is_some_and(|b| b.is_ascii_whitespace()) {
        key.pop();
    }
    let psk = Psk::derive(&key).ok_or_else(|| {
        format!("--key-file {path} is empty: make a key with `pistream keygen {path}` and copy the same file to the other end")
    });
    key.iter_mut().for_each(|b| *b = 0);
    let psk = psk?;
    if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
        log::warn!("{path} is readable by other users; `chmod 600 {path}` keeps the key secret");
    }
    Ok(psk)
}

/// Writes a new random key file with mode 0600; never overwrites an existing file.
pub fn generate(path: &Path) -> Result<(), String> {
    let mut secret = [0u8; KEY_BYTES];
    getrandom::fill(&mut secret).map_err(|e| format!("the OS random number generator failed: {e}"))?;
    let mut text: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    text.push('\n');
    secret.fill(0);
    let shown = path.display();
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| {
            match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    format!(
                        "{shown} exists: not overwriting a key (delete it first if you mean to replace it)"
                    )
                }
                _ => format!("cannot create {shown}: {e}"),
            }
        })?;
    file.write_all(text.as_bytes()).map_err(|e| format!("writing {shown}: {e}"))?;
    Ok(())
}
