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
//! an empty one). It is written out through its owner (`usage::EvidenceOut`), not on its own.

use std::ops::{Deref, DerefMut};

/// A value with a shared empty one to read when there is none.
pub trait Empty: Default + 'static {
    fn empty() -> &'static Self;
}

/// `T`, boxed once it is used; see the module's documentation.
#[derive(Clone, Default)]
pub struct Lean<T>(Option<Box<T>>);

impl<T: Empty> Lean<T> {
    /// The value, when it has a box (this never makes one; a mutable dereference does).
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut()
    }
}

impl<T> Lean<T> {
    /// Whether it has a box (was written to).
    pub fn is_boxed(&self) -> bool {
        self.0.is_some()
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    impl Empty for BTreeSet<String> {
        fn empty() -> &'static Self {
            static EMPTY: BTreeSet<String> = BTreeSet::new();
            &EMPTY
        }
    }

    #[test]
    fn reads_as_empty_and_boxes_only_when_written() {
        let mut l: Lean<BTreeSet<String>> = Lean::default();
        assert!(l.is_empty() && l.0.is_none());
        assert!(!l.contains("a") && l.iter().next().is_none());
        assert!(
            l.get_mut().is_none(),
            "asking for the box does not make one"
        );
        l.insert("a".to_string());
        assert!(l.contains("a") && !l.is_empty());
        assert_ne!(l, Lean::default());
        assert!(l.get_mut().is_some_and(|s| s.contains("a")));
        // a box that holds nothing is still equal to none
        let mut e: Lean<BTreeSet<String>> = Lean::default();
        e.extend(std::iter::empty());
        assert!(e.0.is_some() && e.is_empty());
        assert_eq!(e, Lean::default());
    }

    #[test]
    fn is_one_pointer() {
        assert_eq!(
            std::mem::size_of::<Lean<BTreeSet<String>>>(),
            std::mem::size_of::<usize>()
        );
    }
}
