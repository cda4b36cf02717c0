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

impl Scheme {
    fn mac(
        &self,
        secret: &str,
        t: i64,
        nonce: Option<&str>,
        fields: &[&str],
        body: &[u8],
    ) -> Hmac<Sha256> {
        #[allow(clippy::expect_used)]
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(format!("{}\n{t}\n", self.version).as_bytes());
        for line in nonce.iter().chain(fields) {
            mac.update(line.as_bytes());
            mac.update(b"\n");
        }
        mac.update(body);
        mac
    }

    /// The header's value at unix second `t`; `nonce` when the scheme has one.
    pub fn sign(
        &self,
        secret: &str,
        t: i64,
        nonce: Option<&str>,
        fields: &[&str],
        body: &[u8],
    ) -> String {
        let tag = hex::encode(
            self.mac(secret, t, nonce, fields, body)
                .finalize()
                .into_bytes(),
        );
        match nonce {
            Some(nonce) => format!("t={t},n={nonce},v1={tag}"),
            None => format!("t={t},v1={tag}"),
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
        self.mac(secret, t, nonce, fields, body)
            .verify_slice(&v1)
            .map_err(|_| "signature does not match")?;
        Ok(Verified { t, nonce })
    }
}
