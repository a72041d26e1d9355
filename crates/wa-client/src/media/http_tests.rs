//! The media HTTP client against local servers: https verified with rustls (and refused for an
//! untrusted certificate), plain http refused unless allowed, status and size limits.

use hyper::Method;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

#[path = "../../tests/support/tls.rs"]
mod support;

use super::http::Http;
use super::{MediaError, MediaOptions};

/// Answers every connection on `listener` with `status` and `body` (after reading the head).
async fn serve<S, F, Fut>(listener: TcpListener, status: u16, body: Vec<u8>, wrap: F)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Clone + 'static,
    Fut: std::future::Future<Output = Option<S>> + Send,
{
    while let Ok((s, _)) = listener.accept().await {
        let body = body.clone();
        let wrap = wrap.clone();
        tokio::spawn(async move {
            let Some(mut s) = wrap(s).await else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
            let _ = s.shutdown().await;
        });
    }
}

/// A plain HTTP server on loopback; its port.
async fn plain(status: u16, body: &[u8]) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(serve(l, status, body.to_vec(), |s| async move { Some(s) }));
    port
}

/// An https server for `localhost` with a fresh self-signed certificate; its port and DER.
async fn https(body: &[u8]) -> (u16, Vec<u8>) {
    let (acceptor, der) = support::self_signed_localhost();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(serve(l, 200, body.to_vec(), move |s| {
        let acceptor = acceptor.clone();
        async move { acceptor.accept(s).await.ok() }
    }));
    (port, der)
}

fn client(extra_ca: Option<Vec<u8>>, options: MediaOptions) -> Http {
    let config = crate::Config {
        extra_ca_der: extra_ca.into_iter().collect(),
        ..crate::Config::default()
    };
    Http::new(super::http::tls(&config).unwrap(), options)
}

/// A GET of `url` with a 1 MiB limit.
async fn get(http: &Http, url: &str) -> Result<Vec<u8>, MediaError> {
    http.request(Method::GET, url, None, 1 << 20).await
}

#[tokio::test]
async fn https_is_verified_with_rustls() {
    let (port, der) = https(b"secret body").await;
    let url = format!("https://localhost:{port}/v/t62/x?hash=1");
    let trusted = client(Some(der), MediaOptions::default());
    let got = get(&trusted, &url).await.unwrap();
    assert_eq!(got, b"secret body");
    // Without the test CA the self-signed certificate is refused.
    let strict = client(None, MediaOptions::default());
    let err = get(&strict, &url).await.unwrap_err();
    assert!(matches!(err, MediaError::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn plain_http_only_when_allowed() {
    let port = plain(200, b"plain").await;
    let url = format!("http://127.0.0.1:{port}/v/x");
    let strict = client(None, MediaOptions::default());
    let err = get(&strict, &url).await.unwrap_err();
    assert!(matches!(err, MediaError::Transport { .. }), "{err:?}");
    let test = client(None, MediaOptions::test_server());
    let got = get(&test, &url).await.unwrap();
    assert_eq!(got, b"plain");
}

#[tokio::test]
async fn status_and_size_are_checked_and_queries_kept_out_of_errors() {
    let test = client(None, MediaOptions::test_server());
    let port = plain(404, b"gone").await;
    let err = test
        .request(
            Method::POST,
            &format!("http://127.0.0.1:{port}/mms/image/t?auth=SECRET"),
            Some(hyper::body::Bytes::from_static(b"x")),
            1 << 20,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, MediaError::Http { status: 404, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("SECRET"), "{err}");
    let port = plain(200, &[7u8; 100]).await;
    let err = test
        .request(Method::GET, &format!("http://127.0.0.1:{port}/v"), None, 10)
        .await
        .unwrap_err();
    assert!(matches!(err, MediaError::TooLarge { limit: 10 }), "{err:?}");
}
