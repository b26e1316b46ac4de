"""The gateway: the only HTTP server, fronting booking, cart and payment over NATS."""
