//! Certificate chain verification: a good chain passes, and each defect is refused with its own error.

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use wa_noise::cert::sign_certificate;
use wa_noise::{CertError, CertInfo, CertIssuer, CertKind, KeyPair, TrustRoot, verify_cert_chain};
use wa_proto::prost::Message;
use wa_proto::proto::CertChain;

const NOW: u64 = 1_750_000_000;

fn kp(b: u8) -> KeyPair {
    KeyPair::from_private_bytes([b; 32])
}

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(1)
}

fn issuer() -> CertIssuer {
    CertIssuer::new(kp(1), 0, kp(2))
        .intermediate_serial(7)
        .validity(NOW - 10, NOW + 10)
}

fn server_key() -> [u8; 32] {
    *kp(3).public()
}

#[test]
fn good_chain_verifies() {
    let iss = issuer();
    let chain = iss.issue(&server_key(), 99, &mut rng());
    let v = verify_cert_chain(&chain, &iss.trust_root(), &server_key(), NOW).unwrap();
    assert_eq!(v.intermediate.serial, 7);
    assert_eq!(v.intermediate.issuer_serial, 0);
    assert_eq!(&v.intermediate.key, kp(2).public());
    assert_eq!(v.leaf.serial, 99);
    assert_eq!(v.leaf.issuer_serial, 7);
    assert_eq!(v.leaf.key, server_key());
    // Both ends of the validity period are inclusive.
    verify_cert_chain(&chain, &iss.trust_root(), &server_key(), NOW - 10).unwrap();
    verify_cert_chain(&chain, &iss.trust_root(), &server_key(), NOW + 10).unwrap();
}

#[test]
fn chain_signed_by_another_root() {
    let other = CertIssuer::new(kp(8), 0, kp(2)).validity(NOW - 10, NOW + 10);
    let chain = other.issue(&server_key(), 1, &mut rng());
    assert_eq!(
        verify_cert_chain(&chain, &issuer().trust_root(), &server_key(), NOW),
        Err(CertError::BadSignature(CertKind::Intermediate))
    );
    // The production root does not accept a test chain either.
    assert_eq!(
        verify_cert_chain(&chain, &TrustRoot::WHATSAPP, &server_key(), NOW),
        Err(CertError::BadSignature(CertKind::Intermediate))
    );
}

#[test]
fn tampered_leaf() {
    let iss = issuer();
    let mut chain = CertChain::decode(iss.issue(&server_key(), 1, &mut rng()).as_slice()).unwrap();
    let leaf = chain.leaf.as_mut().unwrap();
    let details = leaf.details.as_mut().unwrap();
    let last = details.len() - 1;
    details[last] ^= 1; // the notAfter varint's last byte
    let bytes = chain.encode_to_vec();
    assert_eq!(
        verify_cert_chain(&bytes, &iss.trust_root(), &server_key(), NOW),
        Err(CertError::BadSignature(CertKind::Leaf))
    );
}

#[test]
fn leaf_key_differs_from_server_static() {
    let iss = issuer();
    let chain = iss.issue(&server_key(), 1, &mut rng());
    assert_eq!(
        verify_cert_chain(&chain, &iss.trust_root(), kp(4).public(), NOW),
        Err(CertError::KeyMismatch)
    );
}

fn chain_with(inter: CertInfo, leaf: CertInfo) -> Vec<u8> {
    let mut r = rng();
    CertChain {
        intermediate: Some(sign_certificate(&inter, &kp(1), &mut r)),
        leaf: Some(sign_certificate(&leaf, &kp(2), &mut r)),
    }
    .encode_to_vec()
}

fn infos() -> (CertInfo, CertInfo) {
    let inter = CertInfo {
        serial: 7,
        issuer_serial: 0,
        key: *kp(2).public(),
        not_before: NOW - 10,
        not_after: NOW + 10,
    };
    let leaf = CertInfo {
        serial: 8,
        issuer_serial: 7,
        key: server_key(),
        not_before: NOW - 10,
        not_after: NOW + 10,
    };
    (inter, leaf)
}

#[test]
fn issuer_serial_mismatch() {
    let root = issuer().trust_root();
    let (inter, mut leaf) = infos();
    leaf.issuer_serial = 6;
    assert_eq!(
        verify_cert_chain(&chain_with(inter, leaf), &root, &server_key(), NOW),
        Err(CertError::IssuerSerialMismatch {
            cert: CertKind::Leaf,
            expected: 7,
            found: 6
        })
    );
    let (mut inter, leaf) = infos();
    inter.issuer_serial = 5;
    assert_eq!(
        verify_cert_chain(&chain_with(inter, leaf), &root, &server_key(), NOW),
        Err(CertError::IssuerSerialMismatch {
            cert: CertKind::Intermediate,
            expected: 0,
            found: 5
        })
    );
}

#[test]
fn expired_and_not_yet_valid() {
    let iss = issuer();
    let chain = iss.issue(&server_key(), 1, &mut rng());
    assert_eq!(
        verify_cert_chain(&chain, &iss.trust_root(), &server_key(), NOW + 11),
        Err(CertError::Expired {
            cert: CertKind::Intermediate,
            not_after: NOW + 10,
            now: NOW + 11
        })
    );
    assert_eq!(
        verify_cert_chain(&chain, &iss.trust_root(), &server_key(), NOW - 11),
        Err(CertError::NotYetValid {
            cert: CertKind::Intermediate,
            not_before: NOW - 10,
            now: NOW - 11
        })
    );
    let (inter, mut leaf) = infos();
    leaf.not_after = NOW - 1;
    assert_eq!(
        verify_cert_chain(
            &chain_with(inter, leaf),
            &iss.trust_root(),
            &server_key(),
            NOW
        ),
        Err(CertError::Expired {
            cert: CertKind::Leaf,
            not_after: NOW - 1,
            now: NOW
        })
    );
}

#[test]
fn malformed_and_incomplete_chains() {
    let root = issuer().trust_root();
    assert!(matches!(
        verify_cert_chain(&[0x0a, 0x05, 1], &root, &server_key(), NOW),
        Err(CertError::Malformed(_))
    ));
    assert_eq!(
        verify_cert_chain(&[], &root, &server_key(), NOW),
        Err(CertError::Missing("intermediate certificate"))
    );
    let (inter, leaf) = infos();
    let mut chain = CertChain::decode(chain_with(inter, leaf).as_slice()).unwrap();
    chain
        .leaf
        .as_mut()
        .unwrap()
        .signature
        .as_mut()
        .unwrap()
        .pop();
    assert_eq!(
        verify_cert_chain(&chain.encode_to_vec(), &root, &server_key(), NOW),
        Err(CertError::SignatureLength {
            cert: CertKind::Leaf,
            len: 63
        })
    );
    chain.leaf.as_mut().unwrap().signature = None;
    assert_eq!(
        verify_cert_chain(&chain.encode_to_vec(), &root, &server_key(), NOW),
        Err(CertError::Missing("leaf signature"))
    );
    // A signed intermediate whose key is 31 bytes.
    let mut r = rng();
    let details = wa_proto::proto::cert_chain::noise_certificate::Details {
        serial: Some(7),
        issuer_serial: Some(0),
        key: Some(vec![1; 31]),
        not_before: Some(0),
        not_after: Some(u64::MAX),
    }
    .encode_to_vec();
    let mut random = [0u8; 64];
    rand_chacha::rand_core::Rng::fill_bytes(&mut r, &mut random);
    let sig = wa_noise::xeddsa::sign(&kp(1).private_bytes(), &details, &random);
    chain.intermediate = Some(wa_proto::proto::cert_chain::NoiseCertificate {
        details: Some(details),
        signature: Some(sig.to_vec()),
    });
    chain.leaf.as_mut().unwrap().signature = Some(vec![0; 64]);
    assert_eq!(
        verify_cert_chain(&chain.encode_to_vec(), &root, &server_key(), NOW),
        Err(CertError::KeyLength {
            cert: CertKind::Intermediate,
            len: 31
        })
    );
}
