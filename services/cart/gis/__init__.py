"""The GIS shop: its catalogue and files (`service.py`, `store.py`) and the delivery of paid
lines: download entitlements, the made-to-order queue, downloads (`delivery.py`,
`delivery_store.py`)."""
