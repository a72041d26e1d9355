//! `wa block` and `wa blocklist`: blocking users and listing who is blocked, with the session
//! saved by `wa login`.

use anyhow::{Context, Result};
use clap::Args;
use wa_client::{Blocklist, BlocklistAction};

use crate::messaging::parse_jid;
use crate::session::{ConnectArgs, open_session};

/// `wa block` options.
#[derive(Debug, Args)]
pub struct BlockArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The user: a phone number or a JID.
    #[arg(long)]
    pub user: String,
    /// Unblock instead.
    #[arg(long)]
    pub off: bool,
}

/// The list in plain words, one JID per line.
#[must_use]
pub fn describe(list: &Blocklist) -> String {
    if list.jids.is_empty() {
        return "no one is blocked".into();
    }
    let mut out = format!("{} blocked:", list.jids.len());
    for jid in &list.jids {
        out.push_str(&format!("\n  {jid}"));
    }
    out
}

/// `wa block`.
pub async fn block(args: &BlockArgs) -> Result<String> {
    let user = parse_jid(&args.user)?;
    let action = if args.off {
        BlocklistAction::Unblock
    } else {
        BlocklistAction::Block
    };
    let session = open_session(&args.connect).await?;
    let res = session
        .client
        .update_blocklist(&user, action)
        .await
        .context("updating the blocklist");
    session.client.disconnect().await;
    let list = res?;
    let what = if args.off { "unblocked" } else { "blocked" };
    Ok(format!("{what} {user}; {}", describe(&list)))
}

/// `wa blocklist`.
pub async fn blocklist(args: &ConnectArgs) -> Result<String> {
    let session = open_session(args).await?;
    let res = session
        .client
        .blocklist()
        .await
        .context("fetching the blocklist");
    session.client.disconnect().await;
    Ok(describe(&res?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_plainly() {
        let empty = Blocklist {
            dhash: "0".into(),
            jids: vec![],
        };
        assert_eq!(describe(&empty), "no one is blocked");
        let two = Blocklist {
            dhash: "2".into(),
            jids: vec![
                "1@s.whatsapp.net".parse().unwrap(),
                "2@lid".parse().unwrap(),
            ],
        };
        assert_eq!(describe(&two), "2 blocked:\n  1@s.whatsapp.net\n  2@lid");
    }
}
