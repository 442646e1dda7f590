//! [`Lean`]: a collection that is almost always empty, kept as one pointer until it is not.
//!
//! Every grant's evidence has parts that are empty for nearly all grants (who made calls on
//! the principal's behalf and how many, the calls of Lambda's platform, unresolved resource
//! parts, conditions, extra reasons). As plain collections they were 96 of the evidence's 184
//! bytes, in every slot of every grant table the read phase holds. As four `Lean` sets they
//! were 32; now they are one `Lean` of all of them (`usage::Rare`), 8 bytes, with the two
//! counters, and cost a box only once the grant has one of them.
//!
//! A `Lean<T>` reads as a `T` (an empty one when there is none), and writes as a `T` too: the
//! first mutable use makes the box. So a write that adds nothing (extending by an empty set)
//! should be skipped by its caller, or it makes a box for nothing (it still compares equal to
//! an empty one).

use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};

/// A collection with a shared empty value to read when there is none.
pub trait Empty: Default + 'static {
    fn empty() -> &'static Self;
    fn is_empty(&self) -> bool;
}

impl Empty for BTreeSet<String> {
    fn empty() -> &'static Self {
        static EMPTY: BTreeSet<String> = BTreeSet::new();
        &EMPTY
    }
    fn is_empty(&self) -> bool {
        BTreeSet::is_empty(self)
    }
}

/// `T`, boxed once it is used; see the module's documentation.
#[derive(Clone, Default)]
pub struct Lean<T>(Option<Box<T>>);

impl<T: Empty> Lean<T> {
    pub fn is_empty(&self) -> bool {
        self.0.as_deref().is_none_or(Empty::is_empty)
    }

    /// The value, when it has a box (this never makes one; a mutable dereference does).
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut()
    }

    /// Empties it, and gives the box back.
    pub fn clear(&mut self) {
        self.0 = None;
    }
}

impl<T: Empty> From<T> for Lean<T> {
    fn from(t: T) -> Self {
        Lean((!t.is_empty()).then(|| Box::new(t)))
    }
}

impl<T: Empty> Deref for Lean<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(t) => t,
            None => T::empty(),
        }
    }
}

impl<T: Empty> DerefMut for Lean<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Empty + PartialEq> PartialEq for Lean<T> {
    fn eq(&self, o: &Self) -> bool {
        **self == **o
    }
}

impl<T: Empty + Eq> Eq for Lean<T> {}

impl<T: Empty + std::fmt::Debug> std::fmt::Debug for Lean<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: Empty + serde::Serialize> serde::Serialize for Lean<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<T: Empty + schemars::JsonSchema> schemars::JsonSchema for Lean<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(g)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_empty_and_boxes_only_when_written() {
        let mut l: Lean<BTreeSet<String>> = Lean::default();
        assert!(l.is_empty() && l.0.is_none());
        assert!(!l.contains("a") && l.iter().next().is_none());
        assert_eq!(l, Lean::from(BTreeSet::new()));
        assert!(Lean::from(BTreeSet::<String>::new()).0.is_none());
        l.insert("a".to_string());
        assert!(l.contains("a") && !l.is_empty());
        assert_ne!(l, Lean::default());
        l.clear();
        assert!(l.0.is_none());
        // a box that holds nothing is still equal to none
        let mut e: Lean<BTreeSet<String>> = Lean::default();
        e.extend(std::iter::empty());
        assert!(e.0.is_some() && e.is_empty());
        assert_eq!(e, Lean::default());
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            serde_json::to_string(&Lean::<BTreeSet<String>>::default()).unwrap()
        );
    }

    #[test]
    fn is_one_pointer() {
        assert_eq!(
            std::mem::size_of::<Lean<BTreeSet<String>>>(),
            std::mem::size_of::<usize>()
        );
    }
}
