"""The project's common code: contracts, messaging, database helpers, settings.

Holds no business rule and never imports from `services`.
"""
