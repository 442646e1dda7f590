//! SDK errors as typed errors that say what went wrong and what to do.
//!
//! Throttling, 5xx and connection errors were already retried (with backoff) by the SDK by
//! the time an error gets here; what is left is classified ([`AwsErrorKind`]) and said plainly:
//! which of the tool's own calls was refused and which permission it needs, which credentials
//! are missing or expired, which bucket does not exist or lives in another region. The message
//! is one line; what to do about it is a separate help text ([`AwsError::help`]), which the
//! command line prints on its own `help:` line.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::policy::current::LoadError;

/// The AWS calls tightrole makes, with the IAM permission each needs. `docs/permissions.md`
/// lists the same table; a test keeps the two in sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    ListObjects,
    GetObject,
    LookupEvents,
    ListFunctions,
    ListEventSourceMappings,
    ListFunctionEventInvokeConfigs,
    GetAccountAuthorizationDetails,
    StartQueryExecution,
    GetQueryExecution,
    GetQueryResults,
}

impl Call {
    /// The calls of the live sources (the first policy of docs/permissions.md).
    pub const ALL: [Call; 7] = [
        Call::ListObjects,
        Call::GetObject,
        Call::LookupEvents,
        Call::ListFunctions,
        Call::ListEventSourceMappings,
        Call::ListFunctionEventInvokeConfigs,
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
            Call::ListEventSourceMappings => "lambda:ListEventSourceMappings",
            Call::ListFunctionEventInvokeConfigs => "lambda:ListFunctionEventInvokeConfigs",
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

const CREDENTIALS_HELP: &str = "tightrole uses the AWS CLI's credential chain: set AWS_PROFILE or pass `--profile`, run `aws sso login` for an SSO profile, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; `aws sts get-caller-identity` shows which identity is in use";

/// What kind of failure an AWS call ended in. The SDK has already retried throttling, 5xx and
/// connection errors by the time one of these is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// The call was refused: the identity tightrole runs as lacks the call's permission.
    AccessDenied,
    /// The credentials were refused (expired, invalid) or none could be found.
    Credentials,
    /// The bucket does not exist.
    NoSuchBucket,
    /// The bucket lives in another region than the one asked.
    WrongRegion,
    /// Still throttled after the retries.
    Throttled,
    /// Still failing with a server error (5xx) after the retries.
    Unavailable,
    /// Timed out after the retries.
    Timeout,
    /// No answer at all: the endpoint could not be reached (DNS, connection, TLS).
    Network,
    /// Any other error the service answered with.
    Service,
}

impl AwsErrorKind {
    /// Failures that would fail every other call alike, so that the run stops at the first.
    pub fn is_fatal(self) -> bool {
        matches!(self, AwsErrorKind::AccessDenied | AwsErrorKind::Credentials)
    }
}

/// A failed AWS call: what kind of failure, which call, a one-line message, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct AwsError {
    pub kind: AwsErrorKind,
    pub call: Call,
    /// The service's error code (`AccessDenied`, `NoSuchBucket`, …), when it sent one.
    pub code: Option<String>,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    message: String,
    help: Option<String>,
    /// The SDK's error.
    #[source]
    cause: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl AwsError {
    /// What to do about it (printed on its own `help:` line), when there is something to say.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// Access denied and refused or missing credentials: every other call would fail alike.
    pub fn is_fatal(&self) -> bool {
        self.kind.is_fatal()
    }

    /// The AWS error an error is or stands for ([`LiveError::Aws`]), if any; for renderers that
    /// only see `dyn Error`, such as the command line's.
    pub fn find<'e>(err: &'e (dyn std::error::Error + 'static)) -> Option<&'e AwsError> {
        if let Some(aws) = err.downcast_ref::<AwsError>() {
            return Some(aws);
        }
        match err.downcast_ref::<LiveError>() {
            Some(LiveError::Aws(aws)) => Some(aws),
            _ => None,
        }
    }
}

/// What the live sources fail with: a failed AWS call, or a local problem on the way (the
/// runtime, the spool folder, a malformed `s3://` URL, a failed Athena query, IAM output that
/// does not load).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("cannot start the AWS client runtime: {reason}")]
    Runtime { reason: String },
    #[error("no AWS region: pass `--region`, set AWS_REGION, or set `region` in the profile")]
    NoRegion,
    #[error("`{url}` is not an S3 URL (s3://BUCKET/PREFIX)")]
    NotS3Url { url: String },
    #[error("`{url}` names no bucket (s3://BUCKET/PREFIX)")]
    NoBucket { url: String },
    #[error("cannot create a spool folder: {reason}")]
    Spool { reason: String },
    #[error("cannot write `{path}`: {reason}")]
    Write { path: String, reason: String },
    #[error("the Athena query {id} did not finish: {reason}")]
    QueryFailed { id: String, reason: String },
    #[error(transparent)]
    Current(#[from] LoadError),
}

impl LiveError {
    /// The failed AWS call, if that is what this is.
    pub fn aws(&self) -> Option<&AwsError> {
        match self {
            LiveError::Aws(aws) => Some(aws),
            _ => None,
        }
    }

    /// What to do about it, when there is something to say.
    pub fn help(&self) -> Option<&str> {
        self.aws().and_then(AwsError::help)
    }
}

/// Classifies an error response by its code, HTTP status and `x-amz-bucket-region` header.
/// `None` when they say nothing (no response, or an error this table does not know): the kind
/// then follows from how the call failed ([`explain`]).
pub fn classify(
    code: &str,
    status: Option<u16>,
    bucket_region: Option<&str>,
) -> Option<AwsErrorKind> {
    if ACCESS_DENIED.contains(&code) || (status == Some(403) && code.is_empty()) {
        Some(AwsErrorKind::AccessDenied)
    } else if BAD_CREDENTIALS.contains(&code) {
        Some(AwsErrorKind::Credentials)
    } else if code == "NoSuchBucket" {
        Some(AwsErrorKind::NoSuchBucket)
    } else if (bucket_region.is_some() && matches!(status, Some(301) | Some(400)))
        || code == "PermanentRedirect"
        || code == "AuthorizationHeaderMalformed"
    {
        Some(AwsErrorKind::WrongRegion)
    } else if THROTTLING.contains(&code) || status == Some(429) {
        Some(AwsErrorKind::Throttled)
    } else if status.is_some_and(|s| s >= 500) {
        Some(AwsErrorKind::Unavailable)
    } else {
        None
    }
}

/// Does an error without a response (no credentials provider answered, an SSO token) speak of
/// credentials?
fn speaks_of_credentials(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("credential") || lower.contains("token") && lower.contains("sso")
}

/// Explains a failed call. `target` names what it was made on (`s3://bucket/prefix`, a
/// region) and `resource` the ARN its permission must cover.
pub fn explain<E>(
    err: SdkError<E, HttpResponse>,
    call: Call,
    target: &str,
    resource: &str,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().unwrap_or_default().to_string();
    let message = err.message().unwrap_or_default().to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let region = err
        .raw_response()
        .and_then(|r| r.headers().get("x-amz-bucket-region"))
        .map(str::to_string);
    let op = call.operation();
    let detail = match (code.is_empty(), message.is_empty()) {
        (true, true) => "no error code".to_string(),
        (_, true) => code.clone(),
        _ => format!("{code}: {message}"),
    };
    let kind = classify(&code, status, region.as_deref()).unwrap_or_else(|| match &err {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) => AwsErrorKind::Service,
        SdkError::TimeoutError(_) => AwsErrorKind::Timeout,
        _ if speaks_of_credentials(&chain(&err)) => AwsErrorKind::Credentials,
        _ => AwsErrorKind::Network,
    });
    let (text, help) = match kind {
        AwsErrorKind::AccessDenied => {
            let kms = if call == Call::GetObject {
                " (and `kms:Decrypt` on the trail's KMS key, if it is encrypted with one)"
            } else {
                ""
            };
            (
                format!("access denied: {op} on {target} was refused ({detail})"),
                Some(format!(
                    "the identity tightrole runs as needs `{}` on `{resource}`{kms}; docs/permissions.md lists what each command needs",
                    call.permission()
                )),
            )
        }
        AwsErrorKind::Credentials if BAD_CREDENTIALS.contains(&code.as_str()) => (
            format!("the AWS credentials were refused: {op} on {target} ({detail})"),
            Some(CREDENTIALS_HELP.to_string()),
        ),
        AwsErrorKind::Credentials => (
            format!(
                "no usable AWS credentials for {op} on {target}: {}",
                chain(&err)
            ),
            Some(CREDENTIALS_HELP.to_string()),
        ),
        AwsErrorKind::NoSuchBucket => {
            let bucket = target
                .trim_start_matches("s3://")
                .split('/')
                .next()
                .unwrap_or(target);
            (
                format!("no such bucket: `{bucket}` ({op} on {target})"),
                Some(
                    "check the name in the trail's settings (`aws cloudtrail describe-trails` shows S3BucketName)"
                        .to_string(),
                ),
            )
        }
        AwsErrorKind::WrongRegion => match region.as_deref().filter(|_| matches!(status, Some(301) | Some(400))) {
            Some(region) => (
                format!("wrong region: {target} is in `{region}` ({op}: {detail})"),
                Some(format!(
                    "pass `--region {region}` first (the first `--region` is the one the client uses)"
                )),
            ),
            None => (
                format!("wrong region for {target} ({op}: {detail})"),
                Some(
                    "pass the bucket's region first with `--region`; `aws s3api get-bucket-location --bucket NAME` tells it"
                        .to_string(),
                ),
            ),
        },
        AwsErrorKind::Throttled | AwsErrorKind::Unavailable => (
            format!(
                "{op} on {target} still failed after retries with backoff ({}{detail})",
                status.map(|s| format!("HTTP {s}, ")).unwrap_or_default()
            ),
            Some("try again later, or raise `--max-attempts`".to_string()),
        ),
        AwsErrorKind::Service => (
            format!(
                "{op} on {target} failed: {}{}",
                status.map(|s| format!("HTTP {s} ")).unwrap_or_default(),
                if code.is_empty() && message.is_empty() {
                    chain(&err)
                } else {
                    detail
                }
            ),
            None,
        ),
        AwsErrorKind::Timeout => (format!("{op} on {target} timed out after retries"), None),
        AwsErrorKind::Network => (
            format!(
                "cannot reach AWS for {op} on {target}, after retries: {}",
                chain(&err)
            ),
            Some(
                "check the network, the region, and `--endpoint-url` if one is given".to_string(),
            ),
        ),
    };
    AwsError {
        kind,
        call,
        code: (!code.is_empty()).then_some(code),
        status,
        message: text,
        help,
        cause: Some(Box::new(err)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error;
    use aws_sdk_s3::primitives::SdkBody;

    #[test]
    fn codes_are_classified_into_kinds() {
        use AwsErrorKind::*;
        // (code, HTTP status, x-amz-bucket-region, kind)
        type Case = (
            &'static str,
            Option<u16>,
            Option<&'static str>,
            Option<AwsErrorKind>,
        );
        let cases: [Case; 20] = [
            ("AccessDenied", Some(403), None, Some(AccessDenied)),
            ("AccessDeniedException", Some(400), None, Some(AccessDenied)),
            ("UnauthorizedOperation", Some(403), None, Some(AccessDenied)),
            ("", Some(403), None, Some(AccessDenied)),
            ("ExpiredToken", Some(400), None, Some(Credentials)),
            ("InvalidClientTokenId", Some(403), None, Some(Credentials)),
            ("SignatureDoesNotMatch", Some(403), None, Some(Credentials)),
            (
                "UnrecognizedClientException",
                Some(400),
                None,
                Some(Credentials),
            ),
            ("NoSuchBucket", Some(404), None, Some(NoSuchBucket)),
            ("", Some(301), Some("eu-west-1"), Some(WrongRegion)),
            (
                "IllegalLocationConstraintException",
                Some(400),
                Some("eu-west-1"),
                Some(WrongRegion),
            ),
            ("PermanentRedirect", Some(301), None, Some(WrongRegion)),
            (
                "AuthorizationHeaderMalformed",
                Some(400),
                None,
                Some(WrongRegion),
            ),
            ("ThrottlingException", Some(400), None, Some(Throttled)),
            ("SlowDown", Some(503), None, Some(Throttled)),
            ("", Some(429), None, Some(Throttled)),
            ("InternalError", Some(500), None, Some(Unavailable)),
            ("", Some(503), None, Some(Unavailable)),
            // Nothing the table knows: the kind follows from how the call failed.
            ("InvalidParameterValue", Some(400), None, None),
            ("", None, None, None),
        ];
        for (code, status, region, kind) in cases {
            assert_eq!(classify(code, status, region), kind, "{code} {status:?}");
        }
        // A region header on a 200 or a 404 is not a redirect.
        assert_eq!(classify("NoSuchKey", Some(404), Some("eu-west-1")), None);
    }

    fn refused(code: &str, status: u16, region: Option<&str>) -> AwsError {
        let mut resp = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        if let Some(r) = region {
            resp.headers_mut()
                .insert("x-amz-bucket-region", r.to_string());
        }
        let err = SdkError::service_error(
            ListObjectsV2Error::generic(
                ErrorMetadata::builder()
                    .code(code)
                    .message("refused by the test")
                    .build(),
            ),
            resp,
        );
        explain(
            err,
            Call::ListObjects,
            "s3://trail-bucket/AWSLogs/",
            "arn:aws:s3:::trail-bucket",
        )
    }

    #[test]
    fn the_message_is_one_line_and_the_help_is_apart() {
        let e = refused("AccessDenied", 403, None);
        assert_eq!(e.kind, AwsErrorKind::AccessDenied);
        assert_eq!(e.call, Call::ListObjects);
        assert_eq!(e.code.as_deref(), Some("AccessDenied"));
        assert_eq!(e.status, Some(403));
        assert_eq!(
            e.to_string(),
            "access denied: s3:ListObjectsV2 on s3://trail-bucket/AWSLogs/ was refused (AccessDenied: refused by the test)"
        );
        assert_eq!(
            e.help(),
            Some(
                "the identity tightrole runs as needs `s3:ListBucket` on `arn:aws:s3:::trail-bucket`; docs/permissions.md lists what each command needs"
            )
        );
        assert!(e.is_fatal());
        // The SDK's error is kept as the source.
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert!(source.is_some_and(|s| s.contains("service error")));
    }

    #[test]
    fn each_kind_says_its_own_thing() {
        let e = refused("NoSuchBucket", 404, None);
        assert_eq!(e.kind, AwsErrorKind::NoSuchBucket);
        assert!(
            e.to_string().starts_with("no such bucket: `trail-bucket`"),
            "{e}"
        );
        assert!(!e.is_fatal());

        let e = refused("", 301, Some("eu-west-1"));
        assert_eq!(e.kind, AwsErrorKind::WrongRegion);
        assert!(e.to_string().contains("is in `eu-west-1`"), "{e}");
        assert_eq!(
            e.help(),
            Some(
                "pass `--region eu-west-1` first (the first `--region` is the one the client uses)"
            )
        );

        let e = refused("ExpiredToken", 400, None);
        assert_eq!(e.kind, AwsErrorKind::Credentials);
        assert!(
            e.to_string()
                .starts_with("the AWS credentials were refused"),
            "{e}"
        );
        assert!(e.help().is_some_and(|h| h.contains("aws sso login")));
        assert!(e.is_fatal());

        let e = refused("SlowDown", 503, None);
        assert_eq!(e.kind, AwsErrorKind::Throttled);
        assert!(
            e.to_string()
                .contains("still failed after retries with backoff (HTTP 503, SlowDown")
        );

        let e = refused("InvalidArgument", 400, None);
        assert_eq!(e.kind, AwsErrorKind::Service);
        assert_eq!(e.help(), None);

        for e in [
            refused("AccessDenied", 403, None),
            refused("ExpiredToken", 400, None),
            refused("", 301, Some("eu-west-1")),
        ] {
            assert!(!e.to_string().contains('\n'), "{e}");
            assert!(!e.to_string().contains("help:"), "{e}");
        }
    }

    #[test]
    fn timeouts_and_unreachable_endpoints() {
        let e = explain(
            SdkError::<ListObjectsV2Error, HttpResponse>::timeout_error("too slow"),
            Call::GetObject,
            "s3://b/k",
            "arn:aws:s3:::b/k",
        );
        assert_eq!(e.kind, AwsErrorKind::Timeout);
        assert_eq!(
            e.to_string(),
            "s3:GetObject on s3://b/k timed out after retries"
        );

        let e = explain(
            SdkError::<ListObjectsV2Error, HttpResponse>::construction_failure(
                "no credentials provider in the chain gave credentials",
            ),
            Call::LookupEvents,
            "region us-east-1",
            "*",
        );
        assert_eq!(e.kind, AwsErrorKind::Credentials);
        assert!(
            e.to_string().starts_with("no usable AWS credentials"),
            "{e}"
        );

        let e = explain(
            SdkError::<ListObjectsV2Error, HttpResponse>::construction_failure("dns error"),
            Call::ListFunctions,
            "region us-east-1",
            "*",
        );
        assert_eq!(e.kind, AwsErrorKind::Network);
        assert!(e.help().is_some_and(|h| h.contains("--endpoint-url")));
    }

    #[test]
    fn found_through_the_live_error() {
        let live = LiveError::from(refused("AccessDenied", 403, None));
        assert_eq!(live.help(), live.aws().and_then(AwsError::help));
        let dynamic: &(dyn std::error::Error + 'static) = &live;
        assert_eq!(
            AwsError::find(dynamic).map(|e| e.kind),
            Some(AwsErrorKind::AccessDenied)
        );
        let other = LiveError::NoRegion;
        assert!(AwsError::find(&other).is_none());
        assert_eq!(other.help(), None);
    }
}
