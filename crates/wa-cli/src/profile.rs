//! `wa profile`, `wa user-info` and `wa picture`: our about text and profile picture, what
//! other users show, and downloading a profile picture, with the session saved by `wa login`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use wa_binary::Jid;
use wa_client::{PictureInfo, UserInfo};

use crate::messaging::parse_jid;
use crate::session::{ConnectArgs, open_session};

/// Largest picture file `wa profile --picture` sends.
const MAX_PICTURE: u64 = 10 * 1024 * 1024;

/// `wa profile` options.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Set the about text (an empty one clears it).
    #[arg(long)]
    pub about: Option<String>,
    /// Set the profile picture to this JPEG file (sent as is).
    #[arg(long, conflicts_with = "remove_picture")]
    pub picture: Option<PathBuf>,
    /// Remove the profile picture.
    #[arg(long)]
    pub remove_picture: bool,
}

/// `wa user-info` options.
#[derive(Debug, Args)]
pub struct UserInfoArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The users: phone numbers or JIDs.
    #[arg(required = true)]
    pub users: Vec<String>,
}

/// `wa picture` options.
#[derive(Debug, Args)]
pub struct PictureArgs {
    /// Connection and store options.
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The user or group: a phone number or a JID.
    pub jid: String,
    /// The thumbnail instead of the full image.
    #[arg(long)]
    pub preview: bool,
    /// Download the picture into this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One user's info in plain words: `JID`, then indented about, picture and devices lines.
#[must_use]
pub fn describe_user(jid: &Jid, info: &UserInfo) -> String {
    let mut out = format!("{jid}");
    match &info.status {
        Some(s) => out.push_str(&format!("\n  about: {s}")),
        None => out.push_str("\n  about: (none)"),
    }
    match &info.picture_id {
        Some(id) => out.push_str(&format!("\n  picture: {id}")),
        None => out.push_str("\n  picture: (none)"),
    }
    if let Some(name) = &info.verified_name {
        out.push_str(&format!("\n  verified name: {name}"));
    }
    let devices: Vec<String> = info.devices.iter().map(ToString::to_string).collect();
    out.push_str(&format!("\n  devices: {}", devices.join(" ")));
    out
}

/// A picture's info in plain words.
#[must_use]
pub fn describe_picture(info: &PictureInfo) -> String {
    format!(
        "picture {} ({})\n  url: {}\n  direct path: {}",
        info.id, info.kind, info.url, info.direct_path
    )
}

/// Reads the picture file, refusing empty or oversized ones.
fn read_picture(path: &PathBuf) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len == 0 || len > MAX_PICTURE {
        bail!(
            "{} has {len} bytes (expected 1..={MAX_PICTURE})",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// `wa profile`: applies the changes asked for, then prints our own info.
pub async fn profile(args: &ProfileArgs) -> Result<String> {
    let picture = args.picture.as_ref().map(read_picture).transpose()?;
    let session = open_session(&args.connect).await?;
    let client = &session.client;
    let own = session.own.to_non_ad();
    let res = async {
        let mut out = Vec::new();
        if let Some(about) = &args.about {
            client
                .set_status_message(about)
                .await
                .context("setting the about text")?;
            out.push("about text set".to_owned());
        }
        if let Some(jpeg) = &picture {
            let id = client
                .set_profile_picture(jpeg)
                .await
                .context("setting the profile picture")?;
            out.push(format!("picture set: {id}"));
        }
        if args.remove_picture {
            client
                .remove_profile_picture()
                .await
                .context("removing the profile picture")?;
            out.push("picture removed".to_owned());
        }
        let infos = client
            .user_info(std::slice::from_ref(&own))
            .await
            .context("reading our profile")?;
        let info = infos.get(&own).cloned().unwrap_or_default();
        out.push(describe_user(&own, &info));
        anyhow::Ok(out.join("\n"))
    }
    .await;
    session.client.disconnect().await;
    res
}

/// `wa user-info`.
pub async fn user_info(args: &UserInfoArgs) -> Result<String> {
    let users = args
        .users
        .iter()
        .map(|u| parse_jid(u).map(|j| j.to_non_ad()))
        .collect::<Result<Vec<_>>>()?;
    let session = open_session(&args.connect).await?;
    let res = session.client.user_info(&users).await.context("user info");
    session.client.disconnect().await;
    let infos = res?;
    Ok(users
        .iter()
        .map(|u| match infos.get(u) {
            Some(info) => describe_user(u, info),
            None => format!("{u}\n  not on WhatsApp"),
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

/// `wa picture`.
pub async fn picture(args: &PictureArgs) -> Result<String> {
    let jid = parse_jid(&args.jid)?.to_non_ad();
    let session = open_session(&args.connect).await?;
    let client = &session.client;
    let res = async {
        let info = match client.profile_picture_info(&jid, args.preview, None).await {
            Ok(Some(info)) => info,
            Ok(None) => bail!("the server sent no picture for {jid}"),
            Err(wa_client::Error::ProfilePictureNotSet) => {
                return Ok(format!("{jid} has no profile picture"));
            }
            Err(e) => return Err(e).context("profile picture"),
        };
        let mut out = describe_picture(&info);
        if let Some(path) = &args.out {
            let bytes = client
                .download_profile_picture(&info)
                .await
                .context("downloading the picture")?;
            std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
            out.push_str(&format!(
                "\nsaved {} bytes to {}",
                bytes.len(),
                path.display()
            ));
        }
        Ok(out)
    }
    .await;
    session.client.disconnect().await;
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_pictures_are_described() {
        let jid: Jid = "15550001@s.whatsapp.net".parse().unwrap();
        let info = UserInfo {
            status: Some("hi".into()),
            picture_id: Some("4".into()),
            devices: vec![jid.clone(), "15550001:2@s.whatsapp.net".parse().unwrap()],
            ..UserInfo::default()
        };
        assert_eq!(
            describe_user(&jid, &info),
            "15550001@s.whatsapp.net\n  about: hi\n  picture: 4\n  devices: \
             15550001@s.whatsapp.net 15550001:2@s.whatsapp.net"
        );
        assert!(describe_user(&jid, &UserInfo::default()).contains("about: (none)"));
        let pic = PictureInfo {
            id: "4".into(),
            url: "http://h/p".into(),
            direct_path: "/p".into(),
            kind: "image".into(),
        };
        assert!(describe_picture(&pic).starts_with("picture 4 (image)"));
    }

    #[test]
    fn empty_picture_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.jpg");
        std::fs::write(&empty, b"").unwrap();
        assert!(read_picture(&empty).is_err());
        assert!(read_picture(&dir.path().join("missing.jpg")).is_err());
    }
}
