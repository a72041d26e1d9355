//! `wa reject-call` and the call lines of `wa listen` (with `--reject-calls`, which refuses
//! every incoming call, as answering machines and bots do).

use anyhow::{Context, Result};
use clap::Args;
use serde_json::{Value, json};
use wa_client::{CallEvent, Client};

use crate::messaging::parse_jid;
use crate::session::{ConnectArgs, open_session};

/// `wa reject-call` options.
#[derive(Debug, Args)]
pub struct RejectCallArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The caller: the `call_creator` `wa listen --json` printed (a JID or a phone number).
    #[arg(long)]
    pub from: String,
    /// The call's id (`call_id`).
    #[arg(long)]
    pub id: String,
}

/// `wa reject-call`.
pub async fn reject_call(args: &RejectCallArgs) -> Result<String> {
    let caller = parse_jid(&args.from)?;
    let session = open_session(&args.connect).await?;
    let res = session
        .client
        .reject_call(caller.clone(), &args.id)
        .await
        .context("rejecting the call");
    session.client.disconnect().await;
    res?;
    Ok(format!("rejected call {} from {caller}", args.id))
}

/// The line `wa listen` prints for a call event.
#[must_use]
pub fn call_line(call: &CallEvent) -> String {
    let Some(meta) = call.meta() else {
        return "call signalling not understood".into();
    };
    let what = match call {
        CallEvent::Offer { data, .. } if data.child("video").is_some() => {
            "incoming video call".to_owned()
        }
        CallEvent::Offer { .. } => "incoming call".to_owned(),
        CallEvent::OfferNotice {
            media, call_type, ..
        } => format!("call notice ({media} {call_type})"),
        CallEvent::Terminate { reason, .. } if !reason.is_empty() => {
            format!("call ended ({reason})")
        }
        CallEvent::Terminate { .. } => "call ended".to_owned(),
        CallEvent::Reject { .. } => "call rejected".to_owned(),
        CallEvent::Accept { .. } => "call accepted".to_owned(),
        other => format!("call {}", other.kind()),
    };
    format!(
        "{what} {} from {} (by {})",
        meta.call_id, meta.from, meta.call_creator
    )
}

/// With `wa listen --reject-calls`: refuses `call` if it is an offer, and returns what to
/// print about it (a line, or with `json` a `{"type": "call_rejected", …}` object).
pub async fn auto_reject(client: &Client, call: &CallEvent, json: bool) -> Result<Option<String>> {
    let CallEvent::Offer { meta, .. } = call else {
        return Ok(None);
    };
    client
        .reject_call(meta.call_creator.clone(), &meta.call_id)
        .await
        .with_context(|| format!("rejecting call {}", meta.call_id))?;
    Ok(Some(if json {
        let value: Value = json!({
            "type": "call_rejected",
            "call_id": meta.call_id,
            "call_creator": meta.call_creator.to_string(),
        });
        value.to_string()
    } else {
        format!("rejected call {} from {}", meta.call_id, meta.call_creator)
    }))
}

#[cfg(test)]
mod tests {
    use wa_binary::{Jid, Node};
    use wa_client::call::parse_call;

    use super::*;

    fn event(child: Node) -> CallEvent {
        let caller: Jid = "100000002@lid".parse().unwrap();
        parse_call(
            &Node::new("call")
                .attr("from", caller)
                .attr("id", "S1")
                .child(child)
                .build(),
        )
        .unwrap()
    }

    fn child(tag: &str) -> wa_binary::NodeBuilder {
        let caller: Jid = "100000002@lid".parse().unwrap();
        Node::new(tag)
            .attr("call-id", "C1")
            .attr("call-creator", caller)
    }

    #[test]
    fn call_lines_say_what_happened() {
        let video = event(child("offer").child(Node::new("video").build()).build());
        assert_eq!(
            call_line(&video),
            "incoming video call C1 from 100000002@lid (by 100000002@lid)"
        );
        let end = event(child("terminate").attr("reason", "timeout").build());
        assert!(call_line(&end).starts_with("call ended (timeout) C1"));
        assert!(call_line(&event(child("reject").build())).starts_with("call rejected C1"));
        assert!(call_line(&event(child("transport").build())).starts_with("call transport C1"));
        let odd = event(Node::new("video_state").build());
        assert_eq!(call_line(&odd), "call signalling not understood");
    }
}
