//! The server's certificate chain: a leaf certifying the server's static key, signed by an
//! intermediate, itself signed by a trust root, all with XEdDSA over Curve25519 keys.
//!
//! The client verifies the chain found in the server hello ([`verify_cert_chain`]); the test
//! server issues one under its own root ([`CertIssuer`]).

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use wa_proto::prost::Message;
use wa_proto::proto::CertChain;
use wa_proto::proto::cert_chain::NoiseCertificate;
use wa_proto::proto::cert_chain::noise_certificate::Details;
use zeroize::Zeroizing;

use crate::error::{CertError, CertKind};
use crate::keys::{Hex, KeyPair};
use crate::xeddsa;

/// WhatsApp's certificate root public key (serial 0), which signs every intermediate.
pub const WA_CERT_ROOT_PUBLIC_KEY: [u8; 32] = [
    0x14, 0x23, 0x75, 0x57, 0x4d, 0x0a, 0x58, 0x71, 0x66, 0xaa, 0xe7, 0x1e, 0xbe, 0x51, 0x64, 0x37,
    0xc4, 0xa2, 0x8b, 0x73, 0xe3, 0x69, 0x5c, 0x6c, 0xe1, 0xf7, 0xf9, 0x54, 0x5d, 0xa8, 0xee, 0x6b,
];

/// Serial of WhatsApp's certificate root.
pub const WA_CERT_ROOT_SERIAL: u32 = 0;

/// The key that must sign the intermediate certificate, and its serial.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TrustRoot {
    public_key: [u8; 32],
    serial: u32,
}

impl TrustRoot {
    /// WhatsApp's production root.
    pub const WHATSAPP: Self = Self {
        public_key: WA_CERT_ROOT_PUBLIC_KEY,
        serial: WA_CERT_ROOT_SERIAL,
    };

    /// A custom root (a test server's, for instance).
    #[must_use]
    pub const fn new(public_key: [u8; 32], serial: u32) -> Self {
        Self { public_key, serial }
    }

    /// The root's Curve25519 public key.
    #[must_use]
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }

    /// The root's serial, which the intermediate must name as its issuer.
    #[must_use]
    pub fn serial(&self) -> u32 {
        self.serial
    }
}

impl Default for TrustRoot {
    fn default() -> Self {
        Self::WHATSAPP
    }
}

impl core::fmt::Debug for TrustRoot {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrustRoot")
            .field("public_key", &Hex(&self.public_key))
            .field("serial", &self.serial)
            .finish()
    }
}

/// The verified contents of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertInfo {
    /// This certificate's serial.
    pub serial: u32,
    /// The serial of the certificate that signed it.
    pub issuer_serial: u32,
    /// The certified Curve25519 public key.
    pub key: [u8; 32],
    /// Start of validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
}

/// A chain that passed [`verify_cert_chain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedCertChain {
    /// The intermediate certificate.
    pub intermediate: CertInfo,
    /// The leaf certificate; its key is the server's static key.
    pub leaf: CertInfo,
}

/// Splits a certificate into its raw details and its 64-byte signature.
fn parts(cert: Option<&NoiseCertificate>, kind: CertKind) -> Result<(&[u8], [u8; 64]), CertError> {
    let (what_details, what_sig) = match kind {
        CertKind::Intermediate => ("intermediate details", "intermediate signature"),
        CertKind::Leaf => ("leaf details", "leaf signature"),
    };
    let cert = cert.ok_or(match kind {
        CertKind::Intermediate => CertError::Missing("intermediate certificate"),
        CertKind::Leaf => CertError::Missing("leaf certificate"),
    })?;
    let details = cert
        .details
        .as_deref()
        .ok_or(CertError::Missing(what_details))?;
    let sig = cert
        .signature
        .as_deref()
        .ok_or(CertError::Missing(what_sig))?;
    let sig: [u8; 64] = sig.try_into().map_err(|_| CertError::SignatureLength {
        cert: kind,
        len: sig.len(),
    })?;
    Ok((details, sig))
}

fn decode_details(raw: &[u8], kind: CertKind) -> Result<CertInfo, CertError> {
    let d = Details::decode(raw)?;
    let key = d.key.as_deref().unwrap_or_default();
    let key: [u8; 32] = key.try_into().map_err(|_| CertError::KeyLength {
        cert: kind,
        len: key.len(),
    })?;
    Ok(CertInfo {
        serial: d.serial.unwrap_or_default(),
        issuer_serial: d.issuer_serial.unwrap_or_default(),
        key,
        not_before: d.not_before.unwrap_or_default(),
        not_after: d.not_after.unwrap_or_default(),
    })
}

fn check_time(info: &CertInfo, kind: CertKind, now: u64) -> Result<(), CertError> {
    if now < info.not_before {
        Err(CertError::NotYetValid {
            cert: kind,
            not_before: info.not_before,
            now,
        })
    } else if now > info.not_after {
        Err(CertError::Expired {
            cert: kind,
            not_after: info.not_after,
            now,
        })
    } else {
        Ok(())
    }
}

/// Verifies an encoded `CertChain` for a server whose handshake static key is `server_static`,
/// at Unix time `now` (seconds).
///
/// Checks, in order: the intermediate is signed by `root` and names the root's serial as
/// issuer; the leaf is signed by the intermediate's key and names the intermediate's serial;
/// the leaf certifies `server_static`; `now` lies within both validity periods. Missing
/// `notBefore`/`notAfter` fields count as 0, so a certificate without `notAfter` has expired.
pub fn verify_cert_chain(
    encoded: &[u8],
    root: &TrustRoot,
    server_static: &[u8; 32],
    now: u64,
) -> Result<VerifiedCertChain, CertError> {
    let chain = CertChain::decode(encoded)?;
    let (inter_raw, inter_sig) = parts(chain.intermediate.as_ref(), CertKind::Intermediate)?;
    let (leaf_raw, leaf_sig) = parts(chain.leaf.as_ref(), CertKind::Leaf)?;

    if !xeddsa::verify(&root.public_key, inter_raw, &inter_sig) {
        return Err(CertError::BadSignature(CertKind::Intermediate));
    }
    let intermediate = decode_details(inter_raw, CertKind::Intermediate)?;
    if intermediate.issuer_serial != root.serial {
        return Err(CertError::IssuerSerialMismatch {
            cert: CertKind::Intermediate,
            expected: root.serial,
            found: intermediate.issuer_serial,
        });
    }
    if !xeddsa::verify(&intermediate.key, leaf_raw, &leaf_sig) {
        return Err(CertError::BadSignature(CertKind::Leaf));
    }
    let leaf = decode_details(leaf_raw, CertKind::Leaf)?;
    if leaf.issuer_serial != intermediate.serial {
        return Err(CertError::IssuerSerialMismatch {
            cert: CertKind::Leaf,
            expected: intermediate.serial,
            found: leaf.issuer_serial,
        });
    }
    if !bool::from(leaf.key.ct_eq(server_static)) {
        return Err(CertError::KeyMismatch);
    }
    check_time(&intermediate, CertKind::Intermediate, now)?;
    check_time(&leaf, CertKind::Leaf, now)?;
    Ok(VerifiedCertChain { intermediate, leaf })
}

/// Signs `info` with `signer` into a `NoiseCertificate`; `rng` supplies the XEdDSA nonce input.
pub fn sign_certificate<R: CryptoRng + ?Sized>(
    info: &CertInfo,
    signer: &KeyPair,
    rng: &mut R,
) -> NoiseCertificate {
    let details = Details {
        serial: Some(info.serial),
        issuer_serial: Some(info.issuer_serial),
        key: Some(info.key.to_vec()),
        not_before: Some(info.not_before),
        not_after: Some(info.not_after),
    }
    .encode_to_vec();
    let mut random = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(random.as_mut_slice());
    let signature = xeddsa::sign(&signer.private_bytes(), &details, &random);
    NoiseCertificate {
        details: Some(details),
        signature: Some(signature.to_vec()),
    }
}

/// Issues certificate chains under a root private key, for test servers.
#[derive(Debug, Clone)]
pub struct CertIssuer {
    root: KeyPair,
    root_serial: u32,
    intermediate: KeyPair,
    intermediate_serial: u32,
    not_before: u64,
    not_after: u64,
}

impl CertIssuer {
    /// An issuer whose root is `root` (serial `root_serial`) and whose intermediate key is
    /// `intermediate` (serial 1). Certificates are valid over all time until narrowed with
    /// [`CertIssuer::validity`].
    #[must_use]
    pub fn new(root: KeyPair, root_serial: u32, intermediate: KeyPair) -> Self {
        Self {
            root,
            root_serial,
            intermediate,
            intermediate_serial: 1,
            not_before: 0,
            not_after: u64::MAX,
        }
    }

    /// Sets the intermediate's serial (the leaf names it as issuer).
    #[must_use]
    pub fn intermediate_serial(mut self, serial: u32) -> Self {
        self.intermediate_serial = serial;
        self
    }

    /// Sets the validity period of issued certificates, Unix seconds inclusive.
    #[must_use]
    pub fn validity(mut self, not_before: u64, not_after: u64) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// The root clients must trust to accept this issuer's chains.
    #[must_use]
    pub fn trust_root(&self) -> TrustRoot {
        TrustRoot::new(*self.root.public(), self.root_serial)
    }

    /// Issues an encoded `CertChain` whose leaf (serial `leaf_serial`) certifies `server_static`.
    pub fn issue<R: CryptoRng + ?Sized>(
        &self,
        server_static: &[u8; 32],
        leaf_serial: u32,
        rng: &mut R,
    ) -> Vec<u8> {
        let inter = CertInfo {
            serial: self.intermediate_serial,
            issuer_serial: self.root_serial,
            key: *self.intermediate.public(),
            not_before: self.not_before,
            not_after: self.not_after,
        };
        let leaf = CertInfo {
            serial: leaf_serial,
            issuer_serial: self.intermediate_serial,
            key: *server_static,
            not_before: self.not_before,
            not_after: self.not_after,
        };
        CertChain {
            leaf: Some(sign_certificate(&leaf, &self.intermediate, rng)),
            intermediate: Some(sign_certificate(&inter, &self.root, rng)),
        }
        .encode_to_vec()
    }
}
