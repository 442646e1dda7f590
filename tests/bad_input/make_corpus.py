#!/usr/bin/env python3
"""Writes the bad-input corpus in this directory (run from here). Deterministic."""
import gzip, io, json

R = lambda name="GetObject", **kw: dict({"eventVersion": "1.09", "userIdentity": {"type": "IAMUser", "accountId": "111122223333", "arn": "arn:aws:iam::111122223333:user/bob"}, "eventTime": "2026-11-02T10:00:00Z", "eventSource": "s3.amazonaws.com", "eventName": name, "awsRegion": "eu-west-1", "requestParameters": {"bucketName": "b", "key": "k"}, "eventID": "e-" + name, "recipientAccountId": "111122223333"}, **kw)
good = R()


def w(name, data):
    open(name, "wb" if isinstance(data, bytes) else "w").write(data)


def gz(b):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as f:
        f.write(b)
    return out.getvalue()


doc = lambda recs: json.dumps({"Records": recs})
w("empty-file.json", "")
w("zero-byte.json.gz", b"")
w("gzip-of-nothing.json.gz", gz(b""))
many = [R("GetObject")] + [R("PutObject", requestParameters={"bucketName": "b", "key": f"k{i:04}"}) for i in range(400)]
z = gz(doc(many).encode())
w("truncated-mid-stream.json.gz", z[: len(z) * 2 // 3])
w("concatenated-members.json.gz", gz(doc([R("GetObject")]).encode()) + gz(doc([R("PutObject")]).encode()))
w("gzip-holding-text.json.gz", gz(b"this is not json at all\n"))
w("invalid-utf8-in-a-string.json", doc([R(requestParameters={"bucketName": "b", "key": "XX"}), R("PutObject")]).encode().replace(b'"XX"', b'"\xff\xfe"'))
w("records-not-an-array.json", json.dumps({"Records": {"eventName": "GetObject"}}))
for field in ["eventSource", "eventName", "eventTime", "userIdentity"]:
    r = R()
    del r[field]
    w(f"record-missing-{field}.json", doc([r, R("PutObject")]))
w("eventtime-a-number.json", doc([R(eventTime=1761998400), R("PutObject")]))
w("eventtime-not-a-date.json", doc([R(eventTime="2026-13-45T99:00:00Z"), R("PutObject")]))
w("resources-an-object.json", doc([R(resources={"ARN": "arn:aws:s3:::b/k"}), R("PutObject")]))
w("unknown-event-version.json", doc([R(eventVersion="2.0")]))
w("digest-file.json", json.dumps({"awsAccountId": "111122223333", "digestStartTime": "2026-11-02T10:00:00Z", "digestEndTime": "2026-11-02T11:00:00Z", "digestS3Bucket": "trail", "digestS3Object": "AWSLogs/x.json.gz", "digestPublicKeyFingerprint": "abc", "digestSignatureAlgorithm": "SHA256withRSA", "logFiles": []}))
w("insights-file.json", doc([{"eventVersion": "1.08", "eventTime": "2026-11-02T10:00:00Z", "awsRegion": "eu-west-1", "eventID": "i-1", "eventType": "AwsCloudTrailInsight", "recipientAccountId": "111122223333", "sharedEventID": "s", "insightDetails": {"state": "Start", "eventSource": "s3.amazonaws.com", "eventName": "PutObject", "insightType": "ApiCallRateInsight"}, "eventCategory": "Insight"}]))
w("not-json.json", "hello, world\n")
w("array-of-numbers.json", "[1, 2, 3]")
w("some-other-json.json", json.dumps({"region": "eu-west-1", "buckets": ["a", "b"]}))
w("lookup-event-without-cloudtrailevent.json", json.dumps({"Events": [{"EventId": "1", "EventName": "GetObject"}, {"EventId": "2", "CloudTrailEvent": json.dumps(R("PutObject"))}]}))
w("eventbridge-not-cloudtrail.json", json.dumps({"version": "0", "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {"instance-id": "i-1", "state": "running"}}))
w("bom-prefixed.json", "\ufeff" + doc([good]))
w("crlf-json-lines.jsonl", "\r\n".join(json.dumps(R(n)) for n in ["GetObject", "PutObject"]) + "\r\n")
w("trailing-garbage.json", doc([good]) + " }}}garbage")
w("records-inside-an-array.json", json.dumps([{"Records": [good]}]))
w("null-event-name.json", doc([R(eventName=None), R("PutObject")]))
w("duplicate-keys-in-a-record.json", doc([good]).replace('"eventName": "GetObject"', '"eventName": "GetObject", "eventName": "PutObject"'))
w("json-lines-with-a-broken-line.jsonl", json.dumps(R("GetObject")) + '\n{"eventName": \n' + json.dumps(R("PutObject")) + "\n")
P = lambda st: json.dumps({"Version": "2012-10-17", "Statement": st})
w("policy-duplicate-keys.json", '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}],"Statement":[]}')
w("policy-statement-an-object.json", json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["dynamodb:PutItem", "secretsmanager:GetSecretValue", "kms:Decrypt", "logs:CreateLogStream"], "Resource": "*"}}))
w("policy-not-principal.json", P([{"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "*", "Resource": "*"}, {"Effect": "Allow", "Action": "*", "Resource": "*"}]))
w("policy-unknown-condition-operator.json", P([{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringSoundsLike": {"aws:RequestedRegion": "eu-west-1"}}}]))
w("policy-action-and-notaction.json", P([{"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}]))
w("policy-bad-url-encoding.json", "%7B%22Statement%ZZ")
w("policy-effect-maybe.json", P([{"Effect": "Maybe", "Action": "s3:*", "Resource": "*"}]))
w("authorization-details-from-another-tool.json", json.dumps({"account_id": "111122223333", "roles": [{"name": "payments-role", "policies": [{"name": "p", "document": {"Statement": []}}]}]}))
w("authorization-details-missing-managed-policy.json", json.dumps({"RoleDetailList": [{"RoleName": "payments-role", "Arn": "arn:aws:iam::111122223333:role/payments-role", "RolePolicyList": [], "AttachedManagedPolicies": [{"PolicyName": "Gone", "PolicyArn": "arn:aws:iam::aws:policy/Gone"}]}], "Policies": []}))
# non-ASCII names (cut on character boundaries, never by byte) and control characters from the
# log (shown as escapes, never sent raw to the terminal): keys, a user name, a bad eventTime
w("non-ascii-and-control-names.json", doc([
    R(requestParameters={"bucketName": "b", "key": "写真/猫.jpg"}),
    R(requestParameters={"bucketName": "b", "key": "猫の写真" * 6 + ".jpg"}),
    R(requestParameters={"bucketName": "b", "key": "x\u001b[31mred\r\b\u202etxt.exe"}),
    R("PutObject", userIdentity={"type": "IAMUser", "accountId": "111122223333", "arn": "arn:aws:iam::111122223333:user/写真係", "userName": "写真係"}),
    R(eventTime="2026\u001b[2J"),
]))
# exports from other systems (docs/inputs.md): each with good records and the ways it breaks
S = lambda who="orders-api", **kw: R(userIdentity={"type": "AssumedRole", "principalId": "AROAEXAMPLEID:" + who, "accountId": "111122223333", "arn": "arn:aws:sts::111122223333:assumed-role/orders-role/" + who, "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID", "arn": "arn:aws:iam::111122223333:role/orders-role", "accountId": "111122223333", "userName": "orders-role"}}}, **kw)
ENGINE_IDENTITY = "{type=AssumedRole, principalid=AROAEXAMPLEID:orders-api, arn=arn:aws:sts::111122223333:assumed-role/orders-role/orders-api, accountid=111122223333, accesskeyid=ASIAEXAMPLE, username=null, sessioncontext={attributes={creationdate=2026-11-02 09:00:00.000, mfaauthenticated=false}, sessionissuer={type=Role, principalid=AROAEXAMPLEID, arn=arn:aws:iam::111122223333:role/orders-role, accountid=111122223333, username=orders-role}, sourceidentity=null, ec2roledelivery=null, ec2issuedinvpc=null}, invokedby=null, identityprovider=null, credentialid=null, onbehalfof=null}"


def lake_row(rec, **over):
    cells = []
    for k, v in dict(rec, **over).items():
        if k == "eventTime":
            v = v.replace("T", " ").replace("Z", ".000")
        cells.append({k: v if isinstance(v, str) else json.dumps(v)})
    return cells


w("lake-query-results.json", json.dumps({"QueryStatus": "FINISHED", "QueryStatistics": {"ResultsCount": 5, "TotalResultsCount": 5, "BytesScanned": 4096}, "QueryResultRows": [
    lake_row(S("orders-api", eventName="GetObject")),
    lake_row(S("orders-api", eventName="PutObject"), userIdentity=ENGINE_IDENTITY, resources="[{accountid=111122223333, type=AWS::S3::Object, arn=arn:aws:s3:::b/k}]"),
    lake_row(S("orders-api", eventName="DeleteObject"), userIdentity="{type=AssumedRole, arn=arn:aws:sts::111122223333:assumed-role/orders-role/orders-api, sessioncontext={"),
    [c for c in lake_row(R("ListBucket")) if "eventSource" not in c],
    {"eventName": "GetObject"},
]}))
raw = lambda rec: json.dumps(rec)
deep_envelope = raw(R("HeadObject"))
for _ in range(6):
    deep_envelope = json.dumps({"_raw": deep_envelope})
w("splunk-export-with-a-malformed-raw.json", "".join(json.dumps(line) + "\n" for line in [
    {"preview": False, "result": {"_time": "2026-11-02T10:00:00.000+00:00", "sourcetype": "aws:cloudtrail", "_raw": raw(R("GetObject"))}},
    {"preview": False, "result": {"_time": "2026-11-02T10:00:00.000+00:00", "_raw": raw(R("PutObject"))[:-40]}},
    {"preview": False, "result": {"_raw": deep_envelope}},
    {"preview": False, "result": {"_raw": "Nov  2 10:00:00 host sshd[1]: accepted publickey"}},
    {"preview": False, "lastrow": True, "result": {"_raw": raw(R("DeleteObject"))}},
]))
w("splunk-hec-events.jsonl", "".join(json.dumps(line) + "\n" for line in [
    {"time": 1793613600, "sourcetype": "aws:cloudtrail", "event": R("GetObject")},
    {"time": 1793613600, "sourcetype": "aws:cloudtrail", "event": raw(R("PutObject"))},
    {"time": 1793613600, "sourcetype": "aws:cloudtrail", "event": "{\"eventName\": \"DeleteObject\", \"eventSource\": "},
    {"time": 1793613600, "sourcetype": "aws:cloudtrail", "event": {"eventName": 7, "eventSource": "s3.amazonaws.com"}},
]))
w("cloudwatch-log-events.json", json.dumps({"events": [
    {"logStreamName": "111122223333_CloudTrail_eu-west-1", "timestamp": 1793613600000, "message": raw(R("GetObject")), "ingestionTime": 1793613600500, "eventId": "1"},
    {"logStreamName": "111122223333_CloudTrail_eu-west-1", "timestamp": 1793613600000, "message": "START RequestId: 0b1c Version: $LATEST", "eventId": "2"},
    {"logStreamName": "111122223333_CloudTrail_eu-west-1", "timestamp": 1793613600000, "message": raw(R("PutObject")).replace("\"eventSource\": \"s3.amazonaws.com\"", "\"eventSource\": s3"), "eventId": "3"},
], "searchedLogStreams": []}))
w("export-time-spellings.jsonl", "".join(json.dumps(R(n, eventTime=t)) + "\n" for n, t in [
    ("GetObject", "2026-11-02 10:00:00.000"),
    ("PutObject", "2026-11-02 10:00:00.000000000 +0000"),
    ("DeleteObject", "2026-11-02T11:00:00.000+01:00"),
    ("HeadObject", "2026-11-02 10:00:00 UTC"),
    ("ListBucket", "2026-11-02 10:00"),
]) + json.dumps({k: v for k, v in R("GetObjectTagging").items() if k != "eventTime"}) + "\n")
no_arn = lambda rec: dict(rec, userIdentity={k: v for k, v in rec["userIdentity"].items() if k != "arn"})
w("session-without-arn.json", doc([
    no_arn(S("orders-api", eventName="GetObject", userAgent="aws-sdk-js/3 exec-env/AWS_Lambda_nodejs20.x")),
    no_arn(S("jane@example.com", eventName="PutObject")),
    R("DeleteObject", userIdentity={"type": "AssumedRole", "principalId": "AROAEXAMPLEID:orders-api", "accountId": "111122223333"}),
]))
