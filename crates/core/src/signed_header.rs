//! The one scheme of this World's two signed headers, HTTP deliveries (`x-wcf-signature`,
//! src/queue/signature.rs) and the World over HTTP (`x-wcf-world-signature`,
//! src/remote.rs): `t=<unix seconds>[,n=<nonce>],v1=<hex HMAC-SHA-256>`, the MAC over
//! `<version>\n<t>\n[<nonce>\n]<field>\n…<body>`, refused outside a time window.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One signed header: the version line its MAC starts with, its window, whether it
/// carries a nonce, and its refusals.
pub struct Scheme {
    pub version: &'static str,
    /// A signature older or newer than this is refused (the replay window).
    pub window_seconds: i64,
    /// Whether a nonce (128 random bits, 32 hex digits) is part of each signature.
    pub nonce: bool,
    /// The refusals that name the header, for the 401 body.
    pub missing: &'static str,
    pub malformed: &'static str,
}

/// What a valid header held.
#[derive(Debug, PartialEq)]
pub struct Verified<'a> {
    pub t: i64,
    pub nonce: Option<&'a str>,
}

const NONCE_LEN: usize = 32;

/// What a signature covers: its time (unix seconds), its nonce when the scheme has one,
/// the fields it binds and the body.
pub struct Covered<'a> {
    pub t: i64,
    pub nonce: Option<&'a str>,
    pub fields: &'a [&'a str],
    pub body: &'a [u8],
}

impl Scheme {
    fn mac(&self, secret: &str, covered: &Covered) -> Hmac<Sha256> {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(format!("{}\n{}\n", self.version, covered.t).as_bytes());
        for line in covered.nonce.iter().chain(covered.fields) {
            mac.update(line.as_bytes());
            mac.update(b"\n");
        }
        mac.update(covered.body);
        mac
    }

    /// The header's value for `covered`.
    pub fn sign(&self, secret: &str, covered: &Covered) -> String {
        let tag = hex::encode(self.mac(secret, covered).finalize().into_bytes());
        match covered.nonce {
            Some(nonce) => format!("t={},n={nonce},v1={tag}", covered.t),
            None => format!("t={},v1={tag}", covered.t),
        }
    }

    /// `Ok` for a valid signature made within the window of `now` (unix seconds);
    /// otherwise why not.
    pub fn verify<'a>(
        &self,
        secret: &str,
        header: Option<&'a str>,
        fields: &[&str],
        body: &[u8],
        now: i64,
    ) -> Result<Verified<'a>, &'static str> {
        let header = header.ok_or(self.missing)?;
        let (mut t, mut nonce, mut v1) = (None, None, None);
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", value)) => t = value.parse::<i64>().ok(),
                Some(("n", value)) if self.nonce => {
                    nonce = Some(value).filter(|n| {
                        n.len() == NONCE_LEN && n.bytes().all(|b| b.is_ascii_hexdigit())
                    })
                }
                Some(("v1", value)) => v1 = hex::decode(value).ok(),
                _ => {}
            }
        }
        let (Some(t), Some(v1)) = (t, v1) else {
            return Err(self.malformed);
        };
        if self.nonce && nonce.is_none() {
            return Err(self.malformed);
        }
        if (now - t).abs() > self.window_seconds {
            return Err("signature timestamp outside the replay window");
        }
        let covered = Covered {
            t,
            nonce,
            fields,
            body,
        };
        self.mac(secret, &covered)
            .verify_slice(&v1)
            .map_err(|_| "signature does not match")?;
        Ok(Verified { t, nonce })
    }
}
