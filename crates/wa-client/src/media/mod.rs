//! Media upload and download (whatsmeow `upload.go`, `download.go`, `mediaconn.go`; Baileys
//! `getWAUploadToServer`, `downloadContentFromMessage`).
//!
//! [`Client::upload`] draws a random 32-byte media key, encrypts the file with [`wa_media`]
//! (AES-256-CBC and a truncated HMAC-SHA256 under keys expanded for the [`MediaType`]), asks the
//! server for media hosts and an upload token (`<media_conn>`, cached until its `ttl` runs out)
//! and POSTs the body to `https://{host}/mms/{type}/{token}?auth=…&token=…`, host after host
//! until one answers `{url, direct_path}`. The [`UploadResponse`] builds the
//! [`ImageMessage`]/[`DocumentMessage`] (and video, audio) to send.
//!
//! [`Client::download`] takes any [`DownloadableMessage`] (the media messages, or a
//! [`MediaRef`] with explicit fields), GETs its direct path on each media host in order and
//! then on `mmg.whatsapp.net`, and decrypts with every check the message allows: the body's
//! SHA-256, the MAC, the padding, the plaintext's length and SHA-256. A host answering with an
//! error status or not answering makes the next host tried; a body that fails a check is an
//! error at once ([`MediaError::Crypto`]).
//!
//! HTTP is hyper 1 over rustls (ring) with the socket's roots ([`crate::Config::extra_ca_der`]
//! included); [`MediaOptions::plain_http`] allows plain `http` for local test servers.

pub(crate) mod http;
#[cfg(test)]
mod http_tests;

use std::time::Duration;

use hyper::Method;
use tokio::time::Instant;
use wa_media::{Expected, MEDIA_KEY_LEN, MediaConn, MediaKeys, MediaType};
use wa_proto::proto::message::{
    AudioMessage, DocumentMessage, HistorySyncNotification, ImageMessage, StickerMessage,
    VideoMessage,
};

use crate::error::Result;
use crate::runtime::Client;

/// How media transfers behave ([`crate::Config::media`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaOptions {
    /// Request media hosts over plain `http` instead of `https`: only for a local test server
    /// (`wa-testserver` serves media on a loopback HTTP port). Default `false`.
    pub plain_http: bool,
    /// After the `<media_conn>` hosts, try `mmg.whatsapp.net` for downloads (as Baileys does).
    /// Default `true`.
    pub fallback_host: bool,
    /// Largest body a download or an upload answer may have. Default 2 GiB.
    pub max_download: u64,
    /// How long one HTTP exchange (connect, send, read the answer) may take. Default 5 minutes.
    pub timeout: Duration,
}

impl Default for MediaOptions {
    fn default() -> Self {
        Self {
            plain_http: false,
            fallback_host: true,
            max_download: 2 << 30,
            timeout: Duration::from_secs(300),
        }
    }
}

impl MediaOptions {
    /// The options for a local test server: plain `http`, no `mmg.whatsapp.net` fallback.
    #[must_use]
    pub fn test_server() -> Self {
        Self {
            plain_http: true,
            fallback_host: false,
            ..Self::default()
        }
    }
}

/// Why a media transfer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The body failed a check (MAC, hash, length, padding) or the message's key or hashes are
    /// malformed.
    #[error("media: {0}")]
    Crypto(#[from] wa_media::MediaError),
    /// A media host answered with a status other than 200 (404: unknown or expired media).
    #[error("HTTP {status} from {url}")]
    Http {
        /// The status code.
        status: u16,
        /// The URL without its query (which can hold the upload token).
        url: String,
    },
    /// A media host could not be reached or the exchange broke off or timed out.
    #[error("media request to {url}: {reason}")]
    Transport {
        /// The URL without its query.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The answer to an upload is not JSON with a `url` and a `direct_path`.
    #[error("invalid upload answer: {0}")]
    InvalidUploadAnswer(String),
    /// The message lacks a field a download needs.
    #[error("media message has no {0}")]
    MissingField(&'static str),
    /// An answer is larger than [`MediaOptions::max_download`].
    #[error("media answer larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The HTTP client could not be set up (TLS roots) or the client was not started.
    #[error("media HTTP client: {0}")]
    Tls(String),
    /// The OS random source failed (for the media key).
    #[error("OS randomness: {0}")]
    Random(String),
}

/// What an upload produced: where the file is and what a message announcing it carries.
#[derive(Clone, PartialEq, Eq)]
pub struct UploadResponse {
    /// The full download URL the server gave.
    pub url: String,
    /// The path to download it from any media host.
    pub direct_path: String,
    /// The media handle (newsletter uploads only).
    pub handle: Option<String>,
    /// The random 32-byte media key the file was encrypted under.
    pub media_key: [u8; MEDIA_KEY_LEN],
    /// SHA-256 of the uploaded (encrypted) body.
    pub file_enc_sha256: [u8; 32],
    /// SHA-256 of the plaintext.
    pub file_sha256: [u8; 32],
    /// Length of the plaintext.
    pub file_length: u64,
    /// The kind of file (it fixes the key expansion).
    pub media_type: MediaType,
    /// Unix time (seconds) of the upload, for `mediaKeyTimestamp`.
    pub media_key_timestamp: i64,
}

impl std::fmt::Debug for UploadResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadResponse")
            .field("direct_path", &http::redact(&self.direct_path))
            .field("media_key", &"<redacted>")
            .field("file_length", &self.file_length)
            .field("media_type", &self.media_type)
            .finish_non_exhaustive()
    }
}

/// A media message of type `$ty` announcing the upload `$up` as `$mimetype`: the location,
/// key, hashes, length and key time every media message carries, plus `$field`s of its own.
macro_rules! announce {
    ($up:expr, $mimetype:expr, $ty:ident { $($field:ident: $value:expr),* $(,)? }) => {
        $ty {
            url: Some($up.url.clone()),
            direct_path: Some($up.direct_path.clone()),
            mimetype: Some($mimetype.to_owned()),
            media_key: Some($up.media_key.to_vec()),
            file_sha256: Some($up.file_sha256.to_vec()),
            file_enc_sha256: Some($up.file_enc_sha256.to_vec()),
            file_length: Some($up.file_length),
            media_key_timestamp: Some($up.media_key_timestamp),
            $($field: $value,)*
            ..$ty::default()
        }
    };
}

impl UploadResponse {
    /// An `ImageMessage` announcing this upload (an [`MediaType::Image`] one).
    #[must_use]
    pub fn image_message(&self, mimetype: &str, caption: Option<&str>) -> ImageMessage {
        announce!(
            self,
            mimetype,
            ImageMessage {
                caption: caption.map(str::to_owned),
            }
        )
    }

    /// A `DocumentMessage` announcing this upload (a [`MediaType::Document`] one).
    #[must_use]
    pub fn document_message(
        &self,
        mimetype: &str,
        file_name: &str,
        caption: Option<&str>,
    ) -> DocumentMessage {
        announce!(
            self,
            mimetype,
            DocumentMessage {
                title: Some(file_name.to_owned()),
                file_name: Some(file_name.to_owned()),
                caption: caption.map(str::to_owned),
            }
        )
    }

    /// A `VideoMessage` announcing this upload (a [`MediaType::Video`] one).
    #[must_use]
    pub fn video_message(&self, mimetype: &str, caption: Option<&str>) -> VideoMessage {
        announce!(
            self,
            mimetype,
            VideoMessage {
                caption: caption.map(str::to_owned),
                gif_playback: (self.media_type == MediaType::Gif).then_some(true),
            }
        )
    }

    /// An `AudioMessage` announcing this upload (`ptt` set for a [`MediaType::Ptt`] one).
    #[must_use]
    pub fn audio_message(&self, mimetype: &str) -> AudioMessage {
        announce!(
            self,
            mimetype,
            AudioMessage {
                ptt: (self.media_type == MediaType::Ptt).then_some(true),
            }
        )
    }
}

/// What a download needs, taken from a media message or given explicitly
/// (whatsmeow's `DownloadMediaWithPath` arguments).
#[derive(Clone, PartialEq, Eq)]
pub struct MediaRef {
    /// The direct path (`directPath`).
    pub direct_path: String,
    /// The 32-byte media key (`mediaKey`).
    pub media_key: Vec<u8>,
    /// SHA-256 of the plaintext (`fileSha256`); empty: not checked.
    pub file_sha256: Vec<u8>,
    /// SHA-256 of the body (`fileEncSha256`); empty: not checked.
    pub file_enc_sha256: Vec<u8>,
    /// Plaintext length (`fileLength`), checked when set.
    pub file_length: Option<u64>,
    /// The kind of file.
    pub media_type: MediaType,
}

impl std::fmt::Debug for MediaRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaRef")
            .field("direct_path", &http::redact(&self.direct_path))
            .field("media_key", &"<redacted>")
            .field("file_length", &self.file_length)
            .field("media_type", &self.media_type)
            .finish_non_exhaustive()
    }
}

/// A message that points at downloadable media (whatsmeow's `DownloadableMessage`).
pub trait DownloadableMessage {
    /// The fields a download needs; [`MediaError::MissingField`] when the path or key is
    /// absent.
    fn media_ref(&self) -> Result<MediaRef, MediaError>;
}

impl DownloadableMessage for MediaRef {
    fn media_ref(&self) -> Result<MediaRef, MediaError> {
        Ok(self.clone())
    }
}

macro_rules! downloadable {
    ($ty:ty, $kind:expr) => {
        impl DownloadableMessage for $ty {
            fn media_ref(&self) -> Result<MediaRef, MediaError> {
                Ok(MediaRef {
                    direct_path: self
                        .direct_path
                        .clone()
                        .filter(|p| !p.is_empty())
                        .ok_or(MediaError::MissingField("direct_path"))?,
                    media_key: self
                        .media_key
                        .clone()
                        .filter(|k| !k.is_empty())
                        .ok_or(MediaError::MissingField("media_key"))?,
                    file_sha256: self.file_sha256.clone().unwrap_or_default(),
                    file_enc_sha256: self.file_enc_sha256.clone().unwrap_or_default(),
                    file_length: self.file_length,
                    media_type: $kind(self),
                })
            }
        }
    };
}

downloadable!(ImageMessage, |_: &ImageMessage| MediaType::Image);
downloadable!(HistorySyncNotification, |_: &HistorySyncNotification| {
    MediaType::History
});
downloadable!(DocumentMessage, |_: &DocumentMessage| MediaType::Document);
downloadable!(StickerMessage, |_: &StickerMessage| MediaType::Sticker);
downloadable!(
    VideoMessage,
    |m: &VideoMessage| if m.gif_playback == Some(true) {
        MediaType::Gif
    } else {
        MediaType::Video
    }
);
downloadable!(AudioMessage, |m: &AudioMessage| if m.ptt == Some(true) {
    MediaType::Ptt
} else {
    MediaType::Audio
});

/// Per-client media state: the HTTP client and the cached `<media_conn>`.
#[derive(Debug, Default)]
pub(crate) struct MediaShared {
    http: std::sync::OnceLock<Result<http::SharedHttp, String>>,
    conn: tokio::sync::Mutex<Option<(MediaConn, Instant)>>,
}

impl MediaShared {
    /// Builds the HTTP client from the client's config (once; later calls are ignored).
    pub(crate) fn configure(&self, config: &crate::Config) {
        let http = http::tls(config)
            .map(|tls| std::sync::Arc::new(http::Http::new(tls, config.media.clone())))
            .map_err(|e| e.to_string());
        let _ = self.http.set(http);
    }

    fn http(&self) -> Result<http::SharedHttp, MediaError> {
        match self.http.get() {
            Some(Ok(h)) => Ok(h.clone()),
            Some(Err(e)) => Err(MediaError::Tls(e.clone())),
            None => Err(MediaError::Tls("not configured".into())),
        }
    }

    /// A plain GET of `url` (for unencrypted files such as profile pictures), at most
    /// [`MediaOptions::max_download`] bytes.
    pub(crate) async fn get_url(&self, url: &str) -> Result<Vec<u8>, MediaError> {
        let http = self.http()?;
        let url = http.scheme(url);
        http.request(Method::GET, &url, None, http.options().max_download)
            .await
    }
}

/// Parses an upload answer `{"url": …, "direct_path": …, "handle"?: …}`.
fn parse_upload_answer(body: &[u8]) -> Result<(String, String, Option<String>), MediaError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        url: String,
        direct_path: String,
        #[serde(default)]
        handle: Option<String>,
    }
    let a: Answer =
        serde_json::from_slice(body).map_err(|e| MediaError::InvalidUploadAnswer(e.to_string()))?;
    if !a.direct_path.starts_with('/') {
        return Err(MediaError::InvalidUploadAnswer(
            "direct_path is not an absolute path".into(),
        ));
    }
    Ok((a.url, a.direct_path, a.handle))
}

/// Of several failures, the one to report: the first HTTP status (most telling), else the last.
fn pick_error(errors: Vec<MediaError>) -> MediaError {
    let mut last = None;
    for e in errors {
        if matches!(e, MediaError::Http { .. }) {
            return e;
        }
        last = Some(e);
    }
    last.unwrap_or(MediaError::Tls("no media host to try".into()))
}

/// Sends `method` (with `body`) to each of `urls` in turn until `accept` takes an answer;
/// when none does, the most telling failure ([`pick_error`]). `what` names the transfer in
/// the debug log.
async fn first_answer<T>(
    http: &http::Http,
    urls: Vec<String>,
    method: Method,
    body: Option<&hyper::body::Bytes>,
    what: &str,
    mut accept: impl FnMut(Vec<u8>) -> Result<T, MediaError>,
) -> Result<T, MediaError> {
    let mut errors = Vec::new();
    for url in urls {
        let url = http.scheme(&url);
        let answer = http
            .request(
                method.clone(),
                &url,
                body.cloned(),
                http.options().max_download,
            )
            .await;
        match answer.and_then(&mut accept) {
            Ok(found) => return Ok(found),
            Err(e) => {
                tracing::debug!("media {what} failed: {e}");
                errors.push(e);
            }
        }
    }
    Err(pick_error(errors))
}

impl Client {
    /// The media hosts and upload token, from the cache while its `ttl` lasts, else asked
    /// from the server (`<iq xmlns='w:m' type='set'><media_conn/>`).
    pub async fn media_conn(&self) -> Result<MediaConn> {
        let mut cached = self.send.media.conn.lock().await;
        if let Some((conn, at)) = cached.as_ref()
            && !conn.is_expired(at.elapsed())
        {
            return Ok(conn.clone());
        }
        let reply = self.send_iq(MediaConn::request_node(""), None).await?;
        let conn = MediaConn::from_node(&reply).map_err(MediaError::Crypto)?;
        *cached = Some((conn.clone(), Instant::now()));
        Ok(conn)
    }

    /// Drops the cached `<media_conn>` so the next transfer asks again.
    async fn forget_media_conn(&self) {
        *self.send.media.conn.lock().await = None;
    }

    /// Encrypts `data` under a fresh random media key for `media_type` and uploads it; see
    /// the [module docs](crate::media). Each host of `<media_conn>` is tried in order; when all
    /// fail the cached `<media_conn>` is dropped and the most telling failure returned.
    pub async fn upload(&self, data: &[u8], media_type: MediaType) -> Result<UploadResponse> {
        let http = self.send.media.http()?;
        let mut media_key = [0u8; MEDIA_KEY_LEN];
        getrandom::fill(&mut media_key).map_err(|e| MediaError::Random(e.to_string()))?;
        let keys = MediaKeys::from_key(&media_key, media_type);
        let encrypted = wa_media::encrypt(&keys, data);
        let conn = self.media_conn().await?;
        // Shared by every attempt without copying.
        let body = hyper::body::Bytes::from(encrypted.body);
        let urls = conn.upload_urls(media_type, &encrypted.info.file_enc_sha256);
        let answer = first_answer(&http, urls, Method::POST, Some(&body), "upload", |body| {
            parse_upload_answer(&body)
        })
        .await;
        match answer {
            Ok((url, direct_path, handle)) => Ok(UploadResponse {
                url,
                direct_path,
                handle,
                media_key,
                file_enc_sha256: encrypted.info.file_enc_sha256,
                file_sha256: encrypted.info.file_sha256,
                file_length: encrypted.info.file_length,
                media_type,
                media_key_timestamp: i64::try_from(crate::runtime::unix_now()).unwrap_or(i64::MAX),
            }),
            Err(e) => {
                self.forget_media_conn().await;
                Err(e.into())
            }
        }
    }

    /// Downloads and decrypts the media `message` points at; see the
    /// [module docs](crate::media).
    pub async fn download(&self, message: &impl DownloadableMessage) -> Result<Vec<u8>> {
        let media = message.media_ref()?;
        let http = self.send.media.http()?;
        let keys =
            MediaKeys::derive(&media.media_key, media.media_type).map_err(MediaError::from)?;
        let expected = Expected::from_message(
            &media.file_sha256,
            &media.file_enc_sha256,
            media.file_length,
        )
        .map_err(MediaError::from)?;
        let conn = self.media_conn().await?;
        let mut urls = conn
            .download_urls(
                &media.direct_path,
                media.media_type,
                expected.file_enc_sha256.as_ref(),
            )
            .map_err(MediaError::from)?;
        if !http.options().fallback_host {
            urls.truncate(conn.hosts.len());
        }
        let body = first_answer(&http, urls, Method::GET, None, "download", Ok).await?;
        Ok(wa_media::decrypt(&keys, &body, &expected).map_err(MediaError::from)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_answers() {
        let (url, path, handle) =
            parse_upload_answer(br#"{"url":"https://x/y","direct_path":"/v/t62/abc?x=1"}"#)
                .unwrap();
        assert_eq!(url, "https://x/y");
        assert_eq!(path, "/v/t62/abc?x=1");
        assert_eq!(handle, None);
        for bad in [
            &b"{}"[..],
            b"not json",
            br#"{"url":"u","direct_path":"rel"}"#,
        ] {
            assert!(matches!(
                parse_upload_answer(bad),
                Err(MediaError::InvalidUploadAnswer(_))
            ));
        }
    }

    #[test]
    fn errors_prefer_http_status() {
        let t = |n: &str| MediaError::Transport {
            url: n.into(),
            reason: "x".into(),
        };
        let e = pick_error(vec![
            t("a"),
            MediaError::Http {
                status: 404,
                url: "b".into(),
            },
            t("c"),
        ]);
        assert!(matches!(e, MediaError::Http { status: 404, .. }));
        assert!(
            matches!(pick_error(vec![t("a"), t("c")]), MediaError::Transport { url, .. } if url == "c")
        );
    }

    #[test]
    fn messages_carry_the_upload() {
        let up = UploadResponse {
            url: "https://h/p".into(),
            direct_path: "/v/p?x".into(),
            handle: None,
            media_key: [3; 32],
            file_enc_sha256: [1; 32],
            file_sha256: [2; 32],
            file_length: 5,
            media_type: MediaType::Image,
            media_key_timestamp: 7,
        };
        let img = up.image_message("image/jpeg", Some("hi"));
        let r = img.media_ref().unwrap();
        assert_eq!(r.direct_path, "/v/p?x");
        assert_eq!(r.media_key, vec![3; 32]);
        assert_eq!(r.file_sha256, vec![2; 32]);
        assert_eq!(r.file_enc_sha256, vec![1; 32]);
        assert_eq!(r.file_length, Some(5));
        assert_eq!(r.media_type, MediaType::Image);
        assert_eq!(img.caption.as_deref(), Some("hi"));
        let doc = up.document_message("application/pdf", "a.pdf", None);
        assert_eq!(doc.file_name.as_deref(), Some("a.pdf"));
        assert_eq!(doc.media_ref().unwrap().media_type, MediaType::Document);
        let audio = UploadResponse {
            media_type: MediaType::Ptt,
            ..up.clone()
        }
        .audio_message("audio/ogg");
        assert_eq!(audio.media_ref().unwrap().media_type, MediaType::Ptt);
        assert!(!format!("{up:?}").contains("3, 3"), "media key redacted");
        let missing = ImageMessage::default().media_ref();
        assert!(matches!(
            missing,
            Err(MediaError::MissingField("direct_path"))
        ));
    }

    #[test]
    fn plain_http_rewrites_the_scheme_only_when_asked() {
        let _ = rustls::crypto::ring::default_provider();
        let tls = crate::runtime::socket::tls_config(&crate::Config::default()).unwrap();
        let strict = http::Http::new(tls.clone(), MediaOptions::default());
        assert_eq!(strict.scheme("https://h/p"), "https://h/p");
        let plain = http::Http::new(tls, MediaOptions::test_server());
        assert_eq!(plain.scheme("https://h/p?a=1"), "http://h/p?a=1");
        assert_eq!(http::redact("https://h/p?auth=secret"), "https://h/p");
    }
}
