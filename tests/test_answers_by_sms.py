"""A resident texts a question and gets a short, correct answer from the demo territory."""

from __future__ import annotations

import pytest

from bot.wording.gsm7 import count_segments, is_gsm7
from tests.conftest import Clock, Twilio, gsm


def test_hours_of_a_named_place(twilio: Twilio) -> None:
    reply = twilio.text("c'est ouvert quand la médiathèque de la Côte des Roses ?")
    assert gsm("Médiathèque de la Côte des Roses") in reply
    assert "le vendredi de 16h à 17h" in reply
    assert "Prochaine ouverture : vendredi 27 novembre à 16h" in reply


def test_follow_up_question_about_a_day_remembers_the_place(twilio: Twilio) -> None:
    twilio.text("Bonjour, quels sont les horaires du Puzzle ?")
    # Monday 23 November 2026: Saturday 28 is the 4th Saturday (closed), 5 December the 1st.
    reply = twilio.text("et samedi ?")
    assert "fermé samedi 28 novembre" in reply
    assert "samedi 5 décembre de 10h à 12h" in reply


def test_every_other_saturday_is_described_honestly(twilio: Twilio) -> None:
    reply = twilio.text("le puzzle c ouvert kan")
    assert "le jeudi de 14h à 17h" in reply
    assert "certains samedis de 10h à 12h" in reply


def test_christmas_is_closed(twilio: Twilio, frozen: Clock) -> None:
    frozen.set("2026-12-21T09:00:00+01:00")
    reply = twilio.text("Est-ce que le pôle numérique THI'PI est ouvert le 25 décembre ?")
    assert "fermé vendredi 25 décembre (jour férié)" in reply


def test_good_friday_is_closed_in_moselle(twilio: Twilio, frozen: Clock) -> None:
    frozen.set("2027-03-22T09:00:00+01:00")
    reply = twilio.text("Le pôle numérique THI'PI est ouvert le 26 mars ?")
    assert "fermé vendredi 26 mars (jour férié)" in reply


def test_nearest_place_for_a_postal_code_shared_by_several_communes(twilio: Twilio) -> None:
    reply = twilio.text("il y a une permanence près de 57970 ?")
    assert "plusieurs communes" in reply
    assert "1 Yutz" in reply
    listing = twilio.text("1")
    assert "Près de Yutz" in listing
    assert "Mission locale - antenne de Yutz" in listing
    assert "5 avenue des Nations" in listing
    assert "03 53 01 01 04" in listing


def test_nearest_place_for_a_misspelled_commune(twilio: Twilio) -> None:
    reply = twilio.text("il y a une permanence à tionvile ?")
    assert "Près de Thionville" in reply
    assert "THI'PI" in reply


def test_nearest_place_for_a_commune_without_accents_or_hyphens(twilio: Twilio) -> None:
    reply = twilio.text("ou aller pres de behren les forbach")
    assert "Maison des Services de Behren-lès-Forbach" in reply.replace("Behren-les", "Behren-lès")


def test_choosing_a_place_from_the_list_gives_its_hours(twilio: Twilio) -> None:
    listing = twilio.text("Je cherche un conseiller numérique à Thionville")
    second = next(line for line in listing.splitlines() if line.startswith("2. "))
    name = second.removeprefix("2. ").split(",")[0]
    reply = twilio.text("2")
    assert reply.startswith(f"{name} : ")
    assert "Prochaine ouverture" in reply or "Ouvert en ce moment" in reply


def test_a_bare_postal_code_lists_the_nearest_places(twilio: Twilio) -> None:
    reply = twilio.text("94000")
    assert "Près de Créteil" in reply
    assert "Médiathèque de l'Abbaye" in reply


def test_unknown_postal_code_gets_a_kind_message(twilio: Twilio) -> None:
    reply = twilio.text("une permanence près de 99999 svp")
    assert "Je ne connais pas le code postal 99999" in reply


def test_a_commune_far_from_every_place_is_not_sent_hundreds_of_km_away(twilio: Twilio) -> None:
    reply = twilio.text("une permanence à Brest ?")
    assert "Je ne connais pas encore de lieu près de Brest" in reply
    assert "km" not in reply


def test_asking_where_without_saying_where_asks_the_commune(twilio: Twilio) -> None:
    assert "Dans quelle commune" in twilio.text("Où est la permanence la plus proche ?")
    reply = twilio.text("Montrond-les-Bains")
    assert "Médiathèque de Montrond-les-Bains" in reply


def test_what_to_bring(twilio: Twilio) -> None:
    reply = twilio.text("je dois apporter quoi pour le rendez vous ?")
    assert "pièce d'identité" in reply and "chargeur" in reply


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("vous pouvez m'aider pour ma déclaration d'impôts en ligne ?", "déclaration d'impôts"),
        ("Vous aidez pour la CAF ?", "CAF"),
        ("vous faites quoi comme aide ?", "démarches en ligne (CAF, ameli, impôts, ANTS)"),
    ],
)
def test_services(twilio: Twilio, message: str, expected: str) -> None:
    assert gsm(expected) in twilio.text(message)


def test_workshops_near_the_resident(twilio: Twilio) -> None:
    twilio.text("Thionville")
    reply = twilio.text("Vous faites des ateliers en groupe ?")
    assert "Le Puzzle" in reply
    assert "Sur inscription au 03 53 01 01 02" in reply


def test_price(twilio: Twilio) -> None:
    assert gsm("C'est gratuit. L'aide des conseillers numériques ne coûte rien.") == twilio.text(
        "C'est gratuit ?"
    )


def test_price_of_a_place_that_needs_membership(twilio: Twilio) -> None:
    reply = twilio.text("Le Puzzle c'est payant ?")
    assert "gratuit sous condition" in reply


def test_device_repair_is_kindly_redirected(twilio: Twilio) -> None:
    reply = twilio.text("Mon ordinateur ne s'allume plus, vous pouvez le réparer ?")
    assert "ne réparent pas" in reply
    assert "Repair Café" in reply


def test_free_computer_access_near_the_resident(twilio: Twilio) -> None:
    reply = twilio.text("je n'ai pas d'ordinateur, je peux en utiliser un près de 57460 ?")
    assert "Behren" in reply


def test_scam_advice_names_33700(twilio: Twilio) -> None:
    reply = twilio.text("J'ai reçu un SMS pour une amende à payer, c'est une arnaque ?")
    assert "33700" in reply
    assert "codes" in reply


def test_help_menu_then_a_number(twilio: Twilio) -> None:
    menu = twilio.text("aide")
    assert "1 Horaires" in menu and "5 Parler à une personne" in menu
    assert "pièce d'identité" in twilio.text("3")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Bonjour", "Relais"),
        ("merci beaucoup", "plaisir"),
        ("bonne journée", "Au revoir"),
        ("C'est quoi la météo demain ?", "Je ne sais pas répondre"),
    ],
)
def test_small_talk(twilio: Twilio, message: str, expected: str) -> None:
    assert gsm(expected) in twilio.text(message)


def test_booking_asks_the_commune_then_lists_free_slots(twilio: Twilio) -> None:
    asked = twilio.text("Je voudrais un rendez-vous")
    assert "Dans quelle commune" in asked
    choose = twilio.text("57100")
    assert "1 Thionville" in choose and "2 Manom" in choose
    reply = twilio.text("1")
    assert gsm("Rendez-vous libres à Pôle numérique THI'PI") in reply
    assert "1 mardi 24 novembre à 9h" in reply


def test_asking_for_a_person_gives_a_number_to_call(twilio: Twilio) -> None:
    twilio.text("c'est ouvert quand la médiathèque de la Côte des Roses ?")
    reply = twilio.text("je veux parler à quelqu'un")
    assert "03 53 01 01 03" in reply


def test_out_of_scope_twice_passes_the_resident_to_a_person(twilio: Twilio) -> None:
    assert gsm("Je ne sais pas répondre") in twilio.text("c'est quoi la météo demain ?")
    second = twilio.text("qui a gagné le match hier soir ?")
    assert "Un conseiller a votre message" in second and "1 Horaires" in second


def test_not_understood_twice_passes_the_resident_to_a_person(twilio: Twilio) -> None:
    first = twilio.text("zorglub wabadaba")
    assert "pas compris" in first and "1 Horaires" in first
    second = twilio.text("flimflam gloubi")
    assert "toujours pas compris" in second
    assert "Un conseiller a votre message" in second and "1 Horaires" in second


SAMPLE_QUESTIONS = [
    "Bonjour",
    "il y a une permanence près de 57970 ?",
    "1",
    "horaires",
    "94000",
    "je dois apporter quoi",
    "Vous faites des ateliers ?",
    "aide",
    "c'est une arnaque ce sms ?",
    "Je voudrais un rendez-vous",
    "je veux parler à quelqu'un",
    "STOP",
    "START",
]


def test_every_reply_is_gsm7_and_at_most_three_segments(twilio: Twilio) -> None:
    for question in SAMPLE_QUESTIONS:
        reply = twilio.text(question)
        assert is_gsm7(reply), question
        assert count_segments(reply).segments <= 3, (question, reply)


def test_hours_in_a_commune_with_one_place_are_answered_directly(twilio: Twilio) -> None:
    reply = twilio.text("c'est quoi vos horaires a sucy")
    assert gsm("Médiathèque de Sucy-en-Brie : le mercredi de 10h à 12h et de 14h à 18h ;") in reply


def test_the_day_asked_is_kept_while_choosing_a_place(twilio: Twilio) -> None:
    listing = twilio.text("horaires a thionville samedi")
    assert "1. " in listing and "Le Puzzle" in listing
    number = next(line[0] for line in listing.splitlines() if "Le Puzzle" in line)
    reply = twilio.text(number)
    assert gsm("Le Puzzle : fermé samedi 28 novembre") in reply
    assert gsm("samedi 5 décembre de 10h à 12h") in reply


def test_having_paid_after_scam_advice_gets_the_urgent_steps(twilio: Twilio) -> None:
    twilio.text("j'ai reçu un mail de la caf qui me demande mon code de carte bleue")
    reply = twilio.text("j'ai payé")
    assert "appelez votre banque" in reply
    assert "0 805 805 817" in reply


def test_cancelling_without_an_appointment_says_there_is_none(twilio: Twilio) -> None:
    reply = twilio.text("je voudrais annuler mon rdv")
    assert gsm("Vous n'avez pas de rendez-vous prévu : il n'y a rien à annuler.") == reply


def test_a_misspelt_commune_is_found_not_replaced_by_the_one_remembered(twilio: Twilio) -> None:
    twilio.text("une permanence près de Thionville ?")
    reply = twilio.text("et une permanence à Saint Etiene ?")
    assert gsm("Près de Saint-Étienne") in reply


def test_an_unknown_commune_is_said_unknown(twilio: Twilio) -> None:
    assert "Dans quelle commune" in twilio.text("où est la permanence la plus proche ?")
    reply = twilio.text("Zorgloubville")
    assert gsm("Je n'ai pas trouvé cette commune") in reply
    assert "Près de Yutz" in twilio.text("Yutz")


def test_postal_code_and_commune_together_need_no_question(twilio: Twilio) -> None:
    reply = twilio.text("j'habite à Manom 57100, où aller ?")
    assert "Laquelle" not in reply
    assert "Près de Manom" in reply


def test_a_long_postal_code_list_invites_the_name(twilio: Twilio) -> None:
    reply = twilio.text("57970")
    assert "Votre commune n'y est pas ? Envoyez son nom." in reply
    assert "Près de Valmestroff" in twilio.text("Valmestroff")


@pytest.mark.parametrize("follow_up", ["et lundi prochain ?", "dimanche", "et aujourd'hui ?"])
def test_a_bare_day_after_a_place_asks_about_its_hours(twilio: Twilio, follow_up: str) -> None:
    twilio.text("c'est ouvert quand la médiathèque de la Côte des Roses ?")
    reply = twilio.text(follow_up)
    assert gsm("Médiathèque de la Côte des Roses : fermé") in reply


def test_a_bare_day_while_choosing_a_place_asks_which_one_and_keeps_the_day(
    twilio: Twilio,
) -> None:
    listing = twilio.text("horaires à Thionville")
    assert "Le Puzzle" in listing
    assert gsm("Pour quel lieu ? Répondez 1, 2 ou 3.") == twilio.text("et samedi ?")
    number = next(line[0] for line in listing.splitlines() if "Le Puzzle" in line)
    assert gsm("Le Puzzle : fermé samedi 28 novembre") in twilio.text(number)


def test_an_out_of_range_number_leads_to_a_person(twilio: Twilio) -> None:
    twilio.text("Thionville")
    twilio.text("aide")
    assert "de 1 à 5" in twilio.text("7")
    second = twilio.text("9")
    assert "a votre message" in second and "03 53 01 01" in second and "de 1 à 5" in second


def test_zero_asks_for_a_person(twilio: Twilio) -> None:
    twilio.text("Yutz")
    twilio.text("aide")
    assert "03 53 01 01 04" in twilio.text("0")


def test_only_the_keyword_opts_out(twilio: Twilio) -> None:
    reply = twilio.text("stop c'est trop compliqué pour moi")
    assert "envoyez simplement STOP" in reply


def test_emoji_only_is_not_called_empty(twilio: Twilio) -> None:
    assert gsm("Je ne trouve pas de mots") in twilio.text("🙏🙏")
