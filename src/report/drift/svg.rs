//! The pictures of the HTML drift report, drawn as inline SVG: a bar chart of a count per day,
//! and the usage graph of what changed, in columns, with arrowheads. Every label is escaped
//! (`report::escape::html`): principal and resource names come from the log.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::drift::{ChangeGraph, Column, EdgeStat, Node};
use crate::report::escape::html as esc;

/// Bars per chart at most: a longer period is drawn with a bar per several days.
pub const MAX_BARS: usize = 92;

/// The width and height of the bars' area of a chart, in pixels.
const BARS_W: f64 = 180.0;
const BARS_H: u32 = 24;
/// Above the bars, and the baseline's offset.
const TOP: u32 = 4;
const CHART_W: u32 = 250;
const CHART_H: u32 = TOP + BARS_H + 4;

/// The days from `first` to `last` in buckets of `per` days, so that there are at most
/// [`MAX_BARS`]: (the bucket's first day, its count).
pub fn buckets(
    (first, last): (NaiveDate, NaiveDate),
    count: &dyn Fn(NaiveDate) -> u64,
) -> (i64, Vec<(NaiveDate, u64)>) {
    let n = (last - first).num_days() + 1;
    if n < 1 {
        return (1, Vec::new());
    }
    let per = (n + MAX_BARS as i64 - 1) / MAX_BARS as i64;
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        let mut sum = 0u64;
        let mut d = day;
        for _ in 0..per {
            if d > last {
                break;
            }
            sum = sum.saturating_add(count(d));
            match d.succ_opt() {
                Some(next) => d = next,
                None => break,
            }
        }
        out.push((day, sum));
        if d <= day {
            break;
        }
        day = d;
    }
    (per, out)
}

/// Bar heights on a scale where the largest count is `height`; a count above zero is at least
/// one pixel high.
pub fn heights(counts: &[u64], height: u32) -> Vec<u32> {
    let max = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|&c| {
            if max == 0 || c == 0 {
                return 0;
            }
            let h = (u128::from(c) * u128::from(height) + u128::from(max) / 2) / u128::from(max);
            (h as u32).clamp(1, height)
        })
        .collect()
}

/// A bar chart of a count per day of one principal: `what` is `calls` or `denied` (the CSS
/// class, and what the label says is counted). The label (the chart's `<title>` and
/// `aria-label`) gives every number; each bar has its own `<title>` for the pointer.
pub fn spark(
    what: &str,
    principal: &str,
    days: Option<(NaiveDate, NaiveDate)>,
    count: &dyn Fn(NaiveDate) -> u64,
) -> String {
    let noun = if what == "denied" {
        "denied calls"
    } else {
        "calls"
    };
    let (per, bars) = days.map_or((1, Vec::new()), |d| buckets(d, count));
    let unit = if per == 1 {
        "day".to_string()
    } else {
        format!("{per} days")
    };
    let counts: Vec<u64> = bars.iter().map(|(_, c)| *c).collect();
    let total: u64 = counts.iter().sum();
    let peak = bars.iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)));
    let mut label = format!("{noun} per {unit} of {principal}");
    if let Some((first, last)) = days {
        let _ = write!(label, ", {first} to {last}");
    }
    match peak {
        Some((day, n)) if total > 0 => {
            let _ = write!(label, ": {total} in all, at most {n} on {day}; ");
            let list: Vec<String> = bars.iter().map(|(d, c)| format!("{d}: {c}")).collect();
            label.push_str(&list.join(", "));
        }
        _ => {
            let _ = write!(label, ": none");
        }
    }
    let label = esc(&label);
    let mut s = format!(
        "<svg class=\"spark {what}\" width=\"{CHART_W}\" height=\"{CHART_H}\" viewBox=\"0 0 {CHART_W} {CHART_H}\" role=\"img\" aria-label=\"{label}\"><title>{label}</title>"
    );
    let base = TOP + BARS_H;
    let _ = write!(
        s,
        "<line class=\"base\" x1=\"0\" y1=\"{base}.5\" x2=\"{BARS_W}\" y2=\"{base}.5\"/>"
    );
    if !bars.is_empty() {
        let slot = BARS_W / bars.len() as f64;
        let width = (slot * 0.8).max(1.0);
        for ((day, c), h) in bars.iter().zip(heights(&counts, BARS_H)) {
            if h == 0 {
                continue;
            }
            let i = (*day - bars[0].0).num_days() / per;
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{}\" width=\"{width:.1}\" height=\"{h}\"><title>{}</title></rect>",
                i as f64 * slot + (slot - width) / 2.0,
                base - h,
                esc(&format!("{day}: {c} {noun}"))
            );
        }
    }
    let top = counts.iter().copied().max().unwrap_or(0);
    let _ = write!(
        s,
        "<text class=\"peak\" x=\"{}\" y=\"{}\">{}</text></svg>",
        BARS_W as u32 + 6,
        TOP + 10,
        if top == 0 {
            "none".to_string()
        } else {
            format!("max {}", compact(top))
        }
    );
    s
}

/// A count in a few characters: `950`, `12k`, `1.2M`.
pub fn compact(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{}k", n / 1000),
        1_000_000..10_000_000 => format!("{:.1}M", n as f64 / 1e6),
        10_000_000..1_000_000_000 => format!("{}M", n / 1_000_000),
        _ => format!("{}G", n / 1_000_000_000),
    }
}

/// A column's left edge and width, and the characters a label in it shows.
fn column_box(c: Column) -> (f64, f64) {
    match c {
        Column::Function => (0.0, 180.0),
        Column::Identity => (236.0, 180.0),
        Column::Service => (472.0, 112.0),
        Column::Resource => (640.0, 460.0),
    }
}

const GRAPH_W: f64 = 1100.0;
const ROW: f64 = 30.0;
const BOX_H: f64 = 22.0;
const HEAD: f64 = 26.0;
/// An estimate of a character's width at the labels' size, to shorten long labels (the node
/// clips what still does not fit).
const CHAR_W: f64 = 7.1;

fn column_title(c: Column) -> &'static str {
    match c {
        Column::Function => "functions",
        Column::Identity => "roles and users",
        Column::Service => "services",
        Column::Resource => "resources",
    }
}

/// `s` in at most `max` characters, the middle elided (the end of an ARN says most).
fn shorten(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 5 {
        return s.to_string();
    }
    let head = (max - 1) / 3;
    let tail = max - 1 - head;
    let start: String = s.chars().take(head).collect();
    let end: String = s.chars().skip(n - tail).collect();
    format!("{start}…{end}")
}

/// What a node shows: a function or role without its kind (the column says it).
fn shown(n: &Node) -> &str {
    match n.column {
        Column::Function => n.label.strip_prefix("function ").unwrap_or(&n.label),
        Column::Identity => n.label.strip_prefix("role ").unwrap_or(&n.label),
        // nearly every ARN starts so: the rest says which. Another partition's ARN
        // (`arn:aws-cn:`, `arn:aws-us-gov:`) keeps its prefix, which says where it is.
        Column::Resource => n.label.strip_prefix("arn:aws:").unwrap_or(&n.label),
        Column::Service => &n.label,
    }
}

fn calls_text(s: &EdgeStat) -> String {
    let mut t = format!("{} call(s)", s.calls);
    if s.denied > 0 {
        let _ = write!(t, ", {} denied", s.denied);
    }
    if s.new {
        t.push_str(", used for the first time in this period");
    }
    t
}

/// The usage graph of what changed, in four columns (function → role → service → resource),
/// each node placed near the middle of its neighbours to its left.
pub fn graph(g: &ChangeGraph) -> String {
    let mut preds: BTreeMap<&Node, Vec<&Node>> = BTreeMap::new();
    let mut succs: BTreeMap<&Node, Vec<&Node>> = BTreeMap::new();
    let mut into: BTreeMap<&Node, EdgeStat> = BTreeMap::new();
    let mut out: BTreeMap<&Node, EdgeStat> = BTreeMap::new();
    for ((a, b), s) in &g.edges {
        preds.entry(b).or_default().push(a);
        succs.entry(a).or_default().push(b);
        for (m, n) in [(&mut into, b), (&mut out, a)] {
            let e = m.entry(n).or_default();
            e.calls += s.calls;
            e.denied += s.denied;
            e.new |= s.new;
        }
    }
    let columns: BTreeMap<Column, Vec<&Node>> = g.nodes.keys().fold(BTreeMap::new(), |mut m, n| {
        m.entry(n.column).or_insert_with(Vec::new).push(n);
        m
    });
    let rows = columns.values().map(Vec::len).max().unwrap_or(0);
    let mut y: BTreeMap<&Node, f64> = BTreeMap::new();
    let mean = |ns: Option<&Vec<&Node>>, y: &BTreeMap<&Node, f64>| -> f64 {
        let ys: Vec<f64> = ns
            .into_iter()
            .flatten()
            .filter_map(|n| y.get(n).copied())
            .collect();
        if ys.is_empty() {
            f64::INFINITY
        } else {
            ys.iter().sum::<f64>() / ys.len() as f64
        }
    };
    // roles first, by name; the functions next to their roles; then left to right
    for c in [
        Column::Identity,
        Column::Function,
        Column::Service,
        Column::Resource,
    ] {
        let Some(nodes) = columns.get(&c) else {
            continue;
        };
        let mut keyed: Vec<(f64, &Node)> = nodes
            .iter()
            .map(|n| {
                let k = match c {
                    Column::Identity => 0.0,
                    Column::Function => mean(succs.get(n), &y),
                    _ => mean(preds.get(n), &y),
                };
                (k, *n)
            })
            .collect();
        keyed.sort_by(|(ka, a), (kb, b)| ka.total_cmp(kb).then(a.label.cmp(&b.label)));
        let offset = (rows - keyed.len()) as f64 * ROW / 2.0;
        for (i, (_, n)) in keyed.into_iter().enumerate() {
            y.insert(n, HEAD + offset + i as f64 * ROW + ROW / 2.0);
        }
    }
    let height = HEAD + rows as f64 * ROW + 8.0;
    let mut s = format!(
        "<svg class=\"usage-graph\" width=\"{GRAPH_W}\" height=\"{height}\" viewBox=\"0 0 {GRAPH_W} {height}\" role=\"img\" aria-labelledby=\"graph-title\"><title id=\"graph-title\">The usage of the principals with findings: {} node(s), {} edge(s), function → role → service → resource</title>",
        g.nodes.len(),
        g.edges.len()
    );
    s.push_str("<defs>");
    for (id, class) in [
        ("arrow", "arrow"),
        ("arrow-new", "arrow new"),
        ("arrow-denied", "arrow denied"),
    ] {
        let _ = write!(
            s,
            "<marker id=\"{id}\" class=\"{class}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto\"><path d=\"M0,1 L10,5 L0,9 z\"/></marker>"
        );
    }
    s.push_str("</defs>");
    for c in Column::ALL {
        let (x, _) = column_box(c);
        let _ = write!(
            s,
            "<text class=\"column\" x=\"{x}\" y=\"14\">{}</text>",
            column_title(c)
        );
    }
    for ((a, b), st) in &g.edges {
        let (Some(ya), Some(yb)) = (y.get(a), y.get(b)) else {
            continue;
        };
        let (xa, wa) = column_box(a.column);
        let (xb, _) = column_box(b.column);
        let (x1, x2) = (xa + wa, xb - 1.0);
        let mid = (x1 + x2) / 2.0;
        let title = format!(
            "<title>{} → {}: {}</title>",
            esc(&a.label),
            esc(&b.label),
            esc(&calls_text(st))
        );
        let allowed = st.calls - st.denied.min(st.calls);
        // the allowed calls, then the denied ones beside them, dashed
        let mut paths = Vec::new();
        if allowed > 0 {
            let class = if st.new { "edge new" } else { "edge" };
            let marker = if st.new { "arrow-new" } else { "arrow" };
            paths.push((class, marker, allowed, 0.0));
        }
        if st.denied > 0 {
            let shift = if allowed > 0 { 4.0 } else { 0.0 };
            paths.push(("edge denied", "arrow-denied", st.denied, shift));
        }
        for (class, marker, n, dy) in paths {
            let width = 1.2 + (n.max(1) as f64).log10().min(3.0) * 0.8;
            let (ya, yb) = (ya + dy, yb + dy);
            let _ = write!(
                s,
                "<path class=\"{class}\" d=\"M{x1:.1},{ya:.1} C{mid:.1},{ya:.1} {mid:.1},{yb:.1} {x2:.1},{yb:.1}\" stroke-width=\"{width:.1}\" marker-end=\"url(#{marker})\">{title}</path>"
            );
        }
    }
    for (n, flagged) in &g.nodes {
        let Some(yn) = y.get(n) else { continue };
        let (x, w) = column_box(n.column);
        let class = match n.column {
            Column::Function => "function",
            Column::Identity => "identity",
            Column::Service => "service",
            Column::Resource => "resource",
        };
        let st = match n.column {
            Column::Function | Column::Identity if !succs.contains_key(n) => None,
            Column::Function | Column::Identity => out.get(n),
            _ => into.get(n),
        };
        let count = st.map(|s| compact(s.calls)).unwrap_or_default();
        let room = (((w - 16.0) / CHAR_W) as usize).saturating_sub(count.len() + 1);
        let mut title = n.label.clone();
        if let Some(st) = st {
            let _ = write!(title, ": {}", calls_text(st));
        } else {
            title.push_str(": no call in this period");
        }
        let flag = if *flagged { " flagged" } else { "" };
        let denied = if st.is_some_and(|s| s.denied > 0) {
            " has-denied"
        } else {
            ""
        };
        // a nested viewport clips a label that is still too long
        let _ = write!(
            s,
            "<svg class=\"node {class}{flag}{denied}\" x=\"{x}\" y=\"{:.1}\" width=\"{w}\" height=\"{BOX_H}\"><title>{}</title><rect x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" rx=\"5\"/><text x=\"8\" y=\"15\">{}</text><text class=\"count\" x=\"{}\" y=\"15\" text-anchor=\"end\">{count}</text></svg>",
            yn - BOX_H / 2.0,
            esc(&title),
            w - 1.0,
            BOX_H - 1.0,
            esc(&shorten(shown(n), room)),
            w - 7.0,
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default()
    }

    /// A node shows its label without what its column already says: a function's or role's
    /// kind, and the commercial partition's `arn:aws:`; another partition's prefix stays.
    #[test]
    fn a_node_shows_what_its_column_does_not_say() {
        let node = |column, label: &str| Node {
            column,
            label: label.into(),
        };
        let cases = [
            (Column::Function, "function orders-api", "orders-api"),
            (Column::Identity, "role app", "app"),
            (Column::Identity, "user bob", "user bob"),
            (
                Column::Resource,
                "arn:aws:sqs:eu-west-1:1:q",
                "sqs:eu-west-1:1:q",
            ),
            (
                Column::Resource,
                "arn:aws-cn:sqs:cn-north-1:1:q",
                "arn:aws-cn:sqs:cn-north-1:1:q",
            ),
            (Column::Resource, "*", "*"),
            (Column::Service, "sqs", "sqs"),
        ];
        for (column, label, want) in cases {
            assert_eq!(shown(&node(column, label)), want, "{label}");
        }
    }

    #[test]
    fn bars_scale_to_the_largest_count() {
        assert_eq!(heights(&[0, 5, 10, 1, 100], 20), [0, 1, 2, 1, 20]);
        assert_eq!(heights(&[0, 5, 10], 24), [0, 12, 24]);
        assert_eq!(heights(&[0, 0], 24), [0, 0], "nothing to scale");
        assert_eq!(heights(&[], 24), Vec::<u32>::new());
        assert_eq!(heights(&[u64::MAX, 1], 24), [24, 1], "no overflow");
    }

    #[test]
    fn a_chart_has_a_bar_per_day_and_says_its_numbers() {
        let counts = BTreeMap::from([(day(15), 5u64), (day(17), 10)]);
        let svg = spark(
            "calls",
            "function orders-api",
            Some((day(14), day(17))),
            &|d| counts.get(&d).copied().unwrap_or(0),
        );
        assert!(svg.starts_with("<svg class=\"spark calls\""), "{svg}");
        let label = "calls per day of function orders-api, 2026-11-14 to 2026-11-17: 15 in all, at most 10 on 2026-11-17; 2026-11-14: 0, 2026-11-15: 5, 2026-11-16: 0, 2026-11-17: 10";
        assert!(svg.contains(&format!("aria-label=\"{label}\"")), "{svg}");
        assert!(svg.contains(&format!("<title>{label}</title>")), "{svg}");
        // four slots of 45px, bars 36px wide; 5 of 10 is half of the 24px
        assert!(
            svg.contains("<rect x=\"49.5\" y=\"16\" width=\"36.0\" height=\"12\"><title>2026-11-15: 5 calls</title></rect>"),
            "{svg}"
        );
        assert!(
            svg.contains("<rect x=\"139.5\" y=\"4\" width=\"36.0\" height=\"24\"><title>2026-11-17: 10 calls</title></rect>"),
            "{svg}"
        );
        assert_eq!(
            svg.matches("<rect").count(),
            2,
            "no bar for a day without calls"
        );
        assert!(svg.contains(">max 10</text>"));
        assert_eq!(
            [1, 9_999, 10_000, 999_999, 1_250_000, 12_500_000, u64::MAX].map(compact),
            ["1", "9999", "10k", "999k", "1.2M", "12M", "18446744073G"]
        );
    }

    #[test]
    fn a_chart_of_one_day_or_of_nothing() {
        let one = spark("denied", "user a", Some((day(3), day(3))), &|_| 7);
        assert!(one.contains("denied calls per day of user a, 2026-11-03 to 2026-11-03: 7 in all, at most 7 on 2026-11-03; 2026-11-03: 7"), "{one}");
        assert!(one.contains("width=\"144.0\" height=\"24\""), "{one}");
        let none = spark("calls", "user a", Some((day(1), day(9))), &|_| 0);
        assert!(
            none.contains("aria-label=\"calls per day of user a, 2026-11-01 to 2026-11-09: none\""),
            "{none}"
        );
        assert!(!none.contains("<rect"), "{none}");
        let empty = spark("calls", "user a", None, &|_| 0);
        assert!(
            empty.contains("aria-label=\"calls per day of user a: none\""),
            "{empty}"
        );
    }

    #[test]
    fn a_long_period_has_a_bar_per_few_days() {
        let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default();
        let last = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default();
        let (per, bars) = buckets((first, last), &|_| 1);
        assert_eq!((per, bars.len()), (4, 92));
        assert_eq!(
            bars.iter().map(|(_, c)| c).sum::<u64>(),
            365,
            "every day counted once"
        );
        let svg = spark("calls", "user a", Some((first, last)), &|_| 1);
        assert!(svg.contains("calls per 4 days of user a"), "{svg}");
        assert_eq!(buckets((last, first), &|_| 1).1, [], "an empty range");
    }

    #[test]
    fn long_labels_keep_their_ends() {
        assert_eq!(shorten("abcdefghij", 10), "abcdefghij");
        assert_eq!(
            shorten("arn:aws:s3:::bucket/very/long/key", 13),
            "arn:…long/key"
        );
        assert_eq!(
            shorten("ééééééééééééééé", 7),
            "éé…éééé",
            "on char boundaries"
        );
    }
}
