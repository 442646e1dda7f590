//! The demo: a small serverless shop in one account over two weeks.
//!
//! Eight functions. `orders-api` and `orders-worker` share `shop-api-role`. Data events for S3,
//! DynamoDB, Lambda, SNS and SQS. `payments` is denied a `dynamodb:DeleteItem`. AWS makes
//! calls on the functions' behalf (KMS via S3, SSM and Secrets Manager; environment-variable
//! decryption by Lambda). `assistant` calls the calls authorized by another action: Bedrock's
//! Converse through a cross-Region inference profile and InvokeModel on a foundation model, the
//! Aurora Data API (`rdsdata.amazonaws.com`), and a Session Manager session. Noise: the
//! `deploy-bot` user, a console sign-in, a CI role session, and AWS assuming the execution roles.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::{Call, Caller, Rng};

pub const DEMO_ACCOUNT: &str = "111122223333";
pub const DEMO_REGION: &str = "eu-west-1";
const DAYS: i64 = 14;

const NODE_UA: &str = "aws-sdk-js/3.654.0 ua/2.1 os/linux#5.10.227-239.884.amzn2.x86_64 lang/js md/nodejs#20.17.0 api/dynamodb#3.654.0 exec-env/AWS_Lambda_nodejs20.x";
const PY_UA: &str = "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#5.10.227-239.884.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.35.36";
/// A custom user agent without the Lambda marker: these functions are recognised from the
/// trail itself (their CreateFunction, or an Invoke of them).
const CUSTOM_UA: &str = "shop-internal/2.3 (+https://shop.example)";
const CLI_UA: &str = "aws-cli/2.18.4 md/awscrt#0.22.0 ua/2.0 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6 md/installer#exe cfg/retry-mode#standard md/command#lambda";

fn arn(service: &str, rest: &str) -> String {
    format!("arn:aws:{service}:{DEMO_REGION}:{DEMO_ACCOUNT}:{rest}")
}

struct Day<'r> {
    start: DateTime<Utc>,
    rng: &'r mut Rng,
    calls: Vec<Call>,
}

impl Day<'_> {
    fn at(&mut self) -> DateTime<Utc> {
        self.start + Duration::seconds(self.rng.below(86_400) as i64)
    }

    fn f(&self, name: &str, role: &str) -> Caller {
        Caller::Function {
            name: name.into(),
            role: role.into(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        caller: Caller,
        ua: &str,
        source: &'static str,
        name: &str,
        params: Value,
        resources: Vec<(&'static str, String)>,
        data: bool,
        read_only: bool,
    ) -> &mut Call {
        let t = self.at();
        let mut c = Call::new(t, caller, source, name, params);
        c.user_agent = ua.to_string();
        c.resources = resources;
        c.data_event = data;
        c.read_only = read_only;
        self.calls.push(c);
        let last = self.calls.len() - 1;
        &mut self.calls[last]
    }

    fn service_kms(&mut self, caller: Caller, via: &str, action: &str, key: &str, context: Value) {
        let t = self.at();
        let mut c = Call::new(
            t,
            caller,
            "kms.amazonaws.com",
            action,
            json!({"encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
        );
        c.invoked_by = Some(via.to_string());
        c.resources = vec![("AWS::KMS::Key", arn("kms", &format!("key/{key}")))];
        c.read_only = action == "Decrypt";
        self.calls.push(c);
    }
}

const ORDERS_KEY: &str = "3f1c9a52-7d44-4b7e-9c1a-2a6f0e5d8b11";
const UPLOADS_KEY: &str = "8a2e4c77-1b3d-4f59-a6e0-9d7c5b3a1f22";
const SECRETS_KEY: &str = "c5d1e8f3-6a2b-4c9d-8e7f-1a3b5c7d9e33";

/// Every demo record with its time, in time order.
pub fn demo_records(rng: &mut Rng) -> Vec<(DateTime<Utc>, Value)> {
    demo_days(rng, 0..DAYS)
}

/// The second period of the demo, for drift reports: the week after the first two. `orders-api`
/// starts reading a new bucket, `orders-worker` no longer reads orders back (since day 7),
/// `thumbnailer` hits a burst of denied deletes.
pub fn demo_period2_records(rng: &mut Rng) -> Vec<(DateTime<Utc>, Value)> {
    demo_days(rng, DAYS..DAYS + 7)
}

fn demo_days(rng: &mut Rng, days: std::ops::Range<i64>) -> Vec<(DateTime<Utc>, Value)> {
    let first = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let mut calls = Vec::new();
    for d in days.clone() {
        let mut day = Day {
            start: first + Duration::days(d),
            rng,
            calls: Vec::new(),
        };
        shop_day(&mut day, d);
        calls.append(&mut day.calls);
    }
    calls.sort_by_key(|c| c.time);
    let mut records: Vec<(DateTime<Utc>, Value)> = calls
        .iter()
        .map(|c| (c.time, c.record(DEMO_ACCOUNT, DEMO_REGION, rng)))
        .collect();
    // The assistant came later: its calls draw from their own generator, so that every record
    // of the shop stays what it was.
    let mut own = Rng::new(ASSISTANT_SEED ^ days.start.unsigned_abs());
    let mut extra = Vec::new();
    for d in days {
        let mut day = Day {
            start: first + Duration::days(d),
            rng: &mut own,
            calls: Vec::new(),
        };
        assistant_day(&mut day, d);
        extra.append(&mut day.calls);
    }
    extra.sort_by_key(|c| c.time);
    records.extend(
        extra
            .iter()
            .map(|c| (c.time, c.record(DEMO_ACCOUNT, DEMO_REGION, &mut own))),
    );
    // Stable: the shop's records keep their order among themselves.
    records.sort_by_key(|(t, _)| *t);
    records
}

const ASSISTANT_SEED: u64 = 0x6173_7369_7374_616e;
pub const ASSISTANT_PROFILE: &str = "eu.anthropic.claude-3-7-sonnet-20250219-v1:0";
pub const ASSISTANT_EMBEDDINGS: &str = "amazon.titan-embed-text-v2:0";
pub const ASSISTANT_INSTANCE: &str = "i-0a1b2c3d4e5f60718";

/// `assistant` (assistant-role): answers questions with Bedrock, reads the shop's Aurora
/// database through the Data API, and opens a Session Manager session to the reporting host
/// every third day.
fn assistant_day(day: &mut Day<'_>, d: i64) {
    let me = day.f("assistant", "assistant-role");
    // a call of its code: from the Python SDK, a management event (`read_only` for a read)
    let call = |day: &mut Day<'_>, source, name, params, read_only| {
        day.call(
            me.clone(),
            PY_UA,
            source,
            name,
            params,
            vec![],
            false,
            read_only,
        );
    };
    let cluster = arn("rds", "cluster:shop-db");
    let secret = arn(
        "secretsmanager",
        "secret:rds-db-credentials/shop-db/reader-Qw12Er",
    );
    for _ in 0..(3 + day.rng.below(4)) {
        call(
            day,
            "bedrock.amazonaws.com",
            "Converse",
            json!({"modelId": ASSISTANT_PROFILE}),
            true,
        );
        call(
            day,
            "rdsdata.amazonaws.com",
            "ExecuteStatement",
            json!({"resourceArn": cluster, "secretArn": secret, "database": "**********", "sql": "**********", "includeResultMetadata": false, "parameters": []}),
            false,
        );
    }
    for _ in 0..2 {
        call(
            day,
            "bedrock.amazonaws.com",
            "InvokeModel",
            json!({"modelId": ASSISTANT_EMBEDDINGS}),
            true,
        );
    }
    call(
        day,
        "rdsdata.amazonaws.com",
        "BeginTransaction",
        json!({"resourceArn": cluster, "secretArn": secret, "database": "**********"}),
        false,
    );
    let tx = day.rng.token(24);
    call(
        day,
        "rdsdata.amazonaws.com",
        "CommitTransaction",
        json!({"resourceArn": cluster, "secretArn": secret, "transactionId": tx}),
        false,
    );
    if d % 3 == 0 {
        let session = format!("assistant-{}", day.rng.token(17).to_lowercase());
        call(
            day,
            "ssm.amazonaws.com",
            "StartSession",
            json!({"target": ASSISTANT_INSTANCE}),
            false,
        );
        call(
            day,
            "ssm.amazonaws.com",
            "OpenDataChannel",
            json!({"sessionId": session}),
            false,
        );
    }
    let stream = format!(
        "{}/[$LATEST]{}",
        day.start.format("%Y/%m/%d"),
        day.rng.token(32).to_lowercase()
    );
    day.call(
        me,
        "awslambda-worker",
        "logs.amazonaws.com",
        "CreateLogStream",
        json!({"logGroupName": "/aws/lambda/assistant", "logStreamName": stream}),
        vec![],
        false,
        false,
    );
}

fn shop_day(day: &mut Day<'_>, d: i64) {
    let date = day.start.format("%Y/%m/%d").to_string();
    let orders_table = arn("dynamodb", "table/orders");
    let payments_table = arn("dynamodb", "table/payments");

    // --- orders-api (shop-api-role, shared) ---
    let api = day.f("orders-api", "shop-api-role");
    for _ in 0..(20 + day.rng.below(10)) {
        let id = day.rng.uuid();
        day.call(api.clone(), NODE_UA, "dynamodb.amazonaws.com", "PutItem",
            json!({"tableName": "orders", "key": {"pk": format!("ORDER#{id}")}, "conditionExpression": "attribute_not_exists(pk)"}),
            vec![("AWS::DynamoDB::Table", orders_table.clone())], true, false);
        let q = day.rng.uuid();
        day.call(api.clone(), NODE_UA, "sqs.amazonaws.com", "SendMessage",
            json!({"queueUrl": format!("https://sqs.{DEMO_REGION}.amazonaws.com/{DEMO_ACCOUNT}/order-events"), "messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS", "messageDeduplicationId": q}),
            vec![("AWS::SQS::Queue", arn("sqs", "order-events"))], true, false);
    }
    for _ in 0..(25 + day.rng.below(10)) {
        let id = day.rng.uuid();
        day.call(api.clone(), NODE_UA, "dynamodb.amazonaws.com", "GetItem",
            json!({"tableName": "orders", "key": {"pk": format!("ORDER#{id}")}, "consistentRead": false}),
            vec![("AWS::DynamoDB::Table", orders_table.clone())], true, true);
    }
    for _ in 0..(8 + day.rng.below(5)) {
        day.call(api.clone(), NODE_UA, "dynamodb.amazonaws.com", "Query",
            json!({"tableName": "orders", "indexName": "by-customer", "keyConditionExpression": "customer = :c"}),
            vec![("AWS::DynamoDB::Table", orders_table.clone())], true, true);
    }
    day.call(
        api.clone(),
        NODE_UA,
        "ssm.amazonaws.com",
        "GetParameter",
        json!({"name": "/shop/prod/config"}),
        vec![],
        false,
        true,
    );
    let c = day.call(api.clone(), "lambda.amazonaws.com", "kms.amazonaws.com", "Decrypt",
        json!({"encryptionContext": {"LambdaFunctionName": "orders-api"}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
        vec![("AWS::KMS::Key", arn("kms", &format!("key/{ORDERS_KEY}")))], false, true);
    c.invoked_by = Some("lambda.amazonaws.com".into());

    // --- orders-worker (shop-api-role, shared) ---
    let worker = day.f("orders-worker", "shop-api-role");
    for _ in 0..(12 + day.rng.below(6)) {
        let id = day.rng.uuid();
        day.call(worker.clone(), PY_UA, "dynamodb.amazonaws.com", "UpdateItem",
            json!({"tableName": "orders", "key": {"pk": format!("ORDER#{id}")}, "updateExpression": "SET #s = :s"}),
            vec![("AWS::DynamoDB::Table", orders_table.clone())], true, false);
        day.call(worker.clone(), PY_UA, "sns.amazonaws.com", "Publish",
            json!({"topicArn": arn("sns", "order-notifications"), "message": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            vec![("AWS::SNS::Topic", arn("sns", "order-notifications"))], true, false);
    }
    // Lambda's event-source mapping polls the queue for the worker with its role.
    let queue_url = format!("https://sqs.{DEMO_REGION}.amazonaws.com/{DEMO_ACCOUNT}/order-events");
    for _ in 0..(4 + day.rng.below(3)) {
        day.call(
            worker.clone(),
            "lambda.amazonaws.com",
            "sqs.amazonaws.com",
            "ReceiveMessage",
            json!({"queueUrl": queue_url, "maxNumberOfMessages": 10, "waitTimeSeconds": 20}),
            vec![("AWS::SQS::Queue", arn("sqs", "order-events"))],
            true,
            true,
        );
        day.call(
            worker.clone(),
            "lambda.amazonaws.com",
            "sqs.amazonaws.com",
            "DeleteMessageBatch",
            json!({"queueUrl": queue_url}),
            vec![("AWS::SQS::Queue", arn("sqs", "order-events"))],
            true,
            false,
        );
    }
    // The worker stopped reading orders back after the first week.
    if d < 7 {
        for _ in 0..3 {
            day.call(
                worker.clone(),
                PY_UA,
                "dynamodb.amazonaws.com",
                "GetItem",
                json!({"tableName": "orders", "key": {"pk": "ORDER#latest"}}),
                vec![("AWS::DynamoDB::Table", orders_table.clone())],
                true,
                true,
            );
        }
    }

    // --- thumbnailer ---
    let thumb = day.f("thumbnailer", "thumbnailer-role");
    let bucket = format!("shop-uploads-{DEMO_ACCOUNT}");
    for _ in 0..(6 + day.rng.below(4)) {
        let img = day.rng.uuid();
        let key = format!("uploads/{date}/{img}.jpg");
        let thumb_key = format!("thumbnails/{date}/{img}.jpg");
        day.call(thumb.clone(), NODE_UA, "s3.amazonaws.com", "GetObject",
            json!({"bucketName": bucket, "key": key, "Host": format!("{bucket}.s3.{DEMO_REGION}.amazonaws.com")}),
            vec![("AWS::S3::Object", format!("arn:aws:s3:::{bucket}/{key}")), ("AWS::S3::Bucket", format!("arn:aws:s3:::{bucket}"))],
            true, true);
        day.service_kms(
            thumb.clone(),
            "s3.amazonaws.com",
            "Decrypt",
            UPLOADS_KEY,
            json!({"aws:s3:arn": format!("arn:aws:s3:::{bucket}/{key}")}),
        );
        day.call(thumb.clone(), NODE_UA, "s3.amazonaws.com", "PutObject",
            json!({"bucketName": bucket, "key": thumb_key, "x-amz-server-side-encryption": "aws:kms"}),
            vec![("AWS::S3::Object", format!("arn:aws:s3:::{bucket}/{thumb_key}")), ("AWS::S3::Bucket", format!("arn:aws:s3:::{bucket}"))],
            true, false);
        day.service_kms(
            thumb.clone(),
            "s3.amazonaws.com",
            "GenerateDataKey",
            UPLOADS_KEY,
            json!({"aws:s3:arn": format!("arn:aws:s3:::{bucket}/{thumb_key}")}),
        );
    }
    let img = day.rng.uuid();
    day.call(
        thumb.clone(),
        NODE_UA,
        "s3.amazonaws.com",
        "HeadObject",
        json!({"bucketName": bucket, "key": format!("uploads/{date}/{img}.jpg")}),
        vec![
            (
                "AWS::S3::Object",
                format!("arn:aws:s3:::{bucket}/uploads/{date}/{img}.jpg"),
            ),
            ("AWS::S3::Bucket", format!("arn:aws:s3:::{bucket}")),
        ],
        true,
        true,
    );

    // Second period: a new behaviour and a denied burst.
    if d >= DAYS {
        for _ in 0..3 {
            let key = format!("exports/{}.csv", day.rng.token(10).to_lowercase());
            day.call(
                api.clone(),
                NODE_UA,
                "s3.amazonaws.com",
                "GetObject",
                json!({"bucketName": "shop-exports-111122223333", "key": key}),
                vec![(
                    "AWS::S3::Object",
                    format!("arn:aws:s3:::shop-exports-111122223333/{key}"),
                )],
                true,
                true,
            );
        }
        if d == DAYS + 2 {
            for _ in 0..12 {
                let key = format!("uploads/{date}/{}.jpg", day.rng.uuid());
                let c = day.call(
                    thumb.clone(),
                    NODE_UA,
                    "s3.amazonaws.com",
                    "DeleteObject",
                    json!({"bucketName": bucket, "key": key}),
                    vec![("AWS::S3::Object", format!("arn:aws:s3:::{bucket}/{key}"))],
                    true,
                    false,
                );
                c.error = Some(("AccessDenied".into(), "Access Denied".into()));
            }
        }
    }

    // --- payments ---
    let pay = day.f("payments", "payments-role");
    for _ in 0..3 {
        day.call(
            pay.clone(),
            NODE_UA,
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": "prod/payments/stripe"}),
            vec![],
            false,
            true,
        );
        day.service_kms(
            pay.clone(),
            "secretsmanager.amazonaws.com",
            "Decrypt",
            SECRETS_KEY,
            json!({"SecretARN": arn("secretsmanager", "secret:prod/payments/stripe-Xy12Ab")}),
        );
    }
    for i in 0..(8 + day.rng.below(4)) {
        let id = day.rng.uuid();
        let c = day.call(pay.clone(), NODE_UA, "dynamodb.amazonaws.com", "PutItem",
            json!({"tableName": "payments", "key": {"pk": format!("PAY#{id}")}, "conditionExpression": "attribute_not_exists(pk)"}),
            vec![("AWS::DynamoDB::Table", payments_table.clone())], true, false);
        if i == 0 {
            // Failed after authorization: still usage.
            c.error = Some((
                "ConditionalCheckFailedException".into(),
                "The conditional request failed".into(),
            ));
        }
    }
    if d == 8 {
        for _ in 0..3 {
            let c = day.call(
                pay.clone(),
                NODE_UA,
                "dynamodb.amazonaws.com",
                "DeleteItem",
                json!({"tableName": "payments", "key": {"pk": "PAY#refund-test"}}),
                vec![("AWS::DynamoDB::Table", payments_table.clone())],
                true,
                false,
            );
            c.error = Some((
                "AccessDeniedException".into(),
                format!(
                    "User: arn:aws:sts::{DEMO_ACCOUNT}:assumed-role/payments-role/payments is not authorized to perform: dynamodb:DeleteItem on resource: {payments_table} because no identity-based policy allows the dynamodb:DeleteItem action"
                ),
            ));
        }
    }
    day.call(
        pay.clone(),
        NODE_UA,
        "sts.amazonaws.com",
        "GetCallerIdentity",
        json!({}),
        vec![],
        false,
        true,
    );

    // --- reports-nightly (custom UA: recognised because deploy-bot invokes it) ---
    let rep = day.f("reports-nightly", "reports-role");
    let reports = format!("shop-reports-{DEMO_ACCOUNT}");
    let day_key = format!("daily/{}.csv", day.start.format("%Y-%m-%d"));
    day.call(
        rep.clone(),
        CUSTOM_UA,
        "dynamodb.amazonaws.com",
        "Scan",
        json!({"tableName": "orders", "select": "ALL_ATTRIBUTES"}),
        vec![("AWS::DynamoDB::Table", orders_table.clone())],
        true,
        true,
    );
    day.call(
        rep.clone(),
        CUSTOM_UA,
        "s3.amazonaws.com",
        "PutObject",
        json!({"bucketName": reports, "key": day_key}),
        vec![
            (
                "AWS::S3::Object",
                format!("arn:aws:s3:::{reports}/{day_key}"),
            ),
            ("AWS::S3::Bucket", format!("arn:aws:s3:::{reports}")),
        ],
        true,
        false,
    );
    day.call(rep.clone(), CUSTOM_UA, "s3.amazonaws.com", "CopyObject",
        json!({"bucketName": reports, "key": "latest.csv", "x-amz-copy-source": format!("{reports}/{day_key}")}),
        vec![("AWS::S3::Object", format!("arn:aws:s3:::{reports}/latest.csv")), ("AWS::S3::Bucket", format!("arn:aws:s3:::{reports}"))],
        true, false);
    if d < DAYS {
        // the second period no longer lists the reports
        day.call(
            rep.clone(),
            CUSTOM_UA,
            "s3.amazonaws.com",
            "ListObjectsV2",
            json!({"bucketName": reports, "prefix": "daily/", "list-type": "2"}),
            vec![("AWS::S3::Bucket", format!("arn:aws:s3:::{reports}"))],
            true,
            true,
        );
    }

    // --- auth-authorizer ---
    let auth = day.f("auth-authorizer", "authorizer-role");
    for _ in 0..4 {
        day.call(
            auth.clone(),
            NODE_UA,
            "ssm.amazonaws.com",
            "GetParameter",
            json!({"name": "/shop/prod/jwt-secret", "withDecryption": true}),
            vec![],
            false,
            true,
        );
        day.service_kms(
            auth.clone(),
            "ssm.amazonaws.com",
            "Decrypt",
            SECRETS_KEY,
            json!({"PARAMETER_ARN": arn("ssm", "parameter/shop/prod/jwt-secret")}),
        );
    }

    // --- notifier (custom UA: recognised from its CreateFunction) ---
    let notify = day.f("notifier", "notifier-role");
    for _ in 0..(3 + day.rng.below(3)) {
        day.call(notify.clone(), CUSTOM_UA, "email.amazonaws.com", "SendEmail",
            json!({"source": "orders@shop.example", "destination": {"toAddresses": ["HIDDEN_DUE_TO_SECURITY_REASONS"]}}),
            vec![], false, false);
    }
    // Each execution environment creates its log stream with the function's role.
    for (fname, role) in [
        ("orders-api", "shop-api-role"),
        ("orders-worker", "shop-api-role"),
        ("thumbnailer", "thumbnailer-role"),
        ("payments", "payments-role"),
        ("reports-nightly", "reports-role"),
        ("auth-authorizer", "authorizer-role"),
        ("notifier", "notifier-role"),
    ] {
        let stream = format!("{date}/[$LATEST]{}", day.rng.token(32).to_lowercase());
        let caller = day.f(fname, role);
        let group = format!("/aws/lambda/{fname}");
        day.call(
            caller,
            "awslambda-worker",
            "logs.amazonaws.com",
            "CreateLogStream",
            json!({"logGroupName": group, "logStreamName": stream}),
            vec![],
            false,
            false,
        );
    }

    // --- noise ---
    for (fname, role) in [
        ("orders-api", "shop-api-role"),
        ("thumbnailer", "thumbnailer-role"),
        ("payments", "payments-role"),
    ] {
        let t = day.at();
        let mut c = Call::new(
            t,
            Caller::Service("lambda.amazonaws.com".into()),
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": format!("arn:aws:iam::{DEMO_ACCOUNT}:role/{role}"), "roleSessionName": fname}),
        );
        c.resources = vec![(
            "AWS::IAM::Role",
            format!("arn:aws:iam::{DEMO_ACCOUNT}:role/{role}"),
        )];
        day.calls.push(c);
    }
    let ci = Caller::Session {
        role: "ci-deploy-role".into(),
        session: "github-actions".into(),
    };
    let art = format!("shop-artifacts-{DEMO_ACCOUNT}");
    let key = format!("builds/{}.zip", day.rng.token(12).to_lowercase());
    day.call(
        ci,
        "aws-cli/2.18.4",
        "s3.amazonaws.com",
        "PutObject",
        json!({"bucketName": art, "key": key}),
        vec![
            ("AWS::S3::Object", format!("arn:aws:s3:::{art}/{key}")),
            ("AWS::S3::Bucket", format!("arn:aws:s3:::{art}")),
        ],
        true,
        false,
    );
    let bot = Caller::User("deploy-bot".into());
    if d == 0 {
        day.call(bot.clone(), CLI_UA, "lambda.amazonaws.com", "CreateFunction20150331",
            json!({"functionName": "notifier", "runtime": "nodejs20.x", "role": format!("arn:aws:iam::{DEMO_ACCOUNT}:role/notifier-role"), "handler": "index.handler", "environment": {}}),
            vec![], false, false);
        let t = day.at();
        let mut c = Call::new(
            t,
            Caller::Service("kms.amazonaws.com".into()),
            "kms.amazonaws.com",
            "RotateKey",
            Value::Null,
        );
        c.event_type = "AwsServiceEvent";
        c.resources = vec![("AWS::KMS::Key", arn("kms", &format!("key/{ORDERS_KEY}")))];
        day.calls.push(c);
    }
    if d % 3 == 1 {
        day.call(
            bot.clone(),
            CLI_UA,
            "lambda.amazonaws.com",
            "UpdateFunctionCode20150331v2",
            json!({"functionName": "orders-api", "publish": true}),
            vec![],
            false,
            false,
        );
        day.call(
            bot.clone(),
            CLI_UA,
            "lambda.amazonaws.com",
            "ListFunctions20150331",
            Value::Null,
            vec![],
            false,
            true,
        );
    }
    if d % 7 == 2 {
        day.call(
            bot.clone(),
            CLI_UA,
            "lambda.amazonaws.com",
            "Invoke",
            json!({"functionName": "reports-nightly", "invocationType": "Event"}),
            vec![(
                "AWS::Lambda::Function",
                arn("lambda", "function:reports-nightly"),
            )],
            true,
            false,
        );
    }
    if d == 5 {
        let t = day.at();
        let mut c = Call::new(
            t,
            Caller::User("alice".into()),
            "signin.amazonaws.com",
            "ConsoleLogin",
            Value::Null,
        );
        c.event_type = "AwsConsoleSignIn";
        c.user_agent = "Mozilla/5.0 (X11; Linux x86_64)".into();
        day.calls.push(c);
    }
}
