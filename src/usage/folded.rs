//! What a resource folded on read stands for. When policies are to be generalized, an S3 object
//! key is kept only as the directory the policy will name (`b/uploads/*`), and a log stream as
//! its group's streams (`…:log-stream:*`), so memory follows the app's distinct usage and not
//! the number of objects it touched. What the fold hides is summarized here: how many distinct
//! resources went in (exact up to [`EXACT`], then estimated), and the first few by name.
//!
//! The count is a k-minimum-values sketch: the [`EXACT`] smallest 64-bit hashes of the distinct
//! resources. While fewer are seen it is the exact count; beyond, `(k − 1) · 2⁶⁴ / h_k` estimates
//! it (about 6% relative error). Both the sketch and the examples are the smallest of a set, so
//! merging is commutative and the result does not depend on the order records come in.
//!
//! Every resource folded into a pattern starts with the pattern's *stem*, the pattern less its
//! `*` ([`crate::fold::fold_stem`]): `arn:aws:s3:::b/uploads/` for `arn:aws:s3:::b/uploads/*`.
//! The examples are kept without it, back to back in one allocation, and the stem is given
//! back by whoever holds the fold under its pattern. On a growing account's trail the examples
//! were a third of the usage's memory (three 110-byte names and a slice of three pointers a
//! fold; 45 MB of names on 10 M records), and most of each name is the stem. The hashes are
//! of whole names, so folds of different patterns can still be merged once their examples are
//! made whole ([`Folded::detached`]).

use serde::Serialize;
use serde::ser::{SerializeSeq, SerializeStruct};
use smallvec::SmallVec;

/// Distinct resources counted exactly (the sketch's k).
pub const EXACT: usize = 256;
const EXAMPLES: usize = 3;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folded {
    /// The `EXACT` smallest hashes of the resources folded in (all of them while fewer),
    /// sorted, each of the whole name (stem and the rest). Most folded grants of a growing
    /// account hold one to three resources, which fit inline. A sorted list, not a `BTreeSet`:
    /// a B-tree node costs some hundred bytes however few it holds; at most 256 entries, an
    /// insert's shift is cheap.
    hashes: SmallVec<[u64; EXAMPLES]>,
    /// The smallest resources folded in, by name, sorted, at most `EXAMPLES`, each without the
    /// stem, back to back.
    examples: Box<str>,
    /// Where each example ends in `examples`: the first `len` are used.
    ends: [u32; EXAMPLES],
    len: u8,
}

#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Folded>() <= 64);

/// The hash of `stem` followed by `rest`: the hash of the whole name. The name is put together
/// in a buffer each thread keeps (this is asked for each resource folded on read); one longer
/// than any ARN is put together on its own, so a hostile name does not stay in the buffer.
fn hash(stem: &str, rest: &str) -> u64 {
    /// Longer than an ARN can be (IAM's limit is 2,048 characters).
    const KEPT: usize = 4096;
    if stem.is_empty() {
        return xxhash_rust::xxh3::xxh3_64(rest.as_bytes());
    }
    if stem.len() + rest.len() > KEPT {
        return xxhash_rust::xxh3::xxh3_64([stem.as_bytes(), rest.as_bytes()].concat().as_slice());
    }
    thread_local! {
        static NAME: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    NAME.with_borrow_mut(|name| {
        name.clear();
        name.extend_from_slice(stem.as_bytes());
        name.extend_from_slice(rest.as_bytes());
        xxhash_rust::xxh3::xxh3_64(name)
    })
}

impl Folded {
    /// Notes one resource folded in, `stem` followed by `rest` (a resource seen before changes
    /// nothing). Every resource of one fold has the same stem.
    pub fn add(&mut self, stem: &str, rest: &str) {
        self.add_hash(hash(stem, rest));
        self.add_example(rest);
    }

    /// The example at `i`, without its stem.
    fn example(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        self.examples
            .get(start..self.ends[i] as usize)
            .unwrap_or_default()
    }

    /// The examples, without their stem.
    fn rests(&self) -> impl Iterator<Item = &str> {
        (0..usize::from(self.len)).map(|i| self.example(i))
    }

    fn add_example(&mut self, rest: &str) {
        let len = usize::from(self.len);
        if len >= EXAMPLES && rest >= self.example(len - 1) {
            return;
        }
        let (examples, ends, len) = {
            let mut kept: SmallVec<[&str; EXAMPLES + 1]> = self.rests().collect();
            let Err(at) = kept.binary_search(&rest) else {
                return;
            };
            kept.insert(at, rest);
            kept.truncate(EXAMPLES);
            let total: usize = kept.iter().map(|e| e.len()).sum();
            // a name of 4 GB is not one; it is not kept as an example (nor are any after it)
            if u32::try_from(total).is_err() {
                return;
            }
            let mut joined = String::with_capacity(total);
            let mut ends = [0u32; EXAMPLES];
            for (i, e) in kept.iter().enumerate() {
                joined.push_str(e);
                ends[i] = joined.len() as u32;
            }
            (joined.into_boxed_str(), ends, kept.len() as u8)
        };
        self.examples = examples;
        self.ends = ends;
        self.len = len;
    }

    fn add_hash(&mut self, h: u64) {
        let full = self.hashes.len() >= EXACT;
        if full && self.hashes.last().is_some_and(|&l| h >= l) {
            return;
        }
        if let Err(at) = self.hashes.binary_search(&h) {
            self.hashes.insert(at, h);
            if full {
                self.hashes.pop();
            }
        }
    }

    /// Adds what `o` folded in: a fold of the same pattern (the same stem).
    pub fn merge(&mut self, o: &Folded) {
        for &h in &o.hashes {
            self.add_hash(h);
        }
        for e in o.rests() {
            self.add_example(e);
        }
    }

    /// The same fold with whole names as examples (its stem empty): what folds of different
    /// patterns are merged as (the access graph's evidence per action).
    pub fn detached(&self, stem: &str) -> Folded {
        let mut out = Folded {
            hashes: self.hashes.clone(),
            ..Folded::default()
        };
        for e in self.rests() {
            out.add_example(&format!("{stem}{e}"));
        }
        out
    }

    /// How many distinct resources were folded in, and whether that is an estimate.
    pub fn distinct(&self) -> (u64, bool) {
        match self.hashes.last() {
            Some(&kth) if self.hashes.len() >= EXACT => {
                let est = (EXACT - 1) as f64 * 2f64.powi(64) / (kth as f64 + 1.0);
                // never less than what was certainly seen
                ((est.round() as u64).max(EXACT as u64), true)
            }
            _ => (self.hashes.len() as u64, false),
        }
    }

    /// Was `resource` one of those folded in under `stem`? `Some(true)` when its hash is kept
    /// (barring a 64-bit collision), `Some(false)` when it would have been kept and is not,
    /// `None` when the sketch is past its exact range and the resource's hash is not among the
    /// kept smallest: that cannot be told. An example is certainly one (the examples are kept
    /// by name, whatever their hash).
    pub fn contains(&self, stem: &str, resource: &str) -> Option<bool> {
        let h = hash("", resource);
        let example = || {
            resource
                .strip_prefix(stem)
                .is_some_and(|rest| self.rests().any(|e| e == rest))
        };
        if self.hashes.binary_search(&h).is_ok() || example() {
            Some(true)
        } else if self.hashes.len() >= EXACT && self.hashes.last().is_some_and(|&l| h > l) {
            None
        } else {
            Some(false)
        }
    }

    /// The first few resources folded in under `stem`, by name.
    pub fn examples<'a>(&'a self, stem: &'a str) -> impl Iterator<Item = String> + 'a {
        self.rests().map(move |e| format!("{stem}{e}"))
    }

    /// Calls `f` with each of [`Folded::examples`] in turn, put together in `buf` (a
    /// caller's buffer, reused from fold to fold) instead of a `String` each; returns how many
    /// there were.
    pub fn each_example(&self, stem: &str, buf: &mut String, mut f: impl FnMut(&str)) -> usize {
        let mut n = 0;
        for rest in self.rests() {
            buf.clear();
            buf.push_str(stem);
            buf.push_str(rest);
            f(buf);
            n += 1;
        }
        n
    }

    /// Writes it for the spill file ([`super::spill`]): the hashes, then the examples.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        super::spill::varint(out, self.hashes.len() as u64);
        for h in &self.hashes {
            out.extend_from_slice(&h.to_le_bytes());
        }
        out.push(self.len);
        for e in self.rests() {
            super::spill::string(out, e);
        }
    }

    /// Reads what [`Folded::encode`] wrote.
    pub(super) fn decode(
        r: &mut super::spill::Reader<'_>,
    ) -> Result<Folded, super::spill::SpillError> {
        use super::spill::SpillError;
        let n = r.count(8)?;
        if n > EXACT {
            return Err(SpillError::Corrupt("a fold"));
        }
        let mut out = Folded::default();
        for _ in 0..n {
            let b: [u8; 8] = r
                .bytes(8)?
                .try_into()
                .map_err(|_| SpillError::Corrupt("a fold"))?;
            out.hashes.push(u64::from_le_bytes(b));
        }
        let len = r.byte()?;
        if usize::from(len) > EXAMPLES {
            return Err(SpillError::Corrupt("a fold"));
        }
        let mut joined = String::new();
        for i in 0..usize::from(len) {
            joined.push_str(r.str()?);
            out.ends[i] = u32::try_from(joined.len()).map_err(|_| SpillError::Corrupt("a fold"))?;
        }
        out.examples = joined.into_boxed_str();
        out.len = len;
        Ok(out)
    }

    /// How it is written out, under `stem`.
    pub fn out<'a>(&'a self, stem: &'a str) -> FoldedOut<'a> {
        FoldedOut { folded: self, stem }
    }
}

/// A [`Folded`] as it is written out: its examples whole.
pub struct FoldedOut<'a> {
    folded: &'a Folded,
    stem: &'a str,
}

impl Serialize for FoldedOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The examples, each written as the stem and the rest (not copied into one string).
        struct Examples<'a>(&'a FoldedOut<'a>);
        struct Whole<'a>(&'a str, &'a str);
        impl Serialize for Whole<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&format_args!("{}{}", self.0, self.1))
            }
        }
        impl Serialize for Examples<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let f = self.0.folded;
                let mut seq = s.serialize_seq(Some(usize::from(f.len)))?;
                for e in f.rests() {
                    seq.serialize_element(&Whole(self.0.stem, e))?;
                }
                seq.end()
            }
        }
        let (distinct, estimated) = self.folded.distinct();
        let mut st = s.serialize_struct("Folded", 3)?;
        st.serialize_field("distinct", &distinct)?;
        st.serialize_field("estimated", &estimated)?;
        st.serialize_field("examples", &Examples(self))?;
        st.end()
    }
}

impl schemars::JsonSchema for FoldedOut<'_> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Folded".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Resources folded into one pattern: how many distinct ones (estimated past a bound), and a few examples.",
            "type": "object",
            "required": ["distinct", "estimated", "examples"],
            "additionalProperties": false,
            "properties": {
                "distinct": {"type": "integer", "minimum": 0},
                "estimated": {"type": "boolean"},
                "examples": {"type": "array", "items": {"type": "string"}}
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEM: &str = "arn:aws:s3:::b/in/";

    fn folded(range: std::ops::Range<u32>) -> Folded {
        let mut f = Folded::default();
        for i in range {
            f.add(STEM, &format!("{i:06}.json"));
        }
        f
    }

    fn examples(f: &Folded) -> Vec<String> {
        f.examples(STEM).collect()
    }

    /// The examples put together in one buffer are the examples, in order, and counted.
    #[test]
    fn each_example_is_an_example_in_order() {
        for f in [
            Folded::default(),
            folded(0..1),
            folded(0..2),
            folded(0..500),
        ] {
            let mut got = Vec::new();
            let mut buf = String::from("left over");
            let n = f.each_example(STEM, &mut buf, |e| got.push(e.to_string()));
            assert_eq!(got, examples(&f));
            assert_eq!(n, got.len());
        }
    }

    proptest::proptest! {
        /// A few resources (the inline hashes hold them) or more, in any order, added one by
        /// one or merged from any split: the same summary, exact counts, the smallest as
        /// examples, and membership known.
        #[test]
        fn the_same_summary_whatever_the_order_and_the_split(
            names in proptest::collection::vec("[a-f]", 0..12),
            split in 0usize..12,
        ) {
            let rest = |n: &String| format!("{n}.json");
            let fold = |names: &[String]| {
                let mut f = Folded::default();
                names.iter().for_each(|n| f.add(STEM, &rest(n)));
                f
            };
            let whole = fold(&names);
            let reversed: Vec<String> = names.iter().rev().cloned().collect();
            let split = split.min(names.len());
            let (mut a, b) = (fold(&names[..split]), fold(&names[split..]));
            let mut ba = b.clone();
            a.merge(&b);
            ba.merge(&fold(&names[..split]));
            let set: std::collections::BTreeSet<String> =
                names.iter().map(|n| format!("{STEM}{}", rest(n))).collect();
            proptest::prop_assert_eq!(&fold(&reversed), &whole);
            proptest::prop_assert_eq!(&a, &whole);
            proptest::prop_assert_eq!(&ba, &whole);
            proptest::prop_assert_eq!(whole.distinct(), (set.len() as u64, false));
            proptest::prop_assert_eq!(whole.hashes.spilled(), set.len() > EXAMPLES);
            let first: Vec<String> = set.iter().take(EXAMPLES).cloned().collect();
            proptest::prop_assert_eq!(examples(&whole), first);
            for n in ["a", "b", "c", "d", "e", "f", "g"] {
                let r = format!("{STEM}{}", rest(&n.to_string()));
                proptest::prop_assert_eq!(whole.contains(STEM, &r), Some(set.contains(&r)));
            }
        }

        /// Folds of two patterns, made whole and merged (the access graph's evidence per
        /// action), count the resources of both and keep the smallest whole names: a name
        /// that is the same after two different stems is two resources.
        #[test]
        fn detached_folds_of_different_patterns_merge_as_whole_names(
            a in proptest::collection::btree_set("[a-d]", 0..6),
            b in proptest::collection::btree_set("[a-d]", 0..6),
        ) {
            let (sa, sb) = ("arn:aws:s3:::b/x/", "arn:aws:s3:::b/");
            let mut fa = Folded::default();
            a.iter().for_each(|n| fa.add(sa, n));
            let mut fb = Folded::default();
            b.iter().for_each(|n| fb.add(sb, n));
            let mut merged = fa.detached(sa);
            merged.merge(&fb.detached(sb));
            let mut whole = Folded::default();
            let names: std::collections::BTreeSet<String> = a
                .iter()
                .map(|n| format!("{sa}{n}"))
                .chain(b.iter().map(|n| format!("{sb}{n}")))
                .collect();
            names.iter().for_each(|n| whole.add("", n));
            proptest::prop_assert_eq!(&merged, &whole);
            proptest::prop_assert_eq!(merged.distinct(), (names.len() as u64, false));
            let first: Vec<String> = names.iter().take(EXAMPLES).cloned().collect();
            proptest::prop_assert_eq!(merged.examples("").collect::<Vec<_>>(), first);
        }
    }

    #[test]
    fn exact_while_small_and_repeats_do_not_count() {
        let mut f = folded(0..200);
        f.add(STEM, "000007.json");
        assert_eq!(f.distinct(), (200, false));
        assert_eq!(
            examples(&f),
            [
                "arn:aws:s3:::b/in/000000.json",
                "arn:aws:s3:::b/in/000001.json",
                "arn:aws:s3:::b/in/000002.json"
            ]
        );
    }

    /// The examples are kept without their stem, in one allocation, and written out whole.
    #[test]
    fn examples_are_kept_without_the_stem_and_written_whole() {
        let f = folded(0..5);
        assert_eq!(&*f.examples, "000000.json000001.json000002.json");
        let v = serde_json::to_value(f.out(STEM)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "distinct": 5,
                "estimated": false,
                "examples": [
                    "arn:aws:s3:::b/in/000000.json",
                    "arn:aws:s3:::b/in/000001.json",
                    "arn:aws:s3:::b/in/000002.json"
                ]
            })
        );
        // what needs escaping is escaped, across the stem and the rest
        let mut g = Folded::default();
        g.add("arn:aws:s3:::b/\"q\"/", "a\\b\n.json");
        assert_eq!(
            serde_json::to_string(&g.out("arn:aws:s3:::b/\"q\"/")).unwrap(),
            r#"{"distinct":1,"estimated":false,"examples":["arn:aws:s3:::b/\"q\"/a\\b\n.json"]}"#
        );
    }

    /// The hash of a stem and a rest is the hash of the whole name, however long, one after
    /// the other (the buffer is reused).
    #[test]
    fn a_stem_and_a_rest_hash_as_the_whole_name() {
        for n in [
            5_000,
            0,
            10,
            4_096 - STEM.len(),
            4_097 - STEM.len(),
            100_000,
        ] {
            assert_eq!(
                hash("", &"k".repeat(n)),
                xxhash_rust::xxh3::xxh3_64("k".repeat(n).as_bytes())
            );
            let rest = "k".repeat(n);
            assert_eq!(
                hash(STEM, &rest),
                xxhash_rust::xxh3::xxh3_64(format!("{STEM}{rest}").as_bytes())
            );
        }
    }

    #[test]
    fn estimates_large_counts_within_a_few_percent() {
        for n in [1_000u32, 20_000, 200_000] {
            let (d, est) = folded(0..n).distinct();
            assert!(est);
            let err = (d as f64 - f64::from(n)).abs() / f64::from(n);
            assert!(err < 0.15, "{n} estimated as {d}");
        }
    }

    #[test]
    fn an_example_is_known_to_be_in_past_the_exact_range() {
        let f = folded(0..20_000);
        let first = "arn:aws:s3:::b/in/000000.json";
        assert_eq!(examples(&f).first().map(String::as_str), Some(first));
        // its hash is not among the smallest kept (the sketch alone cannot tell)
        assert_ne!(f.hashes.binary_search(&hash("", first)).map(|_| ()), Ok(()));
        assert_eq!(f.contains(STEM, first), Some(true));
    }

    #[test]
    fn merging_does_not_depend_on_order_or_split() {
        let whole = folded(0..5_000);
        let mut a = folded(2_000..5_000);
        a.merge(&folded(0..2_500));
        let mut b = folded(0..1_000);
        b.merge(&folded(1_000..5_000));
        assert_eq!(a, whole);
        assert_eq!(b, whole);
    }
}
