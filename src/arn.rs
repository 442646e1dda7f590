//! Amazon Resource Names.

use std::fmt;

/// A parsed ARN: `arn:partition:service:region:account:resource`. The resource part keeps
/// its own `:` and `/` separators.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

/// An ARN's five parts, borrowed from its text: what [`Arn`] holds, for a caller that only reads
/// them (a statement's noun looks at every resource of the statement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArnRef<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> ArnRef<'a> {
    /// Splits an ARN; `None` when the text is not one.
    pub fn parse(s: &'a str) -> Option<ArnRef<'a>> {
        let rest = s.strip_prefix("arn:")?;
        let [a, b, c, d] = four_colons(rest)?;
        let (partition, service) = (&rest[..a], &rest[a + 1..b]);
        if partition.is_empty() || service.is_empty() {
            return None;
        }
        Some(ArnRef {
            partition,
            service,
            region: &rest[b + 1..c],
            account: &rest[c + 1..d],
            resource: &rest[d + 1..],
        })
    }
}

/// Where the first four `:` of `rest` (an ARN after its `arn:`) are: the ends of its
/// partition, service, region and account; `None` when it has fewer. They lie within a few
/// dozen bytes, so they are looked for a byte at a time: a `memchr` call for each (or
/// `splitn`'s searcher) cost more than the bytes it skipped, and this is asked of every
/// resource a record names (docs/performance.md, the thirty-sixth round).
pub(crate) fn four_colons(rest: &str) -> Option<[usize; 4]> {
    let mut at = [0; 4];
    let mut found = 0;
    for (i, &b) in rest.as_bytes().iter().enumerate() {
        if b == b':' {
            *at.get_mut(found)? = i;
            found += 1;
            if found == at.len() {
                return Some(at);
            }
        }
    }
    None
}

impl Arn {
    /// Parses an ARN; `None` when the text is not one.
    pub fn parse(s: &str) -> Option<Arn> {
        let a = ArnRef::parse(s)?;
        Some(Arn {
            partition: a.partition.to_string(),
            service: a.service.to_string(),
            region: a.region.to_string(),
            account: a.account.to_string(),
            resource: a.resource.to_string(),
        })
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// The partition a region belongs to, by the region name's prefix, as the partitions' published
/// region patterns give it (the SDKs' `partitions.json`: `cn-…` is aws-cn, `us-gov-…` aws-us-gov,
/// `eusc-…` the European Sovereign Cloud's aws-eusc, `us-iso-…`, `us-isob-…`, `eu-isoe-…` and
/// `us-isof-…` the isolated ones); any other region, and no region (`""`), is in `aws`. An ARN
/// built with the wrong partition names no real resource, so a policy granting it would allow
/// nothing.
// inlined: it runs for each resource of each record, and a call cost 0.1% of the read's
// instructions on growing 200,000 (callgrind), where the body inlined costs none measurable
#[inline(always)]
pub fn partition_for_region(region: &str) -> &'static str {
    // by the first byte first: this runs for every record, and most regions are in `aws`
    match region.as_bytes().first() {
        Some(b'c') if region.starts_with("cn-") => "aws-cn",
        Some(b'e') if region.starts_with("eusc-") => "aws-eusc",
        Some(b'e') if region.starts_with("eu-isoe-") => "aws-iso-e",
        Some(b'u') if region.starts_with("us-gov-") => "aws-us-gov",
        Some(b'u') if region.starts_with("us-iso-") => "aws-iso",
        Some(b'u') if region.starts_with("us-isob-") => "aws-iso-b",
        Some(b'u') if region.starts_with("us-isof-") => "aws-iso-f",
        _ => "aws",
    }
}

/// The five parts of `arn:…` as `splitn` cuts them, whatever they hold: what
/// [`four_colons`]' users are tested against.
#[cfg(test)]
pub(crate) fn split_by_splitn(s: &str) -> Option<[&str; 5]> {
    let mut it = s.strip_prefix("arn:")?.splitn(5, ':');
    Some([it.next()?, it.next()?, it.next()?, it.next()?, it.next()?])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in [
            "arn:aws:s3:::bucket/key/with:colon",
            "arn:aws:lambda:eu-west-1:123456789012:function:f:prod",
            "arn:aws:iam::123456789012:role/path/r",
            "arn:aws-cn:sqs:cn-north-1:123456789012:q",
        ] {
            let a = Arn::parse(s);
            assert_eq!(a.map(|a| a.to_string()).as_deref(), Some(s));
        }
        let r = ArnRef::parse("arn:aws:lambda:eu-west-1:123456789012:function:f:prod");
        assert_eq!(
            r.map(|r| (r.service, r.account, r.resource)),
            Some(("lambda", "123456789012", "function:f:prod"))
        );
        assert!(ArnRef::parse("arn::s3:::b").is_none());
        assert!(Arn::parse("arn:aws").is_none());
        assert!(Arn::parse("not-an-arn").is_none());
    }

    /// Split by `splitn`, as `ArnRef::parse` once did.
    fn by_splitn(s: &str) -> Option<[&str; 5]> {
        let parts = split_by_splitn(s)?;
        (!parts[0].is_empty() && !parts[1].is_empty()).then_some(parts)
    }

    proptest::proptest! {
        /// An ARN is cut where `splitn` cuts it, whatever the text.
        #[test]
        fn an_arn_is_cut_where_splitn_cuts_it(
            s in "(arn:)?(aws|:|s3|::|/|é|b|123){0,10}",
        ) {
            let ours = ArnRef::parse(&s)
                .map(|a| [a.partition, a.service, a.region, a.account, a.resource]);
            proptest::prop_assert_eq!(ours, by_splitn(&s), "{}", s);
        }
    }

    #[test]
    fn partitions() {
        assert_eq!(partition_for_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_for_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_for_region("eusc-de-east-1"), "aws-eusc");
        assert_eq!(partition_for_region("us-iso-east-1"), "aws-iso");
        assert_eq!(partition_for_region("us-isob-east-1"), "aws-iso-b");
        assert_eq!(partition_for_region("eu-isoe-west-1"), "aws-iso-e");
        assert_eq!(partition_for_region("us-isof-south-1"), "aws-iso-f");
        assert_eq!(partition_for_region("eu-central-1"), "aws");
        assert_eq!(partition_for_region("us-east-1"), "aws");
        assert_eq!(partition_for_region("ap-southeast-6"), "aws");
        assert_eq!(partition_for_region(""), "aws");
    }
}
