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
