//! Opening the WebSocket: TCP (directly or through an HTTP CONNECT / SOCKS5 proxy), TLS with
//! rustls (ring) for `wss://`, and the upgrade with WhatsApp Web's `Origin`.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::config::{Config, Proxy};
use crate::error::{Error, Result};

/// The connected socket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn connect_err(e: impl core::fmt::Display) -> Error {
    Error::Connect(e.to_string())
}

/// The rustls configuration: Mozilla's roots plus the configured extra CAs.
pub fn tls_config(config: &Config) -> Result<rustls::ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in &config.extra_ca_der {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| Error::Config(format!("extra CA certificate: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Reads PEM certificates (e.g. the test server's) into DER blobs for [`Config::extra_ca_der`].
pub fn load_pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>> {
    use rustls_pki_types::pem::PemObject;
    let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<core::result::Result<_, _>>()
        .map_err(|e| Error::Config(format!("PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Config("no certificate in PEM input".into()));
    }
    Ok(certs)
}

/// Connects to `config.url`.
pub async fn connect(config: &Config) -> Result<Socket> {
    let mut request = config
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| Error::Config(format!("server URL: {e}")))?;
    let origin =
        HeaderValue::from_str(&config.origin).map_err(|e| Error::Config(format!("origin: {e}")))?;
    request.headers_mut().insert("Origin", origin);
    let uri = request.uri();
    let tls = match uri.scheme_str() {
        Some("wss") => true,
        Some("ws") => false,
        other => return Err(Error::Config(format!("unsupported URL scheme {other:?}"))),
    };
    let host = uri
        .host()
        .ok_or_else(|| Error::Config("server URL has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let tcp = match &config.proxy {
        None => TcpStream::connect((host.as_str(), port))
            .await
            .map_err(connect_err)?,
        Some(Proxy::HttpConnect(proxy)) => http_connect(proxy, &host, port).await?,
        Some(Proxy::Socks5(proxy)) => socks5_connect(proxy, &host, port).await?,
    };
    tcp.set_nodelay(true).map_err(connect_err)?;
    let connector = if tls {
        Connector::Rustls(Arc::new(tls_config(config)?))
    } else {
        Connector::Plain
    };
    let (ws, _resp) = tokio_tungstenite::client_async_tls_with_config(
        request,
        tcp,
        Some(websocket_config()),
        Some(connector),
    )
    .await
    .map_err(connect_err)?;
    Ok(ws)
}

/// tungstenite zero-fills its whole read buffer before every read, including reads that find
/// nothing: with its 128 KiB default that was a 128 KiB memset per poll of the socket (most
/// of the driver's instructions during a burst of small stanzas). 16 KiB still takes dozens
/// of stanzas per read; larger frames grow the buffer as they need.
pub(crate) const READ_BUFFER_SIZE: usize = 16 * 1024;

fn websocket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_SIZE)
}

/// Opens a tunnel through an HTTP proxy with `CONNECT`.
pub async fn http_connect(proxy: &str, host: &str, port: u16) -> Result<TcpStream> {
    let mut s = TcpStream::connect(proxy).await.map_err(connect_err)?;
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
    s.write_all(req.as_bytes()).await.map_err(connect_err)?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 {
            return Err(Error::Connect("proxy reply header too long".into()));
        }
        let n = s.read(&mut byte).await.map_err(connect_err)?;
        if n == 0 {
            return Err(Error::Connect("proxy closed during CONNECT".into()));
        }
        head.extend_from_slice(&byte);
    }
    let status_line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let status = String::from_utf8_lossy(status_line);
    let code = status.split_whitespace().nth(1).unwrap_or("");
    if code != "200" {
        return Err(Error::Connect(format!("proxy refused CONNECT: {status}")));
    }
    Ok(s)
}

/// Opens a tunnel through a SOCKS5 proxy (no authentication, domain-name addressing).
pub async fn socks5_connect(proxy: &str, host: &str, port: u16) -> Result<TcpStream> {
    let mut s = TcpStream::connect(proxy).await.map_err(connect_err)?;
    s.write_all(&[5, 1, 0]).await.map_err(connect_err)?;
    let mut hello = [0u8; 2];
    s.read_exact(&mut hello).await.map_err(connect_err)?;
    if hello != [5, 0] {
        return Err(Error::Connect(format!(
            "SOCKS5 proxy refused no-auth: {hello:?}"
        )));
    }
    let host_len = u8::try_from(host.len())
        .map_err(|_| Error::Config("host name too long for SOCKS5".into()))?;
    let mut req = vec![5, 1, 0, 3, host_len];
    req.extend_from_slice(host.as_bytes());
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req).await.map_err(connect_err)?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await.map_err(connect_err)?;
    let [ver, rep, _, atyp] = head;
    if ver != 5 || rep != 0 {
        return Err(Error::Connect(format!(
            "SOCKS5 connect failed (reply {rep})"
        )));
    }
    let addr_len = match atyp {
        1 => 4,
        4 => 16,
        3 => {
            let mut l = [0u8; 1];
            s.read_exact(&mut l).await.map_err(connect_err)?;
            let [len] = l;
            usize::from(len)
        }
        other => return Err(Error::Connect(format!("SOCKS5 address type {other}"))),
    };
    let mut rest = vec![0u8; addr_len + 2];
    s.read_exact(&mut rest).await.map_err(connect_err)?;
    Ok(s)
}
