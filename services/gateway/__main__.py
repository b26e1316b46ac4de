"""`python -m services.gateway`: serve the gateway with granian until signalled."""

from services.gateway.metrics_dir import prepare

prepare()  # before prometheus-client is first imported (several workers, one /metrics)

from services.gateway.asgi import main  # noqa: E402 - after prepare(), on purpose

if __name__ == "__main__":
    main()
