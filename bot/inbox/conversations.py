"""Escalated conversations: the list by place and age, the thread, take, reply, hand back, close.

Rules live in bot/services/advisor_actions.py and advisor_views.py; this module turns them into
pages, French messages and HTTP answers. Another place's escalation (or voicemail) is a 404, for
GET and POST alike. Every POST redirects with a flash message, except a refused reply, shown
again with its text so that nothing typed is lost. A reply is queued in the outbox: the
dispatcher of `relais serve` sends it on its next pass (every 15 seconds).
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import requests
from babel.dates import format_timedelta
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from bot import clock
from bot.database import transaction
from bot.inbox import blueprint
from bot.runtime import runtime_of
from bot.services import advisor_actions as actions
from bot.services import advisor_views as views
from bot.services.users import Account, places_of
from bot.wording.dates import format_day, format_time

log = logging.getLogger(__name__)

REASONS = {
    "asked": "A demandé un conseiller",
    "not_understood": "Pas compris deux fois",
    "voicemail": "Message vocal",
    "distress": "Mots de détresse",
    "no_answer": "Appel sans réponse",
    "error": "Erreur de l'assistant",
}
OUTCOMES = {
    "resolved": "Demande réglée",
    "called_back": "Rappelé par téléphone",
    "appointment": "Rendez-vous pris",
    "redirected": "Orienté vers un autre service",
    "no_reply": "Le résident n'a pas répondu",
    "other": "Autre",
}
CHANNELS = {"sms": "SMS", "voice": "Téléphone", "simulator": "Simulateur", "inbox": "Boîte"}
EVENTS = {
    "escalated": "Demande transmise aux conseillers",
    "taken": "Prise en charge",
    "handed_back": "Rendue à l'assistant",
    "closed": "Close",
    "call": "Appel",
    "transfer": "Appel transféré",
    "voicemail": "Message vocal",
    "appointment": "Rendez-vous",
}
DELIVERY = {
    "pending": "en attente d'envoi",
    "sending": "en cours d'envoi",
    "sent": "envoyé",
    "delivered": "reçu",
    "failed": "échec de l'envoi",
    "cancelled": "annulé",
}
SENT_KINDS = {
    "reminder": "Rappel de rendez-vous",
    "waiting_offer": "Proposition de place libérée",
    "text": "Message",
}
STATUSES = {"open": "En attente", "taken": "Prise en charge", "closed": "Close"}
NO_PLACE = "aucun"  # the filter value for escalations with no place (admins)
_FORM_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_TEXT = 5000  # more is certainly over three SMS: not worth counting
# Recordings are served only from Twilio's API host, through TWILIO_API_URL when set.
TWILIO_API = "https://api.twilio.com/"


def _account() -> Account:
    account: Account = current_user.account
    return account


@blueprint.app_template_filter("il_y_a")
def ago(moment: datetime | None) -> str:
    """The age of an escalation: "il y a 5 min", "il y a 2 h", "il y a 3 jours"."""
    if moment is None:
        return ""
    elapsed = clock.now() - moment
    if elapsed < timedelta(minutes=1):
        return "à l'instant"
    if elapsed < timedelta(days=1):
        return str(format_timedelta(-elapsed, add_direction=True, format="short", locale="fr_FR"))
    return str(format_timedelta(-elapsed, add_direction=True, format="long", locale="fr_FR"))


@blueprint.app_template_filter("quand")
def when(moment: datetime | None) -> str:
    """A moment as "lundi 23 novembre à 10h05"."""
    return f"{format_day(moment)} à {format_time(moment)}" if moment else ""


def _labels() -> dict[str, object]:
    return {
        "reasons": REASONS,
        "outcomes": OUTCOMES,
        "channels": CHANNELS,
        "events": EVENTS,
        "delivery": DELIVERY,
        "sent_kinds": SENT_KINDS,
        "statuses": STATUSES,
    }


def render_home(account: Account) -> str:
    """The inbox's home: open and taken escalations grouped by place, the oldest first."""
    wanted = request.args.get("lieu", "")[:100]
    with transaction(runtime_of(current_app).sessions) as session:
        listed = views.visible_escalations(session, account)
        places = places_of(session, account)
    counts: dict[str, int] = {}
    for e in listed:
        counts[e.place_id or NO_PLACE] = counts.get(e.place_id or NO_PLACE, 0) + 1
    if wanted:
        listed = [e for e in listed if (e.place_id or NO_PLACE) == wanted]
    groups: list[tuple[str, list[views.Listed]]] = []
    for e in listed:
        name = e.place_name or "Sans lieu"
        if not groups or groups[-1][0] != name:
            groups.append((name, []))
        groups[-1][1].append(e)
    return render_template(
        "inbox_home.html",
        account=account,
        places=places,
        counts=counts,
        groups=groups,
        wanted=wanted,
        no_place=NO_PLACE,
        section="demandes",
        **_labels(),
    )


def _conversation(ticket_id: int) -> views.Conversation:
    with transaction(runtime_of(current_app).sessions) as session:
        try:
            return views.conversation(session, _account(), ticket_id)
        except actions.NotVisible:
            abort(404)


def _page(
    ticket_id: int, *, error: str | None = None, text: str = "", status: int = 200
) -> tuple[str, int]:
    settings = runtime_of(current_app).settings
    page = render_template(
        "inbox_conversation.html",
        conv=_conversation(ticket_id),
        error=error,
        text=text,
        form_id=uuid.uuid4().hex,
        unicode_allowed=settings.sms_unicode,
        audio_available=settings.outbound == "twilio" and not settings.uses_dev_token,
        max_segments=actions.MAX_SEGMENTS,
        section="demandes",
        **_labels(),
    )
    return page, status


@blueprint.get("/demandes/<int:ticket_id>")
@login_required  # type: ignore[untyped-decorator]
def conversation(ticket_id: int) -> tuple[str, int]:
    """A resident's whole thread, and what the advisor may do with the escalation."""
    return _page(ticket_id)


def _refusal(error: actions.ActionRefused) -> str:
    """What a refused action tells the advisor, in French."""
    if isinstance(error, actions.HeldBySomeoneElse):
        who = error.holder or "une autre personne"
        return f"Cette demande est déjà prise en charge par {who}."
    if isinstance(error, actions.ReplyTooLong):
        return (
            f"Message trop long : il ferait {error.segments} SMS. "
            f"Raccourcissez-le à {actions.MAX_SEGMENTS} SMS au plus."
        )
    messages: dict[type[actions.ActionRefused], str] = {
        actions.AlreadyClosed: "Cette demande a été close entre-temps.",
        actions.NotHolder: "Prenez d'abord la demande en charge.",
        actions.EmptyReply: "Écrivez un message avant de l'envoyer.",
        actions.ResidentOptedOut: (
            "Ce résident a répondu STOP : Relais ne peut plus lui envoyer de SMS. "
            "Appelez-le si besoin."
        ),
        actions.ResidentGone: (
            "Les données de ce résident ont été effacées : impossible de lui écrire."
        ),
        actions.UnknownOutcome: "Choisissez une issue dans la liste.",
        actions.DuplicateReply: "Ce message a déjà été envoyé.",
    }
    return messages.get(type(error), "Action impossible.")


def _act(ticket_id: int, action: str, done: str) -> BaseResponse:
    """Run take, hand back or close; flash the outcome and go back to the conversation."""
    outcome = request.form.get("issue", "")[:40]
    try:
        with transaction(runtime_of(current_app).sessions) as session:
            account, now = _account(), clock.now()
            if action == "take":
                actions.take(session, account, ticket_id, now)
            elif action == "hand_back":
                actions.hand_back(session, account, ticket_id, now)
            else:
                actions.close(session, account, ticket_id, outcome, now)
    except actions.NotVisible:
        abort(404)
    except actions.ActionRefused as error:
        flash(_refusal(error), "erreur")
    else:
        flash(done.format(issue=OUTCOMES.get(outcome, "")), "info")
    return redirect(url_for("inbox.conversation", ticket_id=ticket_id))


@blueprint.post("/demandes/<int:ticket_id>/prendre")
@login_required  # type: ignore[untyped-decorator]
def take(ticket_id: int) -> BaseResponse:
    """Take the escalation: the assistant stays quiet, the number is shown in full."""
    return _act(
        ticket_id,
        "take",
        "Vous avez pris cette demande en charge : l'assistant ne répond plus à ce résident "
        "tant que vous la gardez.",
    )


@blueprint.post("/demandes/<int:ticket_id>/rendre")
@login_required  # type: ignore[untyped-decorator]
def hand_back(ticket_id: int) -> BaseResponse:
    """Give the conversation back to the assistant; the escalation waits in the list again."""
    return _act(
        ticket_id,
        "hand_back",
        "L'assistant répond de nouveau à ce résident. La demande reste dans la liste, "
        "en attente, pour vous ou un collègue.",
    )


@blueprint.post("/demandes/<int:ticket_id>/clore")
@login_required  # type: ignore[untyped-decorator]
def close(ticket_id: int) -> BaseResponse:
    """Close the escalation with an outcome; the assistant answers the resident again."""
    return _act(ticket_id, "close", "Demande close : {issue}.")


@blueprint.post("/demandes/<int:ticket_id>/repondre")
@login_required  # type: ignore[untyped-decorator]
def reply(ticket_id: int) -> BaseResponse | tuple[str, int]:
    """Send the holder's reply by SMS (through the outbox); a refusal keeps the text typed."""
    text = request.form.get("texte", "")[:MAX_TEXT]
    form_id = request.form.get("envoi", "")
    runtime = runtime_of(current_app)
    try:
        with transaction(runtime.sessions) as session:
            actions.reply(
                session,
                _account(),
                ticket_id,
                text,
                clock.now(),
                unicode_allowed=runtime.settings.sms_unicode,
                form_id=form_id if _FORM_ID.match(form_id) else None,
            )
    except actions.NotVisible:
        abort(404)
    except (actions.EmptyReply, actions.ReplyTooLong, actions.ResidentOptedOut) as error:
        return _page(ticket_id, error=_refusal(error), text=text, status=400)
    except actions.ActionRefused as error:
        flash(_refusal(error), "erreur")
    else:
        runtime.wakeup.wake()
        flash("Message envoyé : il part par SMS dans les secondes qui viennent.", "info")
    return redirect(url_for("inbox.conversation", ticket_id=ticket_id))


@blueprint.get("/messages-vocaux/<int:voicemail_id>.mp3")
@login_required  # type: ignore[untyped-decorator]
def voicemail_audio(voicemail_id: int) -> Response | tuple[str, int]:
    """A voicemail's audio, fetched from Twilio with our account's credentials and relayed."""
    runtime = runtime_of(current_app)
    with transaction(runtime.sessions) as session:
        try:
            found = views.recording(session, _account(), voicemail_id)
        except actions.NotVisible:
            abort(404)
    settings = runtime.settings
    url = found.url.strip()
    if not url.startswith(TWILIO_API):
        log.warning("voicemail %s: recording not at Twilio's API, not fetched", voicemail_id)
        return "Enregistrement indisponible.\n", 404
    if settings.twilio_api_url:  # tests and demos: a local Twilio
        parts, base = urlsplit(url), urlsplit(settings.twilio_api_url.rstrip("/"))
        url = urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))
    # Twilio serves a recording as MP3 when ".mp3" is added to its URL:
    # https://www.twilio.com/docs/voice/api/recording#fetch-a-recording-media-file
    try:
        upstream = requests.get(
            url + ".mp3",
            auth=(settings.twilio_account_sid, settings.twilio_auth_token),
            stream=True,
            timeout=(3.05, 20),
        )
    except requests.RequestException as error:
        log.warning("voicemail %s: Twilio unreachable (%s)", voicemail_id, type(error).__name__)
        return "Enregistrement indisponible pour le moment.\n", 502
    if upstream.status_code != 200:
        upstream.close()
        log.warning("voicemail %s: Twilio answered %s", voicemail_id, upstream.status_code)
        return "Enregistrement indisponible pour le moment.\n", 502
    response = Response(upstream.iter_content(64 * 1024), mimetype="audio/mpeg")
    if upstream.headers.get("Content-Length", "").isdigit():
        response.headers["Content-Length"] = upstream.headers["Content-Length"]
    response.call_on_close(upstream.close)
    return response
