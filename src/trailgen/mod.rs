//! Seeded synthetic trails in the real S3 delivery layout: the bundled demo of a small
//! serverless shop (`tightrole demo-trail`), and the benchmark generator.
//!
//! Output is a pure function of the seed: the same seed writes the same records in the same
//! files, so the demo under `examples/` can be checked against a fresh run.

mod bench;
mod demo;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Timelike, Utc};
use flate2::{Compression, GzBuilder};
use serde_json::{Value, json};

pub use bench::{BenchProfile, write_bench};
pub use demo::{DEMO_ACCOUNT, DEMO_REGION, demo_period2_records, demo_records};

/// splitmix64: small, seedable and stable across platforms and crate versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    pub fn token(&mut self, len: usize) -> String {
        const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..len)
            .map(|_| ALPHA[self.below(ALPHA.len() as u64) as usize] as char)
            .collect()
    }
}

/// Who made a synthetic call.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A Lambda function's code (or the platform) under its execution role.
    Function {
        name: String,
        role: String,
    },
    /// A plain role session.
    Session {
        role: String,
        session: String,
    },
    User(String),
    /// AWS itself (`userIdentity.type` `AWSService`).
    Service(String),
}

/// One synthetic API call, turned into a full CloudTrail record by [`Call::record`].
#[derive(Debug, Clone)]
pub struct Call {
    pub time: DateTime<Utc>,
    pub caller: Caller,
    pub source: &'static str,
    pub name: String,
    pub params: Value,
    pub resources: Vec<(&'static str, String)>,
    pub error: Option<(String, String)>,
    pub invoked_by: Option<String>,
    pub user_agent: String,
    pub data_event: bool,
    pub read_only: bool,
    pub event_type: &'static str,
}

impl Call {
    pub fn new(
        time: DateTime<Utc>,
        caller: Caller,
        source: &'static str,
        name: &str,
        params: Value,
    ) -> Call {
        Call {
            time,
            caller,
            source,
            name: name.to_string(),
            params,
            resources: Vec::new(),
            error: None,
            invoked_by: None,
            user_agent: String::new(),
            data_event: false,
            read_only: false,
            event_type: "AwsApiCall",
        }
    }

    /// The full record, with the fields real trails carry (identity, ids, TLS details).
    pub fn record(&self, account: &str, region: &str, rng: &mut Rng) -> Value {
        let time = self.time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let identity = match &self.caller {
            Caller::Function {
                name: session,
                role,
            }
            | Caller::Session { role, session } => {
                let mut id = json!({
                    "type": "AssumedRole",
                    "principalId": format!("AROA{}:{session}", rng.token(17).to_uppercase()),
                    "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                    "accountId": account,
                    "accessKeyId": format!("ASIA{}", rng.token(16).to_uppercase()),
                    "sessionContext": {
                        "sessionIssuer": {
                            "type": "Role",
                            "principalId": format!("AROA{}", rng.token(17).to_uppercase()),
                            "arn": format!("arn:aws:iam::{account}:role/{role}"),
                            "accountId": account,
                            "userName": role
                        },
                        "attributes": {
                            "creationDate": self.time.with_minute(0).unwrap_or(self.time).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                            "mfaAuthenticated": "false"
                        }
                    }
                });
                if let (Some(by), Some(obj)) = (&self.invoked_by, id.as_object_mut()) {
                    obj.insert("invokedBy".into(), json!(by));
                }
                id
            }
            Caller::User(name) => {
                let mut id = json!({
                    "type": "IAMUser",
                    "principalId": format!("AIDA{}", rng.token(17).to_uppercase()),
                    "arn": format!("arn:aws:iam::{account}:user/{name}"),
                    "accountId": account,
                    "accessKeyId": format!("AKIA{}", rng.token(16).to_uppercase()),
                    "userName": name
                });
                if let (Some(by), Some(obj)) = (&self.invoked_by, id.as_object_mut()) {
                    obj.insert("invokedBy".into(), json!(by));
                }
                id
            }
            Caller::Service(svc) => json!({"type": "AWSService", "invokedBy": svc}),
        };
        let source_ip = match (&self.caller, &self.invoked_by) {
            (Caller::Service(s), _) | (_, Some(s)) => s.clone(),
            _ => format!(
                "52.{}.{}.{}",
                16 + rng.below(200),
                rng.below(255),
                rng.below(255)
            ),
        };
        let mut rec = json!({
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": time,
            "eventSource": self.source,
            "eventName": self.name,
            "awsRegion": region,
            "sourceIPAddress": source_ip,
            "userAgent": if self.user_agent.is_empty() { self.invoked_by.clone().unwrap_or_default() } else { self.user_agent.clone() },
            "requestParameters": self.params,
            "responseElements": Value::Null,
            "requestID": rng.uuid(),
            "eventID": rng.uuid(),
            "readOnly": self.read_only,
            "eventType": self.event_type,
            "managementEvent": !self.data_event,
            "recipientAccountId": account,
            "eventCategory": if self.data_event { "Data" } else { "Management" },
        });
        let Some(obj) = rec.as_object_mut() else {
            return rec;
        };
        if !self.resources.is_empty() {
            let res: Vec<Value> = self
                .resources
                .iter()
                .map(|(t, arn)| json!({"accountId": account, "type": t, "ARN": arn}))
                .collect();
            obj.insert("resources".into(), Value::Array(res));
        }
        if let Some((code, msg)) = &self.error {
            obj.insert("errorCode".into(), json!(code));
            obj.insert("errorMessage".into(), json!(msg));
        }
        if !matches!(self.caller, Caller::Service(_)) && self.invoked_by.is_none() {
            obj.insert(
                "tlsDetails".into(),
                json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", self.source.trim_end_matches(".amazonaws.com"))}),
            );
        }
        rec
    }
}

/// Writes records in the S3 delivery layout, one gzip file per (day, `hours_per_file` block),
/// records in time order. Returns the files written, sorted.
pub fn write_layout(
    root: &Path,
    account: &str,
    region: &str,
    records: &[(DateTime<Utc>, Value)],
    hours_per_file: u32,
    rng: &mut Rng,
) -> std::io::Result<Vec<PathBuf>> {
    let hours = hours_per_file.clamp(1, 24);
    let mut files: BTreeMap<(String, u32), Vec<&Value>> = BTreeMap::new();
    for (t, r) in records {
        let day = t.format("%Y/%m/%d").to_string();
        files.entry((day, t.hour() / hours)).or_default().push(r);
    }
    let mut written = Vec::new();
    for ((day, block), recs) in files {
        let dir = root.join(format!("AWSLogs/{account}/CloudTrail/{region}/{day}"));
        std::fs::create_dir_all(&dir)?;
        let stamp = format!(
            "{}T{:02}05Z",
            day.replace('/', ""),
            (block * hours + hours - 1).min(23)
        );
        let name = format!(
            "{account}_CloudTrail_{region}_{stamp}_{}.json.gz",
            rng.token(16)
        );
        let body = serde_json::to_vec(&json!({ "Records": recs }))?;
        let path = dir.join(name);
        let mut gz = GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), Compression::default());
        gz.write_all(&body)?;
        crate::write::atomic_write(&path, &gz.finish()?)?;
        written.push(path);
    }
    written.sort();
    Ok(written)
}

/// Writes the demo trail under `root`; returns the files.
pub fn write_demo(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut rng = Rng::new(0x7169_6874_726f_6c65);
    let records = demo_records(&mut rng);
    write_layout(root, DEMO_ACCOUNT, DEMO_REGION, &records, 6, &mut rng)
}

/// Writes the demo's second period (the week after `write_demo`'s) under `root`.
pub fn write_demo_period2(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut rng = Rng::new(0x7469_6768_7472_0002);
    let records = demo_period2_records(&mut rng);
    write_layout(root, DEMO_ACCOUNT, DEMO_REGION, &records, 6, &mut rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_stable() {
        let mut r = Rng::new(1);
        assert_eq!(r.next_u64(), 0x910a_2dec_8902_5cc1);
        assert_eq!(Rng::new(7).uuid(), Rng::new(7).uuid());
    }
}
