//! `wa privacy`: prints the account's privacy settings, or changes one with
//! `--set CATEGORY=VALUE` (for example `--set last=contacts`), with the session saved by
//! `wa login`.

use anyhow::{Context, Result, bail};
use clap::Args;
use wa_client::{PrivacyCategory, PrivacySettings, PrivacyValue};

use crate::session::{ConnectArgs, open_session};

/// `wa privacy` options.
#[derive(Debug, Args)]
pub struct PrivacyArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Change one setting: `CATEGORY=VALUE` with a category of groupadd, last, status,
    /// profile, readreceipts, online, calladd, messages, defense, stickers and a value such as
    /// all, contacts, none, off.
    #[arg(long)]
    pub set: Option<String>,
}

/// Reads `CATEGORY=VALUE`.
pub fn parse_setting(s: &str) -> Result<(PrivacyCategory, PrivacyValue)> {
    let Some((name, value)) = s.split_once('=') else {
        bail!("expected CATEGORY=VALUE, got {s:?}");
    };
    let Some(category) = PrivacyCategory::from_wire(name.trim()) else {
        let known: Vec<&str> = PrivacyCategory::ALL.iter().map(|c| c.as_str()).collect();
        bail!("unknown category {name:?} (one of {})", known.join(", "));
    };
    let value = value.trim();
    if value.is_empty() {
        bail!("empty value for {name}");
    }
    Ok((category, PrivacyValue::from_wire(value)))
}

/// The settings, one `category: value` line each.
#[must_use]
pub fn describe(settings: &PrivacySettings) -> String {
    settings
        .settings
        .iter()
        .map(|(c, v)| format!("{}: {}", c.as_str(), v.as_str()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `wa privacy`.
pub async fn privacy(args: &PrivacyArgs) -> Result<String> {
    let change = args.set.as_deref().map(parse_setting).transpose()?;
    let session = open_session(&args.connect).await?;
    let res = match &change {
        Some((category, value)) => session.client.set_privacy_setting(*category, value).await,
        None => session.client.privacy_settings().await,
    }
    .context("privacy settings");
    session.client.disconnect().await;
    Ok(describe(&res?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_from_the_command_line() {
        assert_eq!(
            parse_setting("last=contacts").unwrap(),
            (PrivacyCategory::LastSeen, PrivacyValue::Contacts)
        );
        assert_eq!(
            parse_setting(" readreceipts = off ").unwrap(),
            (PrivacyCategory::ReadReceipts, PrivacyValue::Off)
        );
        assert!(parse_setting("last").is_err());
        assert!(parse_setting("bogus=all").is_err());
        assert!(parse_setting("last=").is_err());
    }
}
