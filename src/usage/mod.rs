//! Aggregated usage with evidence. Memory grows with distinct (principal, action, resource),
//! never with the number of events: each aggregate is a set of counters.

mod collect;
pub mod event_id;
pub mod folded;
pub mod lean;
pub mod progress;
pub mod spill;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::Serialize;

pub use event_id::EventId;
pub use folded::{Folded, FoldedOut};
pub use lean::Lean;
pub use spill::{Spill, SpillError, Spilled};

pub use collect::{AthenaStats, Stats, collect, collect_paths, collect_rows, collect_stream};

use crate::identity::{
    Actor, ActorOf, ActorRef, Attribution, FunctionFacts, Inventory, PrincipalKind, SessionIs,
    SessionSeen, function_name_of, role_name,
};
use crate::mapping::{Class, Mapping};
use crate::model::{Action, ArnPattern, Conditions, Seen, Window};
use crate::record::Record;

/// The evidence behind one grant: how often, when, and one event to look at.
///
/// Every grant table the read phase holds has one in each slot, so what nearly every grant
/// lacks (calls made on the principal's behalf, unresolved parts, conditions, extra reasons) is
/// kept in one box that exists only once something is there ([`Rare`]): 80 bytes a grant
/// instead of 120. It serializes as [`EvidenceOut`], the fields side by side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// How many calls, and the first and last time.
    pub seen: Seen,
    /// The event id of the earliest call (calls with a time before those without; ties: the
    /// smallest id), so it is the same whatever order the records came in.
    pub event_id: EventId,
    rare: Lean<Rare>,
    /// The resource is a pattern the exact resources were folded into as they were read
    /// (`b/uploads/*`): how many there were, and the first few.
    pub folded: Option<Box<Folded>>,
    /// Some call carried no condition, so the grant cannot be conditioned.
    unconditional: bool,
}

// A grant table's slot is a 40-byte key (`Slot`: two names and their hash) and an `Evidence`:
// keep it this small.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Evidence>() <= 80);

/// The parts of a grant's evidence that nearly every grant lacks ([`Evidence`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rare {
    service_made: u64,
    invoked_by: BTreeSet<String>,
    platform: u64,
    unresolved: BTreeSet<String>,
    /// Shared: a role's policy scoped per function gives each of a function's grants the same
    /// condition (`synth::scope`), which as a copy each was some 1.8 KB a grant.
    conditions: Option<std::sync::Arc<Conditions>>,
    extra: BTreeSet<String>,
}

/// The conditions of evidence that has none.
static NO_CONDITIONS: Conditions = BTreeMap::new();

static NO_RARE: Rare = Rare {
    service_made: 0,
    invoked_by: BTreeSet::new(),
    platform: 0,
    unresolved: BTreeSet::new(),
    conditions: None,
    extra: BTreeSet::new(),
};

impl lean::Empty for Rare {
    fn empty() -> &'static Self {
        &NO_RARE
    }
}

/// The evidence behind one grant: how often, when, and one event to look at.
// (an [`Evidence`] as it is written out: the JSON outputs' evidence rows). Written by
// [`EvidenceOut::fields`]; the `serde` attributes below are its schema's (`schemars` reads
// them), and `fields` writes what they say.
#[derive(schemars::JsonSchema)]
#[schemars(rename = "Evidence")]
pub struct EvidenceOut<'a> {
    /// How many calls, and the first and last time.
    #[serde(flatten)]
    pub seen: &'a Seen,
    /// The event id of the earliest call (calls with a time before those without; ties: the
    /// smallest id), so it is the same whatever order the records came in.
    #[serde(skip_serializing_if = "EventId::is_empty")]
    pub event_id: &'a EventId,
    /// Calls made by AWS on the principal's behalf (`invokedBy`), out of `count`.
    #[serde(skip_serializing_if = "is_zero")]
    pub service_made: u64,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub invoked_by: &'a BTreeSet<String>,
    /// Calls Lambda's platform made with the execution role (not the function's code), out
    /// of `count`. Counted only for sessions that may be functions.
    #[serde(skip_serializing_if = "is_zero")]
    pub platform: u64,
    /// Parts of the resource the records did not give (filled with `*`).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub unresolved: &'a BTreeSet<String>,
    /// Conditions every one of these calls satisfied (`iam:PassedToService`, `kms:ViaService`),
    /// as a policy `Condition` block; empty when some call had none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: &'a Conditions,
    /// Why the calls needed this beyond their own action (`passrole`, `tag-on-create`,
    /// `set-on-create`, `sse-kms`).
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub extra: &'a BTreeSet<String>,
    /// The resource is a pattern the exact resources were folded into as they were read
    /// (`b/uploads/*`): how many there were, and the first few.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folded: Option<FoldedOut<'a>>,
}

impl EvidenceOut<'_> {
    /// Writes its fields into a struct being written, in the order and with the omissions its
    /// schema's attributes name: the evidence rows write them beside their action and resource
    /// (`report::EvidenceRow`). Through `serde(flatten)`, each field was written as a map's
    /// entry: 17 M instructions more on the growing benchmark trail, where writing the
    /// evidence rows is some 2.7% of the CPU (docs/performance.md, the thirty-sixth round).
    pub fn fields<M: serde::ser::SerializeStruct>(&self, m: &mut M) -> Result<(), M::Error> {
        self.seen.fields(m)?;
        if !self.event_id.is_empty() {
            m.serialize_field("event_id", self.event_id)?;
        }
        if !is_zero(&self.service_made) {
            m.serialize_field("service_made", &self.service_made)?;
        }
        if !self.invoked_by.is_empty() {
            m.serialize_field("invoked_by", self.invoked_by)?;
        }
        if !is_zero(&self.platform) {
            m.serialize_field("platform", &self.platform)?;
        }
        if !self.unresolved.is_empty() {
            m.serialize_field("unresolved", self.unresolved)?;
        }
        if !self.conditions.is_empty() {
            m.serialize_field("conditions", self.conditions)?;
        }
        if !self.extra.is_empty() {
            m.serialize_field("extra", self.extra)?;
        }
        if let Some(f) = &self.folded {
            m.serialize_field("folded", f)?;
        }
        Ok(())
    }

    /// How many fields [`EvidenceOut::fields`] writes.
    pub fn field_count(&self) -> usize {
        3 + usize::from(!self.event_id.is_empty())
            + usize::from(self.service_made != 0)
            + usize::from(!self.invoked_by.is_empty())
            + usize::from(self.platform != 0)
            + usize::from(!self.unresolved.is_empty())
            + usize::from(!self.conditions.is_empty())
            + usize::from(!self.extra.is_empty())
            + usize::from(self.folded.is_some())
    }
}

impl Serialize for EvidenceOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Evidence", self.field_count())?;
        self.fields(&mut m)?;
        m.end()
    }
}

/// An evidence on its own, away from its grant's resource: its fold's examples (if any) must be
/// whole, as [`Evidence::detached`] makes them. Under a resource, write [`Evidence::out`].
impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.out("").serialize(s)
    }
}

impl schemars::JsonSchema for Evidence {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        EvidenceOut::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        EvidenceOut::schema_id()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        EvidenceOut::json_schema(g)
    }
}

/// Who made the calls behind a grant.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// The principal's own code (at least one call).
    Code,
    /// Only AWS services on the principal's behalf (`invokedBy`).
    Service,
    /// Only Lambda's platform with the execution role.
    LambdaPlatform,
}

fn cond_keys(c: &Conditions) -> BTreeSet<(&str, &str)> {
    c.iter()
        .flat_map(|(op, keys)| keys.keys().map(move |k| (op.as_str(), k.as_str())))
        .collect()
}

/// Adds every value of `from` under its operator and key.
fn add_conditions(into: &mut Conditions, from: &Conditions) {
    for (op, keys) in from {
        let into = into.entry(op.clone()).or_default();
        for (k, vals) in keys {
            into.entry(k.clone())
                .or_default()
                .extend(vals.iter().cloned());
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Adds `s` to `set` unless it is there (a copy is made only for a new one).
fn insert_new(set: &mut BTreeSet<String>, s: &str) {
    if !set.contains(s) {
        set.insert(s.to_string());
    }
}

impl Evidence {
    /// No calls yet; `time` and `event_id` are those of the first call to be observed (`None`
    /// when it has no time).
    pub fn new(time: Option<DateTime<Utc>>, event_id: &str) -> Evidence {
        Evidence {
            seen: Seen {
                count: 0,
                first_seen: time,
                last_seen: time,
            },
            event_id: EventId::new(event_id),
            rare: Lean::default(),
            folded: None,
            unconditional: false,
        }
    }

    /// How it is written out, as the evidence of a grant on `resource` (a fold keeps its
    /// examples without the pattern's stem: [`Folded`]).
    pub fn out<'a>(&'a self, resource: &'a str) -> EvidenceOut<'a> {
        let r = &*self.rare;
        EvidenceOut {
            seen: &self.seen,
            event_id: &self.event_id,
            service_made: r.service_made,
            invoked_by: &r.invoked_by,
            platform: r.platform,
            unresolved: &r.unresolved,
            conditions: r.conditions.as_deref().unwrap_or(&NO_CONDITIONS),
            extra: &r.extra,
            folded: self
                .folded
                .as_deref()
                .map(|f| f.out(crate::fold::fold_stem(resource))),
        }
    }

    /// The same evidence away from its grant's resource: a fold's examples made whole, so
    /// it can be merged with the evidence of other resources (the access graph's per action)
    /// and written on its own.
    pub fn detached(&self, resource: &str) -> Evidence {
        let mut e = self.clone();
        if let Some(f) = &mut e.folded {
            **f = f.detached(crate::fold::fold_stem(resource));
        }
        e
    }

    /// Calls made by AWS on the principal's behalf (`invokedBy`), out of `count`.
    pub fn service_made(&self) -> u64 {
        self.rare.service_made
    }

    /// The services that made calls on the principal's behalf.
    pub fn invoked_by(&self) -> &BTreeSet<String> {
        &self.rare.invoked_by
    }

    /// Calls Lambda's platform made with the execution role, out of `count`.
    pub fn platform(&self) -> u64 {
        self.rare.platform
    }

    /// Parts of the resource the records did not give (filled with `*`).
    pub fn unresolved(&self) -> &BTreeSet<String> {
        &self.rare.unresolved
    }

    /// Conditions every one of these calls satisfied; empty when some call had none.
    pub fn conditions(&self) -> &Conditions {
        self.rare.conditions.as_deref().unwrap_or(&NO_CONDITIONS)
    }

    /// Why the calls needed this beyond their own action.
    pub fn extra(&self) -> &BTreeSet<String> {
        &self.rare.extra
    }

    /// Notes `count` calls made on the principal's behalf by `by`.
    pub fn add_service_made(&mut self, count: u64, by: &str) {
        self.rare.service_made += count;
        insert_new(&mut self.rare.invoked_by, by);
    }

    /// Notes `count` calls Lambda's platform made.
    pub fn add_platform(&mut self, count: u64) {
        self.rare.platform += count;
    }

    /// Sets the conditions every call satisfied (a test's or an import's evidence).
    pub fn set_conditions(&mut self, c: Conditions) {
        self.clear_conditions();
        if !c.is_empty() {
            self.rare.conditions = Some(std::sync::Arc::new(c));
        }
    }

    /// Notes a reason the calls needed this beyond their own action.
    fn add_extra(&mut self, x: &str) {
        insert_new(&mut self.rare.extra, x);
    }

    /// Notes a part of the resource the records did not give.
    fn add_unresolved(&mut self, u: &str) {
        insert_new(&mut self.rare.unresolved, u);
    }

    /// Empties the conditions (without making the box when there is none).
    fn clear_conditions(&mut self) {
        if let Some(r) = self.rare.get_mut() {
            r.conditions = None;
        }
    }

    /// Records the conditions one call satisfied.
    fn observe_conditions(&mut self, conds: &Conditions) {
        if self.unconditional {
            return;
        }
        if conds.is_empty() {
            self.unconditional = true;
            self.clear_conditions();
            return;
        }
        self.merge_conditions(conds, false);
    }

    fn merge_conditions(&mut self, c: &Conditions, other_unconditional: bool) {
        if self.unconditional {
            return;
        }
        if other_unconditional
            || (self.seen.count > 0
                && !self.conditions().is_empty()
                && cond_keys(self.conditions()) != cond_keys(c))
        {
            // Calls with different condition keys: no single condition covers them all.
            self.unconditional = true;
            self.clear_conditions();
            return;
        }
        if c.is_empty() {
            return;
        }
        add_conditions(
            std::sync::Arc::make_mut(self.rare.conditions.get_or_insert_with(Default::default)),
            c,
        );
    }

    /// The same evidence with every call also known to satisfy `condition` (a function's own
    /// calls carry `lambda:SourceFunctionArn`: [`crate::synth::scope::source_function`]). Only
    /// calls all made by the principal's code are scoped; anything AWS or Lambda's platform
    /// made stays as it is. Evidence that had no condition shares the block (one for all of a
    /// function's grants).
    pub fn scoped(&self, condition: &std::sync::Arc<Conditions>) -> Evidence {
        let mut e = self.clone();
        if self.service_made() > 0 || self.platform() > 0 {
            return e;
        }
        if e.unconditional {
            e.unconditional = false;
            e.clear_conditions();
        }
        match &mut e.rare.conditions {
            Some(mine) => add_conditions(std::sync::Arc::make_mut(mine), condition),
            none => *none = Some(condition.clone()),
        }
        e
    }

    /// The condition block a grant of these calls can carry (`None`: unconditioned).
    pub fn grant_conditions(&self) -> Option<&Conditions> {
        (!self.unconditional && !self.conditions().is_empty()).then_some(self.conditions())
    }

    /// Records `span.count` calls between `span.first` and `span.last` (one call: both the
    /// same time, or none). Evidence that has no call yet was made by [`Evidence::new`] of
    /// this same call's time and event id, so the two are not compared again (a UUID written
    /// out as text for every new entry was 1% of a run).
    fn observe(&mut self, span: Seen, event_id: &str, invoked_by: Option<&str>, platform: bool) {
        let count = span.count;
        if platform {
            self.add_platform(count);
        }
        let fresh = self.seen.count == 0;
        debug_assert!(
            !fresh
                || (self.seen.first_seen == span.first_seen
                    && self.event_id.cmp_str(event_id).is_eq()),
            "fresh evidence observed with another call's time or id"
        );
        if !fresh
            && Seen::before(span.first_seen, self.seen.first_seen)
                .unwrap_or_else(|| self.event_id.cmp_str(event_id).is_gt())
        {
            self.event_id = EventId::new(event_id);
        }
        self.seen.merge(&span);
        if let Some(by) = invoked_by {
            self.add_service_made(count, by);
        }
    }

    pub fn merge(&mut self, o: &Evidence) {
        if self.seen.count == 0 {
            self.unconditional = o.unconditional;
            self.set_conditions(o.conditions().clone());
        } else if o.seen.count > 0 {
            self.merge_conditions(o.conditions(), o.unconditional);
        }
        if Seen::before(o.seen.first_seen, self.seen.first_seen)
            .unwrap_or_else(|| o.event_id < self.event_id)
        {
            self.event_id.clone_from(&o.event_id);
        }
        self.seen.merge(&o.seen);
        // (nothing is written when the other has none: that would box it for nothing; its
        // conditions are merged above)
        let or = &*o.rare;
        if or.service_made > 0
            || or.platform > 0
            || !or.invoked_by.is_empty()
            || !or.unresolved.is_empty()
            || !or.extra.is_empty()
        {
            let r = &mut *self.rare;
            r.extra.extend(or.extra.iter().cloned());
            r.service_made += or.service_made;
            r.platform += or.platform;
            r.invoked_by.extend(or.invoked_by.iter().cloned());
            r.unresolved.extend(or.unresolved.iter().cloned());
        }
        if let Some(f) = &o.folded {
            self.folded.get_or_insert_with(Box::default).merge(f);
        }
    }

    /// Only AWS made these calls (none came from the principal's own code).
    pub fn only_service_made(&self) -> bool {
        self.seen.count > 0 && self.service_made() == self.seen.count
    }

    /// Only Lambda's platform made these calls.
    pub fn only_platform(&self) -> bool {
        self.seen.count > 0 && self.platform() == self.seen.count
    }

    /// Who made the calls behind this grant.
    pub fn origin(&self) -> Origin {
        if self.only_platform() {
            Origin::LambdaPlatform
        } else if self.only_service_made() {
            Origin::Service
        } else {
            Origin::Code
        }
    }
}

/// (action, resource) → evidence.
/// A grant's key: the action, and the resource (or pattern) it is on.
pub type GrantKey = (Action, ArnPattern);

pub type Grants = BTreeMap<GrantKey, Evidence>;

/// The key of a grant of `action` on `resource`, both validated where the key is made
/// ([`Action::new`], [`ArnPattern::new`]).
pub fn grant_key(
    action: impl Into<String>,
    resource: impl Into<String>,
) -> Result<GrantKey, crate::model::NameError> {
    Ok((Action::new(action.into())?, ArnPattern::new(resource)?))
}

/// The read phase's maps: hashed, for speed, and looked up by borrowed strings ([`Pair`]) so a
/// key is allocated only the first time it is seen. They become ordered maps in
/// [`Usage::resolve`], so nothing downstream depends on their order.
type FastMap<K, V> = hashbrown::HashMap<K, V>;
/// Grants while reading: the action is the catalog's own `prefix:Name`, so only the resource
/// is allocated, once per distinct grant. The key keeps its hash ([`Slot`]), so a table that
/// grows, or is merged into another, reads no key's strings again.
type FastGrants = hashbrown::HashMap<Slot, Evidence, KeptHash>;

/// A grant table's key: the action, the resource, and the hash of the two
/// ([`grant_hash`]), which is all the table hashes ([`KeptHash`]). A table's rehash read
/// every resource again, a cache miss each (some 2% of the growing benchmark trail's time).
#[derive(Debug, Clone)]
struct Slot {
    action: &'static str,
    resource: Box<str>,
    hash: u64,
}

// Compared as a lookup of the other's names ([`Lookup`]): the kept hash first, so two tables
// merged compare keys whose tags match without reading either resource.
impl PartialEq for Slot {
    fn eq(&self, o: &Slot) -> bool {
        hashbrown::Equivalent::equivalent(&o.lookup(), self)
    }
}

impl Eq for Slot {}

impl Slot {
    /// This key as a lookup: its names, borrowed, and its kept hash.
    fn lookup(&self) -> Lookup<'_> {
        Lookup {
            action: self.action,
            resource: &self.resource,
            hash: self.hash,
        }
    }

    #[cfg(test)]
    fn new(action: &'static str, resource: &str) -> Slot {
        Slot {
            action,
            resource: resource.into(),
            hash: grant_hash(action, resource),
        }
    }
}

impl std::hash::Hash for Slot {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The hash of a grant's action and resource: one hasher for the process, randomly seeded as
/// every read-phase map's is, since the resource is text from the log.
fn grant_hash(action: &str, resource: &str) -> u64 {
    use std::hash::BuildHasher;
    static SEED: std::sync::LazyLock<hashbrown::DefaultHashBuilder> =
        std::sync::LazyLock::new(Default::default);
    SEED.hash_one((action, resource))
}

/// The hasher of grant tables: a key's kept hash as it is ([`Slot`]).
#[derive(Debug, Clone, Copy, Default)]
struct KeptHash;

impl std::hash::BuildHasher for KeptHash {
    type Hasher = Kept;
    fn build_hasher(&self) -> Kept {
        Kept(0)
    }
}

/// See [`KeptHash`]. Only `write_u64` is ever called, with a hash already mixed.
#[derive(Debug)]
struct Kept(u64);

impl std::hash::Hasher for Kept {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // never called for a `Slot` or a `Lookup`; mixed in all the same
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A grant looked up by its borrowed action and resource, hashed once.
struct Lookup<'a> {
    action: &'a str,
    resource: &'a str,
    hash: u64,
}

impl std::hash::Hash for Lookup<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl hashbrown::Equivalent<Slot> for Lookup<'_> {
    fn equivalent(&self, key: &Slot) -> bool {
        self.hash == key.hash && self.action == key.action && self.resource == &*key.resource
    }
}

/// A `(String, String)` key as two borrowed strings; hashes as the tuple does.
#[derive(Hash)]
struct Pair<'a>(&'a str, &'a str);

impl hashbrown::Equivalent<(String, String)> for Pair<'_> {
    fn equivalent(&self, key: &(String, String)) -> bool {
        self.0 == key.0 && self.1 == key.1
    }
}

/// The entry for `(a, b)`, made with `new` (and the key allocated) only when it is not there.
fn entry_by<'m, V>(
    map: &'m mut FastMap<(String, String), V>,
    a: &str,
    b: &str,
    new: impl FnOnce() -> V,
) -> &'m mut V {
    match map.entry_ref(&Pair(a, b)) {
        hashbrown::hash_map::EntryRef::Occupied(e) => e.into_mut(),
        hashbrown::hash_map::EntryRef::Vacant(e) => {
            e.insert_with_key((a.to_string(), b.to_string()), new())
        }
    }
}

/// The evidence of `action` on `resource`, made with `new` (and the resource allocated) only
/// when it is not there.
fn grant_entry<'m>(
    map: &'m mut FastGrants,
    action: &'static str,
    resource: &str,
    new: impl FnOnce() -> Evidence,
) -> &'m mut Evidence {
    let hash = grant_hash(action, resource);
    let lookup = Lookup {
        action,
        resource,
        hash,
    };
    match map.entry_ref(&lookup) {
        hashbrown::hash_map::EntryRef::Occupied(e) => e.into_mut(),
        hashbrown::hash_map::EntryRef::Vacant(e) => {
            let key = Slot {
                action,
                resource: resource.into(),
                hash,
            };
            e.insert_with_key(key, new())
        }
    }
}

/// A map of evidence (a principal's grants or denied calls, the read phase's hashed maps): the
/// one way evidence is added to one.
pub trait EvidenceMap<K> {
    /// Adds `e` under `k`: merged into the evidence there ([`Evidence::merge`]), inserted when
    /// there is none.
    fn add(&mut self, k: K, e: Evidence);

    /// Adds every entry of `from`.
    fn add_all(&mut self, from: impl IntoIterator<Item = (K, Evidence)>) {
        for (k, e) in from {
            self.add(k, e);
        }
    }
}

impl<K: Ord> EvidenceMap<K> for BTreeMap<K, Evidence> {
    fn add(&mut self, k: K, e: Evidence) {
        use std::collections::btree_map::Entry;
        match self.entry(k) {
            Entry::Occupied(mut o) => o.get_mut().merge(&e),
            Entry::Vacant(v) => {
                v.insert(e);
            }
        }
    }
}

impl<K: std::hash::Hash + Eq, S: std::hash::BuildHasher> EvidenceMap<K>
    for hashbrown::HashMap<K, Evidence, S>
{
    fn add(&mut self, k: K, e: Evidence) {
        use hashbrown::hash_map::Entry;
        match self.entry(k) {
            Entry::Occupied(mut o) => o.get_mut().merge(&e),
            Entry::Vacant(v) => {
                v.insert(e);
            }
        }
    }
}

/// Distinct keys at the top of one bucket kept exact per (actor, action) before the others are
/// folded into the bucket's pattern (`b/*`) as they are read. `--max-prefixes` is at most this,
/// and the generalizer turns more top-level keys than `--max-prefixes` into `b/*` anyway, so the
/// policy does not change; memory stays bounded when a function touches millions of keys at
/// the top of a bucket.
pub const FOLD_TOP_LEVEL_AFTER: usize = 4096;

/// The distinct exact keys at the top of one bucket that one actor's calls of one action named,
/// as 64-bit hashes, at most [`FOLD_TOP_LEVEL_AFTER`] of them.
#[derive(Debug, Clone, Default)]
struct TopLevelKeys(hashbrown::HashSet<u64>);

impl TopLevelKeys {
    /// Whether `key` stays exact: it was counted before, or there is room to count it (and it
    /// is). Otherwise it is to be folded into its bucket's pattern.
    fn keeps(&mut self, key: &str) -> bool {
        let h = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
        if self.0.contains(&h) {
            return true;
        }
        if self.0.len() >= FOLD_TOP_LEVEL_AFTER {
            return false;
        }
        self.0.insert(h);
        true
    }
}

/// What one actor (before function resolution) did.
#[derive(Debug, Clone, Default)]
pub struct ActorUsage {
    grants: FastGrants,
    /// (action, bucket head) → the exact top-level keys granted so far (see
    /// [`FOLD_TOP_LEVEL_AFTER`]), by their hashes: kept when the aggregate is emptied into
    /// another ([`Aggregate::absorb`]), so a key met again after that is not counted again.
    top_level: FastMap<(String, String), TopLevelKeys>,
    denied: FastGrants,
    /// `eventSource eventName` of calls that need no permission.
    pub permission_less: BTreeMap<String, Evidence>,
    pub regions: BTreeSet<String>,
    /// A record of this session carried the `exec-env/AWS_Lambda_` user-agent marker.
    pub lambda_marker: bool,
    /// Data-event types this actor's records include.
    pub data_types: BTreeSet<String>,
    /// Calls (records) of this actor.
    pub calls: u64,
    /// Days (since the Unix epoch, UTC) on which it made a call.
    pub days: Days,
    /// Where its grants written to disk lie ([`Aggregate::spill`]).
    spilled: Spilled,
}

/// The calls and the denied calls of one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCount {
    /// Calls (records), denied ones included.
    pub calls: u64,
    /// Calls denied for lack of permission.
    pub denied: u64,
}

impl DayCount {
    fn add(&mut self, o: DayCount) {
        self.calls += o.calls;
        self.denied += o.denied;
    }
}

/// The days (since the Unix epoch, UTC) on which calls were made, with the calls and denied
/// calls of each: a small sorted list, two counters a day, cheap to add to when consecutive
/// records fall on the same day. A span of calls (a row aggregated elsewhere, such as by
/// Athena) counts on the day of its last call; its first day is active too.
#[derive(Debug, Clone, Default)]
pub struct Days {
    days: Vec<(i64, DayCount)>,
    /// The entry counted last: the next record of the actor is most likely on its day (a
    /// trail's files come day after day within a region, and the days start over with the
    /// next region, so the latest day is not the one to try first). Then the day's place in
    /// a list without gaps, then a binary search.
    recent: usize,
}

impl PartialEq for Days {
    fn eq(&self, o: &Days) -> bool {
        self.days == o.days
    }
}

impl Eq for Days {}

impl Days {
    /// Marks the day of `t` active, counting no call.
    pub fn add(&mut self, t: DateTime<Utc>) {
        self.count(t, DayCount::default());
    }

    /// Counts `n` on the day of `t`.
    pub fn count(&mut self, t: DateTime<Utc>, n: DayCount) {
        let d = t.timestamp().div_euclid(86_400);
        if let Some((day, c)) = self.days.get_mut(self.recent)
            && *day == d
        {
            c.add(n);
            return;
        }
        // an actor active every day since its first has its day at `d - first`
        if let Some(&(first, _)) = self.days.first()
            && let Ok(i) = usize::try_from(d - first)
            && let Some((day, c)) = self.days.get_mut(i)
            && *day == d
        {
            c.add(n);
            self.recent = i;
            return;
        }
        self.recent = self.add_on(d, n);
    }

    /// Adds `n` on day `d`, found by a binary search (inserted in order when it is not
    /// there); returns its index.
    fn add_on(&mut self, d: i64, n: DayCount) -> usize {
        match self.days.binary_search_by_key(&d, |(day, _)| *day) {
            Ok(i) => {
                self.days[i].1.add(n);
                i
            }
            Err(i) => {
                self.days.insert(i, (d, n));
                i
            }
        }
    }

    pub fn merge(&mut self, o: &Days) {
        for &(d, n) in &o.days {
            self.add_on(d, n);
        }
    }

    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// The active days (UTC) in order, with their counts.
    pub fn iter(&self) -> impl Iterator<Item = (chrono::NaiveDate, DayCount)> + '_ {
        self.days.iter().filter_map(|(d, n)| {
            DateTime::from_timestamp(d.checked_mul(86_400)?, 0).map(|t| (t.date_naive(), *n))
        })
    }
}

impl ActorUsage {
    /// Counts a call of this actor: the call itself, its day, region and data type, and the
    /// Lambda user-agent marker when the record had it. Made after the call's grant
    /// is looked up (`Aggregate::add_span`), so that the day's and the region's memory is
    /// read while the grant's is still on its way: the actor's grant table, its slot and the
    /// resource's text are three reads, each waiting on the one before. Before the grant, the
    /// same instructions took 2–3% more of the wall (docs/performance.md, the thirty-fifth
    /// round).
    fn count_call(
        &mut self,
        rec: &Record<'_>,
        span: Seen,
        data_type: Option<&str>,
        lambda_marker: bool,
        class: Class,
    ) {
        if let Some(t) = data_type
            && !self.data_types.contains(t)
        {
            self.data_types.insert(t.to_string());
        }
        if !rec.region().is_empty() && !self.regions.contains(rec.region()) {
            self.regions.insert(rec.region().to_string());
        }
        if lambda_marker {
            self.lambda_marker = true;
        }
        self.calls += span.count;
        // the first call's day is active (counted below when it is also the last's)
        if let Some(t) = span.first_seen
            && span.last_seen != Some(t)
        {
            self.days.add(t);
        }
        let denied = if class == Class::Denied {
            span.count
        } else {
            0
        };
        // Calls without a time have no day to count on (they still count in `calls`).
        if let Some(t) = span.last_seen {
            self.days.count(
                t,
                DayCount {
                    calls: span.count,
                    denied,
                },
            );
        }
    }

    /// Whether anything was added to it (its top-level keys aside).
    fn gathered_anything(&self) -> bool {
        self.calls != 0
            || !self.grants.is_empty()
            || !self.denied.is_empty()
            || !self.permission_less.is_empty()
            || !self.regions.is_empty()
            || !self.data_types.is_empty()
            || !self.days.days.is_empty()
            || self.lambda_marker
            || !self.spilled.is_empty()
    }

    /// Everything it gathered but its top-level keys, which stay. With `keep_room`, its grant
    /// tables are left empty with room for as many grants as they held.
    fn take_gathered(&mut self, keep_room: bool) -> ActorUsage {
        let room = |t: &FastGrants| if keep_room { t.len() } else { 0 };
        let (grants, denied) = (room(&self.grants), room(&self.denied));
        ActorUsage {
            grants: std::mem::replace(
                &mut self.grants,
                FastGrants::with_capacity_and_hasher(grants, KeptHash),
            ),
            denied: std::mem::replace(
                &mut self.denied,
                FastGrants::with_capacity_and_hasher(denied, KeptHash),
            ),
            top_level: FastMap::default(),
            permission_less: std::mem::take(&mut self.permission_less),
            regions: std::mem::take(&mut self.regions),
            lambda_marker: std::mem::take(&mut self.lambda_marker),
            data_types: std::mem::take(&mut self.data_types),
            calls: std::mem::take(&mut self.calls),
            days: std::mem::take(&mut self.days),
            spilled: std::mem::take(&mut self.spilled),
        }
    }

    /// Adds `o`'s usage, entry by entry: a grant in both is one entry here. The smaller table
    /// is added to the larger.
    fn merge(&mut self, mut o: ActorUsage) {
        for (mine, theirs) in [
            (&mut self.grants, &mut o.grants),
            (&mut self.denied, &mut o.denied),
        ] {
            if mine.len() < theirs.len() {
                std::mem::swap(mine, theirs);
            }
            // Every grant table hashes with one seed ([`grant_hash`]): a table filled in the
            // order of one with more buckets would crowd its first groups
            // (rust-lang/rust#36481), so it is first given as many.
            if mine.capacity() < theirs.capacity() {
                mine.reserve(theirs.capacity() - mine.len());
            }
            mine.add_all(std::mem::take(theirs));
        }
        for (k, keys) in o.top_level {
            self.top_level.entry(k).or_default().0.extend(keys.0);
        }
        self.permission_less.add_all(o.permission_less);
        self.regions.extend(o.regions);
        self.lambda_marker |= o.lambda_marker;
        self.data_types.extend(o.data_types);
        self.calls += o.calls;
        self.days.merge(&o.days);
        self.spilled.extend(o.spilled);
    }
}

/// What one (eventSource, eventName) mapped to, and how often it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventStat {
    /// The most useful class the kind was seen in (mapped before denied before unmapped).
    pub class: Class,
    pub count: u64,
    pub actions: BTreeSet<String>,
}

/// Per-(eventSource, eventName) statistics, for coverage and the unmapped list.
pub type EventCounts = BTreeMap<(String, String), EventStat>;

fn merge_event(
    into: &mut FastMap<(String, String), EventStat>,
    key: (String, String),
    o: EventStat,
) {
    match into.get_mut(&key) {
        Some(e) => {
            e.class = e.class.min(o.class);
            e.count += o.count;
            e.actions.extend(o.actions);
        }
        None => {
            into.insert(key, o);
        }
    }
}

/// The merge-able aggregate of any number of records. Merging is commutative, so the
/// per-worker aggregates built in parallel give the same result as one sequential pass.
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    actors: FastMap<Actor, ActorUsage>,
    events: FastMap<(String, String), EventStat>,
    pub facts: FunctionFacts,
    /// Records by AWS services themselves, and by identities that get no policy.
    pub no_principal: u64,
    pub records: u64,
    pub window: Option<Window>,
    /// Data-event types (`AWS::S3::Object`, …) that appear in the trail at all.
    pub data_types: BTreeSet<String>,
    /// A folded resource's pattern is written here to be looked up (no allocation a record).
    pattern: String,
    /// Grant entries (granted or denied) made since the aggregate was last emptied into
    /// another ([`Aggregate::absorb`]).
    pending: usize,
    /// The file its grants were written to, once they were.
    spill: Option<std::sync::Arc<Spill>>,
    /// Keys that were not an action and a resource, met when the grants were written to disk
    /// (as [`Usage::resolve`] meets those still in memory).
    unusable: Vec<(String, String)>,
}

/// How many grant entries the read holds in memory before it writes them to disk
/// ([`Aggregate::spill`]), by default: some 20 MB of grants. The growing benchmark trail's
/// 200,000 records (45,000 grants; the shared aggregate holds up to some 35,000 before the
/// workers' last ones are added) stay under it; its 1 M and 10 M records peak within 10% of
/// each other (docs/performance.md, the fourteenth round).
pub const SPILL_AFTER: usize = 49_152;

impl Aggregate {
    /// Adds one mapped record that stands for `span.count` calls alike in everything the
    /// mapping reads (one call at its own time, or a row aggregated elsewhere, such as by
    /// Athena). With `fold`, S3 object keys and log streams are folded into the patterns a
    /// generalized policy names ([`crate::fold::fold_on_read`]). `lambda_marker` is
    /// [`crate::identity::lambda_marker`] of the record (looked for once a record).
    pub fn add_span(
        &mut self,
        rec: &Record<'_>,
        span: Seen,
        mapping: &Mapping,
        actor: Option<ActorRef<'_>>,
        fold: bool,
        lambda_marker: bool,
    ) {
        let time = span.first_seen;
        self.records += span.count;
        // a record without a time counts, but has no place in the window
        if let (Some(first), Some(last)) = (span.first_seen, span.last_seen) {
            self.window
                .get_or_insert(Window { first, last })
                .widen(first, last);
        }
        let e = entry_by(&mut self.events, rec.source(), rec.name(), || EventStat {
            class: mapping.class,
            count: 0,
            actions: BTreeSet::new(),
        });
        e.count += span.count;
        // A kind seen both denied and mapped is reported by its most useful class.
        e.class = e.class.min(mapping.class);
        for n in &mapping.needs {
            let a = n.action.qualified();
            if e.actions.len() < 64 && !e.actions.contains(a) {
                e.actions.insert(a.to_string());
            }
        }
        let data_type = if rec.event_category.as_deref() == Some("Data") {
            crate::catalog::ObservabilityTable::embedded().data_type_for_source(rec.source())
        } else {
            None
        };
        if let Some(t) = data_type
            && !self.data_types.contains(t)
        {
            self.data_types.insert(t.to_string());
        }
        let Some(actor) = actor else {
            self.no_principal += span.count;
            return;
        };
        debug_assert_eq!(lambda_marker, crate::identity::lambda_marker(rec));
        let platform = matches!(actor, ActorOf::Session { .. })
            && crate::mapping::Mapper::embedded().is_lambda_platform(rec, lambda_marker);
        let usage = match self.actors.entry_ref(&actor) {
            hashbrown::hash_map::EntryRef::Occupied(e) => e.into_mut(),
            hashbrown::hash_map::EntryRef::Vacant(e) => {
                e.insert_with_key(actor.clone().into_owned(), ActorUsage::default())
            }
        };
        let event_id = rec.event_id.as_deref().unwrap_or("");
        let invoked_by = rec.invoked_by();
        let target = match mapping.class {
            Class::Mapped | Class::ServiceMade => &mut usage.grants,
            Class::Denied => &mut usage.denied,
            Class::PermissionLess => {
                usage.count_call(rec, span, data_type, lambda_marker, mapping.class);
                let k = format!("{} {}", rec.source(), rec.name());
                usage
                    .permission_less
                    .entry(k)
                    .or_insert_with(|| Evidence::new(time, event_id))
                    .observe(span, event_id, invoked_by, platform);
                return;
            }
            Class::NotApiCall | Class::Unmapped => {
                usage.count_call(rec, span, data_type, lambda_marker, mapping.class);
                return;
            }
        };
        let top_level = &mut usage.top_level;
        // Denied calls are never folded: a generalized grant must be narrowed around each one
        // exactly (`synth::propose`), and they are few.
        let fold = fold && mapping.class != Class::Denied;
        for need in &mapping.needs {
            let action = need.action.qualified();
            let by = need.via.as_deref().or(invoked_by);
            for res in &need.resolved.resources {
                use crate::fold::{ReadFold, read_fold};
                // the stem of the pattern it is folded into (`stem*`)
                let stem = if !fold {
                    None
                } else {
                    match read_fold(res) {
                        ReadFold::Into { stem } => Some(stem),
                        ReadFold::TopLevel { head } => {
                            let keys = entry_by(top_level, action, head, TopLevelKeys::default);
                            (!keys.keeps(res)).then_some(head)
                        }
                        ReadFold::Keep => None,
                    }
                };
                let new = || Evidence::new(time, event_id);
                let ev = match stem {
                    Some(stem) => {
                        let pattern = &mut self.pattern;
                        pattern.clear();
                        pattern.push_str(stem);
                        pattern.push('*');
                        let ev = grant_entry(target, action, pattern, new);
                        // the stem is where `res` starts
                        let rest = res.get(stem.len()..).unwrap_or_default();
                        ev.folded.get_or_insert_with(Box::default).add(stem, rest);
                        ev
                    }
                    None => grant_entry(target, action, res, new),
                };
                if ev.seen.count == 0 {
                    self.pending += 1;
                }
                ev.observe_conditions(&need.conditions);
                ev.observe(span, event_id, by, platform && need.via.is_none());
                if let Some(x) = need.extra {
                    ev.add_extra(x);
                }
                for u in &need.resolved.unresolved {
                    ev.add_unresolved(u);
                }
            }
        }
        usage.count_call(rec, span, data_type, lambda_marker, mapping.class);
    }

    /// How many actors the aggregate holds: what its memory grows with, besides distinct
    /// grants (a fleet of instance sessions, or an AssumeRole per invocation, counts once).
    pub fn actor_count(&self) -> usize {
        self.actors.len()
    }

    /// Grant entries made since the aggregate was last emptied into another: what its memory
    /// has grown by.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Moves everything `o` gathered into this aggregate, entry by entry (a grant both hold is
    /// one entry here), and leaves `o` empty but for its actors' exact top-level keys
    /// ([`FOLD_TOP_LEVEL_AFTER`]): a worker that reads on into `o` folds as it would have.
    /// Workers empty their aggregates into one this way as they read, so each distinct grant
    /// is held once, not once per worker that met it. `o` has written nothing to disk (the
    /// workers never do): its actors' sections would point into another file.
    ///
    /// With `reads_on` (a worker that goes on reading into `o`), each actor `o` met since it
    /// was last emptied stays in it, its grant tables empty but as large as the grants they
    /// held: the actor's next grants are most likely as many, and a table grown again from
    /// nothing moved each of them several times (some 2% of the growing benchmark trail's
    /// time). Actors it did not meet are let go, but for their top-level keys.
    pub fn absorb(&mut self, o: &mut Aggregate, reads_on: bool) {
        debug_assert!(!o.has_spilled(), "absorbing an aggregate that spilled");
        o.actors.retain(|actor, usage| {
            if !usage.gathered_anything() {
                usage.grants = FastGrants::default();
                usage.denied = FastGrants::default();
                return !usage.top_level.is_empty();
            }
            let moved = usage.take_gathered(reads_on);
            match self.actors.get_mut(actor) {
                Some(mine) => mine.merge(moved),
                None => {
                    self.actors.insert(actor.clone(), moved);
                }
            }
            reads_on || !usage.top_level.is_empty()
        });
        for (k, v) in std::mem::take(&mut o.events) {
            merge_event(&mut self.events, k, v);
        }
        self.data_types.append(&mut o.data_types);
        self.facts.merge(std::mem::take(&mut o.facts));
        self.no_principal += std::mem::take(&mut o.no_principal);
        self.records += std::mem::take(&mut o.records);
        self.window = Window::union(self.window, o.window.take());
        o.pending = 0;
        if self.spill.is_none() {
            self.spill = o.spill.take();
        }
        self.unusable.append(&mut o.unusable);
    }

    /// Grant entries its tables hold (what [`Aggregate::spill`] would write): counted, a few
    /// hundred actors, each time a worker empties its aggregate into this one.
    pub fn held(&self) -> usize {
        self.actors.values().map(|u| u.grants.len()).sum()
    }

    /// Whether grants were written to disk.
    pub fn has_spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// How many bytes of grants were written to disk.
    pub fn bytes_spilled(&self) -> u64 {
        self.spill.as_ref().map_or(0, |s| s.len())
    }

    /// Writes every actor's grants to the spill file (made when first needed) and empties the
    /// tables they were in; the actors keep where they lie. Denied calls and everything else
    /// stay: they do not grow with the grants. A key that is not an action and a resource is
    /// set apart to be reported, as [`Usage::resolve`] would. When writing fails, the
    /// grants not yet written stay in memory, and the error is returned.
    pub fn spill(&mut self) -> Result<(), SpillError> {
        let spill = match &self.spill {
            Some(s) => s.clone(),
            None => {
                let s = Spill::new()?;
                self.spill = Some(s.clone());
                s
            }
        };
        let mut buf = Vec::new();
        let usable = |a: &'static str, r: &str| Action::new(a).is_ok() && ArnPattern::is_valid(r);
        for usage in self.actors.values_mut() {
            if usage.grants.is_empty() {
                continue;
            }
            let n = usage
                .grants
                .keys()
                .filter(|k| usable(k.action, &k.resource))
                .count();
            let rows = usage
                .grants
                .iter()
                .filter(|(k, _)| usable(k.action, &k.resource))
                .map(|(k, e)| (k.action, &*k.resource, e));
            let section = spill.write_grants(n, rows, &mut buf)?;
            usage.spilled.push(section);
            for k in std::mem::take(&mut usage.grants).into_keys() {
                if !usable(k.action, &k.resource) {
                    self.unusable
                        .push((k.action.to_string(), k.resource.into()));
                }
            }
        }
        Ok(())
    }

    /// Adds all of `o` (its exact top-level keys too).
    pub fn merge(&mut self, mut o: Aggregate) {
        self.absorb(&mut o, false);
        for (actor, usage) in o.actors {
            self.actors.entry(actor).or_default().merge(usage);
        }
    }

    /// [`Aggregate::merge`], each actor's tables merged on the thread pool: the end of the
    /// read, when no worker reads on and this merge would otherwise hold every core but one
    /// idle. Not for a worker inside the read: waiting on the pool there may run another
    /// input's task, which could ask for a lock its caller holds.
    fn merge_in_parallel(&mut self, mut o: Aggregate) {
        let mut pairs: Vec<(Actor, ActorUsage, ActorUsage)> = std::mem::take(&mut o.actors)
            .into_iter()
            .map(|(actor, theirs)| {
                let mine = self.actors.remove(&actor).unwrap_or_default();
                (actor, mine, theirs)
            })
            .collect();
        pairs
            .par_iter_mut()
            .for_each(|(_, mine, theirs)| mine.merge(std::mem::take(theirs)));
        self.actors
            .extend(pairs.into_iter().map(|(actor, mine, _)| (actor, mine)));
        // the rest (events, facts, counts), the actors now moved
        self.merge(o);
    }
}

/// A principal a policy is written for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
pub struct PrincipalId {
    pub kind: PrincipalKind,
    pub account: String,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct PrincipalUsage {
    /// The role a function or role session runs as.
    pub role_arn: Option<String>,
    /// The principal's own ARN (function, user, federated user, root).
    pub arn: Option<String>,
    pub grants: Grants,
    pub denied: Grants,
    pub permission_less: BTreeMap<String, Evidence>,
    /// For a role: the functions seen running as it.
    pub functions: BTreeSet<String>,
    /// For a role: the functions whose code assumed it and called with its session (role
    /// chaining; [`crate::identity::chain`]).
    pub chained_from: BTreeSet<String>,
    /// Why a session counts as a function.
    pub function_evidence: BTreeSet<&'static str>,
    /// Data-event types that appear among this principal's records.
    pub data_types: BTreeSet<String>,
    /// Calls (records) attributed to it.
    pub calls: u64,
    /// The days on which it made a call.
    pub days: Days,
    /// Where its grants written to disk while reading lie: not in `grants` until they are
    /// read back ([`Usage::load`]).
    pub spilled: Spilled,
}

/// How settled a proposal is: least privilege from a window is only as good as the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Confidence {
    /// The window of the trail.
    pub window_first: Option<DateTime<Utc>>,
    pub window_last: Option<DateTime<Utc>>,
    /// Days on which the principal made a call.
    pub active_days: usize,
    pub calls: u64,
    /// When its newest grant was first seen: the latest first-seen of its grants, S3 keys and
    /// log streams counted by their directory or log group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_grant_first_seen: Option<DateTime<Utc>>,
    /// Whether the proposal can be trusted as it is: `false` when a grant first appeared in the
    /// last fifth of the window, or the principal was active on fewer than 3 days.
    pub settled: bool,
    /// Why it is not settled.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

/// Fewer active days than this: not settled.
pub const SETTLED_MIN_DAYS: usize = 3;

impl PrincipalUsage {
    /// How settled a proposal from this usage is, in `window`.
    pub fn confidence(&self, window: Option<Window>) -> Confidence {
        // a grant as a policy names it: S3 keys and log streams stand for their directory or
        // group (a new log stream every day is not a new permission)
        // (a resource that folds into nothing coarser is borrowed, not copied: most are)
        use std::borrow::Cow;
        let mut first: BTreeMap<(&str, Cow<'_, str>), DateTime<Utc>> = BTreeMap::new();
        for ((a, r), e) in &self.grants {
            let key = (
                a.as_str(),
                crate::fold::fold_on_read(r).map_or(Cow::Borrowed(r.as_str()), Cow::Owned),
            );
            // a grant whose calls had no time cannot say when it appeared
            let Some(seen) = e.seen.first_seen else {
                continue;
            };
            let t = first.entry(key).or_insert(seen);
            *t = (*t).min(seen);
        }
        let newest = first.values().max().copied();
        let mut why = Vec::new();
        if self.days.len() < SETTLED_MIN_DAYS {
            why.push(format!(
                "active on {} day(s), fewer than {SETTLED_MIN_DAYS}: rare paths are likely missing",
                self.days.len()
            ));
        }
        if let (Some(w), Some(n)) = (window, newest) {
            let fifth = (w.last - w.first) / 5;
            if w.last - n < fifth {
                why.push(format!(
                    "its newest grant was first seen {}, in the last fifth of the window: its usage is still changing",
                    n.format("%Y-%m-%d")
                ));
            }
        }
        Confidence {
            window_first: window.map(|w| w.first),
            window_last: window.map(|w| w.last),
            active_days: self.days.len(),
            calls: self.calls,
            newest_grant_first_seen: newest,
            settled: why.is_empty(),
            why,
        }
    }
}

/// Usage per principal, after function attribution.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub principals: BTreeMap<PrincipalId, PrincipalUsage>,
    pub events: EventCounts,
    pub no_principal: u64,
    pub records: u64,
    pub window: Option<Window>,
    /// Data-event types that appear in the trail at all.
    pub data_types: BTreeSet<String>,
    /// Functions of the inventory that made no call in the window: name → role ARN.
    pub idle_functions: BTreeMap<String, Option<String>>,
    /// (action, resource) keys the mapping made that are not an action and a resource: never
    /// expected, reported by the pipeline as a warning rather than dropped in silence.
    pub unusable_keys: Vec<(String, String)>,
    /// The file of the grants written to disk while reading, when some were: a principal's
    /// `spilled` grants are read back from it ([`Usage::load`]).
    pub spill: Option<std::sync::Arc<Spill>>,
}

/// Adds the read phase's grants to `into` under typed keys ([`grant_key`]), moving the strings.
/// A key the mapping made that is not an action and a resource (never expected: both come from
/// the catalog's names and ARN formats) is set apart in `unusable`, to be reported, never
/// dropped in silence.
fn add_typed(
    into: &mut Vec<(GrantKey, Evidence)>,
    grants: FastGrants,
    unusable: &mut Vec<(String, String)>,
) {
    use crate::model::NameError;
    into.reserve(grants.len());
    for (
        Slot {
            action: a,
            resource: r,
            ..
        },
        e,
    ) in grants
    {
        let key = match Action::new(a) {
            Ok(a) => match ArnPattern::new(String::from(r)) {
                Ok(r) => Ok((a, r)),
                Err(NameError::Resource(r) | NameError::Action(r)) => Err((a.into(), r)),
            },
            Err(NameError::Action(a) | NameError::Resource(a)) => Err((a, r.into())),
        };
        match key {
            Ok(k) => into.push((k, e)),
            Err(bad) => unusable.push(bad),
        }
    }
}

/// The ordered map of a principal's typed grants, the evidence of one key from several actors
/// or workers merged. Sorted first and then built in bulk, its nodes are full: inserted one
/// by one in the hashed tables' order, they were about two thirds full, and the maps of every
/// principal are held from here to the end of the run.
fn ordered(mut v: Vec<(GrantKey, Evidence)>) -> Grants {
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    // `dedup_by` gives the later of two neighbours first: merge it into the one kept
    v.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1.merge(&later.1);
        }
        same
    });
    v.into_iter().collect()
}

/// Puts `v` in the order `order` gives (`order[k]` is the index of the element that goes to
/// `k`; a permutation of `0..v.len()`), in place: by swaps along each cycle.
fn permute<T>(v: &mut [T], order: &[usize]) {
    let mut done = vec![false; v.len()];
    for start in 0..v.len() {
        let mut k = start;
        while !done[k] {
            done[k] = true;
            let from = order[k];
            if from == start {
                break;
            }
            v.swap(k, from);
            k = from;
        }
    }
}

/// One actor of a principal, as [`Usage::resolve`] attributed it.
struct Member {
    role_arn: Option<String>,
    arn: Option<String>,
    evidence: BTreeSet<&'static str>,
    chained_from: BTreeSet<String>,
}

impl PrincipalUsage {
    /// A principal's usage from its actors (in actor order), each with what attribution said
    /// of it: the first role ARN and ARN win, the rest adds up. The actors' usage is taken.
    fn of_members(
        members: Vec<Member>,
        actors: &mut [(Actor, ActorUsage)],
        unusable: &mut Vec<(String, String)>,
    ) -> PrincipalUsage {
        let mut p = PrincipalUsage::default();
        let (mut grants, mut denied) = (Vec::new(), Vec::new());
        for (m, (_, usage)) in members.into_iter().zip(actors) {
            p.role_arn = p.role_arn.take().or(m.role_arn);
            p.arn = p.arn.take().or(m.arn);
            p.function_evidence.extend(m.evidence);
            p.chained_from.extend(m.chained_from);
            let usage = std::mem::take(usage);
            p.data_types.extend(usage.data_types);
            p.calls += usage.calls;
            p.days.merge(&usage.days);
            add_typed(&mut grants, usage.grants, unusable);
            add_typed(&mut denied, usage.denied, unusable);
            p.spilled.extend(usage.spilled);
            p.permission_less.add_all(usage.permission_less);
        }
        p.grants = ordered(grants);
        p.denied = ordered(denied);
        p
    }
}

impl PrincipalId {
    /// The IAM identity whose policies apply to this principal: the role of a function or of a
    /// role's sessions, the user itself; `None` for a function whose role is not known, the root
    /// user and federated users.
    pub fn owner(&self, p: &PrincipalUsage) -> Option<PrincipalId> {
        match (self.kind, &p.role_arn) {
            (PrincipalKind::Function, Some(r)) => Some(PrincipalId {
                kind: PrincipalKind::Role,
                account: self.account.clone(),
                name: role_name(r).to_string(),
            }),
            (PrincipalKind::Role | PrincipalKind::User, _) => Some(self.clone()),
            _ => None,
        }
    }
}

/// Principals under the IAM identity whose policies apply to them, in principal order.
pub type ByOwner<'u> = BTreeMap<PrincipalId, Vec<(&'u PrincipalId, &'u PrincipalUsage)>>;

impl Usage {
    /// Every principal under the IAM identity whose policies apply to it
    /// ([`PrincipalId::owner`]): the functions that share a role, with the role's own sessions.
    /// The one grouping of principals by role; principals without an owner are left out.
    pub fn by_owner(&self) -> ByOwner<'_> {
        let mut out = ByOwner::new();
        for (id, p) in &self.principals {
            if let Some(owner) = id.owner(p) {
                out.entry(owner).or_default().push((id, p));
            }
        }
        out
    }

    /// Function name → ARN, for the functions of the trail.
    pub fn function_arns(&self) -> BTreeMap<&str, &str> {
        self.principals
            .iter()
            .filter(|(id, _)| id.kind == PrincipalKind::Function)
            .filter_map(|(id, p)| Some((id.name.as_str(), p.arn.as_deref()?)))
            .collect()
    }

    /// The roles two or more functions run as: role → those functions.
    pub fn shared_roles(&self) -> BTreeMap<PrincipalId, Vec<(&PrincipalId, &PrincipalUsage)>> {
        let mut out = self.by_owner();
        for members in out.values_mut() {
            members.retain(|(id, _)| id.kind == PrincipalKind::Function);
        }
        out.retain(|_, fns| fns.len() > 1);
        out
    }

    /// Decides which sessions are functions and folds the others into their role.
    pub fn resolve(agg: Aggregate, inventory: &Inventory) -> Usage {
        let mut out = Usage {
            principals: BTreeMap::new(),
            events: agg.events.into_iter().collect(),
            no_principal: agg.no_principal,
            records: agg.records,
            unusable_keys: Vec::new(),
            window: agg.window,
            data_types: agg.data_types,
            idle_functions: BTreeMap::new(),
            spill: agg.spill,
        };
        let facts = agg.facts;
        let mut role_functions: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        // In actor order, so the first role ARN or function ARN seen for a principal does not
        // depend on the hashing.
        let mut actors: Vec<(Actor, ActorUsage)> = agg.actors.into_iter().collect();
        actors.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let sessions = actors.iter().filter_map(|(actor, usage)| match actor {
            Actor::Session {
                account,
                role_arn,
                session,
            } => Some(SessionSeen {
                account,
                role_arn,
                session,
                marker: usage.lambda_marker,
            }),
            _ => None,
        });
        let attribution = Attribution::new(&facts, inventory, sessions);
        let role_of = |account: String, role_arn: String| PrincipalId {
            kind: PrincipalKind::Role,
            account,
            name: role_name(&role_arn).to_string(),
        };
        // who each actor is, in actor order; the actors stay where they are (moving their
        // usage into per-principal lists would hold it twice, and a role can have many
        // thousands of sessions)
        let mut members: BTreeMap<PrincipalId, Vec<(usize, Member)>> = BTreeMap::new();
        for (index, (actor, usage)) in actors.iter_mut().enumerate() {
            let mut chained_from = BTreeSet::new();
            let actor = std::mem::replace(
                actor,
                Actor::Root {
                    account: String::new(),
                },
            );
            let (id, role_arn, arn, evidence) = match actor {
                Actor::Session {
                    account,
                    role_arn,
                    session,
                } => {
                    let seen = SessionSeen {
                        account: &account,
                        role_arn: &role_arn,
                        session: &session,
                        marker: usage.lambda_marker,
                    };
                    match attribution.session(&seen) {
                        SessionIs::Role { chained_from: from } => {
                            chained_from = from;
                            let id = role_of(account, role_arn.clone());
                            (id, Some(role_arn.clone()), Some(role_arn), BTreeSet::new())
                        }
                        SessionIs::Function(why) => {
                            role_functions
                                .entry((account.clone(), role_arn.clone()))
                                .or_default()
                                .insert(session.clone());
                            let region = usage.regions.iter().next().cloned().unwrap_or_default();
                            let fn_arn = inventory
                                .functions
                                .get(&session)
                                .and_then(|f| f.arn.clone())
                                .map(|a| {
                                    // Inventory ARNs may carry a version; the principal is the
                                    // function.
                                    let name = function_name_of(&a).to_string();
                                    match a.split_once(":function:") {
                                        Some((head, _)) => format!("{head}:function:{name}"),
                                        None => a,
                                    }
                                })
                                .unwrap_or_else(|| {
                                    let partition = role_arn.split(':').nth(1).unwrap_or("aws");
                                    format!(
                                        "arn:{partition}:lambda:{region}:{account}:function:{session}"
                                    )
                                });
                            let id = PrincipalId {
                                kind: PrincipalKind::Function,
                                account,
                                name: session,
                            };
                            (id, Some(role_arn), Some(fn_arn), why)
                        }
                    }
                }
                Actor::Stamped {
                    account,
                    role_arn,
                    base,
                } => {
                    chained_from = attribution.timestamped(&account, &role_arn, &base);
                    let id = role_of(account, role_arn.clone());
                    (id, Some(role_arn.clone()), Some(role_arn), BTreeSet::new())
                }
                Actor::Role { account, role_arn } => {
                    let id = PrincipalId {
                        kind: PrincipalKind::Role,
                        account,
                        name: role_name(&role_arn).to_string(),
                    };
                    (id, Some(role_arn.clone()), Some(role_arn), BTreeSet::new())
                }
                Actor::User { account, arn } => {
                    let name = arn.rsplit('/').next().unwrap_or(&arn).to_string();
                    let id = PrincipalId {
                        kind: PrincipalKind::User,
                        account,
                        name,
                    };
                    (id, None, Some(arn), BTreeSet::new())
                }
                Actor::Root { account } => {
                    // the partition of the calls' region, as a resource's ARN takes it (a
                    // root in aws-cn is `arn:aws-cn:iam::…:root`)
                    let region = usage.regions.iter().next().map_or("", String::as_str);
                    let partition = crate::arn::partition_for_region(region);
                    let arn = format!("arn:{partition}:iam::{account}:root");
                    let id = PrincipalId {
                        kind: PrincipalKind::Root,
                        account,
                        name: "root".to_string(),
                    };
                    (id, None, Some(arn), BTreeSet::new())
                }
                Actor::Federated { account, arn } => {
                    let name = arn.rsplit('/').next().unwrap_or(&arn).to_string();
                    let id = PrincipalId {
                        kind: PrincipalKind::Federated,
                        account,
                        name,
                    };
                    (id, None, Some(arn), BTreeSet::new())
                }
            };
            members.entry(id).or_default().push((
                index,
                Member {
                    role_arn,
                    arn,
                    evidence,
                    chained_from,
                },
            ));
        }
        // The actors in principal order (in actor order within one), in place, so that each
        // principal's are one slice of their own.
        let order: Vec<usize> = members
            .values()
            .flat_map(|m| m.iter().map(|(i, _)| *i))
            .collect();
        permute(&mut actors, &order);
        let mut rest = actors.as_mut_slice();
        let mut groups = Vec::with_capacity(members.len());
        for (id, m) in members {
            let (group, tail) = std::mem::take(&mut rest).split_at_mut(m.len());
            rest = tail;
            let m: Vec<Member> = m.into_iter().map(|(_, m)| m).collect();
            groups.push((id, m, group));
        }
        // Each principal's usage from its actors', in parallel: the grant tables become one
        // ordered map per principal. In actor order, so the first role ARN or function ARN
        // seen for a principal does not depend on the threads.
        let built: Vec<_> = groups
            .into_par_iter()
            .map(|(id, members, group)| {
                let mut unusable = Vec::new();
                let p = PrincipalUsage::of_members(members, group, &mut unusable);
                (id, p, unusable)
            })
            .collect();
        for (id, p, unusable) in built {
            out.unusable_keys.extend(unusable);
            out.principals.insert(id, p);
        }
        out.unusable_keys.extend(agg.unusable);
        // in a stable order, once each (they came from hashed tables, one per worker)
        out.unusable_keys.sort_unstable();
        out.unusable_keys.dedup();
        // Tell each role which of its sessions were functions (the shared-role view), and
        // list those roles even when only their functions made calls.
        for ((account, role_arn), fns) in role_functions {
            let id = PrincipalId {
                kind: PrincipalKind::Role,
                account,
                name: role_name(&role_arn).to_string(),
            };
            if let Some(p) = out.principals.get_mut(&id) {
                p.functions.extend(fns);
            }
        }
        let active: BTreeSet<&str> = out
            .principals
            .keys()
            .filter(|id| id.kind == PrincipalKind::Function)
            .map(|id| id.name.as_str())
            .collect();
        out.idle_functions = inventory
            .functions
            .values()
            .filter(|f| !active.contains(f.name.as_str()))
            .map(|f| (f.name.clone(), f.role.clone()))
            .collect();
        out
    }

    /// Rewrites each principal's grants on disk as one section of its merged grants. The read
    /// writes a grant again each time it is met after its table was last written (a busy
    /// function's grants, once a spill), so the sections can hold many times the distinct
    /// grants (ten times, on 10 M records of the growing benchmark trail), and every later
    /// pass over them (the graph's counts, a chunk's proposals) would read them all again. A
    /// principal that cannot be rewritten (a full disk) keeps its sections as they are.
    /// For a caller that reads the grants back a chunk at a time ([`Usage::load`]), after
    /// it has dropped the principals it does not want; one that reads them all back at once
    /// ([`Usage::load_all`]) merges the sections as it reads.
    pub fn compact_spilled(&mut self) {
        let Some(spill) = self.spill.clone() else {
            return;
        };
        let mut spilled: Vec<&mut PrincipalUsage> = self
            .principals
            .values_mut()
            .filter(|p| p.spilled.sections() > 1 || (!p.spilled.is_empty() && !p.grants.is_empty()))
            .collect();
        spilled.par_iter_mut().for_each(|p| {
            let Ok(whole) = Usage::read_back(Some(&spill), p) else {
                return;
            };
            let rows = whole.iter().map(|((a, r), e)| (a.as_str(), r.as_str(), e));
            if let Ok(s) = spill.write_grants(whole.len(), rows, &mut Vec::new()) {
                p.spilled = Spilled::default();
                p.spilled.push(s);
                p.grants = Grants::new();
            }
        });
    }

    /// Whether some principal's grants are still on disk ([`Usage::load`]).
    pub fn is_spilled(&self) -> bool {
        self.spill.is_some() && self.principals.values().any(|p| !p.spilled.is_empty())
    }

    /// Reads `p`'s spilled grants back into its `grants` (nothing to do when it has none).
    pub fn load(spill: Option<&Spill>, p: &mut PrincipalUsage) -> Result<(), SpillError> {
        if p.spilled.is_empty() {
            return Ok(());
        }
        let Some(spill) = spill else {
            return Err(SpillError::Corrupt(
                "grants were spilled, but there is no file",
            ));
        };
        let mut rows: Vec<(GrantKey, Evidence)> = Vec::new();
        spill.read_grants(&p.spilled, &mut rows)?;
        rows.extend(std::mem::take(&mut p.grants));
        p.grants = ordered(rows);
        p.spilled = Spilled::default();
        Ok(())
    }

    /// `p`'s grants with its spilled ones read back, as a new map (`p` is not changed).
    fn read_back(spill: Option<&Spill>, p: &PrincipalUsage) -> Result<Grants, SpillError> {
        let mut whole = PrincipalUsage {
            grants: p.grants.clone(),
            spilled: p.spilled.clone(),
            ..PrincipalUsage::default()
        };
        Usage::load(spill, &mut whole)?;
        Ok(whole.grants)
    }

    /// `p`'s grants, its spilled ones read back (a copy then; `p` is not changed).
    pub fn grants_of<'p>(
        &self,
        p: &'p PrincipalUsage,
    ) -> Result<std::borrow::Cow<'p, Grants>, SpillError> {
        if p.spilled.is_empty() {
            return Ok(std::borrow::Cow::Borrowed(&p.grants));
        }
        Usage::read_back(self.spill.as_deref(), p).map(std::borrow::Cow::Owned)
    }

    /// Reads the spilled grants of each of `principals` back ([`Usage::load`]), in parallel.
    pub fn load_each<'p>(
        spill: Option<&Spill>,
        principals: impl Iterator<Item = &'p mut PrincipalUsage>,
    ) -> Result<(), SpillError> {
        let mut all: Vec<&mut PrincipalUsage> = principals.collect();
        all.par_iter_mut()
            .map(|p| Usage::load(spill, p))
            .collect::<Result<(), SpillError>>()
    }

    /// Reads every principal's spilled grants back (in parallel), and lets the file go.
    pub fn load_all(&mut self) -> Result<(), SpillError> {
        let spill = self.spill.take();
        Usage::load_each(spill.as_deref(), self.principals.values_mut())
    }

    /// Keeps only the principals whose name matches one of the globs (all when empty).
    pub fn retain_principals(&mut self, globs: &[String]) {
        if globs.is_empty() {
            return;
        }
        let keep = |name: &str| {
            globs
                .iter()
                .any(|g| crate::wildcard::matches(g, name, false))
        };
        self.principals.retain(|id, _| keep(&id.name));
        self.idle_functions.retain(|name, _| keep(name));
    }

    /// Distinct (eventSource, eventName) that ended unmapped, with counts.
    pub fn unmapped(&self) -> impl Iterator<Item = (&(String, String), u64)> {
        self.events
            .iter()
            .filter(|(_, e)| e.class == Class::Unmapped)
            .map(|(k, e)| (k, e.count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The role `name` of the tests' account, as an actor.
    fn role(name: &str) -> Actor {
        Actor::Role {
            account: "111122223333".into(),
            role_arn: format!("arn:aws:iam::111122223333:role/{name}"),
        }
    }

    #[test]
    fn what_few_grants_have_is_boxed_only_when_a_grant_has_it() {
        let t = DateTime::from_timestamp(1_790_000_000, 0);
        let span = Seen {
            count: 2,
            first_seen: t,
            last_seen: t,
        };
        let mut e = Evidence::new(t, "e");
        e.observe_conditions(&Conditions::new());
        e.observe(span, "e", None, false);
        let mut other = Evidence::new(t, "f");
        other.observe(span, "f", None, false);
        e.merge(&other);
        assert!(e.rare.get_mut().is_none(), "{e:?}");
        assert_eq!(e.grant_conditions(), None);
        assert_eq!(
            serde_json::to_string(&e).unwrap_or_default(),
            r#"{"count":4,"first_seen":"2026-09-21T14:13:20Z","last_seen":"2026-09-21T14:13:20Z","event_id":"e"}"#
        );

        // nor for conditions that an unconditioned grant does not take
        let mut conditioned = Evidence::new(t, "c");
        conditioned.seen.count = 1;
        conditioned.set_conditions(crate::model::condition(
            "StringEquals",
            "iam:PassedToService",
            "lambda.amazonaws.com".into(),
        ));
        e.merge(&conditioned);
        assert!(e.rare.get_mut().is_none(), "{e:?}");
        e.seen.count -= 1;

        // each rare part is kept, merged and written where it was before
        let mut r = Evidence::new(t, "g");
        r.observe(span, "g", Some("secretsmanager.amazonaws.com"), true);
        r.add_extra("sse-kms");
        r.add_unresolved("the key");
        let c = crate::model::condition(
            "StringEquals",
            "kms:ViaService",
            "s3.eu-west-1.amazonaws.com".into(),
        );
        r.set_conditions(c.clone());
        e.merge(&r);
        assert_eq!((e.service_made(), e.platform(), e.seen.count), (2, 2, 6));
        assert_eq!(e.invoked_by().len(), 1);
        assert!(e.extra().contains("sse-kms") && e.unresolved().contains("the key"));
        // `e` had calls without conditions: the merged grant stays unconditioned
        assert_eq!(e.grant_conditions(), None);
        let mut fresh = Evidence::new(t, "h");
        fresh.merge(&r);
        assert_eq!(fresh.grant_conditions(), Some(&c));
        let text = serde_json::to_string(&fresh).unwrap_or_default();
        let at = |k: &&str| text.find(&format!("\"{k}\":"));
        // every field but a fold's, which this evidence has none of
        let order: Vec<_> = EVIDENCE_FIELDS
            .iter()
            .take_while(|k| **k != "folded")
            .map(at)
            .collect();
        assert!(
            order.iter().all(Option::is_some) && order.is_sorted(),
            "{text}"
        );
    }

    /// An evidence's fields in the order they are written (`EvidenceOut::fields`), the fold's
    /// last.
    const EVIDENCE_FIELDS: [&str; 11] = [
        "count",
        "first_seen",
        "last_seen",
        "event_id",
        "service_made",
        "invoked_by",
        "platform",
        "unresolved",
        "conditions",
        "extra",
        "folded",
    ];

    /// Every field of an evidence, each set, is written once, in the order its schema's type
    /// declares them (`EvidenceOut`, whose fields are written one by one by
    /// [`EvidenceOut::fields`], not by a derive), and the schema names exactly those fields.
    #[test]
    fn every_field_of_an_evidence_is_written_as_its_schema_names_it() {
        let t = DateTime::from_timestamp(1_790_000_000, 0);
        let span = Seen {
            count: 2,
            first_seen: t,
            last_seen: t,
        };
        let mut e = Evidence::new(t, "e-1");
        e.observe(span, "e-1", Some("secretsmanager.amazonaws.com"), true);
        e.add_extra("sse-kms");
        e.add_unresolved("the key");
        e.set_conditions(crate::model::condition(
            "StringEquals",
            "kms:ViaService",
            "s3.eu-west-1.amazonaws.com".into(),
        ));
        let mut folded = Folded::default();
        folded.add("b/uploads/", "one");
        e.folded = Some(Box::new(folded));
        let text = serde_json::to_string(&e.out("b/uploads/*")).unwrap_or_default();
        let order = EVIDENCE_FIELDS;
        let at: Vec<Vec<usize>> = order
            .iter()
            .map(|k| {
                let key = format!("\"{k}\":");
                text.match_indices(&key).map(|(i, _)| i).collect()
            })
            .collect();
        assert!(at.iter().all(|i| i.len() == 1) && at.is_sorted(), "{text}");
        assert!(text.contains(r#""examples":["b/uploads/one"]"#), "{text}");
        let keys = |v: &serde_json::Value| {
            v.as_object()
                .map(|o| o.keys().cloned().collect::<BTreeSet<_>>())
                .unwrap_or_default()
        };
        let written: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let schema = schemars::schema_for!(Evidence);
        assert_eq!(keys(&schema.as_value()["properties"]), keys(&written));
        assert_eq!(keys(&written).len(), order.len());
    }

    #[test]
    fn confidence_says_when_a_proposal_is_not_settled() {
        let day =
            |d: i64| DateTime::from_timestamp(1_790_000_000 + d * 86_400, 0).unwrap_or_default();
        let window = Some(Window {
            first: day(0),
            last: day(20),
        });
        let mut p = PrincipalUsage::default();
        let mut e = Evidence::new(Some(day(1)), "e");
        e.seen = Seen::span(day(1), day(19), 40);
        p.grants.insert(
            grant_key("s3:GetObject", "arn:aws:s3:::b/k").unwrap_or_else(|e| panic!("{e}")),
            e,
        );
        for d in [1, 5, 9, 19] {
            p.days.add(day(d));
        }
        p.calls = 40;
        let c = p.confidence(window);
        assert!(c.settled, "{c:?}");
        assert_eq!((c.active_days, c.calls), (4, 40));
        // a grant first seen on day 17 of 20: in the last fifth
        let mut late = Evidence::new(Some(day(17)), "f");
        late.seen = Seen::once(day(17));
        p.grants.insert(
            grant_key("s3:PutObject", "arn:aws:s3:::b/k").unwrap_or_else(|e| panic!("{e}")),
            late,
        );
        let c = p.confidence(window);
        assert!(!c.settled && c.why.len() == 1, "{c:?}");
        assert_eq!(c.newest_grant_first_seen, Some(day(17)));
        // active on two days only
        let mut q = PrincipalUsage::default();
        q.days.add(day(3));
        q.days.add(day(3));
        q.days.add(day(4));
        let c = q.confidence(window);
        assert!(!c.settled && c.active_days == 2, "{c:?}");
    }

    /// Every grant of the read phase's tables holds one: its size is memory per distinct grant
    /// (docs/performance.md, "A small grant").
    #[test]
    fn a_grant_slot_stays_small() {
        assert!(
            std::mem::size_of::<Evidence>() <= 120,
            "{}",
            std::mem::size_of::<Evidence>()
        );
        assert_eq!(std::mem::size_of::<Slot>(), 40);
        assert_eq!(std::mem::size_of::<(Slot, Evidence)>(), 120);
    }

    /// Two aggregates' tables of one actor merge entry by entry, the smaller into the larger
    /// (a grant both hold is one entry, its calls added), and resolve to the ordered map the
    /// grants make added one at a time.
    #[test]
    fn grant_tables_merge_entry_by_entry_into_the_larger() {
        let t = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let table = |from: usize, to: usize| {
            let mut g = FastGrants::default();
            for i in from..to {
                let mut e = Evidence::new(Some(t), &format!("e-{i}"));
                e.seen.count = 1;
                g.insert(Slot::new("s3:GetObject", &format!("arn:aws:s3:::b/{i}")), e);
            }
            g
        };
        let (a, b) = (table(0, 6_000), table(3_000, 9_000));
        let mut unusable = Vec::new();
        // one at a time, as an ordered map adds them (`EvidenceMap::add`)
        let mut expected = Grants::new();
        for table in [a.clone(), b.clone()] {
            let mut typed = Vec::new();
            add_typed(&mut typed, table, &mut unusable);
            expected.add_all(typed);
        }
        for (first, second) in [(a.clone(), b.clone()), (b, a)] {
            let mut x = ActorUsage {
                grants: first,
                ..ActorUsage::default()
            };
            x.merge(ActorUsage {
                grants: second,
                ..ActorUsage::default()
            });
            assert_eq!(x.grants.len(), 9_000);
            let mut typed = Vec::new();
            add_typed(&mut typed, x.grants, &mut unusable);
            let got = ordered(typed);
            assert!(unusable.is_empty());
            assert_eq!(got, expected);
            let both = grant_key("s3:GetObject", "arn:aws:s3:::b/4000").ok();
            assert_eq!(
                both.and_then(|k| got.get(&k)).map(|e| e.seen.count),
                Some(2)
            );
        }
    }

    /// A function's grants scoped by one condition block share it (no copy a grant); evidence
    /// that had a condition of its own, or that is merged with another function's, gets its
    /// own, with both; what AWS or Lambda's platform made is not scoped.
    /// `synth::scope::source_function` makes the block of a function's ARN, escaped.
    #[test]
    fn a_function_s_scoped_grants_share_one_condition_block() {
        use chrono::TimeZone;
        use std::sync::Arc;
        let t = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let key = crate::synth::scope::SOURCE_FUNCTION_ARN;
        let arn = "arn:aws:lambda:eu-west-1:111122223333:function:f*";
        let block = Arc::new(crate::model::condition(
            "ArnEquals",
            key,
            crate::wildcard::escape(arn).into_owned(),
        ));
        let plain = Evidence::new(Some(t), "e1");
        let (a, b) = (plain.scoped(&block), plain.scoped(&block));
        let shared = |e: &Evidence| e.rare.conditions.as_ref().map(|c| Arc::ptr_eq(c, &block));
        assert_eq!((shared(&a), shared(&b)), (Some(true), Some(true)));
        assert_eq!(a.conditions(), &*block);
        let made = crate::synth::scope::source_function(arn);
        assert_eq!(
            *made, *block,
            "the function's ARN escaped, under `ArnEquals`"
        );
        assert_eq!(shared(&plain.scoped(&made)), Some(false));

        let mut own = Evidence::new(Some(t), "e2");
        own.set_conditions(crate::model::condition(
            "StringEquals",
            "kms:ViaService",
            "s".into(),
        ));
        let both = own.scoped(&block);
        assert_eq!(shared(&both), Some(false));
        assert_eq!(both.conditions().len(), 2);
        assert_eq!(own.conditions().len(), 1, "the original is left as it was");

        let other = Arc::new(crate::model::condition("ArnEquals", key, "g".into()));
        let mut merged = plain.scoped(&block);
        merged.seen.count = 1;
        let mut from_g = plain.scoped(&other);
        from_g.seen.count = 1;
        merged.merge(&from_g);
        assert_eq!(merged.conditions()["ArnEquals"][key].len(), 2);
        assert_eq!(
            block["ArnEquals"][key].len(),
            1,
            "the shared block is not changed"
        );

        let mut made = Evidence::new(Some(t), "e3");
        made.add_service_made(1, "lambda.amazonaws.com");
        assert!(made.scoped(&block).conditions().is_empty());
    }

    /// The exact keys at the top of a bucket are counted once each, however often they are
    /// met; once `FOLD_TOP_LEVEL_AFTER` are counted, a new one is folded and the counted ones
    /// stay exact.
    #[test]
    fn top_level_keys_are_counted_once_each() {
        let mut keys = TopLevelKeys::default();
        for _ in 0..3 {
            assert!(keys.keeps("arn:aws:s3:::b/a"));
        }
        assert_eq!(keys.0.len(), 1);
        for i in 1..FOLD_TOP_LEVEL_AFTER {
            assert!(keys.keeps(&format!("arn:aws:s3:::b/{i}")));
        }
        assert_eq!(keys.0.len(), FOLD_TOP_LEVEL_AFTER);
        assert!(!keys.keeps("arn:aws:s3:::b/one-more"));
        assert!(keys.keeps("arn:aws:s3:::b/a") && keys.keeps("arn:aws:s3:::b/7"));
        assert_eq!(keys.0.len(), FOLD_TOP_LEVEL_AFTER);
    }

    /// The end of the read's merge, actor by actor on the pool, makes what the one-thread merge
    /// makes: an actor in both (its grants, top-level keys, calls and days added up), an actor
    /// in either alone, and the counts beside the actors.
    #[test]
    fn the_parallel_merge_is_the_merge() {
        let t = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let aggregate = |roles: &[&str], keys: std::ops::Range<usize>, records: u64| {
            let mut agg = Aggregate::default();
            for name in roles {
                let mut usage = ActorUsage::default();
                for i in keys.clone() {
                    let mut e = Evidence::new(Some(t), &format!("{name}-{i}"));
                    e.seen.count = 1 + i as u64;
                    let key = format!("arn:aws:s3:::b/{i}");
                    usage
                        .grants
                        .insert(Slot::new("s3:GetObject", &key), e.clone());
                    usage.denied.insert(Slot::new("s3:PutObject", &key), e);
                    usage.days.add(t);
                }
                let head = ("s3:GetObject".to_string(), "arn:aws:s3:::b/".to_string());
                let top = usage.top_level.entry(head).or_default();
                for i in keys.clone() {
                    top.keeps(&format!("arn:aws:s3:::b/{i}"));
                }
                usage.calls = keys.len() as u64;
                agg.actors.insert(role(name), usage);
            }
            agg.records = records;
            agg.window = Some(Window { first: t, last: t });
            agg
        };
        // what an aggregate holds, in an order that does not depend on its hash tables
        let view = |agg: &Aggregate| {
            let mut actors: Vec<_> = agg
                .actors
                .iter()
                .map(|(actor, u)| {
                    let sorted = |g: &FastGrants| {
                        let mut v: Vec<_> = g.iter().map(|(k, e)| (k.clone(), e.clone())).collect();
                        v.sort_by(|a, b| {
                            (a.0.action, &a.0.resource).cmp(&(b.0.action, &b.0.resource))
                        });
                        v
                    };
                    let top: Vec<usize> = u.top_level.values().map(|k| k.0.len()).collect();
                    let days: Vec<_> = u.days.iter().collect();
                    (
                        format!("{actor:?}"),
                        sorted(&u.grants),
                        sorted(&u.denied),
                        top,
                        u.calls,
                        days,
                    )
                })
                .collect();
            actors.sort_by(|a, b| a.0.cmp(&b.0));
            (actors, agg.records, agg.window)
        };
        let mine = || aggregate(&["shared", "mine"], 0..300, 5);
        let theirs = || aggregate(&["shared", "theirs"], 200..700, 7);
        let mut one = mine();
        one.merge(theirs());
        let mut pooled = mine();
        pooled.merge_in_parallel(theirs());
        assert_eq!(view(&pooled), view(&one));
        let shared = &pooled.actors[&role("shared")];
        assert_eq!((shared.grants.len(), shared.calls), (700, 800));
        assert_eq!(pooled.records, 12);
    }

    /// An aggregate emptied into another keeps only its actors' exact top-level keys (so the
    /// worker reading on into it folds as it would have, and a key it meets again is not
    /// counted again); everything else, and its count of new grants, is moved.
    #[test]
    fn an_emptied_aggregate_keeps_only_its_top_level_keys() {
        let t = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let actor = Actor::Role {
            account: "111122223333".into(),
            role_arn: "arn:aws:iam::111122223333:role/r".into(),
        };
        let mut usage = ActorUsage::default();
        usage.grants.insert(
            Slot::new("s3:GetObject", "arn:aws:s3:::b/k"),
            Evidence::new(Some(t), "x"),
        );
        let head = ("s3:GetObject".to_string(), "arn:aws:s3:::b/".to_string());
        let keys = usage.top_level.entry(head.clone()).or_default();
        assert!(keys.keeps("arn:aws:s3:::b/k") && keys.keeps("arn:aws:s3:::b/l"));
        usage.calls = 3;
        let other = Actor::Root {
            account: "111122223333".into(),
        };
        let mut o = Aggregate::default();
        o.actors.insert(actor.clone(), usage);
        o.actors.insert(
            other,
            ActorUsage {
                calls: 1,
                ..ActorUsage::default()
            },
        );
        o.records = 4;
        o.pending = 1;
        o.window = Some(Window { first: t, last: t });
        let mut into = Aggregate::default();
        into.absorb(&mut o, false);
        assert_eq!((o.records, o.pending, o.window), (0, 0, None));
        assert_eq!(
            o.actors.len(),
            1,
            "only the actor with top-level counts stays"
        );
        let kept = o.actors.get_mut(&actor).unwrap();
        assert!(kept.grants.is_empty() && kept.calls == 0 && kept.top_level.len() == 1);
        // a key met again after the emptying is the one counted before, not a new one
        let keys = kept.top_level.get_mut(&head).unwrap();
        assert!(keys.keeps("arn:aws:s3:::b/k"));
        assert_eq!(keys.0.len(), 2);
        assert_eq!(
            (into.records, into.window),
            (4, Some(Window { first: t, last: t }))
        );
        assert_eq!(into.actors.len(), 2);
        let moved = &into.actors[&actor];
        assert_eq!((moved.grants.len(), moved.calls), (1, 3));
        assert!(moved.top_level.is_empty());
    }

    /// A worker that reads on keeps the actors it met, their tables empty with room for as
    /// many grants as they held; the one it had not met since its last emptying goes.
    #[test]
    fn a_worker_that_reads_on_keeps_room_for_its_actors_grants() {
        let t = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let mut met = ActorUsage {
            calls: 40,
            ..ActorUsage::default()
        };
        for k in 0..40 {
            met.grants.insert(
                Slot::new("s3:GetObject", &format!("arn:aws:s3:::b/{k}")),
                Evidence::new(Some(t), "x"),
            );
        }
        met.denied.insert(
            Slot::new("s3:PutObject", "arn:aws:s3:::b/d"),
            Evidence::new(Some(t), "y"),
        );
        met.regions.insert("eu-west-1".into());
        let mut o = Aggregate::default();
        o.actors.insert(role("met"), met);
        // an actor kept from an earlier emptying that met nothing since
        o.actors.insert(role("idle"), ActorUsage::default());
        o.pending = 41;
        let mut into = Aggregate::default();
        into.absorb(&mut o, true);
        assert_eq!(
            o.actors.len(),
            1,
            "the idle actor goes: {:?}",
            o.actors.keys()
        );
        let kept = &o.actors[&role("met")];
        assert!(!kept.gathered_anything(), "{kept:?}");
        assert!(kept.grants.capacity() >= 40 && kept.denied.capacity() >= 1);
        let moved = &into.actors[&role("met")];
        assert_eq!(
            (moved.grants.len(), moved.denied.len(), moved.calls),
            (40, 1, 40)
        );
        assert!(moved.regions.contains("eu-west-1"));
        assert!(!into.actors.contains_key(&role("idle")));
        // emptied again, having met it again: merged into what the first emptying moved
        let again = o.actors.get_mut(&role("met")).unwrap();
        again.calls = 1;
        again.grants.insert(
            Slot::new("s3:GetObject", "arn:aws:s3:::b/0"),
            Evidence::new(Some(t), "z"),
        );
        into.absorb(&mut o, false);
        assert!(o.actors.is_empty(), "{:?}", o.actors.keys());
        let moved = &into.actors[&role("met")];
        assert_eq!((moved.grants.len(), moved.calls), (40, 41));
    }

    /// Three roles' grants in one aggregate (1, 2 and 3 of them, 6 in all), for the tests of
    /// a spill that fails.
    fn three_roles_of_grants() -> Aggregate {
        let t = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let mut agg = Aggregate::default();
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            let mut usage = ActorUsage::default();
            for k in 0..=i {
                let mut e = Evidence::new(Some(t), &format!("{name}-{k}"));
                e.seen.count = 1 + k as u64;
                usage
                    .grants
                    .insert(Slot::new("s3:GetObject", &format!("arn:aws:s3:::b/{k}")), e);
            }
            agg.actors.insert(role(name), usage);
        }
        agg
    }

    /// `u`, its grants on disk read back, has the principals and grants of `in_memory`.
    fn reads_back_as(mut u: Usage, in_memory: &Usage) {
        u.load_all().unwrap();
        assert!(!u.is_spilled());
        assert_eq!(u.principals.len(), in_memory.principals.len());
        for (id, p) in &u.principals {
            assert!(p.grants == in_memory.principals[id].grants, "{id:?}");
        }
    }

    /// A write to the temporary file that fails loses nothing: the error is returned, every
    /// actor keeps its grants in memory, nothing is counted as written, and the usage
    /// resolves as if no write had been tried.
    #[test]
    fn a_failed_spill_keeps_every_grant() {
        let mut agg = three_roles_of_grants();
        let in_memory = Usage::resolve(agg.clone(), &Inventory::default());
        agg.spill = Some(spill::Spill::unwritable());
        assert!(matches!(agg.spill(), Err(SpillError::Io(_))));
        assert_eq!(agg.held(), 6);
        assert_eq!(agg.bytes_spilled(), 0);
        assert!(agg.actors.values().all(|u| u.spilled.is_empty()));
        let u = Usage::resolve(agg, &Inventory::default());
        assert!(!u.is_spilled());
        reads_back_as(u, &in_memory);
    }

    /// A write that fails part way through a spill (the disk fills after the first actor's
    /// section) loses nothing either: the actor written keeps its section and only it, the
    /// others keep their grants in memory, and read back the usage is the one never written.
    #[test]
    fn a_spill_that_fails_part_way_keeps_every_grant() {
        let mut agg = three_roles_of_grants();
        let in_memory = Usage::resolve(agg.clone(), &Inventory::default());
        agg.spill = Some(spill::Spill::failing_after(1));
        let Err(SpillError::Io(reason)) = agg.spill() else {
            panic!("the second write was to fail");
        };
        assert!(reason.contains("space"), "{reason}");
        assert!(agg.has_spilled() && agg.bytes_spilled() > 0);
        let written: Vec<&ActorUsage> = agg
            .actors
            .values()
            .filter(|u| !u.spilled.is_empty())
            .collect();
        assert_eq!(written.len(), 1, "one section was written");
        assert!(written[0].grants.is_empty() && written[0].spilled.sections() == 1);
        let on_disk = 6 - agg.held();
        assert!((1..=3).contains(&on_disk), "{on_disk}");
        assert!(
            agg.actors
                .values()
                .filter(|u| u.spilled.is_empty())
                .all(|u| !u.grants.is_empty()),
            "the actors not written keep their grants"
        );
        let u = Usage::resolve(agg, &Inventory::default());
        assert!(u.is_spilled());
        reads_back_as(u, &in_memory);
    }

    /// Spilling writes every actor's grants and empties their tables; denied calls and the
    /// rest stay. A key that is not an action and a resource is set apart (reported as the
    /// resolve reports those still in memory), not written. Read back, the usage is the same.
    #[test]
    fn spilling_empties_the_grant_tables_and_reads_back_the_same() {
        let t = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let actor = Actor::Role {
            account: "111122223333".into(),
            role_arn: "arn:aws:iam::111122223333:role/r".into(),
        };
        let mut usage = ActorUsage::default();
        let mut e = Evidence::new(Some(t), "x");
        e.seen.count = 2;
        usage
            .grants
            .insert(Slot::new("s3:GetObject", "arn:aws:s3:::b/k"), e.clone());
        usage
            .grants
            .insert(Slot::new("s3:GetObject", "not an arn"), e.clone());
        usage
            .denied
            .insert(Slot::new("s3:PutObject", "arn:aws:s3:::b/k"), e.clone());
        usage.calls = 3;
        let mut agg = Aggregate::default();
        agg.actors.insert(actor.clone(), usage);
        let in_memory = Usage::resolve(agg.clone(), &Inventory::default());
        assert_eq!(agg.held(), 2);
        agg.spill().unwrap();
        assert!(agg.has_spilled() && agg.bytes_spilled() > 0);
        assert_eq!(agg.held(), 0);
        let kept = &agg.actors[&actor];
        assert!(kept.grants.is_empty() && kept.denied.len() == 1 && kept.calls == 3);
        assert_eq!(kept.spilled.sections(), 1);
        // met again after the spill: a second entry, merged when read back
        agg.actors
            .get_mut(&actor)
            .unwrap()
            .grants
            .insert(Slot::new("s3:GetObject", "arn:aws:s3:::b/k"), e.clone());
        let mut u = Usage::resolve(agg, &Inventory::default());
        assert!(u.is_spilled());
        assert_eq!(u.unusable_keys, in_memory.unusable_keys);
        assert_eq!(u.unusable_keys.len(), 1);
        u.load_all().unwrap();
        assert!(!u.is_spilled());
        let (p, q) = (
            u.principals.values().next().unwrap(),
            in_memory.principals.values().next().unwrap(),
        );
        assert_eq!(p.grants.len(), 1);
        assert_eq!(p.grants.values().next().unwrap().seen.count, 4);
        assert!(p.denied == q.denied && p.calls == q.calls);
    }

    /// An actor's regions and data-event types are every one its records name, however they
    /// alternate.
    #[test]
    fn an_actors_regions_and_data_types_are_every_one_its_records_name() {
        let record = |region: &str, source: &str, name: &str, category: &str| {
            format!(
                r#"{{"eventVersion":"1.09","eventTime":"2026-10-01T00:00:00Z","eventSource":"{source}","eventName":"{name}","awsRegion":"{region}","eventCategory":"{category}","eventID":"e","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u","accountId":"111122223333"}},"requestParameters":{{"bucketName":"b","key":"k","functionName":"f"}}}}"#
            )
        };
        let (s3, lambda, ddb) = (
            "s3.amazonaws.com",
            "lambda.amazonaws.com",
            "dynamodb.amazonaws.com",
        );
        let mut agg = Aggregate::default();
        for (region, source, name, category) in [
            ("eu-west-1", s3, "GetObject", "Data"),
            ("us-east-1", s3, "GetObject", "Data"),
            ("eu-west-1", lambda, "Invoke", "Data"),
            ("eu-west-1", s3, "GetObject", "Data"),
            ("ap-southeast-2", ddb, "ListTables", "Management"),
            ("us-east-1", lambda, "Invoke", "Data"),
        ] {
            let text = record(region, source, name, category);
            let rec: Record<'_> = serde_json::from_str(&text).unwrap();
            let time = rec.validate().unwrap();
            let mapping = crate::mapping::Mapper::embedded().map(&rec);
            let actor = crate::identity::actor(&rec).ok();
            agg.add_span(&rec, Seen::at(time), &mapping, actor, true, false);
        }
        assert_eq!(agg.actors.len(), 1);
        let usage = agg.actors.values().next().unwrap();
        let regions: Vec<&str> = usage.regions.iter().map(String::as_str).collect();
        assert_eq!(regions, ["ap-southeast-2", "eu-west-1", "us-east-1"]);
        let types: Vec<&str> = usage.data_types.iter().map(String::as_str).collect();
        assert_eq!(types, ["AWS::Lambda::Function", "AWS::S3::Object"]);
    }

    /// A call of any class counts for its actor (its call, its day, its region), whether it
    /// made a grant, a denied call, a permission-less call, or nothing the policy names.
    #[test]
    fn every_class_of_call_counts_its_day_and_region() {
        let record = |day: u32, region: &str, source: &str, name: &str, extra: &str| {
            format!(
                r#"{{"eventVersion":"1.09","eventTime":"2026-10-{day:02}T00:00:00Z","eventSource":"{source}","eventName":"{name}","awsRegion":"{region}","eventID":"e{day}","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/u","accountId":"111122223333"}},"requestParameters":{{"bucketName":"b","key":"k"}}{extra}}}"#
            )
        };
        let denied = r#","errorCode":"AccessDenied""#;
        let calls = [
            (
                1,
                "eu-west-1",
                "s3.amazonaws.com",
                "GetObject",
                "",
                Class::Mapped,
            ),
            (
                2,
                "us-east-1",
                "s3.amazonaws.com",
                "GetObject",
                denied,
                Class::Denied,
            ),
            (
                3,
                "us-west-2",
                "sts.amazonaws.com",
                "GetCallerIdentity",
                "",
                Class::PermissionLess,
            ),
            (
                4,
                "ap-south-1",
                "s3.amazonaws.com",
                "NoSuchCall",
                "",
                Class::Unmapped,
            ),
        ];
        let mut agg = Aggregate::default();
        for (day, region, source, name, extra, class) in calls {
            let text = record(day, region, source, name, extra);
            let rec: Record<'_> = serde_json::from_str(&text).unwrap();
            let time = rec.validate().unwrap();
            let mapping = crate::mapping::Mapper::embedded().map(&rec);
            assert_eq!(mapping.class, class, "{name}");
            let actor = crate::identity::actor(&rec).ok();
            agg.add_span(&rec, Seen::at(time), &mapping, actor, true, false);
        }
        assert_eq!(agg.actors.len(), 1);
        let usage = agg.actors.values().next().unwrap();
        assert_eq!(usage.calls, 4);
        let regions: Vec<&str> = usage.regions.iter().map(String::as_str).collect();
        assert_eq!(
            regions,
            ["ap-south-1", "eu-west-1", "us-east-1", "us-west-2"]
        );
        let days: Vec<(u32, u64, u64)> = usage
            .days
            .iter()
            .map(|(d, n)| (chrono::Datelike::day(&d), n.calls, n.denied))
            .collect();
        assert_eq!(days, [(1, 1, 0), (2, 1, 1), (3, 1, 0), (4, 1, 0)]);
        assert_eq!((usage.grants.len(), usage.denied.len()), (1, 1));
        assert_eq!(usage.permission_less.len(), 1);
    }

    /// A grant table hashes only the hash its keys keep: what `grant_entry` looks up by
    /// borrowed names is found again after the table has grown many times and been merged into
    /// another, and a key is its names, not its hash.
    #[test]
    fn grant_tables_find_their_keys_by_the_hash_they_keep() {
        let t = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let names: Vec<String> = (0..5_000).map(|i| format!("arn:aws:s3:::b/{i}")).collect();
        let mut table = FastGrants::default();
        for (i, r) in names.iter().enumerate() {
            let e = grant_entry(&mut table, "s3:GetObject", r, || {
                Evidence::new(Some(t), "e")
            });
            assert_eq!(e.seen.count, 0, "{r} was made once");
            e.seen.count = 1 + i as u64;
        }
        // merged as two actors' tables are: the smaller into the larger, given as many buckets
        let mut into = ActorUsage::default();
        into.grants.insert(
            Slot::new("s3:GetObject", "arn:aws:s3:::other"),
            Evidence::new(Some(t), "e"),
        );
        into.merge(ActorUsage {
            grants: table,
            ..ActorUsage::default()
        });
        let mut merged = into.grants;
        assert_eq!(merged.len(), names.len() + 1);
        for (i, r) in names.iter().enumerate() {
            let e = grant_entry(&mut merged, "s3:GetObject", r, || {
                Evidence::new(Some(t), "e")
            });
            assert_eq!(e.seen.count, 1 + i as u64, "{r} is found, not made again");
        }
        assert_eq!(merged.len(), names.len() + 1);
        // the same hash under other names is another key
        let kept = Slot::new("s3:GetObject", "arn:aws:s3:::b/1");
        for (action, resource) in [
            ("s3:GetObject", "arn:aws:s3:::b/2"),
            ("s3:PutObject", "arn:aws:s3:::b/1"),
        ] {
            let forged = Lookup {
                action,
                resource,
                hash: kept.hash,
            };
            assert!(!hashbrown::Equivalent::equivalent(&forged, &kept));
        }
        let same = Lookup {
            action: "s3:GetObject",
            resource: "arn:aws:s3:::b/1",
            hash: kept.hash,
        };
        assert!(hashbrown::Equivalent::equivalent(&same, &kept));
        assert_eq!(grant_hash("s3:GetObject", "arn:aws:s3:::b/1"), kept.hash);
        // the table's hasher takes the kept hash as it is, for a key and for a lookup
        use std::hash::BuildHasher;
        assert_eq!(KeptHash.hash_one(&kept), kept.hash);
        assert_eq!(KeptHash.hash_one(&same), kept.hash);
    }

    #[test]
    fn read_keys_are_typed_or_set_apart() {
        let t = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let mut fast = FastGrants::default();
        for (a, r) in [
            ("s3:GetObject", "arn:aws:s3:::b/k"),
            ("s3:ListAllMyBuckets", "*"),
            ("not an action", "arn:aws:s3:::b"),
            ("s3:GetObject", "b/k"),
        ] {
            fast.insert(Slot::new(a, r), Evidence::new(Some(t), "e"));
        }
        let mut unusable = Vec::new();
        let mut typed = Vec::new();
        add_typed(&mut typed, fast, &mut unusable);
        assert_eq!(typed.len(), 2);
        unusable.sort();
        assert_eq!(
            unusable,
            [
                ("not an action".to_string(), "arn:aws:s3:::b".to_string()),
                ("s3:GetObject".to_string(), "b/k".to_string())
            ]
        );
    }

    /// A key inserted from borrowed strings is the key an owned tuple finds, and is found again
    /// from borrowed strings (the two hash alike): no duplicates.
    #[test]
    fn borrowed_keys_find_owned_keys() {
        let mut m: FastMap<(String, String), u32> = FastMap::default();
        *entry_by(&mut m, "s3:GetObject", "arn:aws:s3:::b/k", || 0) += 1;
        *entry_by(&mut m, "s3:GetObject", "arn:aws:s3:::b/k", || 0) += 1;
        *entry_by(&mut m, "s3:GetObject", "arn:aws:s3:::b/", || 0) += 1;
        *entry_by(&mut m, "s3:GetObjec", "tarn:aws:s3:::b/k", || 0) += 1;
        assert_eq!(m.len(), 3);
        assert_eq!(
            m.get(&("s3:GetObject".to_string(), "arn:aws:s3:::b/k".to_string())),
            Some(&2)
        );
        m.insert(("a".into(), "b".into()), 7);
        assert_eq!(*entry_by(&mut m, "a", "b", || 0), 7);
    }

    /// An actor borrowed from a record finds the owned actor it equals, whatever the variant,
    /// and only that one.
    #[test]
    fn borrowed_actors_find_owned_actors() {
        use std::borrow::Cow::Borrowed as B;
        let refs: Vec<ActorRef<'_>> = vec![
            ActorOf::Session {
                account: B("1"),
                role_arn: B("arn:aws:iam::1:role/r"),
                session: B("f"),
            },
            ActorOf::Role {
                account: B("1"),
                role_arn: B("arn:aws:iam::1:role/r"),
            },
            ActorOf::User {
                account: B("1"),
                arn: B("arn:aws:iam::1:user/u"),
            },
            ActorOf::Federated {
                account: B("1"),
                arn: B("arn:aws:iam::1:user/u"),
            },
            ActorOf::Root { account: B("1") },
        ];
        let mut m: FastMap<Actor, usize> = FastMap::default();
        for (i, a) in refs.iter().enumerate() {
            m.insert(a.clone().into_owned(), i);
        }
        for (i, a) in refs.iter().enumerate() {
            assert_eq!(m.get(a), Some(&i), "{a:?}");
        }
        let other: ActorRef<'_> = ActorOf::Root { account: B("2") };
        assert_eq!(m.get(&other), None);
    }

    proptest::proptest! {
        /// In place, `permute` puts every element where a copy by index would.
        #[test]
        fn permute_is_a_copy_by_index(
            order in proptest::strategy::Strategy::prop_flat_map(0usize..40, |n| {
                proptest::strategy::Strategy::prop_shuffle(proptest::strategy::Just((0..n).collect::<Vec<_>>()))
            }),
        ) {
            let v: Vec<String> = (0..order.len()).map(|i| format!("e{i}")).collect();
            let want: Vec<String> = order.iter().map(|&i| v[i].clone()).collect();
            let mut got = v;
            permute(&mut got, &order);
            proptest::prop_assert_eq!(got, want);
        }
    }

    proptest::proptest! {
        /// Counted in any order (the recent day tried first, days revisited after others,
        /// two lists merged, then counted on), the days add up to what an ordered map of
        /// day → counts says.
        #[test]
        fn days_add_up_in_any_order(
            calls in proptest::collection::vec((0i64..12, 0u64..4, proptest::bool::ANY), 0..60),
            split in 0usize..60,
            merged_at in 0usize..60,
        ) {
            let base = 1_790_000_000 - 1_790_000_000 % 86_400;
            let mut model: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
            let (mut a, mut b) = (Days::default(), Days::default());
            for (i, (d, n, denied)) in calls.iter().enumerate() {
                let t = DateTime::from_timestamp(base + d * 86_400 + (i as i64 % 86_400), 0)
                    .unwrap_or_default();
                let c = DayCount { calls: *n, denied: if *denied { *n } else { 0 } };
                let m = model.entry(t.timestamp().div_euclid(86_400)).or_default();
                (m.0, m.1) = (m.0 + c.calls, m.1 + c.denied);
                if i == merged_at.max(split) {
                    a.merge(&b);
                    b = Days::default();
                }
                if i < split || i >= merged_at.max(split) { a.count(t, c) } else { b.count(t, c) }
            }
            a.merge(&b);
            // a copy made by merging it into no days is equal to it
            let mut whole = Days::default();
            whole.merge(&a);
            proptest::prop_assert!(whole == a);
            let got: Vec<(i64, u64, u64)> = a
                .iter()
                .map(|(d, n)| (d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp() / 86_400, n.calls, n.denied))
                .collect();
            let want: Vec<(i64, u64, u64)> = model.into_iter().map(|(d, (c, x))| (d, c, x)).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    /// A merge that puts an earlier day before the recent one moves the recent day's entry:
    /// a call counted on the recent day after it still lands on that day.
    #[test]
    fn a_merge_that_moves_the_recent_day_keeps_its_count() {
        let at = |d: i64| {
            DateTime::from_timestamp(1_790_000_000 - 1_790_000_000 % 86_400 + d * 86_400, 0)
                .unwrap_or_default()
        };
        let one = DayCount {
            calls: 1,
            denied: 0,
        };
        let (mut a, mut b) = (Days::default(), Days::default());
        a.count(at(5), one);
        b.count(at(2), one);
        a.merge(&b);
        a.count(at(5), one);
        let got: Vec<(String, u64)> = a.iter().map(|(d, n)| (d.to_string(), n.calls)).collect();
        assert_eq!(
            got,
            [("2026-09-23".to_string(), 1), ("2026-09-26".to_string(), 2)]
        );
    }

    #[test]
    fn days_count_calls_and_denied_calls_per_day() {
        let at = |d: i64, h: i64| {
            DateTime::from_timestamp(
                1_790_000_000 - 1_790_000_000 % 86_400 + d * 86_400 + h * 3600,
                0,
            )
            .unwrap_or_default()
        };
        let calls = |n| DayCount {
            calls: n,
            denied: 0,
        };
        let mut a = Days::default();
        a.count(at(2, 1), calls(3));
        a.count(
            at(2, 23),
            DayCount {
                calls: 2,
                denied: 2,
            },
        );
        a.count(at(0, 5), calls(1));
        a.add(at(1, 0));
        let mut b = Days::default();
        b.count(
            at(2, 4),
            DayCount {
                calls: 1,
                denied: 1,
            },
        );
        b.count(at(5, 4), calls(7));
        a.merge(&b);
        let got: Vec<(String, u64, u64)> = a
            .iter()
            .map(|(d, n)| (d.to_string(), n.calls, n.denied))
            .collect();
        let day = |d| at(d, 0).date_naive().to_string();
        assert_eq!(
            got,
            [
                (day(0), 1, 0),
                (day(1), 0, 0),
                (day(2), 6, 3),
                (day(5), 7, 0)
            ]
        );
        assert_eq!(
            a.len(),
            4,
            "an active day without counted calls is still active"
        );
    }
}
