//! Push the aggregation down to Athena: the SQL, the table DDL, and the decoding of result rows
//! back into records for the local aggregation. No AWS code here (that is
//! `source::live::athena`); the SQL is generated for two dialects from one description, so that
//! a local engine (DuckDB) can execute exactly what Athena would.
//!
//! One row stands for every call alike in what the mapping reads: the principal, the event
//! kind, the error, the region and account, the Lambda markers, `resources[]`, and the
//! `requestParameters` that the mapping's own table ([`Mapper::pushdown_params`]) names for the
//! row's event source. S3 object keys are cut to the directory `--generalize` keeps (unless it
//! is `exact`), so a bucket of a million objects is a handful of rows. Each row is decoded into
//! a record and fed to the same aggregation as a file's records, with its count and its first
//! and last time.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Days, Utc};
use serde_json::{Map, Value, json};

use crate::fold::GeneralizeLevel;
use crate::mapping::Mapper;
use crate::model::Seen;

/// Where the SQL runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Amazon Athena (Trino).
    Athena,
    /// DuckDB, over the same JSON files (the tests run the SQL on it).
    Duckdb,
}

/// Which partition columns the table has (the DDL of `tightrole athena ddl` has all three).
#[derive(Debug, Clone)]
pub struct Partitions {
    pub timestamp: bool,
    pub account: bool,
    pub region: bool,
}

impl Default for Partitions {
    fn default() -> Self {
        Partitions {
            timestamp: true,
            account: true,
            region: true,
        }
    }
}

/// What to query.
#[derive(Debug, Clone)]
pub struct Query {
    pub table: String,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub generalize: GeneralizeLevel,
    pub partitions: Partitions,
}

/// The result columns, in order.
pub const COLUMNS: [&str; 24] = [
    "eventsource",
    "eventname",
    "errorcode",
    "errormessage",
    "identity_type",
    "identity_arn",
    "identity_account",
    "invoked_by",
    "user_name",
    "issuer_type",
    "issuer_arn",
    "awsregion",
    "recipientaccountid",
    "eventcategory",
    "eventtype",
    "lambda_marker",
    "resources",
    "params",
    "sse",
    "sse_key",
    "calls",
    "first_seen",
    "last_seen",
    "event_id",
];

/// A path segment that looks like a value rather than a name, as
/// `fold::is_variable_segment` decides it: a date or number (digits with `-_:.TZ`),
/// or an id of 16 or more hex digits and dashes with at least one digit. Written without
/// look-ahead, which RE2 (DuckDB) lacks: the id form is spelled out by the position of its first
/// digit.
fn variable_segment_regex() -> String {
    let mut alts = vec!["[0-9_:.TZ-]*[0-9][0-9_:.TZ-]*".to_string()];
    for k in 0..16 {
        alts.push(format!("[a-fA-F-]{{{k}}}[0-9][0-9a-fA-F-]{{{},}}", 15 - k));
    }
    alts.push("[a-fA-F-]{16,}[0-9][0-9a-fA-F-]*".to_string());
    format!("(?:{})", alts.join("|"))
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Dialect {
    /// A regular-expression replacement with group 1 in the replacement.
    fn regexp_replace(self, expr: &str, pattern: &str, replacement: &str) -> String {
        let replacement = match self {
            Dialect::Athena => replacement.replace("\\1", "$1"),
            Dialect::Duckdb => replacement.to_string(),
        };
        format!(
            "regexp_replace({expr}, {}, {})",
            quote(pattern),
            quote(&replacement)
        )
    }

    /// `resources` as JSON text.
    fn resources_json(self) -> &'static str {
        match self {
            Dialect::Athena => "json_format(CAST(resources AS JSON))",
            Dialect::Duckdb => "CAST(to_json(resources) AS VARCHAR)",
        }
    }
}

/// The S3 object key, cut to the directory the generalizer keeps: `uploads/2026/11/a.jpg` →
/// `uploads/*`; a key at the top of the bucket stays as it is. On the key's JSON text.
fn s3_key_expr(dialect: Dialect, json_text: &str) -> String {
    let v = variable_segment_regex();
    let cut = dialect.regexp_replace(
        json_text,
        &format!("^\"((?:[^/]*/)*?){v}/.*\"$"),
        "\"\\1*\"",
    );
    dialect.regexp_replace(&cut, "^\"(.*/)[^/]*\"$", "\"\\1*\"")
}

/// The per-row list of the parameter names the mapping reads for the row's event source
/// ([`Mapper::pushdown_params`]), as one comma-separated string split into an array. It is
/// computed once per row, in the inner query, and is a string rather than an array literal
/// because older Trino refuses array constructors of more than 254 elements.
fn allowed_expr(dialect: Dialect) -> String {
    let table = Mapper::embedded().pushdown_params();
    let everywhere: BTreeSet<String> = table.get("*").cloned().unwrap_or_default();
    let joined =
        |names: &BTreeSet<String>| quote(&names.iter().cloned().collect::<Vec<_>>().join(","));
    // Sources with the same list share one branch.
    let mut by_list: BTreeMap<BTreeSet<String>, Vec<&str>> = BTreeMap::new();
    for (src, params) in &table {
        if src == "*" {
            continue;
        }
        let mut all = params.clone();
        all.extend(everywhere.iter().cloned());
        by_list.entry(all).or_default().push(src);
    }
    let mut case = String::from("CASE");
    for (names, sources) in &by_list {
        let list: Vec<String> = sources.iter().map(|s| quote(s)).collect();
        let _ = write!(
            case,
            " WHEN eventsource IN ({}) THEN {}",
            list.join(","),
            joined(names)
        );
    }
    let _ = write!(case, " ELSE {} END", joined(&everywhere));
    match dialect {
        Dialect::Athena => format!("split({case}, ',')"),
        Dialect::Duckdb => format!("string_split({case}, ',')"),
    }
}

/// The `params` column: a JSON object of the row's listed parameters (`tr_allowed`) and of any
/// parameter whose value is an ARN (the resolver looks for ARNs in every parameter); an S3 object
/// key is cut to its directory (unless `--generalize exact`).
fn params_expr(dialect: Dialect, generalize: GeneralizeLevel) -> String {
    let cut_key = generalize != GeneralizeLevel::Exact;
    let ok = succeeded();
    match dialect {
        Dialect::Athena => {
            let filtered = "map_filter(TRY_CAST(TRY(json_parse(requestparameters)) AS MAP(VARCHAR, JSON)), (k, v) -> contains(tr_allowed, k) OR json_extract_scalar(v, '$') LIKE 'arn:%')".to_string();
            let m = if cut_key {
                let cut = s3_key_expr(dialect, "json_format(v)");
                format!(
                    "transform_values({filtered}, (k, v) -> IF(k = 'key' AND eventsource = 's3.amazonaws.com' AND {ok}, json_parse({cut}), v))"
                )
            } else {
                filtered
            };
            format!(
                "CASE WHEN requestparameters IS NULL THEN NULL ELSE json_format(CAST({m} AS JSON)) END"
            )
        }
        Dialect::Duckdb => {
            let path = "concat('$.\"', k, '\"')";
            let value = format!("json_extract(requestparameters, {path})");
            let value = if cut_key {
                let cut = s3_key_expr(dialect, &format!("CAST({value} AS VARCHAR)"));
                format!(
                    "CASE WHEN k = 'key' AND eventsource = 's3.amazonaws.com' AND {ok} THEN CAST({cut} AS JSON) ELSE {value} END"
                )
            } else {
                value
            };
            format!(
                "CASE WHEN requestparameters IS NULL THEN NULL ELSE CAST(to_json(map_from_entries(list_transform(list_filter(json_keys(requestparameters), lambda k: list_contains(tr_allowed, k) OR json_extract_string(requestparameters, {path}) LIKE 'arn:%'), lambda k: struct_pack(k := k, v := {value})))) AS VARCHAR) END"
            )
        }
    }
}

/// An S3 object ARN cut as [`s3_key_expr`] cuts the key: `arn:aws:s3:::b/uploads/2026/a.jpg` →
/// `arn:aws:s3:::b/uploads/*`; an object at the top of the bucket stays as it is.
fn s3_arn_expr(dialect: Dialect, arn: &str) -> String {
    let v = variable_segment_regex();
    let cut = dialect.regexp_replace(
        arn,
        &format!("^(arn:[^:]*:s3:::[^/]*/(?:[^/]*/)*?){v}/.*$"),
        "\\1*",
    );
    dialect.regexp_replace(&cut, "^(arn:[^:]*:s3:::[^/]*/.*/)[^/]*$", "\\1*")
}

/// The row's call was not denied: only allowed calls are cut to their directory, since a
/// generalized grant is narrowed around each denied resource exactly (`synth::propose`).
fn succeeded() -> String {
    let denied: Vec<String> = Mapper::embedded()
        .denied_codes()
        .into_iter()
        .map(quote)
        .collect();
    format!("coalesce(errorcode, '') NOT IN ({})", denied.join(", "))
}

/// The `resources` column: `resources[]` as JSON, with S3 object ARNs of allowed calls cut like
/// the keys.
fn resources_expr(dialect: Dialect, generalize: GeneralizeLevel) -> String {
    if generalize == GeneralizeLevel::Exact {
        return dialect.resources_json().to_string();
    }
    let ok = succeeded();
    match dialect {
        Dialect::Athena => format!(
            "json_format(CAST(transform(resources, r -> CAST(ROW(IF(r.type = 'AWS::S3::Object' AND {ok}, {}, r.arn), r.accountid, r.type) AS ROW(arn VARCHAR, accountid VARCHAR, type VARCHAR))) AS JSON))",
            s3_arn_expr(dialect, "r.arn")
        ),
        Dialect::Duckdb => format!(
            "CAST(to_json(list_transform(resources, lambda r: struct_pack(arn := CASE WHEN r.type = 'AWS::S3::Object' AND {ok} THEN {} ELSE r.arn END, accountid := r.accountid, type := r.type))) AS VARCHAR)",
            s3_arn_expr(dialect, "r.arn")
        ),
    }
}

/// One field of `responseelements` as text (for S3's server-side encryption).
fn response_field(dialect: Dialect, name: &str) -> String {
    let inner = match dialect {
        Dialect::Athena => format!(
            "json_extract_scalar(responseelements, {})",
            quote(&format!("$[\"{name}\"]"))
        ),
        Dialect::Duckdb => format!(
            "json_extract_string(responseelements, {})",
            quote(&format!("$.\"{name}\""))
        ),
    };
    format!("CASE WHEN eventsource = 's3.amazonaws.com' THEN {inner} END")
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y/%m/%d").to_string()
}

/// The aggregation query.
pub fn sql(q: &Query, dialect: Dialect) -> String {
    let denied: Vec<String> = Mapper::embedded()
        .denied_codes()
        .into_iter()
        .map(quote)
        .collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "-- tightrole: usage aggregated per principal, event kind, error and the request parameters"
    );
    let _ = writeln!(
        s,
        "-- the mapping reads (data/*.tsv via Mapper::pushdown_params); dialect: {dialect:?}"
    );
    // Three levels: the table filtered to the window (and the row's parameter names), each
    // row's grouping values (the lambdas run here, once per row), then plain GROUP BY columns.
    let values = [
        "eventsource".to_string(),
        "eventname".to_string(),
        "errorcode".to_string(),
        format!(
            "CASE WHEN errorcode IN ({}) THEN errormessage END AS errormessage",
            denied.join(", ")
        ),
        "useridentity.type AS identity_type".to_string(),
        "useridentity.arn AS identity_arn".to_string(),
        "useridentity.accountid AS identity_account".to_string(),
        "useridentity.invokedby AS invoked_by".to_string(),
        "useridentity.username AS user_name".to_string(),
        "useridentity.sessioncontext.sessionissuer.type AS issuer_type".to_string(),
        "useridentity.sessioncontext.sessionissuer.arn AS issuer_arn".to_string(),
        "awsregion".to_string(),
        "recipientaccountid".to_string(),
        "eventcategory".to_string(),
        "eventtype".to_string(),
        format!(
            "CASE WHEN useragent LIKE '%{m}%' THEN '{m}' ELSE '' END AS lambda_marker",
            m = crate::identity::LAMBDA_MARKER
        ),
        format!("{} AS resources", resources_expr(dialect, q.generalize)),
        format!("{} AS params", params_expr(dialect, q.generalize)),
        format!(
            "{} AS sse",
            response_field(dialect, "x-amz-server-side-encryption")
        ),
        format!(
            "{} AS sse_key",
            response_field(dialect, "x-amz-server-side-encryption-aws-kms-key-id")
        ),
        "eventtime".to_string(),
        "eventid".to_string(),
    ];
    let groups = &COLUMNS[..20];
    let _ = writeln!(s, "SELECT");
    let _ = writeln!(
        s,
        "  {},\n  count(*) AS calls,\n  min(eventtime) AS first_seen,\n  max(eventtime) AS last_seen,\n  min_by(eventid, eventtime || eventid) AS event_id",
        groups.join(",\n  ")
    );
    let _ = writeln!(s, "FROM (\n  SELECT\n    {}", values.join(",\n    "));
    let _ = writeln!(
        s,
        "  FROM (SELECT *, {} AS tr_allowed FROM {}",
        allowed_expr(dialect),
        q.table
    );
    let mut conds = Vec::new();
    if q.partitions.timestamp {
        // Day folders, with a day of delivery slack either side (as for files).
        if let Some(since) = q.since.and_then(|t| t.checked_sub_days(Days::new(1))) {
            conds.push(format!("\"timestamp\" >= {}", quote(&day(since))));
        }
        if let Some(until) = q.until.and_then(|t| t.checked_add_days(Days::new(1))) {
            conds.push(format!("\"timestamp\" <= {}", quote(&day(until))));
        }
    }
    if let Some(t) = q.since {
        conds.push(format!(
            "eventtime >= {}",
            quote(&t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        ));
    }
    if let Some(t) = q.until {
        conds.push(format!(
            "eventtime <= {}",
            quote(&t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        ));
    }
    let list = |v: &[String]| v.iter().map(|x| quote(x)).collect::<Vec<_>>().join(", ");
    if !q.accounts.is_empty() {
        if q.partitions.account {
            conds.push(format!("account IN ({})", list(&q.accounts)));
        }
        conds.push(format!("recipientaccountid IN ({})", list(&q.accounts)));
    }
    if !q.regions.is_empty() {
        if q.partitions.region {
            conds.push(format!("region IN ({})", list(&q.regions)));
        }
        conds.push(format!("awsregion IN ({})", list(&q.regions)));
    }
    if !conds.is_empty() {
        let _ = writeln!(s, "    WHERE {}", conds.join("\n      AND "));
    }
    let _ = writeln!(s, "  ) filtered\n) calls");
    let _ = writeln!(s, "GROUP BY {}", groups.join(", "));
    s
}

/// The columns of one result row that are not part of the record itself.
fn get<'r>(row: &'r BTreeMap<String, Option<String>>, col: &str) -> Option<&'r str> {
    row.get(col)
        .and_then(|v| v.as_deref())
        .filter(|v| !v.is_empty())
}

/// One result row as a record (JSON) and the calls it stands for.
pub fn row_record(row: &BTreeMap<String, Option<String>>) -> Result<(String, Seen), String> {
    let time = |col: &str| -> Result<DateTime<Utc>, String> {
        let v = get(row, col).ok_or_else(|| format!("no `{col}`"))?;
        // RFC 3339 from the trail's string column, or Trino's own spelling of a timestamp
        crate::record::parse_event_time(v).ok_or_else(|| format!("`{col}` is not a time ({v})"))
    };
    let first = time("first_seen")?;
    let last = time("last_seen")?;
    let count: u64 = get(row, "calls")
        .ok_or("no `calls`")?
        .parse()
        .map_err(|_| "`calls` is not a count".to_string())?;
    // `count(*)` of a group is one or more; a row of no calls has nothing to grant
    if count == 0 {
        return Err("`calls` is 0: a row stands for one call or more".to_string());
    }
    let parse_json = |col: &str| -> Result<Option<Value>, String> {
        match get(row, col) {
            None => Ok(None),
            Some(text) => serde_json::from_str(text)
                .map(Some)
                .map_err(|e| format!("`{col}` is not JSON: {e}")),
        }
    };
    let params = parse_json("params")?.map(|v| match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    });
    let resources = parse_json("resources")?.map(|v| match v {
        // DuckDB and Athena spell the struct fields in lower case; records use `ARN`/`type`.
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|r| {
                    // An object by field name, or (Trino's older ROW-to-JSON cast) an array in
                    // the table's field order: arn, accountid, type.
                    let f = |k: &str, i: usize| match &r {
                        Value::Array(a) => a.get(i).cloned().unwrap_or(Value::Null),
                        _ => r
                            .as_object()
                            .and_then(|o| o.iter().find(|(n, _)| n.eq_ignore_ascii_case(k)))
                            .map(|(_, v)| v.clone())
                            .unwrap_or(Value::Null),
                    };
                    json!({"ARN": f("arn", 0), "accountId": f("accountid", 1), "type": f("type", 2)})
                })
                .collect(),
        ),
        other => other,
    });
    let mut identity = Map::new();
    for (key, col) in [
        ("type", "identity_type"),
        ("arn", "identity_arn"),
        ("accountId", "identity_account"),
        ("invokedBy", "invoked_by"),
        ("userName", "user_name"),
    ] {
        if let Some(v) = get(row, col) {
            identity.insert(key.to_string(), json!(v));
        }
    }
    if get(row, "issuer_arn").is_some() || get(row, "issuer_type").is_some() {
        identity.insert(
            "sessionContext".into(),
            json!({"sessionIssuer": {"type": get(row, "issuer_type"), "arn": get(row, "issuer_arn")}}),
        );
    }
    let mut rec = Map::new();
    rec.insert("eventVersion".into(), json!("1.09"));
    rec.insert(
        "eventTime".into(),
        json!(first.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
    for (key, col) in [
        ("eventSource", "eventsource"),
        ("eventName", "eventname"),
        ("errorCode", "errorcode"),
        ("errorMessage", "errormessage"),
        ("awsRegion", "awsregion"),
        ("recipientAccountId", "recipientaccountid"),
        ("eventCategory", "eventcategory"),
        ("eventType", "eventtype"),
        ("userAgent", "lambda_marker"),
    ] {
        if let Some(v) = get(row, col) {
            rec.insert(key.to_string(), json!(v));
        }
    }
    if !identity.is_empty() {
        rec.insert("userIdentity".into(), Value::Object(identity));
    }
    if let Some(p) = params {
        rec.insert("requestParameters".into(), p);
    }
    if let Some(r) = resources {
        rec.insert("resources".into(), r);
    }
    if let Some(id) = get(row, "event_id") {
        rec.insert("eventID".into(), json!(id));
    }
    let mut response = Map::new();
    if let Some(v) = get(row, "sse") {
        response.insert("x-amz-server-side-encryption".into(), json!(v));
    }
    if let Some(v) = get(row, "sse_key") {
        response.insert(
            "x-amz-server-side-encryption-aws-kms-key-id".into(),
            json!(v),
        );
    }
    if !response.is_empty() {
        rec.insert("responseElements".into(), Value::Object(response));
    }
    Ok((
        Value::Object(rec).to_string(),
        Seen::span(first, last, count),
    ))
}

/// What `tightrole athena ddl` needs.
#[derive(Debug, Clone)]
pub struct Ddl {
    pub table: String,
    pub bucket: String,
    /// The trail's S3 key prefix (before `AWSLogs/`), if any.
    pub prefix: Option<String>,
    /// The organization id of an organization trail.
    pub org_id: Option<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    /// The first day of the `timestamp` projection (`yyyy/MM/dd`).
    pub start: String,
}

/// A DDL request that cannot make a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DdlError {
    #[error("`{0}` is not a 12-digit account id")]
    Account(String),
    #[error("`--start {0}` is not a day as yyyy/MM/dd")]
    Start(String),
}

impl Ddl {
    /// Every account a 12-digit id, the start a `yyyy/MM/dd` day.
    pub fn validate(&self) -> Result<(), DdlError> {
        if let Some(bad) = self
            .accounts
            .iter()
            .find(|x| x.len() != 12 || !x.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(DdlError::Account(bad.clone()));
        }
        if chrono::NaiveDate::parse_from_str(&self.start, "%Y/%m/%d").is_err() {
            return Err(DdlError::Start(self.start.clone()));
        }
        Ok(())
    }
}

/// The regions of the region projection when no `--region` is given: every region the AWS SDK
/// knows (in every partition: the commercial regions, GovCloud's and China's), from
/// [`crate::source::live::s3::known_regions`], so a new region arrives with the SDK, not with an
/// edit here. A region with no folder in the bucket projects nothing; one the SDK does not know
/// yet is not read, so pass `--region` for it.
pub fn default_regions() -> Vec<&'static str> {
    crate::source::live::s3::known_regions()
}

/// The CloudTrail table with partition projection over account, region and day, following
/// AWS's documented CloudTrail table ("Create the table for CloudTrail logs in Athena using
/// partition projection"), extended from one account and region to several.
pub fn ddl(d: &Ddl) -> String {
    let mut base = format!("s3://{}/", d.bucket);
    if let Some(p) = d.prefix.as_deref().filter(|p| !p.is_empty()) {
        base.push_str(p.trim_matches('/'));
        base.push('/');
    }
    base.push_str("AWSLogs/");
    if let Some(o) = &d.org_id {
        base.push_str(o);
        base.push('/');
    }
    let regions: Vec<&str> = if d.regions.is_empty() {
        default_regions()
    } else {
        d.regions.iter().map(String::as_str).collect()
    };
    format!(
        r#"CREATE EXTERNAL TABLE IF NOT EXISTS {table} (
    eventversion STRING,
    useridentity STRUCT<
        type: STRING,
        principalid: STRING,
        arn: STRING,
        accountid: STRING,
        invokedby: STRING,
        accesskeyid: STRING,
        username: STRING,
        onbehalfof: STRUCT<userid: STRING, identitystorearn: STRING>,
        sessioncontext: STRUCT<
            attributes: STRUCT<mfaauthenticated: STRING, creationdate: STRING>,
            sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING, accountid: STRING, username: STRING>,
            ec2roledelivery: STRING,
            webidfederationdata: STRUCT<federatedprovider: STRING, attributes: MAP<STRING, STRING>>
        >
    >,
    eventtime STRING,
    eventsource STRING,
    eventname STRING,
    awsregion STRING,
    sourceipaddress STRING,
    useragent STRING,
    errorcode STRING,
    errormessage STRING,
    requestparameters STRING,
    responseelements STRING,
    additionaleventdata STRING,
    requestid STRING,
    eventid STRING,
    readonly STRING,
    resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,
    eventtype STRING,
    apiversion STRING,
    recipientaccountid STRING,
    serviceeventdetails STRING,
    sharedeventid STRING,
    vpcendpointid STRING,
    vpcendpointaccountid STRING,
    eventcategory STRING,
    addendum STRUCT<reason: STRING, updatedfields: STRING, originalrequestid: STRING, originaleventid: STRING>,
    sessioncredentialfromconsole STRING,
    edgedevicedetails STRING,
    tlsdetails STRUCT<tlsversion: STRING, ciphersuite: STRING, clientprovidedhostheader: STRING>
)
PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION '{base}'
TBLPROPERTIES (
    'projection.enabled' = 'true',
    'projection.account.type' = 'enum',
    'projection.account.values' = '{accounts}',
    'projection.region.type' = 'enum',
    'projection.region.values' = '{regions}',
    'projection.timestamp.type' = 'date',
    'projection.timestamp.format' = 'yyyy/MM/dd',
    'projection.timestamp.interval' = '1',
    'projection.timestamp.interval.unit' = 'DAYS',
    'projection.timestamp.range' = '{start},NOW',
    'storage.location.template' = '{base}${{account}}/CloudTrail/${{region}}/${{timestamp}}'
);
"#,
        table = d.table,
        accounts = d.accounts.join(","),
        regions = regions.join(","),
        start = d.start,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold::is_variable_segment as is_variable;
    use proptest::prelude::*;

    proptest! {
        /// The SQL's regex and the generalizer agree on every segment over the characters
        /// that matter.
        #[test]
        fn regex_and_generalizer_agree(s in "[0-9a-fA-FgTZ_:.x-]{0,24}") {
            let rx = regex_lite::Regex::new(&format!("^{}$", variable_segment_regex())).unwrap();
            prop_assert_eq!(rx.is_match(&s), is_variable(&s));
        }
    }

    #[test]
    fn the_variable_segment_regex_agrees_with_the_generalizer() {
        let re = format!("^{}$", variable_segment_regex());
        let samples = [
            "2026",
            "2026-11-01",
            "20261101T0505Z",
            "uploads",
            "v2",
            "0123456789abcdef",
            "abcdefabcdefabcd",
            "abcdefabcdefabc1",
            "abcdefabcdefab1",
            "1abcdefabcdefabcdef",
            "550e8400-e29b-41d4-a716-446655440000",
            "deadbeef",
            "T",
            "Z-",
            "",
            "12:30",
            "g0123456789abcdef",
        ];
        let rx = regex_lite::Regex::new(&re).unwrap();
        for s in samples {
            assert_eq!(rx.is_match(s), is_variable(s), "{s:?}");
        }
    }
}

#[cfg(test)]
mod shapes {
    use super::*;
    use chrono::TimeZone;

    /// The SQL with the per-source parameter lists (100 KB, checked by the engine test) folded.
    fn shape(sql: &str) -> String {
        let mut out = String::new();
        let mut rest = sql;
        while let Some(i) = rest.find("CASE WHEN eventsource IN") {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            let end = tail.find(" END").map_or(tail.len(), |e| e + 4);
            let branches = tail[..end].matches(" WHEN ").count();
            out.push_str(&format!(
                "<parameter names per event source: {branches} branches>"
            ));
            rest = &tail[end..];
        }
        out.push_str(rest);
        out.replace(&variable_segment_regex(), "<variable segment>")
    }

    fn query(generalize: GeneralizeLevel, window: bool) -> Query {
        let t = |d| Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).single();
        Query {
            table: "cloudtrail_logs".into(),
            since: if window { t(1) } else { None },
            until: if window { t(8) } else { None },
            accounts: if window {
                vec!["111122223333".into()]
            } else {
                vec![]
            },
            regions: if window {
                vec!["eu-west-1".into(), "us-east-1".into()]
            } else {
                vec![]
            },
            generalize,
            partitions: Partitions::default(),
        }
    }

    #[test]
    fn athena_window_prefix() {
        insta::assert_snapshot!(shape(&sql(
            &query(GeneralizeLevel::Prefix, true),
            Dialect::Athena
        )));
    }

    #[test]
    fn athena_everything_exact() {
        insta::assert_snapshot!(shape(&sql(
            &query(GeneralizeLevel::Exact, false),
            Dialect::Athena
        )));
    }

    #[test]
    fn athena_timestamp_partition_only() {
        let mut q = query(GeneralizeLevel::Prefix, true);
        q.partitions = Partitions {
            timestamp: true,
            account: false,
            region: false,
        };
        insta::assert_snapshot!(shape(&sql(&q, Dialect::Athena)));
    }

    #[test]
    fn duckdb_window_prefix() {
        insta::assert_snapshot!(shape(&sql(
            &query(GeneralizeLevel::Prefix, true),
            Dialect::Duckdb
        )));
    }

    #[test]
    fn the_athena_sql_fits_athenas_limit() {
        // Athena refuses query strings over 262,144 bytes.
        let n = sql(&query(GeneralizeLevel::Prefix, true), Dialect::Athena).len();
        assert!(n < 200_000, "{n} bytes");
    }

    #[test]
    fn ddl_for_an_organization_trail() {
        insta::assert_snapshot!(ddl(&Ddl {
            table: "cloudtrail_logs".into(),
            bucket: "org-trail".into(),
            prefix: Some("ct".into()),
            org_id: Some("o-abc123".into()),
            accounts: vec!["111122223333".into(), "444455556666".into()],
            regions: vec!["eu-west-1".into(), "us-east-1".into()],
            start: "2025/01/01".into(),
        }));
    }

    #[test]
    fn ddl_without_regions_projects_every_region_the_sdk_knows() {
        let text = ddl(&Ddl {
            table: "cloudtrail_logs".into(),
            bucket: "trail".into(),
            prefix: None,
            org_id: None,
            accounts: vec!["111122223333".into()],
            regions: vec![],
            start: "2025/01/01".into(),
        });
        let line = text
            .lines()
            .find(|l| l.contains("'projection.region.values'"))
            .unwrap();
        let values = line.split('\'').nth(3).unwrap();
        let regions: Vec<&str> = values.split(',').collect();
        // us-east-1 (no location constraint), the newest commercial regions, both GovCloud
        // regions and China's: a default that missed one read nothing of its folders
        for r in [
            "us-east-1",
            "eu-west-1",
            "ap-southeast-6",
            "mx-central-1",
            "us-gov-east-1",
            "us-gov-west-1",
            "cn-north-1",
            "cn-northwest-1",
        ] {
            assert!(regions.contains(&r), "{r} not in {values}");
        }
        assert!(!regions.contains(&"EU"), "{values}");
        let mut sorted = regions.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(regions, sorted, "sorted, once each");
        assert!(regions.len() >= 37, "{values}");
    }

    #[test]
    fn rows_decode_into_records() {
        let row: BTreeMap<String, Option<String>> = [
            ("eventsource", Some("s3.amazonaws.com")),
            ("eventname", Some("GetObject")),
            ("identity_type", Some("AssumedRole")),
            (
                "identity_arn",
                Some("arn:aws:sts::111122223333:assumed-role/r/f"),
            ),
            ("issuer_arn", Some("arn:aws:iam::111122223333:role/r")),
            ("awsregion", Some("eu-west-1")),
            (
                "resources",
                Some(r#"[["arn:aws:s3:::b/k","111122223333","AWS::S3::Object"]]"#),
            ),
            (
                "params",
                Some(r#"{"bucketName":"b","key":"uploads/*","x":null}"#),
            ),
            ("calls", Some("7")),
            ("first_seen", Some("2026-11-01T00:00:00Z")),
            ("last_seen", Some("2026-11-02T00:00:00Z")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect();
        let (json, span) = row_record(&row).unwrap();
        assert_eq!(span.count, 7);
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            v["requestParameters"],
            json!({"bucketName": "b", "key": "uploads/*"})
        );
        assert_eq!(v["resources"][0]["ARN"], "arn:aws:s3:::b/k");
        assert_eq!(
            v["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"],
            "arn:aws:iam::111122223333:role/r"
        );
        assert!(row_record(&BTreeMap::new()).is_err());
        let mut none = row.clone();
        none.insert("calls".to_string(), Some("0".to_string()));
        assert_eq!(
            row_record(&none).err().as_deref(),
            Some("`calls` is 0: a row stands for one call or more")
        );
    }
}
