"""The insights service: the city's utilisation figures, built from the other services' events."""
