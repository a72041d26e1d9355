//! The kinds of media WhatsApp transfers and their per-kind constants.

/// A kind of uploaded file. It fixes the HKDF label the media key is expanded with, the
/// server-side media type (`mms-type`) used in upload and download URLs, and the `mediatype`
/// attribute of the message's `<enc>` node.
///
/// Sticker, GIF and video-note variants share the keys of the format they are stored in (image,
/// video, video), as in whatsmeow and Baileys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaType {
    /// A photo (`imageMessage`).
    Image,
    /// A sticker (`stickerMessage`): image keys and upload path.
    Sticker,
    /// A video (`videoMessage`).
    Video,
    /// A video with `gifPlayback` set: video keys and upload path.
    Gif,
    /// A round video note (`ptvMessage`): video keys and upload path.
    Ptv,
    /// An audio file (`audioMessage`).
    Audio,
    /// A voice note (`audioMessage` with `ptt` set): audio keys and upload path.
    Ptt,
    /// A document (`documentMessage`).
    Document,
    /// A history sync blob (`historySyncNotification`).
    History,
    /// An app state blob (`externalBlobReference`).
    AppState,
    /// A link preview thumbnail (`extendedTextMessage.thumbnailDirectPath`).
    LinkThumbnail,
}

impl MediaType {
    /// Every media type, for iteration in tests and tools.
    pub const ALL: [MediaType; 11] = [
        MediaType::Image,
        MediaType::Sticker,
        MediaType::Video,
        MediaType::Gif,
        MediaType::Ptv,
        MediaType::Audio,
        MediaType::Ptt,
        MediaType::Document,
        MediaType::History,
        MediaType::AppState,
        MediaType::LinkThumbnail,
    ];

    /// The HKDF `info` label the 32-byte media key is expanded with, e.g. `"WhatsApp Image Keys"`.
    pub const fn hkdf_info(self) -> &'static str {
        match self {
            MediaType::Image | MediaType::Sticker => "WhatsApp Image Keys",
            MediaType::Video | MediaType::Gif | MediaType::Ptv => "WhatsApp Video Keys",
            MediaType::Audio | MediaType::Ptt => "WhatsApp Audio Keys",
            MediaType::Document => "WhatsApp Document Keys",
            MediaType::History => "WhatsApp History Keys",
            MediaType::AppState => "WhatsApp App State Keys",
            MediaType::LinkThumbnail => "WhatsApp Link Thumbnail Keys",
        }
    }

    /// The server's name for the media type (whatsmeow's `mms-type`): the last segment of the
    /// upload path and the `mms-type` query parameter of download URLs.
    pub const fn mms_type(self) -> &'static str {
        match self {
            MediaType::Image | MediaType::Sticker => "image",
            MediaType::Video | MediaType::Gif | MediaType::Ptv => "video",
            MediaType::Audio | MediaType::Ptt => "audio",
            MediaType::Document => "document",
            MediaType::History => "md-msg-hist",
            MediaType::AppState => "md-app-state",
            MediaType::LinkThumbnail => "thumbnail-link",
        }
    }

    /// The upload path, `/mms/{mms_type}` (whatsmeow's `Upload`), e.g. `/mms/image`.
    ///
    /// Baileys differs for two kinds: it uploads link thumbnails to `/mms/image` and history
    /// blobs to `/mms/md-app-state`; this crate follows whatsmeow.
    pub const fn upload_path(self) -> &'static str {
        match self {
            MediaType::Image | MediaType::Sticker => "/mms/image",
            MediaType::Video | MediaType::Gif | MediaType::Ptv => "/mms/video",
            MediaType::Audio | MediaType::Ptt => "/mms/audio",
            MediaType::Document => "/mms/document",
            MediaType::History => "/mms/md-msg-hist",
            MediaType::AppState => "/mms/md-app-state",
            MediaType::LinkThumbnail => "/mms/thumbnail-link",
        }
    }

    /// The `mediatype` attribute of the `<enc>` node of a message carrying this media, as
    /// whatsmeow's `getMediaTypeFromMessage` and Baileys' `getMediaType` set it; `None` for kinds
    /// that are not message attachments (and for video notes, which neither library tags).
    pub const fn stanza_media_type(self) -> Option<&'static str> {
        match self {
            MediaType::Image => Some("image"),
            MediaType::Sticker => Some("sticker"),
            MediaType::Video => Some("video"),
            MediaType::Gif => Some("gif"),
            MediaType::Audio => Some("audio"),
            MediaType::Ptt => Some("ptt"),
            MediaType::Document => Some("document"),
            MediaType::Ptv
            | MediaType::History
            | MediaType::AppState
            | MediaType::LinkThumbnail => None,
        }
    }

    /// Whether WhatsApp streams this kind while downloading, so a sidecar (see
    /// [`crate::sidecar`]) goes with it: video and audio kinds.
    pub const fn is_streamable(self) -> bool {
        matches!(
            self,
            MediaType::Video | MediaType::Gif | MediaType::Ptv | MediaType::Audio | MediaType::Ptt
        )
    }

    /// The name Baileys uses for this kind (its `MediaType` string, the key of
    /// `MEDIA_HKDF_KEY_MAPPING`), e.g. `"md-msg-hist"` for history.
    pub const fn baileys_name(self) -> &'static str {
        match self {
            MediaType::Image => "image",
            MediaType::Sticker => "sticker",
            MediaType::Video => "video",
            MediaType::Gif => "gif",
            MediaType::Ptv => "ptv",
            MediaType::Audio => "audio",
            MediaType::Ptt => "ptt",
            MediaType::Document => "document",
            MediaType::History => "md-msg-hist",
            MediaType::AppState => "md-app-state",
            MediaType::LinkThumbnail => "thumbnail-link",
        }
    }
}

/// The error of parsing a [`MediaType`] from a name that is not one of Baileys' media type
/// names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownMediaType(pub String);

impl std::fmt::Display for UnknownMediaType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown media type {:?}", self.0)
    }
}

impl std::error::Error for UnknownMediaType {}

impl std::str::FromStr for MediaType {
    type Err = UnknownMediaType;

    /// Parses a Baileys media type name ([`MediaType::baileys_name`]), e.g. `"ptt"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MediaType::ALL
            .into_iter()
            .find(|t| t.baileys_name() == s)
            .ok_or_else(|| UnknownMediaType(s.to_owned()))
    }
}

impl std::fmt::Display for MediaType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.baileys_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_path_is_mms_slash_mms_type() {
        for t in MediaType::ALL {
            assert_eq!(t.upload_path(), format!("/mms/{}", t.mms_type()), "{t}");
        }
    }

    #[test]
    fn names_round_trip() {
        for t in MediaType::ALL {
            assert_eq!(t.to_string().parse::<MediaType>(), Ok(t));
        }
        assert_eq!(
            "gif!".parse::<MediaType>(),
            Err(UnknownMediaType("gif!".into()))
        );
    }

    #[test]
    fn labels_match_whatsmeow() {
        assert_eq!(MediaType::Image.hkdf_info(), "WhatsApp Image Keys");
        assert_eq!(MediaType::Sticker.hkdf_info(), "WhatsApp Image Keys");
        assert_eq!(MediaType::Ptv.hkdf_info(), "WhatsApp Video Keys");
        assert_eq!(MediaType::Ptt.hkdf_info(), "WhatsApp Audio Keys");
        assert_eq!(MediaType::History.hkdf_info(), "WhatsApp History Keys");
        assert_eq!(MediaType::AppState.hkdf_info(), "WhatsApp App State Keys");
        assert_eq!(
            MediaType::LinkThumbnail.hkdf_info(),
            "WhatsApp Link Thumbnail Keys"
        );
        assert_eq!(MediaType::History.mms_type(), "md-msg-hist");
        assert_eq!(MediaType::Gif.stanza_media_type(), Some("gif"));
        assert_eq!(MediaType::History.stanza_media_type(), None);
        assert!(MediaType::Ptt.is_streamable() && !MediaType::Image.is_streamable());
    }
}
