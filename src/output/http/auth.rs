//! Who may watch over HTTP: Basic auth against `--http-password-file` (one `USER:PASSWORD`
//! line), compared in constant time.

use base64::Engine as _;
use subtle::ConstantTimeEq;

/// The one user and password HTTP clients must give.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `USER:PASSWORD`, as Basic auth sends it (base64-decoded).
    user_password: Vec<u8>,
    user: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}:..)", self.user)
    }
}

impl Credentials {
    /// Reads a password file: its first line is `USER:PASSWORD`.
    pub fn read(path: &str) -> Result<Credentials, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("--http-password-file {path}: {e}"))?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        match line.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                Ok(Credentials { user_password: line.as_bytes().to_vec(), user: user.to_string() })
            }
            _ => Err(format!(
                "--http-password-file {path}: the first line must be USER:PASSWORD (e.g. `echo viewer:$(head -c 12 /dev/urandom | base64) > {path}`)"
            )),
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// Whether an `Authorization` header's value carries these credentials.
    pub fn accepts(&self, authorization: Option<&str>) -> bool {
        let Some(encoded) = authorization.and_then(|value| {
            let (scheme, rest) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
        }) else {
            return false;
        };
        let Ok(given) = base64::engine::general_purpose::STANDARD.decode(encoded) else { return false };
        // Constant time for equal lengths; a length mismatch is refused (length is no secret).
        given.len() == self.user_password.len() && bool::from(given.ct_eq(&self.user_password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(line: &str) -> Result<Credentials, String> {
        let path = std::env::temp_dir().join(format!("pistream-pw-{}-{}", std::process::id(), line.len()));
        std::fs::write(&path, line).unwrap();
        let result = Credentials::read(path.to_str().unwrap());
        let _ = std::fs::remove_file(path);
        result
    }

    #[test]
    fn basic_auth_accepts_exactly_the_file_s_user_and_password() {
        let c = credentials("viewer:s3cret\n").unwrap();
        let basic = |s: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s));
        assert!(c.accepts(Some(&basic("viewer:s3cret"))));
        assert!(c.accepts(Some(&basic("viewer:s3cret").replace("Basic", "basic"))));
        assert!(!c.accepts(Some(&basic("viewer:s3cre"))));
        assert!(!c.accepts(Some(&basic("viewer:s3cretX"))));
        assert!(!c.accepts(Some(&basic("other:s3cret"))));
        assert!(!c.accepts(Some("Bearer abc")));
        assert!(!c.accepts(Some("Basic !!!")));
        assert!(!c.accepts(None));
        assert_eq!(format!("{c:?}"), "Credentials(viewer:..)", "the password is never printed");
    }

    #[test]
    fn a_file_without_user_and_password_is_refused_with_how_to_make_one() {
        for bad in ["", "nocolon", ":pw", "user:"] {
            let err = credentials(bad).unwrap_err();
            assert!(err.contains("USER:PASSWORD"), "{bad:?}: {err}");
        }
    }
}
