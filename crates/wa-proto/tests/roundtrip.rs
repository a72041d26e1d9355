//! Round trips through the generated types, checked against bytes produced by Baileys'
//! protobufjs encoder (the reference implementation of this schema) for the same values.

use wa_proto::prost::Message as _;
use wa_proto::proto::{
    self, ClientPayload, HandshakeMessage, PreKeySignalMessage, SignalMessage, client_payload,
    handshake_message,
};
use wa_proto::records::{self, SenderKeyRecord, SessionRecord};

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2));
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Encodes, compares with the reference bytes, decodes back and compares the value.
fn check<M: wa_proto::prost::Message + Default + PartialEq + std::fmt::Debug>(
    value: &M,
    wire: &str,
) {
    let bytes = value.encode_to_vec();
    assert_eq!(bytes, hex(wire), "encoding differs from the reference");
    let decoded = M::decode(bytes.as_slice()).unwrap();
    assert_eq!(&decoded, value);
}

#[test]
fn handshake_client_hello() {
    let hello = HandshakeMessage {
        client_hello: Some(handshake_message::ClientHello {
            ephemeral: Some(vec![0x11; 32]),
            ..Default::default()
        }),
        ..Default::default()
    };
    check(&hello, &format!("12220a20{}", "11".repeat(32)));
}

#[test]
fn handshake_server_hello() {
    let hello = HandshakeMessage {
        server_hello: Some(handshake_message::ServerHello {
            ephemeral: Some(vec![0x11; 32]),
            r#static: Some(vec![0x22; 48]),
            payload: Some(vec![1, 2, 3]),
            ..Default::default()
        }),
        ..Default::default()
    };
    check(
        &hello,
        &format!(
            "1a590a20{}1230{}1a03010203",
            "11".repeat(32),
            "22".repeat(48)
        ),
    );
}

#[test]
fn client_payload_login() {
    use client_payload::user_agent::{AppVersion, Platform, ReleaseChannel};
    use client_payload::web_info::WebSubPlatform;
    use client_payload::{ConnectReason, ConnectType, UserAgent, WebInfo};

    let payload = ClientPayload {
        username: Some(15_551_234_567),
        passive: Some(false),
        user_agent: Some(UserAgent {
            platform: Some(Platform::Web as i32),
            app_version: Some(AppVersion {
                primary: Some(2),
                secondary: Some(3000),
                tertiary: Some(1_029_496_320),
                ..Default::default()
            }),
            mcc: Some("000".into()),
            mnc: Some("000".into()),
            os_version: Some("0.1".into()),
            manufacturer: Some(String::new()),
            device: Some("Desktop".into()),
            os_build_number: Some("0.1".into()),
            release_channel: Some(ReleaseChannel::Release as i32),
            locale_language_iso6391: Some("en".into()),
            locale_country_iso31661_alpha2: Some("US".into()),
            ..Default::default()
        }),
        web_info: Some(WebInfo {
            web_sub_platform: Some(WebSubPlatform::WebBrowser as i32),
            ..Default::default()
        }),
        connect_type: Some(ConnectType::WifiUnknown as i32),
        connect_reason: Some(ConnectReason::UserActivated as i32),
        device: Some(3),
        pull: Some(true),
        lid_db_migrated: Some(false),
        shards: vec![1, 2],
        ..Default::default()
    };
    check(
        &payload,
        "088784b4f73918002a38080e120b080210b8171880bcf3ea031a0330303022033030302a03302e31320\
         03a074465736b746f704203302e3150005a02656e62025553320220006001680172020102900103880201\
         c80200",
    );
    // Typed enum accessors read the i32 fields back.
    let agent = payload.user_agent.as_ref().unwrap();
    assert_eq!(agent.platform(), Platform::Web);
    assert_eq!(payload.connect_type(), ConnectType::WifiUnknown);
}

#[test]
fn signal_wire_messages() {
    let mut ratchet = vec![0x05];
    ratchet.extend([0x11; 32]);
    let message = SignalMessage {
        ratchet_key: Some(ratchet),
        counter: Some(7),
        previous_counter: Some(3),
        ciphertext: Some(b"cipher".to_vec()),
    };
    check(
        &message,
        &format!("0a2105{}100718032206636970686572", "11".repeat(32)),
    );

    let pre_key = PreKeySignalMessage {
        registration_id: Some(12345),
        pre_key_id: Some(17),
        signed_pre_key_id: Some(1),
        base_key: Some(vec![5, 1]),
        identity_key: Some(vec![5, 2]),
        message: Some(vec![0x33, 1]),
    };
    check(&pre_key, "0811120205011a0205022202330128b9603001");
}

#[test]
fn device_identity_messages() {
    let hmac = proto::AdvSignedDeviceIdentityHmac {
        details: Some(vec![1, 2]),
        hmac: Some(vec![9; 4]),
        account_type: Some(proto::AdvEncryptionType::Hosted as i32),
    };
    check(&hmac, "0a0201021204090909091801");

    let identity = proto::AdvDeviceIdentity {
        raw_id: Some(123_456),
        timestamp: Some(1_700_000_000),
        key_index: Some(2),
        account_type: Some(proto::AdvEncryptionType::E2ee as i32),
        device_type: Some(proto::AdvEncryptionType::Hosted as i32),
    };
    // A present-but-zero optional field is still written (`20 00`).
    check(&identity, "08c0c4071080e2cfaa06180220002801");
}

#[test]
fn noise_certificate_chain() {
    use proto::cert_chain::{NoiseCertificate, noise_certificate::Details};
    let chain = proto::CertChain {
        leaf: Some(NoiseCertificate {
            details: Some(vec![1]),
            signature: Some(vec![2; 3]),
        }),
        intermediate: Some(NoiseCertificate {
            details: Some(vec![3]),
            signature: Some(vec![4; 3]),
        }),
    };
    check(&chain, "0a080a0101120302020212080a01031203040404");
    let details = Details {
        serial: Some(1),
        issuer_serial: Some(0),
        key: Some(vec![7; 2]),
        not_before: Some(1_700_000_000),
        not_after: Some(1_800_000_000),
    };
    check(&details, "080110001a0207072080e2cfaa062880a4a7da06");
}

#[test]
fn sender_key_wire_messages() {
    let distribution = proto::SenderKeyDistributionMessage {
        id: Some(42),
        iteration: Some(0),
        chain_key: Some(vec![1; 2]),
        signing_key: Some(vec![5, 6]),
    };
    check(&distribution, "082a10001a02010122020506");
    let message = proto::SenderKeyMessage {
        id: Some(42),
        iteration: Some(300),
        ciphertext: Some(vec![0xaa]),
    };
    check(&message, "082a10ac021a01aa");
}

#[test]
fn e2e_message_and_truncated_input() {
    let message = proto::Message {
        conversation: Some("hello".into()),
        ..Default::default()
    };
    check(&message, "0a0568656c6c6f");
    // Truncated and garbage input are errors, not panics.
    assert!(proto::Message::decode(&hex("0a0568656c6c")[..]).is_err());
    assert!(HandshakeMessage::decode(&[0xff, 0xff, 0xff][..]).is_err());
}

#[test]
fn enums_given_a_zero_value_keep_their_real_values() {
    use proto::bot_feedback_message::BotFeedbackKindMultipleNegative as Kind;
    assert_eq!(Kind::try_from(0), Ok(Kind::Unset));
    assert_eq!(
        Kind::try_from(1),
        Ok(Kind::BotFeedbackMultipleNegativeGeneric)
    );
}

#[test]
fn session_record_round_trip() {
    let chain_key = |index| records::ChainKey {
        index,
        key: vec![index as u8; 32],
    };
    let state = records::SessionState {
        version: 3,
        local_identity_public: vec![5; 33],
        remote_identity_public: vec![6; 33],
        root_key: vec![7; 32],
        previous_counter: 2,
        sender_chain: Some(records::SenderChain {
            ratchet_public: vec![5; 33],
            ratchet_private: vec![8; 32],
            chain_key: Some(chain_key(4)),
        }),
        receiver_chains: vec![records::ReceiverChain {
            ratchet_public: vec![9; 33],
            chain_key: Some(chain_key(10)),
            message_keys: vec![records::MessageKeys {
                index: 8,
                cipher_key: vec![1; 32],
                mac_key: vec![2; 32],
                iv: vec![3; 16],
            }],
        }],
        pending_pre_key: Some(records::PendingPreKey {
            pre_key_id: None,
            signed_pre_key_id: 1,
            base_key: vec![5; 33],
        }),
        remote_registration_id: 42,
        local_registration_id: 43,
        base_key: vec![5; 33],
    };
    let record = SessionRecord {
        current: Some(state.clone()),
        previous: vec![state; 40],
    };
    let bytes = record.encode_to_vec();
    assert_eq!(SessionRecord::decode(bytes.as_slice()).unwrap(), record);
    // An optional field keeps "absent" apart from zero.
    let mut with_zero = record.clone();
    if let Some(p) = with_zero
        .current
        .as_mut()
        .and_then(|s| s.pending_pre_key.as_mut())
    {
        p.pre_key_id = Some(0);
    }
    assert_ne!(with_zero.encode_to_vec(), bytes);
}

#[test]
fn sender_key_record_round_trip() {
    let record = SenderKeyRecord {
        states: (0..5)
            .map(|i| records::SenderKeyState {
                key_id: 1000 + i,
                chain_key: Some(records::SenderChainKey {
                    iteration: i * 3,
                    seed: vec![i as u8; 32],
                }),
                signing_public: vec![5; 33],
                signing_private: (i == 4).then(|| vec![9; 32]),
                message_keys: vec![records::SenderMessageKey {
                    iteration: i,
                    seed: vec![1; 32],
                }],
            })
            .collect(),
    };
    let bytes = record.encode_to_vec();
    assert_eq!(SenderKeyRecord::decode(bytes.as_slice()).unwrap(), record);
    // Records derive Eq + Hash.
    let set: std::collections::HashSet<_> = record.states.iter().cloned().collect();
    assert_eq!(set.len(), 5);
    assert_eq!(
        SenderKeyRecord::decode(&[][..]).unwrap(),
        SenderKeyRecord::default()
    );
}

#[test]
fn large_structs_stay_within_the_documented_bounds() {
    // The crate docs quote these sizes; keep them honest when the schema grows.
    assert!(std::mem::size_of::<proto::Message>() < 8 * 1024);
    assert!(std::mem::size_of::<proto::WebMessageInfo>() < 16 * 1024);
}
