//! Bodies checked for shape: serde's derived structs accept an array for an object and do not
//! say which member had the wrong kind, so a bad body is looked at again to name it.

use super::fields::FieldResult;
use serde::Deserialize;
use serde_json::value::RawValue;

/// A body read in place, within the pass over its whole line, instead of kept raw and read
/// again. Like `require_object`, it takes a JSON object only; anything else fails the pass.
/// Boxed: a line's probe holds two bodies of several hundred bytes each, and serde moves the
/// probe by value several times per line.
pub struct InPlace<T>(pub Box<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for InPlace<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Object(std::marker::PhantomData))
            .map(|t| InPlace(Box::new(t)))
    }
}

/// serde's derived structs also accept a JSON array, filling fields by position: `[1, 2]` would
/// silently become a body with id 1. Only objects are bodies.
pub fn require_object(raw: &RawValue, path: &str) -> FieldResult<()> {
    let t = raw.get().trim_start();
    if t.starts_with('{') {
        return Ok(());
    }
    Err(format!(
        "field {path}: a JSON {} where an object was expected",
        kind_of(t)
    ))
}

pub(super) fn kind_of(t: &str) -> &'static str {
    match t.bytes().next() {
        Some(b'[') => "array",
        Some(b'{') => "object",
        Some(b'"') => "string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "boolean",
        _ => "number",
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Shape {
    Object,
    Array,
}

/// serde_json's type errors do not say where they are; for the members whose shape is fixed,
/// find the one of the wrong kind so the reason names it ("field response.data: ...").
pub(super) fn wrong_member(
    raw: &RawValue,
    prefix: &str,
    members: &[(&str, Shape)],
) -> Option<String> {
    let map: std::collections::BTreeMap<&str, &RawValue> = serde_json::from_str(raw.get()).ok()?;
    members.iter().find_map(|(name, shape)| {
        let v = map.get(name)?.get().trim_start();
        let (ok, want) = match shape {
            Shape::Object => (v.starts_with('{'), "an object"),
            Shape::Array => (v.starts_with('['), "an array"),
        };
        (!ok && v != "null").then(|| {
            format!(
                "field {prefix}.{name}: a JSON {} where {want} was expected",
                kind_of(v)
            )
        })
    })
}
