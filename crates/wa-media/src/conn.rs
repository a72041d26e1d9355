//! Transfer planning without IO: the `<media_conn>` query and reply, and the upload and
//! download URLs built from them.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use wa_binary::{Jid, Node, Server};

use crate::error::{MediaError, Result};
use crate::media_type::MediaType;

/// The host every client falls back to for downloads (Baileys' `DEF_MEDIA_HOST`).
pub const DEFAULT_MEDIA_HOST: &str = "mmg.whatsapp.net";

/// One media server from a `<media_conn>` reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaHost {
    /// The host name, e.g. `mmg.whatsapp.net`.
    pub hostname: String,
    /// The `maxContentLengthBytes` attribute, when the server sends one.
    pub max_content_length: Option<u64>,
}

/// The media servers and upload credentials from a `<media_conn>` reply
/// (whatsmeow's `MediaConn`, Baileys' `MediaConnInfo`).
#[derive(Clone, PartialEq, Eq)]
pub struct MediaConn {
    /// The upload authorisation token (`auth`); it goes into upload URLs.
    pub auth: String,
    /// How long the whole reply may be reused (`ttl`, seconds).
    pub ttl: Duration,
    /// How long `auth` stays valid (`auth_ttl`, seconds), when sent.
    pub auth_ttl: Option<Duration>,
    /// The `max_buckets` attribute, when sent.
    pub max_buckets: Option<u64>,
    /// The hosts in the server's order of preference; never empty.
    pub hosts: Vec<MediaHost>,
}

impl std::fmt::Debug for MediaConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaConn")
            .field("auth", &"<redacted>")
            .field("ttl", &self.ttl)
            .field("auth_ttl", &self.auth_ttl)
            .field("max_buckets", &self.max_buckets)
            .field("hosts", &self.hosts)
            .finish()
    }
}

impl MediaConn {
    /// The query: `<iq id=.. to="s.whatsapp.net" type="set" xmlns="w:m"><media_conn/></iq>`.
    pub fn request_node(id: &str) -> Node {
        Node::new("iq")
            .attr("id", id)
            .attr("to", Jid::new("", Server::User))
            .attr("type", "set")
            .attr("xmlns", "w:m")
            .child(Node::new("media_conn").build())
            .build()
    }

    /// Parses the reply: either the whole `<iq type="result">` or its `<media_conn>` child.
    /// `auth` and `ttl` are required, as is at least one `<host hostname=..>` with a valid host
    /// name; children other than `<host>` are ignored (whatsmeow logs and skips them).
    pub fn from_node(node: &Node) -> Result<Self> {
        let mc = if node.tag == "media_conn" {
            node
        } else {
            node.child("media_conn")
                .ok_or(MediaError::InvalidMediaConn("no <media_conn> child"))?
        };
        let mut r = mc.attr_reader();
        let auth = r.required_string("auth")?.to_owned();
        let ttl = r.required_u64("ttl")?;
        let auth_ttl = r.optional_u64("auth_ttl");
        let max_buckets = r.optional_u64("max_buckets");
        r.finish()?;
        if auth.is_empty() {
            return Err(MediaError::InvalidMediaConn("empty auth token"));
        }
        let mut hosts = Vec::new();
        for h in mc.children_by_tag("host") {
            let mut r = h.attr_reader();
            let hostname = r.required_string("hostname")?;
            let max_content_length = r.optional_u64("maxContentLengthBytes");
            r.finish()?;
            check_hostname(hostname)?;
            hosts.push(MediaHost {
                hostname: hostname.to_owned(),
                max_content_length,
            });
        }
        if hosts.is_empty() {
            return Err(MediaError::InvalidMediaConn("no <host> children"));
        }
        Ok(Self {
            auth,
            ttl: Duration::from_secs(ttl),
            auth_ttl: auth_ttl.map(Duration::from_secs),
            max_buckets,
            hosts,
        })
    }

    /// Whether the reply should be fetched again, `age` after it arrived (whatsmeow refreshes
    /// once `fetched_at + ttl` has passed).
    pub fn is_expired(&self, age: Duration) -> bool {
        age > self.ttl
    }

    /// The upload URLs for a body, one per host in order (try the next on failure):
    /// `https://{host}/mms/{type}/{token}?auth={auth}&token={token}` where `token` is the
    /// URL-safe, padded base64 of `file_enc_sha256` (whatsmeow's `Upload`; the query values are
    /// percent-encoded as Go's `url.Values` does).
    pub fn upload_urls(&self, media_type: MediaType, file_enc_sha256: &[u8; 32]) -> Vec<String> {
        let token = URL_SAFE.encode(file_enc_sha256);
        let auth = query_escape(&self.auth);
        let token_q = query_escape(&token);
        self.hosts
            .iter()
            .map(|h| {
                format!(
                    "https://{}{}/{}?auth={}&token={}",
                    h.hostname,
                    media_type.upload_path(),
                    token,
                    auth,
                    token_q
                )
            })
            .collect()
    }

    /// The download URLs for a file, one per host in order, then the default host:
    /// `https://{host}{direct_path}&hash={b64url(file_enc_sha256)}&mms-type={type}&__wa-mms=`
    /// (whatsmeow's `DownloadMediaWithPath`; `?` instead of the first `&` when the path has no
    /// query), then Baileys' `https://mmg.whatsapp.net{direct_path}` unless a host already is
    /// `mmg.whatsapp.net`.
    pub fn download_urls(
        &self,
        direct_path: &str,
        media_type: MediaType,
        file_enc_sha256: Option<&[u8; 32]>,
    ) -> Result<Vec<String>> {
        check_direct_path(direct_path)?;
        let sep = if direct_path.contains('?') { '&' } else { '?' };
        let hash = file_enc_sha256
            .map(|h| format!("hash={}&", URL_SAFE.encode(h)))
            .unwrap_or_default();
        let mut urls: Vec<String> = self
            .hosts
            .iter()
            .map(|h| {
                format!(
                    "https://{}{direct_path}{sep}{hash}mms-type={}&__wa-mms=",
                    h.hostname,
                    media_type.mms_type()
                )
            })
            .collect();
        if !self.hosts.iter().any(|h| h.hostname == DEFAULT_MEDIA_HOST) {
            urls.push(default_download_url(direct_path)?);
        }
        Ok(urls)
    }
}

/// The download URL without a `<media_conn>`: `https://mmg.whatsapp.net{direct_path}`
/// (Baileys' `getUrlFromDirectPath`).
pub fn default_download_url(direct_path: &str) -> Result<String> {
    check_direct_path(direct_path)?;
    Ok(format!("https://{DEFAULT_MEDIA_HOST}{direct_path}"))
}

/// Host names come from the network: letters, digits, `-`, `.` and an optional `:port` only.
fn check_hostname(host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':'));
    if ok {
        Ok(())
    } else {
        Err(MediaError::InvalidHostname(host.to_owned()))
    }
}

/// A direct path comes from a message: it must be an absolute path that cannot move the URL to
/// another host or smuggle whitespace into a request line.
fn check_direct_path(path: &str) -> Result<()> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && path
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'@' | b'#' | b'\\'));
    if ok {
        Ok(())
    } else {
        Err(MediaError::InvalidDirectPath(path.to_owned()))
    }
}

/// Percent-encodes a query value like Go's `url.QueryEscape`: letters, digits and `-_.~` stay,
/// space becomes `+`, every other byte becomes `%XX`.
fn query_escape(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                for nibble in [b >> 4, b & 15] {
                    out.extend(HEX.get(usize::from(nibble)).map(|&h| char::from(h)));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply() -> Node {
        Node::new("iq")
            .attr("type", "result")
            .child(
                Node::new("media_conn")
                    .attr("auth", "AbC+/=x")
                    .attr("ttl", "300")
                    .attr("auth_ttl", "21600")
                    .attr("max_buckets", "12")
                    .child(
                        Node::new("host")
                            .attr("hostname", "mmg.whatsapp.net")
                            .build(),
                    )
                    .child(Node::new("bucket").build())
                    .child(
                        Node::new("host")
                            .attr("hostname", "media-fra5-1.cdn.whatsapp.net")
                            .attr("maxContentLengthBytes", "104857600")
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    #[test]
    fn parses_reply_and_plans_urls() {
        let mc = MediaConn::from_node(&reply()).unwrap();
        assert_eq!(mc.ttl, Duration::from_secs(300));
        assert_eq!(mc.auth_ttl, Some(Duration::from_secs(21600)));
        assert_eq!(mc.max_buckets, Some(12));
        assert_eq!(mc.hosts.len(), 2);
        assert_eq!(mc.hosts[1].max_content_length, Some(104_857_600));
        assert!(!mc.is_expired(Duration::from_secs(300)));
        assert!(mc.is_expired(Duration::from_secs(301)));
        assert!(!format!("{mc:?}").contains("AbC"));

        let hash = [0xFBu8; 32];
        let urls = mc.upload_urls(MediaType::Sticker, &hash);
        let tok = "-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s=";
        assert_eq!(
            urls[0],
            format!(
                "https://mmg.whatsapp.net/mms/image/{tok}?auth=AbC%2B%2F%3Dx&token=-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s%3D"
            )
        );
        assert!(urls[1].starts_with("https://media-fra5-1.cdn.whatsapp.net/mms/image/"));

        let d = mc
            .download_urls("/v/t62/abc.enc?ccb=11-4", MediaType::Ptt, Some(&hash))
            .unwrap();
        assert_eq!(
            d[0],
            format!(
                "https://mmg.whatsapp.net/v/t62/abc.enc?ccb=11-4&hash={tok}&mms-type=audio&__wa-mms="
            )
        );
        assert_eq!(d.len(), 2);
        let d = mc
            .download_urls("/v/x.enc", MediaType::History, None)
            .unwrap();
        assert_eq!(
            d[0],
            "https://mmg.whatsapp.net/v/x.enc?mms-type=md-msg-hist&__wa-mms="
        );
    }

    #[test]
    fn fallback_host_added_when_absent() {
        let mut mc = MediaConn::from_node(&reply()).unwrap();
        mc.hosts.remove(0);
        let d = mc.download_urls("/p", MediaType::Image, None).unwrap();
        assert_eq!(d.last().unwrap(), "https://mmg.whatsapp.net/p");
    }

    #[test]
    fn request_node_shape() {
        let n = MediaConn::request_node("42");
        assert_eq!(n.tag, "iq");
        let mut r = n.attr_reader();
        assert_eq!(r.string("id"), "42");
        assert_eq!(r.string("type"), "set");
        assert_eq!(r.string("xmlns"), "w:m");
        assert_eq!(r.jid("to").to_string(), "s.whatsapp.net");
        assert_eq!(n.children().len(), 1);
        assert_eq!(n.children()[0].tag, "media_conn");
    }

    #[test]
    fn bad_replies_are_typed() {
        let bare = Node::new("iq").build();
        assert_eq!(
            MediaConn::from_node(&bare),
            Err(MediaError::InvalidMediaConn("no <media_conn> child"))
        );
        let no_auth = Node::new("media_conn").attr("ttl", "1").build();
        assert!(matches!(
            MediaConn::from_node(&no_auth),
            Err(MediaError::MediaConnAttr(_))
        ));
        let bad_ttl = Node::new("media_conn")
            .attr("auth", "a")
            .attr("ttl", "x")
            .build();
        assert!(matches!(
            MediaConn::from_node(&bad_ttl),
            Err(MediaError::MediaConnAttr(_))
        ));
        let no_hosts = Node::new("media_conn")
            .attr("auth", "a")
            .attr("ttl", "1")
            .build();
        assert_eq!(
            MediaConn::from_node(&no_hosts),
            Err(MediaError::InvalidMediaConn("no <host> children"))
        );
        let evil = Node::new("media_conn")
            .attr("auth", "a")
            .attr("ttl", "1")
            .child(Node::new("host").attr("hostname", "evil.com/x?").build())
            .build();
        assert_eq!(
            MediaConn::from_node(&evil),
            Err(MediaError::InvalidHostname("evil.com/x?".into()))
        );
    }

    #[test]
    fn direct_paths_are_checked() {
        for bad in ["", "v/x", "//evil.com/x", "/x@evil.com", "/a b", "/a\n"] {
            assert!(
                matches!(
                    default_download_url(bad),
                    Err(MediaError::InvalidDirectPath(_))
                ),
                "{bad:?}"
            );
        }
        assert_eq!(
            default_download_url("/v/t62.7118-24/1.enc?ccb=11-4&oh=01").unwrap(),
            "https://mmg.whatsapp.net/v/t62.7118-24/1.enc?ccb=11-4&oh=01"
        );
    }
}
