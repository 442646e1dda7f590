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

use serde::Serialize;
use serde::ser::SerializeStruct;

/// Distinct resources counted exactly (the sketch's k).
pub const EXACT: usize = 256;
const EXAMPLES: usize = 3;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folded {
    /// The `EXACT` smallest hashes of the resources folded in (all of them while fewer),
    /// sorted; empty while every resource folded in is an example (at most `EXAMPLES`), as
    /// most folded grants are: their hashes are made when a resource beyond the examples comes
    /// (so it is empty exactly when the grant folds `EXAMPLES` resources or fewer, whatever
    /// the order). A sorted `Vec`, not a `BTreeSet`: a B-tree node costs some hundred bytes
    /// however few it holds; at most 256 entries, an insert's shift is cheap.
    hashes: Vec<u64>,
    /// The smallest resources folded in, by name, sorted (at most `EXAMPLES`, and room for no
    /// more: the folded grants of a growing account hold some 20,000 of these; a new one
    /// comes seldom once there are `EXAMPLES`).
    examples: Box<[Box<str>]>,
}

fn hash(resource: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(resource.as_bytes())
}

impl Folded {
    /// Notes one resource folded in (a resource seen before changes nothing).
    pub fn add(&mut self, resource: &str) {
        if self.hashes.is_empty() {
            // every resource so far is an example
            if self.example_at(resource).is_ok() {
                return;
            }
            if self.examples.len() < EXAMPLES {
                self.add_example(resource);
                return;
            }
            self.start_hashes();
        }
        self.add_hash(hash(resource));
        self.add_example(resource);
    }

    /// The sketch of the examples, when a resource beyond them comes: until then they were
    /// every resource folded in.
    fn start_hashes(&mut self) {
        self.hashes = self.examples.iter().map(|e| hash(e)).collect();
        self.hashes.sort_unstable();
        self.hashes.dedup();
    }

    fn add_example(&mut self, resource: &str) {
        if self.examples.len() >= EXAMPLES && self.examples.last().is_some_and(|l| resource >= &**l)
        {
            return;
        }
        if let Err(at) = self.example_at(resource) {
            let mut v = std::mem::take(&mut self.examples).into_vec();
            if v.len() == EXAMPLES {
                v.pop();
            }
            v.insert(at, resource.into());
            self.examples = v.into_boxed_slice();
        }
    }

    /// Where `resource` is among the examples (`Err`: where it would go).
    fn example_at(&self, resource: &str) -> Result<usize, usize> {
        self.examples.binary_search_by(|e| (**e).cmp(resource))
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

    pub fn merge(&mut self, o: &Folded) {
        if o.hashes.is_empty() {
            // its examples are all it holds
            for e in &o.examples {
                self.add(e);
            }
            return;
        }
        if self.hashes.is_empty() {
            self.start_hashes();
        }
        for &h in &o.hashes {
            self.add_hash(h);
        }
        for e in &o.examples {
            self.add_example(e);
        }
    }

    /// How many distinct resources were folded in, and whether that is an estimate.
    pub fn distinct(&self) -> (u64, bool) {
        match self.hashes.last() {
            Some(&kth) if self.hashes.len() >= EXACT => {
                let est = (EXACT - 1) as f64 * 2f64.powi(64) / (kth as f64 + 1.0);
                // never less than what was certainly seen
                ((est.round() as u64).max(EXACT as u64), true)
            }
            Some(_) => (self.hashes.len() as u64, false),
            None => (self.examples.len() as u64, false),
        }
    }

    /// Was `resource` one of those folded in? `Some(true)` when its hash is kept (barring a
    /// 64-bit collision), `Some(false)` when it would have been kept and is not, `None` when the
    /// sketch is past its exact range and the resource's hash is not among the kept smallest:
    /// that cannot be told.
    /// An example is certainly one (the examples are kept by name, whatever their hash).
    pub fn contains(&self, resource: &str) -> Option<bool> {
        if self.hashes.is_empty() {
            return Some(self.example_at(resource).is_ok());
        }
        let h = hash(resource);
        if self.hashes.binary_search(&h).is_ok() || self.example_at(resource).is_ok() {
            Some(true)
        } else if self.hashes.len() >= EXACT && self.hashes.last().is_some_and(|&l| h > l) {
            None
        } else {
            Some(false)
        }
    }

    /// The first few resources folded in, by name.
    pub fn examples(&self) -> impl Iterator<Item = &str> {
        self.examples.iter().map(|e| &**e)
    }
}

impl Serialize for Folded {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (distinct, estimated) = self.distinct();
        let mut st = s.serialize_struct("Folded", 3)?;
        st.serialize_field("distinct", &distinct)?;
        st.serialize_field("estimated", &estimated)?;
        st.serialize_field("examples", &self.examples)?;
        st.end()
    }
}

impl schemars::JsonSchema for Folded {
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

    fn folded(range: std::ops::Range<u32>) -> Folded {
        let mut f = Folded::default();
        for i in range {
            f.add(&format!("arn:aws:s3:::b/in/{i:06}.json"));
        }
        f
    }

    proptest::proptest! {
        /// A few resources (the examples alone hold them) or more (the sketch too), in any
        /// order, added one by one or merged from any split: the same summary, exact counts,
        /// the smallest as examples, and membership known.
        #[test]
        fn the_same_summary_whatever_the_order_and_the_split(
            names in proptest::collection::vec("[a-f]", 0..12),
            split in 0usize..12,
        ) {
            let arn = |n: &String| format!("arn:aws:s3:::b/in/{n}.json");
            let whole = {
                let mut f = Folded::default();
                names.iter().for_each(|n| f.add(&arn(n)));
                f
            };
            let mut reversed = Folded::default();
            names.iter().rev().for_each(|n| reversed.add(&arn(n)));
            let split = split.min(names.len());
            let (mut a, mut b) = (Folded::default(), Folded::default());
            names[..split].iter().for_each(|n| a.add(&arn(n)));
            names[split..].iter().for_each(|n| b.add(&arn(n)));
            let mut ba = b.clone();
            a.merge(&b);
            ba.merge(&{
                let mut f = Folded::default();
                names[..split].iter().for_each(|n| f.add(&arn(n)));
                f
            });
            let set: std::collections::BTreeSet<String> = names.iter().map(arn).collect();
            proptest::prop_assert_eq!(&reversed, &whole);
            proptest::prop_assert_eq!(&a, &whole);
            proptest::prop_assert_eq!(&ba, &whole);
            proptest::prop_assert_eq!(whole.distinct(), (set.len() as u64, false));
            proptest::prop_assert_eq!(whole.hashes.is_empty(), set.len() <= EXAMPLES);
            let first: Vec<&str> = set.iter().take(EXAMPLES).map(String::as_str).collect();
            proptest::prop_assert_eq!(whole.examples().collect::<Vec<_>>(), first);
            for n in ["a", "b", "c", "d", "e", "f", "g"] {
                let r = arn(&n.to_string());
                proptest::prop_assert_eq!(whole.contains(&r), Some(set.contains(&r)));
            }
        }
    }

    #[test]
    fn exact_while_small_and_repeats_do_not_count() {
        let mut f = folded(0..200);
        f.add("arn:aws:s3:::b/in/000007.json");
        assert_eq!(f.distinct(), (200, false));
        assert_eq!(
            f.examples().collect::<Vec<_>>(),
            [
                "arn:aws:s3:::b/in/000000.json",
                "arn:aws:s3:::b/in/000001.json",
                "arn:aws:s3:::b/in/000002.json"
            ]
        );
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
        assert_eq!(f.examples().next(), Some(first));
        // its hash is not among the smallest kept (the sketch alone cannot tell)
        assert_ne!(f.hashes.binary_search(&hash(first)).map(|_| ()), Ok(()));
        assert_eq!(f.contains(first), Some(true));
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
