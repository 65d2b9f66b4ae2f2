"""Relais: the application (config, factory, models, services, CLI, simulator, wording)."""
