//! The admin interface over HTTP on a second loopback port, and a client for it.
//!
//! Routes (bodies are plain text):
//!
//! | Request                  | Body              | Answer                                   |
//! |--------------------------|-------------------|------------------------------------------|
//! | `POST /scan`             | the QR string     | the new device JID                       |
//! | `POST /pair-code`        | the 8-char code   | the new device JID                       |
//! | `POST /remove`           | a device JID      | `ok`                                     |
//! | `POST /kick`             | `JID CODE` (503…) | `ok`                                     |
//! | `POST /drop-pings`       | `true` / `false`  | `ok` (fault: leave pings unanswered)     |
//! | `GET /devices`           |                   | one device JID per line                  |
//! | `POST /accounts`         | `PHONE PUSH NAME` | `PN_JID LID_JID` of the new account      |
//! | `GET /accounts`          |                   | `PN_JID LID_JID PUSH NAME` per line      |
//! | `POST /scan-for`         | `PHONE QR`        | the new device JID (that account's phone)|
//! | `POST /pair-code-for`    | `PHONE CODE`      | the new device JID                       |
//! | `POST /devices-of`       | `PHONE`           | one device JID per line                  |
//! | `GET /root-key`          |                   | the test root public key, hex            |
//! | `POST /call-offer`       | `CALLER CALLEE [video]` | the call id (the caller's phone rings the callee's companions) |
//! | `POST /call-terminate`   | `CALLER CALLEE CALL_ID [REASON]` | companions reached (the caller's phone hangs up) |
//!
//! Errors answer `4xx`/`5xx` with the error text.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use wa_binary::Jid;

use crate::engine::StreamError;
use crate::error::{Error, Result};
use crate::server::Admin;

/// Largest request (headers and body) the admin server reads.
const MAX_REQUEST: usize = 64 * 1024;

/// Serves the admin interface on `listener` until the task is dropped.
pub async fn serve_admin(listener: TcpListener, admin: Admin, root_key: [u8; 32]) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let admin = admin.clone();
                tokio::spawn(async move {
                    if let Err(e) = handle(stream, &admin, root_key).await {
                        tracing::debug!("admin request failed: {e}");
                    }
                });
            }
            Err(e) => tracing::warn!("admin accept failed: {e}"),
        }
    }
}

struct Request {
    method: String,
    path: String,
    body: String,
}

async fn read_request(stream: &mut TcpStream) -> Result<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_REQUEST {
            return Err(Error::Admin("request too large".into()));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(Error::Admin(
                "connection closed before the headers ended".into(),
            ));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let head = String::from_utf8_lossy(buf.get(..header_end).unwrap_or_default()).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_owned();
    let path = first.next().unwrap_or("").to_owned();
    let mut len = 0usize;
    for line in lines {
        if let Some((k, v)) = line.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            len = v
                .trim()
                .parse()
                .map_err(|_| Error::Admin("bad Content-Length".into()))?;
        }
    }
    if len > MAX_REQUEST {
        return Err(Error::Admin("body too large".into()));
    }
    let mut body = buf.get(header_end + 4..).unwrap_or_default().to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
    body.truncate(len);
    Ok(Request {
        method,
        path,
        body: String::from_utf8_lossy(&body).trim().to_owned(),
    })
}

fn stream_error(code: &str) -> Option<StreamError> {
    match code {
        "515" => Some(StreamError::RestartRequired),
        "401" => Some(StreamError::DeviceRemoved),
        "440" => Some(StreamError::Replaced),
        "503" => Some(StreamError::ServiceUnavailable),
        _ => None,
    }
}

/// `PHONE REST`: the first word and the (trimmed) rest.
fn split_phone(body: &str) -> (&str, &str) {
    let body = body.trim();
    match body.split_once(char::is_whitespace) {
        Some((phone, rest)) => (phone, rest.trim()),
        None => (body, ""),
    }
}

fn parse_jid(s: &str) -> std::result::Result<Jid, (u16, String)> {
    s.parse::<Jid>().map_err(|e| (400, format!("bad JID: {e}")))
}

async fn route(req: &Request, admin: &Admin, root_key: [u8; 32]) -> (u16, String) {
    let res: std::result::Result<String, (u16, String)> =
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/scan") => admin
                .scan_qr(&req.body)
                .await
                .map(|j| j.to_string())
                .map_err(|e| (status_of(&e), e.to_string())),
            ("POST", "/pair-code") => admin
                .enter_pair_code(&req.body)
                .await
                .map(|j| j.to_string())
                .map_err(|e| (status_of(&e), e.to_string())),
            ("POST", "/remove") => match parse_jid(&req.body) {
                Ok(jid) => admin
                    .remove_device(&jid)
                    .map(|()| "ok".to_owned())
                    .map_err(|e| (status_of(&e), e.to_string())),
                Err(e) => Err(e),
            },
            ("POST", "/kick") => {
                let mut parts = req.body.split_whitespace();
                match (
                    parts.next().map(parse_jid),
                    parts.next().and_then(stream_error),
                ) {
                    (Some(Ok(jid)), Some(err)) => admin
                        .kick(&jid, err)
                        .map(|()| "ok".to_owned())
                        .map_err(|e| (status_of(&e), e.to_string())),
                    _ => Err((
                        400,
                        "body must be `JID CODE` with CODE 515, 401, 440 or 503".into(),
                    )),
                }
            }
            ("POST", "/drop-pings") => match req.body.as_str() {
                "true" | "false" => {
                    admin.set_drop_pings(req.body == "true");
                    Ok("ok".to_owned())
                }
                _ => Err((400, "body must be `true` or `false`".into())),
            },
            ("POST", "/accounts") => {
                let (phone, name) = split_phone(&req.body);
                admin
                    .create_account(phone, name)
                    .map(|a| format!("{} {}", a.pn, a.lid))
                    .map_err(|e| (status_of(&e), e.to_string()))
            }
            ("GET", "/accounts") => Ok(admin
                .accounts()
                .iter()
                .map(|a| format!("{} {} {}\n", a.pn, a.lid, a.push_name))
                .collect()),
            ("POST", "/scan-for") => {
                let (phone, qr) = split_phone(&req.body);
                admin
                    .scan_qr_for(phone, qr)
                    .await
                    .map(|j| j.to_string())
                    .map_err(|e| (status_of(&e), e.to_string()))
            }
            ("POST", "/pair-code-for") => {
                let (phone, code) = split_phone(&req.body);
                admin
                    .enter_pair_code_for(phone, code)
                    .await
                    .map(|j| j.to_string())
                    .map_err(|e| (status_of(&e), e.to_string()))
            }
            ("POST", "/devices-of") => admin
                .devices_of(req.body.trim())
                .map(|d| d.iter().map(|j| format!("{j}\n")).collect())
                .map_err(|e| (status_of(&e), e.to_string())),
            ("GET", "/devices") => Ok(admin.devices().iter().map(|j| format!("{j}\n")).collect()),
            ("GET", "/root-key") => Ok(hex::encode(root_key)),
            ("POST", "/call-offer") => {
                let words: Vec<&str> = req.body.split_whitespace().collect();
                match words.as_slice() {
                    [caller, callee, rest @ ..] if rest.is_empty() || rest == ["video"] => admin
                        .place_call(caller, callee, !rest.is_empty())
                        .map_err(|e| (status_of(&e), e.to_string())),
                    _ => Err((400, "body must be `CALLER CALLEE [video]`".into())),
                }
            }
            ("POST", "/call-terminate") => {
                let words: Vec<&str> = req.body.split_whitespace().collect();
                match words.as_slice() {
                    [caller, callee, call_id, reason @ ..] if reason.len() <= 1 => admin
                        .end_call(caller, callee, call_id, reason.first().copied())
                        .map(|n| n.to_string())
                        .map_err(|e| (status_of(&e), e.to_string())),
                    _ => Err((400, "body must be `CALLER CALLEE CALL_ID [REASON]`".into())),
                }
            }
            _ => Err((404, format!("no route {} {}", req.method, req.path))),
        };
    match res {
        Ok(body) => (200, body),
        Err(e) => e,
    }
}

fn status_of(e: &Error) -> u16 {
    match e {
        Error::BadQr(_) | Error::BadAccount(_) => 400,
        Error::UnknownPairRef | Error::UnknownDevice(_) | Error::UnknownAccount(_) => 404,
        _ => 500,
    }
}

async fn handle(mut stream: TcpStream, admin: &Admin, root_key: [u8; 32]) -> Result<()> {
    let (status, body) = match read_request(&mut stream).await {
        Ok(req) => route(&req, admin, root_key).await,
        Err(e) => (400, e.to_string()),
    };
    let reason = if status == 200 { "OK" } else { "Error" };
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await?;
    Ok(())
}

/// Sends one request to an admin server at `addr`; returns the body of a `200` answer.
pub async fn admin_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await?;
    let mut resp = Vec::new();
    stream.read_to_end(&mut resp).await?;
    let text = String::from_utf8_lossy(&resp);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| Error::Admin("malformed answer".into()))?;
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status == "200" {
        Ok(body.to_owned())
    } else {
        Err(Error::Admin(format!("{status}: {body}")))
    }
}
