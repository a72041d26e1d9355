//! WhatsApp's binary XML codec: nodes, token dictionaries and JIDs.
#![forbid(unsafe_code)]
