//! The privacy-settings API of [`Client`] (see [`crate::privacy`]).

use super::Client;
use crate::error::Result;
use crate::privacy::{
    PrivacyCategory, PrivacySettings, PrivacyValue, get_request, parse_reply, set_request,
};

impl Client {
    /// The account's privacy settings, as the server holds them.
    pub async fn privacy_settings(&self) -> Result<PrivacySettings> {
        let reply = self.send_iq(get_request(), None).await?;
        parse_reply(&reply)
    }

    /// Sets one privacy setting, then returns all of them as the server now holds them. The
    /// account's other devices get [`crate::Event::PrivacySettings`].
    pub async fn set_privacy_setting(
        &self,
        category: PrivacyCategory,
        value: &PrivacyValue,
    ) -> Result<PrivacySettings> {
        self.send_iq(set_request(category, value), None).await?;
        self.privacy_settings().await
    }
}
