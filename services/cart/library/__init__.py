"""The library: the systems behind the cart (`base.py` the interface and its errors, Koha over
REST in `koha.py`, a development stand-in), a resident's account and cards, the PIN lock-out,
recording paid lines (the worker) and the clerks' operations."""
