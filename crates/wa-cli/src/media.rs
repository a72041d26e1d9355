//! `wa send --image` and `wa download`: encrypted media through the account's media hosts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Args;
use serde_json::Value;
use wa_binary::Jid;
use wa_client::{DownloadableMessage, MediaRef};
use wa_media::MediaType;
use wa_proto::prost::Message as _;
use wa_proto::proto::Message;

use crate::messaging::sent_line;
use crate::session::{ConnectArgs, open_session};

/// `wa download` options.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// A file holding the message as `wa listen --json` printed it (one JSON line; the first
    /// line carrying a `proto_b64` is used), or `-` for stdin.
    #[arg(long)]
    pub event: PathBuf,
    /// Where to write the decrypted file.
    #[arg(long)]
    pub out: PathBuf,
}

/// The MIME type of an image file, by extension (JPEG when unknown).
#[must_use]
pub fn image_mimetype(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        _ => "image/jpeg",
    }
}

/// Uploads the image at `path` and sends it to `to` with `caption`.
pub async fn send_image(
    connect: &ConnectArgs,
    to: Jid,
    path: &Path,
    caption: Option<&str>,
) -> Result<String> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let session = open_session(connect).await?;
    let result = async {
        let up = session
            .client
            .upload(&data, MediaType::Image)
            .await
            .context("uploading the image")?;
        let message = Message {
            image_message: Some(Box::new(up.image_message(image_mimetype(path), caption))),
            ..Message::default()
        };
        session
            .client
            .send_message(to, message)
            .await
            .context("sending")
    }
    .await;
    session.client.disconnect().await;
    Ok(format!(
        "{} (image of {} bytes)",
        sent_line(&result?),
        data.len()
    ))
}

/// The first `proto_b64` string anywhere in `value`.
fn find_proto(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) => map
            .get("proto_b64")
            .and_then(Value::as_str)
            .or_else(|| map.values().find_map(find_proto)),
        Value::Array(items) => items.iter().find_map(find_proto),
        _ => None,
    }
}

/// The message in `text`: the first JSON line holding a `proto_b64`.
pub fn message_from_json(text: &str) -> Result<Message> {
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(b64) = find_proto(&value) {
            let bytes = B64.decode(b64).context("proto_b64 is not base64")?;
            return Message::decode(bytes.as_slice()).context("proto_b64 is not a Message");
        }
    }
    bail!("no JSON line with a proto_b64 message (use the output of `wa listen --json`)")
}

/// What to download from `message`: its image, video, audio, document or sticker.
pub fn media_of(message: &Message) -> Result<MediaRef> {
    let found = if let Some(m) = &message.image_message {
        m.media_ref()
    } else if let Some(m) = &message.video_message {
        m.media_ref()
    } else if let Some(m) = &message.audio_message {
        m.media_ref()
    } else if let Some(m) = &message.document_message {
        m.media_ref()
    } else if let Some(m) = &message.sticker_message {
        m.media_ref()
    } else {
        bail!("the message has no image, video, audio, document or sticker");
    };
    Ok(found?)
}

/// `wa download`.
pub async fn download(args: &DownloadArgs) -> Result<String> {
    let text = if args.event.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading stdin")?
    } else {
        std::fs::read_to_string(&args.event)
            .with_context(|| format!("reading {}", args.event.display()))?
    };
    let media = media_of(&message_from_json(&text)?)?;
    let session = open_session(&args.connect).await?;
    let result = session.client.download(&media).await;
    session.client.disconnect().await;
    let data = result.context("downloading")?;
    std::fs::write(&args.out, &data).with_context(|| format!("writing {}", args.out.display()))?;
    Ok(format!(
        "wrote {} bytes ({}) to {}",
        data.len(),
        media.media_type,
        args.out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wa_proto::proto::message::ImageMessage;

    #[test]
    fn finds_the_media_of_a_listen_line() {
        let image = ImageMessage {
            direct_path: Some("/v/t62/x".into()),
            media_key: Some(vec![1; 32]),
            file_length: Some(3),
            ..ImageMessage::default()
        };
        let message = Message {
            image_message: Some(Box::new(image)),
            ..Message::default()
        };
        let line = serde_json::json!({
            "Message": {"info": {"id": "X"}, "message": {"kind": "image",
                "proto_b64": B64.encode(message.encode_to_vec())}}
        })
        .to_string();
        let text = format!("not json\n{line}\n");
        let got = media_of(&message_from_json(&text).unwrap()).unwrap();
        assert_eq!(got.direct_path, "/v/t62/x");
        assert_eq!(got.media_type, MediaType::Image);
        assert_eq!(got.file_length, Some(3));
        assert!(message_from_json("{}\n").is_err());
        assert!(media_of(&Message::default()).is_err());
    }

    #[test]
    fn mimetypes_by_extension() {
        assert_eq!(image_mimetype(Path::new("a.PNG")), "image/png");
        assert_eq!(image_mimetype(Path::new("a.jpg")), "image/jpeg");
        assert_eq!(image_mimetype(Path::new("noext")), "image/jpeg");
    }
}
