"""Drives the official OpenTok Python server SDK against an Otter server (see tests/opentok_sdks.rs).

Line protocol: prints one JSON object per step on stdout; reads one JSON line from stdin when told.
"""
import json
import sys
import time
import traceback

from opentok import Client, MediaModes, Roles
from opentok.exceptions import AuthError, ForceDisconnectError, RequestError


def out(obj):
    print(json.dumps(obj), flush=True)


def main():
    api_url, api_key, api_secret = sys.argv[1:4]
    ot = Client(api_key, api_secret, api_url=api_url)
    session_id = ot.create_session(media_mode=MediaModes.routed).session_id
    out({
        "step": "created",
        "session_id": session_id,
        "jwt": ot.generate_token(session_id, role=Roles.moderator, data="sdk=python"),
        "legacy": ot.generate_token(session_id, role=Roles.publisher, data="sdk=python-legacy", use_jwt=False),
        # Short-lived: inside the window a REST credential may have (must still not pass as one).
        "short": ot.generate_token(session_id, role=Roles.subscriber, expire_time=int(time.time()) + 120),
    })
    wanted = json.loads(sys.stdin.readline())
    connection_id, stream_id = wanted["connection_id"], wanted["stream_id"]

    streams = ot.list_streams(session_id)
    one = ot.get_stream(session_id, stream_id)
    out({"step": "streams", "ids": [s.id for s in streams.items], "names": [s.name for s in streams.items], "one": one.id})
    ot.send_signal(session_id, {"type": "sdk", "data": "hello from python"})
    ot.send_signal(session_id, {"type": "sdk", "data": "just you, from python"}, connection_id)
    ot.mute_stream(session_id, stream_id)
    ot.mute_all(session_id, [])
    out({"step": "signalled_and_muted"})
    ot.force_disconnect(session_id, connection_id)
    missing = None
    try:
        ot.force_disconnect(session_id, connection_id)
    except (ForceDisconnectError, RequestError) as e:
        missing = type(e).__name__
    out({"step": "disconnected", "second_attempt_error": missing})

    bad_auth = None
    try:
        Client(api_key, "wrong-secret", api_url=api_url).list_streams(session_id)
    except AuthError as e:
        bad_auth = type(e).__name__
    out({"step": "done", "bad_auth_error": bad_auth})


if __name__ == "__main__":
    try:
        main()
    except Exception:  # report, then fail the run
        out({"step": "failed", "error": traceback.format_exc()})
        sys.exit(1)
