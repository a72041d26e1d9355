//! The admin's call controls over HTTP (`/call-offer`, `/call-terminate`) and what the server
//! records: a call's stanzas reach the callee's phone log only when they come from the callee's
//! companions, so with no companion online an offer reaches nobody, and bad bodies or unknown
//! accounts are refused.

use tokio::net::TcpListener;
use wa_testserver::admin_http::{admin_request, serve_admin};
use wa_testserver::{Config, TestServer};

#[tokio::test]
async fn call_routes_place_and_end_calls() {
    let server = TestServer::start(Config::default()).await.unwrap();
    let admin = server.admin();
    admin.create_account("15550002222", "Bob").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve_admin(
        listener,
        admin.clone(),
        server.root_public_key(),
    ));

    let id = admin_request(addr, "POST", "/call-offer", "15550002222 15551234567 video")
        .await
        .unwrap();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    // Nobody of the callee is online: nothing was handed out; the caller's phone placed it,
    // so its own log stays empty too.
    assert!(admin.delivered_calls().is_empty());
    assert!(admin.calls_to_phone("15550002222").unwrap().is_empty());
    let reached = admin_request(
        addr,
        "POST",
        "/call-terminate",
        &format!("15550002222 15551234567 {id} timeout"),
    )
    .await
    .unwrap();
    assert_eq!(reached, "0");

    for (path, body, status) in [
        ("/call-offer", "15550002222", "400"),
        ("/call-offer", "15550002222 15551234567 audio", "400"),
        ("/call-offer", "15550009999 15551234567", "404"),
        ("/call-terminate", "15550002222 15551234567", "400"),
        ("/call-terminate", "15550002222 15550009999 X", "404"),
    ] {
        let err = admin_request(addr, "POST", path, body).await.unwrap_err();
        assert!(err.to_string().contains(status), "{path} {body}: {err}");
    }
    assert!(admin.calls_to_phone("15550009999").is_err());
}
