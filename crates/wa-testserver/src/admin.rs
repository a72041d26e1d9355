//! The admin's account controls: create accounts, list them, and pair, list or configure
//! devices of a given account (by phone number).

use sha2::{Digest as _, Sha256};
use wa_binary::Jid;
use wa_noise::KeyPair;

use crate::error::{Error, Result};
use crate::listener::{lock, now_ms};
use crate::phone::Phone;
use crate::server::Admin;
use crate::state::{Account, AccountId, ServerState};

/// Longest phone number accepted (E.164 allows 15 digits; test numbers may be longer).
pub const MAX_PHONE_DIGITS: usize = 20;

/// What the admin learns about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    /// The phone-number JID (`NUMBER@s.whatsapp.net`, device 0).
    pub pn: Jid,
    /// The LID JID (`LID@lid`, device 0).
    pub lid: Jid,
    /// The push name the account's messages carry as `notify`.
    pub push_name: String,
}

impl AccountInfo {
    fn of(a: &Account) -> Self {
        Self {
            pn: a.pn_jid(0),
            lid: a.lid_jid(0),
            push_name: a.push_name.clone(),
        }
    }
}

/// A LID user for `phone` not used by any account: 15 digits derived from the number.
fn fresh_lid(state: &ServerState, phone: &str) -> String {
    let digest = Sha256::digest(phone.as_bytes());
    let mut n = digest
        .iter()
        .take(8)
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    n = 100_000_000_000_000 + n % 800_000_000_000_000;
    loop {
        let lid = n.to_string();
        if !state.accounts.iter().any(|a| a.account.lid == lid) {
            return lid;
        }
        n = n.wrapping_add(1);
    }
}

/// Checks a phone number: digits only (a leading `+` is dropped), 5 to
/// [`MAX_PHONE_DIGITS`] of them, no leading zero.
fn normalize_phone(phone: &str) -> Result<String> {
    let digits = phone.trim().trim_start_matches('+');
    if digits.len() < 5
        || digits.len() > MAX_PHONE_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || digits.starts_with('0')
    {
        return Err(Error::BadAccount(format!(
            "'{phone}' is not a phone number (5 to {MAX_PHONE_DIGITS} digits, no leading 0)"
        )));
    }
    Ok(digits.to_owned())
}

impl Admin {
    /// Sets the status privacy the server reports for the account of `phone`: `kind` is
    /// `contacts`, `whitelist` or `blacklist`, `users` the listed users (ignored for
    /// `contacts`).
    ///
    /// Fails with [`Error::UnknownAccount`], or [`Error::Admin`] for another `kind`.
    pub fn set_status_privacy(&self, phone: &str, kind: &str, users: Vec<Jid>) -> Result<()> {
        if !matches!(kind, "contacts" | "whitelist" | "blacklist") {
            return Err(Error::Admin(format!(
                "unknown status privacy type {kind:?}"
            )));
        }
        let mut state = lock(&self.shared.state);
        let account = state
            .account_by_phone(phone.trim())
            .ok_or_else(|| Error::UnknownAccount(phone.to_owned()))?;
        let users = if kind == "contacts" {
            Vec::new()
        } else {
            users
        };
        state
            .status_privacy
            .insert(account, (kind.to_owned(), users));
        Ok(())
    }

    /// Creates an account with phone number `phone` (digits, optional `+`) and `push_name`,
    /// its own simulated phone (a fresh identity key) and a LID; companions pair with it
    /// through [`Admin::scan_qr_for`] or [`Admin::enter_pair_code_for`] (code pairing finds the
    /// account from the number the companion asked for). Persisted with `--state`.
    ///
    /// Fails with [`Error::BadAccount`] for a malformed or already used number.
    pub fn create_account(&self, phone: &str, push_name: &str) -> Result<AccountInfo> {
        let phone = normalize_phone(phone)?;
        let identity = KeyPair::generate(&mut self.shared.conn_rng());
        let info = {
            let mut state = lock(&self.shared.state);
            let account = Account {
                lid: fresh_lid(&state, &phone),
                phone_number: phone.clone(),
                push_name: push_name.to_owned(),
                created: now_ms() / 1000,
            };
            let info = AccountInfo::of(&account);
            state
                .add_account(account, Phone::new(identity))
                .map_err(|_| Error::BadAccount(format!("{phone} already has an account")))?;
            info
        };
        tracing::info!(pn = %info.pn, lid = %info.lid, "account created");
        self.shared.persist();
        Ok(info)
    }

    /// Every account, the default one first.
    #[must_use]
    pub fn accounts(&self) -> Vec<AccountInfo> {
        lock(&self.shared.state)
            .accounts
            .iter()
            .map(|a| AccountInfo::of(&a.account))
            .collect()
    }

    /// The account with phone number `phone`, if any.
    #[must_use]
    pub fn account(&self, phone: &str) -> Option<AccountInfo> {
        let state = lock(&self.shared.state);
        let id = state.account_by_phone(phone.trim())?;
        state.acct(id).map(|a| AccountInfo::of(&a.account))
    }

    fn account_id(&self, phone: &str) -> Result<AccountId> {
        lock(&self.shared.state)
            .account_by_phone(phone.trim())
            .ok_or_else(|| Error::UnknownAccount(phone.to_owned()))
    }

    /// The phone of account `phone` scans `qr`: as [`Admin::scan_qr`], the companion becomes
    /// a device of that account.
    pub async fn scan_qr_for(&self, phone: &str, qr: &str) -> Result<Jid> {
        let account = self.account_id(phone)?;
        self.scan_qr_as(account, qr).await
    }

    /// The user of account `phone` types `code`: as [`Admin::enter_pair_code`], for the most
    /// recent companion that asked to pair with that number.
    pub async fn enter_pair_code_for(&self, phone: &str, code: &str) -> Result<Jid> {
        let account = self.account_id(phone)?;
        self.enter_pair_code_as(Some(account), code).await
    }

    /// Companion devices of account `phone` (phone-number JIDs).
    pub fn devices_of(&self, phone: &str) -> Result<Vec<Jid>> {
        let account = self.account_id(phone)?;
        Ok(self.devices_of_account(account))
    }

    /// Makes account `phone` require privacy tokens: 1:1 messages *to* it from another
    /// account are refused (ack `error='463'`) unless their `<tctoken>` is the token this
    /// account last issued to the sender's account (through the privacy-token IQ), or any
    /// token when it issued none.
    pub fn set_require_tctoken_for(&self, phone: &str, require: bool) -> Result<()> {
        let account = self.account_id(phone)?;
        let mut state = lock(&self.shared.state);
        if let Some(a) = state.acct_mut(account) {
            a.require_tctoken = require;
        }
        state.touch();
        drop(state);
        self.shared.persist();
        Ok(())
    }
}

impl Admin {
    /// Seeds the conversations the phone of account `phone` sends its next new companions as
    /// a downloadable history chunk (replacing earlier seeds; see [`crate::history`]).
    pub fn seed_history_for(
        &self,
        phone: &str,
        conversations: Vec<wa_proto::proto::Conversation>,
    ) -> Result<()> {
        let account = self.account_id(phone)?;
        if let Some(a) = lock(&self.shared.state).acct_mut(account) {
            a.history_seed = conversations;
        }
        Ok(())
    }

    /// The receipts companions of account `phone` sent to its phone, oldest first.
    pub fn phone_receipts_for(&self, phone: &str) -> Result<Vec<crate::history::PhoneReceipt>> {
        let account = self.account_id(phone)?;
        Ok(lock(&self.shared.state)
            .acct(account)
            .map(|a| a.phone_receipts.clone())
            .unwrap_or_default())
    }

    /// Fault injection: while `true`, downloadable history chunks are stored with one bit
    /// flipped (downloads then fail their hash and MAC checks).
    pub fn set_corrupt_history_media(&self, corrupt: bool) {
        lock(&self.shared.state).faults.corrupt_history_media = corrupt;
    }

    /// Stores `body` in the media store as an upload would (for tests that bring media
    /// encrypted elsewhere) and returns its direct path.
    pub fn store_media(&self, body: Vec<u8>) -> String {
        lock(&self.shared.state).media.store(body)
    }

    /// Fault injection: while `true`, media downloads answer `503`.
    pub fn set_media_unavailable(&self, unavailable: bool) {
        lock(&self.shared.state).media.set_unavailable(unavailable);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_checked() {
        assert_eq!(normalize_phone("+15550001111").unwrap(), "15550001111");
        for bad in ["", "12", "0123456", "1555abc", "123456789012345678901"] {
            assert!(normalize_phone(bad).is_err(), "{bad}");
        }
    }
}
