//! A session's id: the client's random secret, its only key.

use std::fmt;
use std::hash::{Hash, Hasher};

/// The shortest and longest id accepted: 22 characters of the alphabet
/// below hold 128 random bits, enough that nobody guesses another's.
const MIN_LEN: usize = 22;
const MAX_LEN: usize = 64;

/// A session id, `[A-Za-z0-9_-]{22,64}`, made at random by the client.
///
/// It is a secret: it is compared in constant time, and its `Debug` and
/// `Display` show only its first four characters.
#[derive(Clone, Eq)]
pub(crate) struct SessionId(Box<str>);

impl SessionId {
    /// The id in `text`, or why it is not one (the reason never repeats it).
    pub fn parse(text: &str) -> Result<SessionId, &'static str> {
        if !(MIN_LEN..=MAX_LEN).contains(&text.len()) {
            return Err("session: an id is 22 to 64 characters of A-Z, a-z, 0-9, '_' and '-'");
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err("session: an id has only A-Z, a-z, 0-9, '_' and '-'");
        }
        Ok(SessionId(text.into()))
    }
}

/// Constant time for ids of the same length: a client learns nothing of
/// another session's id from how long a comparison takes.
impl PartialEq for SessionId {
    fn eq(&self, other: &SessionId) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
    }
}

impl Hash for SessionId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}…", &self.0[..4])
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_22_to_64_url_safe_characters() {
        let ok = "abcdefghijklmnopqrstuv";
        assert!(SessionId::parse(ok).is_ok());
        assert!(SessionId::parse(&"A-_9".repeat(16)).is_ok());
        assert!(SessionId::parse(&ok[1..]).is_err(), "21 characters");
        assert!(SessionId::parse(&"a".repeat(65)).is_err());
        assert!(SessionId::parse("abcdefghijklmnopqrstu+").is_err());
        assert!(SessionId::parse("abcdefghijklmnopqrstu%").is_err());
        assert!(SessionId::parse("abcdefghijklmnopqrstué").is_err());
    }

    #[test]
    fn an_id_is_never_shown_whole() {
        let id = SessionId::parse("secretsecretsecretsecret").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id.to_string(), "secr…");
        assert!(!format!("{id:?}").contains("secretsecret"));
        let why = SessionId::parse("secretsecretsecret!!!!!!")
            .err()
            .unwrap_or_default();
        assert!(!why.contains("secret"), "{why}");
    }

    #[test]
    fn equal_ids_are_equal_and_others_not() {
        let a = SessionId::parse(&"a".repeat(22));
        let b = SessionId::parse(&"a".repeat(22));
        let c = SessionId::parse(&"b".repeat(22));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
