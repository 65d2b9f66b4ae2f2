"""The phone line: each turn of a call goes through the same flows as an SMS (issue 7).

Speech is understood by the intent engine like a text; keypad digits answer the voice menu
(1 places and hours, 2 appointments, 3 workshops, 0 a person, * repeat), a numbered list, a
yes/no question (1 yes, 2 no) or give a postal code. Silence is met once with the question
again, simply, then with a person: the place's phone while it is open, else a voicemail that
advisors call back. Only the rendering (webhooks/voice.py) differs from SMS.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from bot.services import conversations, escalations, threads
from bot.services import places as place_service
from bot.wording import say
from flows import appointments, booking, handoff, menus, router, workshops
from flows.context import Turn
from flows.distress import Distress, detect_distress
from flows.messages import ANONYMOUS_CALLER, Channel, Inbound, Reply
from flows.state import VOICE_MENU, ConversationState
from flows.text import words
from nlu import Intent, IntentEngine, Understanding

# What a caller may do with the appointment just read out (menu 2): 1 cancel, 2 move.
VOICE_MANAGE = "voice_manage"
# Below this, speech is not acted on: asked again (a "oui" heard wrong could cancel).
LOWEST_CONFIDENCE = 0.4
LOWEST_CONFIDENCE_YES_NO = 0.6
_SPOKEN_KEYS = {"zero": "0", "zéro": "0", "etoile": "*", "étoile": "*"}
# Said instead of the SMS "0 pour passer" at the reason question (0 is a person on the phone).
_SKIP = re.compile(r"^(passer|je passe|aucun|rien|sans|pas de motif|autre chose)\b")
# Questions a key can answer with 1 for yes and 2 for no.
YES_NO = frozenset(
    [
        appointments.CANCEL_CONFIRM,
        appointments.OFFER_BOOKING,
        workshops.NEXT_SESSION_CONFIRM,
        workshops.WAITING_CONFIRM,
        workshops.LEAVE_CONFIRM,
    ]
)
# Silences in a row before a person is offered (sms-style.md: "repeat once more simply").
SILENCES_BEFORE_PERSON = 2
# Words the speech recogniser should expect (Twilio <Gather hints>).
SPEECH_HINTS = (
    "horaires",
    "adresse",
    "ouvert",
    "rendez-vous",
    "annuler",
    "décaler",
    "atelier",
    "conseiller",
    "oui",
    "non",
    "code postal",
    "quoi apporter",
    "impôts",
    "CAF",
    "ameli",
    "mot de passe",
)


def _menu_intent(turn: Turn, key: str) -> Intent | None:
    if key == "1":
        return Intent.FIND_PLACE
    if key == "2":
        # Someone with an appointment most likely calls about it; else they want one.
        if appointments.has_upcoming(turn):
            return Intent.MY_APPOINTMENT
        return Intent.BOOK_APPOINTMENT
    if key == "3":
        return Intent.WORKSHOPS
    return None


class CallTurn:
    """One webhook of a call: the resident, their memory, saved at the end."""

    def __init__(self, session: Session, inbound: Inbound) -> None:
        self.session = session
        self.inbound = inbound
        self.now: datetime = inbound.received_at
        self.resident = conversations.get_or_create_resident(session, inbound.sender, self.now)
        stored = conversations.load_state(session, self.resident)
        self.state = ConversationState.from_json(stored)
        self.state.expire(self.now)

    def turn(self, understanding: Understanding) -> Turn:
        """A flows Turn for this call's message."""
        return Turn(
            self.session, understanding, self.state, self.now, self.resident.id, Channel.VOICE
        )

    def save(self, reply: Reply, repeatable: str | None = None) -> Reply:
        """Store the memory, with what "*" repeats: the question itself, without "pardon"."""
        if repeatable is not None:
            self.state.voice_last = repeatable
        elif reply.text and not reply.end:
            self.state.voice_last = " ".join([reply.text, *reply.parts])
        conversations.save_state(self.session, self.resident, self.state.to_json(), self.now)
        return reply

    def menu_again(self, apology: str) -> Reply:
        """An apology, then the phone menu (whose keys are not the SMS menu's)."""
        self.state.clear_question()
        self.state.ask(VOICE_MENU, self.now)
        menu = say("voice.menu")
        reply = Reply(f"{say(apology)} {menu}", key=apology, expects=VOICE_MENU)
        return self.save(reply, repeatable=menu)


def _event(call: CallTurn, event: str, body: str | None = None) -> None:
    """A line in the resident's thread: the call, a transfer (advisors read it in the inbox)."""
    threads.record(
        call.session,
        resident_id=call.resident.id,
        channel=Channel.VOICE.value,
        direction=threads.EVENT,
        author=threads.SYSTEM,
        event=event,
        body=body,
        now=call.now,
    )


def start_call(session: Session, inbound: Inbound) -> Reply:
    """A new call: greeting and menu; a question left by an earlier call is dropped."""
    call = CallTurn(session, inbound)
    _event(call, "call")
    escalations.note_inbound(session, call.resident.id, call.now)
    call.state.clear_question()
    call.state.voice_silences = 0
    call.state.ask(VOICE_MENU, call.now)
    text = f"{say('voice.welcome')} {say('voice.menu')}"
    return call.save(Reply(text, key="voice.welcome", expects=VOICE_MENU))


def end_call(session: Session, inbound: Inbound) -> None:
    """The caller hung up: no question is left waiting (a later SMS "1" is not a slot chosen)."""
    call = CallTurn(session, inbound)
    call.state.clear_question()
    call.state.voice_silences = 0
    call.state.voice_last = ""
    call.save(Reply("", end=True))


def answer_call(session: Session, engine: IntentEngine, inbound: Inbound) -> Reply:
    """One answer on a call (keys or speech, maybe nothing): the next thing to say.

    What the caller said and what we answered go to their thread, as an SMS exchange does.
    """
    call = CallTurn(session, inbound)
    reply = _answer(call, engine, inbound)
    if inbound.text.strip():
        threads.record_exchange(
            session,
            resident_id=call.resident.id,
            channel=Channel.VOICE.value,
            text=inbound.text.strip(),
            reply=" ".join([reply.text, *reply.parts]).strip(),
            received_at=call.now,
        )
    return reply


def transfer_unanswered(session: Session, inbound: Inbound, place_id: str | None) -> Reply:
    """Nobody picked up the transfer: an escalation (a voicemail left next joins it), and the
    voicemail prompt saying when a person of that place will call back."""
    call = CallTurn(session, inbound)
    place = place_service.get_place(session, place_id or "")
    escalations.escalate(
        session,
        resident_id=call.resident.id,
        place_id=place.id if place else None,
        reason=escalations.NO_ANSWER,
        channel=Channel.VOICE.value,
        now=call.now,
    )
    text = f"{say('voice.no_answer')} {_voicemail_prompt(call.session, place, call.now)}"
    return Reply(text, key="voice.no_answer", voicemail=True, place_id=place.id if place else "")


def _distress(call: CallTurn, distress: Distress) -> Reply:
    """Words of distress: an escalation at once, the 3114 if about suicide, then a person."""
    place = handoff.serving_place(call.turn(empty_understanding()))
    escalations.escalate(
        call.session,
        resident_id=call.resident.id,
        place_id=place.id if place else None,
        reason=escalations.DISTRESS,
        channel=Channel.VOICE.value,
        now=call.now,
    )
    suicide = distress == Distress.SUICIDE
    intro = say("distress.suicide", voice=True) if suicide else say("distress.intro")
    reply = person(call)
    return replace(reply, text=f"{intro} {reply.text}")


def _answer(call: CallTurn, engine: IntentEngine, inbound: Inbound) -> Reply:
    state = call.state
    digits, speech = inbound.digits.strip(), inbound.text.strip()
    if not digits and not speech:
        state.voice_silences += 1
        if state.voice_silences >= SILENCES_BEFORE_PERSON:
            state.voice_silences = 0
            return call.save(person(call, lost=True))
        again = state.voice_last or say("voice.menu")
        reply = Reply(f"{say('voice.silence')} {again}", key="voice.silence", expects=state.expects)
        return call.save(reply, repeatable=again)
    state.voice_silences = 0
    spoken_key = _SPOKEN_KEYS.get(words(speech))
    if spoken_key is not None:
        digits, speech = spoken_key, ""  # "zéro", "étoile" said instead of pressed
    distress = detect_distress(speech) if speech and not digits else None
    if distress is not None:
        return call.save(_distress(call, distress))
    if speech and not digits and _unsure(inbound, state):
        state.failures += 1
        if state.failures >= menus.PERSON_AFTER_ON_A_CALL:
            state.failures = 0
            return call.save(person(call, lost=True))
        again = state.voice_last or say("voice.menu")
        reply = Reply(f"{say('voice.unsure')} {again}", key="voice.unsure", expects=state.expects)
        return call.save(reply, repeatable=again)
    if digits == "*":
        again = state.voice_last or say("voice.menu")
        return call.save(Reply(again, key="voice.repeat", expects=state.expects), repeatable=again)
    if digits == "0":
        if not state.place_id:
            # Which advisor? The nearest one to the caller's commune (asked if unknown).
            state.clear_question()
            reply = router.dispatch(call.turn(empty_understanding()), Intent.HUMAN_ADVISOR)
            return call.save(_voice_handoff(call, reply))
        return call.save(person(call))
    if state.expects == VOICE_MANAGE and digits in {"1", "2"}:
        state.clear_question()
        chosen = Intent.CANCEL_APPOINTMENT if digits == "1" else Intent.RESCHEDULE_APPOINTMENT
        reply = router.dispatch(call.turn(empty_understanding()), chosen)
        return call.save(_after_answer(call, reply))
    empty = empty_understanding()
    if state.expects == VOICE_MENU and digits and not speech:
        intent = _menu_intent(call.turn(empty), digits)
        if intent is None:  # "9" is not on the menu: as a message not understood
            state.failures += 1
            if state.failures >= menus.PERSON_AFTER_ON_A_CALL:
                state.failures = 0
                return call.save(person(call, lost=True))
            return call.menu_again("voice.not_understood")
        state.clear_question()
        reply = router.dispatch(call.turn(empty), intent)
        if intent == Intent.MY_APPOINTMENT and not reply.expects:
            # "gérer un rendez-vous": say what can be done with it, by key.
            state.ask(VOICE_MANAGE, call.now)
            return call.save(replace(reply, expects=VOICE_MANAGE, parts=(say("voice.manage"),)))
        return call.save(_after_answer(call, _voice_handoff(call, reply)))
    if state.expects == booking.MOTIF_CHOICE and _SKIP.match(words(speech)):
        speech = "0"  # "passer": on the phone, the 0 key means a person
    if not speech and state.expects in YES_NO and digits in {"1", "2"}:
        speech = say("voice.yes") if digits == "1" else say("voice.no")
    understanding = engine.parse(speech or digits)
    reply = router.route(call.turn(understanding))
    if reply.key.startswith("not_understood.person"):
        return call.save(person(call, lost=True))
    if reply.key.startswith("not_understood."):
        return call.menu_again("voice.not_understood")
    return call.save(_after_answer(call, _voice_handoff(call, reply)))


def empty_understanding() -> Understanding:
    """What a key press means to the flows: no words, no intent."""
    return Understanding(text="", intent=Intent.OUT_OF_SCOPE, confidence=0.0)


def _unsure(inbound: Inbound, state: ConversationState) -> bool:
    """Speech the recogniser is not sure of; on a yes/no question, a higher bar."""
    if inbound.confidence is None:
        return False
    lowest = LOWEST_CONFIDENCE_YES_NO if state.expects in YES_NO else LOWEST_CONFIDENCE
    return inbound.confidence < lowest


def _after_answer(call: CallTurn, reply: Reply) -> Reply:
    """An answer that asks nothing (hours, an address) ends with the menu, not with silence."""
    if reply.expects or call.state.expects or reply.end or reply.handoff:
        return reply
    if reply.text.rstrip().endswith("?"):
        return reply  # it asks already
    call.state.ask(VOICE_MENU, call.now)
    return replace(reply, expects=VOICE_MENU, parts=(*reply.parts, say("voice.next")))


def _voice_handoff(call: CallTurn, reply: Reply) -> Reply:
    """On the phone a hand-off is a transfer (or a voicemail), not a number to call."""
    if reply.handoff and not reply.expects:
        return person(call)
    return reply


def person(call: CallTurn, lost: bool = False) -> Reply:
    """Put the caller through to their place while it is open, else take a voicemail."""
    place = place_service.get_place(call.session, call.state.place_id or "")
    call.state.clear_question()
    intro = say("voice.lost") if lost else ""
    if call.inbound.sender.startswith(ANONYMOUS_CALLER):
        # Nobody could call back a withheld number: ask for one in the message.
        text = f"{intro} {say('voice.voicemail_anonymous')}".strip()
        return Reply(text, key="voice.voicemail", handoff=True, voicemail=True)
    if place is not None and place.phone_e164 and handoff.open_now(call.session, place, call.now):
        text = f"{intro} {say('voice.transfer', place=place.name)}".strip()
        _event(call, "transfer", place.name)
        return Reply(
            text,
            key="voice.transfer",
            handoff=True,
            transfer_to=place.phone_e164,
            place_id=place.id,
        )
    text = f"{intro} {_voicemail_prompt(call.session, place, call.now)}".strip()
    return Reply(
        text,
        key="voice.voicemail",
        handoff=True,
        voicemail=True,
        place_id=place.id if place else "",
    )


def _voicemail_prompt(
    session: Session, place: place_service.PlaceInfo | None, now: datetime
) -> str:
    """Leave a message, and honestly when a person of the place will call back."""
    if place is None:
        return say("voice.voicemail")
    when = handoff.answer_time(place, now, session)
    return say("voice.voicemail_when", place=place.name, when=when)
