#!/usr/bin/env python3
"""Small helpers of the host harness that are awkward in bash.

  helper.py env-json FILE               host.env / moto.env (KEY=VALUE, last wins) as JSON
  helper.py env-get FILE KEY            one value of such a file (empty if absent)
  helper.py wait-http URL SECONDS       exit 0 once URL answers any HTTP status
  helper.py put-secret ENDPOINT REGION NAME [--length N]
                                        store a random alphanumeric password as the
                                        Secrets Manager secret NAME (create or update) and
                                        print it; needs boto3 (run with the host venv)
  helper.py gen-password [--length N]   print a random alphanumeric password
  helper.py lambda-code ENDPOINT REGION BUCKET KEY...
                                        a bucket with a tiny deployment package per KEY
                                        (the example repo's Lambda functions need one)
  helper.py an-image ENDPOINT REGION    print the id of an AMI the local EC2 knows
  helper.py bucket-state ENDPOINT REGION BUCKET
                                        what protects a bucket and what it holds, as JSON
  helper.py get-secret ENDPOINT REGION ID
                                        print a secret's current value
  helper.py age-backups ENDPOINT REGION BUCKET PREFIX
                                        rename every backup under PREFIX to a dump taken
                                        4 days ago (a stale backup, for infragen verify)
  helper.py ec-seed ENDPOINT REGION REQUEST
                                        the ElastiCache environment of infragen verify's
                                        request as an apply leaves it (users, replication
                                        group; with moto_plus.py also the parameter group
                                        and the user group)
  helper.py recorded-operations FILE KEY
                                        the AWS operations in moto's recording signed with
                                        the access key id KEY (service:Operation, JSON)
  helper.py ec-node-type ENDPOINT REGION GROUP TYPE
  helper.py ec-parameter ENDPOINT REGION GROUP NAME VALUE
                                        console edits of a replication group's node type
                                        and of a cache parameter

Standard library only, except the subcommands that call AWS (boto3: run them with the
host venv), so boot.sh can run the others with the machine's python3.
"""

import argparse
import base64
import datetime
import json
import pathlib
import secrets
import string
import sys
import time
import urllib.error
import urllib.request


def read_env(path):
    values = {}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            values[key] = value
    return values


def env_json(args):
    values = read_env(args.file)
    out = {}
    for key, value in values.items():
        # PIDs, ports and timings as numbers: the Rust tests deserialize them typed.
        if key.endswith(("_PID", "_PORT", "_RC")):
            out[key] = int(value)
        elif key.endswith("_SECONDS"):
            out[key] = float(value)
        elif key == "HOST_FAILED_UNITS":
            out[key] = [u for u in value.split(",") if u]
        else:
            out[key] = value
    json.dump(out, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def env_get(args):
    print(read_env(args.file).get(args.key, ""))


def wait_http(args):
    deadline = time.monotonic() + args.seconds
    while True:
        try:
            # The harness's own endpoint on loopback, given by its caller.
            with urllib.request.urlopen(args.url, timeout=2):  # noqa: S310
                return 0
        except urllib.error.HTTPError:
            # Any HTTP answer means the server is up (moto answers / with 200 or 404).
            return 0
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                print(f"helper.py: {args.url} did not answer in {args.seconds}s", file=sys.stderr)
                return 1
            time.sleep(0.1)


def gen_password(length):
    # Alphanumeric only: valid for redis.conf, redis-cli and ElastiCache AUTH alike.
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def put_secret(args):
    client = aws_client("secretsmanager", args.endpoint, args.region)
    password = args.value if args.value is not None else gen_password(args.length)
    try:
        client.create_secret(Name=args.name, SecretString=password)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=args.name, SecretString=password)
    print(password)


def aws_client(service, endpoint, region):
    import boto3  # only the AWS subcommands need it

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 -- moto's fixed test credentials
    )


def metrics(args):
    """Every metric of a namespace in the local CloudWatch, with its dimensions and the
    values received in the last hour, as JSON (the host tests read it)."""
    import datetime

    cw = aws_client("cloudwatch", args.endpoint, args.region)
    now = datetime.datetime.now(datetime.UTC)
    out = []
    for m in cw.list_metrics(Namespace=args.namespace)["Metrics"]:
        stats = cw.get_metric_statistics(
            Namespace=args.namespace,
            MetricName=m["MetricName"],
            Dimensions=m["Dimensions"],
            StartTime=now - datetime.timedelta(hours=1),
            EndTime=now + datetime.timedelta(minutes=5),
            Period=60,
            Statistics=["Maximum", "SampleCount"],
        )
        out.append(
            {
                "name": m["MetricName"],
                "dimensions": {d["Name"]: d["Value"] for d in m["Dimensions"]},
                "maximum": max((p["Maximum"] for p in stats["Datapoints"]), default=None),
                "samples": sum(p["SampleCount"] for p in stats["Datapoints"]),
            }
        )
    json.dump(sorted(out, key=lambda m: m["name"]), sys.stdout)
    print()


def make_bucket(args):
    """Creates an S3 bucket in the local endpoint (Terraform would, in an account)."""
    create_bucket(aws_client("s3", args.endpoint, args.region), args.bucket, args.region)


def create_bucket(s3, bucket, region):
    kwargs = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**kwargs)


def make_topic(args):
    """Creates an SNS topic in the local endpoint (a blueprint may name an existing one)."""
    aws_client("sns", args.endpoint, args.region).create_topic(Name=args.name)


def list_objects(args):
    """The keys under a prefix of a bucket in the local endpoint, as JSON."""
    s3 = aws_client("s3", args.endpoint, args.region)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=args.prefix)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    json.dump(sorted(keys), sys.stdout)
    print()


def age_backups(args):
    """Every backup under a prefix renamed to a dump taken 4 days ago (what a backup
    timer stopped for days leaves): copied under the old name, the original deleted."""
    s3 = aws_client("s3", args.endpoint, args.region)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=args.prefix)
    keys = [
        o["Key"] for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".rdb")
    ]
    old = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=4)).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    for key in keys:
        aged = f"{key.rsplit('/', 1)[0]}/dump-{old}.rdb"
        s3.copy_object(Bucket=args.bucket, Key=aged, CopySource={"Bucket": args.bucket, "Key": key})
        s3.delete_object(Bucket=args.bucket, Key=key)
    print(len(keys))


def ec_seed(args):
    """An ElastiCache environment in the local endpoint as `terraform apply` leaves it,
    from infragen verify's request (its `elasticache` part): the users, then the
    replication group. moto ignores NumCacheClusters: its members come from
    ReplicasPerNodeGroup. Where the endpoint has parameter groups and user groups
    (moto_plus.py; plain moto fails CreateCacheParameterGroup), also the parameter
    group with its parameters and the user group of every user, both attached to the
    replication group."""
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError

    want = json.loads(args.request)["elasticache"]
    ec = aws_client("elasticache", args.endpoint, args.region)
    for u in want["users"]:
        ec.create_user(
            UserId=u["user_id"],
            UserName=u["user_name"],
            Engine=want["engine"],
            AccessString=u["access_string"],
            Passwords=["a-stand-in-password-of-16+"],
        )
    group_id = want["replication_group_id"]
    ec.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="seeded for infragen verify",
        Engine=want["engine"],
        EngineVersion=want["engine_version"],
        CacheNodeType=want["node_type"],
        ReplicasPerNodeGroup=want["nodes"] - 1,
        Port=want["port"],
        MultiAZEnabled=want["multi_az"],
        AutomaticFailoverEnabled=want["multi_az"],
        AtRestEncryptionEnabled=want["at_rest_encryption"],
        TransitEncryptionEnabled=want["transit_encryption"],
        SnapshotRetentionLimit=want["snapshot_retention_days"],
        SnapshotWindow=want["snapshot_window"],
        PreferredMaintenanceWindow=want["maintenance_window"],
        AutoMinorVersionUpgrade=want["auto_minor_version_upgrade"],
    )
    pg = want["parameter_group"]
    # The name is <replication group>-<family>-<8 hex>, e.g. voice-campaign-prod-redis7-1a2b3c4d.
    family = pg["name"].removeprefix(group_id + "-").rsplit("-", 1)[0]
    try:
        ec.create_cache_parameter_group(
            CacheParameterGroupName=pg["name"],
            CacheParameterGroupFamily=family,
            Description="seeded for infragen verify",
        )
    except (ClientError, ResponseParserError):
        return  # plain moto answers with an HTML 500: no parameter groups, no user groups
    if pg["parameters"]:
        ec.modify_cache_parameter_group(
            CacheParameterGroupName=pg["name"],
            ParameterNameValues=[
                {"ParameterName": k, "ParameterValue": str(v)} for k, v in pg["parameters"].items()
            ],
        )
    ec.create_user_group(
        UserGroupId=want["user_group_id"],
        Engine=want["engine"],
        UserIds=[u["user_id"] for u in want["users"]],
    )
    ec.modify_replication_group(
        ReplicationGroupId=group_id,
        CacheParameterGroupName=pg["name"],
        UserGroupIdsToAdd=[want["user_group_id"]],
        ApplyImmediately=True,
    )


def ec_parameter(args):
    """Sets one parameter of a cache parameter group, as a console edit would."""
    ec = aws_client("elasticache", args.endpoint, args.region)
    ec.modify_cache_parameter_group(
        CacheParameterGroupName=args.group,
        ParameterNameValues=[{"ParameterName": args.name, "ParameterValue": args.value}],
    )


def ec_node_type(args):
    """Changes the replication group's node type, as a console edit would."""
    ec = aws_client("elasticache", args.endpoint, args.region)
    ec.modify_replication_group(
        ReplicationGroupId=args.group, CacheNodeType=args.node_type, ApplyImmediately=True
    )


def recorded_operations(args):
    """The operations in moto's recording (MOTO_RECORDER_FILEPATH: one JSON request per
    line) signed with the access key id KEY, as sorted `service:Operation` JSON. The
    operation comes from X-Amz-Target, an rpc-v2 path's /operation/X, a query body's
    Action=, or for S3's REST calls the method (`s3:GET`, `s3:HEAD`, `s3:PUT`...)."""
    ops = set()
    with open(args.file, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            entry = json.loads(line)
            headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
            auth = headers.get("authorization", "")
            if f"Credential={args.key}/" not in auth:
                continue
            service = auth.split("Credential=", 1)[1].split("/")[3]
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            url = entry.get("url", "")
            if "x-amz-target" in headers:
                op = headers["x-amz-target"].rsplit(".", 1)[-1]
            elif "/operation/" in url:
                op = url.split("/operation/", 1)[1].split("?")[0].split("/")[0]
            elif "Action=" in body:
                op = body.split("Action=", 1)[1].split("&")[0]
            else:
                op = entry.get("method", "?")
            ops.add(f"{service}:{op}")
    json.dump(sorted(ops), sys.stdout)
    print()


def get_object(args):
    """Downloads one object of the local endpoint to a file."""
    aws_client("s3", args.endpoint, args.region).download_file(args.bucket, args.key, args.file)


def put_object(args):
    """Uploads a file (or, with --text, a string) as one object of the local endpoint.

    With --lift-policy, the bucket's policy is taken off for the upload and put back as it
    was: moto applies a Deny statement whatever its condition, so a bucket that denies
    only plain HTTP refuses every upload there (AWS accepts it over TLS)."""
    s3 = aws_client("s3", args.endpoint, args.region)
    policy = None
    if args.lift_policy:
        policy = s3.get_bucket_policy(Bucket=args.bucket)["Policy"]
        s3.delete_bucket_policy(Bucket=args.bucket)
    try:
        if args.text is not None:
            s3.put_object(Bucket=args.bucket, Key=args.key, Body=args.text.encode())
        else:
            s3.upload_file(args.file, args.bucket, args.key)
    finally:
        if policy is not None:
            s3.put_bucket_policy(Bucket=args.bucket, Policy=policy)


def lambda_code(args):
    """A bucket holding a minimal deployment package under each key."""
    import io
    import zipfile

    s3 = aws_client("s3", args.endpoint, args.region)
    create_bucket(s3, args.bucket, args.region)
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return None\n")
    for key in args.keys:
        s3.put_object(Bucket=args.bucket, Key=key, Body=package.getvalue())


def an_image(args):
    """An AMI id of the local EC2 (it refuses instances of images it does not know)."""
    ec2 = aws_client("ec2", args.endpoint, args.region)
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    print(sorted(i["ImageId"] for i in images)[0])


def bucket_state(args):
    """Whether a bucket exists, its protections and its object versions, as JSON."""
    from botocore.exceptions import ClientError

    s3 = aws_client("s3", args.endpoint, args.region)

    def get(call, key, **kw):
        try:
            return call(Bucket=args.bucket, **kw).get(key)
        except ClientError as e:
            if e.response["Error"]["Code"] in ("NoSuchBucket", "404"):
                raise
            return None

    try:
        s3.head_bucket(Bucket=args.bucket)
    except ClientError:
        json.dump({"exists": False}, sys.stdout)
        print()
        return
    versions = s3.list_object_versions(Bucket=args.bucket)
    out = {
        "exists": True,
        "versioning": s3.get_bucket_versioning(Bucket=args.bucket).get("Status"),
        "lifecycle_rules": len(get(s3.get_bucket_lifecycle_configuration, "Rules") or []),
        "encryption": get(s3.get_bucket_encryption, "ServerSideEncryptionConfiguration")
        is not None,
        "public_access_block": get(s3.get_public_access_block, "PublicAccessBlockConfiguration"),
        "policy": get(s3.get_bucket_policy, "Policy") is not None,
        "ownership": get(s3.get_bucket_ownership_controls, "OwnershipControls") is not None,
        "objects": sorted(v["Key"] for v in versions.get("Versions", []) if v["IsLatest"]),
    }
    json.dump(out, sys.stdout, sort_keys=True)
    print()


def lift_policy(args):
    """Takes a bucket's policy off and writes it to a file (moto applies a Deny whatever
    its condition: see put_object); put-policy puts it back."""
    s3 = aws_client("s3", args.endpoint, args.region)
    policy = s3.get_bucket_policy(Bucket=args.bucket)["Policy"]
    pathlib.Path(args.file).write_text(policy)
    s3.delete_bucket_policy(Bucket=args.bucket)


def put_policy(args):
    """Puts back a policy lift-policy took off."""
    s3 = aws_client("s3", args.endpoint, args.region)
    s3.put_bucket_policy(Bucket=args.bucket, Policy=pathlib.Path(args.file).read_text())


def get_secret(args):
    """The current value of a secret of the local Secrets Manager."""
    sm = aws_client("secretsmanager", args.endpoint, args.region)
    # The label named: moto answers an unlabelled read with the version last written.
    print(sm.get_secret_value(SecretId=args.id, VersionStage="AWSCURRENT")["SecretString"])


def get_parameter(args):
    """The value of an SSM parameter of the local AWS (the published CA bundle)."""
    ssm = aws_client("ssm", args.endpoint, args.region)
    print(ssm.get_parameter(Name=args.name)["Parameter"]["Value"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("env-json")
    p.add_argument("file")
    p.set_defaults(func=env_json)
    p = sub.add_parser("env-get")
    p.add_argument("file")
    p.add_argument("key")
    p.set_defaults(func=env_get)
    p = sub.add_parser("wait-http")
    p.add_argument("url")
    p.add_argument("seconds", type=float)
    p.set_defaults(func=wait_http)
    p = sub.add_parser("put-secret")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("name")
    p.add_argument("--length", type=int, default=32)
    p.add_argument("--value", help="store this value instead of a random one")
    p.set_defaults(func=put_secret)
    p = sub.add_parser("metrics")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("namespace")
    p.set_defaults(func=metrics)
    p = sub.add_parser("make-bucket")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("bucket")
    p.set_defaults(func=make_bucket)
    p = sub.add_parser("make-topic")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("name")
    p.set_defaults(func=make_topic)
    p = sub.add_parser("list-objects")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("bucket")
    p.add_argument("prefix")
    p.set_defaults(func=list_objects)
    p = sub.add_parser("ec-seed")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("request")
    p.set_defaults(func=ec_seed)
    p = sub.add_parser("ec-node-type")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("group")
    p.add_argument("node_type")
    p.set_defaults(func=ec_node_type)
    p = sub.add_parser("ec-parameter")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("group")
    p.add_argument("name")
    p.add_argument("value")
    p.set_defaults(func=ec_parameter)
    p = sub.add_parser("recorded-operations")
    p.add_argument("file")
    p.add_argument("key")
    p.set_defaults(func=recorded_operations)
    p = sub.add_parser("age-backups")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("bucket")
    p.add_argument("prefix")
    p.set_defaults(func=age_backups)
    for name, func in (("get-object", get_object), ("put-object", put_object)):
        p = sub.add_parser(name)
        p.add_argument("endpoint")
        p.add_argument("region")
        p.add_argument("bucket")
        p.add_argument("key")
        p.add_argument("file", nargs="?")
        if name == "put-object":
            p.add_argument("--text")
            p.add_argument("--lift-policy", action="store_true")
        p.set_defaults(func=func)
    p = sub.add_parser("lambda-code")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("bucket")
    p.add_argument("keys", nargs="+")
    p.set_defaults(func=lambda_code)
    p = sub.add_parser("an-image")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.set_defaults(func=an_image)
    p = sub.add_parser("bucket-state")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("bucket")
    p.set_defaults(func=bucket_state)
    for name, func in (("lift-policy", lift_policy), ("put-policy", put_policy)):
        p = sub.add_parser(name)
        p.add_argument("endpoint")
        p.add_argument("region")
        p.add_argument("bucket")
        p.add_argument("file")
        p.set_defaults(func=func)
    p = sub.add_parser("get-secret")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("id")
    p.set_defaults(func=get_secret)
    p = sub.add_parser("get-parameter")
    p.add_argument("endpoint")
    p.add_argument("region")
    p.add_argument("name")
    p.set_defaults(func=get_parameter)
    p = sub.add_parser("gen-password")
    p.add_argument("--length", type=int, default=32)
    p.set_defaults(func=lambda a: print(gen_password(a.length)))
    args = parser.parse_args()
    sys.exit(args.func(args) or 0)


if __name__ == "__main__":
    main()
