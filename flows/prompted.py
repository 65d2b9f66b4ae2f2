"""Answers to what we sent first: a reminder (OUI, ANNULER, DECALER) or a waiting-list offer.

A resident answers a reminder hours later, in their own words ("je serai là", "je peux plus"):
the message is read in the context of the last reminder or offer we sent them, unless they have
started another conversation since. On a call, the keypad gives the same answers (1, 2, 3).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.services import bookings, offer_answers, reminders, sent_messages, waiting_offers
from bot.services import places as place_service
from bot.services.bookings import AppointmentInfo
from bot.services.waiting_offers import OfferInfo, OfferNotOpen
from bot.wording import say
from bot.wording.dates import format_when
from flows import appointments, booking
from flows.context import Turn
from flows.messages import Reply
from flows.text import words
from nlu import CONFIDENCE_THRESHOLD, Intent

# A reminder can be answered until the appointment; an answer more than this after it was sent
# is taken as a new conversation.
ANSWER_WINDOW = timedelta(hours=36)
_CONFIRM = re.compile(
    r"^(oui|ok|okay|d accord|je confirme|confirme|confirmer|c est bon|je serai la"
    r"|je viendrai|je viens|present|presente|j y serai|bien recu|merci)\b"
)
_CANCEL = re.compile(
    r"\b(annuler|annule|annulez|annulation|je peux plus|je ne peux plus|je ne peux pas"
    r"|je peux pas|je pourrai pas|je ne pourrai pas|je ne viendrai pas|je viendrai pas"
    r"|empeche|desiste|je viens pas|je ne viens pas|j y serai pas|je n y serai pas"
    r"|je serai pas la|je ne serai pas la|je confirme pas|je ne confirme pas)\b"
)
# ANNULER as the reminder asked, maybe with a polite word: acted on at once. Any other way of
# saying it ("je ne pourrai pas venir") is confirmed first, as a cancellation is not undone.
_CANCEL_NOW = re.compile(
    r"^(annuler|annule|annulez|annulation)"
    r"( (svp|stp|s il vous plait|merci|le rdv|mon rdv|le rendez vous|mon rendez vous))*$"
)
# "je viens pas", "j'y serai pas", "merci mais non": a confirmation phrase, negated.
_NEGATION = re.compile(r"\b(pas|plus|jamais|non|ne|n)\b")
_NOT_A_NEGATION = re.compile(r"\bpas de (souci|soucis|probleme|problemes)\b")
_MOVE = re.compile(r"\b(decaler|decalez|decale|changer|reporter|deplacer|un autre jour)\b")
_OFFER_YES = re.compile(r"^(oui|ok|okay|d accord|je prends|je le prends|je la prends|volontiers)\b")
_NO = re.compile(r"^(non|non merci|pas interesse|ca ne m arrange pas)\b")

CONFIRMED, CANCELLED, MOVING, ACCEPTED, DECLINED = "confirmed", "cancelled", "move", "yes", "no"
ASK_CANCEL, UNCLEAR = "cancel?", "unclear"


def _booked(session: Session, appointment_id: int | None, now: datetime) -> AppointmentInfo | None:
    if appointment_id is None:
        return None
    found = bookings.get_appointment(session, appointment_id)
    if found is None or not found.booked or found.starts_at <= now:
        return None
    return found


def answer_prompt(turn: Turn) -> Reply | None:
    """The answer to our last reminder or offer, or None if the message is about something else."""
    if turn.resident_id is None:
        return None
    prompt = sent_messages.last_prompt(turn.session, turn.resident_id, turn.now, ANSWER_WINDOW)
    if prompt is None:
        return None
    asked = turn.state.asked_at
    if asked and datetime.fromisoformat(asked) > prompt.sent_at:
        return None  # the resident started something else after our message
    text = words(turn.text)
    if prompt.kind == waiting_offers.WAITING_OFFER and prompt.offer_id is not None:
        # Only a real yes takes the slot: a polite "merci" does not book anything.
        no = (
            bool(_NO.match(text) or _CANCEL.search(text))
            or turn.understanding.intent == Intent.DENY
        )
        yes = not no and (appointments.says_yes(turn) or bool(_OFFER_YES.match(text)))
        if not (yes or no):
            return None
        sent_messages.mark_answered(
            turn.session, prompt.id, ACCEPTED if yes else DECLINED, turn.now
        )
        return _answer_offer(turn.session, prompt.offer_id, turn.resident_id, yes, turn.now)
    if prompt.kind != reminders.REMINDER:
        return None
    answer = _reminder_answer(turn, text)
    if answer is None:
        return None
    appointment = _booked(turn.session, prompt.appointment_id, turn.now)
    if appointment is None:
        sent_messages.mark_answered(turn.session, prompt.id, answer, turn.now)
        return Reply(say("reminder.gone"), key="reminder.gone")
    if answer == UNCLEAR:
        # Left unanswered: the next OUI, ANNULER or DECALER is read against this reminder.
        text = say("reminder.which", when=format_when(appointment.starts_at))
        return Reply(text, key="reminder.which")
    sent_messages.mark_answered(turn.session, prompt.id, answer, turn.now)
    turn.state.clear_question()
    if answer == MOVING:
        return appointments.offer_move(turn, appointment, booking.wish_in(turn.understanding))
    if answer == ASK_CANCEL:
        return appointments.confirm_cancel(turn, appointment)
    return _answer_reminder(turn.session, appointment, answer, turn.now)


def _reminder_answer(turn: Turn, text: str) -> str | None:
    """What an answer to a reminder means: the resident's words first, the engine's guess after.

    "je serai là" and "je viendrai" read as cancellations to the engine, out of context.
    """
    if _MOVE.search(text):
        return MOVING
    if _CANCEL_NOW.match(text):
        return CANCELLED
    # What is left once the ways of saying "I can't come" are taken out: "je viens pas" is no
    # "je viens", but "oui je viendrai mais je ne peux pas rester" still holds a "oui".
    rest = _CANCEL.sub(" ", text).strip()
    negated = bool(_NEGATION.search(_NOT_A_NEGATION.sub(" ", rest)))
    confirms = bool(_CONFIRM.match(rest)) or (rest == text and appointments.says_yes(turn))
    cancels = rest != text or (confirms and negated)
    if confirms and cancels and not _NO.match(text):
        return UNCLEAR  # "oui je viendrai mais je ne peux pas rester" : ask again, plainly
    if cancels:
        return ASK_CANCEL
    if confirms:
        return CONFIRMED
    understanding = turn.understanding
    if understanding.confidence < CONFIDENCE_THRESHOLD:
        return None
    if understanding.intent == Intent.RESCHEDULE_APPOINTMENT:
        return MOVING
    if understanding.intent == Intent.CANCEL_APPOINTMENT:
        return ASK_CANCEL
    return None


def _answer_reminder(
    session: Session, appointment: AppointmentInfo, answer: str, now: datetime, voice: bool = False
) -> Reply:
    when = format_when(appointment.starts_at)
    if appointment.resident_id is None:  # erased meanwhile: nothing of theirs to act on
        return Reply(say("reminder.gone", voice=voice), key="reminder.gone")
    if answer == CONFIRMED:
        bookings.confirm_appointment(session, appointment.id, appointment.resident_id, now)
        return Reply(say("reminder.confirmed", voice=voice, when=when), key="reminder.confirmed")
    try:
        bookings.cancel_appointment(session, appointment.id, appointment.resident_id, now)
    except (bookings.AppointmentNotFound, bookings.AppointmentPast):
        return Reply(say("reminder.gone", voice=voice), key="reminder.gone")
    return Reply(say("reminder.cancelled", voice=voice, when=when), key="reminder.cancelled")


def _answer_offer(
    session: Session, offer_id: int, resident_id: int, yes: bool, now: datetime, voice: bool = False
) -> Reply:
    try:
        if yes:
            offer = offer_answers.accept_offer(session, offer_id, resident_id, now)
        else:
            offer_answers.decline_offer(session, offer_id, resident_id, now)
            return Reply(say("offer.declined", voice=voice), key="offer.declined")
    except OfferNotOpen:
        return Reply(say("offer.too_late", voice=voice), key="offer.too_late")
    return _accepted(session, offer, voice)


def _accepted(session: Session, offer: OfferInfo, voice: bool) -> Reply:
    place = place_service.get_place(session, offer.place_id)
    key = "offer.accepted_slot" if offer.workshop_id is None else "offer.accepted_seat"
    text = say(
        key,
        voice=voice,
        when=format_when(offer.starts_at),
        place=place.name if place else "",
        address=f"{place.address}, {place.commune}" if place else "",
        title=offer.workshop_title or "",
    )
    return Reply(text, key=key)


def answer_keypad(session: Session, message_id: int, digits: str, now: datetime) -> Reply:
    """A key pressed during a reminder or offer call: 1 yes, 2 no/cancel, 3 a person."""
    prompt = sent_messages.prompt_by_id(session, message_id)
    if prompt is None:
        return Reply(say("reminder.gone", voice=True), key="reminder.gone", end=True)
    key = digits.strip()[:1]
    if prompt.kind == waiting_offers.WAITING_OFFER and prompt.offer_id is not None:
        if key not in {"1", "2"}:
            return Reply(say("offer.voice_repeat"), key="offer.voice_repeat")
        sent_messages.mark_answered(session, prompt.id, ACCEPTED if key == "1" else DECLINED, now)
        reply = _answer_offer(session, prompt.offer_id, prompt.resident_id, key == "1", now, True)
        return Reply(reply.text, key=reply.key, end=True)
    appointment = _booked(session, prompt.appointment_id, now)
    if appointment is None:
        return Reply(say("reminder.gone", voice=True), key="reminder.gone", end=True)
    if key == "3":
        sent_messages.mark_answered(session, prompt.id, "person", now)
        place = place_service.get_place(session, appointment.place_id)
        if place is None or not place.phone_e164:
            text = say("reminder.transfer_none", voice=True, place=appointment.place_name)
            return Reply(text, key="reminder.transfer_none", end=True)
        text = say("reminder.transfer", voice=True, place=place.name)
        return Reply(text, key="reminder.transfer", handoff=True, transfer_to=place.phone_e164)
    if key not in {"1", "2"}:
        return Reply(say("reminder.voice_repeat"), key="reminder.voice_repeat")
    answer = CONFIRMED if key == "1" else CANCELLED
    sent_messages.mark_answered(session, prompt.id, answer, now)
    reply = _answer_reminder(session, appointment, answer, now, voice=True)
    return Reply(reply.text, key=reply.key, end=True)
