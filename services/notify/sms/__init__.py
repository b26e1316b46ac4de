"""SMS to residents through a provider: `base.py` (the interface), `recording.py` (the
development provider: keeps what it would send in `dev_sms`), `http.py` (a JSON-over-HTTP SMS
gateway), `sender.py` (claims the due `sms` messages and sends them)."""
