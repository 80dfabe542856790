"""Slack's interactivity and slash-command requests, verified by their signature.

These routes are not behind the web access token (Slack cannot send it): the
signature with $SLACK_SIGNING_SECRET over the raw body is what lets a request in.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from slack_sdk.signature import SignatureVerifier
from starlette.concurrency import run_in_threadpool

from tracker.app import SIGNING_SECRET_ENV, utc_now
from tracker.web.slack_actions import MalformedClick, answer_command, apply_click, finish_click, parse_click

router = APIRouter(prefix="/slack", tags=["slack"])

# Slack's own advice: a request signed longer ago than this may be a replay.
MAX_AGE_SECONDS = 5 * 60


@router.post("/interactions", summary="Slack's button clicks on alert cards (signed by Slack)")
async def interactions(request: Request, background: BackgroundTasks) -> Response:
    """Make the change before answering, so the status has moved when Slack hears back;
    deliver its alerts and update the card after."""
    form = verified_form(request, await request.body())
    try:
        click = parse_click(json.loads(form["payload"]))
    except KeyError:
        raise HTTPException(400, "no `payload` field: not an interactivity request") from None
    except json.JSONDecodeError:
        raise HTTPException(400, "the `payload` field is not JSON") from None
    except MalformedClick as problem:
        raise HTTPException(400, str(problem)) from None
    outcome = await run_in_threadpool(apply_click, request.app.state.tracker, click)
    background.add_task(finish_click, request.app.state.tracker, click, outcome)
    return Response(status_code=200)


@router.post("/commands", summary="The /commitments slash command (signed by Slack)")
async def commands(request: Request) -> Response:
    form = verified_form(request, await request.body())
    if form.get("ssl_check"):  # Slack checking the certificate: nothing to answer
        return Response(status_code=200)
    answer = await run_in_threadpool(answer_command, request.app.state.tracker, form.get("text", ""), utc_now())
    return JSONResponse(answer)


def verified_form(request: Request, body: bytes) -> dict[str, str]:
    """The form fields of a request Slack signed in the last five minutes; 401 for anything else."""
    secret = request.app.state.slack_signing_secret
    if not secret:
        raise HTTPException(401, f"Slack requests are refused: ${SIGNING_SECRET_ENV} is not set")
    timestamp = request.headers.get("X-Slack-Request-Timestamp")
    signature = request.headers.get("X-Slack-Signature")
    if not timestamp or not signature:
        raise HTTPException(401, "unsigned request: X-Slack-Signature and X-Slack-Request-Timestamp are required")
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        raise HTTPException(401, "X-Slack-Request-Timestamp is not a Unix time") from None
    if age > MAX_AGE_SECONDS:
        raise HTTPException(401, "stale request: its timestamp is more than 5 minutes from now (a replay, or a clock that is off)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None  # Slack sends UTF-8: these bytes are not its
    if text is None or not SignatureVerifier(secret).is_valid(body=text, timestamp=timestamp, signature=signature):
        raise HTTPException(401, f"bad signature: not signed with ${SIGNING_SECRET_ENV}")
    return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}
