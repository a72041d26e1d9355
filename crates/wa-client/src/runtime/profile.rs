//! The profile API of [`Client`] (see [`crate::profile`]).

use std::collections::HashMap;

use wa_binary::Jid;

use super::Client;
use crate::error::{Error, Result};
use crate::profile::{
    PictureInfo, UserInfo, parse_picture_reply, parse_set_picture_reply, parse_user_info,
    picture_error, picture_request, set_picture_request, set_status_request, user_info_request,
};

impl Client {
    /// Sets our about text. Other accounts (and our other devices) get
    /// [`crate::Event::UserAbout`].
    pub async fn set_status_message(&self, text: &str) -> Result<()> {
        self.send_iq(set_status_request(text), None).await?;
        Ok(())
    }

    /// The about text, profile picture id and devices of each of `users` (by their non-AD
    /// JID), as whatsmeow's `GetUserInfo` asks them.
    pub async fn user_info(&self, users: &[Jid]) -> Result<HashMap<Jid, UserInfo>> {
        let sid = self.generate_message_id();
        let reply = self.send_iq(user_info_request(users, &sid), None).await?;
        parse_user_info(&reply)
    }

    /// Where the profile picture of `jid` (a user or a group) can be downloaded: the
    /// thumbnail with `preview`, else the full image. With `existing_id`, `Ok(None)` means the
    /// picture is still that one. No picture is [`Error::ProfilePictureNotSet`]; one hidden by
    /// the owner's privacy settings is [`Error::ProfilePictureUnauthorized`].
    pub async fn profile_picture_info(
        &self,
        jid: &Jid,
        preview: bool,
        existing_id: Option<&str>,
    ) -> Result<Option<PictureInfo>> {
        let reply = self
            .send_iq(picture_request(jid, preview, existing_id), None)
            .await
            .map_err(picture_error)?;
        parse_picture_reply(&reply, existing_id.is_some_and(|id| !id.is_empty()))
    }

    /// Sets our profile picture to `jpeg` (the server keeps the bytes as given); returns the
    /// new picture's id.
    pub async fn set_profile_picture(&self, jpeg: &[u8]) -> Result<String> {
        let reply = self
            .send_iq(set_picture_request(None, Some(jpeg)), None)
            .await?;
        parse_set_picture_reply(&reply)
    }

    /// Removes our profile picture.
    pub async fn remove_profile_picture(&self) -> Result<()> {
        self.send_iq(set_picture_request(None, None), None).await?;
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) the picture of `group` (we must be a member); returns
    /// the new picture's id when one was set. Members get [`crate::Event::Picture`].
    pub async fn set_group_photo(
        &self,
        group: &Jid,
        jpeg: Option<&[u8]>,
    ) -> Result<Option<String>> {
        let reply = self
            .send_iq(set_picture_request(Some(group), jpeg), None)
            .await?;
        match jpeg {
            Some(_) => parse_set_picture_reply(&reply).map(Some),
            None => Ok(None),
        }
    }

    /// Downloads the picture `info` points at (a plain GET of its URL: profile pictures are
    /// not encrypted).
    pub async fn download_profile_picture(&self, info: &PictureInfo) -> Result<Vec<u8>> {
        if info.url.is_empty() {
            return Err(Error::Protocol("picture info without a url".into()));
        }
        Ok(self.send.media.get_url(&info.url).await?)
    }
}
