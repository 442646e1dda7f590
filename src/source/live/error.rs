//! SDK errors as messages that say what went wrong and what to do.
//!
//! Throttling, 5xx and connection errors were already retried (with backoff) by the SDK by
//! the time an error gets here; what is left is said plainly: which of the tool's own calls was
//! refused and which permission it needs, which credentials are missing or expired, which
//! bucket does not exist or lives in another region.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// The AWS calls tightrole makes, with the IAM permission each needs. `docs/permissions.md`
/// lists the same table; a test keeps the two in sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    ListObjects,
    GetObject,
    LookupEvents,
    ListFunctions,
    GetAccountAuthorizationDetails,
    StartQueryExecution,
    GetQueryExecution,
    GetQueryResults,
}

impl Call {
    /// The calls of the live sources (the first policy of docs/permissions.md).
    pub const ALL: [Call; 5] = [
        Call::ListObjects,
        Call::GetObject,
        Call::LookupEvents,
        Call::ListFunctions,
        Call::GetAccountAuthorizationDetails,
    ];

    /// The calls of `--athena` (its own section of docs/permissions.md).
    pub const ATHENA: [Call; 3] = [
        Call::StartQueryExecution,
        Call::GetQueryExecution,
        Call::GetQueryResults,
    ];

    /// The API operation.
    pub fn operation(self) -> &'static str {
        match self {
            Call::ListObjects => "s3:ListObjectsV2",
            Call::GetObject => "s3:GetObject",
            Call::LookupEvents => "cloudtrail:LookupEvents",
            Call::ListFunctions => "lambda:ListFunctions",
            Call::GetAccountAuthorizationDetails => "iam:GetAccountAuthorizationDetails",
            Call::StartQueryExecution => "athena:StartQueryExecution",
            Call::GetQueryExecution => "athena:GetQueryExecution",
            Call::GetQueryResults => "athena:GetQueryResults",
        }
    }

    /// The IAM action that allows it.
    pub fn permission(self) -> &'static str {
        match self {
            // The one call whose permission is not named after it.
            Call::ListObjects => "s3:ListBucket",
            other => other.operation(),
        }
    }
}

const ACCESS_DENIED: [&str; 5] = [
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "Forbidden",
];

const BAD_CREDENTIALS: [&str; 9] = [
    "ExpiredToken",
    "InvalidToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "RequestExpired",
    "TokenRefreshRequired",
];

const THROTTLING: [&str; 6] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "RequestLimitExceeded",
];

const CREDENTIALS_HELP: &str = "help: tightrole uses the AWS CLI's credential chain: set AWS_PROFILE or pass `--profile`, run `aws sso login` for an SSO profile, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; `aws sts get-caller-identity` shows which identity is in use";

/// Explains a failed call. `target` names what it was made on (`s3://bucket/prefix`, a
/// region) and `resource` the ARN its permission must cover.
pub fn explain<E>(
    err: SdkError<E, HttpResponse>,
    call: Call,
    target: &str,
    resource: &str,
) -> anyhow::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().unwrap_or_default().to_string();
    let message = err.message().unwrap_or_default().to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let op = call.operation();
    let detail = match (code.is_empty(), message.is_empty()) {
        (true, true) => "no error code".to_string(),
        (_, true) => code.clone(),
        _ => format!("{code}: {message}"),
    };
    if ACCESS_DENIED.contains(&code.as_str()) || (status == Some(403) && code.is_empty()) {
        let kms = if call == Call::GetObject {
            " (and `kms:Decrypt` on the trail's KMS key, if it is encrypted with one)"
        } else {
            ""
        };
        return anyhow::anyhow!(
            "access denied: {op} on {target} was refused ({detail})\n\
             help: the identity tightrole runs as needs `{}` on `{resource}`{kms}; docs/permissions.md lists what each command needs",
            call.permission()
        );
    }
    if BAD_CREDENTIALS.contains(&code.as_str()) {
        return anyhow::anyhow!(
            "the AWS credentials were refused: {op} on {target} ({detail})\n{CREDENTIALS_HELP}"
        );
    }
    if code == "NoSuchBucket" {
        let bucket = target
            .trim_start_matches("s3://")
            .split('/')
            .next()
            .unwrap_or(target);
        return anyhow::anyhow!(
            "no such bucket: `{bucket}` ({op} on {target})\n\
             help: check the name in the trail's settings (`aws cloudtrail describe-trails` shows S3BucketName)"
        );
    }
    if let Some(region) = err
        .raw_response()
        .and_then(|r| r.headers().get("x-amz-bucket-region"))
        .filter(|_| matches!(status, Some(301) | Some(400)))
    {
        return anyhow::anyhow!(
            "wrong region: {target} is in `{region}` ({op}: {detail})\n\
             help: pass `--region {region}` first (the first `--region` is the one the client uses)"
        );
    }
    if code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" {
        return anyhow::anyhow!(
            "wrong region for {target} ({op}: {detail})\n\
             help: pass the bucket's region first with `--region`; `aws s3api get-bucket-location --bucket NAME` tells it"
        );
    }
    if THROTTLING.contains(&code.as_str()) || status.is_some_and(|s| s == 429 || s >= 500) {
        return anyhow::anyhow!(
            "{op} on {target} still failed after retries with backoff ({}{detail})\n\
             help: try again later, or raise `--max-attempts`",
            status.map(|s| format!("HTTP {s}, ")).unwrap_or_default()
        );
    }
    match &err {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => anyhow::anyhow!(
            "{op} on {target} failed: {}{}",
            status.map(|s| format!("HTTP {s} ")).unwrap_or_default(),
            if code.is_empty() && message.is_empty() {
                chain(&err)
            } else {
                detail
            }
        ),
        SdkError::TimeoutError(_) => {
            anyhow::anyhow!("{op} on {target} timed out after retries")
        }
        _ => {
            let text = chain(&err);
            let lower = text.to_ascii_lowercase();
            if lower.contains("credential") || lower.contains("token") && lower.contains("sso") {
                anyhow::anyhow!(
                    "no usable AWS credentials for {op} on {target}: {text}\n{CREDENTIALS_HELP}"
                )
            } else {
                anyhow::anyhow!(
                    "cannot reach AWS for {op} on {target}, after retries: {text}\n\
                     help: check the network, the region, and `--endpoint-url` if one is given"
                )
            }
        }
    }
}

/// The error and its sources, one after the other (without the SDK's debug dump).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}
