#!/usr/bin/env python3
"""Reads a stream from a KVS endpoint (kvs-parser serve, or AWS) with AWS's own Python consumer library.

usage: python3 scripts/aws-samples-consumer.py LIBRARY_DIR ENDPOINT STREAM [FRAGMENTS]

LIBRARY_DIR is a checkout of github.com/aws-samples/amazon-kinesis-video-streams-consumer-library-for-python,
used unmodified: only the configuration changes (the endpoint, the region, the stream). It needs boto3; its
bundled ebmlite parses the fragments. imageio (the library's frame helpers import it) is not needed for
fragments and tags: stood in for when missing. Prints one JSON line per fragment with its KVS tags, then a
summary line; exit code 0 when FRAGMENTS (default: all until the response ends) arrived.
"""
import json
import sys
import threading
import types

import boto3

library, endpoint, stream = sys.argv[1:4]
wanted = int(sys.argv[4]) if len(sys.argv) > 4 else None
sys.path.insert(0, library)
try:
    import imageio.v3  # noqa: F401
except ImportError:  # only the library's frame helpers use it
    stub = types.ModuleType("imageio")
    stub.v3 = types.ModuleType("imageio.v3")
    sys.modules["imageio"], sys.modules["imageio.v3"] = stub, stub.v3

from amazon_kinesis_video_consumer_library.kinesis_video_fragment_processor import KvsFragementProcessor  # noqa: E402
from amazon_kinesis_video_consumer_library.kinesis_video_streams_parser import KvsConsumerLibrary  # noqa: E402

session = boto3.Session(region_name="us-east-1")
control = session.client("kinesisvideo", endpoint_url=endpoint)
data_endpoint = control.get_data_endpoint(StreamName=stream, APIName="GET_MEDIA")["DataEndpoint"]
media = session.client("kinesis-video-media", endpoint_url=data_endpoint)
response = media.get_media(StreamName=stream, StartSelector={"StartSelectorType": "EARLIEST"})

processor = KvsFragementProcessor()
fragments = []
done = threading.Event()
failure = []


def on_fragment(stream_name, fragment_bytes, fragment_dom, receive_duration):
    tags = processor.get_fragment_tags(fragment_dom)
    fragments.append(tags.get("AWS_KINESISVIDEO_FRAGMENT_NUMBER"))
    print(json.dumps({"bytes": len(fragment_bytes), **{k: v for k, v in tags.items() if k.startswith("AWS_KINESISVIDEO")}}), flush=True)
    if wanted is not None and len(fragments) >= wanted:
        done.set()


def on_complete(stream_name):
    done.set()


def on_exception(stream_name, error):
    failure.append(repr(error))
    done.set()


consumer = KvsConsumerLibrary(stream, response, on_fragment, on_complete, on_exception)
consumer.start()
done.wait(60)
consumer.stop_thread()
print(json.dumps({"fragments": len(fragments), "error": failure[0] if failure else None}), flush=True)
sys.exit(0 if not failure and (wanted is None or len(fragments) >= wanted) else 1)
