//! Who may watch over HTTP and RTSP: the password file (`--password-file`, once
//! `--http-password-file`; one `USER:PASSWORD` line), given as Basic auth or, over RTSP, as
//! Digest (RFC 7616 with MD5, RFC 2069's form without `qop` and `qop=auth`: what ffmpeg,
//! VLC, GStreamer, Frigate and go2rtc send), compared in constant time.

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
        let text = std::fs::read_to_string(path).map_err(|e| format!("--password-file {path}: {e}"))?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        match line.split_once(':') {
            Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                Ok(Credentials { user_password: line.as_bytes().to_vec(), user: user.to_string() })
            }
            _ => Err(format!(
                "--password-file {path}: the first line must be USER:PASSWORD (e.g. `echo viewer:$(head -c 12 /dev/urandom | base64) > {path}`)"
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

    /// Whether an `Authorization: Digest ...` value proves the password for a request of
    /// `method` on `request_uri`, against the server's `realm` and `nonce` (the
    /// connection's own). The header's `uri` must be the request's (whole, or its path).
    pub fn accepts_digest(
        &self,
        authorization: Option<&str>,
        method: &str,
        request_uri: &str,
        realm: &str,
        nonce: &str,
    ) -> bool {
        let Some(params) = authorization.and_then(|value| {
            let (scheme, rest) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("digest").then(|| digest_params(rest))
        }) else {
            return false;
        };
        let get =
            |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let (Some(user), Some(given_realm), Some(given_nonce), Some(uri), Some(response)) =
            (get("username"), get("realm"), get("nonce"), get("uri"), get("response"))
        else {
            return false;
        };
        if given_realm != realm || given_nonce != nonce {
            return false;
        }
        let path_of = |u: &str| {
            u.split_once("://").map_or(u, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..])).to_string()
        };
        if uri != request_uri && path_of(uri) != path_of(request_uri) {
            return false;
        }
        if get("algorithm").is_some_and(|a| !a.eq_ignore_ascii_case("md5")) {
            return false;
        }
        let password = &self.user_password[self.user.len() + 1..];
        let ha1 = md5_hex(&[user.as_bytes(), b":", realm.as_bytes(), b":", password]);
        let ha2 = md5_hex(&[method.as_bytes(), b":", uri.as_bytes()]);
        let expected = match get("qop") {
            None => md5_hex(&[ha1.as_bytes(), b":", nonce.as_bytes(), b":", ha2.as_bytes()]),
            Some(qop) if qop.eq_ignore_ascii_case("auth") => {
                let (Some(nc), Some(cnonce)) = (get("nc"), get("cnonce")) else { return false };
                md5_hex(&[
                    ha1.as_bytes(),
                    b":",
                    nonce.as_bytes(),
                    b":",
                    nc.as_bytes(),
                    b":",
                    cnonce.as_bytes(),
                    b":auth:",
                    ha2.as_bytes(),
                ])
            }
            Some(_) => return false,
        };
        // The user name is compared too, and in constant time like the response.
        let user_ok =
            user.len() == self.user.len() && bool::from(user.as_bytes().ct_eq(self.user.as_bytes()));
        let response = response.to_ascii_lowercase();
        let response_ok =
            response.len() == expected.len() && bool::from(response.as_bytes().ct_eq(expected.as_bytes()));
        user_ok & response_ok
    }
}

/// MD5 of the concatenated `parts`, in lower-case hex.
fn md5_hex(parts: &[&[u8]]) -> String {
    use md5::Digest as _;
    let mut hasher = md5::Md5::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A Digest header's `name=value` and `name="quoted, value"` pairs.
fn digest_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let Some((name, after)) = rest.split_once('=') else { break };
        let name = name.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (quoted[..end].to_string(), &quoted[end + 1..]),
                None => (quoted.to_string(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim().to_string(), &after[end..]),
                None => (after.trim().to_string(), ""),
            }
        };
        params.push((name, value));
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `line` as a password file read back; each call its own file (tests run at once).
    fn credentials(line: &str) -> Result<Credentials, String> {
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("pistream-pw-{}-{call}", std::process::id()));
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
    fn digest_accepts_the_password_s_proof_and_nothing_else() {
        let c = credentials("viewer:s3cret\n").unwrap();
        // RFC 2069 form, as ffmpeg sends it.
        let ha1 = md5_hex(&[b"viewer:pistream:s3cret"]);
        let ha2 = md5_hex(&[b"DESCRIBE:rtsp://pi:8554/stream"]);
        let response = md5_hex(&[ha1.as_bytes(), b":n0nce:", ha2.as_bytes()]);
        let header = |user: &str, nonce: &str, response: &str| {
            format!("Digest username=\"{user}\", realm=\"pistream\", nonce=\"{nonce}\", uri=\"rtsp://pi:8554/stream\", response=\"{response}\"")
        };
        assert!(c.accepts_digest(
            Some(&header("viewer", "n0nce", &response)),
            "DESCRIBE",
            "rtsp://pi:8554/stream",
            "pistream",
            "n0nce"
        ));
        assert!(!c.accepts_digest(
            Some(&header("viewer", "n0nce", &response)),
            "SETUP",
            "rtsp://pi:8554/stream",
            "pistream",
            "n0nce"
        ));
        assert!(!c.accepts_digest(
            Some(&header("viewer", "other", &response)),
            "DESCRIBE",
            "rtsp://pi:8554/stream",
            "pistream",
            "other"
        ));
        assert!(!c.accepts_digest(
            Some(&header("viewer", "n0nce", &response)),
            "DESCRIBE",
            "rtsp://pi:8554/stream",
            "pistream",
            "n1nce"
        ));
        assert!(!c.accepts_digest(
            Some(&header("viewr", "n0nce", &response)),
            "DESCRIBE",
            "rtsp://pi:8554/stream",
            "pistream",
            "n0nce"
        ));
        assert!(!c.accepts_digest(
            Some(&header("viewer", "n0nce", &"0".repeat(32))),
            "DESCRIBE",
            "rtsp://pi:8554/stream",
            "pistream",
            "n0nce"
        ));
        assert!(
            !c.accepts_digest(
                Some(&header("viewer", "n0nce", &response)),
                "DESCRIBE",
                "rtsp://pi:8554/sub",
                "pistream",
                "n0nce"
            ),
            "the proof is for /stream only"
        );
        assert!(!c.accepts_digest(None, "DESCRIBE", "rtsp://pi:8554/stream", "pistream", "n0nce"));
        assert!(!c.accepts_digest(
            Some("Digest garbage"),
            "DESCRIBE",
            "rtsp://pi:8554/stream",
            "pistream",
            "n0nce"
        ));
        // qop=auth (RFC 7616 3.4.1), with the RFC 2617 example's figures.
        let rfc = credentials("Mufasa:Circle Of Life").unwrap();
        let header = "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
        assert!(rfc.accepts_digest(
            Some(header),
            "GET",
            "/dir/index.html",
            "testrealm@host.com",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093"
        ));
    }

    #[test]
    fn a_file_without_user_and_password_is_refused_with_how_to_make_one() {
        for bad in ["", "nocolon", ":pw", "user:"] {
            let err = credentials(bad).unwrap_err();
            assert!(err.contains("USER:PASSWORD"), "{bad:?}: {err}");
        }
    }
}
