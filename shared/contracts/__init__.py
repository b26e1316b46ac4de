"""Message contracts: the only coupling between the services.

`common` holds the envelope parts every service uses; `booking`, `cart` and `payment` hold
each service's requests, replies and events, imported by both sides.
"""
