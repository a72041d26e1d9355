//! Media upload and download against `wa-testserver` over loopback sockets: account A uploads
//! a 300 KiB image (`<media_conn>`, encrypted POST), sends an `ImageMessage` to account B, and B
//! downloads and decrypts identical bytes; a tampered stored body fails its hash or MAC check,
//! an expired or unknown direct path gives the host's 404.

use wa_client::{Error, Event, MediaError, MediaRef};
use wa_media::{HashKind, MediaType};
use wa_proto::proto::Message;
use wa_testserver::TestServer;

use crate::common;

use common::live::{BOB, Companion, server_with_bob, until};

/// Deterministic incompressible bytes.
fn image_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_goes_from_a_to_b_and_tampering_or_expiry_is_a_typed_error() {
    let (server, bob) = server_with_bob().await;
    let a = Companion::pair(&server, None).await;
    let mut b = Companion::pair(&server, Some(BOB)).await;

    let image = image_bytes(300 * 1024);
    let up = a.client.upload(&image, MediaType::Image).await.unwrap();
    assert_eq!(up.file_length, image.len() as u64);
    assert!(up.direct_path.starts_with("/v/t62."), "{}", up.direct_path);
    assert!(up.url.starts_with(&server.media_url()), "{}", up.url);
    // The server holds the encrypted body, not the image.
    let stored = server.admin().media_blob(&up.direct_path).unwrap();
    assert_eq!(
        stored.len() as u64,
        wa_media::encrypted_len(image.len() as u64)
    );
    assert_ne!(
        stored.get(..image.len()),
        image.get(..stored.len().min(image.len()))
    );

    let message = Message {
        image_message: Some(Box::new(up.image_message("image/jpeg", Some("a cat")))),
        ..Message::default()
    };
    let sent = a
        .client
        .send_message(bob.pn.clone(), message)
        .await
        .unwrap();
    let e = until(
        &mut b.events,
        |e| matches!(e, Event::Message(m) if m.info.id == sent.id),
    )
    .await;
    let Event::Message(m) = e else { unreachable!() };
    let img = m.message.image_message.expect("an image message");
    assert_eq!(img.caption.as_deref(), Some("a cat"));
    assert_eq!(img.mimetype.as_deref(), Some("image/jpeg"));
    let got = b.client.download(img.as_ref()).await.unwrap();
    assert_eq!(got.len(), image.len());
    assert!(got == image, "downloaded bytes differ");

    // A second upload reuses the cached <media_conn> and gets its own path.
    let doc = a
        .client
        .upload(b"hello", MediaType::Document)
        .await
        .unwrap();
    assert_ne!(doc.direct_path, up.direct_path);
    let doc_msg = doc.document_message("text/plain", "hello.txt", None);
    assert_eq!(a.client.download(&doc_msg).await.unwrap(), b"hello");

    // Each client asked for <media_conn> once and used the cached answer afterwards.
    assert_eq!(server.admin().media_conn_count(), 2);

    // One flipped bit in the stored body: the announced body hash fails first...
    assert!(server.admin().tamper_media(&up.direct_path));
    let err = b.client.download(img.as_ref()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Media(MediaError::Crypto(wa_media::MediaError::HashMismatch {
                which: HashKind::EncFile
            }))
        ),
        "{err:?}"
    );
    // ...and without that hash the MAC does.
    let mut no_hash = MediaRef {
        direct_path: img.direct_path.clone().unwrap(),
        media_key: img.media_key.clone().unwrap(),
        file_sha256: img.file_sha256.clone().unwrap(),
        file_enc_sha256: Vec::new(),
        file_length: img.file_length,
        media_type: MediaType::Image,
    };
    let err = b.client.download(&no_hash).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Media(MediaError::Crypto(wa_media::MediaError::BadMac))
        ),
        "{err:?}"
    );

    // Expired (dropped by the server) and unknown paths: the host's 404.
    assert!(server.admin().expire_media(&up.direct_path));
    let err = b.client.download(img.as_ref()).await.unwrap_err();
    assert!(
        matches!(err, Error::Media(MediaError::Http { status: 404, .. })),
        "{err:?}"
    );
    no_hash.direct_path = "/v/t62.7118-24/00000000_unknown_n.enc?ccb=11-4".into();
    let err = b.client.download(&no_hash).await.unwrap_err();
    assert!(
        matches!(err, Error::Media(MediaError::Http { status: 404, .. })),
        "{err:?}"
    );
    // A message without a direct path is refused before any request.
    let err = b
        .client
        .download(&wa_proto::proto::message::ImageMessage::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Media(MediaError::MissingField("direct_path"))),
        "{err:?}"
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_first_host_falls_back_to_the_next() {
    let server = TestServer::start(wa_testserver::Config::default())
        .await
        .unwrap();
    // A closed loopback port comes first in <media_conn>: uploads and downloads must move on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_host = dead.local_addr().unwrap().to_string();
    drop(dead);
    server.admin().set_leading_media_hosts(vec![dead_host]);
    let a = Companion::pair(&server, None).await;
    let data = image_bytes(70 * 1024);
    let up = a.client.upload(&data, MediaType::Video).await.unwrap();
    let video = up.video_message("video/mp4", None);
    assert_eq!(a.client.download(&video).await.unwrap(), data);
    // After expiry the dead host still refuses and the media server answers 404: of the two
    // failures the HTTP status is reported.
    assert!(server.admin().expire_media(&up.direct_path));
    let err = a.client.download(&video).await.unwrap_err();
    assert!(
        matches!(err, Error::Media(MediaError::Http { status: 404, .. })),
        "the 404 of the reachable host is reported: {err:?}"
    );
}
