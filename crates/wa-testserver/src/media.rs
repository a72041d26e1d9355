//! The media server: encrypted uploads and their downloads over plain HTTP on a loopback port.
//!
//! A companion first asks for upload credentials with `<iq xmlns='w:m' type='set'><media_conn/>`;
//! the answer names this server as the only host ([`MediaState::media_conn_node`]). Then:
//!
//! | Request                                              | Answer                                        |
//! |------------------------------------------------------|-----------------------------------------------|
//! | `POST /mms/{type}/{token}?auth={auth}&token={token}` | `200 {"url": …, "direct_path": …}` (JSON)     |
//! | `GET {direct_path}` (any query)                      | `200` with the stored body, `404` if unknown  |
//!
//! An upload is refused with `401` when `auth` is not the token this server issued, and with
//! `400` when the path's or the query's `token` is not the URL-safe padded base64 of the body's
//! SHA-256 (what whatsmeow and Baileys send as `file_enc_sha256`). The server only stores bytes:
//! it never sees media keys. [`crate::Admin::tamper_media`] and [`crate::Admin::expire_media`]
//! change or drop a stored body, for client tests.
//!
//! [`MediaState`] is sans-IO (request in, [`MediaResponse`] out) and unit-tested directly;
//! `serve_media` is its tokio shell, one request per connection.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use wa_binary::Node;

use crate::listener::{Shared, lock};

/// Largest upload body the server accepts (bigger ones get `413`).
pub const MAX_UPLOAD: usize = 64 * 1024 * 1024;

/// Largest request head (request line and headers) the server reads.
const MAX_HEAD: usize = 16 * 1024;

/// The `ttl` (seconds) announced in `<media_conn>`.
pub const MEDIA_CONN_TTL: u64 = 3600;

/// Media server state: the issued upload token, this server's `host:port`, and the stored
/// bodies by direct path (without its query).
#[derive(Clone, Default)]
pub struct MediaState {
    host: Option<String>,
    auth: String,
    blobs: HashMap<String, Vec<u8>>,
    next_id: u64,
    issued: u64,
    leading_hosts: Vec<String>,
    unavailable: bool,
}

impl std::fmt::Debug for MediaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaState")
            .field("host", &self.host)
            .field("auth", &"<redacted>")
            .field("blobs", &self.blobs.len())
            .finish()
    }
}

/// An HTTP answer of the media server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaResponse {
    /// The status code.
    pub status: u16,
    /// The `Content-Type` of `body`.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl MediaResponse {
    fn text(status: u16, text: &str) -> Self {
        Self {
            status,
            content_type: "text/plain",
            body: text.as_bytes().to_vec(),
        }
    }
}

/// Decodes `%XX` escapes and `+` (as Go's `url.QueryUnescape`); `None` on a bad escape.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The value of `key` in a query string, unescaped.
fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| percent_decode(v))
}

impl MediaState {
    /// State issuing `auth` as the upload token; no host until [`MediaState::set_host`].
    #[must_use]
    pub fn new(auth: String) -> Self {
        Self {
            auth,
            ..Self::default()
        }
    }

    /// Sets the `host:port` announced in `<media_conn>` and used in upload answers' `url`.
    pub fn set_host(&mut self, host: String) {
        self.host = Some(host);
    }

    /// The upload token this server issues.
    #[must_use]
    pub fn auth(&self) -> &str {
        &self.auth
    }

    /// Hosts announced in `<media_conn>` before this server (e.g. an unreachable one, so
    /// clients must fall back to the next host).
    pub fn set_leading_hosts(&mut self, hosts: Vec<String>) {
        self.leading_hosts = hosts;
    }

    /// How many `<media_conn>` answers [`MediaState::issue_media_conn`] gave.
    #[must_use]
    pub fn issued(&self) -> u64 {
        self.issued
    }

    /// Answers a `<media_conn>` query and counts it: [`MediaState::media_conn_node`].
    pub fn issue_media_conn(&mut self) -> Option<Node> {
        let node = self.media_conn_node()?;
        self.issued = self.issued.saturating_add(1);
        Some(node)
    }

    /// `<media_conn auth ttl auth_ttl max_buckets><host hostname/></media_conn>` naming this
    /// server; `None` while no media listener runs.
    #[must_use]
    pub fn media_conn_node(&self) -> Option<Node> {
        let host = self.host.as_ref()?;
        Some(
            Node::new("media_conn")
                .attr("auth", self.auth.clone())
                .attr("ttl", MEDIA_CONN_TTL.to_string())
                .attr("auth_ttl", MEDIA_CONN_TTL.to_string())
                .attr("max_buckets", "12")
                .children(
                    self.leading_hosts
                        .iter()
                        .chain(std::iter::once(host))
                        .map(|h| Node::new("host").attr("hostname", h.clone()).build()),
                )
                .build(),
        )
    }

    /// The stored body at `direct_path` (its query is ignored).
    #[must_use]
    pub fn blob(&self, direct_path: &str) -> Option<&[u8]> {
        self.blobs.get(path_only(direct_path)).map(Vec::as_slice)
    }

    /// Flips one bit in the middle of the body at `direct_path`; false if there is none.
    pub fn tamper(&mut self, direct_path: &str) -> bool {
        let Some(body) = self.blobs.get_mut(path_only(direct_path)) else {
            return false;
        };
        let mid = body.len() / 2;
        match body.get_mut(mid) {
            Some(b) => {
                *b ^= 0x01;
                true
            }
            None => false,
        }
    }

    /// Stores `body` at `path` (a path without query, served unencrypted, as profile
    /// pictures are) and returns its URL on this server; `None` while no media listener runs.
    pub fn publish(&mut self, path: &str, body: Vec<u8>) -> Option<String> {
        let host = self.host.as_ref()?;
        let url = format!("http://{host}{path}");
        self.blobs.insert(path.to_owned(), body);
        Some(url)
    }

    /// The URL of `path` on this server, if a media listener runs.
    #[must_use]
    pub fn url_of(&self, path: &str) -> Option<String> {
        self.host
            .as_ref()
            .map(|host| format!("http://{host}{path}"))
    }

    /// While `true`, downloads answer `503` (a passing outage, for client tests).
    pub fn set_unavailable(&mut self, unavailable: bool) {
        self.unavailable = unavailable;
    }

    /// Stores `body` (as an upload would) and returns its direct path, query included.
    pub fn store(&mut self, body: Vec<u8>) -> String {
        self.next_id = self.next_id.wrapping_add(1);
        let hash_hex: String = Sha256::digest(&body)
            .iter()
            .take(6)
            .map(|b| format!("{b:02x}"))
            .collect();
        let file = format!("/v/t62.7118-24/{:08}_{hash_hex}_n.enc", self.next_id);
        let direct_path = format!("{file}?ccb=11-4&oh=01_test&oe=7FFFFFFF&_nc_sid=5e03e0");
        self.blobs.insert(file, body);
        direct_path
    }

    /// Drops the body at `direct_path` (later downloads get `404`); false if there was none.
    pub fn expire(&mut self, direct_path: &str) -> bool {
        self.blobs.remove(path_only(direct_path)).is_some()
    }

    /// Answers one request: `method`, the request target (path and query) and the body.
    pub fn handle(&mut self, method: &str, target: &str, body: &[u8]) -> MediaResponse {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        match method {
            "POST" if path.starts_with("/mms/") => self.upload(path, query, body),
            "GET" if self.unavailable => MediaResponse::text(503, "media temporarily unavailable"),
            "GET" => match self.blobs.get(path) {
                Some(blob) => MediaResponse {
                    status: 200,
                    content_type: "application/octet-stream",
                    body: blob.clone(),
                },
                None => MediaResponse::text(404, "no such media"),
            },
            "POST" => MediaResponse::text(404, "unknown upload path"),
            _ => MediaResponse::text(405, "method not allowed"),
        }
    }

    fn upload(&mut self, path: &str, query: &str, body: &[u8]) -> MediaResponse {
        let mut segments = path.trim_start_matches("/mms/").split('/');
        let (Some(mms_type), Some(path_token), None) =
            (segments.next(), segments.next(), segments.next())
        else {
            return MediaResponse::text(404, "upload path is /mms/{type}/{token}");
        };
        let type_ok = !mms_type.is_empty()
            && mms_type
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-');
        if !type_ok {
            return MediaResponse::text(404, "bad media type");
        }
        if query_value(query, "auth").as_deref() != Some(self.auth.as_str()) || self.auth.is_empty()
        {
            return MediaResponse::text(401, "bad auth token");
        }
        let expected = URL_SAFE.encode(Sha256::digest(body));
        let path_token = percent_decode(path_token);
        if path_token.as_deref() != Some(expected.as_str())
            || query_value(query, "token").as_deref() != Some(expected.as_str())
        {
            return MediaResponse::text(400, "token is not the body's sha256");
        }
        let Some(host) = self.host.clone() else {
            return MediaResponse::text(503, "media host not set");
        };
        let direct_path = self.store(body.to_vec());
        let url = format!("http://{host}{direct_path}&mms3=true");
        let json = serde_json::json!({ "url": url, "direct_path": direct_path });
        MediaResponse {
            status: 200,
            content_type: "application/json",
            body: json.to_string().into_bytes(),
        }
    }
}

/// `direct_path` without its query.
fn path_only(direct_path: &str) -> &str {
    direct_path.split_once('?').map_or(direct_path, |(p, _)| p)
}

/// Serves media requests on `listener` until the task is dropped.
pub(crate) async fn serve_media(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    if let Err(e) = handle_connection(stream, &shared).await {
                        tracing::debug!("media request failed: {e}");
                    }
                });
            }
            Err(e) => tracing::warn!("media accept failed: {e}"),
        }
    }
}

/// A parsed request head.
struct Head {
    method: String,
    target: String,
    content_length: Option<usize>,
    chunked: bool,
}

fn parse_head(head: &str) -> Option<Head> {
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.parse().ok()?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    Some(Head {
        method,
        target,
        content_length,
        chunked,
    })
}

async fn handle_connection(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return respond(&mut stream, &MediaResponse::text(431, "head too large")).await;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let head = String::from_utf8_lossy(buf.get(..head_end).unwrap_or_default()).into_owned();
    let Some(head) = parse_head(&head) else {
        return respond(&mut stream, &MediaResponse::text(400, "bad request head")).await;
    };
    let mut body = buf.split_off((head_end + 4).min(buf.len()));
    let len = match (head.content_length, head.chunked) {
        (_, true) => {
            let r = MediaResponse::text(411, "chunked bodies are not supported");
            return respond(&mut stream, &r).await;
        }
        (Some(len), false) => len,
        (None, false) if head.method == "POST" => {
            let r = MediaResponse::text(411, "content-length required");
            return respond(&mut stream, &r).await;
        }
        (None, false) => 0,
    };
    if len > MAX_UPLOAD {
        return respond(&mut stream, &MediaResponse::text(413, "body too large")).await;
    }
    while body.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        body.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    body.truncate(len);
    let response = lock(&shared.state)
        .media
        .handle(&head.method, &head.target, &body);
    respond(&mut stream, &response).await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    }
}

async fn respond(stream: &mut TcpStream, r: &MediaResponse) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        r.status,
        reason(r.status),
        r.content_type,
        r.body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&r.body).await?;
    stream.flush().await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> MediaState {
        let mut s = MediaState::new("AUTH-1".into());
        s.set_host("127.0.0.1:4000".into());
        s
    }

    fn upload_target(kind: &str, body: &[u8], auth: &str) -> String {
        let token = URL_SAFE.encode(Sha256::digest(body));
        let q = token.replace('=', "%3D");
        format!("/mms/{kind}/{token}?auth={auth}&token={q}")
    }

    fn json(r: &MediaResponse) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn upload_then_download_round_trips() {
        let mut s = state();
        let body = vec![7u8; 1000];
        let r = s.handle("POST", &upload_target("image", &body, "AUTH-1"), &body);
        assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
        let v = json(&r);
        let direct = v["direct_path"].as_str().unwrap().to_owned();
        assert!(direct.starts_with("/v/t62.7118-24/"), "{direct}");
        let url = v["url"].as_str().unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:4000/v/t62.7118-24/"),
            "{url}"
        );
        // Downloads append their own query (hash, mms-type) to the direct path.
        let got = s.handle(
            "GET",
            &format!("{direct}&hash=x&mms-type=image&__wa-mms="),
            &[],
        );
        assert_eq!(got.status, 200);
        assert_eq!(got.body, body);
        assert_eq!(s.blob(&direct), Some(body.as_slice()));
    }

    #[test]
    fn upload_refuses_bad_auth_and_token() {
        let mut s = state();
        let body = b"hello".to_vec();
        let r = s.handle("POST", &upload_target("image", &body, "WRONG"), &body);
        assert_eq!(r.status, 401);
        // The token of other bytes.
        let r = s.handle("POST", &upload_target("image", b"other", "AUTH-1"), &body);
        assert_eq!(r.status, 400);
        // Path token right, query token missing.
        let token = URL_SAFE.encode(Sha256::digest(&body));
        let r = s.handle("POST", &format!("/mms/image/{token}?auth=AUTH-1"), &body);
        assert_eq!(r.status, 400);
        let r = s.handle("POST", "/mms/image?auth=AUTH-1", &body);
        assert_eq!(r.status, 404);
        let r = s.handle("POST", &upload_target("IM AGE", &body, "AUTH-1"), &body);
        assert_eq!(r.status, 404);
        assert!(s.blobs.is_empty());
    }

    #[test]
    fn unknown_tampered_and_expired_paths() {
        let mut s = state();
        assert_eq!(
            s.handle("GET", "/v/t62.7118-24/nothing.enc?x=1", &[])
                .status,
            404
        );
        assert_eq!(s.handle("DELETE", "/", &[]).status, 405);
        let body = vec![1u8; 64];
        let r = s.handle("POST", &upload_target("document", &body, "AUTH-1"), &body);
        let direct = json(&r)["direct_path"].as_str().unwrap().to_owned();
        assert!(s.tamper(&direct));
        let got = s.handle("GET", &direct, &[]);
        assert_eq!(got.status, 200);
        assert_ne!(got.body, body);
        assert_eq!(got.body.len(), body.len());
        assert!(s.expire(&direct));
        assert_eq!(s.handle("GET", &direct, &[]).status, 404);
        assert!(!s.expire(&direct));
        assert!(!s.tamper(&direct));
    }

    #[test]
    fn media_conn_names_the_host() {
        assert!(MediaState::new("a".into()).issue_media_conn().is_none());
        let mut s = state();
        let node = s.issue_media_conn().unwrap();
        assert_eq!(s.issued(), 1);
        let conn = wa_binary::Node::child(&Node::new("iq").child(node).build(), "media_conn")
            .cloned()
            .unwrap();
        assert_eq!(conn.attr("auth").and_then(|v| v.as_str()), Some("AUTH-1"));
        let host = conn.child("host").unwrap();
        assert_eq!(
            host.attr("hostname").and_then(|v| v.as_str()),
            Some("127.0.0.1:4000")
        );
        s.set_leading_hosts(vec!["127.0.0.1:1".into()]);
        let conn = s.issue_media_conn().unwrap();
        let hosts: Vec<_> = conn
            .children_by_tag("host")
            .map(|h| {
                h.attr("hostname")
                    .and_then(|v| v.as_str())
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(hosts, ["127.0.0.1:1", "127.0.0.1:4000"]);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%3Db+c").as_deref(), Some("a=b c"));
        assert_eq!(percent_decode("%3"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(
            query_value("x=1&token=ab%3D", "token").as_deref(),
            Some("ab=")
        );
        assert_eq!(query_value("x=1", "token"), None);
    }

    #[test]
    fn head_parsing() {
        let h = parse_head("POST /mms/image/t HTTP/1.1\r\nHost: x\r\ncontent-length: 12").unwrap();
        assert_eq!(h.method, "POST");
        assert_eq!(h.target, "/mms/image/t");
        assert_eq!(h.content_length, Some(12));
        assert!(parse_head("GET / HTTP/1.1\r\nContent-Length: x").is_none());
        let h = parse_head("POST / HTTP/1.1\r\nTransfer-Encoding: chunked").unwrap();
        assert!(h.chunked);
    }
}
