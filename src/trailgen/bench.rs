//! The benchmark trail: N synthetic records in the S3 delivery layout, with a realistic size
//! (about 1.4 KB a record) and mix: 200 functions in 40 shared roles, EC2 role sessions, users,
//! AWS services, data and management events, a few denied calls. The app is the same whatever N
//! is: it reads and writes a fixed set of 2,000 objects per prefix and one log stream per function
//! and day over 90 days, and people and instances look after a few functions each, so the distinct
//! grants stop growing while records keep coming (with `--generalize prefix`, the default, object
//! keys and log streams are folded as they are read, so they do not grow them either), and the
//! same few functions are denied one call in 25 of those on a fixed resource, so the denied calls
//! (kept exact, never folded) stop growing too. Seeded; written file by file so memory stays
//! flat whatever N is.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Duration, TimeZone, Utc};
use flate2::{Compression, GzBuilder};
use serde_json::json;

use super::{Call, Caller, Rng};

const ACCOUNT: &str = "210987654321";
const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "ap-southeast-2"];
const PER_FILE: usize = 56;
const UA: &str = "aws-sdk-js/3.654.0 ua/2.1 os/linux#5.10.227-239.884.amzn2.x86_64 lang/js md/nodejs#20.17.0 api/dynamodb#3.654.0 exec-env/AWS_Lambda_nodejs20.x";

const MODELS: [&str; 2] = [
    "anthropic.claude-3-haiku-20240307-v1:0",
    "amazon.titan-embed-text-v2:0",
];

/// The shape of the benchmark app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BenchProfile {
    /// The same app whatever N is: distinct usage is complete long before a million records.
    #[default]
    Steady,
    /// An account that keeps growing: functions, tenants' object prefixes and people keep
    /// appearing (logarithmically in N, as a real account's do), every request writes a new
    /// object key, and the functions call more services (SNS, EventBridge, Step Functions,
    /// Kinesis, STS, Bedrock, the Aurora Data API, X-Ray, ECR, Cognito).
    Growing,
}

/// How far the growing app has grown after `i` records: `base` at the start, then `per` more
/// for every doubling of the records past 10,000.
fn grown(i: u64, base: u64, per: f64) -> u64 {
    base + (per * (1.0 + i as f64 / 10_000.0).log2()) as u64
}

/// A call of the growing app: the steady one, or (one call in three) one of its wider usage.
fn growing_call(rng: &mut Rng, t: chrono::DateTime<Utc>, region: &str, i: u64) -> Call {
    let functions = grown(i, 200, 100.0);
    let f = rng.below(functions);
    let role = format!("svc-{:03}-role", f / 5);
    let arn = |svc: &str, rest: String| format!("arn:aws:{svc}:{region}:{ACCOUNT}:{rest}");
    if rng.below(20) == 0 {
        // people sign in through IAM Identity Center: one session per person
        let person = rng.below(grown(i, 30, 10.0));
        let mut c = Call::new(
            t,
            Caller::Session {
                role: "AWSReservedSSO_Developer_0123456789abcdef".into(),
                session: format!("dev{person}@example.com"),
            },
            "lambda.amazonaws.com",
            "GetFunction20150331v2",
            json!({"functionName": format!("fn-{:03}", (person * 7) % functions)}),
        );
        c.user_agent = "aws-cli/2.18.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0".to_string();
        return c;
    }
    if rng.below(3) != 0 {
        let mut c = call(rng, t, region, f, &role, Denials::AnyCall);
        if c.source == "s3.amazonaws.com" && c.name == "PutObject" {
            // every upload is a new object, under its tenant's prefix
            let tenant = rng.below(grown(i, 50, 20.0));
            let b = format!("data-{}-{ACCOUNT}", f % 17);
            let key = format!(
                "tenants/t{tenant:05}/uploads/{}/{}.json",
                t.format("%Y/%m/%d"),
                rng.uuid()
            );
            c.params = json!({"bucketName": b, "key": key, "Host": format!("{b}.s3.{region}.amazonaws.com")});
            c.resources = vec![
                ("AWS::S3::Object", format!("arn:aws:s3:::{b}/{key}")),
                ("AWS::S3::Bucket", format!("arn:aws:s3:::{b}")),
            ];
        }
        return c;
    }
    let id = rng.uuid();
    let (source, name, params, resources): (
        &'static str,
        &str,
        serde_json::Value,
        Vec<(&'static str, String)>,
    ) = match rng.below(10) {
        0 => (
            "sns.amazonaws.com",
            "Publish",
            json!({"topicArn": arn("sns", format!("topic-{}", f % 29)), "message": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            vec![],
        ),
        1 => (
            "events.amazonaws.com",
            "PutEvents",
            json!({"entries": [{"eventBusName": format!("bus-{}", f % 5), "source": "app"}]}),
            vec![],
        ),
        2 => (
            "states.amazonaws.com",
            "StartExecution",
            json!({"stateMachineArn": arn("states", format!("stateMachine:flow-{}", f % 31)), "name": id}),
            vec![],
        ),
        3 => (
            "kinesis.amazonaws.com",
            "PutRecord",
            json!({"streamName": format!("stream-{}", f % 13), "partitionKey": id}),
            vec![],
        ),
        4 => (
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/reader-{}", f % 9), "roleSessionName": format!("fn-{f:03}")}),
            vec![],
        ),
        5 => (
            "bedrock.amazonaws.com",
            "InvokeModel",
            json!({"modelId": MODELS[(f % 2) as usize]}),
            vec![],
        ),
        6 => (
            "rdsdata.amazonaws.com",
            "ExecuteStatement",
            json!({"resourceArn": arn("rds", format!("cluster:db-{}", f % 7)), "secretArn": arn("secretsmanager", format!("secret:db-{}-AbCdEf", f % 7)), "database": "app"}),
            vec![],
        ),
        7 => (
            "xray.amazonaws.com",
            "PutTraceSegments",
            serde_json::Value::Null,
            vec![],
        ),
        8 => (
            "ecr.amazonaws.com",
            "GetAuthorizationToken",
            json!({}),
            vec![],
        ),
        _ => (
            "cognito-idp.amazonaws.com",
            "AdminGetUser",
            json!({"userPoolId": format!("{region}_Pool{}", f % 3), "username": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            vec![],
        ),
    };
    let mut c = Call::new(
        t,
        Caller::Function {
            name: format!("fn-{f:03}"),
            role,
        },
        source,
        name,
        params,
    );
    c.resources = resources;
    c.user_agent = UA.to_string();
    c
}

fn steady_call(rng: &mut Rng, t: chrono::DateTime<Utc>, region: &str) -> Call {
    let f = rng.below(200);
    let role = format!("svc-{:02}-role", f / 5);
    call(rng, t, region, f, &role, Denials::FixedResources)
}

/// Which calls of the few functions that lack a permission are denied (one in 25 of them).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Denials {
    /// Only calls on a fixed resource (a table, a queue, a key, a secret, a parameter, a
    /// function), never on an object key or a daily log stream: the steady app's denied calls
    /// stop growing with its grants.
    FixedResources,
    /// Any call: the growing app's denied calls keep naming new objects and log streams, as
    /// its grants do (and a denied object is sometimes one a fold of thousands also holds).
    AnyCall,
}

/// A call of function `f` (or, one time in seven, of a person, an instance or AWS).
fn call(
    rng: &mut Rng,
    t: chrono::DateTime<Utc>,
    region: &str,
    f: u64,
    role: &str,
    denials: Denials,
) -> Call {
    let role = role.to_string();
    // `who`: which person or fleet, for what they look at
    let (caller, who) = match rng.below(100) {
        0..=84 => (
            Caller::Function {
                name: format!("fn-{f:03}"),
                role,
            },
            0,
        ),
        85..=92 => {
            let r = rng.below(8);
            (
                Caller::Session {
                    role: format!("ops-{r}"),
                    session: format!("i-{:017x}", rng.next_u64() >> 4),
                },
                r,
            )
        }
        93..=97 => {
            let u = rng.below(30);
            (Caller::User(format!("dev-{u}")), 8 + u)
        }
        _ => (Caller::Service("lambda.amazonaws.com".into()), 38),
    };
    let arn = |svc: &str, rest: String| format!("arn:aws:{svc}:{region}:{ACCOUNT}:{rest}");
    if !matches!(caller, Caller::Function { .. }) {
        // people and instances look around; the functions do the work
        let (source, name, params) = match rng.below(4) {
            0 => (
                "ec2.amazonaws.com",
                "DescribeInstances",
                json!({"instancesSet": {}, "filterSet": {}}),
            ),
            1 => (
                "s3.amazonaws.com",
                "ListBuckets",
                json!({"Host": "s3.amazonaws.com"}),
            ),
            2 => (
                "lambda.amazonaws.com",
                "ListFunctions20150331",
                serde_json::Value::Null,
            ),
            _ => (
                // each person or fleet looks after a few functions, not all 200
                "lambda.amazonaws.com",
                "GetFunction20150331v2",
                json!({"functionName": format!("fn-{:03}", (who * 5 + rng.below(3)) % 200)}),
            ),
        };
        let mut c = Call::new(t, caller, source, name, params);
        c.user_agent = "aws-cli/2.18.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0".to_string();
        return c;
    }
    let k = rng.below(12);
    let id = rng.uuid();
    let (source, name, params, resources, data): (
        &'static str,
        &str,
        serde_json::Value,
        Vec<(&'static str, String)>,
        bool,
    ) = match k {
        0..=2 => {
            let b = format!("data-{}-{ACCOUNT}", f % 17);
            // the same app reads and writes from a fixed set of objects
            let key = format!("in/{}/{:05}.json", f % 7, rng.below(2_000));
            let name = if k == 0 { "PutObject" } else { "GetObject" };
            (
                "s3.amazonaws.com",
                name,
                json!({"bucketName": b, "key": key, "Host": format!("{b}.s3.{region}.amazonaws.com")}),
                vec![
                    ("AWS::S3::Object", format!("arn:aws:s3:::{b}/{key}")),
                    ("AWS::S3::Bucket", format!("arn:aws:s3:::{b}")),
                ],
                true,
            )
        }
        3..=5 => {
            let table = format!("table-{}", f % 23);
            let name = ["GetItem", "PutItem", "Query"][(k - 3) as usize];
            (
                "dynamodb.amazonaws.com",
                name,
                json!({"tableName": table, "key": {"pk": format!("ID#{id}")}}),
                vec![(
                    "AWS::DynamoDB::Table",
                    arn("dynamodb", format!("table/{table}")),
                )],
                true,
            )
        }
        6 => (
            "sqs.amazonaws.com",
            "SendMessage",
            json!({"queueUrl": format!("https://sqs.{region}.amazonaws.com/{ACCOUNT}/q-{}", f % 11), "messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            vec![],
            true,
        ),
        7 => (
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"LambdaFunctionName": format!("fn-{f:03}")}}),
            vec![(
                "AWS::KMS::Key",
                arn("kms", format!("key/{:032x}", u128::from(f))),
            )],
            false,
        ),
        8 => (
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": format!("prod/svc-{}/db", f % 13)}),
            vec![],
            false,
        ),
        9 => (
            "ssm.amazonaws.com",
            "GetParameter",
            json!({"name": format!("/svc/{}/config", f % 19), "withDecryption": true}),
            vec![],
            false,
        ),
        10 => (
            "lambda.amazonaws.com",
            "Invoke",
            json!({"functionName": format!("fn-{:03}", (f + 1) % 200), "invocationType": "Event"}),
            vec![(
                "AWS::Lambda::Function",
                arn("lambda", format!("function:fn-{:03}", (f + 1) % 200)),
            )],
            true,
        ),
        _ => (
            "logs.amazonaws.com",
            "CreateLogStream",
            json!({"logGroupName": format!("/aws/lambda/fn-{f:03}"), "logStreamName": format!("{}/[$LATEST]{:08x}", t.format("%Y/%m/%d"), f)}),
            vec![],
            false,
        ),
    };
    let lambda = matches!(caller, Caller::Function { .. });
    let mut c = Call::new(t, caller, source, name, params);
    c.resources = resources;
    c.data_event = data;
    c.user_agent = if lambda {
        UA.to_string()
    } else {
        "aws-cli/2.18.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0".to_string()
    };
    // a few functions lack a permission they sometimes try (of this mix, 1 call in 500 when any
    // call is denied; 1 in 900 when only calls on a fixed resource are, as on the steady app)
    if f.is_multiple_of(20)
        && rng.below(25) == 0
        && (denials == Denials::AnyCall
            || !matches!(
                c.name.as_str(),
                "GetObject" | "PutObject" | "CreateLogStream"
            ))
    {
        c.error = Some(("AccessDenied".into(), "Access Denied".into()));
    }
    c
}

/// Writes `records` records over 90 days into `root` in the S3 layout, 56 records a file.
/// Returns the files written.
pub fn write_bench(
    root: &Path,
    records: u64,
    seed: u64,
    profile: BenchProfile,
) -> std::io::Result<Vec<PathBuf>> {
    let mut rng = Rng::new(seed);
    let start = Utc
        .with_ymd_and_hms(2026, 8, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let files = records.div_ceil(PER_FILE as u64).max(1);
    let step = Duration::seconds((90 * 86_400 / files as i64).max(1));
    let mut written = Vec::new();
    let mut left = records;
    for i in 0..files {
        let region = REGIONS[(i % REGIONS.len() as u64) as usize];
        let t0 = start + step * i as i32;
        let n = left.min(PER_FILE as u64);
        left -= n;
        let mut recs = Vec::with_capacity(n as usize);
        for j in 0..n {
            let t = t0 + Duration::seconds(j as i64 * step.num_seconds().max(1) / PER_FILE as i64);
            let c = match profile {
                BenchProfile::Steady => steady_call(&mut rng, t, region),
                BenchProfile::Growing => growing_call(&mut rng, t, region, i * PER_FILE as u64 + j),
            };
            recs.push(c.record(ACCOUNT, region, &mut rng));
        }
        let dir = root.join(format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/{region}/{}",
            t0.format("%Y/%m/%d")
        ));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!(
            "{ACCOUNT}_CloudTrail_{region}_{}_{}.json.gz",
            t0.format("%Y%m%dT%H%MZ"),
            rng.token(16)
        ));
        let body = serde_json::to_vec(&json!({ "Records": recs }))?;
        let mut gz = GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), Compression::default());
        gz.write_all(&body)?;
        std::fs::write(&path, gz.finish()?)?;
        written.push(path);
    }
    Ok(written)
}
