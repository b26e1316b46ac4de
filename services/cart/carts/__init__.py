"""The open cart: a resident's lines before checkout (`service.py` use cases, `store.py` SQL)."""
