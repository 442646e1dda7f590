//! Table-driven mapping tests: (eventSource, eventName, requestParameters[, resources]) →
//! expected actions and resources, one row per case, each with where the fact comes from.
//! Every row of data/cloudtrail-exceptions.tsv must be covered by a case here.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "integration tests fail loudly on broken fixtures"
)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use tightrole::mapping::{Class, Mapper, When};
use tightrole::record::Record;

use common::{identity_with, record, with};

const A: &str = "111122223333";

fn s3o(bucket: &str, key: &str) -> String {
    format!("arn:aws:s3:::{bucket}/{key}")
}

fn s3b(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

fn reg(service: &str, rest: &str) -> String {
    format!("arn:aws:{service}:eu-west-1:{A}:{rest}")
}

struct Case {
    source: &'static str,
    name: &'static str,
    params: Value,
    resources: Vec<(&'static str, String)>,
    /// (action, resources); empty for a permission-less call.
    want: Vec<(&'static str, Vec<String>)>,
    class: Class,
    note: &'static str,
}

fn case(
    source: &'static str,
    name: &'static str,
    params: Value,
    want: Vec<(&'static str, Vec<String>)>,
    note: &'static str,
) -> Case {
    Case {
        source,
        name,
        params,
        resources: Vec::new(),
        class: if want.is_empty() {
            Class::PermissionLess
        } else {
            Class::Mapped
        },
        want,
        note,
    }
}

fn s3_object(name: &'static str, action: &'static str, versioned: bool) -> Case {
    let mut p = json!({"bucketName": "b", "key": "k/1.txt"});
    if versioned {
        p["versionId"] = json!("3HL4kqtJlcpXroDTDmJ");
    }
    case(
        "s3.amazonaws.com",
        name,
        p,
        vec![(action, vec![s3o("b", "k/1.txt")])],
        "S3 user guide, actions for object operations",
    )
}

fn s3_bucket(name: &'static str, action: &'static str) -> Case {
    case(
        "s3.amazonaws.com",
        name,
        json!({"bucketName": "b"}),
        vec![(action, vec![s3b("b")])],
        "S3 API reference, permissions section of the operation",
    )
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        // ---- S3 objects
        s3_object("GetObject", "s3:GetObject", false),
        s3_object("GetObject", "s3:GetObjectVersion", true),
        s3_object("HeadObject", "s3:GetObject", false),
        s3_object("HeadObject", "s3:GetObjectVersion", true),
        s3_object("PutObject", "s3:PutObject", false),
        s3_object("DeleteObject", "s3:DeleteObject", false),
        s3_object("DeleteObject", "s3:DeleteObjectVersion", true),
        s3_object("GetObjectAcl", "s3:GetObjectVersionAcl", true),
        s3_object("PutObjectAcl", "s3:PutObjectVersionAcl", true),
        s3_object("GetObjectTagging", "s3:GetObjectVersionTagging", true),
        s3_object("PutObjectTagging", "s3:PutObjectVersionTagging", true),
        s3_object("DeleteObjectTagging", "s3:DeleteObjectVersionTagging", true),
        s3_object("SelectObjectContent", "s3:GetObject", false),
        s3_object("UploadPart", "s3:PutObject", false),
        s3_object("CreateMultipartUpload", "s3:PutObject", false),
        s3_object("CompleteMultipartUpload", "s3:PutObject", false),
        s3_object("ListParts", "s3:ListMultipartUploadParts", false),
        case(
            "s3.amazonaws.com",
            "CopyObject",
            json!({"bucketName": "dst", "key": "copy.txt", "x-amz-copy-source": "src/dir/orig%20name.txt?versionId=1"}),
            vec![
                ("s3:GetObject", vec![s3o("src", "dir/orig name.txt")]),
                ("s3:PutObject", vec![s3o("dst", "copy.txt")]),
            ],
            "S3 API reference, CopyObject: read on the source, write on the target",
        ),
        case(
            "s3.amazonaws.com",
            "UploadPartCopy",
            json!({"bucketName": "dst", "key": "big.bin", "x-amz-copy-source": "/src/big.bin", "partNumber": "2"}),
            vec![
                ("s3:GetObject", vec![s3o("src", "big.bin")]),
                ("s3:PutObject", vec![s3o("dst", "big.bin")]),
            ],
            "S3 API reference, UploadPartCopy",
        ),
        case(
            "s3.amazonaws.com",
            "DeleteObjects",
            json!({"bucketName": "b", "delete": ""}),
            vec![("s3:DeleteObject", vec!["arn:aws:s3:::b/*".to_string()])],
            "S3 API reference, DeleteObjects; the keys are not in the record, so the honest pattern is the bucket's objects",
        ),
        // ---- S3 buckets
        s3_bucket("HeadBucket", "s3:ListBucket"),
        s3_bucket("ListObjects", "s3:ListBucket"),
        s3_bucket("ListObjectsV2", "s3:ListBucket"),
        s3_bucket("ListObjectVersions", "s3:ListBucketVersions"),
        s3_bucket("ListMultipartUploads", "s3:ListBucketMultipartUploads"),
        s3_bucket("GetBucketLifecycle", "s3:GetLifecycleConfiguration"),
        s3_bucket(
            "GetBucketLifecycleConfiguration",
            "s3:GetLifecycleConfiguration",
        ),
        s3_bucket("PutBucketLifecycle", "s3:PutLifecycleConfiguration"),
        s3_bucket(
            "PutBucketLifecycleConfiguration",
            "s3:PutLifecycleConfiguration",
        ),
        s3_bucket("DeleteBucketLifecycle", "s3:PutLifecycleConfiguration"),
        s3_bucket("GetBucketEncryption", "s3:GetEncryptionConfiguration"),
        s3_bucket("PutBucketEncryption", "s3:PutEncryptionConfiguration"),
        s3_bucket("DeleteBucketEncryption", "s3:PutEncryptionConfiguration"),
        s3_bucket("GetBucketCors", "s3:GetBucketCORS"),
        s3_bucket("PutBucketCors", "s3:PutBucketCORS"),
        s3_bucket("DeleteBucketCors", "s3:PutBucketCORS"),
        s3_bucket("GetBucketReplication", "s3:GetReplicationConfiguration"),
        s3_bucket("PutBucketReplication", "s3:PutReplicationConfiguration"),
        s3_bucket("DeleteBucketReplication", "s3:PutReplicationConfiguration"),
        s3_bucket("GetBucketNotification", "s3:GetBucketNotification"),
        s3_bucket(
            "GetBucketNotificationConfiguration",
            "s3:GetBucketNotification",
        ),
        s3_bucket(
            "PutBucketNotificationConfiguration",
            "s3:PutBucketNotification",
        ),
        s3_bucket("DeleteBucketTagging", "s3:PutBucketTagging"),
        s3_bucket(
            "DeleteBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
        ),
        s3_bucket(
            "DeleteBucketOwnershipControls",
            "s3:PutBucketOwnershipControls",
        ),
        s3_bucket(
            "GetBucketAccelerateConfiguration",
            "s3:GetAccelerateConfiguration",
        ),
        s3_bucket(
            "PutBucketAccelerateConfiguration",
            "s3:PutAccelerateConfiguration",
        ),
        s3_bucket(
            "GetObjectLockConfiguration",
            "s3:GetBucketObjectLockConfiguration",
        ),
        s3_bucket(
            "PutObjectLockConfiguration",
            "s3:PutBucketObjectLockConfiguration",
        ),
        s3_bucket(
            "GetBucketAnalyticsConfiguration",
            "s3:GetAnalyticsConfiguration",
        ),
        s3_bucket(
            "ListBucketAnalyticsConfigurations",
            "s3:GetAnalyticsConfiguration",
        ),
        s3_bucket(
            "PutBucketAnalyticsConfiguration",
            "s3:PutAnalyticsConfiguration",
        ),
        s3_bucket(
            "DeleteBucketAnalyticsConfiguration",
            "s3:PutAnalyticsConfiguration",
        ),
        s3_bucket(
            "GetBucketInventoryConfiguration",
            "s3:GetInventoryConfiguration",
        ),
        s3_bucket(
            "ListBucketInventoryConfigurations",
            "s3:GetInventoryConfiguration",
        ),
        s3_bucket(
            "PutBucketInventoryConfiguration",
            "s3:PutInventoryConfiguration",
        ),
        s3_bucket(
            "DeleteBucketInventoryConfiguration",
            "s3:PutInventoryConfiguration",
        ),
        s3_bucket(
            "GetBucketMetricsConfiguration",
            "s3:GetMetricsConfiguration",
        ),
        s3_bucket(
            "ListBucketMetricsConfigurations",
            "s3:GetMetricsConfiguration",
        ),
        s3_bucket(
            "PutBucketMetricsConfiguration",
            "s3:PutMetricsConfiguration",
        ),
        s3_bucket(
            "DeleteBucketMetricsConfiguration",
            "s3:PutMetricsConfiguration",
        ),
        s3_bucket(
            "GetBucketIntelligentTieringConfiguration",
            "s3:GetIntelligentTieringConfiguration",
        ),
        s3_bucket(
            "ListBucketIntelligentTieringConfigurations",
            "s3:GetIntelligentTieringConfiguration",
        ),
        s3_bucket(
            "PutBucketIntelligentTieringConfiguration",
            "s3:PutIntelligentTieringConfiguration",
        ),
        s3_bucket(
            "DeleteBucketIntelligentTieringConfiguration",
            "s3:PutIntelligentTieringConfiguration",
        ),
        case(
            "s3.amazonaws.com",
            "ListBuckets",
            json!({"Host": "s3.amazonaws.com"}),
            vec![("s3:ListAllMyBuckets", vec!["*".into()])],
            "S3 API reference, ListBuckets; s3:ListAllMyBuckets has no resource type",
        ),
        // ---- Lambda
        case(
            "lambda.amazonaws.com",
            "Invoke",
            json!({"functionName": "orders-api"}),
            vec![(
                "lambda:InvokeFunction",
                vec![reg("lambda", "function:orders-api")],
            )],
            "Lambda API reference, Invoke (lambda:Invoke does not exist)",
        ),
        case(
            "lambda.amazonaws.com",
            "Invoke",
            json!({"functionName": "orders-api", "qualifier": "live"}),
            vec![(
                "lambda:InvokeFunction",
                vec![reg("lambda", "function:orders-api:live")],
            )],
            "a qualified call is authorized on the qualified ARN",
        ),
        case(
            "lambda.amazonaws.com",
            "Invoke",
            json!({"functionName": format!("arn:aws:lambda:eu-west-1:{A}:function:f:3")}),
            vec![("lambda:InvokeFunction", vec![reg("lambda", "function:f:3")])],
            "Lambda takes a full ARN",
        ),
        case(
            "lambda.amazonaws.com",
            "Invoke",
            json!({"functionName": format!("{A}:function:f")}),
            vec![("lambda:InvokeFunction", vec![reg("lambda", "function:f")])],
            "Lambda takes a partial ARN",
        ),
        case(
            "lambda.amazonaws.com",
            "InvokeAsync",
            json!({"functionName": "f"}),
            vec![("lambda:InvokeFunction", vec![reg("lambda", "function:f")])],
            "Lambda API reference, InvokeAsync",
        ),
        case(
            "lambda.amazonaws.com",
            "InvokeWithResponseStream",
            json!({"functionName": "f"}),
            vec![("lambda:InvokeFunction", vec![reg("lambda", "function:f")])],
            "Lambda API reference, InvokeWithResponseStream",
        ),
        case(
            "lambda.amazonaws.com",
            "GetLayerVersionByArn",
            json!({"arn": reg("lambda", "layer:deps:7")}),
            vec![(
                "lambda:GetLayerVersion",
                vec![reg("lambda", "layer:deps:7")],
            )],
            "Lambda API reference, GetLayerVersionByArn",
        ),
        case(
            "lambda.amazonaws.com",
            "ListFunctions20150331",
            Value::Null,
            vec![("lambda:ListFunctions", vec!["*".into()])],
            "version suffix stripped",
        ),
        case(
            "lambda.amazonaws.com",
            "UpdateFunctionCode20150331v2",
            json!({"functionName": "f", "publish": true}),
            vec![(
                "lambda:UpdateFunctionCode",
                vec![reg("lambda", "function:f")],
            )],
            "version suffix with v2 stripped",
        ),
        // ---- SQS / SNS
        case(
            "sqs.amazonaws.com",
            "SendMessageBatch",
            json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/444455556666/jobs"}),
            vec![(
                "sqs:SendMessage",
                vec!["arn:aws:sqs:eu-west-1:444455556666:jobs".into()],
            )],
            "SQS batch action; the queue URL names another account",
        ),
        case(
            "sqs.amazonaws.com",
            "DeleteMessageBatch",
            json!({"queueUrl": format!("https://sqs.eu-west-1.amazonaws.com/{A}/jobs")}),
            vec![("sqs:DeleteMessage", vec![reg("sqs", "jobs")])],
            "SQS developer guide, API permissions",
        ),
        case(
            "sqs.amazonaws.com",
            "ChangeMessageVisibilityBatch",
            json!({"queueUrl": format!("https://sqs.eu-west-1.amazonaws.com/{A}/jobs")}),
            vec![("sqs:ChangeMessageVisibility", vec![reg("sqs", "jobs")])],
            "SQS developer guide, API permissions",
        ),
        case(
            "sqs.amazonaws.com",
            "SendMessage",
            json!({"queueUrl": format!("https://sqs.eu-west-1.amazonaws.com/{A}/jobs")}),
            vec![("sqs:SendMessage", vec![reg("sqs", "jobs")])],
            "direct",
        ),
        case(
            "sns.amazonaws.com",
            "PublishBatch",
            json!({"topicArn": reg("sns", "alerts")}),
            vec![("sns:Publish", vec![reg("sns", "alerts")])],
            "SNS API reference, PublishBatch",
        ),
        case(
            "sns.amazonaws.com",
            "Publish",
            json!({"topicArn": reg("sns", "alerts")}),
            vec![("sns:Publish", vec![reg("sns", "alerts")])],
            "direct; topic from an ARN-valued parameter",
        ),
        // ---- permission-less
        case(
            "sts.amazonaws.com",
            "GetCallerIdentity",
            json!({}),
            vec![],
            "STS API reference: no permissions required",
        ),
        case(
            "sts.amazonaws.com",
            "GetSessionToken",
            json!({"durationSeconds": 3600}),
            vec![],
            "STS API reference, GetSessionToken",
        ),
        case(
            "dynamodb.amazonaws.com",
            "DescribeEndpoints",
            Value::Null,
            vec![],
            "DynamoDB API reference, DescribeEndpoints",
        ),
        // ---- resources for the serverless set
        case(
            "dynamodb.amazonaws.com",
            "GetItem",
            json!({"tableName": "orders"}),
            vec![("dynamodb:GetItem", vec![reg("dynamodb", "table/orders")])],
            "table from tableName",
        ),
        case(
            "dynamodb.amazonaws.com",
            "Query",
            json!({"tableName": "orders", "indexName": "by-customer"}),
            vec![(
                "dynamodb:Query",
                vec![reg("dynamodb", "table/orders/index/by-customer")],
            )],
            "a query on an index is authorized on the index ARN",
        ),
        case(
            "dynamodb.amazonaws.com",
            "PutItem",
            json!({"tableName": reg("dynamodb", "table/orders")}),
            vec![("dynamodb:PutItem", vec![reg("dynamodb", "table/orders")])],
            "DynamoDB accepts a table ARN",
        ),
        case(
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": "prod/db"}),
            vec![(
                "secretsmanager:GetSecretValue",
                vec![reg("secretsmanager", "secret:prod/db-??????")],
            )],
            "a name omits the 6-character suffix",
        ),
        case(
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": reg("secretsmanager", "secret:prod/db-AbCdEf")}),
            vec![(
                "secretsmanager:GetSecretValue",
                vec![reg("secretsmanager", "secret:prod/db-AbCdEf")],
            )],
            "a full secret ARN is used as is",
        ),
        case(
            "ssm.amazonaws.com",
            "GetParameter",
            json!({"name": "/app/db/url", "withDecryption": true}),
            vec![("ssm:GetParameter", vec![reg("ssm", "parameter/app/db/url")])],
            "leading slash dropped",
        ),
        case(
            "ssm.amazonaws.com",
            "GetParameter",
            json!({"name": "plain"}),
            vec![("ssm:GetParameter", vec![reg("ssm", "parameter/plain")])],
            "name without a slash",
        ),
        case(
            "ssm.amazonaws.com",
            "GetParameters",
            json!({"names": ["/a", "/b"]}),
            vec![(
                "ssm:GetParameters",
                vec![reg("ssm", "parameter/a"), reg("ssm", "parameter/b")],
            )],
            "a list of names gives one ARN each",
        ),
        case(
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            vec![("kms:Decrypt", vec![reg("kms", "key/*")])],
            "no key in the record: the honest pattern, flagged",
        ),
        case(
            "logs.amazonaws.com",
            "CreateLogGroup",
            json!({"logGroupName": "/aws/lambda/f"}),
            vec![(
                "logs:CreateLogGroup",
                vec![reg("logs", "log-group:/aws/lambda/f")],
            )],
            "log group",
        ),
        case(
            "logs.amazonaws.com",
            "CreateLogStream",
            json!({"logGroupName": "/aws/lambda/f", "logStreamName": "2026/11/01/[$LATEST]ab"}),
            vec![(
                "logs:CreateLogStream",
                vec![reg(
                    "logs",
                    "log-group:/aws/lambda/f:log-stream:2026/11/01/[$LATEST]ab",
                )],
            )],
            "log stream",
        ),
        case(
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": format!("arn:aws:iam::{A}:role/deploy"), "roleSessionName": "x"}),
            vec![(
                "sts:AssumeRole",
                vec![format!("arn:aws:iam::{A}:role/deploy")],
            )],
            "STS AssumeRole target from roleArn",
        ),
        case(
            "monitoring.amazonaws.com",
            "PutMetricData",
            json!({"namespace": "Shop"}),
            vec![("cloudwatch:PutMetricData", vec!["*".into()])],
            "eventSource monitoring → IAM prefix cloudwatch",
        ),
        case(
            "ec2.amazonaws.com",
            "DescribeInstances",
            json!({"instancesSet": {}}),
            vec![("ec2:DescribeInstances", vec!["*".into()])],
            "direct, no resource type",
        ),
    ];
    // resources[] wins over rebuilding, and the bucket entry does not leak into an object action.
    v.push(Case {
        resources: vec![
            ("AWS::S3::Object", s3o("real", "x.txt")),
            ("AWS::S3::Bucket", s3b("real")),
        ],
        ..case(
            "s3.amazonaws.com",
            "GetObject",
            json!({"bucketName": "real", "key": "x.txt"}),
            vec![("s3:GetObject", vec![s3o("real", "x.txt")])],
            "resources[] as CloudTrail logs S3 data events",
        )
    });
    v.push(Case {
        resources: vec![(
            "AWS::KMS::Key",
            reg("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        )],
        ..case(
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            vec![(
                "kms:Decrypt",
                vec![reg("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")],
            )],
            "KMS records carry the key in resources[]",
        )
    });
    v
}

fn map(rec: &Value) -> (Class, BTreeMap<String, BTreeSet<String>>) {
    let text = rec.to_string();
    let r: Record = serde_json::from_str(&text).unwrap();
    let m = Mapper::embedded().map(&r);
    let mut got: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for n in &m.needs {
        got.entry(n.action.qualified())
            .or_default()
            .extend(n.resolved.resources.iter().cloned());
    }
    (m.class, got)
}

fn build(c: &Case) -> Value {
    let mut rec = record("fn:app-role/app", c.source, c.name, c.params.clone());
    if !c.resources.is_empty() {
        let res: Vec<Value> = c
            .resources
            .iter()
            .map(|(t, a)| json!({"type": t, "ARN": a}))
            .collect();
        rec = with(rec, "resources", Value::Array(res));
    }
    rec
}

#[test]
fn every_case_maps_as_expected() {
    let mut failures = Vec::new();
    for c in cases() {
        let (class, got) = map(&build(&c));
        let want: BTreeMap<String, BTreeSet<String>> = c
            .want
            .iter()
            .map(|(a, r)| (a.to_string(), r.iter().cloned().collect()))
            .collect();
        if class != c.class || got != want {
            failures.push(format!(
                "{} {} ({}): got {class:?} {got:?}, want {:?} {want:?}",
                c.source, c.name, c.note, c.class
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_exception_row_has_a_case() {
    let cases = cases();
    let mut missing = Vec::new();
    for row in Mapper::embedded().tables().all_exceptions() {
        let covered = cases.iter().any(|c| {
            c.source == row.event_source
                && c.name == row.event_name
                && match &row.when {
                    When::Always => true,
                    When::Param(p) => c.params.get(p).is_some(),
                }
        });
        if !covered {
            missing.push(format!(
                "line {}: {} {}",
                row.line, row.event_source, row.event_name
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "exception rows without a test case:\n{}",
        missing.join("\n")
    );
}

#[test]
fn denied_calls_are_never_usage_but_errors_after_authorization_are() {
    let c = &cases()[0];
    let denied = with(
        with(build(c), "errorCode", json!("AccessDenied")),
        "errorMessage",
        json!("Access Denied"),
    );
    assert_eq!(map(&denied).0, Class::Denied);
    let ok = with(build(c), "errorCode", json!("NoSuchKey"));
    assert_eq!(map(&ok).0, Class::Mapped);
    let cond = with(
        record(
            "fn:r/f",
            "dynamodb.amazonaws.com",
            "PutItem",
            json!({"tableName": "t"}),
        ),
        "errorCode",
        json!("ConditionalCheckFailedException"),
    );
    assert_eq!(map(&cond).0, Class::Mapped);
}

#[test]
fn denied_message_names_the_action() {
    let rec = with(
        with(
            record(
                "role:r/s",
                "ec2.amazonaws.com",
                "GetPasswordData",
                json!({"instanceId": "i-0abc"}),
            ),
            "errorCode",
            json!("Client.UnauthorizedOperation"),
        ),
        "errorMessage",
        json!(format!(
            "You are not authorized to perform this operation. User: arn:aws:sts::{A}:assumed-role/r/s is not authorized to perform: ec2:GetPasswordData on resource: arn:aws:ec2:eu-west-1:{A}:instance/i-0abc because no identity-based policy allows the ec2:GetPasswordData action"
        )),
    );
    let (class, got) = map(&rec);
    assert_eq!(class, Class::Denied);
    assert_eq!(got.keys().collect::<Vec<_>>(), ["ec2:GetPasswordData"]);
    assert!(got["ec2:GetPasswordData"].contains(&reg("ec2", "instance/i-0abc")));
}

#[test]
fn service_made_and_not_api_calls() {
    let kms = identity_with(
        record("fn:r/f", "kms.amazonaws.com", "Decrypt", json!({})),
        "invokedBy",
        json!("secretsmanager.amazonaws.com"),
    );
    assert_eq!(map(&kms).0, Class::ServiceMade);
    let login = with(
        record(
            "user:alice",
            "signin.amazonaws.com",
            "ConsoleLogin",
            Value::Null,
        ),
        "eventType",
        json!("AwsConsoleSignIn"),
    );
    assert_eq!(map(&login).0, Class::NotApiCall);
    let svc = with(
        record(
            "service:kms.amazonaws.com",
            "kms.amazonaws.com",
            "RotateKey",
            Value::Null,
        ),
        "eventType",
        json!("AwsServiceEvent"),
    );
    assert_eq!(map(&svc).0, Class::NotApiCall);
    let unknown = record("user:u", "made-up.amazonaws.com", "DoThing", Value::Null);
    assert_eq!(map(&unknown), (Class::Unmapped, BTreeMap::new()));
    let no_action = record("user:u", "s3.amazonaws.com", "NotARealS3Call", Value::Null);
    assert_eq!(map(&no_action).0, Class::Unmapped, "never guess an action");
}
