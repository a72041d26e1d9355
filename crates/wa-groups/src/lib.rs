//! WhatsApp groups and communities, sans-IO: request builders and reply parsers.
//!
//! Every group operation is a value implementing [`IqRequest`]: [`IqRequest::build`] gives the
//! `<iq xmlns="w:g2">` stanza to send (without an `id`: the client assigns it), and
//! [`IqRequest::parse`] turns the server's reply into a typed result. An `<iq type="error">`
//! reply becomes [`GroupError::Server`] with the server's code and text; a reply without the
//! expected shape becomes another [`GroupError`], never a panic. Nothing here does IO.
//!
//! | family | requests |
//! | --- | --- |
//! | [`create`] | [`CreateGroup`] (groups, communities, groups inside a community) |
//! | [`info`] | [`GetGroupInfo`], [`GetJoinedGroups`] |
//! | [`participants`] | [`UpdateParticipants`] (add/remove/promote/demote), [`LeaveGroups`] |
//! | [`settings`] | [`SetSubject`], [`SetDescription`], [`SetAnnounce`], [`SetLocked`], [`SetMemberAddMode`], [`SetEphemeral`], [`SetJoinApproval`] |
//! | [`invite`] | [`GetInviteCode`], [`GetGroupFromLink`], [`JoinWithLink`], [`GetGroupFromInvite`], [`AcceptInvite`], [`RevokeInvites`] |
//! | [`join_requests`] | [`GetJoinRequests`], [`UpdateJoinRequests`] |
//! | [`community`] | [`LinkGroups`], [`UnlinkGroups`], [`GetSubGroups`], [`GetLinkedGroupsParticipants`] |
//!
//! [`parse_group_notification`] turns `w:gp2` notifications into [`GroupChange`]s, and
//! [`participant_hash_v2`] computes the `phash` of a group's device list.
//!
//! ```
//! use wa_binary::{Jid, Node};
//! use wa_groups::{GroupError, IqRequest, ParticipantAction, UpdateParticipants};
//!
//! let group: Jid = "120363000000000001@g.us".parse().unwrap();
//! let alice: Jid = "4915000000001@s.whatsapp.net".parse().unwrap();
//! let req = UpdateParticipants::new(group, ParticipantAction::Add, [alice.clone()]);
//! let stanza = req.build(); // the client sets `id` and sends it
//! assert_eq!(stanza.child("add").map(|a| a.children().len()), Some(1));
//!
//! // The server's answer: alice's privacy settings refused the add, an invite was made.
//! let reply = Node::new("iq")
//!     .attr("type", "result")
//!     .child(
//!         Node::new("add")
//!             .child(
//!                 Node::new("participant")
//!                     .attr("jid", alice)
//!                     .attr("error", "403")
//!                     .child(Node::new("add_request").attr("code", "Xy").attr("expiration", "1700000000").build())
//!                     .build(),
//!             )
//!             .build(),
//!     )
//!     .build();
//! let results = req.parse(&reply)?;
//! assert_eq!(results[0].code, 403);
//! assert_eq!(results[0].add_request.as_ref().map(|r| r.code.as_str()), Some("Xy"));
//!
//! // An error reply is a typed error.
//! let refused = Node::new("iq")
//!     .attr("type", "error")
//!     .child(Node::new("error").attr("code", "401").attr("text", "not-authorized").build())
//!     .build();
//! assert_eq!(req.parse(&refused).unwrap_err().server_code(), Some(401));
//! # Ok::<(), GroupError>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod community;
pub mod create;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod info;
pub mod invite;
pub mod join_requests;
pub mod notification;
#[cfg(test)]
mod notification_tests;
pub mod participants;
mod phash;
pub mod settings;
mod types;
mod util;

pub use community::{GetLinkedGroupsParticipants, GetSubGroups, LinkGroups, UnlinkGroups};
pub use create::CreateGroup;
pub use error::GroupError;
pub use info::{GetGroupInfo, GetJoinedGroups};
pub use invite::{
    AcceptInvite, GetGroupFromInvite, GetGroupFromLink, GetInviteCode, INVITE_LINK_PREFIX, Invite,
    JoinResult, JoinWithLink, RevokeInvites, invite_code, invite_link,
};
pub use join_requests::{GetJoinRequests, JoinRequest, JoinRequestAction, UpdateJoinRequests};
pub use notification::{
    GroupChange, GroupNotification, LinkType, ParticipantsChange, parse_group_notification,
};
pub use participants::{
    LeaveGroups, ParticipantAction, ParticipantResult, ParticipantSpec, UpdateParticipants,
};
pub use phash::participant_hash_v2;
pub use settings::{
    SetAnnounce, SetDescription, SetEphemeral, SetJoinApproval, SetLocked, SetMemberAddMode,
    SetSubject,
};
pub use types::{
    AddRequest, AddressingMode, GroupDescription, GroupInfo, GroupLinkTarget, GroupParticipant,
    MemberAddMode, ParticipantRef,
};
pub use util::{check_reply, group_server};

/// The IQ namespace of group requests.
pub const NAMESPACE: &str = "w:g2";

/// The shared shape of a request/reply pair (architecture pattern P2): a stanza builder and
/// the parser of its reply. The client owns ids, sending, timeouts and matching replies.
pub trait IqRequest {
    /// The typed result of a successful reply.
    type Response;

    /// The `<iq>` to send, with `xmlns`, `type` and `to` (a group JID or `@g.us`) and no `id`.
    fn build(&self) -> wa_binary::Node;

    /// Parses the reply: `<iq type="result">` into [`Self::Response`], `<iq type="error">`
    /// into [`GroupError::Server`], anything malformed into another [`GroupError`].
    fn parse(&self, reply: &wa_binary::Node) -> Result<Self::Response, GroupError>;
}
