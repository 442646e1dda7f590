//! `check`'s text: each call the policy would break, each denied call it would allow, and a
//! summary line.

use crate::diff::check::{Blocked, CheckOutput};
use crate::escape::terminal as t;
use crate::policy::Decision;

/// The text form of a check.
pub fn check_text(out: &CheckOutput) -> String {
    let mut s = String::new();
    let line = |b: &Blocked, what: &str| {
        format!(
            "{}: `{}` on `{}` {what} ({} call(s), last {})\n",
            t(&b.principal),
            t(&b.action),
            t(&b.resource),
            b.count,
            super::when(b.last_seen)
        )
    };
    for b in &out.blocked {
        let what = match b.decision {
            Decision::ExplicitDeny => "would be explicitly denied",
            Decision::ImplicitDeny => "would be not allowed",
            _ => "would be allowed only under a condition the trail cannot check",
        };
        s.push_str(&line(b, what));
    }
    for b in &out.denied_now_allowed {
        s.push_str(&line(b, "was denied in the trail and would be allowed"));
    }
    for g in &out.runtime_missing {
        s.push_str(&format!(
            "{}: `{}` on `{}` is needed by the Lambda runtime ({}) and would not be allowed\n",
            t(&g.principal),
            t(&g.action),
            t(&g.resource),
            t(&g.field)
        ));
    }
    if !out.principals_without_policy.is_empty() {
        s.push_str(&format!(
            "not checked (no policy for them in `{}`): {}\n",
            t(&out.policy),
            t(&out.principals_without_policy.join(", "))
        ));
    }
    s.push_str(&format!(
        "{} observed call kind(s) of {} principal(s) replayed against `{}`: {} would break\n",
        out.checked_calls,
        out.principals_checked.len(),
        t(&out.policy),
        out.blocked.len()
    ));
    s
}
