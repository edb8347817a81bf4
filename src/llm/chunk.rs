//! One `chat.completion.chunk` as the wire has it, read without building a
//! JSON tree: the text it carries is borrowed from the event where it can
//! be (no allocation per token), and every field is read leniently — a
//! field of another type than expected counts as absent, as servers differ
//! (`null`, `[]`, missing) in what they send where nothing is meant.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A chunk (or a whole non-streamed completion).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Chunk<'a> {
    /// An error object inside a 200 stream.
    #[serde(default)]
    pub error: Option<Value>,
    #[serde(default, borrow, deserialize_with = "text")]
    pub model: Option<Cow<'a, str>>,
    #[serde(default)]
    pub usage: Option<Value>,
    /// `choices`, whatever was there: missing, `null` and `[]` are empty;
    /// an entry that is no object is left out.
    #[serde(default, borrow, deserialize_with = "objects")]
    pub choices: Vec<Choice<'a>>,
}

/// One choice of a chunk.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Choice<'a> {
    #[serde(default)]
    pub index: Option<Value>,
    #[serde(default, borrow, deserialize_with = "text")]
    pub finish_reason: Option<Cow<'a, str>>,
    /// A chunk's `delta`.
    #[serde(default, borrow, deserialize_with = "object")]
    pub delta: Option<Delta<'a>>,
    /// A non-streamed completion's `message`, where a chunk has `delta`.
    #[serde(default, borrow, deserialize_with = "object")]
    pub message: Option<Delta<'a>>,
}

/// What a choice adds to the reply.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Delta<'a> {
    #[serde(default, borrow, deserialize_with = "text")]
    pub content: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    pub reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "text")]
    pub reasoning: Option<Cow<'a, str>>,
    /// Tool-call fragments: rare (a few per reply), read as JSON.
    #[serde(default)]
    pub tool_calls: Option<Value>,
}

impl<'a> Chunk<'a> {
    /// Reads one chunk's JSON text.
    pub fn parse(text: &'a str) -> serde_json::Result<Chunk<'a>> {
        serde_json::from_str(text)
    }

    /// Reads a chunk already parsed as JSON (borrowing its strings).
    pub fn of(value: &'a Value) -> serde_json::Result<Chunk<'a>> {
        Chunk::deserialize(value)
    }
}

/// The visitor methods that answer `$nothing` for what a field may hold
/// besides what it is read for: `scalars` (booleans, numbers, null),
/// `str`, and arrays and objects (`seq`, `map`, consumed unread).
macro_rules! anything_else {
    ($nothing:expr; $($kind:ident),*) => { $(anything_else!(@ $nothing; $kind);)* };
    (@ $nothing:expr; scalars) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($nothing)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($nothing)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($nothing)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($nothing)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok($nothing)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($nothing)
        }
    };
    (@ $nothing:expr; str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($nothing)
        }
    };
    (@ $nothing:expr; seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($nothing)
        }
    };
    (@ $nothing:expr; map) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($nothing)
        }
    };
}

/// A string, or nothing when the field holds anything else.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct Text;
    impl<'de> Visitor<'de> for Text {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
        anything_else!(None; scalars, seq, map);
    }
    d.deserialize_any(Text)
}

/// A `T` read from an object, or nothing when the field holds anything else.
struct MaybeObject<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for MaybeObject<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Object<T> {
            type Value = MaybeObject<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| MaybeObject(Some(t)))
            }
            anything_else!(MaybeObject(None); scalars, str, seq);
        }
        d.deserialize_any(Object(PhantomData))
    }
}

fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    MaybeObject::deserialize(d).map(|m| m.0)
}

/// The objects of an array; none when the field holds anything else.
fn objects<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    struct Objects<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Objects<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(MaybeObject(item)) = seq.next_element::<MaybeObject<T>>()? {
                out.extend(item);
            }
            Ok(out)
        }
        anything_else!(Vec::new(); scalars, str, map);
    }
    d.deserialize_any(Objects(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_content_chunk_borrows_its_text() {
        let text = r#"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}"#;
        let chunk = Chunk::parse(text).unwrap_or_default();
        let content = chunk
            .choices
            .first()
            .and_then(|c| c.delta.as_ref())
            .and_then(|d| d.content.as_ref());
        assert!(
            matches!(content, Some(Cow::Borrowed("word "))),
            "{content:?}"
        );
        assert_eq!(chunk.model.as_deref(), Some("m"));
        // Escapes make the text owned, with the same value.
        let chunk =
            Chunk::parse(r#"{"choices":[{"delta":{"content":"a\nb"}}]}"#).unwrap_or_default();
        let content = chunk
            .choices
            .first()
            .and_then(|c| c.delta.as_ref())
            .and_then(|d| d.content.as_ref());
        assert!(
            matches!(content, Some(Cow::Owned(text)) if text == "a\nb"),
            "{content:?}"
        );
    }

    #[test]
    fn fields_of_another_type_count_as_absent() {
        for text in [
            r#"{"choices":null}"#,
            r#"{"choices":{}}"#,
            r#"{"choices":"x"}"#,
            r#"{"choices":[1,null,"x",[]]}"#,
        ] {
            let chunk = Chunk::parse(text).map(|c| c.choices.len());
            assert_eq!(chunk.ok(), Some(0), "{text}");
        }
        let text = r#"{"model":7,"choices":[{"index":"0","finish_reason":{},"delta":[1],"message":{"content":[{"type":"text"}],"reasoning":5}}]}"#;
        let chunk = Chunk::parse(text).unwrap_or_default();
        let Some(choice) = chunk.choices.first() else {
            panic!("the choice is kept");
        };
        assert!(chunk.model.is_none() && choice.finish_reason.is_none() && choice.delta.is_none());
        let message = choice.message.as_ref();
        assert!(message.is_some_and(|m| m.content.is_none() && m.reasoning.is_none()));
        // Not JSON at all is an error.
        assert!(Chunk::parse("{").is_err());
    }

    #[test]
    fn a_parsed_value_reads_the_same() {
        let value = serde_json::json!({"choices": [{"index": 0, "delta": {"content": "hi",
            "tool_calls": [{"index": 0}]}, "finish_reason": "stop"}], "usage": {"total_tokens": 3}});
        let chunk = Chunk::of(&value).unwrap_or_default();
        let Some(choice) = chunk.choices.first() else {
            panic!("the choice is kept");
        };
        assert_eq!(choice.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            choice.delta.as_ref().and_then(|d| d.content.as_deref()),
            Some("hi")
        );
        assert!(
            choice
                .delta
                .as_ref()
                .is_some_and(|d| d.tool_calls.is_some())
        );
        assert!(chunk.usage.is_some());
    }
}
