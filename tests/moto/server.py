"""moto_server with what tightrole's tests need on top.

Run as `python tests/moto/server.py -H 127.0.0.1 -p PORT` with moto[server] (pinned in
tests/moto/requirements.txt) installed. It serves moto's own application and adds:

* CloudTrail LookupEvents, which moto 5.2.5 does not implement. It answers from the trail
  files the caller put into moto's S3 (same account): management events of the request's
  region only, newest first, with StartTime/EndTime, one LookupAttribute, MaxResults and
  NextToken paging, as the real API does. Data events are left out, as the real API does.
* A request log: GET /_tightrole/requests returns every request seen (method, path, query,
  X-Amz-Target, status), so tests can count S3 list calls. DELETE clears it.
* The callers' own trail: GET /_tightrole/trail?access_key=KEY returns `{"Records": [...]}`,
  a CloudTrail record for each S3, Lambda, IAM and CloudTrail call signed by that key, as
  CloudTrail would log it (ListObjectsV2 as s3 ListObjects, ListFunctions with its version
  suffix). Run through tightrole, it gives the policy tightrole itself needs
  (docs/permissions.md is checked against it).
* Faults: POST /_tightrole/faults with a JSON list of rules; each rule matches requests
  (`access_key` of the signer, `target` suffix, `method`, `path_contains`,
  `query_contains`), lets `skip` matches through, and for its next `times` matches answers
  `status` with an AWS error `code` instead (in the protocol's own format), closes the
  connection before answering (`"reset": true`) or halfway through the body (`"cut_body": true`),
  or deletes the object before letting the request
  through (`"delete_first": true`, for "deleted between list and get"). DELETE clears them.
* Lambda: function configurations carry `DeadLetterConfig`, `LoggingConfig` and
  `FileSystemConfigs` as given to CreateFunction (moto 5.2.5 drops them), and
  ListEventSourceMappings and ListFunctionEventInvokeConfigs page with Marker/NextMarker (moto
  returns everything at once): one item a page, so that the tests' few items page. Their
  `LastModified` is epoch seconds, as Lambda sends it (moto 5.2.5 sends an invoke config's as
  an ISO 8601 string, which the Rust SDK refuses). Injected
  errors on Lambda's REST paths are JSON with `X-Amzn-ErrorType`, as Lambda sends them.
* Athena GetQueryResults paged as the real API pages it (moto returns every row at once):
  at most 100 rows per page (so that small results page too), with NextToken. POST /_tightrole/athena-scanned with
  {"access_key", "bytes"} makes GetQueryExecution report that many bytes scanned (moto says 0).
"""

import argparse
import base64
import gzip
import io
import json
import re
import socket
import threading
from datetime import datetime, timezone

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

LOG = []
FAULTS = []
SCANNED = {}
LOCK = threading.Lock()


CRED_RE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/")


def credential(environ):
    m = CRED_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return (m.group(1), m.group(2)) if m else ("AKIAEXAMPLE", "us-east-1")


def respond(start_response, status, body, content_type, headers=()):
    data = body.encode() if isinstance(body, str) else body
    start_response(
        f"{status} {'OK' if status == 200 else 'Error'}",
        [("Content-Type", content_type), ("Content-Length", str(len(data))), *headers],
    )
    return [data]


# Lambda's REST-JSON paths (API versions in the path).
LAMBDA_PATH_RE = re.compile(r"^/20\d\d-\d\d-\d\d/(functions|event-source-mappings)")


def error_body(environ, code, status):
    """An AWS error in the protocol the request used: JSON for X-Amz-Target APIs and Lambda's
    REST paths (whose code is also in the X-Amzn-ErrorType header, see `error_headers`), XML
    else."""
    if LAMBDA_PATH_RE.match(environ.get("PATH_INFO", "")):
        return json.dumps({"Type": "User", "message": f"injected {code}"}), "application/json"
    if environ.get("HTTP_X_AMZ_TARGET"):
        return json.dumps({"__type": code, "message": f"injected {code}"}), "application/x-amz-json-1.1"
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        # The query protocol (IAM, STS).
        return (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
            f"<Message>injected {code}</Message></Error></ErrorResponse>",
            "text/xml",
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
        f"<Message>injected {code}</Message></Error>",
        "application/xml",
    )


def error_headers(environ, code):
    if LAMBDA_PATH_RE.match(environ.get("PATH_INFO", "")):
        return [("X-Amzn-ErrorType", code)]
    return []


def patch_lambda():
    """Keeps the parts of a function's configuration moto 5.2.5 drops, as CreateFunction was
    given them, and returns them from every call that returns the configuration."""
    from moto.awslambda.models import LambdaFunction

    kept = ("DeadLetterConfig", "LoggingConfig", "FileSystemConfigs")
    init, get_configuration = LambdaFunction.__init__, LambdaFunction.get_configuration

    def patched_init(self, account_id, spec, region, version=1):
        init(self, account_id, spec, region, version)
        self.tightrole_kept = {k: spec[k] for k in kept if spec.get(k)}

    def patched_get_configuration(self, *args, **kwargs):
        config = get_configuration(self, *args, **kwargs)
        config.update(getattr(self, "tightrole_kept", {}))
        return config

    LambdaFunction.__init__ = patched_init
    LambdaFunction.get_configuration = patched_get_configuration


# (path pattern, list key) of the Lambda listings paged here.
LAMBDA_PAGED = (
    (re.compile(r"^/2015-03-31/event-source-mappings/?$"), "EventSourceMappings"),
    (re.compile(r"^/2019-09-25/functions/[^/]+/event-invoke-config/list$"), "FunctionEventInvokeConfigs"),
)


def epoch_last_modified(item):
    t = item.get("LastModified")
    if isinstance(t, str):
        m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?", t)
        if m:
            whole = datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
            item["LastModified"] = whole.timestamp() + float(m.group(2) or 0)
    return item


def call_moto(app, environ, start_response):
    """Runs moto on the request: `(None, its JSON)` when it succeeded; otherwise `(the
    response to return as it is, already started, None)`."""
    captured = {}

    def capture(status, headers, *rest):
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    out = b"".join(app(environ, capture))
    if not captured.get("status", "").startswith("200"):
        start_response(captured["status"], captured["headers"])
        return [out], None
    return None, json.loads(out)


def lambda_paged(app, environ, start_response, key):
    """Calls moto, then returns one item of its listing a page, from the request's Marker (an
    offset), with NextMarker while more follow."""
    from urllib.parse import parse_qs

    query = parse_qs(environ.get("QUERY_STRING", ""))
    done, resp = call_moto(app, environ, start_response)
    if done is not None:
        return done
    items = resp.get(key) or []
    offset = int((query.get("Marker") or ["0"])[0] or 0)
    size = min(int((query.get("MaxItems") or ["1"])[0]), 1)
    resp[key] = [epoch_last_modified(x) for x in items[offset : offset + size]]
    resp.pop("NextMarker", None)
    if offset + size < len(items):
        resp["NextMarker"] = str(offset + size)
    return respond(start_response, 200, json.dumps(resp), "application/json")


def matches(rule, environ):
    if "access_key" in rule and credential(environ)[0] != rule["access_key"]:
        return False
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if "target" in rule and not target.endswith(rule["target"]):
        return False
    if "method" in rule and environ.get("REQUEST_METHOD") != rule["method"]:
        return False
    if "path_contains" in rule and rule["path_contains"] not in environ.get("PATH_INFO", ""):
        return False
    if "query_contains" in rule and rule["query_contains"] not in environ.get("QUERY_STRING", ""):
        return False
    return True


def s3_backend(account):
    from moto.s3.models import s3_backends

    return s3_backends[account]["aws"]


def account_of(environ):
    from moto.iam.models import get_account_id_from

    return get_account_id_from(credential(environ)[0])


def delete_object(environ):
    """Deletes the object a path-style GET names, in the caller's account."""
    from urllib.parse import unquote

    parts = unquote(environ.get("PATH_INFO", "")).lstrip("/").split("/", 1)
    if len(parts) == 2:
        try:
            s3_backend(account_of(environ)).delete_object(parts[0], parts[1])
        except Exception:
            pass


def trail_records(account):
    """Every record of every trail file in the account's buckets."""
    backend = s3_backend(account)
    for bucket in list(backend.buckets.values()):
        for key in list(bucket.keys.values()):
            name = getattr(key, "name", "")
            if not (name.endswith(".json.gz") or name.endswith(".json")):
                continue
            data = key.value
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            try:
                doc = json.loads(data)
            except ValueError:
                continue
            for rec in doc.get("Records", []) if isinstance(doc, dict) else []:
                yield rec


def is_management(rec):
    if rec.get("managementEvent") is False:
        return False
    return rec.get("eventCategory", "Management") == "Management"


def epoch(t):
    return datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


ATTRIBUTES = {
    "EventId": lambda r: [r.get("eventID")],
    "EventName": lambda r: [r.get("eventName")],
    "EventSource": lambda r: [r.get("eventSource")],
    "ReadOnly": lambda r: [str(r.get("readOnly", False)).lower()],
    "Username": lambda r: [username(r)],
    "AccessKeyId": lambda r: [(r.get("userIdentity") or {}).get("accessKeyId")],
    "ResourceType": lambda r: [x.get("type") for x in r.get("resources") or []],
    "ResourceName": lambda r: [x.get("ARN") for x in r.get("resources") or []],
}


def username(rec):
    ident = rec.get("userIdentity") or {}
    if ident.get("userName"):
        return ident["userName"]
    arn = ident.get("arn") or ""
    return arn.rsplit("/", 1)[-1] if "/" in arn else None


def lookup_events(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    req = json.loads(environ["wsgi.input"].read(length) or b"{}")
    _, region = credential(environ)
    account = account_of(environ)
    start, end = req.get("StartTime"), req.get("EndTime")
    attrs = req.get("LookupAttributes") or []
    if len(attrs) > 1:
        body, ctype = error_body(environ, "InvalidLookupAttributesException", 400)
        return respond(start_response, 400, body, ctype)
    max_results = int(req.get("MaxResults") or 50)
    if not 1 <= max_results <= 50:
        body, ctype = error_body(environ, "InvalidMaxResultsException", 400)
        return respond(start_response, 400, body, ctype)
    found = []
    for rec in trail_records(account):
        if rec.get("awsRegion") != region or not is_management(rec):
            continue
        t = epoch(rec["eventTime"])
        if start is not None and t < float(start):
            continue
        if end is not None and t > float(end):
            continue
        if attrs and attrs[0].get("AttributeValue") not in ATTRIBUTES.get(
            attrs[0].get("AttributeKey"), lambda r: []
        )(rec):
            continue
        found.append((t, rec))
    found.sort(key=lambda x: (-x[0], x[1].get("eventID", "")))
    offset = 0
    if req.get("NextToken"):
        try:
            offset = int(base64.b64decode(req["NextToken"]).decode().split(":")[1])
        except (ValueError, IndexError):
            body, ctype = error_body(environ, "InvalidNextTokenException", 400)
            return respond(start_response, 400, body, ctype)
    page = found[offset : offset + max_results]
    events = []
    for t, rec in page:
        events.append(
            {
                "EventId": rec.get("eventID"),
                "EventName": rec.get("eventName"),
                "ReadOnly": str(rec.get("readOnly", False)).lower(),
                "EventTime": t,
                "EventSource": rec.get("eventSource"),
                "Username": username(rec),
                "Resources": [
                    {"ResourceType": x.get("type"), "ResourceName": x.get("ARN")}
                    for x in rec.get("resources") or []
                ],
                "CloudTrailEvent": json.dumps(rec),
            }
        )
    out = {"Events": events}
    if offset + max_results < len(found):
        out["NextToken"] = base64.b64encode(f"offset:{offset + max_results}".encode()).decode()
    return respond(start_response, 200, json.dumps(out), "application/x-amz-json-1.1")


def call_record(entry, n):
    """A CloudTrail record for one logged request, or None for calls tightrole does not make."""
    from urllib.parse import parse_qs, unquote

    path, query, target = entry["path"], parse_qs(entry["query"]), entry["target"]
    params, read_only, management = {}, True, True
    if target.endswith(".LookupEvents"):
        source, name = "cloudtrail.amazonaws.com", "LookupEvents"
    elif entry.get("action"):
        source, name = "iam.amazonaws.com", entry["action"]
    elif re.match(r"^/2015-03-31/functions/?$", path) and entry["method"] == "GET":
        source, name = "lambda.amazonaws.com", "ListFunctions20150331"
    elif re.match(r"^/2015-03-31/event-source-mappings/?$", path) and entry["method"] == "GET":
        source, name = "lambda.amazonaws.com", "ListEventSourceMappings20150331"
    elif m := re.match(r"^/2019-09-25/functions/([^/]+)/event-invoke-config/list$", path):
        source, name = "lambda.amazonaws.com", "ListFunctionEventInvokeConfigs20190925"
        params = {"functionName": unquote(m.group(1))}
    elif entry["method"] == "GET" and path.count("/") >= 1 and path != "/":
        parts = unquote(path).lstrip("/").split("/", 1)
        source, management = "s3.amazonaws.com", False
        if len(parts) == 1 or parts[1] == "":
            name = "ListObjects"
            params = {"bucketName": parts[0], "Host": "s3.amazonaws.com"}
            for k in ("prefix", "delimiter", "list-type"):
                if k in query:
                    params[k] = query[k][0]
        else:
            name = "GetObject"
            params = {"bucketName": parts[0], "key": parts[1], "Host": "s3.amazonaws.com"}
    else:
        return None
    account, region = entry["account"], entry["region"]
    rec = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "accountId": account,
            "arn": f"arn:aws:sts::{account}:assumed-role/tightrole-test/tightrole-test",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": f"arn:aws:iam::{account}:role/tightrole-test",
                    "userName": "tightrole-test",
                }
            },
        },
        "eventTime": entry["time"],
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": entry.get("agent", ""),
        "requestParameters": params or None,
        "eventID": f"self-{n}",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": management,
        "eventCategory": "Management" if management else "Data",
        "recipientAccountId": account,
    }
    if entry.get("status", 200) >= 400:
        rec["errorCode"] = entry.get("fault") or "Error"
    return rec


def athena_adjusted(app, environ, start_response, target, key):
    """Calls moto, then pages GetQueryResults and sets the bytes GetQueryExecution reports."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    req = json.loads(body or b"{}")
    done, resp = call_moto(app, environ, start_response)
    if done is not None:
        return done
    if target.endswith(".GetQueryResults"):
        rows = resp.get("ResultSet", {}).get("Rows", [])
        offset = int(req.get("NextToken") or 0)
        # At most 100 rows a page (Athena allows 1000), so that small results page too.
        n = min(int(req.get("MaxResults") or 1000), 100)
        resp["ResultSet"]["Rows"] = rows[offset : offset + n]
        if offset + n < len(rows):
            resp["NextToken"] = str(offset + n)
    elif key in SCANNED:
        resp["QueryExecution"]["Statistics"]["DataScannedInBytes"] = SCANNED[key]
    return respond(start_response, 200, json.dumps(resp), "application/x-amz-json-1.1")


def cut_body(app, environ, start_response):
    """Answers with the real headers (and Content-Length) but only half the body, then drops
    the connection: a reset in the middle of an object."""
    captured = {}

    def capture(status, headers, *rest):
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    body = b"".join(app(environ, capture))
    start_response(captured["status"], captured["headers"])

    def half():
        yield body[: len(body) // 2]
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionResetError("injected reset mid-body")

    return half()


def control(environ, start_response):
    path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
    if path == "/_tightrole/trail":
        from urllib.parse import parse_qs

        key = parse_qs(environ.get("QUERY_STRING", "")).get("access_key", [""])[0]
        with LOCK:
            entries = [e for e in LOG if e.get("access_key") == key]
        records = [r for r in (call_record(e, i) for i, e in enumerate(entries)) if r]
        return respond(start_response, 200, json.dumps({"Records": records}), "application/json")
    with LOCK:
        if path == "/_tightrole/requests":
            if method == "DELETE":
                LOG.clear()
            return respond(start_response, 200, json.dumps(LOG), "application/json")
        if path == "/_tightrole/athena-scanned" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length))
            SCANNED[body["access_key"]] = int(body["bytes"])
            return respond(start_response, 200, "{}", "application/json")
        if path == "/_tightrole/faults":
            if method == "DELETE":
                FAULTS.clear()
            elif method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                FAULTS.extend(json.loads(environ["wsgi.input"].read(length)))
            return respond(start_response, 200, json.dumps(FAULTS), "application/json")
    return respond(start_response, 404, "{}", "application/json")


def wrap(app):
    def middleware(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_tightrole/"):
            return control(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        key, region = credential(environ)
        entry = {
            "method": environ.get("REQUEST_METHOD"),
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "target": target,
            "access_key": key,
            "region": region,
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "agent": environ.get("HTTP_USER_AGENT", ""),
        }
        if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
            from urllib.parse import parse_qs

            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            entry["action"] = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        try:
            entry["account"] = account_of(environ)
        except Exception:
            entry["account"] = "123456789012"
        rule = None
        with LOCK:
            LOG.append(entry)
            for r in FAULTS:
                if r.get("times", 1) > 0 and matches(r, environ):
                    if r.get("skip", 0) > 0:
                        r["skip"] -= 1
                        continue
                    r["times"] = r.get("times", 1) - 1
                    rule = dict(r)
                    break

        def start_response_logged(status, headers, *rest):
            entry["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, *rest)

        if rule is not None:
            kind = "reset" if rule.get("reset") else "cut_body" if rule.get("cut_body") else "delete"
            entry["fault"] = rule.get("code") or kind
            if rule.get("reset"):
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    try:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                raise ConnectionResetError("injected reset")
            if rule.get("cut_body"):
                return cut_body(app, environ, start_response_logged)
            if rule.get("delete_first"):
                delete_object(environ)
            elif rule.get("status"):
                code = rule.get("code", "InternalError")
                body, ctype = error_body(environ, code, rule["status"])
                return respond(
                    start_response_logged, rule["status"], body, ctype, error_headers(environ, code)
                )
        if target.endswith(".LookupEvents") or target == "LookupEvents":
            return lookup_events(environ, start_response_logged)
        if target.endswith(".GetQueryResults") or target.endswith(".GetQueryExecution"):
            return athena_adjusted(app, environ, start_response_logged, target, key)
        if environ.get("REQUEST_METHOD") == "GET":
            for pattern, list_key in LAMBDA_PAGED:
                if pattern.match(path):
                    return lambda_paged(app, environ, start_response_logged, list_key)
        return app(environ, start_response_logged)

    return middleware


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    patch_lambda()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, wrap(app), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
