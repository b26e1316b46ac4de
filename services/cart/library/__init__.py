"""The library system behind the cart: an interface, Koha over REST, and a development stand-in."""
