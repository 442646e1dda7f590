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
    v.extend(vec![
        // ---- KMS ReEncrypt: From on the source key, To on the destination key
        case("kms.amazonaws.com", "ReEncrypt",
            json!({"sourceKeyId": reg("kms", "key/src-1"), "destinationKeyId": "dst-2"}),
            vec![("kms:ReEncryptFrom", vec![reg("kms", "key/src-1")]), ("kms:ReEncryptTo", vec![reg("kms", "key/dst-2")])],
            "KMS API reference, ReEncrypt"),
        // ---- DynamoDB transactions and PartiQL
        case("dynamodb.amazonaws.com", "TransactWriteItems",
            json!({"transactItems": [{"put": {"tableName": "t1"}}, {"update": {"tableName": "t2"}}, {"delete": {"tableName": "t1"}}, {"conditionCheck": {"tableName": "t3"}}]}),
            vec![("dynamodb:PutItem", vec![reg("dynamodb", "table/t1")]), ("dynamodb:UpdateItem", vec![reg("dynamodb", "table/t2")]),
                 ("dynamodb:DeleteItem", vec![reg("dynamodb", "table/t1")]), ("dynamodb:ConditionCheckItem", vec![reg("dynamodb", "table/t3")])],
            "each item needs its own action on its own table"),
        case("dynamodb.amazonaws.com", "TransactGetItems",
            json!({"transactItems": [{"get": {"tableName": "t1"}}, {"get": {"tableName": "t2"}}]}),
            vec![("dynamodb:GetItem", vec![reg("dynamodb", "table/t1"), reg("dynamodb", "table/t2")])],
            "TransactGetItems is dynamodb:GetItem per item"),
        case("dynamodb.amazonaws.com", "ExecuteStatement",
            json!({"statement": "SELECT * FROM \"orders\".\"by-customer\" WHERE c = ?"}),
            vec![("dynamodb:PartiQLSelect", vec![reg("dynamodb", "table/orders/index/by-customer")])],
            "PartiQL verb and table (and index) from the statement"),
        case("dynamodb.amazonaws.com", "BatchExecuteStatement",
            json!({"statements": [{"statement": "INSERT INTO t1 VALUE {'pk': ?}"}, {"statement": "UPDATE t2 SET a = ? WHERE pk = ?"}]}),
            vec![("dynamodb:PartiQLInsert", vec![reg("dynamodb", "table/t1")]), ("dynamodb:PartiQLUpdate", vec![reg("dynamodb", "table/t2")])],
            "one action per statement"),
        case("dynamodb.amazonaws.com", "ExecuteTransaction",
            json!({"transactStatements": [{"statement": "DELETE FROM t1 WHERE pk = ?"}]}),
            vec![("dynamodb:PartiQLDelete", vec![reg("dynamodb", "table/t1")])],
            "ExecuteTransaction statements"),
        case("dynamodb.amazonaws.com", "BatchWriteItem", json!({"requestItems": {"t1": [], "t2": []}}),
            vec![("dynamodb:BatchWriteItem", vec![reg("dynamodb", "table/t1"), reg("dynamodb", "table/t2")])],
            "tables are the keys of requestItems"),
        case("dynamodb.amazonaws.com", "DescribeStream", json!({"streamArn": reg("dynamodb", "table/orders/stream/2026-11-01T00:00:00.000")}),
            vec![("dynamodb:DescribeStream", vec![reg("dynamodb", "table/orders/stream/2026-11-01T00:00:00.000")])], "stream ARN"),
        // ---- API Gateway: HTTP verbs on paths (botocore http.method + requestUri)
        case("apigateway.amazonaws.com", "GetResource", json!({"restApiId": "a1b2c3", "resourceId": "r9", "template": false}),
            vec![("apigateway:GET", vec!["arn:aws:apigateway:eu-west-1::/restapis/a1b2c3/resources/r9".into()])], "GetResource is GET /restapis/{id}/resources/{id}"),
        case("apigateway.amazonaws.com", "CreateDeployment", json!({"restApiId": "a1b2c3", "stageName": "prod"}),
            vec![("apigateway:POST", vec!["arn:aws:apigateway:eu-west-1::/restapis/a1b2c3/deployments".into()])], "POST /restapis/{id}/deployments"),
        case("apigateway.amazonaws.com", "UpdateStage", json!({"restApiId": "a1b2c3", "stageName": "prod"}),
            vec![("apigateway:PATCH", vec!["arn:aws:apigateway:eu-west-1::/restapis/a1b2c3/stages/prod".into()])], "PATCH a stage"),
        case("apigateway.amazonaws.com", "GetApi", json!({"apiId": "h1"}),
            vec![("apigateway:GET", vec!["arn:aws:apigateway:eu-west-1::/apis/h1".into()])], "HTTP APIs (v2): IAM paths drop the /v2 prefix"),
        // ---- the rest of the serverless set
        case("lambda.amazonaws.com", "PublishVersion", json!({"functionName": "f"}),
            vec![("lambda:PublishVersion", vec![reg("lambda", "function:f")])], "Lambda versions are authorized on the function"),
        case("lambda.amazonaws.com", "GetAlias", json!({"functionName": "f", "name": "live"}),
            vec![("lambda:GetAlias", vec![reg("lambda", "function:f")])], "the catalog scopes alias APIs to the function"),
        case("lambda.amazonaws.com", "GetLayerVersion", json!({"layerName": "deps", "versionNumber": 3}),
            vec![("lambda:GetLayerVersion", vec![reg("lambda", "layer:deps:3")])], "layer version from name and number"),
        case("sns.amazonaws.com", "CreateTopic", json!({"name": "alerts"}),
            vec![("sns:CreateTopic", vec![reg("sns", "alerts")])], "topic from its name"),
        case("events.amazonaws.com", "PutRule", json!({"name": "nightly", "scheduleExpression": "rate(1 day)"}),
            vec![("events:PutRule", vec![reg("events", "rule/nightly")])], "a rule on the default bus"),
        case("events.amazonaws.com", "PutEvents", json!({"entries": [{"source": "shop"}]}),
            vec![("events:PutEvents", vec!["*".into()])], "optional bus not named in the request: authorized against *"),
        case("states.amazonaws.com", "StartExecution", json!({"stateMachineArn": reg("states", "stateMachine:checkout"), "name": "run-1"}),
            vec![("states:StartExecution", vec![reg("states", "stateMachine:checkout")])], "state machine ARN"),
        case("kinesis.amazonaws.com", "PutRecord", json!({"streamName": "clicks", "partitionKey": "k"}),
            vec![("kinesis:PutRecord", vec![reg("kinesis", "stream/clicks")])], "Kinesis stream by name"),
        case("firehose.amazonaws.com", "PutRecordBatch", json!({"deliveryStreamName": "events"}),
            vec![("firehose:PutRecordBatch", vec![reg("firehose", "deliverystream/events")])], "Firehose delivery stream"),
        case("xray.amazonaws.com", "PutTraceSegments", json!({}),
            vec![("xray:PutTraceSegments", vec!["*".into()])], "X-Ray trace upload has no resource type"),
        case("cognito-idp.amazonaws.com", "AdminGetUser", json!({"userPoolId": "eu-west-1_AbCdEf", "username": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            vec![("cognito-idp:AdminGetUser", vec![reg("cognito-idp", "userpool/eu-west-1_AbCdEf")])], "Cognito user pool"),
        case("appsync.amazonaws.com", "GetGraphqlApi", json!({"apiId": "xyz123"}),
            vec![("appsync:GetGraphqlApi", vec![reg("appsync", "apis/xyz123")])], "AppSync API"),
        case("email.amazonaws.com", "SendEmail", json!({"source": "Shop <orders@shop.example>"}),
            vec![("ses:SendEmail", vec![reg("ses", "identity/orders@shop.example"), reg("ses", "identity/shop.example")])],
            "the sending identity is the address or its domain"),
        case("ecr.amazonaws.com", "BatchGetImage", json!({"repositoryName": "app", "imageIds": []}),
            vec![("ecr:BatchGetImage", vec![reg("ecr", "repository/app")])], "ECR repository"),
        case("iam.amazonaws.com", "GetRole", json!({"roleName": "deploy"}),
            vec![("iam:GetRole", vec![format!("arn:aws:iam::{A}:role/deploy"), format!("arn:aws:iam::{A}:role/*/deploy")])],
            "a role name matches the role with or without a path"),
        case("iam.amazonaws.com", "CreatePolicyVersion", json!({"policyArn": format!("arn:aws:iam::{A}:policy/app"), "setAsDefault": true}),
            vec![("iam:CreatePolicyVersion", vec![format!("arn:aws:iam::{A}:policy/app")])], "policy ARN"),
        case("kms.amazonaws.com", "CreateAlias", json!({"aliasName": "alias/app", "targetKeyId": "1234abcd"}),
            vec![("kms:CreateAlias", vec![reg("kms", "alias/app"), reg("kms", "key/1234abcd")])], "an alias and its key"),
        case("kms.amazonaws.com", "Decrypt", json!({"keyId": "alias/app"}),
            vec![("kms:Decrypt", vec![reg("kms", "key/*")])], "an alias cannot be resolved to a key from the record: flagged pattern"),
        case("logs.amazonaws.com", "PutRetentionPolicy", json!({"logGroupName": "/aws/lambda/f", "retentionInDays": 14}),
            vec![("logs:PutRetentionPolicy", vec![reg("logs", "log-group:/aws/lambda/f")])], "log group"),
    ]);
    // ---- event sources whose IAM prefix is neither botocore's endpoint prefix nor signing name
    let cluster = reg("rds", "cluster:shop-db");
    let secret = reg("secretsmanager", "secret:rds-db-credentials/shop-db-AbC123");
    let data_api = json!({"resourceArn": cluster, "secretArn": secret, "database": "**********", "sql": "**********"});
    let data_api_needs = |a: &'static str| {
        vec![
            (a, vec![cluster.clone()]),
            ("secretsmanager:GetSecretValue", vec![secret.clone()]),
        ]
    };
    v.extend(vec![
        case("rdsdata.amazonaws.com", "ExecuteStatement", data_api.clone(), data_api_needs("rds-data:ExecuteStatement"),
            "Aurora user guide, Data API CloudTrail example (eventSource rdsdata) and minimum policy (the secret too)"),
        case("rdsdata.amazonaws.com", "BatchExecuteStatement", data_api.clone(), data_api_needs("rds-data:BatchExecuteStatement"), "as ExecuteStatement"),
        case("rdsdata.amazonaws.com", "BeginTransaction", data_api.clone(), data_api_needs("rds-data:BeginTransaction"), "as ExecuteStatement"),
        case("rdsdata.amazonaws.com", "CommitTransaction", json!({"resourceArn": cluster, "secretArn": secret, "transactionId": "t1"}),
            data_api_needs("rds-data:CommitTransaction"), "as ExecuteStatement"),
        case("rdsdata.amazonaws.com", "RollbackTransaction", json!({"resourceArn": cluster, "secretArn": secret, "transactionId": "t1"}),
            data_api_needs("rds-data:RollbackTransaction"), "as ExecuteStatement"),
        case("rdsdata.amazonaws.com", "ExecuteSql", json!({"dbClusterOrInstanceArn": cluster, "awsSecretStoreArn": secret, "sqlStatements": "**********"}),
            data_api_needs("rds-data:ExecuteSql"), "RDS Data API reference, ExecuteSql"),
        case("amazonmq.amazonaws.com", "CreateBroker", json!({"brokerName": "b", "engineType": "ActiveMQ"}),
            vec![("mq:CreateBroker", vec!["*".into()])], "Amazon MQ developer guide, CloudTrail example: eventSource amazonmq"),
        case("metering-marketplace.amazonaws.com", "MeterUsage", json!({"productCode": "p", "usageDimension": "d"}),
            vec![("aws-marketplace:MeterUsage", vec!["*".into()])], "Marketplace metering CloudTrail example: eventSource metering-marketplace"),
        case("migrationhub.amazonaws.com", "DescribeApplicationState", json!({"applicationId": "d-application-1"}),
            vec![("mgh:DescribeApplicationState", vec!["*".into()])], "Migration Hub user guide, CloudTrail example: eventSource migrationhub"),
        case("s3express.amazonaws.com", "CreateSession", json!({"bucketName": "base--euw1-az1--x-s3", "x-amz-create-session-mode": "ReadWrite"}),
            vec![("s3express:CreateSession", vec![reg("s3express", "bucket/base--euw1-az1--x-s3")])], "S3 user guide, CloudTrail examples for directory buckets"),
        case("s3express.amazonaws.com", "ListDirectoryBuckets", json!({}),
            vec![("s3express:ListAllMyDirectoryBuckets", vec!["*".into()])], "S3 API reference, ListDirectoryBuckets permissions"),
        case("ssmmessages.amazonaws.com", "OpenDataChannel", json!({}),
            vec![("ssmmessages:OpenDataChannel", vec!["*".into()])], "the Message Gateway's own event source"),
        // ---- calls authorized by another action
        case("bedrock.amazonaws.com", "InvokeModel", json!({"modelId": "anthropic.claude-3-haiku-20240307-v1:0"}),
            vec![("bedrock:InvokeModel", vec!["arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0".into()])],
            "a foundation model's ARN has no account"),
        case("bedrock.amazonaws.com", "InvokeModelWithResponseStream", json!({"modelId": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0"}),
            vec![("bedrock:InvokeModelWithResponseStream", vec!["arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0".into()])],
            "a model ARN is used as it is"),
        case("bedrock.amazonaws.com", "Converse", json!({"modelId": "eu.anthropic.claude-3-7-sonnet-20250219-v1:0"}),
            vec![("bedrock:InvokeModel", vec![reg("bedrock", "inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0"),
                "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0".into()])],
            "Converse needs bedrock:InvokeModel; a cross-Region profile needs the profile and its model in the Regions it routes to"),
        case("bedrock.amazonaws.com", "ConverseStream", json!({"modelId": reg("bedrock", "inference-profile/us.meta.llama3-2-3b-instruct-v1:0")}),
            vec![("bedrock:InvokeModelWithResponseStream", vec![reg("bedrock", "inference-profile/us.meta.llama3-2-3b-instruct-v1:0"),
                "arn:aws:bedrock:*::foundation-model/meta.llama3-2-3b-instruct-v1:0".into()])],
            "ConverseStream needs bedrock:InvokeModelWithResponseStream; a profile ARN gives its model"),
        case("bedrock.amazonaws.com", "RetrieveAndGenerate",
            json!({"input": "***", "retrieveAndGenerateConfiguration": {"type": "KNOWLEDGE_BASE", "knowledgeBaseConfiguration": {
                "knowledgeBaseId": "KB12345678", "modelArn": "arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"}}}),
            vec![("bedrock:RetrieveAndGenerate", vec!["*".into()]),
                 ("bedrock:Retrieve", vec![reg("bedrock", "knowledge-base/KB12345678")]),
                 ("bedrock:InvokeModel", vec!["arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0".into()])],
            "Bedrock user guide, permissions to query a knowledge base"),
        case("bedrock.amazonaws.com", "InvokeAgent", json!({"agentId": "AGENT12345", "agentAliasId": "ALIAS12345", "sessionId": "s1"}),
            vec![("bedrock:InvokeAgent", vec![reg("bedrock", "agent-alias/AGENT12345/ALIAS12345")])],
            "InvokeAgent is authorized on the agent alias (Service Authorization Reference, Amazon Bedrock)"),
        case("bedrock.amazonaws.com", "Retrieve", json!({"knowledgeBaseId": "KB12345678"}),
            vec![("bedrock:Retrieve", vec![reg("bedrock", "knowledge-base/KB12345678")])], "Retrieve on the knowledge base"),
        case("ssm.amazonaws.com", "OpenControlChannel", json!({}), vec![("ssmmessages:OpenControlChannel", vec!["*".into()])],
            "Session Manager channels are Message Gateway actions"),
        case("ssm.amazonaws.com", "OpenDataChannel", json!({"sessionId": "s-0abc"}), vec![("ssmmessages:OpenDataChannel", vec!["*".into()])],
            "Session Manager channels are Message Gateway actions"),
        case("ssm.amazonaws.com", "CreateControlChannel", json!({}), vec![("ssmmessages:CreateControlChannel", vec!["*".into()])],
            "Session Manager channels are Message Gateway actions"),
        case("ssm.amazonaws.com", "CreateDataChannel", json!({}), vec![("ssmmessages:CreateDataChannel", vec!["*".into()])],
            "Session Manager channels are Message Gateway actions"),
        // ---- sloppy names: normalized by the mapping layer
        case("s3.amazonaws.com", "GetObject ", json!({"bucketName": "b", "key": "k"}),
            vec![("s3:GetObject", vec![s3o("b", "k")])], "a trailing space in a real eventName"),
        case("s3.amazonaws.com", "headObject", json!({"bucketName": "b", "key": "k"}),
            vec![("s3:GetObject", vec![s3o("b", "k")])], "a lower-case first letter still finds the exception row"),
        case(" lambda.amazonaws.com", "invoke", json!({"functionName": "f"}),
            vec![("lambda:InvokeFunction", vec![reg("lambda", "function:f")])], "a source with a leading space"),
        // ---- resources the request narrows
        case("secretsmanager.amazonaws.com", "GetSecretValue", json!({"secretId": reg("secretsmanager", "secret:prod/db")}),
            vec![("secretsmanager:GetSecretValue", vec![reg("secretsmanager", "secret:prod/db-??????")])],
            "a partial ARN (no random suffix) names the secret NAME-??????"),
        case("secretsmanager.amazonaws.com", "GetSecretValue", json!({"secretId": "arn:aws:secretsmanager:us-east-1:444455556666:secret:shared"}),
            vec![("secretsmanager:GetSecretValue", vec!["arn:aws:secretsmanager:us-east-1:444455556666:secret:shared-??????".into()])],
            "a partial ARN keeps its own account and Region"),
        case("lambda.amazonaws.com", "Invoke", json!({"functionName": "f:live"}),
            vec![("lambda:InvokeFunction", vec![reg("lambda", "function:f:live")])], "NAME:alias is the qualified ARN"),
    ]);
    // Zonal (object) calls on a directory bucket ride on the CreateSession session.
    for op in [
        "GetObject",
        "PutObject",
        "HeadObject",
        "DeleteObject",
        "DeleteObjects",
        "ListObjectsV2",
        "CopyObject",
        "HeadBucket",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "ListParts",
        "ListMultipartUploads",
        "GetObjectAttributes",
    ] {
        v.push(case(
            "s3express.amazonaws.com",
            op,
            json!({"bucketName": "base--euw1-az1--x-s3", "key": "k"}),
            vec![],
            "S3 user guide: Zonal endpoint calls are authorized by the CreateSession session",
        ));
    }
    v.push(Case {
        resources: vec![("AWS::Lambda::Function", reg("lambda", "function:f"))],
        ..case("lambda.amazonaws.com", "Invoke", json!({"functionName": "f", "qualifier": "live"}),
            vec![("lambda:InvokeFunction", vec![reg("lambda", "function:f:live")])],
            "resources[] names the function; the qualifier narrows it: function:f does not cover f:live")
    });
    v.push(Case {
        resources: vec![("AWS::Lambda::Function", reg("lambda", "function:f"))],
        ..case(
            "lambda.amazonaws.com",
            "Invoke",
            json!({"functionName": reg("lambda", "function:f:7")}),
            vec![("lambda:InvokeFunction", vec![reg("lambda", "function:f:7")])],
            "a qualified ARN in the request",
        )
    });
    v.push(Case {
        resources: vec![
            ("AWS::DynamoDB::Table", reg("dynamodb", "table/t1")),
            ("AWS::DynamoDB::Table", reg("dynamodb", "table/t2")),
        ],
        ..case(
            "dynamodb.amazonaws.com",
            "TransactGetItems",
            json!({}),
            vec![(
                "dynamodb:GetItem",
                vec![reg("dynamodb", "table/t1"), reg("dynamodb", "table/t2")],
            )],
            "no items in the record: the tables resources[] names, never table/*",
        )
    });
    v.push(Case {
        resources: vec![(
            "AWS::S3Express::DirectoryBucket",
            reg("s3express", "bucket/base--euw1-az1--x-s3"),
        )],
        ..case(
            "s3express.amazonaws.com",
            "CreateSession",
            json!({"x-amz-create-session-mode": "ReadOnly"}),
            vec![(
                "s3express:CreateSession",
                vec![reg("s3express", "bucket/base--euw1-az1--x-s3")],
            )],
            "S3 user guide, CloudTrail data event example for directory buckets",
        )
    });
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
        got.entry(n.action.qualified().to_string())
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

/// (action, resources, conditions, extra) of one need.
type NeedRow = (String, Vec<String>, Vec<String>, Option<&'static str>);

/// (action, resource, condition values) of every need, for the extras tests.
fn needs_of(rec: &Value) -> (Class, Vec<NeedRow>) {
    let text = rec.to_string();
    let r: Record = serde_json::from_str(&text).unwrap();
    let m = Mapper::embedded().map(&r);
    let v = m
        .needs
        .iter()
        .map(|n| {
            (
                n.action.qualified().to_string(),
                n.resolved.resources.iter().cloned().collect(),
                n.conditions
                    .iter()
                    .flat_map(|(op, keys)| {
                        keys.iter().flat_map(move |(k, vs)| {
                            vs.iter().map(move |v| format!("{op} {k} {v}"))
                        })
                    })
                    .collect(),
                n.extra,
            )
        })
        .collect();
    (m.class, v)
}

/// One case per row of data/passrole.tsv: (eventSource, eventName, params, role ARN, service).
fn passrole_cases() -> Vec<(&'static str, &'static str, Value, &'static str)> {
    let role = "arn:aws:iam::111122223333:role/passed";
    vec![
        (
            "lambda.amazonaws.com",
            "CreateFunction20150331",
            json!({"functionName": "f", "role": role}),
            "lambda.amazonaws.com",
        ),
        (
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            json!({"functionName": "f", "role": role}),
            "lambda.amazonaws.com",
        ),
        (
            "states.amazonaws.com",
            "CreateStateMachine",
            json!({"name": "sm", "roleArn": role}),
            "states.amazonaws.com",
        ),
        (
            "states.amazonaws.com",
            "UpdateStateMachine",
            json!({"stateMachineArn": reg("states", "stateMachine:sm"), "roleArn": role}),
            "states.amazonaws.com",
        ),
        (
            "glue.amazonaws.com",
            "CreateJob",
            json!({"name": "j", "role": role}),
            "glue.amazonaws.com",
        ),
        (
            "glue.amazonaws.com",
            "CreateCrawler",
            json!({"name": "c", "role": role}),
            "glue.amazonaws.com",
        ),
        (
            "ecs.amazonaws.com",
            "RegisterTaskDefinition",
            json!({"family": "web", "taskRoleArn": role}),
            "ecs-tasks.amazonaws.com",
        ),
        (
            "ecs.amazonaws.com",
            "RegisterTaskDefinition",
            json!({"family": "web", "executionRoleArn": role}),
            "ecs-tasks.amazonaws.com",
        ),
        (
            "ecs.amazonaws.com",
            "RunTask",
            json!({"taskDefinition": "web:3", "overrides": {"taskRoleArn": role}}),
            "ecs-tasks.amazonaws.com",
        ),
        (
            "ecs.amazonaws.com",
            "RunTask",
            json!({"taskDefinition": "web:3", "overrides": {"executionRoleArn": role}}),
            "ecs-tasks.amazonaws.com",
        ),
        (
            "cloudformation.amazonaws.com",
            "CreateStack",
            json!({"stackName": "s", "roleARN": role}),
            "cloudformation.amazonaws.com",
        ),
        (
            "cloudformation.amazonaws.com",
            "UpdateStack",
            json!({"stackName": "s", "roleARN": role}),
            "cloudformation.amazonaws.com",
        ),
        (
            "events.amazonaws.com",
            "PutTargets",
            json!({"rule": "r", "targets": [{"id": "1", "arn": reg("sqs", "q")}, {"id": "2", "arn": reg("states", "stateMachine:sm"), "roleArn": role}]}),
            "events.amazonaws.com",
        ),
        (
            "codebuild.amazonaws.com",
            "CreateProject",
            json!({"name": "p", "serviceRole": role}),
            "codebuild.amazonaws.com",
        ),
        (
            "scheduler.amazonaws.com",
            "CreateSchedule",
            json!({"name": "s", "target": {"arn": reg("lambda", "function:f"), "roleArn": role}}),
            "scheduler.amazonaws.com",
        ),
        (
            "pipes.amazonaws.com",
            "CreatePipe",
            json!({"name": "p", "roleArn": role}),
            "pipes.amazonaws.com",
        ),
        (
            "sagemaker.amazonaws.com",
            "CreateTrainingJob",
            json!({"trainingJobName": "t", "roleArn": role}),
            "sagemaker.amazonaws.com",
        ),
        (
            "sagemaker.amazonaws.com",
            "CreateModel",
            json!({"modelName": "m", "executionRoleArn": role}),
            "sagemaker.amazonaws.com",
        ),
        (
            "sagemaker.amazonaws.com",
            "CreateProcessingJob",
            json!({"processingJobName": "p", "roleArn": role}),
            "sagemaker.amazonaws.com",
        ),
        (
            "sagemaker.amazonaws.com",
            "CreateNotebookInstance",
            json!({"notebookInstanceName": "n", "instanceType": "ml.t3.medium", "roleArn": role}),
            "sagemaker.amazonaws.com",
        ),
        (
            "cloudformation.amazonaws.com",
            "CreateChangeSet",
            json!({"stackName": "s", "changeSetName": "c", "roleARN": role}),
            "cloudformation.amazonaws.com",
        ),
        (
            "cloudformation.amazonaws.com",
            "DeleteStack",
            json!({"stackName": "s", "roleARN": role}),
            "cloudformation.amazonaws.com",
        ),
        (
            "cloudformation.amazonaws.com",
            "CreateStackSet",
            json!({"stackSetName": "ss", "administrationRoleARN": role}),
            "cloudformation.amazonaws.com",
        ),
        (
            "cloudformation.amazonaws.com",
            "UpdateStackSet",
            json!({"stackSetName": "ss", "administrationRoleARN": role}),
            "cloudformation.amazonaws.com",
        ),
        (
            "events.amazonaws.com",
            "PutRule",
            json!({"name": "r", "eventPattern": "{}", "roleArn": role}),
            "events.amazonaws.com",
        ),
        (
            "scheduler.amazonaws.com",
            "UpdateSchedule",
            json!({"name": "s", "target": {"arn": reg("lambda", "function:f"), "roleArn": role}}),
            "scheduler.amazonaws.com",
        ),
        (
            "pipes.amazonaws.com",
            "UpdatePipe",
            json!({"name": "p", "roleArn": role}),
            "pipes.amazonaws.com",
        ),
        (
            "codebuild.amazonaws.com",
            "UpdateProject",
            json!({"name": "p", "serviceRole": role}),
            "codebuild.amazonaws.com",
        ),
        (
            "glue.amazonaws.com",
            "UpdateJob",
            json!({"jobName": "j", "jobUpdate": {"role": role}}),
            "glue.amazonaws.com",
        ),
        (
            "glue.amazonaws.com",
            "UpdateCrawler",
            json!({"name": "c", "role": role}),
            "glue.amazonaws.com",
        ),
        (
            "codepipeline.amazonaws.com",
            "CreatePipeline",
            json!({"pipeline": {"name": "p", "roleArn": role, "stages": []}}),
            "codepipeline.amazonaws.com",
        ),
        (
            "codepipeline.amazonaws.com",
            "UpdatePipeline",
            json!({"pipeline": {"name": "p", "roleArn": role, "stages": []}}),
            "codepipeline.amazonaws.com",
        ),
        (
            "batch.amazonaws.com",
            "CreateComputeEnvironment",
            json!({"computeEnvironmentName": "ce", "type": "MANAGED", "serviceRole": role}),
            "batch.amazonaws.com",
        ),
    ]
}

#[test]
fn every_passrole_row_adds_pass_role_with_the_service_condition() {
    let cases = passrole_cases();
    for (source, name, params, service) in &cases {
        let (class, needs) = needs_of(&record("user:deployer", source, name, params.clone()));
        assert_eq!(class, Class::Mapped, "{name}");
        let pr: Vec<_> = needs.iter().filter(|n| n.0 == "iam:PassRole").collect();
        assert_eq!(pr.len(), 1, "{source} {name}: {needs:?}");
        assert_eq!(pr[0].1, ["arn:aws:iam::111122223333:role/passed"]);
        assert_eq!(
            pr[0].2,
            [format!("StringEquals iam:PassedToService {service}")]
        );
        assert_eq!(pr[0].3, Some("passrole"));
    }
    for row in &Mapper::embedded().tables().passrole {
        let leaf = row.path.rsplit('.').next().unwrap().trim_end_matches("[]");
        let covered = cases.iter().any(|(s, n, p, _)| {
            *s == row.event_source
                && tightrole::mapping::strip_version(n) == row.event_name
                && p.to_string().contains(&format!("\"{leaf}\""))
        });
        assert!(covered, "passrole.tsv line {} has no case", row.line);
    }
    // a denied call passes nothing
    let denied = with(
        record(
            "user:deployer",
            "lambda.amazonaws.com",
            "CreateFunction20150331",
            json!({"functionName": "f", "role": "arn:aws:iam::111122223333:role/passed"}),
        ),
        "errorCode",
        json!("AccessDeniedException"),
    );
    assert!(needs_of(&denied).1.iter().all(|n| n.0 != "iam:PassRole"));
    // a role given by name: with or without a path
    let (_, needs) = needs_of(&record(
        "user:d",
        "glue.amazonaws.com",
        "CreateJob",
        json!({"name": "j", "role": "glue-runner"}),
    ));
    let pr = needs.iter().find(|n| n.0 == "iam:PassRole").unwrap();
    assert_eq!(
        pr.1,
        [
            "arn:aws:iam::111122223333:role/*/glue-runner",
            "arn:aws:iam::111122223333:role/glue-runner"
        ]
    );
}

/// One case per row of data/tag-on-create.tsv: (eventSource, eventName, params, tagging action, resource).
fn tagging_cases() -> Vec<(&'static str, &'static str, Value, &'static str)> {
    let tags = json!({"team": "shop"});
    let list = json!([{"key": "team", "value": "shop"}]);
    vec![
        (
            "lambda.amazonaws.com",
            "CreateFunction20150331",
            json!({"functionName": "f", "tags": tags}),
            "lambda:TagResource",
        ),
        (
            "sqs.amazonaws.com",
            "CreateQueue",
            json!({"queueName": "q", "tags": tags}),
            "sqs:TagQueue",
        ),
        (
            "sns.amazonaws.com",
            "CreateTopic",
            json!({"name": "t", "tags": list}),
            "sns:TagResource",
        ),
        (
            "dynamodb.amazonaws.com",
            "CreateTable",
            json!({"tableName": "t", "tags": list}),
            "dynamodb:TagResource",
        ),
        (
            "secretsmanager.amazonaws.com",
            "CreateSecret",
            json!({"name": "s", "tags": list}),
            "secretsmanager:TagResource",
        ),
        (
            "logs.amazonaws.com",
            "CreateLogGroup",
            json!({"logGroupName": "/g", "tags": tags}),
            "logs:TagResource",
        ),
        (
            "states.amazonaws.com",
            "CreateStateMachine",
            json!({"name": "sm", "tags": list}),
            "states:TagResource",
        ),
        (
            "kms.amazonaws.com",
            "CreateKey",
            json!({"tags": list}),
            "kms:TagResource",
        ),
        (
            "iam.amazonaws.com",
            "CreateRole",
            json!({"roleName": "r", "tags": list}),
            "iam:TagRole",
        ),
        (
            "iam.amazonaws.com",
            "CreateUser",
            json!({"userName": "u", "tags": list}),
            "iam:TagUser",
        ),
        (
            "iam.amazonaws.com",
            "CreatePolicy",
            json!({"policyName": "p", "tags": list}),
            "iam:TagPolicy",
        ),
        (
            "ecr.amazonaws.com",
            "CreateRepository",
            json!({"repositoryName": "r", "tags": list}),
            "ecr:TagResource",
        ),
        (
            "kinesis.amazonaws.com",
            "CreateStream",
            json!({"streamName": "s", "tags": tags}),
            "kinesis:AddTagsToStream",
        ),
        (
            "events.amazonaws.com",
            "CreateEventBus",
            json!({"name": "b", "tags": list}),
            "events:TagResource",
        ),
        (
            "events.amazonaws.com",
            "PutRule",
            json!({"name": "r", "tags": list}),
            "events:TagResource",
        ),
        (
            "ssm.amazonaws.com",
            "PutParameter",
            json!({"name": "/p", "type": "String", "tags": list}),
            "ssm:AddTagsToResource",
        ),
        (
            "ec2.amazonaws.com",
            "RunInstances",
            json!({"tagSpecificationSet": {"items": [{"resourceType": "instance"}]}}),
            "ec2:CreateTags",
        ),
        (
            "ec2.amazonaws.com",
            "CreateVolume",
            json!({"tagSpecificationSet": {"items": [{"resourceType": "volume"}]}}),
            "ec2:CreateTags",
        ),
        (
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": "arn:aws:iam::111122223333:role/r", "roleSessionName": "s", "tags": [{"key": "team", "value": "shop"}]}),
            "sts:TagSession",
        ),
        (
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": "arn:aws:iam::111122223333:role/r", "roleSessionName": "s", "transitiveTagKeys": ["team"]}),
            "sts:TagSession",
        ),
        (
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": "arn:aws:iam::111122223333:role/r", "roleSessionName": "s", "sourceIdentity": "alice"}),
            "sts:SetSourceIdentity",
        ),
        (
            "ec2.amazonaws.com",
            "CreateSecurityGroup",
            json!({"groupName": "g", "tagSpecificationSet": {"items": [{}]}}),
            "ec2:CreateTags",
        ),
    ]
}

#[test]
fn every_tag_on_create_row_adds_the_tagging_action() {
    let cases = tagging_cases();
    for (source, name, params, action) in &cases {
        let (_, needs) = needs_of(&record("user:deployer", source, name, params.clone()));
        let tag = needs.iter().find(|n| n.0 == *action);
        assert!(
            tag.is_some_and(|t| matches!(t.3, Some("tag-on-create" | "set-on-create"))),
            "{source} {name}: {needs:?}"
        );
        // without tags, no tagging action
        let mut untagged = params.clone();
        for k in [
            "tags",
            "tagSpecificationSet",
            "transitiveTagKeys",
            "sourceIdentity",
        ] {
            untagged.as_object_mut().unwrap().remove(k);
        }
        let (_, needs) = needs_of(&record("user:deployer", source, name, untagged));
        assert!(
            needs.iter().all(|n| n.0 != *action),
            "{source} {name} untagged: {needs:?}"
        );
    }
    for row in &Mapper::embedded().tables().tagging {
        assert!(
            cases.iter().any(|(s, n, _, a)| *s == row.event_source
                && tightrole::mapping::strip_version(n) == row.event_name
                && *a == row.action),
            "tag-on-create.tsv line {} has no case",
            row.line
        );
    }
    // AssumeRole's session tags and source identity are on the role assumed
    let (_, needs) = needs_of(&record(
        "user:d",
        "sts.amazonaws.com",
        "AssumeRole",
        json!({"roleArn": "arn:aws:iam::111122223333:role/r", "roleSessionName": "s", "tags": [{"key": "a", "value": "b"}], "sourceIdentity": "alice"}),
    ));
    for a in ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"] {
        assert_eq!(
            needs.iter().find(|n| n.0 == a).map(|n| n.1.clone()),
            Some(vec!["arn:aws:iam::111122223333:role/r".to_string()]),
            "{a}: {needs:?}"
        );
    }
    // the tag action is scoped to the created resource
    let (_, needs) = needs_of(&record(
        "user:d",
        "sqs.amazonaws.com",
        "CreateQueue",
        json!({"queueName": "q", "tags": {"a": "b"}}),
    ));
    assert_eq!(
        needs.iter().find(|n| n.0 == "sqs:TagQueue").unwrap().1,
        [reg("sqs", "q")]
    );
}

#[test]
fn kms_used_by_a_service_is_granted_through_that_service() {
    // The KMS record S3 writes when it decrypts an SSE-KMS object for the caller.
    let rec = identity_with(
        with(
            record(
                "fn:thumb-role/thumbnailer",
                "kms.amazonaws.com",
                "Decrypt",
                json!({"encryptionContext": {"aws:s3:arn": "arn:aws:s3:::b/k"}}),
            ),
            "resources",
            json!([{"type": "AWS::KMS::Key", "ARN": reg("kms", "key/k1")}]),
        ),
        "invokedBy",
        json!("s3.amazonaws.com"),
    );
    let (class, needs) = needs_of(&rec);
    assert_eq!(class, Class::ServiceMade);
    assert_eq!(
        needs,
        vec![(
            "kms:Decrypt".to_string(),
            vec![reg("kms", "key/k1")],
            vec!["StringEquals kms:ViaService s3.eu-west-1.amazonaws.com".to_string()],
            None
        )]
    );
    // An S3 write whose response shows SSE-KMS: the caller also needs kms:GenerateDataKey, via S3.
    let put = with(
        record(
            "fn:thumb-role/thumbnailer",
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": "b", "key": "k"}),
        ),
        "responseElements",
        json!({"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": reg("kms", "key/k1")}),
    );
    let (class, needs) = needs_of(&put);
    assert_eq!(class, Class::Mapped);
    assert!(
        needs.contains(&(
            "kms:GenerateDataKey".to_string(),
            vec![reg("kms", "key/k1")],
            vec!["StringEquals kms:ViaService s3.eu-west-1.amazonaws.com".to_string()],
            Some("sse-kms")
        )),
        "{needs:?}"
    );
    let get = with(
        record(
            "fn:thumb-role/thumbnailer",
            "s3.amazonaws.com",
            "GetObject",
            json!({"bucketName": "b", "key": "k"}),
        ),
        "responseElements",
        json!({"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "k1"}),
    );
    let (_, needs) = needs_of(&get);
    assert!(
        needs
            .iter()
            .any(|n| n.0 == "kms:Decrypt" && n.1 == [reg("kms", "key/k1")]),
        "{needs:?}"
    );
    // A plain SSE-S3 object needs no KMS.
    let sse_s3 = with(
        record(
            "fn:r/f",
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": "b", "key": "k"}),
        ),
        "responseElements",
        json!({"x-amz-server-side-encryption": "AES256"}),
    );
    assert_eq!(needs_of(&sse_s3).1.len(), 1);
}

/// One case per row of data/cloudtrail-only-events.tsv: (eventSource, eventName, class).
fn cloudtrail_only_cases() -> Vec<(&'static str, &'static str, Class)> {
    vec![
        ("cognito-idp.amazonaws.com", "Login_GET", Class::NotApiCall),
        ("cognito-idp.amazonaws.com", "Login_POST", Class::NotApiCall),
        (
            "sso.amazonaws.com",
            "GetRoleCredentials",
            Class::PermissionLess,
        ),
        ("sso.amazonaws.com", "ListAccounts", Class::PermissionLess),
        (
            "sso.amazonaws.com",
            "ListAccountRoles",
            Class::PermissionLess,
        ),
        ("sso.amazonaws.com", "Logout", Class::PermissionLess),
        ("sso.amazonaws.com", "Authenticate", Class::NotApiCall),
        ("sso.amazonaws.com", "Federate", Class::NotApiCall),
        (
            "portal.sso.amazonaws.com",
            "GetRoleCredentials",
            Class::PermissionLess,
        ),
        (
            "portal.sso.amazonaws.com",
            "ListAccounts",
            Class::PermissionLess,
        ),
        (
            "portal.sso.amazonaws.com",
            "ListAccountRoles",
            Class::PermissionLess,
        ),
        ("portal.sso.amazonaws.com", "Logout", Class::PermissionLess),
        (
            "sts.amazonaws.com",
            "AssumeRoleWithWebIdentity",
            Class::PermissionLess,
        ),
        (
            "sts.amazonaws.com",
            "AssumeRoleWithSAML",
            Class::PermissionLess,
        ),
    ]
}

#[test]
fn every_cloudtrail_only_name_is_classified_and_granted_nothing() {
    let cases = cloudtrail_only_cases();
    for (source, name, class) in &cases {
        let rec = record("role:r/s", source, name, json!({}));
        assert_eq!(map(&rec), (*class, BTreeMap::new()), "{source} {name}");
        // denied stays denied
        let denied = with(rec, "errorCode", json!("AccessDenied"));
        assert_eq!(map(&denied).0, Class::Denied, "{source} {name} denied");
    }
    for row in Mapper::embedded().tables().all_cloudtrail_only() {
        let covered = cases.iter().any(|(s, n, _)| {
            *s == row.event_source
                && match row.event_name.strip_prefix('*') {
                    Some(suffix) => n.ends_with(suffix),
                    None => *n == row.event_name,
                }
        });
        assert!(
            covered,
            "cloudtrail-only-events.tsv line {} has no case",
            row.line
        );
    }
    // a real operation of the same service is not swallowed by a pattern row
    let (class, got) = map(&record(
        "role:r/s",
        "cognito-idp.amazonaws.com",
        "AdminGetUser",
        json!({"userPoolId": "eu-west-1_AbCdEf"}),
    ));
    assert_eq!(class, Class::Mapped);
    assert!(got.contains_key("cognito-idp:AdminGetUser"));
}

/// The demo's `assistant` function: Bedrock, the Aurora Data API and Session Manager, as the
/// bundled trail records them, map to these actions on these resources.
#[test]
fn the_demo_assistant_maps_to_the_right_actions_and_resources() {
    use std::io::Read;
    let profile = "eu.anthropic.claude-3-7-sonnet-20250219-v1:0";
    let cluster = reg("rds", "cluster:shop-db");
    let secret = reg(
        "secretsmanager",
        "secret:rds-db-credentials/shop-db/reader-Qw12Er",
    );
    let data_api = |a: &str| {
        BTreeMap::from([
            (a.to_string(), BTreeSet::from([cluster.clone()])),
            (
                "secretsmanager:GetSecretValue".to_string(),
                BTreeSet::from([secret.clone()]),
            ),
        ])
    };
    let one = |a: &str, r: &[String]| {
        BTreeMap::from([(a.to_string(), r.iter().cloned().collect::<BTreeSet<_>>())])
    };
    let want: BTreeMap<(&str, &str), BTreeMap<String, BTreeSet<String>>> = BTreeMap::from([
        (
            ("bedrock.amazonaws.com", "Converse"),
            one(
                "bedrock:InvokeModel",
                &[
                    reg("bedrock", &format!("inference-profile/{profile}")),
                    "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-7-sonnet-20250219-v1:0"
                        .to_string(),
                ],
            ),
        ),
        (
            ("bedrock.amazonaws.com", "InvokeModel"),
            one(
                "bedrock:InvokeModel",
                &[
                    "arn:aws:bedrock:eu-west-1::foundation-model/amazon.titan-embed-text-v2:0"
                        .to_string(),
                ],
            ),
        ),
        (
            ("rdsdata.amazonaws.com", "ExecuteStatement"),
            data_api("rds-data:ExecuteStatement"),
        ),
        (
            ("rdsdata.amazonaws.com", "BeginTransaction"),
            data_api("rds-data:BeginTransaction"),
        ),
        (
            ("rdsdata.amazonaws.com", "CommitTransaction"),
            data_api("rds-data:CommitTransaction"),
        ),
        (
            ("ssm.amazonaws.com", "StartSession"),
            one(
                "ssm:StartSession",
                &[
                    reg("ec2", "instance/i-0a1b2c3d4e5f60718"),
                    reg("ssm", "managed-instance/i-0a1b2c3d4e5f60718"),
                ],
            ),
        ),
        (
            ("ssm.amazonaws.com", "OpenDataChannel"),
            one("ssmmessages:OpenDataChannel", &["*".to_string()]),
        ),
    ]);
    let mut seen = BTreeSet::new();
    for e in walkdir::WalkDir::new(common::demo_trail()) {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(e.path()).unwrap())
            .read_to_end(&mut text)
            .unwrap();
        let doc: Value = serde_json::from_slice(&text).unwrap();
        for rec in doc["Records"].as_array().unwrap() {
            if !rec["userIdentity"]["arn"]
                .as_str()
                .is_some_and(|a| a.ends_with("assumed-role/assistant-role/assistant"))
            {
                continue;
            }
            let key = (
                rec["eventSource"].as_str().unwrap(),
                rec["eventName"].as_str().unwrap(),
            );
            if key.0 == "logs.amazonaws.com" {
                continue;
            }
            let (class, got) = map(rec);
            assert_eq!(class, Class::Mapped, "{key:?}");
            assert_eq!(Some(&got), want.get(&key), "{key:?}");
            seen.insert((key.0.to_string(), key.1.to_string()));
        }
    }
    assert_eq!(
        seen.len(),
        want.len(),
        "the demo has every assistant call: {seen:?}"
    );
}

/// A call in a region of another partition needs that partition's ARNs: a table in the European
/// Sovereign Cloud is `arn:aws-eusc:…`, and a policy naming `arn:aws:…` would allow nothing there.
#[test]
fn resources_take_the_partition_of_the_calls_region() {
    for (region, partition) in [
        ("eu-west-1", "aws"),
        ("cn-northwest-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("eusc-de-east-1", "aws-eusc"),
        ("eu-isoe-west-1", "aws-iso-e"),
        ("us-isof-south-1", "aws-iso-f"),
    ] {
        let rec = with(
            record(
                "fn:app-role/app",
                "dynamodb.amazonaws.com",
                "GetItem",
                json!({"tableName": "orders"}),
            ),
            "awsRegion",
            json!(region),
        );
        let (class, got) = map(&rec);
        assert_eq!(class, Class::Mapped, "{region}");
        let want = format!("arn:{partition}:dynamodb:{region}:111122223333:table/orders");
        assert_eq!(
            got.get("dynamodb:GetItem"),
            Some(&BTreeSet::from([want])),
            "{region}"
        );
    }
}
