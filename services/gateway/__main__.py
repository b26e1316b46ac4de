"""`python -m services.gateway`: serve the gateway with granian until signalled."""

from services.gateway.asgi import main

if __name__ == "__main__":
    main()
