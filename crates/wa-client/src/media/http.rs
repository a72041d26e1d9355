//! The HTTP side of media transfers: one hyper 1 client (HTTP/1.1, rustls with ring through
//! hyper-rustls) per [`crate::Client`], built on first use.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{MediaError, MediaOptions};

/// The user agent media requests carry.
const USER_AGENT: &str = concat!("whatsmeow-rs/", env!("CARGO_PKG_VERSION"));

/// `url` without its query, which can hold the upload token: what errors and logs show.
pub(crate) fn redact(url: &str) -> String {
    url.split_once('?').map_or(url, |(u, _)| u).to_owned()
}

/// A pooled HTTP client for media hosts.
#[derive(Clone)]
pub(crate) struct Http {
    client: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    options: MediaOptions,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Http {
    /// A client verifying `https` hosts with `tls`; plain `http` only when
    /// [`MediaOptions::plain_http`] is set.
    pub(crate) fn new(tls: rustls::ClientConfig, options: MediaOptions) -> Self {
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
        let connector = if options.plain_http {
            builder.https_or_http().enable_http1().build()
        } else {
            builder.https_only().enable_http1().build()
        };
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Self { client, options }
    }

    /// The options this client was built with.
    pub(crate) fn options(&self) -> &MediaOptions {
        &self.options
    }

    /// `url` as this client requests it: `https://` becomes `http://` under
    /// [`MediaOptions::plain_http`].
    pub(crate) fn scheme(&self, url: &str) -> String {
        match url.strip_prefix("https://") {
            Some(rest) if self.options.plain_http => format!("http://{rest}"),
            _ => url.to_owned(),
        }
    }

    /// Sends one request and reads the whole answer (at most `limit` bytes); a status other
    /// than 200 is [`MediaError::Http`].
    pub(crate) async fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
        limit: u64,
    ) -> Result<Vec<u8>, MediaError> {
        let shown = redact(url);
        let transport = |reason: String| MediaError::Transport {
            url: shown.clone(),
            reason,
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(url)
            .header(hyper::header::USER_AGENT, USER_AGENT)
            .header(hyper::header::ORIGIN, crate::config::DEFAULT_ORIGIN)
            .header(hyper::header::REFERER, "https://web.whatsapp.com/");
        if body.is_some() {
            builder = builder.header(hyper::header::CONTENT_TYPE, "application/octet-stream");
        }
        let request = builder
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| transport(format!("bad request: {e}")))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| transport(e.to_string()))?;
            let status = response.status();
            if status != StatusCode::OK {
                return Err(MediaError::Http {
                    status: status.as_u16(),
                    url: shown.clone(),
                });
            }
            let cap = usize::try_from(limit).unwrap_or(usize::MAX);
            let collected = Limited::new(response.into_body(), cap)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        MediaError::TooLarge { limit }
                    } else {
                        transport(e.to_string())
                    }
                })?;
            Ok(collected.to_bytes().to_vec())
        };
        match tokio::time::timeout(self.options.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(transport(format!(
                "timed out after {:?}",
                self.options.timeout
            ))),
        }
    }
}

/// The TLS configuration media downloads use: the socket's (Mozilla roots and
/// [`crate::Config::extra_ca_der`], ring), shared.
pub(crate) fn tls(config: &crate::Config) -> Result<rustls::ClientConfig, MediaError> {
    crate::runtime::socket::tls_config(config).map_err(|e| MediaError::Tls(e.to_string()))
}

/// Shared handle type.
pub(crate) type SharedHttp = Arc<Http>;
