//! Texts that many records repeat: a model, an api key, a provider, a quality, a project, a
//! file name. A log has few of them, and every record carries several, so they are shared:
//! the first distinct texts of a process (up to [`KEPT_AT_MOST`] of them and
//! [`KEPT_BYTES_AT_MOST`] bytes) are kept until it exits and passed around as plain
//! references. Copying or dropping one then touches no counter. A reference-counted text was
//! copied on the thread that parsed its record and dropped on the one that analyzed it, and
//! the two cores fighting over each counter cost about a twentieth of a run. Past the bounds a
//! log with endless distinct keys cannot grow what is kept: its further texts are counted.

use rustc_hash::{FxBuildHasher, FxHashSet};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

/// `s.trim()`, without its walk over characters when neither end can be whitespace: field values
/// rarely have any, and that walk showed in profiles of the parse. A byte above the space and
/// below 0x80 is a whole character that is not white space.
pub fn trimmed(s: &str) -> &str {
    let plain = |b: &u8| *b > b' ' && *b < 0x80;
    match s.as_bytes() {
        [first, .., last] if plain(first) && plain(last) => s,
        [only] if plain(only) => s,
        _ => s.trim(),
    }
}

/// Distinct texts kept for the whole process.
pub const KEPT_AT_MOST: usize = 65_536;
/// Bytes of the kept texts at most.
pub const KEPT_BYTES_AT_MOST: usize = 8 << 20;

/// A shared text. Compared, ordered and hashed as the `str` it holds, whichever way it is held.
///
/// Two words, as a `&str` or an `Arc<str>` is: the pointer to the bytes and the length, whose
/// top bit says the bytes are an `Arc<str>`'s (counted) rather than kept. A record carries
/// seven of these; a tagged enum of the two would make each a word longer.
pub struct Text {
    ptr: NonNull<u8>,
    len: usize,
}

/// The bit of `len` that marks a counted text.
const COUNTED: usize = 1 << (usize::BITS - 1);

// SAFETY: a Text is a `&'static str` or an `Arc<str>`, both of which are Send and Sync.
unsafe impl Send for Text {}
// SAFETY: as above.
unsafe impl Sync for Text {}

impl Text {
    /// The shared copy of `s`.
    pub fn new(s: &str) -> Text {
        if let Some(k) = SEEN.with(|t| t.borrow().get(s).copied()) {
            return Text::kept(k);
        }
        match kept(s) {
            Some(k) => {
                SEEN.with(|t| t.borrow_mut().insert(k));
                Text::kept(k)
            }
            None => Text::counted(s),
        }
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: `raw` is a `&'static str`, or an `Arc<str>` this text holds a count of: valid
        // UTF-8 that lives as long as `self`.
        unsafe { &*self.raw() }
    }

    fn kept(s: &'static str) -> Text {
        Text {
            ptr: NonNull::from(s.as_bytes()).cast(),
            len: s.len(),
        }
    }

    fn counted(s: &str) -> Text {
        // No allocation holds 2^63 bytes, so the top bit of a length is free.
        debug_assert!(s.len() & COUNTED == 0);
        let raw = Arc::into_raw(Arc::<str>::from(s));
        Text {
            // SAFETY: `Arc::into_raw` never gives a null pointer.
            ptr: unsafe { NonNull::new_unchecked(raw as *const u8 as *mut u8) },
            len: s.len() | COUNTED,
        }
    }

    fn is_counted(&self) -> bool {
        self.len & COUNTED != 0
    }

    /// The text as a `str` pointer: for a counted text, the one `Arc::into_raw` gave.
    fn raw(&self) -> *const str {
        std::ptr::slice_from_raw_parts(self.ptr.as_ptr() as *const u8, self.len & !COUNTED)
            as *const str
    }
}

static KEPT: Mutex<Kept> = Mutex::new(Kept {
    texts: FxHashSet::with_hasher(FxBuildHasher),
    bytes: 0,
});

/// The texts kept for the process, and their bytes.
struct Kept {
    texts: FxHashSet<&'static str>,
    bytes: usize,
}

impl Kept {
    /// `s` as kept, keeping it now when fewer than `at_most` texts of fewer than `bytes_at_most`
    /// bytes in all are kept; None past that.
    fn keep(&mut self, s: &str, at_most: usize, bytes_at_most: usize) -> Option<&'static str> {
        if let Some(k) = self.texts.get(s) {
            return Some(k);
        }
        if self.texts.len() >= at_most || self.bytes + s.len() > bytes_at_most {
            return None;
        }
        // Kept until the process exits, by design: within the bounds above.
        let k: &'static str = Box::leak(Box::from(s));
        self.bytes += s.len();
        self.texts.insert(k);
        Some(k)
    }
}

thread_local! {
    /// The kept texts this thread has asked for: most lookups take no lock.
    static SEEN: std::cell::RefCell<FxHashSet<&'static str>> =
        std::cell::RefCell::new(FxHashSet::default());
}

impl Clone for Text {
    fn clone(&self) -> Text {
        if self.is_counted() {
            // SAFETY: `raw` came from `Arc::into_raw`, and this text holds one of its counts.
            unsafe { Arc::increment_strong_count(self.raw()) };
        }
        Text {
            ptr: self.ptr,
            len: self.len,
        }
    }
}

impl Drop for Text {
    fn drop(&mut self) {
        if self.is_counted() {
            // SAFETY: as in `clone`; the count this text held is given back once, here.
            unsafe { drop(Arc::from_raw(self.raw())) };
        }
    }
}

/// `s` as kept for the process, keeping it now if the bounds allow; None past them.
fn kept(s: &str) -> Option<&'static str> {
    KEPT.lock()
        .unwrap_or_else(|e| e.into_inner())
        .keep(s, KEPT_AT_MOST, KEPT_BYTES_AT_MOST)
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::new(s)
    }
}

impl PartialEq for Text {
    fn eq(&self, o: &Text) -> bool {
        self.as_str() == o.as_str()
    }
}

impl Eq for Text {}

impl PartialOrd for Text {
    fn partial_cmp(&self, o: &Text) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Text {
    fn cmp(&self, o: &Text) -> Ordering {
        self.as_str().cmp(o.as_str())
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // As `str` hashes, which `Borrow<str>` requires.
        self.as_str().hash(h)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Text::new(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn trimmed_is_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\u{b}1\u{b}",
            "\u{a0}2K\u{a0}",
            "\u{3000}x",
            "x\u{85}",
            "\u{1f}a\u{1f}",
            "1120",
            "\t2K\n",
            "é",
            "aé",
            "éa",
        ] {
            assert_eq!(trimmed(s), s.trim(), "{s:?}");
        }
        assert_eq!(trimmed("\u{b}1\u{b}"), "1");
        assert_eq!(trimmed("\u{1f}a\u{1f}"), "\u{1f}a\u{1f}");
    }

    proptest::proptest! {
        #[test]
        fn trimmed_is_trim_on_any_text(s in "\\PC{0,6}|[ \t\u{b}\u{a0}\u{85}\u{2000}a1]{0,6}") {
            proptest::prop_assert_eq!(trimmed(&s), s.trim());
        }
    }

    #[test]
    fn a_text_is_the_str_it_holds_however_it_is_held() {
        let kept = Text::new("gemini-3-pro-image");
        let counted = Text::counted("gemini-3-pro-image");
        assert!(!kept.is_counted() && counted.is_counted());
        assert_eq!(kept, counted);
        assert_eq!(kept.cmp(&counted), Ordering::Equal);
        assert!(Text::new("a") < Text::counted("b"));
        let mut m: HashMap<Text, u32> = HashMap::new();
        m.insert(counted, 1);
        assert_eq!(m.get("gemini-3-pro-image"), Some(&1));
        assert_eq!(m.get(&kept), Some(&1));
        assert_eq!(
            format!("{kept} {kept:?}"),
            "gemini-3-pro-image \"gemini-3-pro-image\""
        );
        // The same text is kept once: both are the same reference.
        let (a, b) = (Text::new("sk-x"), Text::new(&String::from("sk-x")));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(&*Text::new(""), "");
        assert_eq!(std::mem::size_of::<Option<Text>>(), 16);
    }

    #[test]
    fn a_counted_text_gives_back_every_count_it_took() {
        let t = Text::counted("sk-past-the-bounds");
        let raw = t.raw();
        // SAFETY: `t` holds a count of `raw`: taking one more keeps the Arc alive here.
        let arc = unsafe {
            Arc::increment_strong_count(raw);
            Arc::from_raw(raw)
        };
        assert_eq!(Arc::strong_count(&arc), 2);
        let copies: Vec<Text> = (0..5).map(|_| t.clone()).collect();
        assert_eq!(Arc::strong_count(&arc), 7);
        assert!(copies.iter().all(|c| c.as_str() == "sk-past-the-bounds"));
        drop(copies);
        drop(t);
        assert_eq!(Arc::strong_count(&arc), 1);
    }

    #[test]
    fn past_the_bounds_nothing_more_is_kept() {
        let mut k = Kept {
            texts: FxHashSet::default(),
            bytes: 0,
        };
        assert_eq!(k.keep("abc", 2, 6), Some("abc"));
        // Already kept: found, whatever the bounds.
        assert_eq!(k.keep("abc", 0, 0), Some("abc"));
        // Two texts of 6 bytes at most: "defg" would make 7.
        assert_eq!(k.keep("defg", 2, 6), None);
        assert_eq!(k.keep("de", 2, 6), Some("de"));
        assert_eq!(k.keep("f", 2, 6), None);
        assert_eq!((k.texts.len(), k.bytes), (2, 5));
    }

    #[test]
    fn a_text_reads_back_as_it_was_written() {
        let t = Text::new("proj_1");
        let json = serde_json::to_string(&t).expect("json");
        assert_eq!(json, "\"proj_1\"");
        let back: Text = serde_json::from_str(&json).expect("text");
        assert_eq!(back, t);
        let escaped: Text = serde_json::from_str("\"a\\\"b\"").expect("text");
        assert_eq!(&*escaped, "a\"b");
    }
}
