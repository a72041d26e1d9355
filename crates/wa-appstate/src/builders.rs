//! Constructors of [`PatchInfo`] for the common actions: the index, collection, schema version
//! and value WhatsApp Web uses for each. They match Baileys' `chatModificationToAppPatch`
//! (checked by `tests/tests/appstate_interop.rs`) except that stars go to `regular_high`, as in
//! whatsmeow's `BuildStar` (Baileys uses `regular_low`).

use wa_proto::proto::SyncActionValue;
use wa_proto::proto::sync_action_value::{
    ArchiveChatAction, ClearChatAction, ContactAction, DeleteChatAction, DeleteMessageForMeAction,
    LabelAssociationAction, LabelEditAction, MarkChatAsReadAction, MuteAction, PinAction,
    PushNameSetting, StarAction,
};

use crate::action::{MessageRef, index};
use crate::collection::Collection;
use crate::encode::{MutationInfo, PatchInfo};
use crate::mutation::Operation;

fn one(
    collection: Collection,
    operation: Operation,
    index: Vec<String>,
    version: i32,
    value: SyncActionValue,
) -> PatchInfo {
    PatchInfo {
        collection,
        mutations: vec![MutationInfo {
            operation,
            index,
            version,
            value,
        }],
    }
}

fn strings<const N: usize>(parts: [&str; N]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

impl PatchInfo {
    /// Mutes (`muted`, until `end_timestamp_ms`, or forever when `None`) or unmutes a chat.
    pub fn mute(chat: &str, muted: bool, end_timestamp_ms: Option<i64>) -> Self {
        let value = SyncActionValue {
            mute_action: Some(MuteAction {
                muted: Some(muted),
                mute_end_timestamp: end_timestamp_ms,
                auto_muted: None,
            }),
            ..Default::default()
        };
        one(
            Collection::RegularHigh,
            Operation::Set,
            strings([index::MUTE, chat]),
            2,
            value,
        )
    }

    /// Pins or unpins a chat.
    pub fn pin(chat: &str, pinned: bool) -> Self {
        let value = SyncActionValue {
            pin_action: Some(PinAction {
                pinned: Some(pinned),
            }),
            ..Default::default()
        };
        one(
            Collection::RegularLow,
            Operation::Set,
            strings([index::PIN, chat]),
            5,
            value,
        )
    }

    /// Archives or unarchives a chat (without a message range).
    pub fn archive(chat: &str, archived: bool) -> Self {
        let value = SyncActionValue {
            archive_chat_action: Some(ArchiveChatAction {
                archived: Some(archived),
                message_range: None,
            }),
            ..Default::default()
        };
        one(
            Collection::RegularLow,
            Operation::Set,
            strings([index::ARCHIVE, chat]),
            3,
            value,
        )
    }

    /// Marks a chat as read (`true`) or unread (without a message range).
    pub fn mark_read(chat: &str, read: bool) -> Self {
        let value = SyncActionValue {
            mark_chat_as_read_action: Some(MarkChatAsReadAction {
                read: Some(read),
                message_range: None,
            }),
            ..Default::default()
        };
        let idx = strings([index::MARK_CHAT_AS_READ, chat]);
        one(Collection::RegularLow, Operation::Set, idx, 3, value)
    }

    /// Stars or unstars a message (`regular_high`, as whatsmeow sends it).
    pub fn star(message: &MessageRef, starred: bool) -> Self {
        let value = SyncActionValue {
            star_action: Some(StarAction {
                starred: Some(starred),
            }),
            ..Default::default()
        };
        let mut idx = vec![index::STAR.to_owned()];
        idx.extend(message.index_tail());
        one(Collection::RegularHigh, Operation::Set, idx, 2, value)
    }

    /// Deletes a message for us only; `message_timestamp` is the message's time in seconds.
    pub fn delete_message_for_me(
        message: &MessageRef,
        delete_media: bool,
        message_timestamp: i64,
    ) -> Self {
        let value = SyncActionValue {
            delete_message_for_me_action: Some(DeleteMessageForMeAction {
                delete_media: Some(delete_media),
                message_timestamp: Some(message_timestamp),
            }),
            ..Default::default()
        };
        let mut idx = vec![index::DELETE_MESSAGE_FOR_ME.to_owned()];
        idx.extend(message.index_tail());
        one(Collection::RegularHigh, Operation::Set, idx, 3, value)
    }

    /// Clears a chat, starred messages included (without a message range).
    pub fn clear_chat(chat: &str) -> Self {
        let value = SyncActionValue {
            clear_chat_action: Some(ClearChatAction {
                message_range: None,
            }),
            ..Default::default()
        };
        let idx = strings([index::CLEAR_CHAT, chat, "1", "0"]);
        one(Collection::RegularHigh, Operation::Set, idx, 6, value)
    }

    /// Deletes a chat (without a message range).
    pub fn delete_chat(chat: &str) -> Self {
        let value = SyncActionValue {
            delete_chat_action: Some(DeleteChatAction {
                message_range: None,
            }),
            ..Default::default()
        };
        let idx = strings([index::DELETE_CHAT, chat, "1"]);
        one(Collection::RegularHigh, Operation::Set, idx, 6, value)
    }

    /// Adds or edits a contact of the address book.
    pub fn contact(jid: &str, contact: ContactAction) -> Self {
        let value = SyncActionValue {
            contact_action: Some(contact),
            ..Default::default()
        };
        let idx = strings([index::CONTACT, jid]);
        one(
            Collection::CriticalUnblockLow,
            Operation::Set,
            idx,
            2,
            value,
        )
    }

    /// Removes a contact from the address book (a REMOVE with an empty contact action).
    pub fn remove_contact(jid: &str) -> Self {
        let value = SyncActionValue {
            contact_action: Some(ContactAction::default()),
            ..Default::default()
        };
        let idx = strings([index::CONTACT, jid]);
        one(
            Collection::CriticalUnblockLow,
            Operation::Remove,
            idx,
            2,
            value,
        )
    }

    /// Sets our push name.
    pub fn push_name(name: &str) -> Self {
        let value = SyncActionValue {
            push_name_setting: Some(PushNameSetting {
                name: Some(name.to_owned()),
            }),
            ..Default::default()
        };
        let idx = strings([index::SETTING_PUSH_NAME]);
        one(Collection::CriticalBlock, Operation::Set, idx, 1, value)
    }

    /// Creates, edits or deletes a label.
    pub fn label_edit(label_id: &str, edit: LabelEditAction) -> Self {
        let value = SyncActionValue {
            label_edit_action: Some(edit),
            ..Default::default()
        };
        let idx = strings([index::LABEL_EDIT, label_id]);
        one(Collection::Regular, Operation::Set, idx, 3, value)
    }

    /// Puts a label on a chat or takes it off.
    pub fn label_chat(label_id: &str, chat: &str, labeled: bool) -> Self {
        let idx = strings([index::LABEL_CHAT, label_id, chat]);
        one(
            Collection::Regular,
            Operation::Set,
            idx,
            3,
            labeled_value(labeled),
        )
    }

    /// Puts a label on a message or takes it off.
    pub fn label_message(label_id: &str, chat: &str, message_id: &str, labeled: bool) -> Self {
        let idx = strings([index::LABEL_MESSAGE, label_id, chat, message_id, "0", "0"]);
        one(
            Collection::Regular,
            Operation::Set,
            idx,
            3,
            labeled_value(labeled),
        )
    }
}

fn labeled_value(labeled: bool) -> SyncActionValue {
    SyncActionValue {
        label_association_action: Some(LabelAssociationAction {
            labeled: Some(labeled),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::{Action, LabelTarget};

    fn action(p: &PatchInfo) -> Action {
        let m = &p.mutations[0];
        Action::from_parts(m.operation, &m.index, Some(&m.value))
    }

    const CHAT: &str = "123@s.whatsapp.net";

    #[test]
    fn builders_read_back_as_their_action() {
        let msg = MessageRef {
            chat: "g@g.us".into(),
            id: "ABC".into(),
            from_me: false,
            participant: Some("9@s.whatsapp.net".into()),
        };
        let cases: Vec<(PatchInfo, Action)> = vec![
            (
                PatchInfo::mute(CHAT, true, Some(99)),
                Action::Mute {
                    chat: CHAT.into(),
                    muted: true,
                    end_timestamp_ms: Some(99),
                },
            ),
            (
                PatchInfo::pin(CHAT, true),
                Action::Pin {
                    chat: CHAT.into(),
                    pinned: true,
                },
            ),
            (
                PatchInfo::archive(CHAT, false),
                Action::Archive {
                    chat: CHAT.into(),
                    archived: false,
                },
            ),
            (
                PatchInfo::mark_read(CHAT, true),
                Action::MarkChatAsRead {
                    chat: CHAT.into(),
                    read: true,
                },
            ),
            (
                PatchInfo::star(&msg, true),
                Action::Star {
                    message: msg.clone(),
                    starred: true,
                },
            ),
            (
                PatchInfo::delete_message_for_me(&msg, true, 1_700_000_000),
                Action::DeleteMessageForMe {
                    message: msg.clone(),
                    delete_media: true,
                    message_timestamp: Some(1_700_000_000),
                },
            ),
            (
                PatchInfo::clear_chat(CHAT),
                Action::ClearChat { chat: CHAT.into() },
            ),
            (
                PatchInfo::delete_chat(CHAT),
                Action::DeleteChat { chat: CHAT.into() },
            ),
            (
                PatchInfo::contact(
                    CHAT,
                    ContactAction {
                        full_name: Some("Ann Lee".into()),
                        first_name: Some("Ann".into()),
                        ..Default::default()
                    },
                ),
                Action::Contact {
                    jid: CHAT.into(),
                    full_name: Some("Ann Lee".into()),
                    first_name: Some("Ann".into()),
                    lid_jid: None,
                },
            ),
            (
                PatchInfo::remove_contact(CHAT),
                Action::ContactRemoved { jid: CHAT.into() },
            ),
            (
                PatchInfo::push_name("Me"),
                Action::PushName { name: "Me".into() },
            ),
            (
                PatchInfo::label_edit(
                    "5",
                    LabelEditAction {
                        name: Some("Work".into()),
                        color: Some(3),
                        ..Default::default()
                    },
                ),
                Action::LabelEdit {
                    label_id: "5".into(),
                    name: Some("Work".into()),
                    color: Some(3),
                    predefined_id: None,
                    deleted: false,
                },
            ),
            (
                PatchInfo::label_chat("5", CHAT, true),
                Action::LabelAssociation {
                    label_id: "5".into(),
                    target: LabelTarget::Chat { chat: CHAT.into() },
                    labeled: true,
                },
            ),
            (
                PatchInfo::label_message("5", CHAT, "M1", false),
                Action::LabelAssociation {
                    label_id: "5".into(),
                    target: LabelTarget::Message {
                        chat: CHAT.into(),
                        message_id: "M1".into(),
                    },
                    labeled: false,
                },
            ),
        ];
        for (patch, want) in cases {
            assert_eq!(action(&patch), want, "{:?}", patch.mutations[0].index);
        }
    }

    #[test]
    fn untyped_and_incomplete_are_other() {
        let p = PatchInfo::mute(CHAT, true, None);
        let m = &p.mutations[0];
        // Value without the matching action, index without its argument, unknown index.
        assert_eq!(
            Action::from_parts(m.operation, &m.index, Some(&SyncActionValue::default())),
            Action::Other
        );
        assert_eq!(
            Action::from_parts(m.operation, &m.index[..1], Some(&m.value)),
            Action::Other
        );
        assert_eq!(
            Action::from_parts(
                Operation::Set,
                &strings(["quick_reply", "1"]),
                Some(&m.value)
            ),
            Action::Other
        );
        assert_eq!(Action::from_parts(Operation::Set, &[], None), Action::Other);
        assert_eq!(
            Action::from_parts(m.operation, &m.index, None),
            Action::Other
        );
        let star = strings(["star", CHAT, "ID"]); // no from_me
        let value = PatchInfo::star(
            &MessageRef {
                chat: CHAT.into(),
                id: "ID".into(),
                from_me: true,
                participant: None,
            },
            true,
        );
        assert_eq!(
            Action::from_parts(Operation::Set, &star, Some(&value.mutations[0].value)),
            Action::Other
        );
        assert_eq!(
            value.mutations[0].index,
            strings(["star", CHAT, "ID", "1", "0"])
        );
    }
}
