"""A resident books, sees, cancels and moves a one-to-one appointment by SMS.

The clock is frozen at Monday 2026-11-23 10:00 (Paris). Demo agendas (bot/data/demo-agendas.json):
THI'PI Thionville, Sébastien, Tuesday and Thursday 9:00-12:00 in 45 minutes; Mission locale de
Yutz, Caroline, Monday to Thursday 14:00-16:30 in 30 minutes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.models import Advisor, Appointment, Resident
from bot.runtime import Runtime
from bot.services import bookings, conversations
from bot.wording.gsm7 import count_segments, is_gsm7
from tests.conftest import DEFAULT_NOW, RESIDENT, Clock, Twilio, gsm

NEIGHBOUR = "+33639980043"


def _text(twilio: Twilio, body: str) -> str:
    """Send a message; every reply is GSM-7 and at most three segments."""
    reply = twilio.text(body)
    assert is_gsm7(reply), reply
    assert count_segments(reply).segments <= 3, reply
    return reply


def _appointments(runtime: Runtime, phone: str = RESIDENT) -> list[Appointment]:
    with runtime.sessions() as session:
        resident = session.scalar(select(Resident).where(Resident.phone == phone))
        if resident is None:
            return []
        return list(
            session.scalars(
                select(Appointment)
                .where(Appointment.resident_id == resident.id)
                .order_by(Appointment.starts_at)
            )
        )


def _booked(runtime: Runtime, phone: str = RESIDENT) -> list[datetime]:
    return [a.starts_at for a in _appointments(runtime, phone) if a.status == "booked"]


def _book_for_neighbour(runtime: Runtime, advisor_ref: str, starts_at: str) -> None:
    """Another resident takes a slot, as if by SMS at the same moment."""
    with runtime.sessions() as session:
        neighbour = conversations.get_or_create_resident(session, NEIGHBOUR, DEFAULT_NOW)
        advisor = session.scalars(select(Advisor).where(Advisor.ref == advisor_ref)).one()
        bookings.book_slot(
            session,
            neighbour.id,
            advisor.id,
            datetime.fromisoformat(starts_at),
            None,
            DEFAULT_NOW,
        )
        session.commit()


def _book_thursday_at_thipi(twilio: Twilio) -> None:
    _text(twilio, "je voudrais un rdv jeudi à Thionville")
    _text(twilio, "1")
    assert "confirmé" in _text(twilio, "0")


def test_a_booking_takes_four_messages_and_ends_with_a_confirmation(
    twilio: Twilio, runtime: Runtime
) -> None:
    asked = _text(twilio, "je voudrais un rdv")
    assert "Dans quelle commune" in asked
    slots = _text(twilio, "Thionville")
    assert gsm("Rendez-vous libres à Pôle numérique THI'PI :") in slots
    assert "1 mardi 24 novembre à 9h\n2 mardi 24 novembre à 9h45\n3 mardi 24 novembre à 10h30" in (
        slots
    )
    assert "Répondez 1, 2 ou 3" in slots
    motif = _text(twilio, "2")
    assert gsm("C'est noté pour le mardi 24 novembre à 9h45.") in motif
    assert "1 e-mail" in motif and "0 pour passer" in motif
    confirmation = _text(twilio, "1")
    assert gsm("Rendez-vous confirmé : le mardi 24 novembre à 9h45, Pôle numérique THI'PI") in (
        confirmation
    )
    assert "12 rue du Cygne, Thionville" in confirmation
    assert gsm("Apportez une pièce d'identité et l'appareil concerné.") in confirmation
    (appointment,) = _appointments(runtime)
    assert appointment.place_id == "demo-thipi-thionville"
    assert appointment.motif == "email"
    assert appointment.starts_at == datetime.fromisoformat("2026-11-24T09:45:00+01:00")


def test_a_wish_lists_the_matching_slots(twilio: Twilio) -> None:
    slots = _text(twilio, "un rdv jeudi après-midi à Yutz")
    assert "Mission locale - antenne de Yutz" in slots
    assert (
        "1 jeudi 26 novembre à 14h\n2 jeudi 26 novembre à 14h30\n3 jeudi 26 novembre à 15h" in slots
    )


def test_a_wish_given_before_the_commune_is_kept(twilio: Twilio) -> None:
    assert "Dans quelle commune" in _text(twilio, "je voudrais un rdv jeudi après-midi")
    slots = _text(twilio, "Yutz")
    assert "1 jeudi 26 novembre à 14h\n" in slots, slots


def test_a_wish_kept_through_a_postal_code_question(twilio: Twilio) -> None:
    _text(twilio, "je voudrais un rdv jeudi après-midi")
    assert "1 Yutz" in _text(twilio, "57970")
    assert "1 jeudi 26 novembre à 14h\n" in _text(twilio, "1")


def test_not_before_an_hour_and_next_week(twilio: Twilio) -> None:
    _text(twilio, "Thionville")
    assert "1 mardi 24 novembre à 10h30" in _text(twilio, "un rdv pas avant 10h")
    # While choosing, a new wish narrows the previous one: still not before 10h.
    assert "1 mardi 1er décembre à 10h30" in _text(twilio, "un rdv la semaine prochaine")
    _text(twilio, "merci")
    assert "1 mardi 1er décembre à 9h\n" in _text(twilio, "un rdv la semaine prochaine")


def test_a_day_or_no_lists_other_slots(twilio: Twilio) -> None:
    _text(twilio, "je voudrais un rendez-vous à Thionville")
    others = _text(twilio, "non")
    assert "1 mardi 24 novembre à 11h15\n2 jeudi 26 novembre à 9h\n3 jeudi 26 novembre à 9h45" in (
        others
    )
    thursday = _text(twilio, "plutôt jeudi")
    assert "1 jeudi 26 novembre à 9h\n" in thursday
    assert "mardi" not in thursday


def test_a_slot_taken_meanwhile_gets_a_kind_word_and_new_slots(
    twilio: Twilio, runtime: Runtime
) -> None:
    _text(twilio, "je voudrais un rdv à Thionville")
    _book_for_neighbour(runtime, "thipi-sebastien", "2026-11-24T09:00:00+01:00")
    _text(twilio, "1")
    reply = _text(twilio, "0")
    assert gsm("Désolé, ce rendez-vous vient d'être pris") in reply
    assert "1 mardi 24 novembre à 9h45" in reply
    assert _booked(runtime) == []
    # The motif is not asked twice.
    assert gsm("confirmé : le mardi 24 novembre à 9h45") in _text(twilio, "1")
    assert _booked(runtime) == [datetime.fromisoformat("2026-11-24T09:45:00+01:00")]


def test_an_out_of_range_number_asks_again(twilio: Twilio) -> None:
    _text(twilio, "je voudrais un rdv à Thionville")
    assert gsm("Répondez avec un numéro de 1 à 3") in _text(twilio, "7")
    assert gsm("C'est noté pour le mardi 24 novembre à 9h") in _text(twilio, "1")


def test_another_question_while_choosing_a_slot_is_answered(twilio: Twilio) -> None:
    _text(twilio, "je voudrais un rdv à Thionville")
    assert gsm("pièce d'identité") in _text(twilio, "je dois apporter quoi ?")
    # The slot list was forgotten: "2" is no longer a slot.
    assert "C'est noté" not in _text(twilio, "2")


def test_a_pending_slot_question_expires(twilio: Twilio, runtime: Runtime, frozen: Clock) -> None:
    _text(twilio, "je voudrais un rdv à Thionville")
    frozen.set("2026-11-23T13:00:00+01:00")
    assert "C'est noté" not in _text(twilio, "1")
    assert _booked(runtime) == []


def test_a_place_without_agenda_gives_its_phone(twilio: Twilio, runtime: Runtime) -> None:
    reply = _text(twilio, "je voudrais un rendez-vous à la Médiathèque de Boissy-Saint-Léger")
    assert "01 99 00 01 03" in reply
    assert "pas encore" in reply


def test_the_nearest_place_without_agenda_is_said_and_the_next_is_offered(
    twilio: Twilio,
) -> None:
    reply = _text(twilio, "je voudrais un rendez-vous à Boissy-Saint-Léger")
    assert gsm("Rendez-vous libres à Médiathèque de Sucy-en-Brie") in reply
    assert "mercredi 25 novembre à 10h" in reply


def test_seeing_no_appointment_offers_to_book(twilio: Twilio) -> None:
    reply = _text(twilio, "c'est quand mon rdv ?")
    assert gsm("Vous n'avez pas de rendez-vous prévu") in reply
    assert "Dans quelle commune" in _text(twilio, "oui")


def test_seeing_one_appointment(twilio: Twilio) -> None:
    _book_thursday_at_thipi(twilio)
    reply = _text(twilio, "c'est quand mon rdv ?")
    assert gsm("Votre rendez-vous : le jeudi 26 novembre à 9h, Pôle numérique THI'PI") in reply
    assert "12 rue du Cygne" in reply


def test_cancelling_asks_for_a_confirmation(twilio: Twilio, runtime: Runtime) -> None:
    _book_thursday_at_thipi(twilio)
    asked = _text(twilio, "annulez mon rendez-vous")
    assert gsm("Répondez OUI pour annuler votre rendez-vous du jeudi 26 novembre à 9h") in asked
    assert "est annulé" in _text(twilio, "oui")
    assert _booked(runtime) == []
    assert gsm("Vous n'avez pas de rendez-vous prévu") in _text(twilio, "je ne pourrai pas venir")


def test_saying_no_keeps_the_appointment(twilio: Twilio, runtime: Runtime) -> None:
    _book_thursday_at_thipi(twilio)
    _text(twilio, "je ne pourrai pas venir")
    assert "je garde votre rendez-vous" in _text(twilio, "non")
    assert len(_booked(runtime)) == 1


def test_cancelling_one_of_several_asks_which(twilio: Twilio, runtime: Runtime) -> None:
    _book_thursday_at_thipi(twilio)
    _text(twilio, "un rdv jeudi après-midi à Yutz")
    _text(twilio, "1")
    _text(twilio, "0")
    which = _text(twilio, "je voudrais annuler mon rdv")
    assert "Quel rendez-vous ? Répondez 1 ou 2" in which
    assert "2 le jeudi 26 novembre à 14h, Mission locale" in which
    assert "jeudi 26 novembre à 14h" in _text(twilio, "2")
    _text(twilio, "oui")
    assert _booked(runtime) == [datetime.fromisoformat("2026-11-26T09:00:00+01:00")]


def test_moving_an_appointment(twilio: Twilio, runtime: Runtime) -> None:
    _book_thursday_at_thipi(twilio)
    slots = _text(twilio, "on peut décaler mon rdv ?")
    assert "Pour déplacer votre rendez-vous du jeudi 26 novembre à 9h" in slots
    assert "1 mardi 24 novembre à 9h" in slots
    done = _text(twilio, "1")
    assert gsm("déplacé au mardi 24 novembre à 9h, Pôle numérique THI'PI") in done
    assert _booked(runtime) == [datetime.fromisoformat("2026-11-24T09:00:00+01:00")]


def test_moving_to_a_slot_taken_meanwhile_keeps_the_old_one(
    twilio: Twilio, runtime: Runtime
) -> None:
    _book_thursday_at_thipi(twilio)
    _text(twilio, "on peut décaler mon rdv ?")
    _book_for_neighbour(runtime, "thipi-sebastien", "2026-11-24T09:00:00+01:00")
    reply = _text(twilio, "1")
    assert "Votre rendez-vous du jeudi 26 novembre à 9h est gardé" in reply
    assert "1 mardi 24 novembre à 9h45" in reply
    assert _booked(runtime) == [datetime.fromisoformat("2026-11-26T09:00:00+01:00")]
    assert "déplacé au mardi 24 novembre à 9h45" in _text(twilio, "1")
    assert _booked(runtime) == [datetime.fromisoformat("2026-11-24T09:45:00+01:00")]


def test_the_reason_can_be_written_in_words(twilio: Twilio, runtime: Runtime) -> None:
    _text(twilio, "je voudrais un rdv à Thionville")
    _text(twilio, "1")
    assert "confirmé" in _text(twilio, "c'est pour mes mails")
    (appointment,) = _appointments(runtime)
    assert appointment.motif == "email"
