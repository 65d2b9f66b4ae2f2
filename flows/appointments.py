"""The resident's appointments by SMS: see them, cancel one, move one; answers to our questions."""

from __future__ import annotations

from bot.services import bookings
from bot.services import places as place_service
from bot.services.bookings import AppointmentInfo
from bot.wording import say
from bot.wording.dates import format_when
from flows import booking, menus
from flows.context import Turn
from flows.messages import Reply
from flows.places import choices_phrase
from flows.text import words
from nlu import Intent

# The questions this module asks (ConversationState.expects).
APPOINTMENT_CHOICE = "appointment_choice"
CANCEL_CONFIRM = "cancel_confirm"
OFFER_BOOKING = "offer_booking"
EXPECTS = frozenset(
    [booking.SLOT_CHOICE, booking.MOTIF_CHOICE, APPOINTMENT_CHOICE, CANCEL_CONFIRM, OFFER_BOOKING]
)
# Beyond this, the list of appointments would not fit in three SMS segments.
MAX_LISTED = 3
_YES = frozenset(["oui", "ok", "d accord", "oui merci", "oui svp", "oui s il vous plait"])


def _about(turn: Turn, key: str, appointment: bookings.AppointmentInfo) -> Reply:
    """A sentence about one appointment: when, where, and the place's address."""
    place = place_service.get_place(turn.session, appointment.place_id)
    return Reply(
        say(
            key,
            when=format_when(appointment.starts_at),
            place=appointment.place_name,
            address=place.address if place else "",
            commune=place.commune if place else "",
        ),
        key=key,
    )


def says_yes(turn: Turn) -> bool:
    """ "oui", "ok", "d'accord": the resident accepts what we offered."""
    return turn.understanding.intent == Intent.AFFIRM or words(turn.text) in _YES


def _upcoming(turn: Turn) -> list[AppointmentInfo]:
    if turn.resident_id is None:
        return []
    return bookings.upcoming_appointments(turn.session, turn.resident_id, turn.now)


def has_upcoming(turn: Turn) -> bool:
    """True if the resident has an appointment to come."""
    return bool(_upcoming(turn))


def _none(turn: Turn) -> Reply:
    turn.state.ask(OFFER_BOOKING, turn.now, pending_intent=Intent.BOOK_APPOINTMENT.value)
    return Reply(say("appointments.none"), key="appointments.none", expects=OFFER_BOOKING)


def _items(appointments: list[AppointmentInfo]) -> list[str]:
    return [
        say(
            "appointments.item",
            number=number,
            when=format_when(a.starts_at),
            place=a.place_name,
        )
        for number, a in enumerate(appointments[:MAX_LISTED], start=1)
    ]


def see(turn: Turn) -> Reply:
    """ "C'est quand mon rdv ?": the upcoming appointments, or an offer to book one."""
    upcoming = _upcoming(turn)
    if not upcoming:
        return _none(turn)
    if len(upcoming) > 1:
        text = "\n".join([say("appointments.several"), *_items(upcoming)])
        return Reply(text, key="appointments.several")
    appointment = upcoming[0]
    turn.state.place_id = appointment.place_id
    return _about(turn, "appointments.one", appointment)


def _which(turn: Turn, upcoming: list[AppointmentInfo], intent: Intent) -> Reply:
    shown = upcoming[:MAX_LISTED]
    wish = booking.wish_in(turn.understanding)
    turn.state.ask(
        APPOINTMENT_CHOICE, turn.now, [str(a.id) for a in shown], pending_intent=intent.value
    )
    turn.state.slot_wish = wish  # "décaler mon rdv à jeudi", then "2": still Thursday
    intro = say("appointments.which", choices=choices_phrase(len(shown)))
    return Reply("\n".join([intro, *_items(shown)]), key="appointments.which")


def cancel(turn: Turn) -> Reply:
    """ "Annulez mon rendez-vous": which one if several, then a confirmation."""
    upcoming = _upcoming(turn)
    if not upcoming:
        return Reply(say("cancel.none"), key="cancel.none")
    if len(upcoming) > 1:
        return _which(turn, upcoming, Intent.CANCEL_APPOINTMENT)
    return confirm_cancel(turn, upcoming[0])


def confirm_cancel(turn: Turn, appointment: AppointmentInfo) -> Reply:
    """Ask OUI before cancelling that appointment."""
    turn.state.ask(CANCEL_CONFIRM, turn.now, pending_intent=Intent.CANCEL_APPOINTMENT.value)
    turn.state.appointment_id = appointment.id
    text = say(
        "cancel.confirm", when=format_when(appointment.starts_at), place=appointment.place_name
    )
    return Reply(text, key="cancel.confirm", expects=CANCEL_CONFIRM)


def move(turn: Turn) -> Reply:
    """ "On peut décaler mon rdv ?": which one if several, then free slots at the same place."""
    upcoming = _upcoming(turn)
    if not upcoming:
        return _none(turn)
    if len(upcoming) > 1:
        return _which(turn, upcoming, Intent.RESCHEDULE_APPOINTMENT)
    return offer_move(turn, upcoming[0], booking.wish_in(turn.understanding))


def offer_move(turn: Turn, appointment: AppointmentInfo, wish: dict[str, str]) -> Reply:
    """Free slots at the appointment's place, to move it there."""
    place = place_service.get_place(turn.session, appointment.place_id)
    if place is None:
        return Reply(say("appointments.gone"), key="appointments.gone")
    intro = say("move.intro", when=format_when(appointment.starts_at), place=appointment.place_name)
    return booking.offer_slots(
        turn,
        place,
        wish,
        intro=intro,
        moving_id=appointment.id,
        pending=Intent.RESCHEDULE_APPOINTMENT,
    )


def move_to(turn: Turn, moving_id: int, key: str) -> Reply:
    """Move the appointment to the slot chosen; if it was taken, the old one stays."""
    state = turn.state
    advisor_id, starts_at = booking.parse_key(key)
    old = next((a for a in _upcoming(turn) if a.id == moving_id), None)
    if old is None or turn.resident_id is None:
        state.clear_question()
        return Reply(say("appointments.gone"), key="appointments.gone")
    try:
        new = bookings.move_appointment(
            turn.session, moving_id, turn.resident_id, advisor_id, starts_at, turn.now
        )
    except (bookings.SlotTaken, bookings.SlotUnavailable):
        intro = say("move.taken", when=format_when(old.starts_at))
        return booking.relist(turn, dict(state.slot_wish), intro=intro)
    except (bookings.AppointmentNotFound, bookings.AppointmentPast):
        state.clear_question()
        return Reply(say("appointments.gone"), key="appointments.gone")
    state.clear_question()
    return _about(turn, "move.done", new)


def _answer_cancel_confirm(turn: Turn) -> Reply | None:
    state = turn.state
    appointment = next((a for a in _upcoming(turn) if a.id == state.appointment_id), None)
    if turn.understanding.intent == Intent.DENY and appointment is not None:
        state.clear_question()
        text = say("cancel.kept", when=format_when(appointment.starts_at))
        return Reply(text, key="cancel.kept")
    if not says_yes(turn):
        return None
    state.clear_question()
    if appointment is None or turn.resident_id is None:
        return Reply(say("appointments.gone"), key="appointments.gone")
    try:
        bookings.cancel_appointment(turn.session, appointment.id, turn.resident_id, turn.now)
    except (bookings.AppointmentNotFound, bookings.AppointmentPast):
        return Reply(say("appointments.gone"), key="appointments.gone")
    return Reply(say("cancel.done", when=format_when(appointment.starts_at)), key="cancel.done")


def _answer_appointment_choice(turn: Turn) -> Reply | None:
    state = turn.state
    choice = turn.understanding.first("choice")
    if choice is None or not isinstance(choice.value, int) or choice.value == 0:
        return None
    if not 1 <= choice.value <= len(state.choices):
        return menus.invalid_choice(turn)
    chosen_id, intent, wish = (
        int(state.choices[choice.value - 1]),
        state.pending_intent,
        state.slot_wish,
    )
    state.clear_question()
    appointment = next((a for a in _upcoming(turn) if a.id == chosen_id), None)
    if appointment is None:
        return Reply(say("appointments.gone"), key="appointments.gone")
    if intent == Intent.CANCEL_APPOINTMENT.value:
        return confirm_cancel(turn, appointment)
    return offer_move(turn, appointment, wish)


def answer_pending(turn: Turn) -> Reply | None:
    """Answer a booking question we asked; None (question dropped) if the message is not one."""
    expects = turn.state.expects
    if expects not in EXPECTS:
        return None
    reply: Reply | None = None
    if expects == booking.SLOT_CHOICE:
        reply = booking.answer_slot_choice(turn)
    elif expects == booking.MOTIF_CHOICE:
        reply = booking.answer_motif_choice(turn)
    elif expects == CANCEL_CONFIRM:
        reply = _answer_cancel_confirm(turn)
    elif expects == APPOINTMENT_CHOICE:
        reply = _answer_appointment_choice(turn)
    elif expects == OFFER_BOOKING and says_yes(turn):
        turn.state.clear_question()
        reply = booking.book(turn)
    if reply is None and turn.text.strip() not in {"0", "00"}:
        # The resident asks something else: route it as any message ("0" still means a person).
        turn.state.clear_question()
    return reply
