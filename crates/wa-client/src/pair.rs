//! QR pairing (whatsmeow's `pair.go`): the QR strings, and the checks on `pair-success`.
//!
//! `pair-success` carries an `ADVSignedDeviceIdentityHMAC`. We check its HMAC-SHA256 under the
//! ADV secret we put in the QR code, then the primary phone's account signature over
//! `06 00 ‖ details ‖ our identity key` (`06 05` for hosted devices), sign
//! `06 01 ‖ details ‖ our identity key ‖ account key` with our identity key, and answer with the
//! signed identity (without the account key). Any failure leaves the device untouched.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand_core::CryptoRng;
use sha2::Sha256;
use wa_binary::{Jid, Node, Server};
use wa_proto::prost::Message;
use wa_proto::proto::{
    AdvDeviceIdentity, AdvEncryptionType, AdvSignedDeviceIdentity, AdvSignedDeviceIdentityHmac,
};
use wa_signal::PublicKey;
use wa_store::Device;

use crate::error::PairError;

/// Prefix of the account signature message.
pub const ADV_ACCOUNT_SIG_PREFIX: [u8; 2] = [6, 0];
/// Prefix of the device signature message.
pub const ADV_DEVICE_SIG_PREFIX: [u8; 2] = [6, 1];
/// Prefix for hosted accounts (HMAC input and account signature).
pub const ADV_HOSTED_ACCOUNT_SIG_PREFIX: [u8; 2] = [6, 5];

/// The QR text for one `ref`: `https://wa.me/settings/linked_devices#ref,noise,identity,adv,platform`.
#[must_use]
pub fn qr_code(ref_: &str, device: &Device, platform_id: u8) -> String {
    format!(
        "https://wa.me/settings/linked_devices#{ref_},{},{},{},{platform_id}",
        STANDARD.encode(device.noise_key.public.raw()),
        STANDARD.encode(device.identity_key.public().raw()),
        STANDARD.encode(device.adv_secret_key.0),
    )
}

/// A verified pairing: the device to save and the `<iq>` to answer with.
#[derive(Debug)]
pub struct Paired {
    /// The device with its JID, LID, account identity, platform and business name set.
    pub device: Device,
    /// The `pair-device-sign` reply.
    pub reply: Node,
    /// The primary phone's platform.
    pub platform: String,
    /// The business name, if any.
    pub business_name: Option<String>,
}

fn malformed(what: impl Into<String>) -> PairError {
    PairError::Malformed(what.into())
}

/// Checks a `<iq><pair-success>` stanza against `device` and produces the signed reply.
pub fn handle_pair_success<R: CryptoRng + ?Sized>(
    iq: &Node,
    device: &Device,
    rng: &mut R,
) -> Result<Paired, PairError> {
    let id = iq
        .attr("id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| malformed("iq without id"))?;
    let ps = iq
        .child("pair-success")
        .ok_or_else(|| malformed("no pair-success"))?;
    let identity_bytes = ps
        .child("device-identity")
        .and_then(Node::bytes)
        .ok_or_else(|| malformed("no device-identity"))?;
    let device_node = ps.child("device").ok_or_else(|| malformed("no device"))?;
    let jid = device_node
        .attr("jid")
        .and_then(jid_attr)
        .ok_or_else(|| malformed("device without a valid jid"))?;
    let lid = device_node.attr("lid").and_then(jid_attr);
    let platform = ps
        .child("platform")
        .and_then(|p| p.attr("name"))
        .map(ToString::to_string)
        .unwrap_or_default();
    let business_name = ps
        .child("biz")
        .and_then(|b| b.attr("name"))
        .map(ToString::to_string);

    let container = AdvSignedDeviceIdentityHmac::decode(identity_bytes)
        .map_err(|e| malformed(format!("ADVSignedDeviceIdentityHMAC: {e}")))?;
    let details = container
        .details
        .as_deref()
        .ok_or_else(|| malformed("HMAC container without details"))?;
    let hmac_got = container
        .hmac
        .as_deref()
        .ok_or_else(|| malformed("HMAC container without hmac"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&device.adv_secret_key.0)
        .map_err(|_| malformed("ADV secret length"))?;
    if container.account_type == Some(AdvEncryptionType::Hosted as i32) {
        mac.update(&ADV_HOSTED_ACCOUNT_SIG_PREFIX);
    }
    mac.update(details);
    mac.verify_slice(hmac_got)
        .map_err(|_| PairError::HmacMismatch)?;

    let mut signed = AdvSignedDeviceIdentity::decode(details)
        .map_err(|e| malformed(format!("ADVSignedDeviceIdentity: {e}")))?;
    let inner = signed
        .details
        .clone()
        .ok_or_else(|| malformed("signed identity without details"))?;
    let account_key = signed
        .account_signature_key
        .clone()
        .ok_or_else(|| malformed("no account signature key"))?;
    let account_sig = signed
        .account_signature
        .as_deref()
        .ok_or_else(|| malformed("no account signature"))?;
    let identity = AdvDeviceIdentity::decode(inner.as_slice())
        .map_err(|e| malformed(format!("ADVDeviceIdentity: {e}")))?;
    let prefix = if identity.device_type == Some(AdvEncryptionType::Hosted as i32) {
        ADV_HOSTED_ACCOUNT_SIG_PREFIX
    } else {
        ADV_ACCOUNT_SIG_PREFIX
    };
    let our_identity = device.identity_key.public().raw();
    // The account key travels as the raw 32 bytes (some encoders add the 0x05 type byte).
    let account_pub = match account_key.as_slice() {
        [0x05, rest @ ..] if rest.len() == 32 => PublicKey::from_bytes(&account_key).ok(),
        raw => <[u8; 32]>::try_from(raw).ok().map(PublicKey::from_raw),
    }
    .ok_or(PairError::InvalidAccountSignature)?;
    let msg = [&prefix[..], &inner, our_identity].concat();
    account_pub
        .verify(&msg, account_sig)
        .map_err(|_| PairError::InvalidAccountSignature)?;

    let device_msg = [
        &ADV_DEVICE_SIG_PREFIX[..],
        &inner,
        our_identity,
        account_pub.raw(),
    ]
    .concat();
    let device_sig = device.identity_key.private().sign(&device_msg, rng);
    signed.device_signature = Some(device_sig.to_vec());

    let mut saved = device.clone();
    saved.account = Some(signed.encode_to_vec());
    saved.jid = Some(jid);
    saved.lid = lid;
    saved.platform.clone_from(&platform);
    saved.business_name = business_name.clone().unwrap_or_default();

    signed.account_signature_key = None;
    let reply = Node::new("iq")
        .attr("to", Jid::new("", Server::User))
        .attr("type", "result")
        .attr("id", id)
        .child(
            Node::new("pair-device-sign")
                .child(
                    Node::new("device-identity")
                        .attr("key-index", identity.key_index.unwrap_or(0).to_string())
                        .bytes(signed.encode_to_vec())
                        .build(),
                )
                .build(),
        )
        .build();
    Ok(Paired {
        device: saved,
        reply,
        platform,
        business_name,
    })
}

fn jid_attr(v: &wa_binary::AttrValue) -> Option<Jid> {
    match v {
        wa_binary::AttrValue::Jid(j) => Some(j.clone()),
        wa_binary::AttrValue::Str(s) => s.parse().ok(),
    }
}

/// The `<iq type="error">` sent when `pair-success` is refused (whatsmeow answers 500).
#[must_use]
pub fn pair_error_reply(id: &str) -> Node {
    Node::new("iq")
        .attr("to", Jid::new("", Server::User))
        .attr("type", "error")
        .attr("id", id)
        .child(
            Node::new("error")
                .attr("code", "500")
                .attr("text", "internal-error")
                .build(),
        )
        .build()
}
