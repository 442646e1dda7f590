"""Sets up one isolated account in the emulator for a test of tightrole's live sources.

Reads a JSON spec on stdin and prints credentials for the account as JSON (a session of its own,
not the one that did the setup), with what was created under `Created` (queue and stream ARNs,
event-source mappings). The spec:

  endpoint        the emulator's URL
  account         a fresh 12-digit account; AssumeRole into it isolates the test
  region          the region of everything created
  trail           {"src": DIR, "from_account": ID, "out": DIR, "management_out": DIR}:
                  copies the trail files in DIR with the account rewritten into `out` (and, when
                  given, only their management events into `management_out`)
  bucket          a bucket to create, with `out`'s files uploaded under the same relative keys
  policies        a folder of ROLE.json policy files: a role per file, with the file as its
                  inline policy `current`
  queues          SQS queue names to create (before the functions)
  streams         Kinesis stream names to create (one shard each)
  functions       [{"name", "role", "config"}]: Lambda functions to create (the role is a role
                  name); `config` is added to CreateFunction's parameters as it is (after
                  `resolve`), e.g. {"DeadLetterConfig": {"TargetArn": "queue:dlq"}}
  mappings        [{"function", "source", "on_failure", "starting_position"}]: event-source
                  mappings (`source` and `on_failure` as `resolve` takes them)
  invoke_configs  [{"function", "on_success", "on_failure"}]: PutFunctionEventInvokeConfig
  inventory_out   writes `aws lambda list-functions`, `list-event-source-mappings` and each
                  function's `list-function-event-invoke-configs` output (all pages) here
  auth_details_out  writes `aws iam get-account-authorization-details` output (all pages) here
  sessions        N more sessions of the account for the tool (printed under `Sessions`), so
                  that a test's later step can match faults to requests that an earlier step,
                  cancelled and still in flight, cannot take
  days            {"first": "YYYY-MM-DD", "count": N, "region": R, "per_day": K}: instead of
                  a trail, K (default 1) small trail files per day in the layout, one record each
"""

import gzip
import io
import json
import os
import sys
import zipfile
from datetime import date, timedelta

import boto3


def client(service, spec, creds=None):
    kw = dict(endpoint_url=spec["endpoint"], region_name=spec.get("region", "us-east-1"))
    if creds:
        kw.update(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    else:
        kw.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client(service, **kw)


def resolve(v, arns):
    """`queue:NAME` and `stream:NAME`, anywhere in `v`, as the ARN of what was created."""
    if isinstance(v, str) and v.split(":", 1)[0] in ("queue", "stream"):
        return arns[v]
    if isinstance(v, dict):
        return {k: resolve(x, arns) for k, x in v.items()}
    if isinstance(v, list):
        return [resolve(x, arns) for x in v]
    return v


def rewrite(data, old, new):
    return data.replace(old.encode(), new.encode())


def copy_trail(t, account):
    out_files = []
    for root, _, files in os.walk(t["src"]):
        for name in sorted(files):
            src = os.path.join(root, name)
            rel = os.path.relpath(src, t["src"]).replace(t["from_account"], account)
            raw = open(src, "rb").read()
            text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            text = rewrite(text, t["from_account"], account)
            for key, keep in (("out", None), ("management_out", "management")):
                if key not in t:
                    continue
                body = text
                if keep:
                    doc = json.loads(text)
                    doc["Records"] = [r for r in doc["Records"] if r.get("managementEvent") is not False]
                    if not doc["Records"]:
                        continue
                    body = json.dumps(doc).encode()
                dst = os.path.join(t[key], rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                with open(dst, "wb") as f:
                    f.write(gzip.compress(body, mtime=0))
                if key == "out":
                    out_files.append((rel, dst))
    return out_files


def day_files(d, account):
    """One tiny trail file per day, for listing tests."""
    first = date.fromisoformat(d["first"])
    for n in range(d["count"] * d.get("per_day", 1)):
        i, j = divmod(n, d.get("per_day", 1))
        day = first + timedelta(days=i)
        rel = (
            f"AWSLogs/{account}/CloudTrail/{d['region']}/{day:%Y/%m/%d}/"
            f"{account}_CloudTrail_{d['region']}_{day:%Y%m%d}T0000Z_{j:05d}.json.gz"
        )
        rec = {
            "eventVersion": "1.09",
            "eventTime": f"{day:%Y-%m-%d}T12:00:00Z",
            "eventSource": "sts.amazonaws.com",
            "eventName": "GetCallerIdentity",
            "awsRegion": d["region"],
            "recipientAccountId": account,
            "eventID": f"day-{i}-{j}",
            "userIdentity": {
                "type": "IAMUser",
                "accountId": account,
                "arn": f"arn:aws:iam::{account}:user/day-reader",
                "userName": "day-reader",
            },
        }
        yield rel, gzip.compress(json.dumps({"Records": [rec]}).encode(), mtime=0)


def main():
    spec = json.load(sys.stdin)
    account = spec["account"]
    sts = client("sts", spec)

    def session():
        """A new session of the account's test role: its credentials."""
        c = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/tightrole-test", RoleSessionName="tightrole-test"
        )["Credentials"]
        return {k: c[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}

    creds = session()
    # A second session for the tool under test, so that its own calls can be told apart from
    # the setup's (GET /_tightrole/trail?access_key=… lists them).
    tool = session()
    sessions = [session() for _ in range(spec.get("sessions", 0))]

    if "bucket" in spec:
        s3 = client("s3", spec, creds)
        region = spec.get("region", "us-east-1")
        if region == "us-east-1":
            s3.create_bucket(Bucket=spec["bucket"])
        else:
            s3.create_bucket(
                Bucket=spec["bucket"], CreateBucketConfiguration={"LocationConstraint": region}
            )
        uploads = []
        if "trail" in spec:
            uploads = [(rel, open(path, "rb").read()) for rel, path in copy_trail(spec["trail"], account)]
        if "days" in spec:
            uploads = list(day_files(spec["days"], account))
        for rel, body in uploads:
            s3.put_object(Bucket=spec["bucket"], Key=rel.replace(os.sep, "/"), Body=body)

    created, arns = {}, {}
    for name in spec.get("queues", []):
        sqs = client("sqs", spec, creds)
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        arns[f"queue:{name}"] = arn
        created.setdefault("queues", {})[name] = arn
    for name in spec.get("streams", []):
        kinesis = client("kinesis", spec, creds)
        kinesis.create_stream(StreamName=name, ShardCount=1)
        arn = kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]
        arns[f"stream:{name}"] = arn
        created.setdefault("streams", {})[name] = arn

    if "policies" in spec or "functions" in spec:
        iam = client("iam", spec, creds)
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        )
        roles = {}
        for name in sorted(os.listdir(spec.get("policies", "/nonexistent")) if "policies" in spec else []):
            if not name.endswith(".json"):
                continue
            role = name[: -len(".json")]
            roles[role] = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
            doc = open(os.path.join(spec["policies"], name)).read()
            iam.put_role_policy(RoleName=role, PolicyName="current", PolicyDocument=doc)
        lam = client("lambda", spec, creds)
        for f in spec.get("functions", []):
            if f["role"] not in roles:
                roles[f["role"]] = iam.create_role(RoleName=f["role"], AssumeRolePolicyDocument=trust)[
                    "Role"
                ]["Arn"]
            code = io.BytesIO()
            with zipfile.ZipFile(code, "w") as z:
                z.writestr("index.py", "def handler(event, context):\n    return None\n")
            lam.create_function(
                FunctionName=f["name"],
                Runtime="python3.12",
                Role=roles[f["role"]],
                Handler="index.handler",
                Code={"ZipFile": code.getvalue()},
                **resolve(f.get("config", {}), arns),
            )
        for m in spec.get("mappings", []):
            kw = dict(FunctionName=m["function"], EventSourceArn=resolve(m["source"], arns))
            if "on_failure" in m:
                kw["DestinationConfig"] = {"OnFailure": {"Destination": resolve(m["on_failure"], arns)}}
            if "starting_position" in m:
                kw["StartingPosition"] = m["starting_position"]
            esm = lam.create_event_source_mapping(**kw)
            created.setdefault("mappings", []).append(
                {"function": m["function"], "uuid": esm["UUID"], "source": esm["EventSourceArn"]}
            )
        for c in spec.get("invoke_configs", []):
            dest = {}
            for key, on in (("on_success", "OnSuccess"), ("on_failure", "OnFailure")):
                if key in c:
                    dest[on] = {"Destination": resolve(c[key], arns)}
            lam.put_function_event_invoke_config(FunctionName=c["function"], DestinationConfig=dest)

    if "inventory_out" in spec:
        lam = client("lambda", spec, creds)
        with open(spec["inventory_out"], "w") as f:
            names = []
            for op in ("list_functions", "list_event_source_mappings"):
                for page in lam.get_paginator(op).paginate():
                    page.pop("ResponseMetadata", None)
                    names += [x["FunctionName"] for x in page.get("Functions", [])]
                    json.dump(page, f, default=str)
                    f.write("\n")
            for name in names:
                for page in lam.get_paginator("list_function_event_invoke_configs").paginate(FunctionName=name):
                    page.pop("ResponseMetadata", None)
                    json.dump(page, f, default=str)
                    f.write("\n")

    if "auth_details_out" in spec:
        iam = client("iam", spec, creds)
        pages = iam.get_paginator("get_account_authorization_details").paginate()
        with open(spec["auth_details_out"], "w") as f:
            for page in pages:
                page.pop("ResponseMetadata", None)
                json.dump(page, f, default=str)
                f.write("\n")

    json.dump({**tool, "Created": created, "Sessions": sessions}, sys.stdout)


if __name__ == "__main__":
    main()
