//! The `ClientPayload` sent in the Noise client finish: registration for a new device, login
//! for a paired one (whatsmeow's `store/clientpayload.go`, Baileys' `validate-connection`).

use md5::{Digest, Md5};
use wa_binary::{Jid, Node};
use wa_proto::prost::Message;
use wa_proto::proto::client_payload::user_agent::{AppVersion, Platform, ReleaseChannel};
use wa_proto::proto::client_payload::web_info::WebSubPlatform;
use wa_proto::proto::client_payload::{
    ConnectReason, ConnectType, DevicePairingRegistrationData, UserAgent, WebInfo,
};
use wa_proto::proto::device_props::{self, HistorySyncConfig};
use wa_proto::proto::{ClientPayload, DeviceProps};
use wa_signal::{PreKeyRecord, SignedPreKeyRecord};
use wa_store::Device;

use crate::config::Config;
use crate::error::{Error, Result};

/// The Signal key type byte (`0x05`, Curve25519) sent as `eKeytype`.
pub const KEY_BUNDLE_TYPE: u8 = 5;

/// A prekey id as the server takes it: the low three bytes, big-endian.
pub(crate) fn key_id_bytes(id: u32) -> Vec<u8> {
    id.to_be_bytes()
        .get(1..)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

/// A one-time prekey node: `<key><id/><value/></key>` (prekey upload, retry receipt).
pub(crate) fn pre_key_node(key: &PreKeyRecord) -> Node {
    Node::new("key")
        .child(Node::new("id").bytes(key_id_bytes(key.id)).build())
        .child(
            Node::new("value")
                .bytes(key.key_pair.public.raw().to_vec())
                .build(),
        )
        .build()
}

/// A signed prekey node: `<skey><id/><value/><signature/></skey>` (prekey upload, retry
/// receipt).
pub(crate) fn signed_pre_key_node(spk: &SignedPreKeyRecord) -> Node {
    Node::new("skey")
        .child(Node::new("id").bytes(key_id_bytes(spk.id)).build())
        .child(
            Node::new("value")
                .bytes(spk.key_pair.public.raw().to_vec())
                .build(),
        )
        .child(Node::new("signature").bytes(spk.signature.to_vec()).build())
        .build()
}

fn base(config: &Config) -> ClientPayload {
    let [primary, secondary, tertiary] = config.version;
    ClientPayload {
        user_agent: Some(UserAgent {
            platform: Some(Platform::Web as i32),
            app_version: Some(AppVersion {
                primary: Some(primary),
                secondary: Some(secondary),
                tertiary: Some(tertiary),
                ..Default::default()
            }),
            mcc: Some("000".to_owned()),
            mnc: Some("000".to_owned()),
            os_version: Some("0.1".to_owned()),
            device: Some("Desktop".to_owned()),
            os_build_number: Some("0.1".to_owned()),
            release_channel: Some(ReleaseChannel::Release as i32),
            locale_language_iso6391: Some("en".to_owned()),
            locale_country_iso31661_alpha2: Some("US".to_owned()),
            ..Default::default()
        }),
        web_info: Some(WebInfo {
            web_sub_platform: Some(WebSubPlatform::WebBrowser as i32),
            ..Default::default()
        }),
        connect_type: Some(ConnectType::WifiUnknown as i32),
        connect_reason: Some(ConnectReason::UserActivated as i32),
        push_name: config.push_name.clone(),
        ..Default::default()
    }
}

/// The login payload of a paired device: `username`, `device`, `passive: true`, `pull: true`.
pub fn login(config: &Config, jid: &Jid) -> Result<ClientPayload> {
    let username = jid
        .user_int()
        .ok_or_else(|| Error::Protocol(format!("our JID {jid} has no numeric user")))?;
    Ok(ClientPayload {
        username: Some(username),
        device: Some(u32::from(jid.device())),
        passive: Some(true),
        pull: Some(true),
        lid_db_migrated: Some(false),
        ..base(config)
    })
}

/// The registration payload of a new device: its registration id, identity and signed prekey,
/// the MD5 of the version string and the serialized `DeviceProps`.
#[must_use]
pub fn registration(config: &Config, device: &Device) -> ClientPayload {
    let version = config
        .version
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".");
    let build_hash = Md5::digest(version.as_bytes()).to_vec();
    let props = DeviceProps {
        os: Some(config.device_props.os.clone()),
        version: Some(device_props::AppVersion {
            primary: Some(0),
            secondary: Some(1),
            tertiary: Some(0),
            ..Default::default()
        }),
        platform_type: Some(config.device_props.platform_type as i32),
        require_full_sync: Some(config.device_props.require_full_sync),
        history_sync_config: Some(HistorySyncConfig {
            storage_quota_mb: Some(10_240),
            inline_initial_payload_in_e2_ee_msg: Some(true),
            ..Default::default()
        }),
    }
    .encode_to_vec();
    let spk = &device.signed_pre_key;
    let spk_id = spk.id.to_be_bytes();
    ClientPayload {
        passive: Some(false),
        pull: Some(false),
        device_pairing_data: Some(DevicePairingRegistrationData {
            e_regid: Some(device.registration_id.to_be_bytes().to_vec()),
            e_keytype: Some(vec![KEY_BUNDLE_TYPE]),
            e_ident: Some(device.identity_key.public().raw().to_vec()),
            e_skey_id: Some(spk_id.get(1..).unwrap_or_default().to_vec()),
            e_skey_val: Some(spk.key_pair.public.raw().to_vec()),
            e_skey_sig: Some(spk.signature.to_vec()),
            build_hash: Some(build_hash),
            device_props: Some(props),
        }),
        ..base(config)
    }
}

/// The payload for `device`: login when it is paired, registration otherwise.
pub fn for_device(config: &Config, device: &Device) -> Result<ClientPayload> {
    match &device.jid {
        Some(jid) => login(config, jid),
        None => Ok(registration(config, device)),
    }
}

#[cfg(test)]
mod tests {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn key_nodes_carry_three_byte_ids_and_raw_keys() {
        assert_eq!(key_id_bytes(0x0001_0203), vec![1, 2, 3]);
        assert_eq!(
            key_id_bytes(0x0900_0001),
            vec![0, 0, 1],
            "24 bits on the wire"
        );
        let device = Device::generate(&mut ChaCha20Rng::seed_from_u64(4));
        let spk = &device.signed_pre_key;
        let skey = signed_pre_key_node(spk);
        assert_eq!(skey.tag, "skey");
        assert_eq!(
            skey.child("id").and_then(Node::bytes),
            Some(key_id_bytes(spk.id).as_slice())
        );
        assert_eq!(
            skey.child("value").and_then(Node::bytes),
            Some(spk.key_pair.public.raw().as_slice())
        );
        assert_eq!(
            skey.child("signature").and_then(Node::bytes),
            Some(spk.signature.as_slice())
        );
        let key = PreKeyRecord::generate(0x0A0B0C, &mut ChaCha20Rng::seed_from_u64(5));
        let node = pre_key_node(&key);
        assert_eq!(node.tag, "key");
        assert_eq!(
            node.child("id").and_then(Node::bytes),
            Some([0x0A, 0x0B, 0x0C].as_slice())
        );
        assert_eq!(
            node.child("value").and_then(Node::bytes),
            Some(key.key_pair.public.raw().as_slice())
        );
    }

    #[test]
    fn registration_carries_the_keys_big_endian() {
        let device = Device::generate(&mut ChaCha20Rng::seed_from_u64(3));
        let p = registration(&Config::default(), &device);
        assert_eq!(p.passive, Some(false));
        let reg = p.device_pairing_data.unwrap();
        assert_eq!(reg.e_regid.unwrap(), device.registration_id.to_be_bytes());
        assert_eq!(reg.e_keytype.unwrap(), [5]);
        assert_eq!(reg.e_skey_id.unwrap(), [0, 0, 1]);
        assert_eq!(reg.e_ident.unwrap(), device.identity_key.public().raw());
        assert_eq!(reg.e_skey_sig.unwrap().len(), 64);
        // MD5("2.3000.1043857760")
        let hash = Md5::digest(b"2.3000.1043857760").to_vec();
        assert_eq!(reg.build_hash.unwrap(), hash);
        assert!(DeviceProps::decode(reg.device_props.unwrap().as_slice()).is_ok());
    }

    #[test]
    fn login_uses_user_and_device() {
        let jid: Jid = "15551234567:7@s.whatsapp.net".parse().unwrap();
        let p = login(&Config::default(), &jid).unwrap();
        assert_eq!(p.username, Some(15_551_234_567));
        assert_eq!(p.device, Some(7));
        assert_eq!(p.passive, Some(true));
        assert!(p.device_pairing_data.is_none());
        let bad: Jid = "abc@s.whatsapp.net".parse().unwrap();
        assert!(login(&Config::default(), &bad).is_err());
    }
}
