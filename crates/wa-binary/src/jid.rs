//! WhatsApp IDs (JIDs), modelled on whatsmeow's `types.JID`.
//!
//! String forms (parse and display round-trip):
//!
//! | form | example |
//! |------|---------|
//! | server only | `s.whatsapp.net` |
//! | user | `123@s.whatsapp.net`, `123-456@g.us`, `status@broadcast`, `1@newsletter` |
//! | device | `123:4@s.whatsapp.net`, `9:2@lid`, `5:99@hosted` |
//! | agent and device | `123.1:4@s.whatsapp.net` (always printed with the device) |
//! | interop | `7-123:2@interop` (the integrator is always printed) |

use std::fmt;
use std::str::FromStr;

use crate::error::{DecodeError, JidErrorReason};
use crate::string::Str;

/// AD JID domain type for `s.whatsapp.net`.
pub const WHATSAPP_DOMAIN: u8 = 0;
/// AD JID domain type for `lid`.
pub const LID_DOMAIN: u8 = 1;
/// AD JID domain type for `hosted`.
pub const HOSTED_DOMAIN: u8 = 128;
/// AD JID domain type for `hosted.lid`.
pub const HOSTED_LID_DOMAIN: u8 = 129;

/// The server part of a JID.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Server {
    /// `s.whatsapp.net`: phone-number users.
    User,
    /// `g.us`: groups.
    Group,
    /// `c.us`: legacy user server.
    LegacyUser,
    /// `broadcast`: broadcast lists and `status@broadcast`.
    Broadcast,
    /// `lid`: hidden (LID) users.
    Lid,
    /// `msgr`: Messenger users.
    Messenger,
    /// `interop`: interop users.
    Interop,
    /// `newsletter`: channels.
    Newsletter,
    /// `hosted`: hosted (business API) phone-number users.
    Hosted,
    /// `hosted.lid`: hosted LID users.
    HostedLid,
    /// `bot`: bots.
    Bot,
    /// `call`: call links.
    Call,
    /// Any other server, kept verbatim.
    Other(String),
}

impl Server {
    /// The server string, e.g. `"s.whatsapp.net"`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::User => "s.whatsapp.net",
            Self::Group => "g.us",
            Self::LegacyUser => "c.us",
            Self::Broadcast => "broadcast",
            Self::Lid => "lid",
            Self::Messenger => "msgr",
            Self::Interop => "interop",
            Self::Newsletter => "newsletter",
            Self::Hosted => "hosted",
            Self::HostedLid => "hosted.lid",
            Self::Bot => "bot",
            Self::Call => "call",
            Self::Other(s) => s,
        }
    }

    /// The known server for a string, without allocating; `None` for unknown servers.
    pub fn known(s: &str) -> Option<Self> {
        Some(match s {
            "s.whatsapp.net" => Self::User,
            "g.us" => Self::Group,
            "c.us" => Self::LegacyUser,
            "broadcast" => Self::Broadcast,
            "lid" => Self::Lid,
            "msgr" => Self::Messenger,
            "interop" => Self::Interop,
            "newsletter" => Self::Newsletter,
            "hosted" => Self::Hosted,
            "hosted.lid" => Self::HostedLid,
            "bot" => Self::Bot,
            "call" => Self::Call,
            _ => return None,
        })
    }

    /// The server for a string; unknown servers become [`Server::Other`].
    pub fn parse(s: &str) -> Self {
        Self::known(s).unwrap_or_else(|| Self::Other(s.to_owned()))
    }

    /// The AD JID domain type byte of this server, if it is one of the AD servers.
    pub fn domain_type(&self) -> Option<u8> {
        match self {
            Self::User => Some(WHATSAPP_DOMAIN),
            Self::Lid => Some(LID_DOMAIN),
            Self::Hosted => Some(HOSTED_DOMAIN),
            Self::HostedLid => Some(HOSTED_LID_DOMAIN),
            _ => None,
        }
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A WhatsApp ID: user, server, and for devices an agent and device number; interop JIDs also
/// carry an integrator.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jid {
    user: Str,
    server: Server,
    agent: u8,
    device: u16,
    integrator: u16,
}

impl Default for Jid {
    /// The empty JID (no user, empty server; displays as `""`), like whatsmeow's `EmptyJID`.
    fn default() -> Self {
        Jid::new("", Server::Other(String::new()))
    }
}

impl Jid {
    /// True for the empty JID (empty server), like whatsmeow's `IsEmpty`.
    pub fn is_empty(&self) -> bool {
        self.server.as_str().is_empty()
    }

    /// A regular JID (`user@server`, or just `server` when `user` is empty).
    pub fn new(user: impl Into<Str>, server: Server) -> Self {
        Self {
            user: user.into(),
            server,
            agent: 0,
            device: 0,
            integrator: 0,
        }
    }

    /// An AD JID as decoded from the wire (whatsmeow's `NewADJID`): the domain type selects the
    /// server (`1` = `lid`, `128` = `hosted`, `129` = `hosted.lid`); any other value means
    /// `s.whatsapp.net` with that value kept as the agent.
    pub fn new_ad(user: impl Into<Str>, domain_type: u8, device: u16) -> Self {
        let (server, agent) = match domain_type {
            LID_DOMAIN => (Server::Lid, 0),
            HOSTED_DOMAIN => (Server::Hosted, 0),
            HOSTED_LID_DOMAIN => (Server::HostedLid, 0),
            other => (Server::User, other),
        };
        Self {
            user: user.into(),
            server,
            agent,
            device,
            integrator: 0,
        }
    }

    /// An interop JID (`integrator-user:device@interop`).
    pub fn new_interop(user: impl Into<Str>, device: u16, integrator: u16) -> Self {
        Self {
            user: user.into(),
            server: Server::Interop,
            agent: 0,
            device,
            integrator,
        }
    }

    /// The same JID with this device number.
    pub fn with_device(mut self, device: u16) -> Self {
        self.device = device;
        self
    }

    /// The same JID with this raw agent.
    pub fn with_agent(mut self, agent: u8) -> Self {
        self.agent = agent;
        self
    }

    /// The same JID with this integrator.
    pub fn with_integrator(mut self, integrator: u16) -> Self {
        self.integrator = integrator;
        self
    }

    /// The user part (phone number, LID, group id, …); may be empty.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The user part as stored.
    #[inline]
    pub(crate) fn user_str(&self) -> &Str {
        &self.user
    }

    /// The server.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The device number; 0 is the primary device.
    pub fn device(&self) -> u16 {
        self.device
    }

    /// The raw agent, as whatsmeow's `RawAgent` (0 for most JIDs).
    pub fn agent(&self) -> u8 {
        self.agent
    }

    /// The domain type written in an AD JID: fixed for `lid`/`hosted`/`hosted.lid`, the raw
    /// agent otherwise (whatsmeow's `ActualAgent`).
    pub fn actual_agent(&self) -> u8 {
        match &self.server {
            Server::Lid => LID_DOMAIN,
            Server::Hosted => HOSTED_DOMAIN,
            Server::HostedLid => HOSTED_LID_DOMAIN,
            _ => self.agent,
        }
    }

    /// The integrator of an interop JID (0 otherwise).
    pub fn integrator(&self) -> u16 {
        self.integrator
    }

    /// The JID without agent and device (the integrator is kept), as whatsmeow's `ToNonAD`.
    pub fn to_non_ad(&self) -> Jid {
        Self {
            user: self.user.clone(),
            server: self.server.clone(),
            agent: 0,
            device: 0,
            integrator: self.integrator,
        }
    }

    /// True when the JID names a specific device or carries an agent.
    pub fn is_ad(&self) -> bool {
        self.device != 0 || self.agent != 0
    }

    /// True for group JIDs (`@g.us`).
    pub fn is_group(&self) -> bool {
        self.server == Server::Group
    }

    /// True for broadcast lists, excluding `status@broadcast`.
    pub fn is_broadcast_list(&self) -> bool {
        self.server == Server::Broadcast && self.user != "status"
    }

    /// True for `status@broadcast`.
    pub fn is_status_broadcast(&self) -> bool {
        self.server == Server::Broadcast && self.user == "status"
    }

    /// The user as an integer (phone numbers, LIDs); `None` when it is not a decimal number.
    pub fn user_int(&self) -> Option<u64> {
        self.user.parse().ok()
    }

    /// The Signal address user: `user`, or `user_agent` when the domain type is not 0.
    pub fn signal_address_user(&self) -> String {
        match self.actual_agent() {
            // Copied, not formatted: this runs for every message received.
            0 => self.user.as_str().to_owned(),
            agent => format!("{}_{agent}", self.user),
        }
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.server == Server::Interop {
            write!(f, "{}-{}", self.integrator, self.user)?;
            if self.device > 0 {
                write!(f, ":{}", self.device)?;
            }
            return write!(f, "@{}", self.server);
        }
        if self.agent > 0 {
            write!(
                f,
                "{}.{}:{}@{}",
                self.user, self.agent, self.device, self.server
            )
        } else if self.device > 0 {
            write!(f, "{}:{}@{}", self.user, self.device, self.server)
        } else if !self.user.is_empty() {
            write!(f, "{}@{}", self.user, self.server)
        } else {
            f.write_str(self.server.as_str())
        }
    }
}

fn jid_err(input: &str, reason: JidErrorReason) -> DecodeError {
    DecodeError::InvalidJid {
        input: input.to_owned(),
        reason,
    }
}

impl FromStr for Jid {
    type Err = DecodeError;

    /// Parses the forms listed in the [module docs](self), as whatsmeow's `ParseJID`, plus the
    /// interop integrator prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(jid_err(s, JidErrorReason::Empty));
        }
        let Some((user_part, server)) = s.split_once('@') else {
            return Ok(Jid::new("", Server::parse(s)));
        };
        if server.contains('@') {
            return Err(jid_err(s, JidErrorReason::TooManyAt));
        }
        if server.is_empty() {
            return Err(jid_err(s, JidErrorReason::EmptyServer));
        }
        let server = Server::parse(server);
        let mut jid = Jid::new("", server);
        let mut rest = user_part;
        if jid.server == Server::Interop
            && let Some((integrator, after)) = rest.split_once('-')
        {
            jid.integrator = integrator
                .parse()
                .map_err(|_| jid_err(s, JidErrorReason::BadIntegrator))?;
            rest = after;
        }
        let (user_agent, device) = match rest.split_once(':') {
            Some((ua, dev)) => {
                if dev.contains(':') {
                    return Err(jid_err(s, JidErrorReason::TooManyColons));
                }
                let device: u16 = dev
                    .parse()
                    .map_err(|_| jid_err(s, JidErrorReason::BadDevice))?;
                (ua, device)
            }
            None => (rest, 0),
        };
        jid.device = device;
        if jid.server != Server::Interop
            && let Some((user, agent)) = user_agent.split_once('.')
        {
            if agent.contains('.') {
                return Err(jid_err(s, JidErrorReason::TooManyDots));
            }
            jid.agent = agent
                .parse()
                .map_err(|_| jid_err(s, JidErrorReason::BadAgent))?;
            jid.user = Str::from(user);
        } else {
            jid.user = Str::from(user_agent);
        }
        Ok(jid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(s: &str) -> Jid {
        let jid: Jid = s.parse().unwrap();
        assert_eq!(jid.to_string(), s, "display of {jid:?}");
        let again: Jid = jid.to_string().parse().unwrap();
        assert_eq!(again, jid);
        jid
    }

    #[test]
    fn every_kind_round_trips() {
        let j = rt("123@s.whatsapp.net");
        assert_eq!(
            (j.user(), j.server(), j.device(), j.agent()),
            ("123", &Server::User, 0, 0)
        );
        let j = rt("123:4@s.whatsapp.net");
        assert_eq!(j.device(), 4);
        assert_eq!(j.to_non_ad().to_string(), "123@s.whatsapp.net");
        let j = rt("123.7:4@s.whatsapp.net");
        assert_eq!((j.agent(), j.device()), (7, 4));
        let j = rt("123.7:0@s.whatsapp.net");
        assert_eq!(j.agent(), 7);
        let j = rt("987654:12@lid");
        assert_eq!((j.server(), j.actual_agent()), (&Server::Lid, LID_DOMAIN));
        assert_eq!(rt("555:3@hosted").actual_agent(), HOSTED_DOMAIN);
        assert_eq!(rt("555:3@hosted.lid").actual_agent(), HOSTED_LID_DOMAIN);
        assert!(rt("123-456@g.us").is_group());
        assert!(rt("status@broadcast").is_status_broadcast());
        assert!(rt("1234@broadcast").is_broadcast_list());
        assert_eq!(rt("120363@newsletter").server(), &Server::Newsletter);
        assert_eq!(rt("abc@call").server(), &Server::Call);
        assert_eq!(rt("867051314767696@bot").server(), &Server::Bot);
        assert_eq!(rt("16505361212@c.us").server(), &Server::LegacyUser);
        assert_eq!(rt("100:2@msgr").server(), &Server::Messenger);
        let j = rt("7-123:2@interop");
        assert_eq!((j.integrator(), j.user(), j.device()), (7, "123", 2));
        assert_eq!(j.to_non_ad().to_string(), "7-123@interop");
        assert_eq!(rt("0-12-34@interop").user(), "12-34");
        let j = rt("s.whatsapp.net");
        assert_eq!((j.user(), j.server()), ("", &Server::User));
        assert_eq!(rt("g.us").server(), &Server::Group);
        assert_eq!(
            rt("x@example.org").server(),
            &Server::Other("example.org".into())
        );
    }

    #[test]
    fn parse_errors_are_typed() {
        let reason = |s: &str| match s.parse::<Jid>() {
            Err(DecodeError::InvalidJid { reason, .. }) => reason,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(reason(""), JidErrorReason::Empty);
        assert_eq!(reason("a@b@c"), JidErrorReason::TooManyAt);
        assert_eq!(reason("a@"), JidErrorReason::EmptyServer);
        assert_eq!(reason("a.b.c@s.whatsapp.net"), JidErrorReason::TooManyDots);
        assert_eq!(
            reason("a:1:2@s.whatsapp.net"),
            JidErrorReason::TooManyColons
        );
        assert_eq!(reason("a.x:1@s.whatsapp.net"), JidErrorReason::BadAgent);
        assert_eq!(reason("a.300:1@s.whatsapp.net"), JidErrorReason::BadAgent);
        assert_eq!(reason("a:70000@s.whatsapp.net"), JidErrorReason::BadDevice);
        assert_eq!(reason("a:@s.whatsapp.net"), JidErrorReason::BadDevice);
        assert_eq!(reason("x-1@interop"), JidErrorReason::BadIntegrator);
    }

    #[test]
    fn new_ad_maps_domain_types() {
        assert_eq!(Jid::new_ad("1", 1, 2).to_string(), "1:2@lid");
        assert_eq!(Jid::new_ad("1", 128, 2).to_string(), "1:2@hosted");
        assert_eq!(Jid::new_ad("1", 129, 2).to_string(), "1:2@hosted.lid");
        assert_eq!(Jid::new_ad("1", 0, 2).to_string(), "1:2@s.whatsapp.net");
        assert_eq!(Jid::new_ad("1", 5, 2).to_string(), "1.5:2@s.whatsapp.net");
        assert_eq!(Jid::new_ad("1", 5, 2).signal_address_user(), "1_5");
        assert_eq!(
            "1:2@lid".parse::<Jid>().unwrap().signal_address_user(),
            "1_1"
        );
    }
}
