"""Runs tightrole's push-down SQL (DuckDB dialect) on CloudTrail files with DuckDB.

Usage: python tests/athena/duckdb_run.py SQL_FILE TRAIL_DIR TABLE

Defines TABLE as a view with the columns, types and partition columns of the Athena CloudTrail
table that `tightrole athena ddl` prints (`useridentity` a struct, `requestparameters` the JSON
text, `resources` a list of structs, and `account`, `region`, `timestamp` read from the S3
layout of each file's path), runs the SQL, and prints {"columns": [...], "rows": [[...]]} with
every value as text or null, as Athena's GetQueryResults gives them.
"""

import json
import sys

import duckdb

VIEW = """
CREATE VIEW {table} AS
WITH files AS (
    SELECT filename, unnest(Records) AS r
    FROM read_json('{trail}/**/*.json*', columns = {{'Records': 'JSON[]'}}, filename = true,
                   maximum_object_size = 1073741824)
)
SELECT
    r->>'eventVersion' AS eventversion,
    struct_pack(
        type := r->'userIdentity'->>'type',
        principalid := r->'userIdentity'->>'principalId',
        arn := r->'userIdentity'->>'arn',
        accountid := r->'userIdentity'->>'accountId',
        invokedby := r->'userIdentity'->>'invokedBy',
        accesskeyid := r->'userIdentity'->>'accessKeyId',
        username := r->'userIdentity'->>'userName',
        sessioncontext := struct_pack(
            sessionissuer := struct_pack(
                type := r->'userIdentity'->'sessionContext'->'sessionIssuer'->>'type',
                arn := r->'userIdentity'->'sessionContext'->'sessionIssuer'->>'arn',
                username := r->'userIdentity'->'sessionContext'->'sessionIssuer'->>'userName'
            )
        )
    ) AS useridentity,
    r->>'eventTime' AS eventtime,
    r->>'eventSource' AS eventsource,
    r->>'eventName' AS eventname,
    r->>'awsRegion' AS awsregion,
    r->>'sourceIPAddress' AS sourceipaddress,
    r->>'userAgent' AS useragent,
    r->>'errorCode' AS errorcode,
    r->>'errorMessage' AS errormessage,
    CASE WHEN json_type(r->'requestParameters') IS NULL OR json_type(r->'requestParameters') = 'NULL'
         THEN NULL ELSE CAST(r->'requestParameters' AS VARCHAR) END AS requestparameters,
    CASE WHEN json_type(r->'responseElements') IS NULL OR json_type(r->'responseElements') = 'NULL'
         THEN NULL ELSE CAST(r->'responseElements' AS VARCHAR) END AS responseelements,
    r->>'eventID' AS eventid,
    CASE WHEN json_type(r->'resources') = 'ARRAY' THEN
        list_transform(from_json(r->'resources', '["JSON"]'),
            lambda x: struct_pack(arn := x->>'ARN', accountid := x->>'accountId', type := x->>'type'))
    END AS resources,
    r->>'eventType' AS eventtype,
    r->>'recipientAccountId' AS recipientaccountid,
    r->>'eventCategory' AS eventcategory,
    regexp_extract(filename, 'AWSLogs/(?:o-[a-z0-9]+/)?([0-9]{{12}})/CloudTrail/', 1) AS account,
    regexp_extract(filename, '/CloudTrail/([a-z0-9-]+)/', 1) AS region,
    regexp_extract(filename, '/CloudTrail/[a-z0-9-]+/([0-9]{{4}}/[0-9]{{2}}/[0-9]{{2}})/', 1) AS "timestamp"
FROM files
"""


def text(v):
    if v is None:
        return None
    return str(v)


def main():
    sql_file, trail, table = sys.argv[1:4]
    con = duckdb.connect()
    con.execute(VIEW.format(table=table, trail=trail.rstrip("/")))
    cur = con.execute(open(sql_file).read())
    columns = [d[0] for d in cur.description]
    rows = [[text(v) for v in row] for row in cur.fetchall()]
    json.dump({"columns": columns, "rows": rows}, sys.stdout)


if __name__ == "__main__":
    main()
