"""Database tables (SQLAlchemy 2 typed mappings). Only services, seeding and migrations use them."""

from bot.models.accounts import LoginAttempt, User, UserPlace
from bot.models.agendas import (
    Advisor,
    AdvisorAvailability,
    AgendaClosure,
    Appointment,
    AppointmentMotif,
    WaitingListEntry,
    WorkshopRegistration,
)
from bot.models.core import (
    BOOKED,
    CANCELLED,
    HELD,
    NAMING_CONVENTION,
    TAKEN,
    WAITING,
    Base,
    Conversation,
    Place,
    ProcessedMessage,
    Resident,
    UtcDateTime,
    Workshop,
)
from bot.models.escalations import CallbackTicket, ThreadEntry
from bot.models.outbound import (
    OFFERED,
    OutboundMessage,
    ReminderPolicy,
    Voicemail,
    WaitingOffer,
)

__all__ = [
    "BOOKED",
    "CANCELLED",
    "HELD",
    "NAMING_CONVENTION",
    "OFFERED",
    "TAKEN",
    "WAITING",
    "Advisor",
    "AdvisorAvailability",
    "AgendaClosure",
    "Appointment",
    "AppointmentMotif",
    "Base",
    "CallbackTicket",
    "Conversation",
    "LoginAttempt",
    "OutboundMessage",
    "Place",
    "ProcessedMessage",
    "ReminderPolicy",
    "Resident",
    "ThreadEntry",
    "User",
    "UserPlace",
    "UtcDateTime",
    "Voicemail",
    "WaitingListEntry",
    "WaitingOffer",
    "Workshop",
    "WorkshopRegistration",
]
