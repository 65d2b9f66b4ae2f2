"""Sending the outbox (reminders, waiting-list offers): the dispatcher and what it sends with."""

from __future__ import annotations

from bot.dispatch.dispatcher import Dispatcher, DispatchReport
from bot.dispatch.simulated import SimulatedSender
from bot.runtime import Runtime
from bot.services.gateway import gateway_from_settings

__all__ = ["DispatchReport", "Dispatcher", "dispatcher_for"]


def dispatcher_for(runtime: Runtime, **options: object) -> Dispatcher:
    """The dispatcher the settings ask for: Twilio (real or TWILIO_API_URL) or the simulator's."""
    settings = runtime.settings
    sender = (
        SimulatedSender() if settings.outbound == "simulator" else gateway_from_settings(settings)
    )
    return Dispatcher(
        runtime.sessions,
        sender,
        public_url=settings.public_url,
        rate=settings.send_rate,
        **options,  # type: ignore[arg-type]
    )
