"""Channel-neutral conversation logic. Never imports Flask or Twilio."""
