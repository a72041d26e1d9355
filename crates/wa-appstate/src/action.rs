//! A typed view of the common app-state actions.

use wa_proto::proto::SyncActionValue;

use crate::mutation::Operation;

/// Index names (the first element of a mutation's index) of the actions this crate types.
pub mod index {
    /// Mute a chat (`regular_high`).
    pub const MUTE: &str = "mute";
    /// Pin a chat (`regular_low`).
    pub const PIN: &str = "pin_v1";
    /// Archive a chat (`regular_low`).
    pub const ARCHIVE: &str = "archive";
    /// Mark a chat as read or unread (`regular_low`).
    pub const MARK_CHAT_AS_READ: &str = "markChatAsRead";
    /// Star a message (`regular_high`).
    pub const STAR: &str = "star";
    /// Delete a message for me (`regular_high`).
    pub const DELETE_MESSAGE_FOR_ME: &str = "deleteMessageForMe";
    /// Clear a chat (`regular_high`).
    pub const CLEAR_CHAT: &str = "clearChat";
    /// Delete a chat (`regular_high`).
    pub const DELETE_CHAT: &str = "deleteChat";
    /// A contact of the address book (`critical_unblock_low`).
    pub const CONTACT: &str = "contact";
    /// Our push name (`critical_block`).
    pub const SETTING_PUSH_NAME: &str = "setting_pushName";
    /// Whether new messages unarchive chats (`regular_low`).
    pub const SETTING_UNARCHIVE_CHATS: &str = "setting_unarchiveChats";
    /// Create, edit or delete a label (`regular`).
    pub const LABEL_EDIT: &str = "label_edit";
    /// Label a chat (`regular`).
    pub const LABEL_CHAT: &str = "label_jid";
    /// Label a message (`regular`).
    pub const LABEL_MESSAGE: &str = "label_message";
}

/// A message as app-state indexes name it: chat, message id, whether we sent it, and in groups
/// the sender (`"0"` on the wire when there is none).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageRef {
    /// The chat JID.
    pub chat: String,
    /// The message id.
    pub id: String,
    /// Whether we sent the message (`"1"` / `"0"` in the index).
    pub from_me: bool,
    /// The sender in a group chat, for messages not from us.
    pub participant: Option<String>,
}

impl MessageRef {
    /// The four index elements after the action name.
    pub(crate) fn index_tail(&self) -> [String; 4] {
        [
            self.chat.clone(),
            self.id.clone(),
            if self.from_me { "1" } else { "0" }.to_owned(),
            self.participant.clone().unwrap_or_else(|| "0".to_owned()),
        ]
    }

    /// Reads `[chat, id, from_me, participant?]` starting at `index[1]`.
    fn from_index(index: &[String]) -> Option<Self> {
        let chat = index.get(1)?.clone();
        let id = index.get(2)?.clone();
        let from_me = index.get(3)? == "1";
        let participant = index.get(4).filter(|p| p.as_str() != "0").cloned();
        Some(Self {
            chat,
            id,
            from_me,
            participant,
        })
    }
}

/// What a label association applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LabelTarget {
    /// A whole chat (index `["label_jid", label, chat]`).
    Chat {
        /// The chat JID.
        chat: String,
    },
    /// One message (index `["label_message", label, chat, message id, …]`).
    Message {
        /// The chat JID.
        chat: String,
        /// The message id.
        message_id: String,
    },
}

/// The common app-state actions, read from a mutation's index and value.
///
/// A mutation whose index names one of these but lacks the matching value (or the index
/// arguments) is [`Action::Other`]; so is every other action. The full value always stays on
/// the [`Mutation`](crate::Mutation).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// A chat was muted or unmuted.
    Mute {
        /// The chat JID.
        chat: String,
        /// Whether the chat is muted.
        muted: bool,
        /// When the mute ends (ms since the epoch); absent or -1 means forever.
        end_timestamp_ms: Option<i64>,
    },
    /// A chat was pinned or unpinned.
    Pin {
        /// The chat JID.
        chat: String,
        /// Whether the chat is pinned.
        pinned: bool,
    },
    /// A chat was archived or unarchived.
    Archive {
        /// The chat JID.
        chat: String,
        /// Whether the chat is archived.
        archived: bool,
    },
    /// A chat was marked as read or unread.
    MarkChatAsRead {
        /// The chat JID.
        chat: String,
        /// `true` for read, `false` for marked unread.
        read: bool,
    },
    /// A message was starred or unstarred.
    Star {
        /// The message.
        message: MessageRef,
        /// Whether it is starred.
        starred: bool,
    },
    /// A message was deleted for us only.
    DeleteMessageForMe {
        /// The message.
        message: MessageRef,
        /// Whether its media was deleted too.
        delete_media: bool,
        /// The message's timestamp (seconds), when given.
        message_timestamp: Option<i64>,
    },
    /// A chat was cleared.
    ClearChat {
        /// The chat JID.
        chat: String,
    },
    /// A chat was deleted.
    DeleteChat {
        /// The chat JID.
        chat: String,
    },
    /// A contact was added or edited.
    Contact {
        /// The contact's JID.
        jid: String,
        /// Full name in the address book.
        full_name: Option<String>,
        /// First name in the address book.
        first_name: Option<String>,
        /// The contact's LID, when known.
        lid_jid: Option<String>,
    },
    /// A contact was removed (REMOVE of a `contact` index).
    ContactRemoved {
        /// The contact's JID.
        jid: String,
    },
    /// Our push name changed.
    PushName {
        /// The new name.
        name: String,
    },
    /// The "keep chats archived" setting changed.
    UnarchiveChatsSetting {
        /// Whether new messages unarchive chats.
        unarchive_chats: bool,
    },
    /// A label was created, edited or deleted.
    LabelEdit {
        /// The label id.
        label_id: String,
        /// Its name.
        name: Option<String>,
        /// Its colour index.
        color: Option<i32>,
        /// The id of the predefined label it is, if any.
        predefined_id: Option<i32>,
        /// Whether the label was deleted.
        deleted: bool,
    },
    /// A label was put on or taken off a chat or a message.
    LabelAssociation {
        /// The label id.
        label_id: String,
        /// What is labelled.
        target: LabelTarget,
        /// `true` when the label was added.
        labeled: bool,
    },
    /// Any other action, or a typed one without its value.
    Other,
}

impl Action {
    /// Types the action of a mutation from its operation, index and value.
    pub fn from_parts(
        operation: Operation,
        index: &[String],
        value: Option<&SyncActionValue>,
    ) -> Self {
        Self::typed(operation, index, value).unwrap_or(Self::Other)
    }

    fn typed(
        operation: Operation,
        index: &[String],
        value: Option<&SyncActionValue>,
    ) -> Option<Self> {
        let name = index.first()?.as_str();
        let arg = |i: usize| index.get(i).cloned();
        if name == index::CONTACT && operation == Operation::Remove {
            return Some(Self::ContactRemoved { jid: arg(1)? });
        }
        let v = value?;
        Some(match name {
            index::MUTE => {
                let a = v.mute_action.as_ref()?;
                Self::Mute {
                    chat: arg(1)?,
                    muted: a.muted.unwrap_or(false),
                    end_timestamp_ms: a.mute_end_timestamp,
                }
            }
            index::PIN => Self::Pin {
                chat: arg(1)?,
                pinned: v.pin_action.as_ref()?.pinned.unwrap_or(false),
            },
            index::ARCHIVE => Self::Archive {
                chat: arg(1)?,
                archived: v.archive_chat_action.as_ref()?.archived.unwrap_or(false),
            },
            index::MARK_CHAT_AS_READ => Self::MarkChatAsRead {
                chat: arg(1)?,
                read: v.mark_chat_as_read_action.as_ref()?.read.unwrap_or(false),
            },
            index::STAR => Self::Star {
                starred: v.star_action.as_ref()?.starred.unwrap_or(false),
                message: MessageRef::from_index(index)?,
            },
            index::DELETE_MESSAGE_FOR_ME => {
                let a = v.delete_message_for_me_action.as_ref()?;
                Self::DeleteMessageForMe {
                    message: MessageRef::from_index(index)?,
                    delete_media: a.delete_media.unwrap_or(false),
                    message_timestamp: a.message_timestamp,
                }
            }
            index::CLEAR_CHAT => {
                v.clear_chat_action.as_ref()?;
                Self::ClearChat { chat: arg(1)? }
            }
            index::DELETE_CHAT => {
                v.delete_chat_action.as_ref()?;
                Self::DeleteChat { chat: arg(1)? }
            }
            index::CONTACT => {
                let a = v.contact_action.as_ref()?;
                Self::Contact {
                    jid: arg(1)?,
                    full_name: a.full_name.clone(),
                    first_name: a.first_name.clone(),
                    lid_jid: a.lid_jid.clone(),
                }
            }
            index::SETTING_PUSH_NAME => Self::PushName {
                name: v.push_name_setting.as_ref()?.name.clone()?,
            },
            index::SETTING_UNARCHIVE_CHATS => Self::UnarchiveChatsSetting {
                unarchive_chats: v
                    .unarchive_chats_setting
                    .as_ref()?
                    .unarchive_chats
                    .unwrap_or(false),
            },
            index::LABEL_EDIT => {
                let a = v.label_edit_action.as_ref()?;
                Self::LabelEdit {
                    label_id: arg(1)?,
                    name: a.name.clone(),
                    color: a.color,
                    predefined_id: a.predefined_id,
                    deleted: a.deleted.unwrap_or(false),
                }
            }
            index::LABEL_CHAT | index::LABEL_MESSAGE => {
                let labeled = v
                    .label_association_action
                    .as_ref()?
                    .labeled
                    .unwrap_or(false);
                let target = if name == index::LABEL_CHAT {
                    LabelTarget::Chat { chat: arg(2)? }
                } else {
                    LabelTarget::Message {
                        chat: arg(2)?,
                        message_id: arg(3)?,
                    }
                };
                Self::LabelAssociation {
                    label_id: arg(1)?,
                    target,
                    labeled,
                }
            }
            _ => return None,
        })
    }
}
