"""Orders: checkout (`checkout.py`), placed orders and staff refunds (`service.py`), receipts,
what payment's and booking's events do to them (`payments.py`, `reservations.py`), the rules
every path keeps (`fulfilment.py`, `settling.py`), the sweepers, and their SQL (`store.py`)."""
