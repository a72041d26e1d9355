//! Signal encryption of one plaintext for one device (whatsmeow `encryptMessageForDevice`),
//! against a store [`Transaction`] so every session write of a send commits together.

use rand_core::CryptoRng;
use wa_binary::{Jid, Node};
use wa_signal::store::ProtocolAddress;
use wa_signal::{PreKeyBundle, SignalError};
use wa_store::{Store, Transaction};

use super::encrypt_error;
use crate::error::MessageError;
use crate::message::padding::pad;

/// The Signal address of a device JID (user, or `user_agent` for LID and hosted JIDs).
#[must_use]
pub(crate) fn address(jid: &Jid) -> ProtocolAddress {
    ProtocolAddress::new(jid.signal_address_user(), u32::from(jid.device()))
}

/// One `<enc>` for `device`, and whether it is a `pkmsg`.
///
/// With `bundle`, a new session is built from it first (trusting a changed identity, as
/// whatsmeow's `AutoTrustIdentity`); without one the stored session is used and its absence is
/// [`MessageError::NoSession`]. The plaintext is padded here. `extra` attributes (`mediatype`,
/// `decrypt-fail`, `count`) are added to the `<enc>`.
pub(crate) async fn encrypt_for_device<R: CryptoRng + Send + ?Sized>(
    txn: &Transaction<'_, dyn Store>,
    device: &Jid,
    plaintext: &[u8],
    bundle: Option<&PreKeyBundle>,
    extra: &[(&'static str, String)],
    rng: &mut R,
) -> Result<(Node, bool), MessageError> {
    let addr = address(device);
    if let Some(bundle) = bundle {
        wa_signal::store::process_bundle(txn, &addr, bundle, rng)
            .await
            .map_err(encrypt_error)?;
    }
    let padded = pad(plaintext.to_vec(), rng);
    let ciphertext = match wa_signal::store::encrypt(txn, &addr, &padded).await {
        Ok(c) => c,
        Err(wa_signal::store::StoreError::Signal(SignalError::NoSession)) => {
            return Err(MessageError::NoSession(addr.to_string()));
        }
        Err(e) => return Err(encrypt_error(e)),
    };
    let ty = ciphertext.wa_type();
    let mut enc = Node::new("enc").attr("v", "2").attr("type", ty);
    for (k, v) in extra {
        enc = enc.attr(*k, v.clone());
    }
    Ok((
        enc.bytes(ciphertext.serialized().to_vec()).build(),
        ty == "pkmsg",
    ))
}

/// `<to jid=device>` around an `<enc>`.
#[must_use]
pub(crate) fn to_node(device: &Jid, enc: Node) -> Node {
    Node::new("to")
        .attr("jid", device.clone())
        .child(enc)
        .build()
}
