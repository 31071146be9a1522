#!/usr/bin/env python3
"""Conformance of a KVS-compatible endpoint, judged by AWS's own Python clients (boto3/botocore, AWS CLI).

Usage:
    kvs_conformance.py [ENDPOINT] [--config JSON] [--plan | --list]

ENDPOINT defaults to $KVS_ENDPOINT. --config (or $KVS_CONFORMANCE_CONFIG) is a JSON object overriding
DEFAULT_CONFIG below: the streams the endpoint must already serve. --plan prints only the plan line,
--list the plan line and each case's op, name and source, without calling anything.

Output, on stdout, one JSON object a line:
    {"plan": N, "python": ..., "botocore": ..., "cli": bool}         first: how many cases follow
    {"op": ..., "case": ..., "source": ..., "ok": bool, "detail": ...} one per case
The exit status is 0 whatever the cases say (the caller judges); 2 for a usage error.

Every call goes through botocore's real serializers and parsers. The raw HTTP response of each call is
also checked against botocore's service model: the output shape's members (unknown and required ones),
types, enums, min/max (lengths and values) and patterns (Smithy patterns are not anchored: re.search);
errors against the operation's modeled errors (operation_model.error_shapes): the error code must be one
of them and the HTTP status the one the model gives that error. Client-side parameter validation is
turned off where a case sends what the service itself must reject.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# The streams the endpoint must serve when the script starts (see conformance.test.ts).
DEFAULT_CONFIG = {
    # H.264 + AAC (fixtures/generated/h264_aac.mkv: fragments at producer 0.021 s and 0.938 s), tagged.
    "h264": "conf-h264",
    "h264Tags": {"owner": "conformance", "camera": "front-door"},
    "h264MediaType": "video/h264,audio/aac",
    # H.264 video only, several 2-s fragments (fixtures/clusters.mkv): GetClip, GetImages, HLS, DASH.
    "video": "conf-video",
    # At least `manyMin` small fragments (MJPEG + PCM: no codec GetClip/HLS/DASH can package).
    "many": "conf-many",
    "manyMin": 300,
    # Streams whose names begin with `prefix` (ListStreams StreamNameCondition); tagged by the script.
    "prefix": "conf-x-",
    "prefixed": ["conf-x-1", "conf-x-2", "conf-x-3"],
}

REGION = "us-east-1"
CREDS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
API_NAMES = [
    "PUT_MEDIA",
    "GET_MEDIA",
    "LIST_FRAGMENTS",
    "GET_MEDIA_FOR_FRAGMENT_LIST",
    "GET_HLS_STREAMING_SESSION_URL",
    "GET_DASH_STREAMING_SESSION_URL",
    "GET_CLIP",
    "GET_IMAGES",
]
EBML_MAGIC = b"\x1a\x45\xdf\xa3"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
# Model patterns that the service's documented, real responses do not match; checked by semantics instead.
PATTERN_WAIVERS = {
    "ContentType": "the model's ContentType pattern ^[a-zA-Z0-9_.-]+$ rejects the '/' of every real media type "
    "(video/webm, video/mp4); the header is checked for presence and by the media it announces",
}


class Fail(Exception):
    """A case's verdict: not conformant, with what is wrong."""


def fail(msg):
    raise Fail(msg)


# ---------------------------------------------------------------- model checks


def _py_pattern(pattern):
    """A Smithy/Java pattern as a Python one (Unicode classes widened: lenient, never stricter)."""
    p = pattern.replace(r"\p{L}", r"\w").replace(r"\p{N}", r"\d").replace(r"\p{Z}", r"\s")
    try:
        return re.compile(p)
    except re.error:
        return None


def walk(shape, value, path, out):
    """Checks a raw JSON value against a botocore shape; appends violations (strings) to `out`."""
    t = shape.type_name
    meta = shape.metadata
    if value is None:
        out.append(f"{path}: null where the model has a {t} ({shape.name}); a member without a value is omitted")
        return
    if t == "structure":
        if not isinstance(value, dict):
            out.append(f"{path}: {type(value).__name__} where the model has structure {shape.name}")
            return
        for k in shape.required_members:
            if k not in value:
                out.append(f"{path}.{k}: required member of {shape.name} is missing")
        for k, v in value.items():
            m = shape.members.get(k)
            if m is None:
                out.append(f"{path}.{k}: not a member of {shape.name} (members: {', '.join(shape.members)}); the SDK drops it")
                continue
            walk(m, v, f"{path}.{k}", out)
    elif t == "list":
        if not isinstance(value, list):
            out.append(f"{path}: {type(value).__name__} where the model has list {shape.name}")
            return
        _bounds(len(value), meta, f"{path}: list of {len(value)} items", out)
        for i, v in enumerate(value):
            walk(shape.member, v, f"{path}[{i}]", out)
    elif t == "map":
        if not isinstance(value, dict):
            out.append(f"{path}: {type(value).__name__} where the model has map {shape.name}")
            return
        _bounds(len(value), meta, f"{path}: map of {len(value)} entries", out)
        for k, v in value.items():
            walk(shape.key, k, f"{path} key {k!r}", out)
            walk(shape.value, v, f"{path}[{k!r}]", out)
    elif t == "string":
        if not isinstance(value, str):
            out.append(f"{path}: {type(value).__name__} {value!r} where the model has string {shape.name}")
            return
        _bounds(len(value), meta, f"{path}: string of {len(value)} chars ({shape.name})", out)
        enum = meta.get("enum")
        if enum and value not in enum:
            out.append(f"{path}: {value!r} is not in enum {shape.name} {enum}")
        pattern = meta.get("pattern")
        if pattern and shape.name not in PATTERN_WAIVERS:
            rx = _py_pattern(pattern)
            if rx is not None and not rx.search(value):
                out.append(f"{path}: {_short(value)!r} does not match {shape.name} pattern {pattern}")
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(f"{path}: {type(value).__name__} {value!r} where the model has {t} {shape.name}")
            return
        _bounds(value, meta, f"{path}: {value}", out)
    elif t in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{path}: {type(value).__name__} {value!r} where the model has {t} {shape.name}")
    elif t == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: {type(value).__name__} {value!r} where the model has boolean {shape.name}")
    elif t == "timestamp":
        fmt = meta.get("timestampFormat", "unixTimestamp")
        if fmt == "unixTimestamp" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            out.append(f"{path}: {value!r} where the model has timestamp {shape.name} (rest-json body: epoch seconds as a number)")
    elif t == "blob":
        if not isinstance(value, str):
            out.append(f"{path}: {type(value).__name__} where the model has blob {shape.name} (base64 in JSON)")
        else:
            try:
                base64.b64decode(value, validate=True)
            except Exception:
                out.append(f"{path}: not base64 ({shape.name} is a blob)")


def _bounds(n, meta, what, out):
    if "min" in meta and n < meta["min"]:
        out.append(f"{what}, below the model's min {meta['min']}")
    if "max" in meta and n > meta["max"]:
        out.append(f"{what}, above the model's max {meta['max']}")


def _short(s, n=80):
    s = str(s)
    return s if len(s) <= n else f"{s[:n]}…({len(s)} chars)"


def check_output(op_model, call):
    """Model violations of a successful call's raw response."""
    out = []
    shape = op_model.output_shape
    if shape is None:
        return out
    headers = call.headers
    body_members = {}
    for name, m in shape.members.items():
        loc = m.serialization.get("location")
        if loc == "header":
            hv = headers.get(m.serialization.get("name", name).lower())
            if hv is None:
                if name in shape.required_members:
                    out.append(f"header {m.serialization.get('name')}: required, missing")
                if name == "ContentType" and shape.serialization.get("payload"):
                    out.append("header Content-Type: missing on a media response")
            else:
                walk(m, hv, f"header {m.serialization.get('name', name)}", out)
        elif loc is None and not m.serialization.get("streaming") and shape.serialization.get("payload") != name:
            body_members[name] = m
    if shape.serialization.get("payload"):
        return out  # streaming payload: the body is the media, checked by the case
    raw = call.body or b""
    if not raw.strip():
        if any(k in shape.required_members for k in body_members):
            out.append("empty body, but the output has required members")
        return out
    try:
        doc = json.loads(raw)
    except ValueError as e:
        out.append(f"body is not JSON ({e}): {_short(raw)!r}")
        return out
    walk(shape, doc, shape.name, out)
    return out


# ---------------------------------------------------------------- calls


class Call:
    """One API call: the raw response and what botocore made of it."""

    def __init__(self, service, op):
        self.service = service
        self.op = op
        self.status = None
        self.headers = {}
        self.body = None
        self.parsed = None
        self.error = None  # ClientError
        self.exception = None  # any other exception
        self.violations = []

    @property
    def ok(self):
        return self.exception is None and self.error is None and self.status is not None and self.status < 300

    @property
    def code(self):
        return self.error.response.get("Error", {}).get("Code") if self.error else None

    def describe(self):
        if self.exception is not None:
            return f"{type(self.exception).__name__}: {_short(self.exception, 300)}"
        if self.error is not None:
            msg = self.error.response.get("Error", {}).get("Message", "")
            return f"HTTP {self.status} {self.code}: {_short(msg, 200)}"
        return f"HTTP {self.status}"


CALLS = []


class Ctx:
    def __init__(self, endpoint, config):
        self.endpoint = endpoint.rstrip("/")
        self.cfg = config
        self.session = boto3.session.Session(region_name=REGION, **CREDS)
        self._clients = {}
        self._cache = {}
        self._last_get_media = {}

    # clients: `validate=False` sends what botocore's client-side validation would refuse
    def client(self, service, endpoint=None, validate=True, read_timeout=30):
        key = (service, endpoint or self.endpoint, validate, read_timeout)
        c = self._clients.get(key)
        if c is None:
            c = self.session.client(
                service,
                endpoint_url=endpoint or self.endpoint,
                config=Config(
                    retries={"max_attempts": 0},
                    connect_timeout=5,
                    read_timeout=read_timeout,
                    parameter_validation=validate,
                ),
            )
            holder = {}

            def after_call(http_response=None, **_):
                holder["http"] = http_response

            c.meta.events.register("after-call.*.*", after_call)
            c._conformance_holder = holder
            self._clients[key] = c
        return c

    @property
    def cp(self):
        return self.client("kinesisvideo")

    @property
    def cp_raw(self):
        return self.client("kinesisvideo", validate=False)

    def call(self, client, op, **params):
        service = client.meta.service_model.service_name
        c = Call(service, op)
        op_model = client.meta.service_model.operation_model(op)
        holder = client._conformance_holder
        holder.clear()
        method = getattr(client, botocore.xform_name(op))
        try:
            c.parsed = method(**params)
        except ClientError as e:
            c.error = e
        except (BotoCoreError, OSError, ValueError) as e:
            c.exception = e
        http = holder.get("http")
        if http is not None:
            c.status = http.status_code
            c.headers = {k.lower(): v for k, v in http.headers.items()}
            streaming = op_model.has_streaming_output and http.status_code < 300
            if not streaming:
                try:
                    c.body = http.content
                except Exception:  # noqa: BLE001
                    c.body = None
        if c.ok:
            c.violations = check_output(op_model, c)
        if http is not None:
            CALLS.append(c)
        return c

    # ------------------------------------------------ expectations

    def ok(self, c, what=None):
        """The call succeeded and its response conforms to the model; returns the parsed output."""
        label = what or c.op
        if not c.ok:
            fail(f"{label} failed: {c.describe()}")
        if c.violations:
            fail(f"{label}: response violates the model: " + "; ".join(c.violations[:8]) + (f" (+{len(c.violations) - 8} more)" if len(c.violations) > 8 else ""))
        return c.parsed

    def error(self, c, expected, what=None):
        """The call failed with one of `expected` (codes), a modeled error of the operation, with its modeled status."""
        expected = [expected] if isinstance(expected, str) else list(expected)
        label = what or c.op
        op_model = self.model(c.service).operation_model(c.op)
        modeled = {s.name: s for s in op_model.error_shapes}
        if c.exception is not None:
            fail(f"{label}: expected {'/'.join(expected)}, but the call failed with {c.describe()}")
        if c.error is None:
            fail(f"{label}: expected {'/'.join(expected)}, but got HTTP {c.status} (success)")
        problems = []
        code = c.code
        if code not in modeled:
            problems.append(f"error code {code!r} is not a modeled error of {c.op} (modeled: {', '.join(modeled)})")
        if code not in expected:
            problems.append(f"expected error {'/'.join(expected)}, got {code!r}")
        shape = modeled.get(code) or next((modeled[e] for e in expected if e in modeled), None)
        if shape is not None:
            want = shape.metadata.get("error", {}).get("httpStatusCode")
            if want is not None and c.status != want:
                problems.append(f"HTTP status {c.status}, the model gives {shape.name} HTTP {want}")
        if problems:
            msg = c.error.response.get("Error", {}).get("Message", "")
            fail(f"{label}: " + "; ".join(problems) + f" (message: {_short(msg, 160)!r})")
        return f"HTTP {c.status} {code}"

    def model(self, service):
        return self.session._session.get_service_model(service)

    # ------------------------------------------------ shared lookups (cached; a failure fails every case using it)

    def cached(self, key, fn):
        if key not in self._cache:
            try:
                self._cache[key] = ("ok", fn())
            except Fail as e:
                self._cache[key] = ("fail", str(e))
        state, value = self._cache[key]
        if state == "fail":
            fail(f"prerequisite failed: {value}")
        return value

    def data_endpoint(self, stream, api):
        def get():
            c = self.call(self.cp, "GetDataEndpoint", StreamName=stream, APIName=api)
            ep = self.ok(c, f"GetDataEndpoint({api})").get("DataEndpoint")
            if not ep:
                fail(f"GetDataEndpoint({api}) returned no DataEndpoint")
            return ep

        return self.cached(("endpoint", stream, api), get)

    def media(self, stream, validate=True):
        # GetMedia reads until the server ends the response; a short read timeout bounds a silent stream.
        return self.client("kinesis-video-media", self.data_endpoint(stream, "GET_MEDIA"), validate, read_timeout=6)

    def archived(self, stream, api="LIST_FRAGMENTS", validate=True):
        # GetImages decodes frames and GetClip remuxes: allow them a minute on a loaded machine.
        return self.client("kinesis-video-archived-media", self.data_endpoint(stream, api), validate, read_timeout=60)

    def describe(self, stream):
        return self.cached(("describe", stream), lambda: self.ok(self.call(self.cp, "DescribeStream", StreamName=stream))["StreamInfo"])

    def fragments(self, stream):
        """Every fragment of the stream (ListFragments, producer range 0..far future, pages of 1000)."""

        def get():
            out = []
            token = None
            sel = {"FragmentSelectorType": "PRODUCER_TIMESTAMP", "TimestampRange": {"StartTimestamp": EPOCH0, "EndTimestamp": FAR}}
            for _ in range(100):
                params = {"StreamName": stream, "MaxResults": 1000}
                params.update({"NextToken": token} if token else {"FragmentSelector": sel})
                c = self.call(self.archived(stream), "ListFragments", **params)
                page = self.ok(c, f"ListFragments({stream})")
                out.extend(page.get("Fragments", []))
                token = page.get("NextToken")
                if not token:
                    break
            if not out:
                fail(f"ListFragments({stream}) found no fragments")
            out.sort(key=lambda f: (f["ProducerTimestamp"], int(f["FragmentNumber"])))
            return out

        return self.cached(("fragments", stream), get)

    def get_media(self, stream, selector, want=2, client=None):
        """GetMedia paced as the service allows (5 calls/s per stream); reads up to `want` fragments."""
        last = self._last_get_media.get(stream, 0)
        wait = last + 0.3 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        c = self.call(client or self.media(stream), "GetMedia", StreamName=stream, StartSelector=selector)
        self._last_get_media[stream] = time.monotonic()
        media = None
        if c.ok:
            media = read_media(c.parsed["Payload"], want)
        return c, media


EPOCH0 = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
FAR = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)


def ts(x):
    """A botocore timestamp (datetime) as epoch seconds."""
    if isinstance(x, dt.datetime):
        return x.timestamp()
    return float(x)


def at(seconds):
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


# ---------------------------------------------------------------- GetMedia payloads (MKV)

MASTER = {0x18538067, 0x1F43B675, 0x1254C367, 0x7373, 0x67C8}  # Segment, Cluster, Tags, Tag, SimpleTag


def _vint(buf, i, keep_marker):
    if i >= len(buf):
        return None, i
    first = buf[i]
    n = 1
    mask = 0x80
    while n <= 8 and not first & mask:
        mask >>= 1
        n += 1
    if n > 8 or i + n > len(buf):
        return None, i
    v = first if keep_marker else first & (mask - 1)
    all_ones = (first & (mask - 1)) == mask - 1
    for b in buf[i + 1 : i + n]:
        v = (v << 8) | b
        all_ones = all_ones and b == 0xFF
    if not keep_marker and all_ones:
        v = -1  # unknown size
    return v, i + n


def parse_mkv(buf):
    """Flat walk of KVS MKV output: a list of fragments, each the tags (name, value) after its EBML header."""
    frags = []
    i = 0
    name = None
    while i < len(buf):
        eid, j = _vint(buf, i, True)
        if eid is None:
            break
        size, k = _vint(buf, j, False)
        if size is None:
            break
        if eid == 0x1A45DFA3:
            frags.append({"tags": [], "complete": False})
            if frags[:-1]:
                frags[-2]["complete"] = True
        if eid in MASTER:
            i = k
            continue
        if size < 0 or k + size > len(buf):
            break
        data = buf[k : k + size]
        if eid == 0x45A3:
            name = data.decode("utf-8", "replace").rstrip("\x00")
        elif eid == 0x4487 and frags:
            frags[-1]["tags"].append((name, data.decode("utf-8", "replace").rstrip("\x00")))
        elif eid == 0xE7 and frags:
            frags[-1]["clusterTimecode"] = int.from_bytes(data, "big")
        i = k + size
    for f in frags:
        f["number"] = next((v for n, v in f["tags"] if n == "AWS_KINESISVIDEO_FRAGMENT_NUMBER"), None)
        f["errors"] = [(n, v) for n, v in f["tags"] if n in ("AWS_KINESISVIDEO_ERROR_CODE", "AWS_KINESISVIDEO_ERROR_ID")]
        f["continuation"] = next((v for n, v in f["tags"] if n == "AWS_KINESISVIDEO_CONTINUATION_TOKEN"), None)
    return frags


def read_media(payload, want, limit_s=8.0):
    """Reads a GetMedia body until `want` whole fragments, an error, the end, or `limit_s`; then closes it."""
    buf = bytearray()
    ended = False
    started = time.monotonic()
    raw = getattr(payload, "_raw_stream", None)
    fp = getattr(raw, "_fp", None)
    try:
        while time.monotonic() - started < limit_s:
            try:
                chunk = fp.read1(65536) if fp is not None and hasattr(fp, "read1") else payload.read(4096)
            except Exception:  # noqa: BLE001  (read timeout: the server sent nothing more)
                break
            if not chunk:
                ended = True
                break
            buf += chunk
            frags = parse_mkv(bytes(buf))
            media = [f for f in frags if f["number"]]
            if sum(1 for f in media if f["complete"]) >= want or any(f["errors"] for f in frags):
                break
    finally:
        try:
            payload.close()
        except Exception:  # noqa: BLE001
            pass
    frags = parse_mkv(bytes(buf))
    if ended and frags:
        frags[-1]["complete"] = True
    return {
        "bytes": bytes(buf),
        "ended": ended,
        "fragments": [f for f in frags if f["number"]],
        "errors": [e for f in frags for e in f["errors"]],
    }


def numbers(media):
    return [f["number"] for f in media["fragments"]]


# ---------------------------------------------------------------- the cases

CASES = []


def case(op, name, source):
    def deco(fn):
        CASES.append((op, name, source, fn))
        return fn

    return deco


def register(cfg, have_cli):
    H, V, M = cfg["h264"], cfg["video"], cfg["many"]
    tmp_name = f"conf-tmp-{os.getpid()}"

    # ---------------- GetDataEndpoint
    for api in API_NAMES:

        @case("GetDataEndpoint", f"APIName {api}: a data endpoint URL", "API_GetDataEndpoint.html: APIName / DataEndpoint")
        def _(ctx, api=api):
            out = ctx.ok(ctx.call(ctx.cp, "GetDataEndpoint", StreamName=H, APIName=api))
            ep = out.get("DataEndpoint", "")
            u = urllib.parse.urlparse(ep)
            if u.scheme not in ("http", "https") or not u.netloc:
                fail(f"DataEndpoint {ep!r} is not an absolute http(s) URL")
            return ep

    @case("GetDataEndpoint", "by StreamARN", "API_GetDataEndpoint.html: StreamARN")
    def _(ctx):
        arn = ctx.describe(H)["StreamARN"]
        return ctx.ok(ctx.call(ctx.cp, "GetDataEndpoint", StreamARN=arn, APIName="GET_MEDIA")).get("DataEndpoint")

    @case("GetDataEndpoint", "APIName not in the enum -> InvalidArgumentException", "model: APIName enum; API_GetDataEndpoint.html: Errors")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp_raw, "GetDataEndpoint", StreamName=H, APIName="GET_EVERYTHING"), "InvalidArgumentException")

    @case("GetDataEndpoint", "APIName missing -> InvalidArgumentException", "model: GetDataEndpointInput.APIName required")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp_raw, "GetDataEndpoint", StreamName=H), "InvalidArgumentException")

    @case("GetDataEndpoint", "unknown stream -> ResourceNotFoundException", "API_GetDataEndpoint.html: Errors ResourceNotFoundException")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp, "GetDataEndpoint", StreamName="conf-no-such-stream", APIName="GET_MEDIA"), "ResourceNotFoundException")

    # ---------------- DescribeStream
    @case("DescribeStream", "StreamInfo of an H.264 + AAC stream, MediaType video/h264,audio/aac", "API_StreamInfo.html: MediaType; API_CreateStream.html: MediaType 'video/h264,audio/aac'")
    def _(ctx):
        info = ctx.ok(ctx.call(ctx.cp, "DescribeStream", StreamName=H))["StreamInfo"]
        problems = []
        if info.get("StreamName") != H:
            problems.append(f"StreamName {info.get('StreamName')!r}")
        if info.get("Status") != "ACTIVE":
            problems.append(f"Status {info.get('Status')!r}, not ACTIVE")
        want = set(cfg["h264MediaType"].split(","))
        got = info.get("MediaType")
        if got is None or set(got.split(",")) != want:
            problems.append(f"MediaType {got!r}, the stream holds {cfg['h264MediaType']}")
        if problems:
            fail("; ".join(problems))
        return json.dumps(info, default=str)

    @case("DescribeStream", "by StreamARN: the same stream", "API_DescribeStream.html: StreamARN")
    def _(ctx):
        info = ctx.describe(H)
        other = ctx.ok(ctx.call(ctx.cp, "DescribeStream", StreamARN=info["StreamARN"]))["StreamInfo"]
        if other.get("StreamName") != H:
            fail(f"DescribeStream(StreamARN) answered stream {other.get('StreamName')!r}")
        return info["StreamARN"]

    @case("DescribeStream", "unknown stream -> ResourceNotFoundException", "API_DescribeStream.html: Errors")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp, "DescribeStream", StreamName="conf-no-such-stream"), "ResourceNotFoundException")

    @case("DescribeStream", "DataRetentionInHours > 0 on a stream whose fragments are archived", "API_StreamInfo.html: DataRetentionInHours; API_reader_ListFragments.html")
    def _(ctx):
        info = ctx.describe(H)
        if not info.get("DataRetentionInHours"):
            fail(f"DataRetentionInHours {info.get('DataRetentionInHours')!r}: 0 means no archive, but ListFragments/GetClip serve the stream")
        return str(info["DataRetentionInHours"])

    # ---------------- ListStreams
    def list_all(ctx, max_results=None, cond=None):
        seen, pages, token = [], [], None
        for _ in range(200):
            p = {}
            if max_results:
                p["MaxResults"] = max_results
            if cond:
                p["StreamNameCondition"] = cond
            if token:
                p["NextToken"] = token
            out = ctx.ok(ctx.call(ctx.cp, "ListStreams", **p))
            pages.append(out.get("StreamInfoList", []))
            seen.extend(out.get("StreamInfoList", []))
            token = out.get("NextToken")
            if not token:
                return seen, pages
        fail("ListStreams did not end after 200 pages")

    @case("ListStreams", "every stream listed once, each StreamInfo as DescribeStream gives it (MediaType included)", "API_ListStreams.html: StreamInfoList; API_StreamInfo.html")
    def _(ctx):
        seen, _ = list_all(ctx)
        names = [s["StreamName"] for s in seen]
        problems = []
        for n in [H, V, M, *cfg["prefixed"]]:
            if names.count(n) != 1:
                problems.append(f"{n} listed {names.count(n)} times")
        for n in (H, V, M):
            entry = next((s for s in seen if s["StreamName"] == n), None)
            if entry is None:
                continue
            info = ctx.describe(n)
            for k in ("StreamARN", "MediaType", "Status", "DataRetentionInHours", "Version", "CreationTime"):
                if entry.get(k) != info.get(k):
                    problems.append(f"{n}.{k}: ListStreams {entry.get(k)!r}, DescribeStream {info.get(k)!r}")
            if "MediaType" not in entry:
                problems.append(f"{n}: no MediaType in its ListStreams entry")
        if problems:
            fail("; ".join(problems))
        return f"{len(seen)} streams"

    @case("ListStreams", "paging with MaxResults 1: each page within MaxResults, every stream exactly once", "API_ListStreams.html: MaxResults, NextToken")
    def _(ctx):
        seen, pages = list_all(ctx, max_results=1)
        full, _ = list_all(ctx)
        over = [len(p) for p in pages if len(p) > 1]
        names = [s["StreamName"] for s in seen]
        problems = []
        if over:
            problems.append(f"pages of {over} entries with MaxResults 1")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            problems.append(f"listed more than once: {dup}")
        missing = sorted({s['StreamName'] for s in full} - set(names))
        if missing:
            problems.append(f"never listed while paging: {missing}")
        if problems:
            fail("; ".join(problems))
        return f"{len(pages)} pages"

    @case("ListStreams", "StreamNameCondition BEGINS_WITH: exactly the streams with the prefix", "API_StreamNameCondition.html: ComparisonOperator BEGINS_WITH")
    def _(ctx):
        seen, _ = list_all(ctx, cond={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": cfg["prefix"]})
        names = sorted(s["StreamName"] for s in seen)
        bad = [n for n in names if not n.startswith(cfg["prefix"])]
        missing = [n for n in cfg["prefixed"] if n not in names]
        if bad or missing:
            fail(f"listed without the prefix: {bad}; missing: {missing}")
        return ", ".join(names)

    @case("ListStreams", "StreamNameCondition with paging (MaxResults 2)", "API_ListStreams.html: StreamNameCondition, MaxResults")
    def _(ctx):
        seen, pages = list_all(ctx, max_results=2, cond={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": cfg["prefix"]})
        names = sorted(s["StreamName"] for s in seen)
        if any(len(p) > 2 for p in pages) or names != sorted(set(names)) or not set(cfg["prefixed"]) <= set(names) or any(not n.startswith(cfg["prefix"]) for n in names):
            fail(f"pages {[[s['StreamName'] for s in p] for p in pages]}")
        return f"{len(pages)} pages"

    @case("ListStreams", "MaxResults 0 -> InvalidArgumentException", "model: ListStreamsInputLimit min 1")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp_raw, "ListStreams", MaxResults=0), "InvalidArgumentException")

    # ---------------- tags
    @case("ListTagsForStream", "the stream's tags", "API_ListTagsForStream.html: Tags")
    def _(ctx):
        tags = ctx.ok(ctx.call(ctx.cp, "ListTagsForStream", StreamName=H)).get("Tags")
        if tags != cfg["h264Tags"]:
            fail(f"Tags {tags!r}, the stream was created with {cfg['h264Tags']!r}")
        return json.dumps(tags)

    @case("ListTagsForStream", "unknown stream -> ResourceNotFoundException", "API_ListTagsForStream.html: Errors")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp, "ListTagsForStream", StreamName="conf-no-such-stream"), "ResourceNotFoundException")

    T = cfg["prefixed"][0]

    @case("TagStream", "TagStream adds tags that ListTagsForStream then lists", "API_TagStream.html; API_ListTagsForStream.html")
    def _(ctx):
        ctx.ok(ctx.call(ctx.cp, "TagStream", StreamName=T, Tags={"team": "video", "stage": "conformance"}))
        tags = ctx.ok(ctx.call(ctx.cp, "ListTagsForStream", StreamName=T)).get("Tags") or {}
        if tags.get("team") != "video" or tags.get("stage") != "conformance":
            fail(f"after TagStream, ListTagsForStream gives {tags!r}")
        return json.dumps(tags)

    @case("TagStream", "TagStream with an existing key replaces its value", "API_TagStream.html: 'If you specify a tag that already exists, the tag value is replaced'")
    def _(ctx):
        ctx.ok(ctx.call(ctx.cp, "TagStream", StreamName=T, Tags={"stage": "replaced"}))
        tags = ctx.ok(ctx.call(ctx.cp, "ListTagsForStream", StreamName=T)).get("Tags") or {}
        if tags.get("stage") != "replaced":
            fail(f"after re-tagging 'stage', ListTagsForStream gives {tags!r}")
        return json.dumps(tags)

    @case("UntagStream", "UntagStream removes exactly the keys named", "API_UntagStream.html: TagKeyList")
    def _(ctx):
        ctx.ok(ctx.call(ctx.cp, "TagStream", StreamName=T, Tags={"team": "video", "keep": "yes"}))
        ctx.ok(ctx.call(ctx.cp, "UntagStream", StreamName=T, TagKeyList=["team"]))
        tags = ctx.ok(ctx.call(ctx.cp, "ListTagsForStream", StreamName=T)).get("Tags") or {}
        if "team" in tags or tags.get("keep") != "yes":
            fail(f"after UntagStream ['team'], ListTagsForStream gives {tags!r}")
        return json.dumps(tags)

    @case("TagStream", "unknown stream -> ResourceNotFoundException", "API_TagStream.html: Errors")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp, "TagStream", StreamName="conf-no-such-stream", Tags={"a": "b"}), "ResourceNotFoundException")

    @case("UntagStream", "unknown stream -> ResourceNotFoundException", "API_UntagStream.html: Errors")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp, "UntagStream", StreamName="conf-no-such-stream", TagKeyList=["a"]), "ResourceNotFoundException")

    # ---------------- CreateStream / UpdateDataRetention / DeleteStream
    def created(ctx):
        def make():
            c = ctx.call(ctx.cp, "CreateStream", StreamName=tmp_name, MediaType="video/h264", DataRetentionInHours=2, Tags={"made-by": "conformance"})
            out = ctx.ok(c, "CreateStream")
            return out.get("StreamARN")

        return ctx.cached(("created", tmp_name), make)

    @case("CreateStream", "CreateStream returns the new stream's ARN", "API_CreateStream.html: StreamARN")
    def _(ctx):
        arn = created(ctx)
        if not arn or tmp_name not in arn:
            fail(f"StreamARN {arn!r} does not name the stream {tmp_name}")
        return arn

    @case("CreateStream", "DescribeStream of the created stream: its name, MediaType, retention, tags", "API_CreateStream.html; API_DescribeStream.html")
    def _(ctx):
        arn = created(ctx)
        info = ctx.ok(ctx.call(ctx.cp, "DescribeStream", StreamName=tmp_name))["StreamInfo"]
        problems = []
        if info.get("StreamARN") != arn:
            problems.append(f"StreamARN {info.get('StreamARN')!r}, CreateStream said {arn!r}")
        if info.get("Status") not in ("CREATING", "ACTIVE"):
            problems.append(f"Status {info.get('Status')!r}")
        if info.get("MediaType") != "video/h264":
            problems.append(f"MediaType {info.get('MediaType')!r}, created with video/h264")
        if info.get("DataRetentionInHours") != 2:
            problems.append(f"DataRetentionInHours {info.get('DataRetentionInHours')!r}, created with 2")
        tags = ctx.ok(ctx.call(ctx.cp, "ListTagsForStream", StreamName=tmp_name)).get("Tags")
        if tags != {"made-by": "conformance"}:
            problems.append(f"Tags {tags!r}, created with {{'made-by': 'conformance'}}")
        if problems:
            fail("; ".join(problems))
        return json.dumps(info, default=str)

    @case("CreateStream", "existing name -> ResourceInUseException", "API_CreateStream.html: Errors ResourceInUseException")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp, "CreateStream", StreamName=H, DataRetentionInHours=24), "ResourceInUseException")

    @case("UpdateDataRetention", "INCREASE_DATA_RETENTION with the current version", "API_UpdateDataRetention.html: Operation, DataRetentionChangeInHours, CurrentVersion")
    def _(ctx):
        created(ctx)
        info = ctx.ok(ctx.call(ctx.cp, "DescribeStream", StreamName=tmp_name))["StreamInfo"]
        ctx.ok(
            ctx.call(
                ctx.cp,
                "UpdateDataRetention",
                StreamName=tmp_name,
                CurrentVersion=info["Version"],
                Operation="INCREASE_DATA_RETENTION",
                DataRetentionChangeInHours=3,
            )
        )
        after = ctx.ok(ctx.call(ctx.cp, "DescribeStream", StreamName=tmp_name))["StreamInfo"]
        if after.get("DataRetentionInHours") != info.get("DataRetentionInHours", 0) + 3:
            fail(f"DataRetentionInHours {info.get('DataRetentionInHours')} + 3 gave {after.get('DataRetentionInHours')}")
        return f"{info.get('DataRetentionInHours')} -> {after.get('DataRetentionInHours')}"

    @case("UpdateDataRetention", "wrong CurrentVersion -> VersionMismatchException", "API_UpdateDataRetention.html: Errors VersionMismatchException")
    def _(ctx):
        v = ctx.describe(H).get("Version", "")
        return ctx.error(
            ctx.call(ctx.cp, "UpdateDataRetention", StreamName=H, CurrentVersion=f"{v}9999", Operation="INCREASE_DATA_RETENTION", DataRetentionChangeInHours=1),
            "VersionMismatchException",
        )

    @case("UpdateDataRetention", "unknown stream -> ResourceNotFoundException", "API_UpdateDataRetention.html: Errors")
    def _(ctx):
        return ctx.error(
            ctx.call(ctx.cp, "UpdateDataRetention", StreamName="conf-no-such-stream", CurrentVersion="1", Operation="INCREASE_DATA_RETENTION", DataRetentionChangeInHours=1),
            "ResourceNotFoundException",
        )

    @case("DeleteStream", "wrong CurrentVersion -> VersionMismatchException", "API_DeleteStream.html: CurrentVersion; Errors VersionMismatchException")
    def _(ctx):
        arn = created(ctx)
        c = ctx.call(ctx.cp, "DeleteStream", StreamARN=arn, CurrentVersion="0000wrong0000")
        return ctx.error(c, "VersionMismatchException")

    @case("DeleteStream", "DeleteStream, then DescribeStream -> ResourceNotFoundException", "API_DeleteStream.html; API_DescribeStream.html: Errors ResourceNotFoundException")
    def _(ctx):
        arn = created(ctx)
        info = ctx.ok(ctx.call(ctx.cp, "DescribeStream", StreamName=tmp_name))["StreamInfo"]
        ctx.ok(ctx.call(ctx.cp, "DeleteStream", StreamARN=arn, CurrentVersion=info["Version"]))
        deadline = time.monotonic() + 5
        while True:
            c = ctx.call(ctx.cp, "DescribeStream", StreamName=tmp_name)
            if c.ok and c.parsed["StreamInfo"].get("Status") == "DELETING" and time.monotonic() < deadline:
                time.sleep(0.25)  # deletion may take a moment: DELETING until it is gone
                continue
            return ctx.error(c, "ResourceNotFoundException", "DescribeStream after DeleteStream")

    @case("DeleteStream", "unknown stream -> ResourceNotFoundException", "API_DeleteStream.html: Errors")
    def _(ctx):
        arn = f"arn:aws:kinesisvideo:{REGION}:000000000000:stream/conf-no-such-stream/1234567890123"
        return ctx.error(ctx.call(ctx.cp, "DeleteStream", StreamARN=arn), "ResourceNotFoundException")

    # ---------------- ListFragments
    def paged(ctx, stream, selector, max_results):
        pages, token, tokens = [], None, []
        for _ in range(2000):
            p = {"StreamName": stream, "MaxResults": max_results}
            p.update({"NextToken": token} if token else {"FragmentSelector": selector})
            out = ctx.ok(ctx.call(ctx.archived(stream), "ListFragments", **p), f"ListFragments page {len(pages) + 1}")
            pages.append(out.get("Fragments", []))
            token = out.get("NextToken")
            if not token:
                return pages, tokens
            tokens.append(token)
        fail("ListFragments did not end after 2000 pages")

    def check_paging(ctx, stream, selector, max_results):
        full = ctx.fragments(stream)
        problems = []
        try:
            pages, tokens = paged(ctx, stream, selector, max_results)
        except Fail as e:
            fail(str(e))
        got = [f["FragmentNumber"] for p in pages for f in p]
        over = [len(p) for p in pages if len(p) > max_results]
        if over:
            problems.append(f"pages of {over} fragments with MaxResults {max_results}")
        dup = sorted({n for n in got if got.count(n) > 1})
        if dup:
            problems.append(f"{len(dup)} fragments listed more than once")
        missing = {f["FragmentNumber"] for f in full} - set(got)
        if missing:
            problems.append(f"{len(missing)} of {len(full)} fragments never listed")
        if problems:
            fail("; ".join(problems))
        return f"{len(got)} fragments in {len(pages)} pages"

    @case("ListFragments", f"{cfg['manyMin']}+ fragments: the stream holds them", "API_reader_ListFragments.html")
    def _(ctx):
        n = len(ctx.fragments(M))
        if n < cfg["manyMin"]:
            fail(f"{n} fragments listed, the stream was fed {cfg['manyMin']}+")
        return f"{n} fragments"

    @case("ListFragments", "every Fragment has its number, size, both timestamps and length", "API_reader_Fragment.html: FragmentNumber, FragmentSizeInBytes, ProducerTimestamp, ServerTimestamp, FragmentLengthInMilliseconds")
    def _(ctx):
        problems = []
        for s in (H, M):
            for f in ctx.fragments(s):
                missing = [k for k in ("FragmentNumber", "FragmentSizeInBytes", "ProducerTimestamp", "ServerTimestamp", "FragmentLengthInMilliseconds") if k not in f]
                if missing:
                    problems.append(f"{s} {f.get('FragmentNumber')}: no {missing}")
                elif f["FragmentSizeInBytes"] <= 0 or f["FragmentLengthInMilliseconds"] < 0:
                    problems.append(f"{s} {f['FragmentNumber']}: size {f['FragmentSizeInBytes']}, length {f['FragmentLengthInMilliseconds']}")
        if problems:
            fail(f"{len(problems)} fragments: " + "; ".join(problems[:3]))
        return "ok"

    @case("ListFragments", "paging, SERVER_TIMESTAMP selector, MaxResults 7: every fragment exactly once, pages within MaxResults", "API_reader_ListFragments.html: MaxResults, NextToken")
    def _(ctx):
        return check_paging(ctx, M, {"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": EPOCH0, "EndTimestamp": FAR}}, 7)

    @case("ListFragments", "paging, PRODUCER_TIMESTAMP selector, MaxResults 50: every fragment exactly once", "API_reader_ListFragments.html: FragmentSelector, NextToken")
    def _(ctx):
        return check_paging(ctx, M, {"FragmentSelectorType": "PRODUCER_TIMESTAMP", "TimestampRange": {"StartTimestamp": EPOCH0, "EndTimestamp": FAR}}, 50)

    @case("ListFragments", "NextToken never longer than 4096 characters (300+ fragments, MaxResults 1..100)", "model: ListFragmentsOutput.NextToken max 4096")
    def _(ctx):
        worst = 0
        for mr in (1, 100):
            sel = {"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": EPOCH0, "EndTimestamp": FAR}}
            c = ctx.call(ctx.archived(M), "ListFragments", StreamName=M, MaxResults=mr, FragmentSelector=sel)
            if not c.ok:
                fail(f"ListFragments failed: {c.describe()}")
            tok = c.parsed.get("NextToken") or ""
            worst = max(worst, len(tok))
        if worst > 4096:
            fail(f"NextToken of {worst} characters (model max 4096): a token that grows with the stream")
        if worst == 0:
            fail("no NextToken on a first page of 1 out of 300+ fragments")
        return f"longest NextToken {worst} chars"

    def in_range_case(selector_type, key):
        def run(ctx):
            full = ctx.fragments(M)
            times = sorted(ts(f[key]) for f in full)
            lo = int(times[len(times) // 3]) + 1
            hi = int(times[2 * len(times) // 3])
            if hi <= lo:
                fail(f"fixture: {selector_type} times do not span 2 whole seconds")
            pages, _ = paged(ctx, M, {"FragmentSelectorType": selector_type, "TimestampRange": {"StartTimestamp": at(lo), "EndTimestamp": at(hi)}}, 1000)
            got = {f["FragmentNumber"]: f for p in pages for f in p}
            want = {f["FragmentNumber"] for f in full if lo <= ts(f[key]) <= hi}
            outside = [n for n, f in got.items() if not lo <= ts(f[key]) <= hi]
            missing = want - set(got)
            if outside or missing:
                fail(f"range [{lo}, {hi}]: {len(outside)} listed outside it, {len(missing)} inside it not listed")
            return f"{len(got)} fragments in [{lo}, {hi}]"

        return run

    case("ListFragments", "PRODUCER_TIMESTAMP range: exactly the fragments whose producer timestamp is in it", "API_reader_FragmentSelector.html: PRODUCER_TIMESTAMP; API_reader_TimestampRange.html")(
        in_range_case("PRODUCER_TIMESTAMP", "ProducerTimestamp")
    )
    case("ListFragments", "SERVER_TIMESTAMP range: exactly the fragments whose server timestamp is in it", "API_reader_FragmentSelector.html: SERVER_TIMESTAMP; API_reader_TimestampRange.html")(
        in_range_case("SERVER_TIMESTAMP", "ServerTimestamp")
    )

    @case("ListFragments", "garbage NextToken -> InvalidArgumentException (400)", "API_reader_ListFragments.html: Errors InvalidArgumentException")
    def _(ctx):
        return ctx.error(ctx.call(ctx.archived(M), "ListFragments", StreamName=M, NextToken="Z2FyYmFnZQ=="), "InvalidArgumentException")

    @case("ListFragments", "MaxResults 1001 -> InvalidArgumentException", "model: ListFragmentsMaxResults max 1000")
    def _(ctx):
        sel = {"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": EPOCH0, "EndTimestamp": FAR}}
        return ctx.error(ctx.call(ctx.archived(M, validate=False), "ListFragments", StreamName=M, MaxResults=1001, FragmentSelector=sel), "InvalidArgumentException")

    @case("ListFragments", "unknown stream -> ResourceNotFoundException", "API_reader_ListFragments.html: Errors ResourceNotFoundException")
    def _(ctx):
        sel = {"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": EPOCH0, "EndTimestamp": FAR}}
        return ctx.error(ctx.call(ctx.archived(M), "ListFragments", StreamName="conf-no-such-stream", FragmentSelector=sel), "ResourceNotFoundException")

    @case("ListFragments", "fragment numbers at least 47 digits", "model: FragmentNumberString ^[0-9]+$; KVS fragment numbers as issued, e.g. 91343852333181432392682062607743920146159169392")
    def _(ctx):
        short = [f["FragmentNumber"] for s in (H, M) for f in ctx.fragments(s) if len(f["FragmentNumber"]) < 47]
        if short:
            fail(f"{len(short)} fragment numbers shorter than 47 digits, e.g. {short[0]}")
        return "ok"

    @case("ListFragments", "fragment numbers unique across streams", "API_reader_Fragment.html: FragmentNumber 'The unique identifier of the fragment'")
    def _(ctx):
        a = {f["FragmentNumber"] for f in ctx.fragments(H)}
        b = {f["FragmentNumber"] for f in ctx.fragments(M)}
        c = {f["FragmentNumber"] for f in ctx.fragments(V)}
        both = (a & b) | (a & c) | (b & c)
        if both:
            fail(f"{len(both)} fragment numbers used by two streams ({H}, {M}, {V}), e.g. {sorted(both)[0]}")
        return f"{len(a) + len(b) + len(c)} distinct"

    def increasing_numbers(stream):
        def run(ctx):
            full = ctx.fragments(stream)
            by_time = [int(f["FragmentNumber"]) for f in full]  # sorted by producer timestamp
            bad = [i for i in range(1, len(by_time)) if by_time[i] <= by_time[i - 1]]
            if bad:
                fail(f"{len(bad)} fragments whose number is not above the previous fragment's (in ingestion order), first at index {bad[0]}")
            return f"{len(by_time)} fragments"

        return run

    for s in (H, M):
        case("ListFragments", f"{s}: fragment numbers increase with ingestion order", "API_reader_Fragment.html: FragmentNumber 'monotonically increases based on the ingestion order'")(increasing_numbers(s))

    def distinct_server_times(stream):
        def run(ctx):
            full = sorted(ctx.fragments(stream), key=lambda f: int(f["FragmentNumber"]))
            times = [ts(f["ServerTimestamp"]) for f in full]
            same = sum(1 for i in range(1, len(times)) if times[i] == times[i - 1])
            back = sum(1 for i in range(1, len(times)) if times[i] < times[i - 1])
            if same or back:
                fail(f"{len(times)} fragments: {same} with the previous fragment's ServerTimestamp, {back} earlier than it (e.g. all at {times[0]}): a SERVER_TIMESTAMP selector cannot tell them apart")
            return f"{times[0]} .. {times[-1]}"

        return run

    for s in (H, M):
        case("ListFragments", f"{s}: distinct, increasing ServerTimestamps", "API_reader_Fragment.html: ServerTimestamp 'The timestamp from the AWS server corresponding to the fragment'")(distinct_server_times(s))

    # ---------------- GetMedia
    @case("GetMedia", "EARLIEST: starts with the oldest fragment, KVS tags present, Content-Type set", "API_dataplane_StartSelector.html: EARLIEST; API_dataplane_GetMedia.html: fragment tags")
    def _(ctx):
        full = ctx.fragments(H)
        c, media = ctx.get_media(H, {"StartSelectorType": "EARLIEST"}, want=2)
        ctx.ok(c)
        if not media["bytes"].startswith(EBML_MAGIC):
            fail(f"body does not start with an EBML header: {media['bytes'][:8].hex()}")
        got = numbers(media)
        if not got:
            fail(f"no fragment in the body ({len(media['bytes'])} bytes, errors {media['errors']})")
        if got[0] != full[0]["FragmentNumber"]:
            fail(f"first fragment {got[0]}, the oldest is {full[0]['FragmentNumber']}")
        names = {n for n, _ in media["fragments"][0]["tags"]}
        need = {"AWS_KINESISVIDEO_FRAGMENT_NUMBER", "AWS_KINESISVIDEO_SERVER_TIMESTAMP", "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP"}
        if not need <= names:
            fail(f"first fragment lacks tags {sorted(need - names)}")
        return f"{got}"

    @case("GetMedia", "fragment tags agree with ListFragments (number, server and producer timestamps)", "API_dataplane_GetMedia.html: AWS_KINESISVIDEO_FRAGMENT_NUMBER, _SERVER_TIMESTAMP, _PRODUCER_TIMESTAMP")
    def _(ctx):
        full = {f["FragmentNumber"]: f for f in ctx.fragments(M)}
        c, media = ctx.get_media(M, {"StartSelectorType": "EARLIEST"}, want=3)
        ctx.ok(c)
        problems = []
        for fr in media["fragments"][:3]:
            f = full.get(fr["number"])
            if f is None:
                problems.append(f"fragment {fr['number']} is not listed by ListFragments")
                continue
            tags = dict(fr["tags"])
            for tag, key in (("AWS_KINESISVIDEO_SERVER_TIMESTAMP", "ServerTimestamp"), ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", "ProducerTimestamp")):
                try:
                    v = float(tags.get(tag, "nan"))
                except ValueError:
                    v = float("nan")
                if not abs(v - ts(f[key])) < 0.0015:
                    problems.append(f"{fr['number'][-6:]}: {tag} {tags.get(tag)!r}, ListFragments {key} {ts(f[key]):.3f}")
        if not media["fragments"]:
            problems.append("no fragment read")
        if problems:
            fail("; ".join(problems))
        return f"{len(media['fragments'][:3])} fragments agree"

    @case("GetMedia", "NOW: nothing older than the newest fragment", "API_dataplane_StartSelector.html: NOW 'Start with the latest chunk on the stream'")
    def _(ctx):
        full = ctx.fragments(H)
        c, media = ctx.get_media(H, {"StartSelectorType": "NOW"}, want=1)
        ctx.ok(c)
        old = [n for n in numbers(media) if n in {f["FragmentNumber"] for f in full[:-1]}]
        if old:
            fail(f"NOW sent older fragments {old}")
        return f"{numbers(media)}"

    @case("GetMedia", "FRAGMENT_NUMBER: starts at (or right after) AfterFragmentNumber, never before", "API_dataplane_StartSelector.html: FRAGMENT_NUMBER 'Start with the chunk after a specific fragment'")
    def _(ctx):
        full = ctx.fragments(M)
        k = 5
        c, media = ctx.get_media(M, {"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": full[k]["FragmentNumber"]}, want=1)
        ctx.ok(c)
        got = numbers(media)
        allowed = {full[k]["FragmentNumber"]: "at", full[k + 1]["FragmentNumber"]: "after"}
        if not got or got[0] not in allowed:
            idx = next((i for i, f in enumerate(full) if got and f["FragmentNumber"] == got[0]), None)
            fail(f"first fragment {'none' if not got else f'index {idx}'}; asked after index {k} (errors {media['errors']})")
        return f"starts {allowed[got[0]]} the fragment"

    def timestamp_start(stream, selector_type, key, exact):
        def run(ctx):
            full = ctx.fragments(stream)
            target, t = None, None
            # botocore sends whole seconds: pick a fragment that starts at one (not the first), or one
            # that a whole second falls strictly inside of (no fragment starting at that second).
            starts = [ts(f[key]) for f in full]
            for i, f in enumerate(full):
                start = starts[i]
                end = start + f.get("FragmentLengthInMilliseconds", 0) / 1000
                if exact:
                    if i > 0 and abs(start - round(start)) < 1e-6 and sum(1 for x in starts if abs(x - start) < 1e-6) == 1:
                        target, t = i, round(start)
                        break
                else:
                    whole = int(start) + 1
                    if whole < end and not any(abs(x - whole) < 1e-6 for x in starts):
                        target, t = i, whole
                        break
            if target is None:
                fail(f"fixture: no fragment of {stream} {'starts at' if exact else 'spans'} a whole second (botocore sends whole seconds)")
            c, media = ctx.get_media(stream, {"StartSelectorType": selector_type, "StartTimestamp": at(t)}, want=1)
            ctx.ok(c)
            got = numbers(media)
            want = full[target]["FragmentNumber"]
            if not got or got[0] != want:
                idx = next((i for i, f in enumerate(full) if got and f["FragmentNumber"] == got[0]), None)
                span = f"[{ts(full[target][key]):.3f}, +{full[target].get('FragmentLengthInMilliseconds')} ms)"
                fail(
                    f"StartTimestamp {t} lies in fragment {target} {span}; GetMedia started with "
                    + (f"fragment {idx}" if got else f"nothing ({len(media['bytes'])} bytes, errors {media['errors']})")
                )
            return f"t={t} -> fragment {target}"

        return run

    case("GetMedia", "PRODUCER_TIMESTAMP at a fragment's start: starts with that fragment", "API_dataplane_StartSelector.html: StartTimestamp 'starts with the chunk containing the fragment that has the specified timestamp'")(
        timestamp_start(M, "PRODUCER_TIMESTAMP", "ProducerTimestamp", True)
    )
    case("GetMedia", "PRODUCER_TIMESTAMP inside a fragment: starts with the fragment containing it", "API_dataplane_StartSelector.html: StartTimestamp 'starts with the chunk containing the fragment that has the specified timestamp'")(
        timestamp_start(H, "PRODUCER_TIMESTAMP", "ProducerTimestamp", False)
    )
    case("GetMedia", "SERVER_TIMESTAMP at a fragment's start: starts with that fragment", "API_dataplane_StartSelector.html: StartTimestamp 'starts with the chunk containing the fragment that has the specified timestamp'")(
        timestamp_start(M, "SERVER_TIMESTAMP", "ServerTimestamp", True)
    )
    case("GetMedia", "SERVER_TIMESTAMP inside a fragment: starts with the fragment containing it", "API_dataplane_StartSelector.html: StartTimestamp 'starts with the chunk containing the fragment that has the specified timestamp'")(
        timestamp_start(M, "SERVER_TIMESTAMP", "ServerTimestamp", False)
    )

    @case("GetMedia", "CONTINUATION_TOKEN from a fragment's end tags: resumes with the next fragment", "API_dataplane_GetMedia.html: AWS_KINESISVIDEO_CONTINUATION_TOKEN; API_dataplane_StartSelector.html")
    def _(ctx):
        full = ctx.fragments(M)
        c, media = ctx.get_media(M, {"StartSelectorType": "EARLIEST"}, want=2)
        ctx.ok(c)
        if not media["fragments"] or not media["fragments"][0]["continuation"]:
            fail("the first fragment carries no AWS_KINESISVIDEO_CONTINUATION_TOKEN tag")
        tok = media["fragments"][0]["continuation"]
        c2, media2 = ctx.get_media(M, {"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": tok}, want=1)
        ctx.ok(c2)
        got = numbers(media2)
        if not got or got[0] != full[1]["FragmentNumber"]:
            fail(f"after the token of fragment 0, GetMedia started with {got[:1] or 'nothing'} (errors {media2['errors']}), not fragment 1")
        return "resumed at fragment 1"

    def no_media_error(ctx, c, media, what):
        """A request the service cannot serve: a modeled 4xx, or a 200 body that reports the error in tags; never media."""
        if not c.ok:
            modeled = [s.name for s in ctx.model(c.service).operation_model(c.op).error_shapes]
            if c.code in modeled and c.status is not None and 400 <= c.status < 500:
                return ctx.error(c, [c.code], what)
            fail(f"{what}: {c.describe()}, not a modeled 4xx error of GetMedia ({', '.join(modeled)})")
        if numbers(media):
            fail(f"{what}: media sent ({numbers(media)[:3]}) instead of an error")
        if not media["errors"]:
            fail(f"{what}: HTTP 200 with neither media nor AWS_KINESISVIDEO_ERROR_CODE tags ({len(media['bytes'])} bytes)")
        return f"200 with error tags {media['errors']}"

    @case("GetMedia", "CONTINUATION_TOKEN the service never issued -> an error, no media", "API_dataplane_GetMedia.html: Errors; ERROR_ID tags in the response body")
    def _(ctx):
        c, media = ctx.get_media(M, {"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": "not-a-token"}, want=1)
        return no_media_error(ctx, c, media, "bad continuation token")

    @case("GetMedia", "FRAGMENT_NUMBER of no fragment -> an error, no media", "API_dataplane_GetMedia.html: '4000 - Requested fragment is not found'")
    def _(ctx):
        c, media = ctx.get_media(M, {"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": "9" * 48}, want=1)
        return no_media_error(ctx, c, media, "unknown fragment number")

    @case("GetMedia", "AfterFragmentNumber not a number -> InvalidArgumentException", "model: FragmentNumberString pattern ^[0-9]+$")
    def _(ctx):
        c, _m = ctx.get_media(M, {"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": "fragment-7"}, want=1, client=ctx.media(M, validate=False))
        return ctx.error(c, "InvalidArgumentException")

    @case("GetMedia", "unknown stream -> ResourceNotFoundException", "API_dataplane_GetMedia.html: Errors ResourceNotFoundException")
    def _(ctx):
        c, _m = ctx.get_media("conf-no-such-stream", {"StartSelectorType": "EARLIEST"}, want=1, client=ctx.media(M))
        return ctx.error(c, "ResourceNotFoundException")

    # ---------------- GetMediaForFragmentList
    @case("GetMediaForFragmentList", "the fragments asked for, in that order, with their tags", "API_reader_GetMediaForFragmentList.html: Fragments, Payload")
    def _(ctx):
        full = ctx.fragments(M)
        want = [full[9]["FragmentNumber"], full[3]["FragmentNumber"], full[4]["FragmentNumber"]]
        c = ctx.call(ctx.archived(M, "GET_MEDIA_FOR_FRAGMENT_LIST"), "GetMediaForFragmentList", StreamName=M, Fragments=want)
        ctx.ok(c)
        media = read_media(c.parsed["Payload"], 3)
        if numbers(media) != want:
            fail(f"fragments {numbers(media)}, asked for {want}")
        return "3 fragments in order"

    @case("GetMediaForFragmentList", "empty Fragments -> InvalidArgumentException", "model: FragmentNumberList min 1")
    def _(ctx):
        return ctx.error(ctx.call(ctx.archived(M, "GET_MEDIA_FOR_FRAGMENT_LIST", validate=False), "GetMediaForFragmentList", StreamName=M, Fragments=[]), "InvalidArgumentException")

    @case("GetMediaForFragmentList", "unknown stream -> ResourceNotFoundException", "API_reader_GetMediaForFragmentList.html: Errors")
    def _(ctx):
        return ctx.error(
            ctx.call(ctx.archived(M, "GET_MEDIA_FOR_FRAGMENT_LIST"), "GetMediaForFragmentList", StreamName="conf-no-such-stream", Fragments=["1" * 47]),
            "ResourceNotFoundException",
        )

    # ---------------- GetClip
    def video_range(ctx):
        full = ctx.fragments(V)
        return int(ts(full[0]["ProducerTimestamp"])), int(ts(full[-1]["ProducerTimestamp"])) + 1

    @case("GetClip", "an MP4 of the range", "API_reader_GetClip.html: Payload 'MP4'")
    def _(ctx):
        lo, hi = video_range(ctx)
        sel = {"FragmentSelectorType": "PRODUCER_TIMESTAMP", "TimestampRange": {"StartTimestamp": at(lo), "EndTimestamp": at(min(hi, lo + 5))}}
        c = ctx.call(ctx.archived(V, "GET_CLIP"), "GetClip", StreamName=V, ClipFragmentSelector=sel)
        ctx.ok(c)
        body = c.parsed["Payload"].read()
        if body[4:8] != b"ftyp":
            fail(f"payload is not an MP4 (no ftyp box first): {body[:12].hex()}")
        if "mp4" not in (c.headers.get("content-type") or ""):
            fail(f"Content-Type {c.headers.get('content-type')!r} for an MP4 clip")
        return f"{len(body)} bytes, {c.headers.get('content-type')}"

    @case("GetClip", "a range with no fragments -> ResourceNotFoundException", "API_reader_GetClip.html: Errors ResourceNotFoundException")
    def _(ctx):
        sel = {"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": at(1000), "EndTimestamp": at(1010)}}
        return ctx.error(ctx.call(ctx.archived(V, "GET_CLIP"), "GetClip", StreamName=V, ClipFragmentSelector=sel), "ResourceNotFoundException")

    @case("GetClip", "a stream without H.264/H.265 video -> UnsupportedStreamMediaTypeException", "API_reader_GetClip.html: Errors UnsupportedStreamMediaTypeException")
    def _(ctx):
        full = ctx.fragments(M)
        lo = int(ts(full[0]["ProducerTimestamp"]))
        sel = {"FragmentSelectorType": "PRODUCER_TIMESTAMP", "TimestampRange": {"StartTimestamp": at(lo), "EndTimestamp": at(lo + 3)}}
        return ctx.error(ctx.call(ctx.archived(M, "GET_CLIP"), "GetClip", StreamName=M, ClipFragmentSelector=sel), "UnsupportedStreamMediaTypeException")

    @case("GetClip", "unknown stream -> ResourceNotFoundException", "API_reader_GetClip.html: Errors")
    def _(ctx):
        sel = {"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": at(1000), "EndTimestamp": at(1010)}}
        return ctx.error(ctx.call(ctx.archived(V, "GET_CLIP"), "GetClip", StreamName="conf-no-such-stream", ClipFragmentSelector=sel), "ResourceNotFoundException")

    # ---------------- GetImages
    def images(ctx, fmt, max_results):
        lo, hi = video_range(ctx)
        pages, token = [], None
        for _ in range(100):
            p = {
                "StreamName": V,
                "ImageSelectorType": "PRODUCER_TIMESTAMP",
                "StartTimestamp": at(lo),
                "EndTimestamp": at(hi),
                "SamplingInterval": 3000,
                "Format": fmt,
                "MaxResults": max_results,
            }
            if token:
                p["NextToken"] = token
            out = ctx.ok(ctx.call(ctx.archived(V, "GET_IMAGES"), "GetImages", **p), f"GetImages page {len(pages) + 1}")
            pages.append(out.get("Images", []))
            token = out.get("NextToken")
            if not token:
                return pages, (lo, hi)
        fail("GetImages did not end after 100 pages")

    def image_case(fmt, magic):
        def run(ctx):
            pages, (lo, hi) = images(ctx, fmt, 25)
            imgs = [i for p in pages for i in p]
            with_content = [i for i in imgs if i.get("ImageContent")]
            if not with_content:
                fail(f"no image with content in [{lo}, {hi}] ({[i.get('Error') for i in imgs]})")
            bad = []
            for i in with_content:
                data = base64.b64decode(i["ImageContent"])
                if not data.startswith(magic):
                    bad.append(data[:8].hex())
            if bad:
                fail(f"{len(bad)} of {len(with_content)} images are not {fmt} (first bytes {bad[0]})")
            outside = [ts(i["TimeStamp"]) for i in imgs if not lo <= ts(i["TimeStamp"]) <= hi]
            if outside:
                fail(f"images timestamped outside [{lo}, {hi}]: {outside[:3]}")
            return f"{len(with_content)} {fmt} images of {len(imgs)}"

        return run

    case("GetImages", "Format JPEG: JPEG bytes", "API_reader_GetImages.html: Format JPEG; API_reader_Image.html: ImageContent")(image_case("JPEG", JPEG_MAGIC))
    case("GetImages", "Format PNG: PNG bytes", "API_reader_GetImages.html: Format PNG; API_reader_Image.html: ImageContent")(image_case("PNG", PNG_MAGIC))

    @case("GetImages", "MaxResults 2: every page within MaxResults, the pages together as one call", "API_reader_GetImages.html: MaxResults, NextToken")
    def _(ctx):
        pages, _r = images(ctx, "JPEG", 2)
        whole, _r = images(ctx, "JPEG", 25)
        over = [len(p) for p in pages if len(p) > 2]
        if over:
            fail(f"pages of {over} images with MaxResults 2")
        a = [ts(i["TimeStamp"]) for p in pages for i in p]
        b = [ts(i["TimeStamp"]) for p in whole for i in p]
        if a != b:
            fail(f"paged timestamps {a} differ from one call's {b}")
        return f"{len(pages)} pages, {len(a)} images"

    @case("GetImages", "unknown stream -> ResourceNotFoundException", "API_reader_GetImages.html: Errors ResourceNotFoundException")
    def _(ctx):
        return ctx.error(
            ctx.call(
                ctx.archived(V, "GET_IMAGES"),
                "GetImages",
                StreamName="conf-no-such-stream",
                ImageSelectorType="PRODUCER_TIMESTAMP",
                StartTimestamp=at(0),
                EndTimestamp=at(10),
                SamplingInterval=3000,
                Format="JPEG",
            ),
            "ResourceNotFoundException",
        )

    # ---------------- HLS / DASH
    def session_case(kind, mode):
        op = "GetHLSStreamingSessionURL" if kind == "hls" else "GetDASHStreamingSessionURL"
        api = "GET_HLS_STREAMING_SESSION_URL" if kind == "hls" else "GET_DASH_STREAMING_SESSION_URL"
        sel_key = "HLSFragmentSelector" if kind == "hls" else "DASHFragmentSelector"
        url_key = "HLSStreamingSessionURL" if kind == "hls" else "DASHStreamingSessionURL"

        def run(ctx):
            lo, hi = video_range(ctx)
            rng = {"StartTimestamp": at(lo), "EndTimestamp": at(hi)}
            out = ctx.ok(ctx.call(ctx.archived(V, api), op, StreamName=V, PlaybackMode=mode, **{sel_key: {"FragmentSelectorType": "PRODUCER_TIMESTAMP", "TimestampRange": rng}}))
            url = out.get(url_key, "")
            if "SessionToken=" not in url:
                fail(f"{url_key} {url!r} carries no SessionToken")
            try:
                with urllib.request.urlopen(url, timeout=20) as r:
                    text = r.read().decode("utf-8", "replace")
            except (urllib.error.URLError, OSError) as e:
                fail(f"GET {url_key}: {e}")
            head = "#EXTM3U" if kind == "hls" else "<MPD"
            if head not in text[:400]:
                fail(f"GET {url_key} is no {'HLS playlist' if kind == 'hls' else 'DASH manifest'}: {_short(text, 120)!r}")
            return url

        return op, run

    for kind, mode in (("hls", "ON_DEMAND"), ("hls", "LIVE_REPLAY"), ("dash", "ON_DEMAND"), ("dash", "LIVE_REPLAY")):
        op, fn = session_case(kind, mode)
        page = f"API_reader_{op}.html"
        case(op, f"{mode}: a session URL that serves a {'playlist' if kind == 'hls' else 'manifest'}", f"{page}: PlaybackMode {mode}")(fn)

    for op, api, sel_key in (
        ("GetHLSStreamingSessionURL", "GET_HLS_STREAMING_SESSION_URL", "HLSFragmentSelector"),
        ("GetDASHStreamingSessionURL", "GET_DASH_STREAMING_SESSION_URL", "DASHFragmentSelector"),
    ):

        @case(op, "ON_DEMAND range with no fragments -> ResourceNotFoundException", f"API_reader_{op}.html: Errors ResourceNotFoundException")
        def _(ctx, op=op, api=api, sel_key=sel_key):
            sel = {"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": at(1000), "EndTimestamp": at(1010)}}
            return ctx.error(ctx.call(ctx.archived(V, api), op, StreamName=V, PlaybackMode="ON_DEMAND", **{sel_key: sel}), "ResourceNotFoundException")

        @case(op, "a stream without H.264/H.265 video -> UnsupportedStreamMediaTypeException", f"API_reader_{op}.html: Errors UnsupportedStreamMediaTypeException")
        def _(ctx, op=op, api=api, sel_key=sel_key):
            full = ctx.fragments(M)
            lo = int(ts(full[0]["ProducerTimestamp"]))
            sel = {"FragmentSelectorType": "PRODUCER_TIMESTAMP", "TimestampRange": {"StartTimestamp": at(lo), "EndTimestamp": at(lo + 5)}}
            return ctx.error(ctx.call(ctx.archived(M, api), op, StreamName=M, PlaybackMode="ON_DEMAND", **{sel_key: sel}), "UnsupportedStreamMediaTypeException")

        @case(op, "Expires 60 (below 300) -> InvalidArgumentException", "model: Expires min 300")
        def _(ctx, op=op, api=api, sel_key=sel_key):
            lo, hi = video_range(ctx)
            sel = {"FragmentSelectorType": "PRODUCER_TIMESTAMP", "TimestampRange": {"StartTimestamp": at(lo), "EndTimestamp": at(hi)}}
            return ctx.error(ctx.call(ctx.archived(V, api, validate=False), op, StreamName=V, PlaybackMode="ON_DEMAND", Expires=60, **{sel_key: sel}), "InvalidArgumentException")

    # ---------------- KVS with WebRTC: signaling channels (kinesisvideo) and the signaling data plane
    ch_name = f"conf-channel-{os.getpid()}"

    def channel_arn(ctx):
        def make():
            c = ctx.call(ctx.cp, "CreateSignalingChannel", ChannelName=ch_name, ChannelType="SINGLE_MASTER", SingleMasterConfiguration={"MessageTtlSeconds": 30})
            return ctx.ok(c, "CreateSignalingChannel")["ChannelARN"]

        return ctx.cached(("channel", ch_name), make)

    @case("CreateSignalingChannel", "a channel: its ARN matches the model's pattern", "API_CreateSignalingChannel.html: ChannelARN; model ResourceARN pattern")
    def _(ctx):
        arn = channel_arn(ctx)
        if not re.match(r"^arn:aws:kinesisvideo:[a-z0-9-]+:[0-9]+:channel/" + re.escape(ch_name) + r"/[0-9]+$", arn):
            fail(f"ChannelARN {arn!r} is not arn:aws:kinesisvideo:REGION:ACCOUNT:channel/NAME/CREATION_TIME")
        return arn

    @case("CreateSignalingChannel", "the same name again -> ResourceInUseException", "API_CreateSignalingChannel.html: Errors ResourceInUseException")
    def _(ctx):
        channel_arn(ctx)
        return ctx.error(ctx.call(ctx.cp, "CreateSignalingChannel", ChannelName=ch_name), "ResourceInUseException")

    @case("CreateSignalingChannel", "MessageTtlSeconds out of 5..120 -> InvalidArgumentException", "model: MessageTtlSeconds min 5 max 120")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp_raw, "CreateSignalingChannel", ChannelName="conf-bad-ttl", SingleMasterConfiguration={"MessageTtlSeconds": 500}), "InvalidArgumentException")

    @case("DescribeSignalingChannel", "ChannelInfo by name and by ARN: SINGLE_MASTER, ACTIVE, the TTL given, a Version", "API_ChannelInfo.html")
    def _(ctx):
        arn = channel_arn(ctx)
        a = ctx.ok(ctx.call(ctx.cp, "DescribeSignalingChannel", ChannelName=ch_name))["ChannelInfo"]
        b = ctx.ok(ctx.call(ctx.cp, "DescribeSignalingChannel", ChannelARN=arn))["ChannelInfo"]
        problems = []
        if a.get("ChannelARN") != arn or b.get("ChannelName") != ch_name:
            problems.append("by name and by ARN do not name the same channel")
        if a.get("ChannelType") != "SINGLE_MASTER" or a.get("ChannelStatus") != "ACTIVE":
            problems.append(f"ChannelType {a.get('ChannelType')!r}, ChannelStatus {a.get('ChannelStatus')!r}")
        if a.get("SingleMasterConfiguration", {}).get("MessageTtlSeconds") != 30:
            problems.append(f"SingleMasterConfiguration {a.get('SingleMasterConfiguration')!r}, created with MessageTtlSeconds 30")
        if not a.get("Version"):
            problems.append("no Version")
        if problems:
            fail("; ".join(problems))
        return json.dumps(a, default=str)

    @case("DescribeSignalingChannel", "unknown channel -> ResourceNotFoundException", "API_DescribeSignalingChannel.html: Errors")
    def _(ctx):
        return ctx.error(ctx.call(ctx.cp, "DescribeSignalingChannel", ChannelName="conf-no-such-channel"), "ResourceNotFoundException")

    @case("ListSignalingChannels", "lists the channel; ChannelNameCondition BEGINS_WITH filters", "API_ListSignalingChannels.html: ChannelNameCondition")
    def _(ctx):
        channel_arn(ctx)
        every = ctx.ok(ctx.call(ctx.cp, "ListSignalingChannels"))["ChannelInfoList"]
        some = ctx.ok(ctx.call(ctx.cp, "ListSignalingChannels", ChannelNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": "conf-channel-"}))["ChannelInfoList"]
        none = ctx.ok(ctx.call(ctx.cp, "ListSignalingChannels", ChannelNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": "zz-none-"}))["ChannelInfoList"]
        if ch_name not in [c["ChannelName"] for c in every] or ch_name not in [c["ChannelName"] for c in some] or none:
            fail(f"all {len(every)}, BEGINS_WITH conf-channel- {len(some)}, BEGINS_WITH zz-none- {len(none)}")
        return f"{len(every)} channels"

    for role in ("MASTER", "VIEWER"):

        @case("GetSignalingChannelEndpoint", f"{role}: a WSS and an HTTPS endpoint, in the order asked", "API_GetSignalingChannelEndpoint.html: ResourceEndpointList")
        def _(ctx, role=role):
            arn = channel_arn(ctx)
            out = ctx.ok(ctx.call(ctx.cp, "GetSignalingChannelEndpoint", ChannelARN=arn, SingleMasterChannelEndpointConfiguration={"Protocols": ["WSS", "HTTPS"], "Role": role}))
            got = [(e["Protocol"], urllib.parse.urlparse(e["ResourceEndpoint"]).scheme) for e in out["ResourceEndpointList"]]
            if [g[0] for g in got] != ["WSS", "HTTPS"] or got[0][1] not in ("ws", "wss") or got[1][1] not in ("http", "https"):
                fail(f"ResourceEndpointList {out['ResourceEndpointList']!r}")
            return json.dumps(out["ResourceEndpointList"])

    @case("GetIceServerConfig", "through kinesis-video-signaling at the HTTPS endpoint: an IceServerList", "API_signaling_GetIceServerConfig.html")
    def _(ctx):
        arn = channel_arn(ctx)
        eps = ctx.ok(ctx.call(ctx.cp, "GetSignalingChannelEndpoint", ChannelARN=arn, SingleMasterChannelEndpointConfiguration={"Protocols": ["HTTPS"], "Role": "VIEWER"}))
        https = eps["ResourceEndpointList"][0]["ResourceEndpoint"]
        out = ctx.ok(ctx.call(ctx.client("kinesis-video-signaling", https), "GetIceServerConfig", ChannelARN=arn, ClientId="conf-viewer", Service="TURN"))
        return json.dumps(out.get("IceServerList"))

    @case("GetIceServerConfig", "unknown channel -> ResourceNotFoundException", "API_signaling_GetIceServerConfig.html: Errors")
    def _(ctx):
        arn = channel_arn(ctx)
        return ctx.error(ctx.call(ctx.client("kinesis-video-signaling"), "GetIceServerConfig", ChannelARN=arn.replace(ch_name, "conf-no-such-channel")), "ResourceNotFoundException")

    @case("DeleteSignalingChannel", "a stale CurrentVersion -> VersionMismatchException; then deleted, it is not found", "API_DeleteSignalingChannel.html: CurrentVersion, Errors")
    def _(ctx):
        name = f"conf-channel-del-{os.getpid()}"
        arn = ctx.ok(ctx.call(ctx.cp, "CreateSignalingChannel", ChannelName=name))["ChannelARN"]
        ctx.error(ctx.call(ctx.cp, "DeleteSignalingChannel", ChannelARN=arn, CurrentVersion="999"), "VersionMismatchException")
        version = ctx.ok(ctx.call(ctx.cp, "DescribeSignalingChannel", ChannelARN=arn))["ChannelInfo"]["Version"]
        ctx.ok(ctx.call(ctx.cp, "DeleteSignalingChannel", ChannelARN=arn, CurrentVersion=version))
        return ctx.error(ctx.call(ctx.cp, "DescribeSignalingChannel", ChannelARN=arn), "ResourceNotFoundException")

    # ---------------- AWS CLI
    if have_cli:

        def cli(ctx, *args, endpoint=None):
            env = dict(os.environ)
            env.update(
                AWS_ACCESS_KEY_ID="local",
                AWS_SECRET_ACCESS_KEY="local",
                AWS_DEFAULT_REGION=REGION,
                AWS_REGION=REGION,
                AWS_PAGER="",
                AWS_CONFIG_FILE=os.devnull,
                AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                AWS_EC2_METADATA_DISABLED="true",
            )
            env.pop("AWS_PROFILE", None)
            env.pop("AWS_SESSION_TOKEN", None)
            cmd = [shutil.which("aws"), "--endpoint-url", endpoint or ctx.endpoint, "--output", "json", *args]
            try:
                p = subprocess.run(cmd, env=env, capture_output=True, timeout=60, check=False)
            except subprocess.TimeoutExpired:
                fail(f"aws {' '.join(args)}: no answer in 60 s")
            return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

        def cli_json(ctx, *args, endpoint=None):
            rc, out, err = cli(ctx, *args, endpoint=endpoint)
            if rc != 0:
                fail(f"aws {' '.join(args)} exited {rc}: {_short(err.strip(), 300)}")
            try:
                return json.loads(out or "{}")
            except ValueError:
                fail(f"aws {' '.join(args)} printed no JSON: {_short(out, 200)!r}")

        @case("ListStreams", "aws kinesisvideo list-streams lists every stream", "AWS CLI: kinesisvideo list-streams")
        def _(ctx):
            out = cli_json(ctx, "kinesisvideo", "list-streams")
            names = [s.get("StreamName") for s in out.get("StreamInfoList", [])]
            missing = [n for n in (H, V, M) if n not in names]
            if missing:
                fail(f"not listed: {missing}")
            return f"{len(names)} streams"

        @case("DescribeSignalingChannel", "aws kinesisvideo describe-signaling-channel", "AWS CLI: kinesisvideo describe-signaling-channel")
        def _(ctx):
            arn = channel_arn(ctx)
            info = cli_json(ctx, "kinesisvideo", "describe-signaling-channel", "--channel-name", ch_name).get("ChannelInfo", {})
            if info.get("ChannelARN") != arn:
                fail(f"ChannelInfo {info!r}")
            return arn

        @case("DescribeStream", "aws kinesisvideo describe-stream", "AWS CLI: kinesisvideo describe-stream")
        def _(ctx):
            info = cli_json(ctx, "kinesisvideo", "describe-stream", "--stream-name", H).get("StreamInfo", {})
            if info.get("StreamName") != H or not info.get("StreamARN"):
                fail(f"StreamInfo {info!r}")
            return info.get("StreamARN")

        @case("DescribeStream", "aws kinesisvideo describe-stream of no stream: ResourceNotFoundException, non-zero exit", "AWS CLI: kinesisvideo describe-stream; API_DescribeStream.html: Errors")
        def _(ctx):
            rc, _out, err = cli(ctx, "kinesisvideo", "describe-stream", "--stream-name", "conf-no-such-stream")
            if rc == 0 or "ResourceNotFoundException" not in err:
                fail(f"exit {rc}, stderr {_short(err.strip(), 200)!r}")
            return f"exit {rc}"

        @case("GetDataEndpoint", "aws kinesisvideo get-data-endpoint", "AWS CLI: kinesisvideo get-data-endpoint")
        def _(ctx):
            out = cli_json(ctx, "kinesisvideo", "get-data-endpoint", "--stream-name", H, "--api-name", "LIST_FRAGMENTS")
            if not out.get("DataEndpoint", "").startswith("http"):
                fail(f"{out!r}")
            return out["DataEndpoint"]

        @case("ListFragments", "aws kinesis-video-archived-media list-fragments (CLI pagination): every fragment once", "AWS CLI: kinesis-video-archived-media list-fragments")
        def _(ctx):
            full = ctx.fragments(M)
            ep = ctx.data_endpoint(M, "LIST_FRAGMENTS")
            sel = json.dumps({"FragmentSelectorType": "SERVER_TIMESTAMP", "TimestampRange": {"StartTimestamp": 0, "EndTimestamp": int(FAR.timestamp())}})
            out = cli_json(ctx, "kinesis-video-archived-media", "list-fragments", "--stream-name", M, "--fragment-selector", sel, "--page-size", "100", endpoint=ep)
            got = [f["FragmentNumber"] for f in out.get("Fragments", [])]
            if sorted(got) != sorted(f["FragmentNumber"] for f in full):
                fail(f"{len(got)} fragments ({len(set(got))} distinct), the stream holds {len(full)}")
            return f"{len(got)} fragments"

        @case("GetMedia", "aws kinesis-video-media get-media EARLIEST writes the stream's MKV", "AWS CLI: kinesis-video-media get-media")
        def _(ctx):
            full = ctx.fragments(H)
            ep = ctx.data_endpoint(H, "GET_MEDIA")
            time.sleep(0.5)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "out.mkv")
                cli_json(ctx, "kinesis-video-media", "get-media", "--stream-name", H, "--start-selector", "StartSelectorType=EARLIEST", path, endpoint=ep)
                with open(path, "rb") as f:
                    data = f.read()
            got = [f["number"] for f in parse_mkv(data) if f["number"]]
            if not data.startswith(EBML_MAGIC) or got[:1] != [full[0]["FragmentNumber"]]:
                fail(f"{len(data)} bytes, fragments {got}")
            return f"{len(data)} bytes, {len(got)} fragments"

    # ---------------- request ids (last: they judge every call made above)
    def request_ids(services, errors):
        def run(ctx):
            calls = [c for c in CALLS if c.service in services and (c.status is not None and c.status >= 300) == errors]
            if not calls:
                fail("no such response was seen")
            missing = [c for c in calls if "x-amzn-requestid" not in c.headers]
            if missing:
                ops = sorted({f"{c.op} {c.status}" for c in missing})
                fail(f"{len(missing)} of {len(calls)} responses without x-amzn-RequestId: {', '.join(ops)}")
            return f"{len(calls)} responses"

        return run

    for svc in ("kinesisvideo", "kinesis-video-media", "kinesis-video-archived-media"):
        case("x-amzn-RequestId", f"{svc}: on every successful response", "API_reader_ListFragments.html: 'x-amz-RequestId HTTP header'; botocore ResponseMetadata.RequestId")(request_ids({svc}, False))
    case("x-amzn-RequestId", "on every error response", "API_reader_ListFragments.html: errors include the x-amz-RequestId HTTP header")(
        request_ids({"kinesisvideo", "kinesis-video-media", "kinesis-video-archived-media"}, True)
    )


def main(argv):
    args = [a for a in argv[1:]]
    plan_only = "--plan" in args or "--list" in args
    list_cases = "--list" in args
    args = [a for a in args if a not in ("--plan", "--list")]
    config_json = os.environ.get("KVS_CONFORMANCE_CONFIG")
    if "--config" in args:
        i = args.index("--config")
        config_json = args[i + 1] if i + 1 < len(args) else None
        del args[i : i + 2]
    endpoint = args[0] if args else os.environ.get("KVS_ENDPOINT")
    if not endpoint and not plan_only:
        print("usage: kvs_conformance.py ENDPOINT [--config JSON]  (or KVS_ENDPOINT)", file=sys.stderr)
        return 2
    cfg = dict(DEFAULT_CONFIG)
    if config_json:
        cfg.update(json.loads(config_json))
    have_cli = shutil.which("aws") is not None
    register(cfg, have_cli)
    print(json.dumps({"plan": len(CASES), "python": sys.version.split()[0], "boto3": boto3.__version__, "botocore": botocore.__version__, "cli": have_cli}), flush=True)
    if list_cases:
        for op, name, source, _fn in CASES:
            print(json.dumps({"op": op, "case": name, "source": source}))
    if plan_only:
        return 0
    ctx = Ctx(endpoint, cfg)
    for op, name, source, fn in CASES:
        started = time.monotonic()
        try:
            detail = fn(ctx)
            ok = True
        except Fail as e:
            ok, detail = False, str(e)
        except Exception as e:  # noqa: BLE001  (a crash in a case is that case's failure)
            ok, detail = False, f"script error {type(e).__name__}: {e} | {traceback.format_exc(limit=3).strip().splitlines()[-3:]}"
        rec = {"op": op, "case": name, "source": source, "ok": ok, "detail": _short(detail if detail is not None else "", 1500), "ms": round((time.monotonic() - started) * 1000)}
        print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
