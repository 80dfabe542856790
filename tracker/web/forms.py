"""The web page's one state-changing form: a person's reading of an entry ("Read as…").

Safe against other sites: the form carries a token only this server can make (an HMAC
of the commitment and entry under a secret born with the server), a request whose
`Origin` (or, without one, `Referer`) names another site is refused, and nothing
changes on GET. The change is `tracker evidence label`'s, through the same function.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from tracker.app import utc_now
from tracker.model import SignalKind

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 4096
LABELLED_ON_THE_WEB = "labelled on the web page"


def new_form_secret() -> bytes:
    return secrets.token_bytes(32)


def form_token(secret: bytes, commitment_id: str, entry_id: int) -> str:
    """What the form for this commitment and entry must send back."""
    return hmac.new(secret, f"label\0{commitment_id}\0{entry_id}".encode("utf-8"), hashlib.sha256).hexdigest()


def same_site(request: Request) -> bool:
    """The request comes from a page of this server (or names no origin: a non-browser client)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc.lower() == (request.headers.get("host") or "").lower()


@router.post("/commitments/{commitment_id}/evidence/{entry_id}/label")
async def label_from_the_page(request: Request, commitment_id: str, entry_id: int) -> Response:
    if not same_site(request):
        return render_error(request, 403, "This form can only be sent from the tracker's own page.")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return render_error(request, 413, "The form is too large.")
    form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    expected = form_token(request.app.state.form_secret, commitment_id, entry_id)
    if not hmac.compare_digest(form.get("csrf", "").encode(), expected.encode()):
        return render_error(request, 403, "The form's token is missing or stale: reload the page and try again.")
    signal = form.get("signal", "")
    if signal not in {kind.value for kind in SignalKind}:
        return render_error(request, 400, f"Unknown signal “{signal}”.")
    note = (form.get("note") or "").strip()[:500] or LABELLED_ON_THE_WEB
    by = (form.get("by") or "").strip()[:100] or "web reviewer"
    done = await run_in_threadpool(_label, request.app.state.tracker, entry_id, commitment_id, SignalKind(signal), note, by)
    if not done:
        return render_error(request, 404, f"No entry {entry_id} for “{commitment_id}”.")
    return RedirectResponse(f"/commitments/{commitment_id}#entry-{entry_id}", status_code=303)


def render_error(_request: Request, status_code: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status_code)


def _label(app, entry_id: int, commitment_id: str, signal: SignalKind, note: str, by: str) -> bool:
    from tracker.status.commitments import label_evidence

    if commitment_id not in app.rules_in_force(sync_config=False):
        return False
    done, _change = label_evidence(app.engine, app.routes, entry_id, commitment_id, signal, note, by, utc_now())
    if done:
        app.deliver()
    return done
